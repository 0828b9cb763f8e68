"""The activity read model: one row per item or user event, with a summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, insert, select

from itemhub.events import HubEvent, Item, User
from itemhub.events.base import HubAggregate, HubCreated
from itemhub.eventstore import EventAt
from itemhub.projections.base import Projection
from itemhub.projections.deltas import ActivityAdded, Delta
from itemhub.projections.dto import ActivityEntry
from itemhub.readstore.bulk import bulk_insert

MAX_SUMMARY_TEXT = 60


class ActivityProjection(Projection):
    """Keeps ``activity``; labels are the target's title or name at that time."""

    name = "activity"
    reads = (Item.Event, User.Event)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets: dict[UUID, tuple[str, UUID]] = {}
        # True when the table was empty at load: every target since then is
        # in ``targets``, so a rebuild asks the database nothing per target.
        self.started_empty = False

    def load(self, conn: Connection) -> None:
        """Targets' labels and owners are loaded lazily from their newest row."""
        self.targets = {}
        t = self.tables.activity
        self.started_empty = conn.execute(select(t.c.position).limit(1)).first() is None

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Insert one row per item or user event."""
        rows = self._rows(conn, events)
        if rows:
            conn.execute(insert(self.tables.activity), rows)
        return [
            ActivityAdded(position=r["position"], entry=ActivityEntry(**r))
            for r in rows
        ]

    def replay(self, conn: Connection, events: Sequence[EventAt]) -> None:
        """Insert the rows in bulk; nobody reads the deltas."""
        bulk_insert(conn, self.tables.activity, self._rows(conn, events))

    def _rows(
        self, conn: Connection, events: Sequence[EventAt]
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for event, position in events:
            if not isinstance(event, Item.Event | User.Event):
                continue
            target_type = "item" if isinstance(event, Item.Event) else "user"
            before, owner = self._target(conn, event.originator_id)
            after = _label_after(event, before)
            if isinstance(event, Item.Created | Item.OwnerReassigned | Item.Reverted):
                owner = event.owner_id
            elif isinstance(event, User.Event):
                owner = event.originator_id
            self.targets[event.originator_id] = (after, owner)
            rows.append(
                {
                    "position": position,
                    "occurred_at": event.timestamp,
                    "actor_id": event.actor_id,
                    "actor_name": event.actor_name,
                    "channel": event.channel,
                    "action": f"{target_type}.{_snake(type(event).__name__)}",
                    "target_type": target_type,
                    "target_id": event.originator_id,
                    "target_label": after,
                    "summary": summarise(event, before),
                    "details": event_details(event),
                    "owner_id": owner,
                    "version": event.originator_version,
                    "correlation_id": event.correlation_id,
                    "command_id": event.command_id,
                }
            )
        return rows

    def _target(self, conn: Connection, target_id: UUID) -> tuple[str, UUID]:
        if target_id not in self.targets and self.started_empty:
            self.targets[target_id] = ("", target_id)
        elif target_id not in self.targets:
            t = self.tables.activity
            row = conn.execute(
                select(t.c.target_label, t.c.owner_id)
                .where(t.c.target_id == target_id)
                .order_by(t.c.position.desc())
                .limit(1)
            ).first()
            self.targets[target_id] = (
                (row.target_label, row.owner_id) if row else ("", target_id)
            )
        return self.targets[target_id]


_NOT_DETAILS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor_id",
        "actor_name",
        "channel",
        "correlation_id",
        "command_id",
        "password_hash",
    }
)


def event_details(event: HubEvent) -> str:
    """The event's own fields as JSON, without metadata or secrets."""
    fields = {
        k: str(v) if isinstance(v, UUID) else v
        for k, v in vars(event).items()
        if k not in _NOT_DETAILS
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def _label_after(event: HubEvent, before: str) -> str:
    if isinstance(event, Item.Created | Item.Edited | Item.Reverted):
        return event.title
    if isinstance(event, User.Registered | User.ProfileChanged):
        return event.full_name or event.email
    return before


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY_TEXT else text[: MAX_SUMMARY_TEXT - 1] + "…"


def summarise(event: HubEvent, before: str) -> str:
    """One line saying what changed (never a password or its hash)."""
    match event:
        case Item.Created():
            where = "last" if event.position is None else f"position {event.position}"
            return f'created "{_short(event.title)}" in {event.column} ({where})'
        case Item.Edited() if event.title != before:
            return f'renamed "{_short(before)}" → "{_short(event.title)}"'
        case Item.Edited():
            return f'edited the description of "{_short(event.title)}"'
        case Item.Moved():
            return f"moved to {event.column} at position {event.position}"
        case Item.OwnerReassigned():
            return f"gave it to user {event.owner_id}"
        case Item.Archived():
            return "archived"
        case Item.Restored():
            return "restored"
        case Item.Reverted():
            return f'restored version {event.to_version} ("{_short(event.title)}")'
        case Item.Deleted():
            return "deleted"
        case User.Registered():
            role = "superuser" if event.is_superuser else "user"
            return f"registered {event.email} as {role}"
        case User.ProfileChanged():
            return f"profile is now {event.full_name or '(no name)'} <{event.email}>"
        case User.PasswordChanged():
            return "changed the password"
        case User.SuperuserGranted():
            return "granted superuser"
        case User.SuperuserRevoked():
            return "revoked superuser"
        case User.Deactivated():
            return "deactivated"
        case User.Reactivated():
            return "reactivated"
        case User.TokenVersionBumped():
            return f"signed out everywhere ({event.reason})"
    return type(event).__name__


def _actions(aggregate: type[Item] | type[User], target_type: str) -> list[str]:
    return [
        f"{target_type}.{_snake(c.__name__)}"
        for c in vars(aggregate).values()
        if isinstance(c, type)
        and issubclass(c, aggregate.Event)
        and c is not aggregate.Event
        # eventsourcing adds a Created class no ItemHub aggregate records.
        and (issubclass(c, HubCreated) or not issubclass(c, HubAggregate.Created))
    ]


ACTIONS: tuple[str, ...] = (*_actions(Item, "item"), *_actions(User, "user"))
"""Every action the trail can record, in the order the events are declared."""
