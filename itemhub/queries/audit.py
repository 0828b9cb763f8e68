"""The audit trail: filtered, paged, exported and counted, from the activity model."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import (
    Engine,
    Select,
    String,
    Uuid,
    and_,
    cast,
    func,
    or_,
    select,
    type_coerce,
)

from itemhub.projections.activity import ACTIONS
from itemhub.projections.dto import ActivityEntry
from itemhub.readstore.outages import translating_outages
from itemhub.readstore.schema import ReadTables, UTCDateTime

EXPORT_CHUNK = 5000
EXPORT_FIELDS = tuple(f.name for f in dataclasses.fields(ActivityEntry))
Bucket = Literal["minute", "hour", "day"]


FILTER_PARAMS = ("actor", "action", "item", "user", "since", "until", "q")
"""The URL parameters the audit page filters by."""


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A naive time read as UTC (aware times are kept)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditFilter:
    """Which events the trail shows; every field narrows it."""

    actor_id: UUID | None = None
    action: str | None = None
    item_id: UUID | None = None
    user_id: UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    text: str | None = None
    owner_id: UUID | None = None
    correlation_id: UUID | None = None
    after: int | None = None
    before: int | None = None

    def __post_init__(self) -> None:
        # Naive times are UTC: normalise so they compare with aware ones.
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, as_utc(moment))
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        if (
            self.after is not None
            and self.before is not None
            and self.after >= self.before
        ):
            raise ValueError("after must be below before")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> AuditFilter:
        """A filter from URL parameters; raises ValueError saying what is wrong."""
        unknown = sorted(set(params) - set(FILTER_PARAMS))
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(unknown)}")

        def uuid(name: str) -> UUID | None:
            value = params.get(name) or None
            try:
                return UUID(value) if value else None
            except ValueError:
                raise ValueError(f"{name} must be an id") from None

        def moment(name: str) -> dt.datetime | None:
            value = params.get(name) or None
            try:
                return dt.datetime.fromisoformat(value) if value else None
            except ValueError:
                raise ValueError(f"{name} must be an ISO date or time") from None

        action = params.get("action") or None
        if action is not None and action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        return cls(
            actor_id=uuid("actor"),
            action=action,
            item_id=uuid("item"),
            user_id=uuid("user"),
            since=moment("since"),
            until=moment("until"),
            text=params.get("q") or None,
        )

    def matches(self, entry: ActivityEntry) -> bool:
        """Whether a live entry passes (the same rules as the query, in Python)."""
        occurred = entry.occurred_at
        text = f"{entry.summary}\n{entry.target_label}\n{entry.actor_name}".lower()
        checks = [
            self.actor_id is None or entry.actor_id == self.actor_id,
            self.action is None or entry.action == self.action,
            self.item_id is None
            or (entry.target_type == "item" and entry.target_id == self.item_id),
            self.user_id is None
            or (entry.target_type == "user" and entry.target_id == self.user_id),
            self.since is None or occurred >= self.since,
            self.until is None or occurred <= self.until,
            not self.text or self.text.lower() in text,
        ]
        return all(checks)


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Newest-first entries and the cursor for the next (older) page."""

    data: list[ActivityEntry]
    next_before: int | None


@translating_outages
class AuditLog:
    """Queries over the activity read model."""

    def __init__(self, engine: Engine, tables: ReadTables) -> None:
        self.engine = engine
        self.t = tables.activity

    def _where(self, f: AuditFilter) -> Any:
        t = self.t
        conditions = []
        if f.actor_id is not None:
            conditions.append(t.c.actor_id == f.actor_id)
        if f.action:
            conditions.append(t.c.action == f.action)
        if f.item_id is not None:
            conditions += [t.c.target_type == "item", t.c.target_id == f.item_id]
        if f.user_id is not None:
            conditions += [t.c.target_type == "user", t.c.target_id == f.user_id]
        if f.since is not None:
            conditions.append(t.c.occurred_at >= f.since)
        if f.until is not None:
            conditions.append(t.c.occurred_at <= f.until)
        if f.owner_id is not None:
            conditions += [t.c.target_type == "item", t.c.owner_id == f.owner_id]
        if f.correlation_id is not None:
            conditions.append(t.c.correlation_id == f.correlation_id)
        if f.after is not None:
            conditions.append(t.c.position > f.after)
        if f.before is not None:
            conditions.append(t.c.position < f.before)
        if f.text:
            pattern = (
                "%"
                + f.text.lower()
                .replace("\\", "\\\\")
                .replace("%", "\\%")
                .replace("_", "\\_")
                + "%"
            )
            conditions.append(
                or_(
                    func.lower(t.c.summary).like(pattern, escape="\\"),
                    func.lower(t.c.target_label).like(pattern, escape="\\"),
                    func.lower(t.c.actor_name).like(pattern, escape="\\"),
                )
            )
        return and_(True, *conditions)

    def page(self, f: AuditFilter, limit: int = 50) -> AuditPage:
        """One page, newest first; pass ``next_before`` as ``before`` for the next."""
        query = select(self.t).where(self._where(f)).order_by(self.t.c.position.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit + 1)).mappings().all()
        entries = [ActivityEntry(**r) for r in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(
            data=entries, next_before=entries[-1].position if more else None
        )

    def count(self, f: AuditFilter) -> int:
        """How many entries match."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(self.t).where(self._where(f))
                ).scalar_one()
            )

    def iterate(
        self, f: AuditFilter, chunk: int = EXPORT_CHUNK
    ) -> Iterator[ActivityEntry]:
        """Every matching entry, oldest first, fetched in chunks (for exports)."""
        after = f.after
        while True:
            query: Select[Any] = (
                select(self.t).where(self._where(f)).order_by(self.t.c.position)
            )
            if after is not None:
                query = query.where(self.t.c.position > after)
            with self.engine.connect() as conn:
                rows = conn.execute(query.limit(chunk)).mappings().all()
            for row in rows:
                yield ActivityEntry(**row)
            if len(rows) < chunk:
                return
            after = rows[-1]["position"]

    def export_rows(
        self, f: AuditFilter, chunk: int = EXPORT_CHUNK
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Every matching entry, oldest first, in chunks of plain tuples in
        ``EXPORT_FIELDS`` order, with ids and times already as exports write
        them (text; times as ISO 8601 UTC with a "Z")."""
        # Building typed entries (a UUID object per id, an aware datetime per
        # time) and formatting them back to text cost most of an export's time
        # on SQLite, where both are stored as text already: take that text.
        on_sqlite = self.engine.dialect.name == "sqlite"
        columns: list[Any] = []
        converters: list[tuple[int, Callable[[Any], str]]] = []
        for i, name in enumerate(EXPORT_FIELDS):
            column: Any = self.t.c[name]
            if isinstance(column.type, Uuid) and on_sqlite:
                converters.append((i, _hyphenated))
                column = type_coerce(column, String)
            elif isinstance(column.type, Uuid):
                # PostgreSQL's text form of a uuid is str(UUID)'s.
                column = cast(column, String)
            elif isinstance(column.type, UTCDateTime) and on_sqlite:
                converters.append((i, _sqlite_time))
                column = type_coerce(column, String)
            elif isinstance(column.type, UTCDateTime):
                converters.append((i, iso_utc))
            columns.append(column)
        position = self.t.c.position
        at = EXPORT_FIELDS.index("position")
        after = f.after
        while True:
            query = select(*columns).where(self._where(f)).order_by(position)
            if after is not None:
                query = query.where(position > after)
            with self.engine.connect() as conn:
                rows = conn.execute(query.limit(chunk)).all()
            if not rows:
                return
            # Column by column: one map() per converted column, not a Python
            # call per row.
            values = list(zip(*rows, strict=True))
            for i, convert in converters:
                values[i] = tuple(map(convert, values[i]))
            yield list(zip(*values, strict=True))
            if len(rows) < chunk:
                return
            after = rows[-1][at]

    def stats(
        self, f: AuditFilter, bucket: Bucket = "hour"
    ) -> list[tuple[str, str, int]]:
        """(time bucket, action, count) over the matching entries."""
        width = {"minute": 16, "hour": 13, "day": 10}[bucket]
        counts: dict[tuple[str, str], int] = {}
        for entry in self.iterate(f):
            key = (entry.occurred_at.isoformat()[:width], entry.action)
            counts[key] = counts.get(key, 0) + 1
        return [(b, a, n) for (b, a), n in sorted(counts.items())]

    def position_at(self, moment: dt.datetime) -> int:
        """The last position whose event happened at or before ``moment``."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.max(self.t.c.position)).where(
                    self.t.c.occurred_at <= moment
                )
            ).scalar()
        return int(found or 0)

    def neighbour(self, position: int, *, later: bool) -> int | None:
        """The next (``later``) or previous position that has an entry."""
        column = self.t.c.position
        query = (
            select(func.min(column)).where(column > position)
            if later
            else select(func.max(column)).where(column < position)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def head(self) -> int:
        """The newest position in the trail."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(self.t.c.position))).scalar() or 0)


def iso_utc(moment: dt.datetime) -> str:
    """A time as exports (and the API's JSON) write it: ISO 8601, UTC, a "Z"."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _hyphenated(hex_: str) -> str:
    # SQLAlchemy stores a UUID on SQLite as 32 lowercase hex digits.
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def _sqlite_time(text: str) -> str:
    # SQLAlchemy stores times on SQLite as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC
    # here, see UTCDateTime); isoformat() leaves out a zero fraction.
    if text.endswith(".000000"):
        text = text[:-7]
    return f"{text[:10]}T{text[11:]}Z"
