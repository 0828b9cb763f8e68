"""The plain CRUD app ItemHub is measured against: what a user would write instead.

    .venv/bin/python -m bench.crud_app --database-url URL --secret S --port 8124

FastAPI and SQLAlchemy, one ``items`` row per item, a session per request (the
full-stack template's ``SessionDep``), the same JWT check (ItemHub's own
``TokenService``: HS256, audience, required claims), then the user's row
loaded and checked (active, token version) as the template does on every
request, and ItemHub's own pydantic models for bodies and answers. Not
handicapped: a pooled engine sized like ItemHub's reader, no ORM identity-map
tricks either way, the same uvicorn settings as ``bench.api_server``.

``POST /api/v1/items`` inserts a row at the end of its column (the next
position in one statement) and answers 201 with the item; ``GET
/api/v1/items?limit=50`` answers the caller's items and their count, as
ItemHub does for a standard user.
"""

# No "from __future__ import annotations": FastAPI resolves the dependency
# aliases below, which live inside build(), from real annotation objects.
import argparse
import datetime as dt
import sys
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Header, HTTPException, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from bench.server import serve
from itemhub.api.schemas import ItemCreate, ItemPublic, ItemsPublic
from itemhub.api.tokens import InvalidToken, TokenService

FIRST_COLUMN = "Backlog"
POOL_SIZE = 12  # ItemHub's READ_POOL_SIZE

metadata = MetaData()
users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("full_name", String(120), nullable=False),
    Column("hashed_password", String(200), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("is_superuser", Boolean, nullable=False),
    Column("token_version", Integer, nullable=False),
)
items = Table(
    "items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("column_name", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    Column("owner_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def create_schema(engine: Engine) -> None:
    """The two tables, and the index a board query wants."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS ix_items_owner "
            "ON items (owner_id, archived, column_name, position)"
        )


def add_user(engine: Engine, email: str) -> UUID:
    """A standard user (the password is never checked: tokens are minted)."""
    user_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(users).values(
                id=str(user_id),
                email=email,
                full_name=email.split("@")[0].title(),
                hashed_password="unused",
                is_active=True,
                is_superuser=False,
                token_version=0,
            )
        )
    return user_id


def build(database_url: str, secret: str) -> FastAPI:
    """The CRUD app on one database."""
    engine = create_engine(
        database_url, pool_size=POOL_SIZE, max_overflow=0, pool_pre_ping=True
    )
    tokens = TokenService(secret, dt.timedelta(hours=8))
    app = FastAPI(title="CRUD baseline")

    def session() -> Iterator[Session]:
        with Session(engine) as s:
            yield s

    SessionDep = Annotated[Session, Depends(session)]

    def current_user(
        db: SessionDep, authorization: Annotated[str, Header()] = ""
    ) -> Any:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
        try:
            claims = tokens.decode(token)
        except InvalidToken:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid token") from None
        user = db.execute(
            select(users).where(users.c.id == str(claims.user_id))
        ).first()
        if (
            user is None
            or not user.is_active
            or user.token_version != claims.token_version
        ):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid token")
        return user

    UserDep = Annotated[Any, Depends(current_user)]

    def public(row: Any, owner_name: str) -> ItemPublic:
        return ItemPublic(
            id=UUID(row.id),
            title=row.title,
            description=row.description,
            column=row.column_name,
            position=row.position,
            owner_id=UUID(row.owner_id),
            owner_name=owner_name,
            archived=row.archived,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            changed_by_id=UUID(row.owner_id),
            changed_by=owner_name,
        )

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/items", status_code=status.HTTP_201_CREATED)
    def create_item(db: SessionDep, user: UserDep, body: ItemCreate) -> JSONResponse:
        column = body.column or FIRST_COLUMN
        now = dt.datetime.now(dt.UTC)
        next_position = (
            select(func.coalesce(func.max(items.c.position) + 1, 0))
            .where(items.c.owner_id == user.id, items.c.column_name == column)
            .scalar_subquery()
        )
        row = db.execute(
            insert(items)
            .values(
                id=str(uuid.uuid4()),
                title=body.title,
                description=body.description,
                column_name=column,
                position=next_position,
                owner_id=user.id,
                archived=False,
                version=1,
                created_at=now,
                updated_at=now,
            )
            .returning(*items.c)
        ).one()
        db.commit()
        item = public(row, user.full_name)
        return JSONResponse(
            item.model_dump(mode="json"),
            status_code=status.HTTP_201_CREATED,
            headers={
                "ETag": f'"{item.version}"',
                "Location": f"/api/v1/items/{row.id}",
            },
        )

    @app.get("/api/v1/items")
    def list_items(
        db: SessionDep,
        user: UserDep,
        skip: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 100,
    ) -> ItemsPublic:
        mine = (items.c.owner_id == user.id) & (items.c.archived.is_(False))
        count = db.execute(select(func.count()).where(mine)).scalar_one()
        rows = db.execute(
            select(items)
            .where(mine)
            .order_by(items.c.column_name, items.c.position)
            .offset(skip)
            .limit(limit)
        ).all()
        return ItemsPublic(data=[public(r, user.full_name) for r in rows], count=count)

    return app


def main() -> int:
    """Serve the CRUD app with the same uvicorn settings as ``bench.api_server``."""
    parser = argparse.ArgumentParser(prog="python -m bench.crud_app")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build(args.database_url, args.secret)
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
