"""One authorization policy, used by the API and the UI alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from itemhub.commands.errors import Forbidden, NotFound
from itemhub.events import Item


@dataclass(frozen=True, slots=True)
class Actor:
    """The user a command acts for, as the event store knows them now."""

    id: UUID
    name: str
    is_superuser: bool


class Viewer(Protocol):
    """Whoever looks at the read side: an actor, a token's user, a session's user."""

    @property
    def id(self) -> UUID: ...

    @property
    def is_superuser(self) -> bool: ...


def can_see(viewer: Viewer, owner_id: UUID | None) -> bool:
    """The read rule: superusers see everything, others only what they own."""
    return viewer.is_superuser or (owner_id is not None and owner_id == viewer.id)


def require_superuser(actor: Actor) -> None:
    """Only superusers administer users."""
    if not actor.is_superuser:
        raise Forbidden("only a superuser may do this")


def require_self_or_superuser(actor: Actor, user_id: UUID) -> None:
    """Users manage their own account; superusers manage anyone's."""
    if actor.id != user_id and not actor.is_superuser:
        raise Forbidden("you may only change your own account")


def require_item_access(actor: Actor, item: Item) -> None:
    """Owner or superuser; to others the item does not exist (no existence oracle)."""
    if item.deleted or not can_see(actor, item.owner_id):
        raise NotFound(f"item {item.id} not found")
