"""The User aggregate, and the small aggregates that keep user rules race-free."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from itemhub.events.base import NAMESPACE, EventMeta, HubAggregate, HubCreated, HubEvent
from itemhub.events.errors import InvalidInput, check_text

MAX_NAME = 120
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Lower-case and strip an address, checking its shape."""
    email = email.strip().lower()
    if len(email) > MAX_EMAIL or not email.isprintable() or not _EMAIL.match(email):
        raise InvalidInput("email", "is not a valid e-mail address")
    return email


def clean_name(full_name: str) -> str:
    """Strip a display name and check its length."""
    full_name = full_name.strip()
    check_text("full_name", full_name)
    if len(full_name) > MAX_NAME:
        raise InvalidInput("full_name", f"must be at most {MAX_NAME} characters")
    return full_name


class User(HubAggregate):
    """A person who can log in, own items and (as superuser) administer others."""

    # Declared for type checkers only: class annotations would become
    # dataclass fields of the aggregate's generated __init__.
    if TYPE_CHECKING:
        email: str
        full_name: str
        password_hash: str
        is_superuser: bool
        is_active: bool
        token_version: int

    @property
    def display_name(self) -> str:
        """The name shown to others."""
        return self.full_name or self.email

    class Event(HubEvent):
        """Base of the user's events."""

    class Registered(Event, HubCreated):
        """A user account was created."""

        email: str
        full_name: str
        password_hash: str
        is_superuser: bool

        def evolve(self, aggregate: Any) -> None:
            """Set the initial state."""
            aggregate.email = self.email
            aggregate.full_name = self.full_name
            aggregate.password_hash = self.password_hash
            aggregate.is_superuser = self.is_superuser
            aggregate.is_active = True
            aggregate.token_version = 0

    class ProfileChanged(Event):
        """E-mail and/or name changed (both carry their new values)."""

        email: str
        full_name: str

        def evolve(self, aggregate: Any) -> None:
            """Take the new profile."""
            aggregate.email = self.email
            aggregate.full_name = self.full_name

    class PasswordChanged(Event):
        """A new password hash replaced the old one."""

        password_hash: str

        def evolve(self, aggregate: Any) -> None:
            """Take the new hash."""
            aggregate.password_hash = self.password_hash

    class SuperuserGranted(Event):
        """The user became a superuser."""

        def evolve(self, aggregate: Any) -> None:
            """Mark superuser."""
            aggregate.is_superuser = True

    class SuperuserRevoked(Event):
        """The user is a standard user again."""

        def evolve(self, aggregate: Any) -> None:
            """Unmark superuser."""
            aggregate.is_superuser = False

    class Deactivated(Event):
        """The user can no longer log in or act."""

        def evolve(self, aggregate: Any) -> None:
            """Mark inactive."""
            aggregate.is_active = False

    class Reactivated(Event):
        """A deactivated user may log in again."""

        def evolve(self, aggregate: Any) -> None:
            """Mark active."""
            aggregate.is_active = True

    class TokenVersionBumped(Event):
        """Every session and token issued before this event is void."""

        token_version: int
        reason: str

        def evolve(self, aggregate: Any) -> None:
            """Take the new token version."""
            aggregate.token_version = self.token_version

    @classmethod
    def register(
        cls,
        *,
        user_id: UUID,
        email: str,
        full_name: str,
        password_hash: str,
        is_superuser: bool,
        meta: EventMeta,
    ) -> User:
        """Create a user (the e-mail must already be normalised and claimed)."""
        return cls._create(
            cls.Registered,
            id=user_id,
            email=email,
            full_name=clean_name(full_name),
            password_hash=password_hash,
            is_superuser=is_superuser,
            **meta.fields(),
        )

    def change_profile(self, *, email: str, full_name: str, meta: EventMeta) -> None:
        """Record a new e-mail and name."""
        self.trigger_event(
            self.ProfileChanged, email=email, full_name=full_name, **meta.fields()
        )

    def change_password(self, *, password_hash: str, meta: EventMeta) -> None:
        """Record a new password hash and void every session."""
        self.trigger_event(
            self.PasswordChanged, password_hash=password_hash, **meta.fields()
        )
        self.bump_token_version(reason="password changed", meta=meta)

    def grant_superuser(self, *, meta: EventMeta) -> None:
        """Make the user a superuser."""
        self.trigger_event(self.SuperuserGranted, **meta.fields())
        self.bump_token_version(reason="role changed", meta=meta)

    def revoke_superuser(self, *, meta: EventMeta) -> None:
        """Make the user a standard user."""
        self.trigger_event(self.SuperuserRevoked, **meta.fields())
        self.bump_token_version(reason="role changed", meta=meta)

    def deactivate(self, *, meta: EventMeta) -> None:
        """Stop the user from logging in or acting."""
        self.trigger_event(self.Deactivated, **meta.fields())
        self.bump_token_version(reason="deactivated", meta=meta)

    def reactivate(self, *, meta: EventMeta) -> None:
        """Let a deactivated user in again."""
        self.trigger_event(self.Reactivated, **meta.fields())

    def bump_token_version(self, *, reason: str, meta: EventMeta) -> None:
        """Void every session and token issued so far."""
        self.trigger_event(
            self.TokenVersionBumped,
            token_version=self.token_version + 1,
            reason=reason,
            **meta.fields(),
        )


class EmailClaim(HubAggregate):
    """Holds one normalised e-mail for one user; its id is uuid5 of the address.

    Two registrations of one address both try to create version 1 of the same
    claim, so the event store itself lets exactly one of them win.
    """

    # Declared for type checkers only: class annotations would become
    # dataclass fields of the aggregate's generated __init__.
    if TYPE_CHECKING:
        email: str
        holder_id: UUID | None
        previous_holder_id: UUID | None
    else:
        # Also the value of claims restored from snapshots older than the field.
        previous_holder_id = None

    @staticmethod
    def id_for(email: str) -> UUID:
        """The claim id of a normalised e-mail."""
        return uuid5(NAMESPACE, f"email:{email}")

    class Claimed(HubCreated):
        """The address was claimed for the first time."""

        email: str
        holder_id: UUID

        def evolve(self, aggregate: Any) -> None:
            """Hold the address."""
            aggregate.email = self.email
            aggregate.holder_id = self.holder_id

    class Reclaimed(HubEvent):
        """A released address was claimed again."""

        holder_id: UUID

        def evolve(self, aggregate: Any) -> None:
            """Hold the address again."""
            aggregate.holder_id = self.holder_id

    class Released(HubEvent):
        """The holder changed address; this one is free."""

        def evolve(self, aggregate: Any) -> None:
            """Free the address (remembering who held it)."""
            aggregate.previous_holder_id = aggregate.holder_id
            aggregate.holder_id = None

    @classmethod
    def claim_new(cls, *, email: str, holder_id: UUID, meta: EventMeta) -> EmailClaim:
        """Claim an address nobody has held before."""
        return cls._create(
            cls.Claimed,
            id=cls.id_for(email),
            email=email,
            holder_id=holder_id,
            **meta.fields(),
        )

    def reclaim(self, *, holder_id: UUID, meta: EventMeta) -> None:
        """Claim a released address."""
        self.trigger_event(self.Reclaimed, holder_id=holder_id, **meta.fields())

    def release(self, *, meta: EventMeta) -> None:
        """Free the address."""
        self.trigger_event(self.Released, **meta.fields())


class SuperuserRoster(HubAggregate):
    """The set of active superusers, so "never remove the last one" is race-free.

    Every change to who is an active superuser also changes this one aggregate,
    so two concurrent demotions collide on its version and are decided in turn.
    """

    ROSTER_ID = uuid5(NAMESPACE, "superuser-roster")
    # Declared for type checkers only: class annotations would become
    # dataclass fields of the aggregate's generated __init__.
    if TYPE_CHECKING:
        members: list[UUID]

    class Started(HubCreated):
        """The roster was created."""

        def evolve(self, aggregate: Any) -> None:
            """Start empty."""
            aggregate.members = []

    class Joined(HubEvent):
        """A user became an active superuser."""

        user_id: UUID

        def evolve(self, aggregate: Any) -> None:
            """Add the member."""
            aggregate.members = [*aggregate.members, self.user_id]

    class Left(HubEvent):
        """A user stopped being an active superuser."""

        user_id: UUID

        def evolve(self, aggregate: Any) -> None:
            """Remove the member."""
            aggregate.members = [m for m in aggregate.members if m != self.user_id]

    @classmethod
    def start(cls, *, meta: EventMeta) -> SuperuserRoster:
        """Create the (single) roster."""
        return cls._create(cls.Started, id=cls.ROSTER_ID, **meta.fields())

    def join(self, *, user_id: UUID, meta: EventMeta) -> None:
        """Add an active superuser (no event if already a member)."""
        if user_id not in self.members:
            self.trigger_event(self.Joined, user_id=user_id, **meta.fields())

    def leave(self, *, user_id: UUID, meta: EventMeta) -> None:
        """Remove a member (no event if not one)."""
        if user_id in self.members:
            self.trigger_event(self.Left, user_id=user_id, **meta.fields())
