"""The users read model: profiles, roles, state and what login needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from itemhub.events import User
from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.deltas import Delta, UserChanged
from itemhub.projections.dto import UserView
from itemhub.projections.items import _insert_for


class UsersProjection(Projection):
    """Keeps ``users``."""

    name = "users"
    reads = (User.Event,)

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Fold the batch in memory, then upsert each changed row once."""
        t = self.tables.users
        ids = {e.originator_id for e, _ in events if isinstance(e, User.Event)}
        if not ids:
            return []
        rows: dict[UUID, dict[str, Any]] = {
            r["id"]: dict(r)
            for r in conn.execute(select(t).where(t.c.id.in_(ids))).mappings()
        }
        changed: dict[UUID, int] = {}
        for event, position in events:
            if not isinstance(event, User.Event):
                continue
            row = rows.get(event.originator_id)
            if isinstance(event, User.Registered):
                row = {
                    "id": event.originator_id,
                    "email": event.email,
                    "full_name": event.full_name,
                    "password_hash": event.password_hash,
                    "is_superuser": event.is_superuser,
                    "is_active": True,
                    "token_version": 0,
                    "created_at": event.timestamp,
                }
            elif row is None:
                raise LookupError(f"no row for user {event.originator_id}")
            elif isinstance(event, User.ProfileChanged):
                row["email"], row["full_name"] = event.email, event.full_name
            elif isinstance(event, User.PasswordChanged):
                row["password_hash"] = event.password_hash
            elif isinstance(event, User.SuperuserGranted | User.SuperuserRevoked):
                row["is_superuser"] = isinstance(event, User.SuperuserGranted)
            elif isinstance(event, User.Deactivated | User.Reactivated):
                row["is_active"] = isinstance(event, User.Reactivated)
            elif isinstance(event, User.TokenVersionBumped):
                row["token_version"] = event.token_version
            row["version"] = event.originator_version
            row["updated_at"] = event.timestamp
            row["last_position"] = position
            rows[event.originator_id] = row
            changed[event.originator_id] = position
        stmt = _insert_for(conn)(t)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.id],
                set_={
                    c.name: stmt.excluded[c.name] for c in t.columns if c.name != "id"
                },
            ),
            [rows[i] for i in changed],
        )
        return [
            UserChanged(position=pos, user=user_from_row(rows[i]))
            for i, pos in sorted(changed.items(), key=lambda kv: kv[1])
        ]


def user_from_row(row: Any) -> UserView:
    """Turn a users row (mapping) into the public DTO."""
    return UserView(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        is_superuser=row["is_superuser"],
        is_active=row["is_active"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
