"""The Item aggregate: one card on the board, and everything that happens to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from itemhub.events.base import EventMeta, HubAggregate, HubCreated, HubEvent
from itemhub.events.errors import InvalidInput, check_text

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000


def clean_title(title: str) -> str:
    """Strip a title and check it is non-empty and not over-long."""
    title = title.strip()
    if not title:
        raise InvalidInput("title", "must not be empty")
    check_text("title", title)
    if len(title) > MAX_TITLE:
        raise InvalidInput("title", f"must be at most {MAX_TITLE} characters")
    return title


def clean_description(description: str) -> str:
    """Check a description is not over-long and holds no control characters."""
    check_text("description", description, multiline=True)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            "description", f"must be at most {MAX_DESCRIPTION} characters"
        )
    return description


def check_position(position: int | None) -> None:
    """Positions are indexes in a column: never negative."""
    if position is not None and position < 0:
        raise InvalidInput("position", "must be zero or more")


class Item(HubAggregate):
    """A card: title, description, its column and place, its owner."""

    # v2: ``position`` exists (snapshots of v1 items had none).
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Snapshots of version 1 items had no position: they went last."""
        state.setdefault("position", None)

    # Declared for type checkers only: class annotations would become
    # dataclass fields of the aggregate's generated __init__.
    if TYPE_CHECKING:
        title: str
        description: str
        column: str
        position: int | None
        owner_id: UUID
        archived: bool
        deleted: bool

    class Event(HubEvent):
        """Base of the item's events."""

    class Created(Event, HubCreated):
        """The item was created (v2: ``position`` added; v1 items went last)."""

        class_version = 2
        title: str
        description: str
        column: str
        position: int | None
        owner_id: UUID

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no position: those items were appended to the column."""
            state["position"] = None

        def evolve(self, aggregate: Any) -> None:
            """Set the initial state."""
            aggregate.title = self.title
            aggregate.description = self.description
            aggregate.column = self.column
            aggregate.position = self.position
            aggregate.owner_id = self.owner_id
            aggregate.archived = False
            aggregate.deleted = False

    class Edited(Event):
        """Title and/or description changed (both carry their new values)."""

        title: str
        description: str

        def evolve(self, aggregate: Any) -> None:
            """Take the new text."""
            aggregate.title = self.title
            aggregate.description = self.description

    class Moved(Event):
        """The item went to a column at a position (an index in that column)."""

        column: str
        position: int

        def evolve(self, aggregate: Any) -> None:
            """Take the new place."""
            aggregate.column = self.column
            aggregate.position = self.position

    class OwnerReassigned(Event):
        """Another user owns the item now."""

        owner_id: UUID

        def evolve(self, aggregate: Any) -> None:
            """Take the new owner."""
            aggregate.owner_id = self.owner_id

    class Archived(Event):
        """The item left the board but is kept."""

        def evolve(self, aggregate: Any) -> None:
            """Mark archived."""
            aggregate.archived = True

    class Restored(Event):
        """An archived item came back to the end of its column."""

        def evolve(self, aggregate: Any) -> None:
            """Mark not archived."""
            aggregate.archived = False
            aggregate.position = None

    class Reverted(Event):
        """The item went back to what it was at ``to_version`` (a compensating
        event: history is never rewritten)."""

        to_version: int
        title: str
        description: str
        column: str
        position: int | None
        owner_id: UUID
        archived: bool

        def evolve(self, aggregate: Any) -> None:
            """Take the old version's state."""
            aggregate.title = self.title
            aggregate.description = self.description
            aggregate.column = self.column
            aggregate.position = self.position
            aggregate.owner_id = self.owner_id
            aggregate.archived = self.archived

    class Deleted(Event):
        """The item was deleted; its history stays in the log."""

        def evolve(self, aggregate: Any) -> None:
            """Mark deleted."""
            aggregate.deleted = True

    @classmethod
    def create(
        cls,
        *,
        item_id: UUID,
        title: str,
        description: str,
        column: str,
        position: int | None,
        owner_id: UUID,
        meta: EventMeta,
    ) -> Item:
        """Create an item after validating its fields."""
        check_position(position)
        return cls._create(
            cls.Created,
            id=item_id,
            title=clean_title(title),
            description=clean_description(description),
            column=column,
            position=position,
            owner_id=owner_id,
            **meta.fields(),
        )

    def edit(
        self, *, title: str | None, description: str | None, meta: EventMeta
    ) -> bool:
        """Change the text; returns False (and appends nothing) when unchanged."""
        new_title = self.title if title is None else clean_title(title)
        new_description = (
            self.description if description is None else clean_description(description)
        )
        if (new_title, new_description) == (self.title, self.description):
            return False
        self.trigger_event(
            self.Edited, title=new_title, description=new_description, **meta.fields()
        )
        return True

    def move(self, *, column: str, position: int, meta: EventMeta) -> None:
        """Move to ``column`` at index ``position``."""
        check_position(position)
        self.trigger_event(
            self.Moved, column=column, position=position, **meta.fields()
        )

    def reassign(self, *, owner_id: UUID, meta: EventMeta) -> bool:
        """Give the item to another owner; False when it is already theirs."""
        if owner_id == self.owner_id:
            return False
        self.trigger_event(self.OwnerReassigned, owner_id=owner_id, **meta.fields())
        return True

    def archive(self, *, meta: EventMeta) -> None:
        """Take the item off the board."""
        self.trigger_event(self.Archived, **meta.fields())

    def restore(self, *, meta: EventMeta) -> None:
        """Bring an archived item back."""
        self.trigger_event(self.Restored, **meta.fields())

    def revert(self, *, to: Item, keep_owner: bool, meta: EventMeta) -> bool:
        """Go back to the state of an older version ``to``; False if identical."""
        owner_id = self.owner_id if keep_owner else to.owner_id
        same = (self.title, self.description, self.column, self.owner_id, self.archived)
        if same == (to.title, to.description, to.column, owner_id, to.archived):
            return False
        self.trigger_event(
            self.Reverted,
            to_version=to.version,
            title=to.title,
            description=to.description,
            column=to.column,
            position=to.position,
            owner_id=owner_id,
            archived=to.archived,
            **meta.fields(),
        )
        return True

    def delete(self, *, meta: EventMeta) -> None:
        """Delete the item."""
        self.trigger_event(self.Deleted, **meta.fields())
