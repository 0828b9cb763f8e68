"""The first response to each (user, Idempotency-Key), kept in the read database."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from itemhub.readstore.outages import translating_outages
from itemhub.readstore.store import ReadStore

RETENTION = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as first sent for an idempotency key."""

    fingerprint: str
    status: int
    body: str
    headers: dict[str, str]


@translating_outages
class IdempotencyStore:
    """Keeps responses for 24 hours; the first one stored for a key wins."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.table = store.tables.idempotency

    def get(self, user_id: UUID, key: str) -> StoredResponse | None:
        """The stored response for a key, if any (and not expired)."""
        t = self.table
        with self.store.reader.connect() as conn:
            row = conn.execute(
                select(t).where(
                    t.c.user_id == user_id,
                    t.c.key == key,
                    t.c.created_at > _now() - RETENTION,
                )
            ).first()
        if row is None:
            return None
        return StoredResponse(
            fingerprint=row.fingerprint,
            status=row.status,
            body=row.body,
            headers=json.loads(row.headers),
        )

    def put(self, user_id: UUID, key: str, response: StoredResponse) -> StoredResponse:
        """Store a response unless one exists; return the one that is stored."""
        t = self.table
        try:
            with self.store.writer.begin() as conn:
                conn.execute(delete(t).where(t.c.created_at <= _now() - RETENTION))
                conn.execute(
                    t.insert().values(
                        user_id=user_id,
                        key=key,
                        fingerprint=response.fingerprint,
                        status=response.status,
                        body=response.body,
                        headers=json.dumps(response.headers),
                        created_at=_now(),
                    )
                )
        except IntegrityError:
            pass  # a concurrent request with the same key stored first
        return self.get(user_id, key) or response


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
