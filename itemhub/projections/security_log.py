"""The security log: logins, denials, throttling and revocations (not domain events)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import insert, select

from itemhub.projections.store import ReadStore

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


class SecurityLog:
    """Appends and lists security entries; a failure to record never fails a request."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.t = store.tables.security

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
