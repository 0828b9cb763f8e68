"""User, EmailClaim and SuperuserRoster on their own: state, events, validation."""

from __future__ import annotations

from uuid import uuid4

import pytest

from itemhub.events import (
    Channel,
    EmailClaim,
    EventMeta,
    HubEvent,
    InvalidInput,
    SuperuserRoster,
    User,
    normalise_email,
)
from itemhub.events.user import MAX_EMAIL, MAX_NAME
from tests.unit.conftest import meta


def new_user(
    *,
    email: str = "alice@example.com",
    full_name: str = "Alice",
    m: EventMeta | None = None,
) -> User:
    """A fresh, unsaved standard user."""
    return User.register(
        user_id=uuid4(),
        email=email,
        full_name=full_name,
        password_hash="$argon2id$not-a-real-hash",
        is_superuser=False,
        meta=m or meta(),
    )


# --- e-mail and name validation -----------------------------------------------


def test_normalise_email_strips_and_lower_cases() -> None:
    assert normalise_email("  Alice.Smith@Example.COM ") == "alice.smith@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "alice",
        "alice@example",
        "@example.com",
        "alice@",
        "al ice@example.com",
        "alice@@example.com",
        "alice@exa mple.com",
        "a" * (MAX_EMAIL - len("@example.com") + 1) + "@example.com",
    ],
    ids=[
        "empty",
        "blank",
        "no-at",
        "no-dot-in-domain",
        "no-local-part",
        "no-domain",
        "space-in-local-part",
        "two-ats",
        "space-in-domain",
        "over-254",
    ],
)
def test_bad_email_raises_invalid_input_on_email(email: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        normalise_email(email)

    assert excinfo.value.field == "email"


def test_email_of_exactly_254_characters_is_accepted() -> None:
    email = "a" * (MAX_EMAIL - len("@example.com")) + "@example.com"

    assert normalise_email(email) == email


def test_register_with_an_over_long_name_raises_before_any_event() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        new_user(full_name="n" * (MAX_NAME + 1))

    assert excinfo.value.field == "full_name"


def test_register_strips_the_name_and_accepts_it_at_the_limit() -> None:
    assert new_user(full_name="  Alice  ").full_name == "Alice"
    assert new_user(full_name=" " + "n" * MAX_NAME + " ").full_name == "n" * MAX_NAME


# --- user state and events ----------------------------------------------------


def test_registered_user_is_active_with_token_version_0() -> None:
    user = new_user()

    assert (user.email, user.full_name, user.is_superuser) == (
        "alice@example.com",
        "Alice",
        False,
    )
    assert (user.is_active, user.token_version, user.version) == (True, 0, 1)
    [event] = user.collect_events()
    assert isinstance(event, User.Registered)


def test_display_name_is_the_name_or_else_the_email() -> None:
    assert new_user(full_name="Alice").display_name == "Alice"
    assert new_user(full_name="").display_name == "alice@example.com"


def test_change_profile_takes_the_new_email_and_name() -> None:
    user = new_user()

    user.change_profile(email="alice@new.example", full_name="Alice B", meta=meta())

    assert (user.email, user.full_name) == ("alice@new.example", "Alice B")
    assert isinstance(user.collect_events()[-1], User.ProfileChanged)


def test_change_password_replaces_the_hash_and_voids_sessions() -> None:
    user = new_user()
    user.collect_events()

    user.change_password(password_hash="$argon2id$new", meta=meta())

    assert user.password_hash == "$argon2id$new"
    assert user.token_version == 1
    changed, bumped = user.collect_events()
    assert isinstance(changed, User.PasswordChanged)
    assert isinstance(bumped, User.TokenVersionBumped)
    assert (bumped.token_version, bumped.reason) == (1, "password changed")


def test_role_changes_and_deactivation_void_sessions_but_reactivation_does_not() -> (
    None
):
    user = new_user()

    user.grant_superuser(meta=meta())
    assert (user.is_superuser, user.token_version) == (True, 1)
    user.revoke_superuser(meta=meta())
    assert (user.is_superuser, user.token_version) == (False, 2)
    user.deactivate(meta=meta())
    assert (user.is_active, user.token_version) == (False, 3)
    user.reactivate(meta=meta())
    assert (user.is_active, user.token_version) == (True, 3)


def test_bump_token_version_increments_it_with_the_reason() -> None:
    user = new_user()
    user.collect_events()

    user.bump_token_version(reason="logged out everywhere", meta=meta())

    [event] = user.collect_events()
    assert isinstance(event, User.TokenVersionBumped)
    assert (event.token_version, event.reason) == (1, "logged out everywhere")
    assert user.token_version == 1


def test_every_user_event_carries_the_metadata_with_the_channel_as_a_string() -> None:
    m = meta(actor_name="Root", channel=Channel.CLI)
    user = new_user(m=m)
    user.change_profile(email="b@example.com", full_name="B", meta=m)
    user.change_password(password_hash="h", meta=m)
    user.grant_superuser(meta=m)
    user.revoke_superuser(meta=m)
    user.deactivate(meta=m)
    user.reactivate(meta=m)

    events = user.collect_events()

    assert len(events) == 11
    for event in events:
        assert isinstance(event, HubEvent)
        assert event.actor_id == m.actor_id
        assert event.actor_name == "Root"
        assert event.channel == "cli"
        assert type(event.channel) is str
        assert event.correlation_id == m.correlation_id
        assert event.command_id == m.command_id
    assert user.version_of_command(m.command_id) == 11


def test_system_metadata_names_the_system_actor_on_the_system_channel() -> None:
    command_id = uuid4()

    m = EventMeta.system(command_id)

    assert (m.actor_name, m.channel, m.command_id) == (
        "system",
        Channel.SYSTEM,
        command_id,
    )
    assert m.fields()["channel"] == "system"


# --- e-mail claims ------------------------------------------------------------


def test_claim_id_is_derived_from_the_address() -> None:
    assert EmailClaim.id_for("a@example.com") == EmailClaim.id_for("a@example.com")
    assert EmailClaim.id_for("a@example.com") != EmailClaim.id_for("b@example.com")


def test_a_claim_is_held_released_and_reclaimed() -> None:
    alice, bob = uuid4(), uuid4()
    claim = EmailClaim.claim_new(email="a@example.com", holder_id=alice, meta=meta())
    assert (claim.id, claim.email, claim.holder_id) == (
        EmailClaim.id_for("a@example.com"),
        "a@example.com",
        alice,
    )

    claim.release(meta=meta())
    assert claim.holder_id is None

    claim.reclaim(holder_id=bob, meta=meta())
    assert claim.holder_id == bob
    assert claim.version == 3


# --- the superuser roster -----------------------------------------------------


def test_roster_starts_empty_with_its_fixed_id() -> None:
    roster = SuperuserRoster.start(meta=meta())

    assert roster.id == SuperuserRoster.ROSTER_ID
    assert roster.members == []


def test_roster_join_and_leave_append_only_when_membership_changes() -> None:
    roster = SuperuserRoster.start(meta=meta())
    alice, bob = uuid4(), uuid4()

    roster.join(user_id=alice, meta=meta())
    roster.join(user_id=bob, meta=meta())
    roster.join(user_id=alice, meta=meta())
    assert (roster.members, roster.version) == ([alice, bob], 3)

    roster.leave(user_id=alice, meta=meta())
    roster.leave(user_id=alice, meta=meta())
    assert (roster.members, roster.version) == ([bob], 4)
