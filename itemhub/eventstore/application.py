"""The ``ItemHub`` eventsourcing Application and how it is configured."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast
from uuid import UUID, SafeUUID

from eventsourcing.application import Application
from eventsourcing.domain import (
    ImmutableAggregateProtocol,
    MutableAggregateProtocol,
)
from eventsourcing.persistence import JSONTranscoder, UUIDAsHex
from eventsourcing.utils import Environment

from itemhub.config import DatabaseTarget
from itemhub.events import EmailClaim, HubEvent, Item, SuperuserRoster, User

RECORDER_TOPIC = "itemhub.eventstore.sqlite_recorder:NotifyingSQLiteApplicationRecorder"
PAGE = 1000
EventAt = tuple[HubEvent, int]
"""An event and its position in the log."""

PG_RECORDER_TOPIC = (
    "itemhub.eventstore.postgres_recorder:ReliablePostgresApplicationRecorder"
)


_UNKNOWN_SAFETY = SafeUUID.unknown  # an enum member costs a lookup per access


class FastUUIDAsHex(UUIDAsHex):
    """``UUIDAsHex`` whose decode skips ``UUID.__init__``'s parsing of the text.

    A log event carries three or four UUIDs, and building them was about a
    fifth of its decode (bench.run part b). The stored form is unchanged.
    """

    def decode(self, data: str) -> UUID:
        """The UUID of 32 hex digits (anything else the slow, checking way)."""
        if len(data) != 32 or not data.isalnum():
            return UUID(data)
        uuid = object.__new__(UUID)
        object.__setattr__(uuid, "int", int(data, 16))
        object.__setattr__(uuid, "is_safe", _UNKNOWN_SAFETY)
        return uuid


# Aggregates kept in memory per process (users and items are a few KiB each).
AGGREGATE_CACHE_SIZE = 10_000


class ItemHub(Application[UUID]):
    """The event store of items and users, with snapshots every 50 events."""

    name = "ItemHub"
    snapshotting_intervals: ClassVar[
        dict[
            type[ImmutableAggregateProtocol[Any]] | type[MutableAggregateProtocol[Any]],
            int,
        ]
    ] = {
        Item: 50,
        User: 50,
        EmailClaim: 50,
        SuperuserRoster: 50,
    }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """eventsourcing's, with UUIDs decoded without re-parsing their text."""
        super().register_transcodings(transcoder)
        transcoder.register(FastUUIDAsHex())

    def construct_env(
        self, name: str, env: Mapping[str, str] | None = None
    ) -> Environment:
        """Use only the given settings: ItemHub never configures from os.environ."""
        merged: dict[str, str] = dict(type(self).env)
        merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        # Hot aggregates (the acting user above all, loaded by every command)
        # come from memory; each get still reads the events stored after the
        # cached version, so another instance's writes are never missed, and
        # commands get deep copies, so a refused command leaves the cache as it was.
        merged["AGGREGATE_CACHE_MAXSIZE"] = str(AGGREGATE_CACHE_SIZE)
        merged["AGGREGATE_CACHE_FASTFORWARD"] = "y"
        merged.update(env or {})
        return Environment(name, merged)


def store_env(target: DatabaseTarget, *, create_table: bool) -> dict[str, str]:
    """The eventsourcing settings for a database target."""
    env: dict[str, str] = {"CREATE_TABLE": "y" if create_table else "n"}
    if target.kind == "sqlite":
        assert target.events_path is not None
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(target.events_path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
        }
    else:
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": target.dbname,
            "POSTGRES_HOST": target.host,
            "POSTGRES_PORT": str(target.port),
            "POSTGRES_USER": target.user,
            "POSTGRES_PASSWORD": target.password,
            # Each subscription pins one pooled connection (one per projection
            # this instance leads); commands borrow one briefly.
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_PRE_PING": "y",
            # The wait for a pooled connection; eventsourcing retries each call
            # 10 times, so a database outage blocks a call about 10 times this long.
            "POSTGRES_CONNECT_TIMEOUT": "2",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": PG_RECORDER_TOPIC,
        }
    return env


def open_store(target: DatabaseTarget, *, create_table: bool) -> ItemHub:
    """Construct the application on a database target."""
    return ItemHub(env=store_env(target, create_table=create_table))


def head_position(app: ItemHub) -> int:
    """The position of the newest event in the log (0 when empty)."""
    return app.recorder.max_notification_id() or 0


def iter_batches(
    app: ItemHub,
    after: int,
    *,
    until: int | None = None,
    size: int = PAGE,
    topics: Sequence[str] = (),
) -> Iterator[list[EventAt]]:
    """Pages of (event, position) after ``after`` (up to ``until``, inclusive),
    only of ``topics`` if any are given."""
    while True:
        notifications = app.recorder.select_notifications(
            start=after,
            limit=size,
            stop=until,
            topics=topics,
            inclusive_of_start=False,
        )
        if not notifications:
            return
        yield [(cast(Any, app.mapper.to_domain_event(n)), n.id) for n in notifications]
        after = notifications[-1].id
        if len(notifications) < size:
            return
