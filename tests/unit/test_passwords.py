"""Argon2id password hashing and the password policy."""

from __future__ import annotations

import pytest

from itemhub.commands.passwords import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    PasswordHasher,
    check_password_policy,
)
from itemhub.events import InvalidInput
from tests.unit.conftest import FAST_HASHER


def test_hashes_are_argon2id() -> None:
    assert FAST_HASHER.hash("correct horse").startswith("$argon2id$")


def test_hashes_of_one_password_differ_by_their_salt() -> None:
    assert FAST_HASHER.hash("correct horse") != FAST_HASHER.hash("correct horse")


def test_the_hashed_password_verifies() -> None:
    password_hash = FAST_HASHER.hash("correct horse")

    assert FAST_HASHER.verify("correct horse", password_hash) is True


@pytest.mark.parametrize(
    "attempt", ["wrong horse", "correct horse ", "", "CORRECT HORSE"]
)
def test_any_other_password_does_not_verify(attempt: str) -> None:
    password_hash = FAST_HASHER.hash("correct horse")

    assert FAST_HASHER.verify(attempt, password_hash) is False


def test_a_hash_from_another_hasher_instance_verifies() -> None:
    other = PasswordHasher.argon2id(memory_cost=2048, time_cost=2)

    assert FAST_HASHER.verify("correct horse", other.hash("correct horse")) is True


def test_the_default_cost_is_pwdlibs_recommendation() -> None:
    assert "$m=65536,t=3,p=4$" in PasswordHasher.argon2id().dummy_hash


@pytest.mark.parametrize("attempt", ["anything", "itemhub-dummy-password"])
def test_without_a_hash_nothing_verifies_not_even_the_dummy_password(
    attempt: str,
) -> None:
    assert FAST_HASHER.verify(attempt, None) is False


def test_the_dummy_hash_is_a_real_argon2id_hash_of_the_same_cost() -> None:
    dummy, real = FAST_HASHER.dummy_hash, FAST_HASHER.hash("x")

    assert dummy.startswith("$argon2id$")
    assert dummy.split("$")[:4] == real.split("$")[:4]


@pytest.mark.parametrize("length", [MIN_PASSWORD, MAX_PASSWORD])
def test_passwords_at_the_policy_limits_are_accepted(length: int) -> None:
    check_password_policy("p" * length)


@pytest.mark.parametrize(
    "length", [0, MIN_PASSWORD - 1, MAX_PASSWORD + 1], ids=["empty", "7", "129"]
)
def test_passwords_outside_8_to_128_characters_are_refused(length: int) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_password_policy("p" * length, "new_password")

    assert excinfo.value.field == "new_password"


def test_the_policy_limits_are_8_and_128() -> None:
    assert (MIN_PASSWORD, MAX_PASSWORD) == (8, 128)
