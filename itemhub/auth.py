"""Authentication shared by the API and the UI: login, throttling, session checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from uuid import UUID

import redis.exceptions
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from itemhub.commands import PasswordHasher
from itemhub.projections import ReadModels, UserCredentials

# The login throttle's shared counts (Redis, several instances) cannot be read.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


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


# How long a token check may be reused at most: a bound for changes this process
# cannot see (another process rewriting the read model while its relay is down).
SESSION_CACHE_TTL = 2.0
SESSION_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Checked:
    user: UserCredentials
    stamp: Hashable
    expires: float


class SessionCache:
    """Token checks that passed, reused only while the users read model stays put.

    Each entry carries the caller's ``stamp``: where this process saw the users
    read model *before* it looked the user up. An entry answers only to the same
    stamp, so any change projected since (a version bump, a deactivation, a role
    change: any event at all) makes the next check go to the database again. The
    stamp must move before a command that changed a user returns; then a token
    ends at once for every request that starts after that command returned.
    """

    def __init__(
        self,
        ttl: float = SESSION_CACHE_TTL,
        max_entries: int = SESSION_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[tuple[UUID, int], _Checked] = {}

    def get(
        self, user_id: UUID, token_version: int, stamp: Hashable
    ) -> UserCredentials | None:
        """The user checked under this same stamp within the TTL, else None."""
        key = (user_id, token_version)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.stamp != stamp or entry.expires <= self.clock():
            self._entries.pop(key, None)
            return None
        return entry.user

    def put(self, user: UserCredentials, stamp: Hashable) -> None:
        """Remember a valid user, looked up after the read model was at ``stamp``."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare and cheap to refill: no LRU bookkeeping
        self._entries[(user.id, user.token_version)] = _Checked(
            user, stamp, self.clock() + self.ttl
        )

    def clear(self) -> None:
        """Forget every check."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class Authenticator:
    """Checks passwords against the users read model (slow: call off the loop)."""

    read: ReadModels
    hasher: PasswordHasher
    guard: LoginGuard
    sessions: SessionCache = field(default_factory=SessionCache)

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
