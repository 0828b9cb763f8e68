"""Read-model tables (SQLAlchemy Core), live or under a suffix for rebuilds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Store UTC (naive on SQLite); naive inputs are taken as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Always hand back an aware UTC datetime."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class ReadTables:
    """The tables of every read model, plus the tracking table."""

    metadata: MetaData
    items: Table
    item_owners: Table
    users: Table
    activity: Table
    chain: Table
    security: Table
    idempotency: Table
    schema_versions: Table
    tracking: Table
    board_checkpoints: Table

    def of(self, projection: str) -> list[Table]:
        """The tables a projection owns."""
        if projection == "items":
            return [self.items, self.item_owners]
        return [getattr(self, projection)]


def read_tables(suffix: str = "") -> ReadTables:
    """Build the table definitions; a suffix gives scratch tables for a rebuild."""
    md = MetaData()
    items = Table(
        f"items{suffix}",
        md,
        Column("id", Uuid, primary_key=True),
        Column("title", String(200), nullable=False),
        Column("description", Text, nullable=False),
        Column("column_name", String(100), nullable=False),
        # Sparse sort key inside a column; the index (position) is derived from it.
        Column("rank", Float, nullable=False),
        Column("owner_id", Uuid, nullable=False),
        Column("owner_name", String(254), nullable=False),
        Column("archived", Boolean, nullable=False),
        Column("version", Integer, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("changed_by_id", Uuid, nullable=False),
        Column("changed_by_name", String(254), nullable=False),
        Column("last_position", Integer, nullable=False),
        Index(f"ix_items{suffix}_board", "archived", "column_name", "rank"),
        Index(f"ix_items{suffix}_owner", "owner_id"),
    )
    # Display names of users, kept by the items projection itself so that a
    # card's owner name never depends on how far the users projection is.
    item_owners = Table(
        f"item_owners{suffix}",
        md,
        Column("id", Uuid, primary_key=True),
        Column("name", String(254), nullable=False),
    )
    users = Table(
        f"users{suffix}",
        md,
        Column("id", Uuid, primary_key=True),
        Column("email", String(254), nullable=False),
        Column("full_name", String(120), nullable=False),
        Column("password_hash", String(200), nullable=False),
        Column("is_superuser", Boolean, nullable=False),
        Column("is_active", Boolean, nullable=False),
        Column("token_version", Integer, nullable=False),
        Column("version", Integer, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
        Column("last_position", Integer, nullable=False),
        Index(f"ix_users{suffix}_email", "email"),
    )
    activity = Table(
        f"activity{suffix}",
        md,
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("occurred_at", UTCDateTime(), nullable=False),
        Column("actor_id", Uuid, nullable=False),
        Column("actor_name", String(254), nullable=False),
        Column("channel", String(16), nullable=False),
        Column("action", String(64), nullable=False),
        Column("target_type", String(16), nullable=False),
        Column("target_id", Uuid, nullable=False),
        Column("target_label", String(254), nullable=False),
        Column("summary", Text, nullable=False),
        # The event's own fields as JSON (never a password hash).
        Column("details", Text, nullable=False),
        # Whose item it was after the event (for users: the user), so that
        # standard users can be shown the history of their own items only.
        Column("owner_id", Uuid, nullable=False),
        Column("version", Integer, nullable=False),
        Column("correlation_id", Uuid, nullable=False),
        Column("command_id", Uuid, nullable=False),
        Index(f"ix_activity{suffix}_target", "target_id", "position"),
        Index(f"ix_activity{suffix}_actor", "actor_id", "position"),
        Index(f"ix_activity{suffix}_time", "occurred_at"),
        Index(f"ix_activity{suffix}_owner", "owner_id", "position"),
    )
    chain = Table(
        f"event_chain{suffix}",
        md,
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("link", String(64), nullable=False),
    )
    # Not a projection and never in the domain events: logins, denials,
    # throttling and revocations, for superusers (no passwords or tokens).
    security = Table(
        f"security_log{suffix}",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("occurred_at", UTCDateTime(), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("user_id", Uuid, nullable=True),
        Column("email", String(254), nullable=False),
        Column("ip", String(64), nullable=False),
        Column("user_agent", String(300), nullable=False),
        Column("channel", String(16), nullable=False),
        Column("detail", String(500), nullable=False),
        Index(f"ix_security_log{suffix}_time", "occurred_at"),
    )
    # Not a projection: the first response to each Idempotency-Key of the API.
    idempotency = Table(
        f"api_idempotency{suffix}",
        md,
        Column("user_id", Uuid, primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("headers", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Index(f"ix_api_idempotency{suffix}_created", "created_at"),
    )
    # The DDL fingerprint each read model was built with (see create_tables).
    schema_versions = Table(
        f"read_model_schema{suffix}",
        md,
        Column("name", String(64), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
    )
    tracking = Table(
        f"projection_tracking{suffix}",
        md,
        Column("name", String(64), primary_key=True),
        Column("position", Integer, nullable=False),
        # Bumped by a rebuild swap so a live worker notices its state is gone.
        Column("epoch", Integer, nullable=False),
        Column("error", Text, nullable=True),
        Column("updated_at", UTCDateTime(), nullable=True),
    )
    # Not a projection but a cache for time travel (projections/checkpoints.py):
    # the board's whole in-memory fold at some positions of the log, so that
    # the board as of a past moment replays from the nearest one instead of
    # from zero. Any row may be deleted at any time. Rows made by other fold
    # code (``fold``: a hash of that code) are ignored. create_tables never
    # rebuilds this table: change its columns under a new table name.
    board_checkpoints = Table(
        f"board_checkpoints{suffix}",
        md,
        Column("fold", String(32), primary_key=True),
        Column("position", Integer, primary_key=True, autoincrement=False),
        Column("state", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    return ReadTables(
        metadata=md,
        items=items,
        item_owners=item_owners,
        users=users,
        activity=activity,
        chain=chain,
        security=security,
        idempotency=idempotency,
        schema_versions=schema_versions,
        tracking=tracking,
        board_checkpoints=board_checkpoints,
    )
