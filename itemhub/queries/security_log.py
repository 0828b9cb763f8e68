"""The security log: logins, denials, throttling and revocations (not domain events)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import insert, select

from itemhub.readstore.outages import translating_outages
from itemhub.readstore.store import ReadStore

log = logging.getLogger(__name__)

KINDS = (
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "access_denied",
    "token_revoked",
)


@dataclass(frozen=True, slots=True)
class SecurityEntry:
    """One security-relevant happening."""

    id: int
    occurred_at: dt.datetime
    kind: str
    user_id: UUID | None
    email: str
    ip: str
    user_agent: str
    channel: str
    detail: str


@translating_outages
class SecurityLog:
    """Appends and lists security entries; a failure to record never fails a request.

    An e-mail that belongs to no user is stored masked, with a keyed hash that
    ties repeated attempts together: such a "username" is often a mistyped
    password or someone else's address.
    """

    def __init__(self, store: ReadStore, key: bytes) -> None:
        self.store = store
        self.t = store.tables.security
        self.key = key

    def record(
        self,
        kind: str,
        *,
        channel: str,
        ip: str,
        user_agent: str = "",
        email: str = "",
        user_id: UUID | None = None,
        detail: str = "",
    ) -> None:
        """Append an entry (never a password or a token: callers pass neither)."""
        try:
            if email and not self._known(email):
                email = mask_email(email, self.key)
            with self.store.writer.begin() as conn:
                conn.execute(
                    insert(self.t).values(
                        occurred_at=dt.datetime.now(dt.UTC),
                        kind=kind,
                        user_id=user_id,
                        email=_printable(email, 254),
                        ip=_printable(ip, 64),
                        user_agent=_printable(user_agent, 300),
                        channel=channel,
                        detail=_printable(detail, 500),
                    )
                )
        except Exception:
            log.exception("could not record a %s security entry", kind)

    def _known(self, email: str) -> bool:
        # Nothing unprintable reaches the database (no address has it anyway).
        if not email.isprintable() or len(email) > 254:
            return False
        users = self.store.tables.users
        with self.store.reader.connect() as conn:
            query = select(users.c.id).where(users.c.email == email)
            return conn.execute(query).first() is not None

    def recent(
        self, *, kind: str | None = None, before: int | None = None, limit: int = 100
    ) -> list[SecurityEntry]:
        """Newest first."""
        query = select(self.t).order_by(self.t.c.id.desc()).limit(limit)
        if kind:
            query = query.where(self.t.c.kind == kind)
        if before is not None:
            query = query.where(self.t.c.id < before)
        with self.store.reader.connect() as conn:
            return [SecurityEntry(**r) for r in conn.execute(query).mappings()]


def _printable(text: str, limit: int) -> str:
    """Attacker-supplied text, cut and with control characters replaced."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text[:limit])


def mask_email(email: str, key: bytes) -> str:
    """``j***@e***.com #<keyed hash>``: the shape of an address, not the address."""
    digest = hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:16]
    local, at, domain = email.partition("@")
    if not (at and local and domain):  # not an address: maybe a password
        return f"*** #{digest}"
    host, dot, tld = domain.rpartition(".")
    masked_domain = f"{host[:1]}***.{tld}" if dot and host else f"{domain[:1]}***"
    return _printable(f"{local[:1]}***@{masked_domain} #{digest}", 254)
