"""Query functions over the read models; each returns DTOs, never rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from sqlalchemy import Engine, Select, and_, case, func, or_, select

from itemhub.projections.board_state import card_from_row
from itemhub.projections.dto import ActivityEntry, ItemCard, UserCredentials, UserView
from itemhub.projections.users import user_from_row
from itemhub.readstore.outages import translating_outages
from itemhub.readstore.schema import ReadTables

T = TypeVar("T")
ItemSort = Literal["position", "created_at", "updated_at", "title"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemFilter:
    """Which items a list shows; ``owner_id`` also scopes standard users."""

    column: str | None = None
    owner_id: UUID | None = None
    text: str | None = None
    archived: bool | None = False
    sort: ItemSort = "position"
    descending: bool = False
    skip: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the total matching count."""

    data: Sequence[T]
    count: int


@translating_outages
class ReadModels:
    """Read-only access to the read models through one engine."""

    def __init__(self, engine: Engine, tables: ReadTables, columns: Sequence[str]):
        self.engine = engine
        self.tables = tables
        self.columns = tuple(columns)

    # --- items ----------------------------------------------------------------

    def _items_select(self) -> Select[Any]:
        """Items with their index in the column, counted per row on the board
        index (archived, column_name, rank): cheap for one item or one page,
        where a window over every visible item grew with the board."""
        t = self.tables.items
        above = t.alias("above")
        index = (
            select(func.count())
            .where(
                above.c.archived.is_(False),
                above.c.column_name == t.c.column_name,
                above.c.rank < t.c.rank,
            )
            .scalar_subquery()
        )
        position = case((t.c.archived.is_(False), index), else_=None)
        return select(t, position.label("position"))

    def item(self, item_id: UUID) -> ItemCard | None:
        """One item, or None."""
        t = self.tables.items
        with self.engine.connect() as conn:
            row = (
                conn.execute(self._items_select().where(t.c.id == item_id))
                .mappings()
                .first()
            )
        return None if row is None else card_from_row(row, row["position"])

    def items(self, f: ItemFilter) -> Page[ItemCard]:
        """A filtered, sorted page of items."""
        t = self.tables.items
        conditions = []
        if f.column is not None:
            conditions.append(t.c.column_name == f.column)
        if f.owner_id is not None:
            conditions.append(t.c.owner_id == f.owner_id)
        if f.archived is not None:
            conditions.append(t.c.archived.is_(f.archived))
        if f.text:
            pattern = f"%{_escape_like(f.text.lower())}%"
            conditions.append(
                or_(
                    func.lower(t.c.title).like(pattern, escape="\\"),
                    func.lower(t.c.description).like(pattern, escape="\\"),
                )
            )
        where = and_(True, *conditions)
        sort_columns: dict[str, Any] = {
            "position": (t.c.column_name, t.c.rank),
            "created_at": (t.c.created_at,),
            "updated_at": (t.c.updated_at,),
            "title": (func.lower(t.c.title),),
        }
        order = [c.desc() if f.descending else c.asc() for c in sort_columns[f.sort]]
        query = self._items_select().where(where).order_by(*order, t.c.id)
        with self.engine.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(t).where(where)
            ).scalar_one()
            rows = conn.execute(query.offset(f.skip).limit(f.limit)).mappings().all()
        return Page(data=[card_from_row(r, r["position"]) for r in rows], count=count)

    def board(
        self,
        owner_id: UUID | None = None,
        *,
        archived: bool = False,
        text: str | None = None,
    ) -> dict[str, list[ItemCard]]:
        """Items by column in board order (``owner_id``: only theirs)."""
        t = self.tables.items
        query = self._items_select().where(t.c.archived.is_(archived))
        if owner_id is not None:
            query = query.where(t.c.owner_id == owner_id)
        if text:
            pattern = f"%{_escape_like(text.lower())}%"
            query = query.where(
                or_(
                    func.lower(t.c.title).like(pattern, escape="\\"),
                    func.lower(t.c.description).like(pattern, escape="\\"),
                )
            )
        board: dict[str, list[ItemCard]] = {c: [] for c in self.columns}
        with self.engine.connect() as conn:
            for row in conn.execute(query.order_by(t.c.rank)).mappings():
                board.setdefault(row["column_name"], []).append(
                    card_from_row(row, row["position"])
                )
        return board

    def column_ids(self, column: str) -> list[UUID]:
        """The ids of a column's visible items, top to bottom."""
        t = self.tables.items
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(t.c.id)
                    .where(t.c.column_name == column, t.c.archived.is_(False))
                    .order_by(t.c.rank)
                ).scalars()
            )

    def column_counts(self) -> dict[str, int]:
        """How many visible items each column holds."""
        t = self.tables.items
        counts = dict.fromkeys(self.columns, 0)
        with self.engine.connect() as conn:
            for name, count in conn.execute(
                select(t.c.column_name, func.count())
                .where(t.c.archived.is_(False))
                .group_by(t.c.column_name)
            ):
                counts[name] = count
        return counts

    # --- users ----------------------------------------------------------------

    def user(self, user_id: UUID) -> UserView | None:
        """One user, or None."""
        t = self.tables.users
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == user_id)).mappings().first()
        return None if row is None else user_from_row(row)

    def users(
        self,
        *,
        text: str | None = None,
        active: bool | None = None,
        superuser: bool | None = None,
        skip: int = 0,
        limit: int = 50,
    ) -> Page[UserView]:
        """A filtered page of users, newest first."""
        t = self.tables.users
        conditions = []
        if text:
            pattern = f"%{_escape_like(text.lower())}%"
            conditions.append(
                or_(
                    func.lower(t.c.email).like(pattern, escape="\\"),
                    func.lower(t.c.full_name).like(pattern, escape="\\"),
                )
            )
        if active is not None:
            conditions.append(t.c.is_active.is_(active))
        if superuser is not None:
            conditions.append(t.c.is_superuser.is_(superuser))
        where = and_(True, *conditions)
        with self.engine.connect() as conn:
            count = conn.execute(
                select(func.count()).select_from(t).where(where)
            ).scalar_one()
            rows = conn.execute(
                select(t)
                .where(where)
                .order_by(t.c.created_at.desc(), t.c.id)
                .offset(skip)
                .limit(limit)
            ).mappings()
            return Page(data=[user_from_row(r) for r in rows], count=count)

    def credentials_by_email(self, email: str) -> UserCredentials | None:
        """What login needs for an address (normalised by the caller)."""
        return self._credentials(self.tables.users.c.email == email.strip().lower())

    def credentials(self, user_id: UUID) -> UserCredentials | None:
        """What token checks need for a user id."""
        return self._credentials(self.tables.users.c.id == user_id)

    def _credentials(self, condition: Any) -> UserCredentials | None:
        t = self.tables.users
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(condition)).mappings().first()
        if row is None:
            return None
        return UserCredentials(
            id=row["id"],
            email=row["email"],
            password_hash=row["password_hash"],
            is_active=row["is_active"],
            is_superuser=row["is_superuser"],
            token_version=row["token_version"],
        )

    # --- activity -------------------------------------------------------------

    def activity_since(
        self, after: int, *, owner_id: UUID | None = None, limit: int = 500
    ) -> list[ActivityEntry]:
        """Oldest-first entries after a position (``owner_id``: their items only).

        An owner's items are those they own now (or owned when deleted): the
        past of an item given to someone else is for superusers only.
        """
        t = self.tables.activity
        query = select(t).where(t.c.position > after)
        if owner_id is not None:
            newer = t.alias("newer")
            owner_now = (
                select(newer.c.owner_id)
                .where(newer.c.target_id == t.c.target_id)
                .order_by(newer.c.position.desc())
                .limit(1)
                .scalar_subquery()
            )
            query = query.where(
                t.c.owner_id == owner_id,
                t.c.target_type == "item",
                owner_now == owner_id,
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.position).limit(limit)).mappings()
            return [ActivityEntry(**r) for r in rows]

    def activity_position(self) -> int:
        """The newest position in the activity read model (0 when empty)."""
        t = self.tables.activity
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(t.c.position))).scalar() or 0)

    def activity(
        self,
        *,
        before: int | None = None,
        target_id: UUID | None = None,
        limit: int = 50,
    ) -> list[ActivityEntry]:
        """Newest-first audit entries, paged by position."""
        t = self.tables.activity
        query = select(t).order_by(t.c.position.desc()).limit(limit)
        if before is not None:
            query = query.where(t.c.position < before)
        if target_id is not None:
            query = query.where(t.c.target_id == target_id)
        with self.engine.connect() as conn:
            return [ActivityEntry(**r) for r in conn.execute(query).mappings()]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
