"""Authentication shared by the API and the UI: login, throttling, session checks."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from uuid import UUID

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from itemhub.commands import PasswordHasher
from itemhub.projections import ReadModels, UserCredentials


class LoginFailed(Exception):
    """Unknown e-mail or wrong password (the same answer for both)."""


class AccountDeactivated(Exception):
    """The password was right but the account is deactivated."""


class LoginThrottled(Exception):
    """Too many failed logins for this e-mail or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after}s")
        self.retry_after = retry_after


@dataclass(slots=True)
class LoginGuard:
    """Counts failed logins per e-mail and per client IP in a moving window."""

    rate: RateLimitItem
    limiter: MovingWindowRateLimiter

    @classmethod
    def create(cls, rate: str, storage: Storage | None = None) -> LoginGuard:
        """A guard allowing ``rate`` failures (e.g. ``"5/minute"``) per key."""
        return cls(
            rate=parse(rate),
            limiter=MovingWindowRateLimiter(storage or MemoryStorage()),
        )

    def check(self, email: str, client_ip: str) -> None:
        """Raise ``LoginThrottled`` when either key has no attempts left."""
        waits = []
        for key in (f"email:{email}", f"ip:{client_ip}"):
            if not self.limiter.test(self.rate, "login", key):
                stats = self.limiter.get_window_stats(self.rate, "login", key)
                waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        if waits:
            raise LoginThrottled(max(waits))

    def failed(self, email: str, client_ip: str) -> None:
        """Count one failure against both keys."""
        for key in (f"email:{email}", f"ip:{client_ip}"):
            self.limiter.hit(self.rate, "login", key)


@dataclass(slots=True)
class Authenticator:
    """Checks passwords against the users read model (slow: call off the loop)."""

    read: ReadModels
    hasher: PasswordHasher
    guard: LoginGuard

    def login(self, email: str, password: str, client_ip: str) -> UserCredentials:
        """The user for these credentials, or ``LoginFailed``/``LoginThrottled``."""
        email = email.strip().lower()
        self.guard.check(email, client_ip)
        # No address has control characters; don't send one to the database.
        usable = email.isprintable() and len(email) <= 254
        user = self.read.credentials_by_email(email) if usable else None
        # Unknown users are checked against a dummy hash: same time, same answer.
        ok = self.hasher.verify(password, user.password_hash if user else None)
        if user is None or not ok:
            self.guard.failed(email, client_ip)
            raise LoginFailed("incorrect e-mail or password")
        if not user.is_active:
            raise AccountDeactivated("this account is deactivated")
        return user

    def session_user(self, user_id: UUID, token_version: int) -> UserCredentials | None:
        """The user behind a token or session, if it is still valid."""
        user = self.read.credentials(user_id)
        if user is None or not user.is_active or user.token_version != token_version:
            return None
        return user
