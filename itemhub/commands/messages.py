"""Commands: one frozen dataclass each, named in the imperative."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

from itemhub.events import Channel


@dataclass(frozen=True, kw_only=True, slots=True)
class Context:
    """Who sends a command, through which channel, as part of which request."""

    actor_id: UUID
    channel: Channel
    correlation_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """Base: a retry with the same ``command_id`` appends nothing twice."""

    command_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionedCommand(Command):
    """A change to an existing aggregate; ``expected_version`` guards staleness."""

    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemCommand(VersionedCommand):
    """A change to one item."""

    item_id: UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class UserCommand(VersionedCommand):
    """A change to one user."""

    user_id: UUID


# --- items -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateItem(Command):
    """Create an item; position ``None`` appends it to the column."""

    title: str
    description: str = ""
    column: str
    position: int | None = None
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EditItem(ItemCommand):
    """Change an item's title, description and (superusers only) owner at once."""

    title: str | None = None
    description: str | None = None
    owner_id: UUID | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MoveItem(ItemCommand):
    """Move an item to a column at an index."""

    column: str
    position: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ReassignItem(ItemCommand):
    """Give an item to another user (superusers only)."""

    owner_id: UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class ArchiveItem(ItemCommand):
    """Take an item off the board, keeping it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RestoreItem(ItemCommand):
    """Bring an archived item back to the end of its column."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RevertItem(ItemCommand):
    """Restore an item to an earlier version by a compensating event."""

    to_version: int


@dataclass(frozen=True, kw_only=True, slots=True)
class DeleteItem(ItemCommand):
    """Delete an item (its history stays)."""


# --- users -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterUser(Command):
    """Create a user account (superusers only)."""

    email: str
    password: str = field(repr=False)
    full_name: str = ""
    is_superuser: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeProfile(UserCommand):
    """Change a user's e-mail and/or name (self or superuser)."""

    email: str | None = None
    full_name: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateUser(UserCommand):
    """Change several things of a user in one atomic step.

    Users may change their own e-mail and name; only superusers may set a
    password, the superuser flag or the active flag (never removing the last
    active superuser).
    """

    email: str | None = None
    full_name: str | None = None
    password: str | None = field(default=None, repr=False)
    is_superuser: bool | None = None
    is_active: bool | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangePassword(UserCommand):
    """Set a new password; users changing their own must give the current one."""

    new_password: str = field(repr=False)
    current_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class GrantSuperuser(UserCommand):
    """Make a user a superuser."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RevokeSuperuser(UserCommand):
    """Make a superuser a standard user (never the last active one)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DeactivateUser(UserCommand):
    """Stop a user from logging in (never the last active superuser)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReactivateUser(UserCommand):
    """Let a deactivated user in again."""


@dataclass(frozen=True, kw_only=True, slots=True)
class LogOutEverywhere(UserCommand):
    """Void every session and token of a user (self or superuser)."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did: the aggregate, its new version, the log position.

    ``replayed`` is true when the command id had been handled before: nothing
    was appended and ``position`` is then the head of the log when it was seen.
    """

    aggregate_id: UUID
    version: int
    position: int
    replayed: bool = False
