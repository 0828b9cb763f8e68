"""Items: the board's cards, with versions (ETag / If-Match) and idempotent retries."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from itemhub.api.deps import CurrentUser, HubDep
from itemhub.api.errors import invalid
from itemhub.api.routes.common import (
    AUTH,
    CONFLICT,
    FORBIDDEN,
    MAX_POSITION,
    NOT_FOUND,
    TEXT_PATTERN,
    UNAVAILABLE,
    VALIDATION,
    DateTime,
    only_known_query_params,
)
from itemhub.api.schemas import (
    ItemCreate,
    ItemHistoryPublic,
    ItemMove,
    ItemPublic,
    ItemsPublic,
    ItemUpdate,
    ItemVersionPublic,
)
from itemhub.api.write import VersionedWrite, Write, WriteDep, etag
from itemhub.commands import (
    ArchiveItem,
    CommandResult,
    CreateItem,
    DeleteItem,
    EditItem,
    MoveItem,
    RestoreItem,
    RevertItem,
    can_see,
)
from itemhub.projections import (
    ItemCard,
    UserCredentials,
)
from itemhub.queries import ItemFilter
from itemhub.queries.audit import as_utc
from itemhub.queries.history import ItemVersion
from itemhub.runtime import Hub

router = APIRouter(prefix="/items", tags=["items"])

JSON = "application/json"


def _known_column(hub: Hub, column: str) -> str:
    """The configured column a filter names (case-insensitive), or 422."""
    for known in hub.settings.board_columns:
        if known.casefold() == column.strip().casefold():
            return known
    raise invalid(
        "query", "column", f"must be one of {', '.join(hub.settings.board_columns)}"
    )


def _visible_card(
    hub: Hub, user: UserCredentials, item_id: UUID, after: CommandResult | None
) -> ItemCard:
    if after is None:
        card = hub.queries.read.item(item_id)
    else:
        card = hub.queries.item_after(item_id, after)
    if card is None or not can_see(user, card.owner_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
    return card


def _item_response(
    hub: Hub,
    user: UserCredentials,
    item_id: UUID,
    status_code: int = 200,
    after: CommandResult | None = None,
) -> JSONResponse:
    """The item as JSON with its ETag; ``after`` a command, as it left it."""
    card = _visible_card(hub, user, item_id, after)
    headers = {"ETag": etag(card.version)}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = f"/api/v1/items/{card.id}"
    return JSONResponse(
        ItemPublic.model_validate(card).model_dump(mode="json"),
        status_code=status_code,
        headers=headers,
    )


@router.get(
    "",
    response_model=ItemsPublic,
    responses=AUTH,
    dependencies=[
        Depends(
            only_known_query_params(
                "column", "owner_id", "q", "archived", "sort", "order", "skip", "limit"
            )
        )
    ],
)
async def read_items(
    hub: HubDep,
    user: CurrentUser,
    column: Annotated[str | None, Query(max_length=100)] = None,
    owner_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    archived: bool = False,
    sort: Literal["position", "created_at", "updated_at", "title"] = "position",
    order: Literal["asc", "desc"] = "asc",
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """List your items (superusers: everyone's), filtered, sorted and paged."""
    if column is not None:
        column = _known_column(hub, column)
    if not user.is_superuser:
        if owner_id is not None and owner_id != user.id:
            return Response(
                ItemsPublic(data=[], count=0).model_dump_json(), media_type=JSON
            )
        owner_id = user.id
    query = ItemFilter(
        column=column,
        owner_id=owner_id,
        text=q,
        archived=archived,
        sort=sort,
        descending=order == "desc",
        skip=skip,
        limit=limit,
    )
    # One thread-pool hop for the query and the JSON, as ItemsPublic serialises it
    # (response_model documents it; nothing is validated twice on the loop).
    return Response(await run_in_threadpool(_items_json, hub, query), media_type=JSON)


def _items_json(hub: Hub, query: ItemFilter) -> bytes:
    page = hub.queries.read.items(query)
    items = ItemsPublic(
        data=[ItemPublic.model_validate(c) for c in page.data], count=page.count
    )
    return items.model_dump_json().encode()


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemPublic,
    responses=AUTH | UNAVAILABLE | VALIDATION | FORBIDDEN,
)
def create_item(write: WriteDep, body: ItemCreate) -> Response:
    """Create an item (owned by you; superusers may name another owner)."""
    fields = body.model_dump()
    fields["column"] = body.column or write.hub.settings.board_columns[0]
    return write.run(
        lambda command_id: CreateItem(**fields, command_id=command_id),
        lambda result: _item_response(
            write.hub,
            write.user,
            result.aggregate_id,
            status.HTTP_201_CREATED,
            after=result,
        ),
        body,
    )


@router.get(
    "/{item_id}",
    response_model=ItemPublic | ItemVersionPublic,
    responses=AUTH | NOT_FOUND | VALIDATION,
)
def read_item(
    hub: HubDep,
    user: CurrentUser,
    item_id: UUID,
    version: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    at: DateTime | None = None,
) -> Response:
    """One item with its version as ETag; `version` or `at` read it as it was."""
    if version is None and at is None:
        return _item_response(hub, user, item_id)
    history = _history(hub, user, item_id)
    chosen = None
    for entry in history:
        if version is not None and entry.version > version:
            break
        if at is not None and entry.timestamp > as_utc(at):
            break
        chosen = entry
    if chosen is None or (version is not None and chosen.version != version):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"item {item_id} had no such version then"
        )
    return JSONResponse(
        ItemVersionPublic.model_validate(chosen).model_dump(mode="json"),
        headers={"ETag": etag(chosen.version)},
    )


@router.get(
    "/{item_id}/history",
    response_model=ItemHistoryPublic,
    responses=AUTH | NOT_FOUND,
)
def read_item_history(
    hub: HubDep, user: CurrentUser, item_id: UUID
) -> ItemHistoryPublic:
    """Every version of an item: who, when, and each field before → after."""
    return ItemHistoryPublic(
        data=[ItemVersionPublic.model_validate(v) for v in _history(hub, user, item_id)]
    )


@router.post(
    "/{item_id}/history/{version}/restore",
    response_model=ItemPublic,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE | VALIDATION,
)
def restore_item_version(
    write: VersionedWrite, item_id: UUID, version: int
) -> Response:
    """Restore an earlier version by appending a compensating event."""
    return write.run(
        lambda command_id: RevertItem(
            item_id=item_id,
            to_version=version,
            expected_version=write.expected_version,
            command_id=command_id,
        ),
        lambda result: _item_response(write.hub, write.user, item_id, after=result),
    )


def _history(hub: Hub, user: UserCredentials, item_id: UUID) -> list[ItemVersion]:
    """The item's versions, if the user may see the item (404 otherwise)."""
    history = hub.queries.item_history(item_id)
    if not history:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
    if not can_see(user, history[-1].state["owner_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")
    return history


@router.patch(
    "/{item_id}",
    response_model=ItemPublic,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE | VALIDATION,
)
def update_item(write: VersionedWrite, item_id: UUID, body: ItemUpdate) -> Response:
    """Change an item's title, description or (superusers) owner."""
    return write.run(
        lambda command_id: EditItem(
            **body.model_dump(),
            item_id=item_id,
            expected_version=write.expected_version,
            command_id=command_id,
        ),
        lambda result: _item_response(write.hub, write.user, item_id, after=result),
        body,
    )


@router.post(
    "/{item_id}/move",
    response_model=ItemPublic,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE | VALIDATION,
)
def move_item(write: VersionedWrite, item_id: UUID, body: ItemMove) -> Response:
    """Move an item to a column, at an index (0 is the top)."""
    return write.run(
        lambda command_id: MoveItem(
            item_id=item_id,
            column=body.column,
            position=body.position,
            expected_version=write.expected_version,
            command_id=command_id,
        ),
        lambda result: _item_response(write.hub, write.user, item_id, after=result),
        body,
    )


@router.post(
    "/{item_id}/archive",
    response_model=ItemPublic,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE,
)
def archive_item(write: VersionedWrite, item_id: UUID) -> Response:
    """Take an item off the board (it stays, archived)."""
    return _change_state(write, ArchiveItem, item_id)


@router.post(
    "/{item_id}/restore",
    response_model=ItemPublic,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE,
)
def restore_item(write: VersionedWrite, item_id: UUID) -> Response:
    """Bring an archived item back to the end of its column."""
    return _change_state(write, RestoreItem, item_id)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH | NOT_FOUND | CONFLICT | UNAVAILABLE,
)
def delete_item(write: VersionedWrite, item_id: UUID) -> Response:
    """Delete an item (its history stays in the audit trail)."""
    return write.run(
        lambda command_id: DeleteItem(
            item_id=item_id,
            expected_version=write.expected_version,
            command_id=command_id,
        ),
        lambda _: Response(status_code=status.HTTP_204_NO_CONTENT),
    )


def _change_state(
    write: Write, command: type[ArchiveItem] | type[RestoreItem], item_id: UUID
) -> Response:
    return write.run(
        lambda command_id: command(
            item_id=item_id,
            expected_version=write.expected_version,
            command_id=command_id,
        ),
        lambda result: _item_response(write.hub, write.user, item_id, after=result),
    )
