"""The command bus: validate → authorize → decide → save events with metadata.

Every decision is taken from the event store alone (never from read models),
and every save is optimistic: when a concurrent save wins, the decision is
taken again on the fresh state, which is where stale versions become
``Conflict`` and retried command ids become replays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from itemhub.commands import messages as m
from itemhub.commands.errors import (
    AlreadyExists,
    Conflict,
    EmailUnavailable,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
)
from itemhub.commands.passwords import PasswordHasher, check_password_policy
from itemhub.commands.policy import (
    Actor,
    require_item_access,
    require_self_or_superuser,
    require_superuser,
)
from itemhub.events import (
    NAMESPACE,
    SYSTEM_ACTOR_ID,
    Channel,
    EmailClaim,
    EventMeta,
    HubAggregate,
    Item,
    SuperuserRoster,
    User,
    normalise_email,
)
from itemhub.events.user import clean_name
from itemhub.eventstore import ItemHub, head_position

A = TypeVar("A", bound=HubAggregate)
C = TypeVar("C", bound=m.Command)
Handler = Callable[["CommandBus", Any, m.Context], m.CommandResult]
HANDLERS: dict[type[m.Command], Handler] = {}

MAX_ATTEMPTS = 10
_PRIVILEGED_CHANNELS = {Channel.CLI, Channel.SYSTEM}


def handles(
    command_type: type[C],
) -> Callable[[Callable[[CommandBus, C, m.Context], m.CommandResult]], Handler]:
    """Register the one handler of a command type."""

    def register(
        fn: Callable[[CommandBus, C, m.Context], m.CommandResult],
    ) -> Handler:
        if command_type in HANDLERS:
            raise TypeError(f"{command_type.__name__} already has a handler")
        HANDLERS[command_type] = fn
        return fn

    return register


class CommandBus:
    """Runs commands against the ``ItemHub`` application."""

    def __init__(
        self,
        app: ItemHub,
        *,
        columns: Sequence[str],
        hasher: PasswordHasher,
        after_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.app = app
        self.columns = tuple(columns)
        self.hasher = hasher
        # Called with the result position before a command returns: the runtime
        # waits there until the read models include the change.
        self.after_commit = after_commit

    def handle(self, command: m.Command, context: m.Context) -> m.CommandResult:
        """Run one command; raises a ``DomainError`` and appends nothing on refusal."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        result = handler(self, command, context)
        if self.after_commit is not None:
            self.after_commit(result.position)
        return result

    # --- helpers used by the handlers ----------------------------------------

    def actor(self, context: m.Context) -> Actor:
        """The acting user, as the event store knows them now."""
        if context.actor_id == SYSTEM_ACTOR_ID:
            if context.channel not in _PRIVILEGED_CHANNELS:
                raise Forbidden("the system actor acts only from the CLI or itself")
            return Actor(id=SYSTEM_ACTOR_ID, name="system", is_superuser=True)
        user = self.get(User, context.actor_id)
        if user is None:
            raise Forbidden("unknown user")
        if not user.is_active:
            raise Forbidden("this account is deactivated")
        return Actor(id=user.id, name=user.display_name, is_superuser=user.is_superuser)

    def meta(self, actor: Actor, context: m.Context, command: m.Command) -> EventMeta:
        """The metadata every event of this command carries."""
        return EventMeta(
            actor_id=actor.id,
            actor_name=actor.name,
            channel=context.channel,
            correlation_id=context.correlation_id,
            command_id=command.command_id,
        )

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Load an aggregate, or None when it does not exist."""
        try:
            aggregate: object = self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            return None
        return aggregate

    def column(self, name: str) -> str:
        """The configured column matching ``name`` (case-insensitive)."""
        for column in self.columns:
            if column.casefold() == name.strip().casefold():
                return column
        raise InvalidInput("column", f"must be one of {', '.join(self.columns)}")

    def active_user(self, user_id: UUID, field: str) -> User:
        """A user that exists and is active, or ``InvalidInput`` on ``field``."""
        user = self.get(User, user_id)
        if user is None or not user.is_active:
            raise InvalidInput(field, f"no active user with id {user_id}")
        return user

    def target_user(self, user_id: UUID) -> User:
        """The user a command is about."""
        user = self.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    def roster(self, meta: EventMeta) -> SuperuserRoster:
        """The superuser roster, started on first use."""
        return self.get(SuperuserRoster, SuperuserRoster.ROSTER_ID) or (
            SuperuserRoster.start(meta=meta)
        )

    def save(
        self, result_of: HubAggregate, *aggregates: HubAggregate
    ) -> m.CommandResult:
        """Save new events of all aggregates atomically; report ``result_of``."""
        recordings = self.app.save(*aggregates)
        position = (
            recordings[-1].notification.id if recordings else head_position(self.app)
        )
        return m.CommandResult(
            aggregate_id=result_of.id, version=result_of.version, position=position
        )

    def unchanged(self, aggregate: HubAggregate) -> m.CommandResult:
        """The result of a command that had nothing to change."""
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=aggregate.version,
            position=head_position(self.app),
        )

    def created_before(self, aggregate: HubAggregate) -> m.CommandResult:
        """The first result of a create command whose aggregate already exists."""
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=aggregate.INITIAL_VERSION,
            position=head_position(self.app),
            replayed=True,
        )

    def replay(
        self, aggregate: HubAggregate, command: m.Command
    ) -> m.CommandResult | None:
        """The first result of a command id this aggregate has seen, else None."""
        version = aggregate.version_of_command(command.command_id)
        if version is None:
            return None
        return m.CommandResult(
            aggregate_id=aggregate.id,
            version=version,
            position=head_position(self.app),
            replayed=True,
        )

    @staticmethod
    def check_version(aggregate: HubAggregate, expected: int | None) -> None:
        """Refuse a stale expected version, naming who changed it."""
        if expected is not None and expected != aggregate.version:
            raise Conflict(
                aggregate_id=aggregate.id,
                expected_version=expected,
                current_version=aggregate.version,
                changed_by=aggregate.last_actor_name,
            )

    @staticmethod
    def retrying(decide: Callable[[], m.CommandResult]) -> m.CommandResult:
        """Decide and save; when a concurrent save wins, decide again on fresh state."""
        for _ in range(MAX_ATTEMPTS):
            try:
                return decide()
            except IntegrityError:
                continue
        raise InvalidState("it kept changing while being saved; try again")


# --- items -------------------------------------------------------------------


def _item(
    bus: CommandBus, actor: Actor, command: m.VersionedCommand, item_id: UUID
) -> tuple[Item, m.CommandResult | None]:
    """Load an item the actor may change; also the replayed result, if any."""
    item = bus.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found")
    require_item_access(actor, item)
    replayed = bus.replay(item, command)
    if replayed is None:
        bus.check_version(item, command.expected_version)
    return item, replayed


@handles(m.CreateItem)
def create_item(bus: CommandBus, cmd: m.CreateItem, ctx: m.Context) -> m.CommandResult:
    """Create an item owned by the actor (or, for superusers, by anyone)."""
    actor = bus.actor(ctx)
    column = bus.column(cmd.column)
    owner_id = cmd.owner_id or actor.id
    if owner_id != actor.id:
        require_superuser(actor)
    # The id derives from the command id, so a retry finds the item it made.
    item_id = uuid5(NAMESPACE, f"item:{cmd.command_id}")
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        existing = bus.get(Item, item_id)
        if existing is not None:  # its id derives from this command's id
            return bus.created_before(existing)
        if owner_id != actor.id or actor.id == SYSTEM_ACTOR_ID:
            bus.active_user(owner_id, "owner_id")
        item = Item.create(
            item_id=item_id,
            title=cmd.title,
            description=cmd.description,
            column=column,
            position=cmd.position,
            owner_id=owner_id,
            meta=meta,
        )
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.EditItem)
def edit_item(bus: CommandBus, cmd: m.EditItem, ctx: m.Context) -> m.CommandResult:
    """Change an item's text and, for superusers, its owner (one save)."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        if cmd.owner_id is not None and cmd.owner_id != item.owner_id:
            require_superuser(actor)
            bus.active_user(cmd.owner_id, "owner_id")
        edited = item.edit(title=cmd.title, description=cmd.description, meta=meta)
        reassigned = cmd.owner_id is not None and item.reassign(
            owner_id=cmd.owner_id, meta=meta
        )
        if not (edited or reassigned):
            return bus.unchanged(item)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.MoveItem)
def move_item(bus: CommandBus, cmd: m.MoveItem, ctx: m.Context) -> m.CommandResult:
    """Move an item to a column and index."""
    actor = bus.actor(ctx)
    column = bus.column(cmd.column)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        if item.archived:
            raise InvalidState("archived items cannot be moved; restore it first")
        item.move(column=column, position=cmd.position, meta=meta)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.ReassignItem)
def reassign_item(
    bus: CommandBus, cmd: m.ReassignItem, ctx: m.Context
) -> m.CommandResult:
    """Give an item to another active user."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        require_superuser(actor)
        bus.active_user(cmd.owner_id, "owner_id")
        if not item.reassign(owner_id=cmd.owner_id, meta=meta):
            return bus.unchanged(item)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.ArchiveItem)
def archive_item(
    bus: CommandBus, cmd: m.ArchiveItem, ctx: m.Context
) -> m.CommandResult:
    """Take an item off the board."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        if item.archived:
            raise InvalidState("item is already archived")
        item.archive(meta=meta)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.RestoreItem)
def restore_item(
    bus: CommandBus, cmd: m.RestoreItem, ctx: m.Context
) -> m.CommandResult:
    """Bring an archived item back."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        if not item.archived:
            raise InvalidState("item is not archived")
        item.restore(meta=meta)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.RevertItem)
def revert_item(bus: CommandBus, cmd: m.RevertItem, ctx: m.Context) -> m.CommandResult:
    """Restore an earlier version (owner changes are reverted for superusers only)."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        if item.version == 1:
            raise InvalidInput("to_version", "the item has no earlier version")
        if not 1 <= cmd.to_version < item.version:
            raise InvalidInput(
                "to_version", f"must be between 1 and {item.version - 1}"
            )
        old: object = bus.app.repository.get(cmd.item_id, version=cmd.to_version)
        assert isinstance(old, Item)
        if actor.is_superuser and old.owner_id != item.owner_id:
            bus.active_user(old.owner_id, "to_version")
        if not item.revert(to=old, keep_owner=not actor.is_superuser, meta=meta):
            return bus.unchanged(item)
        return bus.save(item, item)

    return bus.retrying(decide)


@handles(m.DeleteItem)
def delete_item(bus: CommandBus, cmd: m.DeleteItem, ctx: m.Context) -> m.CommandResult:
    """Delete an item."""
    actor = bus.actor(ctx)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        item = bus.get(Item, cmd.item_id)
        # A retried delete finds its own command on the deleted item.
        if item is not None and item.deleted:
            replayed = bus.replay(item, cmd)
            if replayed and (actor.is_superuser or item.owner_id == actor.id):
                return replayed
        item, replayed = _item(bus, actor, cmd, cmd.item_id)
        if replayed:
            return replayed
        item.delete(meta=meta)
        return bus.save(item, item)

    return bus.retrying(decide)


# --- users -------------------------------------------------------------------


def _user(
    bus: CommandBus, command: m.VersionedCommand, user_id: UUID
) -> tuple[User, m.CommandResult | None]:
    """Load the target user; also the replayed result, if any."""
    user = bus.target_user(user_id)
    replayed = bus.replay(user, command)
    if replayed is None:
        bus.check_version(user, command.expected_version)
    return user, replayed


def _claim(
    bus: CommandBus,
    email: str,
    holder_id: UUID,
    meta: EventMeta,
    *,
    may_reuse: bool = True,
) -> EmailClaim:
    """Claim an address for ``holder_id`` or raise ``AlreadyExists``."""
    claim = bus.get(EmailClaim, EmailClaim.id_for(email))
    if claim is None:
        return EmailClaim.claim_new(email=email, holder_id=holder_id, meta=meta)
    if claim.holder_id == holder_id:
        return claim
    if not may_reuse and claim.previous_holder_id != holder_id:
        # Held or once held by someone else: one answer for both, so a user
        # cannot learn from it whether the address belongs to an account.
        raise EmailUnavailable("this e-mail address cannot be used")
    if claim.holder_id is not None:
        raise AlreadyExists(f"a user with e-mail {email} already exists")
    claim.reclaim(holder_id=holder_id, meta=meta)
    return claim


def _registered_by(bus: CommandBus, email: str, command: m.Command) -> User | None:
    """The user an earlier run of this registration created, if any.

    User ids are random (an id derived from anything public lets anyone name
    it), so a retry is recognised by the address's claim, which remembers the
    command that made the user its holder.
    """
    claim = bus.get(EmailClaim, EmailClaim.id_for(email))
    version = None if claim is None else claim.version_of_command(command.command_id)
    if claim is None or version is None:
        return None
    claimed: EmailClaim = bus.app.repository.get(claim.id, version=version)
    return None if claimed.holder_id is None else bus.get(User, claimed.holder_id)


@handles(m.RegisterUser)
def register_user(
    bus: CommandBus, cmd: m.RegisterUser, ctx: m.Context
) -> m.CommandResult:
    """Create a user account."""
    actor = bus.actor(ctx)
    require_superuser(actor)
    email = normalise_email(cmd.email)
    full_name = clean_name(cmd.full_name)
    check_password_policy(cmd.password)
    password_hash = bus.hasher.hash(cmd.password)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        existing = _registered_by(bus, email, cmd)
        if existing is not None:
            return bus.created_before(existing)
        user_id = uuid4()
        claim = _claim(bus, email, user_id, meta)
        user = User.register(
            user_id=user_id,
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            is_superuser=cmd.is_superuser,
            meta=meta,
        )
        changed: list[HubAggregate] = [user, claim]
        if cmd.is_superuser:
            roster = bus.roster(meta)
            roster.join(user_id=user.id, meta=meta)
            changed.append(roster)
        return bus.save(user, *changed)

    return bus.retrying(decide)


@handles(m.ChangeProfile)
def change_profile(
    bus: CommandBus, cmd: m.ChangeProfile, ctx: m.Context
) -> m.CommandResult:
    """Change a user's e-mail and/or name."""
    actor = bus.actor(ctx)
    require_self_or_superuser(actor, cmd.user_id)
    new_email = None if cmd.email is None else normalise_email(cmd.email)
    new_name = None if cmd.full_name is None else clean_name(cmd.full_name)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        claims = _change_profile(
            bus, user, new_email, new_name, meta, may_reuse=actor.is_superuser
        )
        if not user.pending_events:
            return bus.unchanged(user)
        return bus.save(user, user, *claims)

    return bus.retrying(decide)


def _change_profile(
    bus: CommandBus,
    user: User,
    new_email: str | None,
    new_name: str | None,
    meta: EventMeta,
    *,
    may_reuse: bool,
) -> list[HubAggregate]:
    """Apply a new e-mail and/or name; returns the e-mail claims that changed."""
    email = new_email or user.email
    full_name = user.full_name if new_name is None else new_name
    if (email, full_name) == (user.email, user.full_name):
        return []
    claims: list[HubAggregate] = []
    if email != user.email:
        claims.append(_claim(bus, email, user.id, meta, may_reuse=may_reuse))
        old = bus.get(EmailClaim, EmailClaim.id_for(user.email))
        if old is not None and old.holder_id == user.id:
            old.release(meta=meta)
            claims.append(old)
    user.change_profile(email=email, full_name=full_name, meta=meta)
    return claims


@handles(m.UpdateUser)
def update_user(bus: CommandBus, cmd: m.UpdateUser, ctx: m.Context) -> m.CommandResult:
    """Change profile, password, role and state of a user in one save."""
    actor = bus.actor(ctx)
    require_self_or_superuser(actor, cmd.user_id)
    if (cmd.password, cmd.is_superuser, cmd.is_active) != (None, None, None):
        require_superuser(actor)
    if cmd.password is not None and actor.id == cmd.user_id:
        # One's own password changes only with the current one (ChangePassword).
        raise InvalidInput(
            "password", "change your own password with your current password"
        )
    new_email = None if cmd.email is None else normalise_email(cmd.email)
    new_name = None if cmd.full_name is None else clean_name(cmd.full_name)
    password_hash = None
    if cmd.password is not None:
        check_password_policy(cmd.password)
        password_hash = bus.hasher.hash(cmd.password)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        changed = _change_profile(
            bus, user, new_email, new_name, meta, may_reuse=actor.is_superuser
        )
        if password_hash is not None:
            user.change_password(password_hash=password_hash, meta=meta)
        roster = bus.roster(meta)
        was_member = user.is_active and user.is_superuser
        if cmd.is_superuser is not None and cmd.is_superuser != user.is_superuser:
            if cmd.is_superuser:
                user.grant_superuser(meta=meta)
            else:
                _last_superuser_guard(roster, user, "demote")
                user.revoke_superuser(meta=meta)
        if cmd.is_active is not None and cmd.is_active != user.is_active:
            if cmd.is_active:
                user.reactivate(meta=meta)
            else:
                _last_superuser_guard(roster, user, "deactivate")
                user.deactivate(meta=meta)
        if user.is_active and user.is_superuser and not was_member:
            roster.join(user_id=user.id, meta=meta)
        elif was_member and not (user.is_active and user.is_superuser):
            roster.leave(user_id=user.id, meta=meta)
        if not user.pending_events:
            return bus.unchanged(user)
        if roster.pending_events:
            changed.append(roster)
        return bus.save(user, user, *changed)

    return bus.retrying(decide)


@handles(m.ChangePassword)
def change_password(
    bus: CommandBus, cmd: m.ChangePassword, ctx: m.Context
) -> m.CommandResult:
    """Set a new password; one's own needs the current password."""
    actor = bus.actor(ctx)
    require_self_or_superuser(actor, cmd.user_id)
    check_password_policy(cmd.new_password, "new_password")
    target = bus.target_user(cmd.user_id)
    if bus.replay(target, cmd) is None and actor.id == cmd.user_id:
        if not cmd.current_password or not bus.hasher.verify(
            cmd.current_password, target.password_hash
        ):
            raise InvalidInput("current_password", "is incorrect")
        if cmd.new_password == cmd.current_password:
            raise InvalidInput("new_password", "must differ from the current password")
    password_hash = bus.hasher.hash(cmd.new_password)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        user.change_password(password_hash=password_hash, meta=meta)
        return bus.save(user, user)

    return bus.retrying(decide)


def _last_superuser_guard(roster: SuperuserRoster, user: User, verb: str) -> None:
    if user.id in roster.members and len(roster.members) <= 1:
        raise Forbidden(f"cannot {verb} the last active superuser")


@handles(m.GrantSuperuser)
def grant_superuser(
    bus: CommandBus, cmd: m.GrantSuperuser, ctx: m.Context
) -> m.CommandResult:
    """Make a user a superuser."""
    actor = bus.actor(ctx)
    require_superuser(actor)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        if user.is_superuser:
            raise InvalidState("user is already a superuser")
        user.grant_superuser(meta=meta)
        changed: list[HubAggregate] = [user]
        if user.is_active:
            roster = bus.roster(meta)
            roster.join(user_id=user.id, meta=meta)
            changed.append(roster)
        return bus.save(user, *changed)

    return bus.retrying(decide)


@handles(m.RevokeSuperuser)
def revoke_superuser(
    bus: CommandBus, cmd: m.RevokeSuperuser, ctx: m.Context
) -> m.CommandResult:
    """Make a superuser a standard user."""
    actor = bus.actor(ctx)
    require_superuser(actor)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        if not user.is_superuser:
            raise InvalidState("user is not a superuser")
        roster = bus.roster(meta)
        _last_superuser_guard(roster, user, "demote")
        user.revoke_superuser(meta=meta)
        roster.leave(user_id=user.id, meta=meta)
        return bus.save(user, user, roster)

    return bus.retrying(decide)


@handles(m.DeactivateUser)
def deactivate_user(
    bus: CommandBus, cmd: m.DeactivateUser, ctx: m.Context
) -> m.CommandResult:
    """Stop a user from logging in or acting."""
    actor = bus.actor(ctx)
    require_superuser(actor)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        if not user.is_active:
            raise InvalidState("user is already deactivated")
        roster = bus.roster(meta)
        _last_superuser_guard(roster, user, "deactivate")
        user.deactivate(meta=meta)
        roster.leave(user_id=user.id, meta=meta)
        return bus.save(user, user, roster)

    return bus.retrying(decide)


@handles(m.ReactivateUser)
def reactivate_user(
    bus: CommandBus, cmd: m.ReactivateUser, ctx: m.Context
) -> m.CommandResult:
    """Let a deactivated user in again."""
    actor = bus.actor(ctx)
    require_superuser(actor)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        if user.is_active:
            raise InvalidState("user is already active")
        user.reactivate(meta=meta)
        changed: list[HubAggregate] = [user]
        if user.is_superuser:
            roster = bus.roster(meta)
            roster.join(user_id=user.id, meta=meta)
            changed.append(roster)
        return bus.save(user, *changed)

    return bus.retrying(decide)


@handles(m.LogOutEverywhere)
def log_out_everywhere(
    bus: CommandBus, cmd: m.LogOutEverywhere, ctx: m.Context
) -> m.CommandResult:
    """Void every session and token of a user."""
    actor = bus.actor(ctx)
    require_self_or_superuser(actor, cmd.user_id)
    meta = bus.meta(actor, ctx, cmd)

    def decide() -> m.CommandResult:
        user, replayed = _user(bus, cmd, cmd.user_id)
        if replayed:
            return replayed
        user.bump_token_version(reason="logged out everywhere", meta=meta)
        return bus.save(user, user)

    return bus.retrying(decide)
