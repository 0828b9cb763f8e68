"""Authentication shared by the API and the UI: login, throttling, session checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from itemhub.commands import AlreadyExists, InvalidInput, PasswordHasher
from itemhub.projections import UserCredentials
from itemhub.queries import ReadModels
from itemhub.readstore.outages import translating_outages

T = TypeVar("T")


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
    """Counts failed password checks per key (e-mail, user, IP) in a moving window.

    Every check reserves a slot on its keys *before* the password is verified:
    the failures in the window plus the checks in flight never exceed the limit,
    so parallel guesses cannot all pass one look at the counts. A check that
    succeeds gives its slot back; one that fails turns it into a failure.
    """

    rate: RateLimitItem
    limiter: MovingWindowRateLimiter

    @classmethod
    def create(cls, rate: str, storage: Storage | None = None) -> LoginGuard:
        """A guard allowing ``rate`` failures (e.g. ``"5/minute"``) per key."""
        return cls(
            rate=parse(rate),
            limiter=MovingWindowRateLimiter(storage or MemoryStorage()),
        )

    @contextmanager
    def hold(self, *keys: str) -> Iterator[PasswordAttempt]:
        """Hold a slot on every key for one check (or ``LoginThrottled``)."""
        attempt = PasswordAttempt()
        held: list[str] = []
        try:
            for key in keys:
                if not self._reserve(key):
                    raise LoginThrottled(self._wait(key))
                held.append(key)
            yield attempt
        finally:
            if attempt.wrong:
                for key in (*keys, *attempt.also_counted):
                    self.limiter.hit(self.rate, "login", key)
            # After the failure is counted: the slot is never free in between.
            for key in held:
                self._release(key)

    def count_also(self, attempt: PasswordAttempt, key: str) -> None:
        """Refuse a held check if ``key`` is used up, else count its failure there too.

        No slot is held on ``key``: the keys held bound the checks in parallel.
        """
        if self.limiter.get_window_stats(self.rate, "login", key).remaining < 1:
            raise LoginThrottled(self._wait(key))
        attempt.also_counted.append(key)

    @property
    def _storage(self) -> Storage:
        return self.limiter.storage

    @property
    def _expiry(self) -> int:
        return self.rate.get_expiry()

    def _reserve(self, key: str) -> bool:
        # The increment is atomic and counts this check; the failures are read
        # after it, so a check still in flight is always in one of the two. A
        # count outliving its key (in flight without a pause for a whole window)
        # reads low by what was then in flight: at most that many extra checks.
        in_flight = self._storage.incr(_in_flight(key), self._expiry)
        if in_flight < 1:
            # A release that outlived the count left it below zero and has not
            # cleared it yet: start it afresh rather than refuse this check.
            self._storage.clear(_in_flight(key))
            in_flight = self._storage.incr(_in_flight(key), self._expiry)
        stats = self.limiter.get_window_stats(self.rate, "login", key)
        if 1 <= in_flight <= stats.remaining:
            return True
        self._release(key)
        return False

    def _release(self, key: str) -> None:
        # Below zero, the count expired while this check was in flight and the
        # decrement made a new one: a debt that, re-armed by every later check,
        # would refuse them all. Cleared, the count only ever reads low (above).
        if self._storage.incr(_in_flight(key), self._expiry, amount=-1) < 0:
            self._storage.clear(_in_flight(key))

    def _wait(self, key: str) -> int:
        stats = self.limiter.get_window_stats(self.rate, "login", key)
        if stats.remaining > 0:  # only checks in flight hold the slots
            return 1
        return max(1, math.ceil(stats.reset_time - time.time()))


@dataclass(slots=True)
class PasswordAttempt:
    """One password check under a ``LoginGuard`` slot; mark it when it fails."""

    wrong: bool = False
    # Keys that count a failure of this check without holding a slot on it.
    also_counted: list[str] = field(default_factory=list)

    def failed(self) -> None:
        """The password was wrong: the slot becomes a counted failure."""
        self.wrong = True


def _in_flight(key: str) -> str:
    return f"login-in-flight/{key}"


def _account(user: UserCredentials) -> str:
    """The throttle's key for a user's account, which outlives its e-mail."""
    return f"user:{user.id}"


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


@translating_outages
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
        with self.guard.hold(f"email:{email}", f"ip:{client_ip}") as attempt:
            # No address has control characters; don't send one to the database.
            usable = email.isprintable() and len(email) <= 254
            user = self.read.credentials_by_email(email) if usable else None
            if user is not None:
                # By id too: an e-mail changed with a stolen token (no password
                # needed) does not start the account's count afresh.
                self.guard.count_also(attempt, _account(user))
            # Unknown users are checked against a dummy hash: same time, same answer.
            ok = self.hasher.verify(password, user.password_hash if user else None)
            if user is None or not ok:
                attempt.failed()
        if user is None or not ok:
            raise LoginFailed("incorrect e-mail or password")
        if not user.is_active:
            raise AccountDeactivated("this account is deactivated")
        return user

    def change_password(
        self, user: UserCredentials, client_ip: str, change: Callable[[], T]
    ) -> T:
        """Run a command that checks the current password, throttled like a login.

        Counted by the user's id too: a new e-mail (no password needed) does
        not give a holder of the token a fresh count.
        """
        keys = (_account(user), f"email:{user.email}", f"ip:{client_ip}")
        with self.guard.hold(*keys) as attempt:
            try:
                return change()
            except InvalidInput as exc:
                if exc.field == "current_password":
                    attempt.failed()
                raise

    def change_own_email(
        self,
        user: UserCredentials,
        email: str | None,
        client_ip: str,
        change: Callable[[], T],
    ) -> T:
        """Run a command that may change the user's own e-mail.

        A standard user's refused address counts like a wrong password: whether
        an address has an account can be probed only at the login rate.
        """
        unchanged = email is None or email.strip().lower() == user.email
        if user.is_superuser or unchanged:  # superusers see every address anyway
            return change()
        with self.guard.hold(_account(user), f"ip:{client_ip}") as attempt:
            try:
                return change()
            except AlreadyExists:  # refused, whatever the reason said
                attempt.failed()
                raise

    def session_user(self, user_id: UUID, token_version: int) -> UserCredentials | None:
        """The user behind a token or session, if it is still valid."""
        user = self.read.credentials(user_id)
        if user is None or not user.is_active or user.token_version != token_version:
            return None
        return user
