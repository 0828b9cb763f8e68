"""Password hashing with Argon2id (pwdlib), constant-time for unknown users."""

from __future__ import annotations

from dataclasses import dataclass

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from itemhub.events import InvalidInput

MIN_PASSWORD = 8
MAX_PASSWORD = 128


def check_password_policy(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(field, f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(field, f"must be at most {MAX_PASSWORD} characters")


@dataclass(slots=True)
class PasswordHasher:
    """Hashes and verifies passwords; slow on purpose, so never call it on the loop."""

    hasher: PasswordHash
    dummy_hash: str

    @classmethod
    def argon2id(
        cls, *, memory_cost: int = 65536, time_cost: int = 3
    ) -> PasswordHasher:
        """Argon2id with the given cost (the defaults are pwdlib's recommendation)."""
        hasher = PasswordHash(
            (Argon2Hasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=4),)
        )
        return cls(hasher=hasher, dummy_hash=hasher.hash("itemhub-dummy-password"))

    def hash(self, password: str) -> str:
        """Hash a password."""
        return self.hasher.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Check a password; with no hash (unknown user) still spend the same time."""
        if password_hash is None:
            self.hasher.verify(password, self.dummy_hash)
            return False
        return self.hasher.verify(password, password_hash)
