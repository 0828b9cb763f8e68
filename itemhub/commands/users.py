"""Handlers of the user commands: register, profile, password, role, state, log-out."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from itemhub.commands import messages as m
from itemhub.commands.errors import (
    AlreadyExists,
    EmailUnavailable,
    Forbidden,
    InvalidInput,
    InvalidState,
)
from itemhub.commands.passwords import check_password_policy
from itemhub.commands.policy import (
    Actor,
    require_self_or_superuser,
    require_superuser,
)
from itemhub.commands.registry import Decide, handles
from itemhub.commands.unit_of_work import UnitOfWork
from itemhub.events import (
    EmailClaim,
    EventMeta,
    HubAggregate,
    SuperuserRoster,
    User,
    normalise_email,
)
from itemhub.events.user import clean_name


def _user(
    uow: UnitOfWork, command: m.UserCommand
) -> tuple[User, m.CommandResult | None]:
    """Load the target user; also the replayed result, if any."""
    user = uow.target_user(command.user_id)
    replayed = uow.replay(user, command)
    if replayed is None:
        uow.check_version(user, command.expected_version)
    return user, replayed


def _changing_user(
    uow: UnitOfWork,
    command: m.UserCommand,
    change: Callable[[User], list[HubAggregate]],
) -> Decide:
    """Load the user fresh, apply ``change`` (returns what else changed), save."""

    def decide() -> m.CommandResult:
        user, replayed = _user(uow, command)
        if replayed:
            return replayed
        others = change(user)
        if not user.pending_events:
            return uow.unchanged(user)
        return uow.save(user, user, *others)

    return decide


def _claim(
    uow: UnitOfWork,
    email: str,
    holder_id: UUID,
    meta: EventMeta,
    *,
    may_reuse: bool = True,
) -> EmailClaim:
    """Claim an address for ``holder_id`` or raise ``AlreadyExists``."""
    claim = uow.get(EmailClaim, EmailClaim.id_for(email))
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


def _registered_by(uow: UnitOfWork, email: str, command: m.Command) -> User | None:
    """The user an earlier run of this registration created, if any.

    User ids are random (an id derived from anything public lets anyone name
    it), so a retry is recognised by the address's claim, which remembers the
    command that made the user its holder.
    """
    claim = uow.get(EmailClaim, EmailClaim.id_for(email))
    version = None if claim is None else claim.version_of_command(command.command_id)
    if claim is None or version is None:
        return None
    claimed: EmailClaim = uow.app.repository.get(claim.id, version=version)
    return None if claimed.holder_id is None else uow.get(User, claimed.holder_id)


@handles(m.RegisterUser, superusers_only=True)
def register_user(
    uow: UnitOfWork, cmd: m.RegisterUser, _actor: Actor, meta: EventMeta
) -> Decide:
    """Create a user account."""
    email = normalise_email(cmd.email)
    full_name = clean_name(cmd.full_name)
    check_password_policy(cmd.password)
    password_hash = uow.hasher.hash(cmd.password)

    def decide() -> m.CommandResult:
        existing = _registered_by(uow, email, cmd)
        if existing is not None:
            return uow.created_before(existing)
        user_id = uuid4()
        claim = _claim(uow, email, user_id, meta)
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
            roster = uow.roster(meta)
            roster.join(user_id=user.id, meta=meta)
            changed.append(roster)
        return uow.save(user, *changed)

    return decide


@handles(m.ChangeProfile)
def change_profile(
    uow: UnitOfWork, cmd: m.ChangeProfile, actor: Actor, meta: EventMeta
) -> Decide:
    """Change a user's e-mail and/or name."""
    return update_user(
        uow,
        m.UpdateUser(
            user_id=cmd.user_id,
            email=cmd.email,
            full_name=cmd.full_name,
            expected_version=cmd.expected_version,
            command_id=cmd.command_id,
        ),
        actor,
        meta,
    )


@handles(m.UpdateUser)
def update_user(
    uow: UnitOfWork, cmd: m.UpdateUser, actor: Actor, meta: EventMeta
) -> Decide:
    """Change profile, password, role and state of a user in one save."""
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
        password_hash = uow.hasher.hash(cmd.password)

    def update(user: User) -> list[HubAggregate]:
        changed = _change_profile(
            uow, user, new_email, new_name, meta, may_reuse=actor.is_superuser
        )
        if password_hash is not None:
            user.change_password(password_hash=password_hash, meta=meta)
        return changed + _apply_role_and_state(
            uow, user, meta, is_superuser=cmd.is_superuser, is_active=cmd.is_active
        )

    return _changing_user(uow, cmd, update)


def _change_profile(
    uow: UnitOfWork,
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
        claims.append(_claim(uow, email, user.id, meta, may_reuse=may_reuse))
        old = uow.get(EmailClaim, EmailClaim.id_for(user.email))
        if old is not None and old.holder_id == user.id:
            old.release(meta=meta)
            claims.append(old)
    user.change_profile(email=email, full_name=full_name, meta=meta)
    return claims


def _apply_role_and_state(
    uow: UnitOfWork,
    user: User,
    meta: EventMeta,
    *,
    is_superuser: bool | None,
    is_active: bool | None,
) -> list[HubAggregate]:
    """Grant or revoke, (de)activate, and keep the superuser roster in step."""
    was_member = user.is_active and user.is_superuser
    roster: SuperuserRoster | None = None
    if is_superuser is not None and is_superuser != user.is_superuser:
        if is_superuser:
            user.grant_superuser(meta=meta)
        else:
            roster = _last_superuser_guard(uow, meta, user, "demote")
            user.revoke_superuser(meta=meta)
    if is_active is not None and is_active != user.is_active:
        if is_active:
            user.reactivate(meta=meta)
        else:
            roster = _last_superuser_guard(uow, meta, user, "deactivate")
            user.deactivate(meta=meta)
    member = user.is_active and user.is_superuser
    if member == was_member:
        return [] if roster is None else [roster]
    roster = roster or uow.roster(meta)
    if member:
        roster.join(user_id=user.id, meta=meta)
    else:
        roster.leave(user_id=user.id, meta=meta)
    return [roster]


def _last_superuser_guard(
    uow: UnitOfWork, meta: EventMeta, user: User, verb: str
) -> SuperuserRoster:
    """The roster, unless ``user`` is its last member (then ``Forbidden``)."""
    roster = uow.roster(meta)
    if user.id in roster.members and len(roster.members) <= 1:
        raise Forbidden(f"cannot {verb} the last active superuser")
    return roster


def _role_or_state(
    uow: UnitOfWork,
    cmd: m.UserCommand,
    meta: EventMeta,
    already: str,
    *,
    is_superuser: bool | None = None,
    is_active: bool | None = None,
) -> Decide:
    """The decision of one role or state command (``already``: it is so now)."""

    def change(user: User) -> list[HubAggregate]:
        if is_superuser == user.is_superuser or is_active == user.is_active:
            raise InvalidState(already)
        return _apply_role_and_state(
            uow, user, meta, is_superuser=is_superuser, is_active=is_active
        )

    return _changing_user(uow, cmd, change)


@handles(m.GrantSuperuser, superusers_only=True)
def grant_superuser(
    uow: UnitOfWork, cmd: m.GrantSuperuser, _actor: Actor, meta: EventMeta
) -> Decide:
    """Make a user a superuser."""
    return _role_or_state(
        uow, cmd, meta, "user is already a superuser", is_superuser=True
    )


@handles(m.RevokeSuperuser, superusers_only=True)
def revoke_superuser(
    uow: UnitOfWork, cmd: m.RevokeSuperuser, _actor: Actor, meta: EventMeta
) -> Decide:
    """Make a superuser a standard user."""
    return _role_or_state(uow, cmd, meta, "user is not a superuser", is_superuser=False)


@handles(m.DeactivateUser, superusers_only=True)
def deactivate_user(
    uow: UnitOfWork, cmd: m.DeactivateUser, _actor: Actor, meta: EventMeta
) -> Decide:
    """Stop a user from logging in or acting."""
    return _role_or_state(
        uow, cmd, meta, "user is already deactivated", is_active=False
    )


@handles(m.ReactivateUser, superusers_only=True)
def reactivate_user(
    uow: UnitOfWork, cmd: m.ReactivateUser, _actor: Actor, meta: EventMeta
) -> Decide:
    """Let a deactivated user in again."""
    return _role_or_state(uow, cmd, meta, "user is already active", is_active=True)


@handles(m.ChangePassword)
def change_password(
    uow: UnitOfWork, cmd: m.ChangePassword, actor: Actor, meta: EventMeta
) -> Decide:
    """Set a new password; one's own needs the current password."""
    require_self_or_superuser(actor, cmd.user_id)
    check_password_policy(cmd.new_password, "new_password")
    target = uow.target_user(cmd.user_id)
    if uow.replay(target, cmd) is None and actor.id == cmd.user_id:
        if not cmd.current_password or not uow.hasher.verify(
            cmd.current_password, target.password_hash
        ):
            raise InvalidInput("current_password", "is incorrect")
        if cmd.new_password == cmd.current_password:
            raise InvalidInput("new_password", "must differ from the current password")
    password_hash = uow.hasher.hash(cmd.new_password)

    def change(user: User) -> list[HubAggregate]:
        user.change_password(password_hash=password_hash, meta=meta)
        return []

    return _changing_user(uow, cmd, change)


@handles(m.LogOutEverywhere)
def log_out_everywhere(
    uow: UnitOfWork, cmd: m.LogOutEverywhere, actor: Actor, meta: EventMeta
) -> Decide:
    """Void every session and token of a user."""
    require_self_or_superuser(actor, cmd.user_id)

    def log_out(user: User) -> list[HubAggregate]:
        user.bump_token_version(reason="logged out everywhere", meta=meta)
        return []

    return _changing_user(uow, cmd, log_out)
