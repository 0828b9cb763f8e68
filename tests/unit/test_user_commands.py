"""User administration through the real CommandBus on the in-memory event store."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from itemhub.commands import (
    AlreadyExists,
    ChangePassword,
    ChangeProfile,
    Command,
    CommandBus,
    Conflict,
    DeactivateUser,
    Forbidden,
    GrantSuperuser,
    InvalidInput,
    InvalidState,
    LogOutEverywhere,
    NotFound,
    ReactivateUser,
    RegisterUser,
    RevokeSuperuser,
    UpdateUser,
)
from itemhub.events import EmailClaim
from itemhub.eventstore import ItemHub
from tests.unit.conftest import FAST_HASHER, PASSWORD, ROOT_EMAIL, SYSTEM_CLI, Board

# --- bootstrap and registration -----------------------------------------------


def test_bootstrapped_superuser_is_the_only_roster_member(board: Board) -> None:
    root = board.user(board.root.actor_id)

    assert (root.email, root.full_name, root.is_superuser, root.is_active) == (
        ROOT_EMAIL,
        "Root Admin",
        True,
        True,
    )
    assert board.roster() == [root.id]
    assert root.last_actor_name == "system"


def test_superuser_registers_a_standard_user_with_a_hashed_password(
    board: Board,
) -> None:
    result = board.run(
        RegisterUser(email=" Alice@Example.COM ", password=PASSWORD, full_name=" Al ")
    )

    alice = board.user(result.aggregate_id)
    assert (alice.email, alice.full_name, alice.is_superuser) == (
        "alice@example.com",
        "Al",
        False,
    )
    assert alice.password_hash.startswith("$argon2id$")
    assert FAST_HASHER.verify(PASSWORD, alice.password_hash)
    assert board.roster() == [board.root.actor_id]


def test_registering_a_superuser_adds_them_to_the_roster(board: Board) -> None:
    boss = board.register("Boss", superuser=True)

    assert board.user(boss.actor_id).is_superuser is True
    assert board.roster() == [board.root.actor_id, boss.actor_id]


def test_registering_a_user_claims_their_email(board: Board) -> None:
    alice = board.register("Alice")

    claim: object = board.app.repository.get(EmailClaim.id_for("alice@example.com"))

    assert isinstance(claim, EmailClaim)
    assert claim.holder_id == alice.actor_id


@pytest.mark.parametrize(
    "email", ["alice@example.com", "ALICE@example.com", " Alice@Example.Com "]
)
def test_duplicate_email_is_refused_case_insensitively(
    board: Board, email: str
) -> None:
    board.register("Alice", email="alice@example.com")
    before = board.head()

    with pytest.raises(AlreadyExists):
        board.run(RegisterUser(email=email, password=PASSWORD))

    assert board.head() == before


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (RegisterUser(email="not-an-email", password=PASSWORD), "email"),
        (RegisterUser(email="a@example.com", password="short"), "password"),
        (RegisterUser(email="a@example.com", password="p" * 129), "password"),
        (
            RegisterUser(email="a@example.com", password=PASSWORD, full_name="n" * 121),
            "full_name",
        ),
    ],
    ids=["bad-email", "password-too-short", "password-too-long", "name-too-long"],
)
def test_register_with_an_invalid_field_appends_nothing(
    board: Board, command: RegisterUser, field: str
) -> None:
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(command)

    assert excinfo.value.field == field
    assert board.head() == before


def test_the_same_registration_in_two_stores_gives_two_different_user_ids(
    board: Board, bus: CommandBus
) -> None:
    command_id = uuid4()
    register = RegisterUser(
        email="erin@example.com", password=PASSWORD, command_id=command_id
    )
    other = ItemHub(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        elsewhere = CommandBus(other, columns=bus.uow.columns, hasher=FAST_HASHER)
        first = elsewhere.handle(register, SYSTEM_CLI)
    finally:
        other.close()

    here = board.run(register, SYSTEM_CLI)

    assert here.aggregate_id != first.aggregate_id


def test_registration_retried_after_an_email_change_returns_the_same_user(
    board: Board,
) -> None:
    register = RegisterUser(email="erin@example.com", password=PASSWORD)
    erin = board.run(register).aggregate_id
    board.run(ChangeProfile(user_id=erin, email="erin@new.example"))
    head = board.head()

    again = board.run(register)

    assert (again.aggregate_id, again.replayed) == (erin, True)
    assert board.head() == head


def test_registration_with_a_new_command_id_for_a_taken_address_is_refused(
    board: Board,
) -> None:
    board.run(RegisterUser(email="erin@example.com", password=PASSWORD))
    head = board.head()

    with pytest.raises(AlreadyExists):
        board.run(RegisterUser(email="erin@example.com", password=PASSWORD))
    assert board.head() == head


@pytest.mark.parametrize("length", [8, 128])
def test_passwords_of_8_to_128_characters_are_accepted(
    board: Board, length: int
) -> None:
    result = board.run(RegisterUser(email="a@example.com", password="p" * length))

    assert FAST_HASHER.verify(
        "p" * length, board.user(result.aggregate_id).password_hash
    )


# --- superuser-only administration --------------------------------------------


UserCommand = Callable[[UUID], Command]
ADMIN_ONLY: dict[str, UserCommand] = {
    "register": lambda _: RegisterUser(email="new@example.com", password=PASSWORD),
    "grant": lambda user_id: GrantSuperuser(user_id=user_id),
    "revoke": lambda user_id: RevokeSuperuser(user_id=user_id),
    "deactivate": lambda user_id: DeactivateUser(user_id=user_id),
    "reactivate": lambda user_id: ReactivateUser(user_id=user_id),
}
SELF_OR_ADMIN: dict[str, UserCommand] = {
    "profile": lambda user_id: ChangeProfile(user_id=user_id, full_name="Hacked"),
    "password": lambda user_id: ChangePassword(
        user_id=user_id, new_password="hacked-password"
    ),
    "log-out": lambda user_id: LogOutEverywhere(user_id=user_id),
    "update": lambda user_id: UpdateUser(user_id=user_id, full_name="Hacked"),
}


@pytest.mark.parametrize("make", ADMIN_ONLY.values(), ids=ADMIN_ONLY)
def test_standard_user_cannot_administer_users(board: Board, make: UserCommand) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    board.run(DeactivateUser(user_id=bob.actor_id))  # so that reactivate would apply
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(make(bob.actor_id), alice)

    assert board.head() == before


@pytest.mark.parametrize("make", ADMIN_ONLY.values(), ids=ADMIN_ONLY)
def test_standard_user_cannot_administer_themselves(
    board: Board, make: UserCommand
) -> None:
    alice = board.register("Alice")

    with pytest.raises(Forbidden):
        board.run(make(alice.actor_id), alice)


@pytest.mark.parametrize("make", SELF_OR_ADMIN.values(), ids=SELF_OR_ADMIN)
def test_standard_user_cannot_change_someone_elses_account(
    board: Board, make: UserCommand
) -> None:
    alice, bob = board.register("Alice"), board.register("Bob")
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(make(bob.actor_id), alice)

    assert board.head() == before
    assert board.user(bob.actor_id).full_name == "Bob"


ABOUT_A_USER = {
    name: make
    for name, make in {**ADMIN_ONLY, **SELF_OR_ADMIN}.items()
    if name != "register"
}


@pytest.mark.parametrize("make", ABOUT_A_USER.values(), ids=ABOUT_A_USER)
def test_a_command_about_a_missing_user_is_not_found(
    board: Board, make: UserCommand
) -> None:
    with pytest.raises(NotFound):
        board.run(make(uuid4()))


# --- profile and e-mail -------------------------------------------------------


def test_user_changes_their_own_name(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(
        ChangeProfile(user_id=alice.actor_id, full_name="Alice B"), alice
    )

    assert result.version == 2
    assert board.user(alice.actor_id).full_name == "Alice B"
    assert board.user(alice.actor_id).email == "alice@example.com"


def test_superuser_changes_another_users_email(board: Board) -> None:
    alice = board.register("Alice")

    board.run(ChangeProfile(user_id=alice.actor_id, email="Alice@New.Example"))

    assert board.user(alice.actor_id).email == "alice@new.example"
    assert board.user(alice.actor_id).full_name == "Alice"


def test_profile_change_to_the_same_values_appends_nothing(board: Board) -> None:
    alice = board.register("Alice")
    before = board.head()

    result = board.run(
        ChangeProfile(
            user_id=alice.actor_id, email="ALICE@example.com", full_name=" Alice "
        ),
        alice,
    )

    assert (result.version, result.replayed) == (1, False)
    assert board.head() == before


def test_changing_email_releases_the_old_address_for_someone_else(
    board: Board,
) -> None:
    alice = board.register("Alice", email="alice@example.com")
    board.run(ChangeProfile(user_id=alice.actor_id, email="alice@new.example"), alice)

    result = board.run(RegisterUser(email="Alice@Example.com", password=PASSWORD))

    assert board.user(result.aggregate_id).email == "alice@example.com"
    old: object = board.app.repository.get(EmailClaim.id_for("alice@example.com"))
    assert isinstance(old, EmailClaim)
    assert old.holder_id == result.aggregate_id


def test_changing_back_to_a_released_address_reclaims_it(board: Board) -> None:
    alice = board.register("Alice", email="alice@example.com")
    board.run(ChangeProfile(user_id=alice.actor_id, email="alice@new.example"), alice)

    board.run(ChangeProfile(user_id=alice.actor_id, email="alice@example.com"), alice)

    assert board.user(alice.actor_id).email == "alice@example.com"
    with pytest.raises(AlreadyExists):
        board.run(RegisterUser(email="alice@example.com", password=PASSWORD))
    board.run(RegisterUser(email="alice@new.example", password=PASSWORD))


def test_changing_email_to_a_taken_address_is_refused(board: Board) -> None:
    alice = board.register("Alice")
    board.register("Bob")
    before = board.head()

    with pytest.raises(AlreadyExists):
        board.run(ChangeProfile(user_id=alice.actor_id, email="BOB@example.com"), alice)

    assert board.head() == before
    assert board.user(alice.actor_id).email == "alice@example.com"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (ChangeProfile(user_id=uuid4(), email="nope"), "email"),
        (ChangeProfile(user_id=uuid4(), full_name="n" * 121), "full_name"),
    ],
    ids=["bad-email", "name-too-long"],
)
def test_profile_change_with_an_invalid_field_is_refused(
    board: Board, command: ChangeProfile, field: str
) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        board.run(command)

    assert excinfo.value.field == field


def test_stale_profile_change_conflicts_naming_who_changed_it(board: Board) -> None:
    alice = board.register("Alice")
    board.run(ChangeProfile(user_id=alice.actor_id, full_name="Alice B"), alice)

    with pytest.raises(Conflict) as excinfo:
        board.run(
            ChangeProfile(user_id=alice.actor_id, full_name="X", expected_version=1)
        )

    # The name the actor had when they made the change.
    assert (excinfo.value.current_version, excinfo.value.changed_by) == (2, "Alice")


# --- passwords ----------------------------------------------------------------


def test_user_changes_their_password_with_the_current_one(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(
        ChangePassword(
            user_id=alice.actor_id,
            current_password=PASSWORD,
            new_password="a-new-password",
        ),
        alice,
    )

    user = board.user(alice.actor_id)
    assert result.version == 3
    assert FAST_HASHER.verify("a-new-password", user.password_hash)
    assert not FAST_HASHER.verify(PASSWORD, user.password_hash)
    assert user.token_version == 1


@pytest.mark.parametrize("current", [None, "", "wrong-password"])
def test_own_password_change_needs_the_correct_current_password(
    board: Board, current: str | None
) -> None:
    alice = board.register("Alice")
    before = board.head()

    with pytest.raises(InvalidInput) as excinfo:
        board.run(
            ChangePassword(
                user_id=alice.actor_id,
                current_password=current,
                new_password="a-new-password",
            ),
            alice,
        )

    assert excinfo.value.field == "current_password"
    assert board.head() == before


def test_superuser_changing_their_own_password_also_needs_the_current_one(
    board: Board,
) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        board.run(
            ChangePassword(user_id=board.root.actor_id, new_password="a-new-password")
        )

    assert excinfo.value.field == "current_password"


def test_new_password_must_differ_from_the_current_one(board: Board) -> None:
    alice = board.register("Alice")

    with pytest.raises(InvalidInput) as excinfo:
        board.run(
            ChangePassword(
                user_id=alice.actor_id, current_password=PASSWORD, new_password=PASSWORD
            ),
            alice,
        )

    assert excinfo.value.field == "new_password"


@pytest.mark.parametrize("new_password", ["short", "p" * 129])
def test_new_password_must_follow_the_policy(board: Board, new_password: str) -> None:
    alice = board.register("Alice")

    with pytest.raises(InvalidInput) as excinfo:
        board.run(ChangePassword(user_id=alice.actor_id, new_password=new_password))

    assert excinfo.value.field == "new_password"


def test_superuser_resets_another_users_password_without_the_current_one(
    board: Board,
) -> None:
    alice = board.register("Alice")

    board.run(ChangePassword(user_id=alice.actor_id, new_password="reset-by-root"))

    user = board.user(alice.actor_id)
    assert FAST_HASHER.verify("reset-by-root", user.password_hash)
    assert user.token_version == 1


# --- roles and activation -----------------------------------------------------


def test_grant_makes_an_active_user_a_roster_member_and_voids_sessions(
    board: Board,
) -> None:
    alice = board.register("Alice")

    board.run(GrantSuperuser(user_id=alice.actor_id))

    user = board.user(alice.actor_id)
    assert (user.is_superuser, user.token_version) == (True, 1)
    assert board.roster() == [board.root.actor_id, alice.actor_id]


def test_granting_a_superuser_again_is_invalid_state(board: Board) -> None:
    with pytest.raises(InvalidState):
        board.run(GrantSuperuser(user_id=board.root.actor_id))


def test_revoking_a_standard_user_is_invalid_state(board: Board) -> None:
    alice = board.register("Alice")

    with pytest.raises(InvalidState):
        board.run(RevokeSuperuser(user_id=alice.actor_id))


def test_deactivating_twice_is_invalid_state(board: Board) -> None:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))

    with pytest.raises(InvalidState):
        board.run(DeactivateUser(user_id=alice.actor_id))


def test_reactivating_an_active_user_is_invalid_state(board: Board) -> None:
    alice = board.register("Alice")

    with pytest.raises(InvalidState):
        board.run(ReactivateUser(user_id=alice.actor_id))


@pytest.mark.parametrize(
    "make",
    [
        lambda user_id: RevokeSuperuser(user_id=user_id),
        lambda user_id: DeactivateUser(user_id=user_id),
        lambda user_id: UpdateUser(user_id=user_id, is_superuser=False),
        lambda user_id: UpdateUser(user_id=user_id, is_active=False),
        lambda user_id: UpdateUser(
            user_id=user_id, is_superuser=False, is_active=False
        ),
    ],
    ids=["demote", "deactivate", "update-demote", "update-deactivate", "update-both"],
)
def test_nobody_may_remove_the_last_active_superuser(
    board: Board, make: UserCommand
) -> None:
    before = board.head()

    for context in (board.root, SYSTEM_CLI):
        with pytest.raises(Forbidden):
            board.run(make(board.root.actor_id), context)

    assert board.head() == before
    assert board.roster() == [board.root.actor_id]


def test_a_superuser_can_be_demoted_while_another_is_active(board: Board) -> None:
    boss = board.register("Boss", superuser=True)

    board.run(RevokeSuperuser(user_id=board.root.actor_id), boss)

    assert board.user(board.root.actor_id).is_superuser is False
    assert board.roster() == [boss.actor_id]
    with pytest.raises(Forbidden):
        board.run(RevokeSuperuser(user_id=boss.actor_id), boss)


def test_a_superuser_can_deactivate_themselves_while_another_is_active(
    board: Board,
) -> None:
    boss = board.register("Boss", superuser=True)

    board.run(DeactivateUser(user_id=boss.actor_id), boss)

    assert board.user(boss.actor_id).is_active is False
    assert board.roster() == [board.root.actor_id]
    with pytest.raises(Forbidden):
        board.run(DeactivateUser(user_id=board.root.actor_id))


def test_reactivating_a_superuser_puts_them_back_in_the_roster(board: Board) -> None:
    boss = board.register("Boss", superuser=True)
    board.run(DeactivateUser(user_id=boss.actor_id))
    with pytest.raises(Forbidden):
        board.run(RevokeSuperuser(user_id=board.root.actor_id))

    board.run(ReactivateUser(user_id=boss.actor_id))
    board.run(RevokeSuperuser(user_id=board.root.actor_id))

    assert board.roster() == [boss.actor_id]
    assert board.user(board.root.actor_id).is_superuser is False


def test_granting_a_deactivated_user_joins_the_roster_only_on_reactivation(
    board: Board,
) -> None:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))

    board.run(GrantSuperuser(user_id=alice.actor_id))
    assert board.roster() == [board.root.actor_id]
    board.run(ReactivateUser(user_id=alice.actor_id))

    assert board.roster() == [board.root.actor_id, alice.actor_id]


def test_demoting_a_deactivated_superuser_is_allowed_and_keeps_the_roster(
    board: Board,
) -> None:
    boss = board.register("Boss", superuser=True)
    board.run(DeactivateUser(user_id=boss.actor_id))

    board.run(RevokeSuperuser(user_id=boss.actor_id))

    assert board.user(boss.actor_id).is_superuser is False
    assert board.roster() == [board.root.actor_id]


def test_deactivation_voids_sessions_and_reactivation_lets_the_user_act(
    board: Board,
) -> None:
    alice = board.register("Alice")

    board.run(DeactivateUser(user_id=alice.actor_id))
    assert board.user(alice.actor_id).token_version == 1
    with pytest.raises(Forbidden):
        board.create_item(alice)
    board.run(ReactivateUser(user_id=alice.actor_id))

    assert board.user(alice.actor_id).is_active is True
    assert board.item(board.create_item(alice)).owner_id == alice.actor_id


# --- log out everywhere -------------------------------------------------------


def test_user_logs_themselves_out_everywhere(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(LogOutEverywhere(user_id=alice.actor_id), alice)

    assert result.version == 2
    assert board.user(alice.actor_id).token_version == 1


def test_superuser_logs_another_user_out_everywhere(board: Board) -> None:
    alice = board.register("Alice")
    board.run(LogOutEverywhere(user_id=alice.actor_id))

    board.run(LogOutEverywhere(user_id=alice.actor_id))

    assert board.user(alice.actor_id).token_version == 2


# --- update user (several changes in one save) --------------------------------


def test_user_updates_their_own_email_and_name_in_one_save(board: Board) -> None:
    alice = board.register("Alice")

    result = board.run(
        UpdateUser(
            user_id=alice.actor_id, email="Alice@New.Example", full_name="Alice B"
        ),
        alice,
    )

    user = board.user(alice.actor_id)
    assert (user.email, user.full_name, result.version) == (
        "alice@new.example",
        "Alice B",
        2,
    )
    board.run(RegisterUser(email="alice@example.com", password=PASSWORD))


@pytest.mark.parametrize(
    "make",
    [
        lambda user_id: UpdateUser(user_id=user_id, password="new-password"),
        lambda user_id: UpdateUser(user_id=user_id, is_superuser=True),
        lambda user_id: UpdateUser(user_id=user_id, is_active=False),
        lambda user_id: UpdateUser(user_id=user_id, is_active=True),
        lambda user_id: UpdateUser(user_id=user_id, full_name="A", is_superuser=False),
    ],
    ids=["password", "grant", "deactivate", "activate", "name-and-role"],
)
def test_standard_user_cannot_update_their_own_password_role_or_state(
    board: Board, make: UserCommand
) -> None:
    alice = board.register("Alice")
    before = board.head()

    with pytest.raises(Forbidden):
        board.run(make(alice.actor_id), alice)

    assert board.head() == before


def test_superuser_updates_profile_password_and_role_atomically(
    board: Board,
) -> None:
    alice = board.register("Alice")

    result = board.run(
        UpdateUser(
            user_id=alice.actor_id,
            email="al@example.com",
            full_name="Al",
            password="set-by-root",
            is_superuser=True,
        )
    )

    user = board.user(alice.actor_id)
    assert (user.email, user.full_name, user.is_superuser) == (
        "al@example.com",
        "Al",
        True,
    )
    assert FAST_HASHER.verify("set-by-root", user.password_hash)
    assert user.token_version == 2  # password changed, role changed
    assert result.version == user.version
    assert board.roster() == [board.root.actor_id, alice.actor_id]


def test_update_with_a_taken_email_changes_nothing_else(board: Board) -> None:
    alice = board.register("Alice")
    board.register("Bob")
    before = board.head()

    with pytest.raises(AlreadyExists):
        board.run(
            UpdateUser(
                user_id=alice.actor_id,
                email="bob@example.com",
                password="set-by-root",
                is_superuser=True,
            )
        )

    assert board.head() == before
    assert board.user(alice.actor_id).is_superuser is False
    assert board.roster() == [board.root.actor_id]


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (UpdateUser(user_id=uuid4(), email="nope"), "email"),
        (UpdateUser(user_id=uuid4(), full_name="n" * 121), "full_name"),
        (UpdateUser(user_id=uuid4(), password="short"), "password"),
        (UpdateUser(user_id=uuid4(), password="p" * 129), "password"),
    ],
    ids=["bad-email", "name-too-long", "password-too-short", "password-too-long"],
)
def test_update_with_an_invalid_field_is_refused(
    board: Board, command: UpdateUser, field: str
) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        board.run(command)

    assert excinfo.value.field == field


def test_update_without_any_change_appends_nothing(board: Board) -> None:
    alice = board.register("Alice")
    before = board.head()

    result = board.run(
        UpdateUser(
            user_id=alice.actor_id,
            email="ALICE@example.com",
            full_name="Alice",
            is_superuser=False,
            is_active=True,
        )
    )

    assert (result.version, result.replayed) == (1, False)
    assert board.head() == before


def test_update_deactivates_a_superuser_and_takes_them_off_the_roster(
    board: Board,
) -> None:
    boss = board.register("Boss", superuser=True)

    board.run(UpdateUser(user_id=boss.actor_id, is_active=False))

    user = board.user(boss.actor_id)
    assert (user.is_active, user.is_superuser) == (False, True)
    assert board.roster() == [board.root.actor_id]


def test_update_reactivating_a_superuser_puts_them_back_in_the_roster(
    board: Board,
) -> None:
    boss = board.register("Boss", superuser=True)
    board.run(DeactivateUser(user_id=boss.actor_id))

    board.run(UpdateUser(user_id=boss.actor_id, is_active=True))
    board.run(UpdateUser(user_id=board.root.actor_id, is_superuser=False), boss)

    assert board.roster() == [boss.actor_id]


def test_update_demotes_a_superuser_while_another_is_active(board: Board) -> None:
    boss = board.register("Boss", superuser=True)

    board.run(UpdateUser(user_id=boss.actor_id, is_superuser=False))

    assert board.user(boss.actor_id).is_superuser is False
    assert board.roster() == [board.root.actor_id]


def test_update_granting_a_deactivated_user_does_not_join_the_roster(
    board: Board,
) -> None:
    alice = board.register("Alice")
    board.run(DeactivateUser(user_id=alice.actor_id))

    board.run(UpdateUser(user_id=alice.actor_id, is_superuser=True))

    assert board.roster() == [board.root.actor_id]


def test_stale_update_conflicts(board: Board) -> None:
    alice = board.register("Alice")
    board.run(ChangeProfile(user_id=alice.actor_id, full_name="A"), alice)

    with pytest.raises(Conflict) as excinfo:
        board.run(UpdateUser(user_id=alice.actor_id, full_name="B", expected_version=1))

    assert (excinfo.value.current_version, excinfo.value.changed_by) == (2, "Alice")
