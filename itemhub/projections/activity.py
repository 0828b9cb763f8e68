"""The activity read model: one row per item or user event, with a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, insert, select

from itemhub.events import HubEvent, Item, User
from itemhub.projections.base import EventAt, Projection
from itemhub.projections.deltas import ActivityAdded, Delta
from itemhub.projections.dto import ActivityEntry

MAX_SUMMARY_TEXT = 60


class ActivityProjection(Projection):
    """Keeps ``activity``; labels are the target's title or name at that time."""

    name = "activity"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels: dict[UUID, str] = {}

    def load(self, conn: Connection) -> None:
        """Labels are loaded lazily from the newest row of each target."""
        del conn
        self.labels = {}

    def apply(self, conn: Connection, events: Sequence[EventAt]) -> list[Delta]:
        """Insert one row per item or user event."""
        rows: list[dict[str, Any]] = []
        for event, position in events:
            if not isinstance(event, Item.Event | User.Event):
                continue
            target_type = "item" if isinstance(event, Item.Event) else "user"
            before = self._label(conn, event.originator_id)
            after = _label_after(event, before)
            self.labels[event.originator_id] = after
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
                    "version": event.originator_version,
                    "correlation_id": event.correlation_id,
                    "command_id": event.command_id,
                }
            )
        if rows:
            conn.execute(insert(self.tables.activity), rows)
        return [
            ActivityAdded(position=r["position"], entry=ActivityEntry(**r))
            for r in rows
        ]

    def _label(self, conn: Connection, target_id: UUID) -> str:
        if target_id not in self.labels:
            t = self.tables.activity
            label = conn.execute(
                select(t.c.target_label)
                .where(t.c.target_id == target_id)
                .order_by(t.c.position.desc())
                .limit(1)
            ).scalar()
            self.labels[target_id] = label or ""
        return self.labels[target_id]


def _label_after(event: HubEvent, before: str) -> str:
    if isinstance(event, Item.Created | Item.Edited):
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
