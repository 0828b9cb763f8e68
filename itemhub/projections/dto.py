"""What queries return and deltas carry: plain frozen dataclasses, no ORM rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ItemCard:
    """One item as the board shows it."""

    id: UUID
    title: str
    description: str
    column: str
    rank: float
    position: int | None
    owner_id: UUID
    owner_name: str
    archived: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    changed_by_id: UUID
    changed_by_name: str
    last_position: int


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as others may see them (never the password hash)."""

    id: UUID
    email: str
    full_name: str
    is_superuser: bool
    is_active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def display_name(self) -> str:
        """The name shown to others."""
        return self.full_name or self.email


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """What authentication needs: for login and token checks only."""

    id: UUID
    email: str
    password_hash: str
    is_active: bool
    is_superuser: bool
    token_version: int


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    """One event in the audit trail."""

    position: int
    occurred_at: dt.datetime
    actor_id: UUID
    actor_name: str
    channel: str
    action: str
    target_type: str
    target_id: UUID
    target_label: str
    summary: str
    details: str
    owner_id: UUID
    version: int
    correlation_id: UUID
    command_id: UUID


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """How far a projection is, and whether it runs."""

    name: str
    position: int
    head: int
    state: str
    error: str | None

    @property
    def lag(self) -> int:
        """Events in the log the projection has not applied yet."""
        return max(self.head - self.position, 0)
