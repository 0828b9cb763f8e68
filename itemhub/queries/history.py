"""History and time travel, read from the event log itself (never a projection's
read model; the board's checkpoints are a cache of this module's own fold)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from itemhub.events import Item
from itemhub.eventstore import ItemHub, iter_batches
from itemhub.projections.dto import ItemCard
from itemhub.queries.checkpoints import BoardCheckpoints, BoardFold

ITEM_FIELDS = ("title", "description", "column", "position", "owner_id", "archived")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after an event."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ItemVersion:
    """One version of an item: who made it, when, and what changed."""

    item_id: UUID
    version: int
    timestamp: dt.datetime
    action: str
    actor_id: UUID
    actor_name: str
    channel: str
    correlation_id: UUID
    changes: tuple[FieldChange, ...]
    state: dict[str, Any]


def _state(item: Item) -> dict[str, Any]:
    return {field: getattr(item, field) for field in (*ITEM_FIELDS, "deleted")}


def item_history(app: ItemHub, item_id: UUID) -> list[ItemVersion]:
    """Every version of an item with a field-by-field diff (empty if unknown)."""
    versions: list[ItemVersion] = []
    item: Any = None
    before: dict[str, Any] = {}
    for event in app.events.get(item_id):
        if not isinstance(event, Item.Event):
            return []
        item = event.mutate(item)
        after = _state(item)
        changes = tuple(
            FieldChange(field, before.get(field), after[field])
            for field in (*ITEM_FIELDS, "deleted")
            if before.get(field) != after[field]
        )
        versions.append(
            ItemVersion(
                item_id=item_id,
                version=event.originator_version,
                timestamp=event.timestamp,
                action="item." + _snake(type(event).__name__),
                actor_id=event.actor_id,
                actor_name=event.actor_name,
                channel=event.channel,
                correlation_id=event.correlation_id,
                changes=changes,
                state=after,
            )
        )
        before = after
    return versions


def item_as_of(
    app: ItemHub,
    item_id: UUID,
    *,
    version: int | None = None,
    at: dt.datetime | None = None,
) -> ItemVersion | None:
    """The item as it was at a version or a moment (None: it did not exist yet)."""
    found: ItemVersion | None = None
    for entry in item_history(app, item_id):
        if version is not None and entry.version > version:
            break
        if at is not None and entry.timestamp > at:
            break
        found = entry
    return found


@dataclass(frozen=True, slots=True)
class BoardAsOf:
    """The whole board at a past position of the log (read-only)."""

    position: int
    columns: dict[str, list[ItemCard]]


def board_as_of(
    app: ItemHub,
    position: int,
    columns: tuple[str, ...],
    *,
    checkpoints: BoardCheckpoints | None = None,
) -> BoardAsOf:
    """Replay the log up to ``position`` in memory, with the board's own folding.

    With ``checkpoints`` the replay starts from the nearest stored checkpoint
    at or before ``position`` and stores new ones as it passes them; without,
    it folds from position 1.
    """
    fold, later = (None, None) if checkpoints is None else checkpoints.nearest(position)
    fold = fold or BoardFold()
    previous = fold.position
    if position > fold.position:
        for batch in iter_batches(app, fold.position, until=position, size=5000):
            for event, at in batch:
                fold.apply(event, at)
                if checkpoints is not None and checkpoints.due(fold, previous, later):
                    checkpoints.save(fold)
                    previous = fold.position
    return BoardAsOf(position=fold.position, columns=fold.board(columns))


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One stored event as the replay debugger shows it."""

    position: int
    topic: str
    fields: dict[str, Any]
    event: Any


def logged_events(
    app: ItemHub, first: int, last: int, limit: int = 500
) -> list[LoggedEvent]:
    """The events at positions ``first``..``last`` (at most ``limit`` of them)."""
    notifications = app.recorder.select_notifications(
        start=max(first, 0), limit=limit, stop=last, inclusive_of_start=True
    )
    found = []
    for n in notifications:
        event = app.mapper.to_domain_event(n)
        fields = {
            k: (str(v) if isinstance(v, UUID | dt.datetime) else v)
            for k, v in vars(event).items()
            if k != "password_hash"
        }
        found.append(
            LoggedEvent(position=n.id, topic=n.topic, fields=fields, event=event)
        )
    return found
