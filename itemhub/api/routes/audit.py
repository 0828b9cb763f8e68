"""The audit trail for superusers: filter, export, chart, time travel, tamper check."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from itemhub.api.deps import HubDep, SuperUser
from itemhub.api.errors import invalid
from itemhub.api.routes.common import (
    MAX_POSITION,
    SUPERUSER,
    TEXT_PATTERN,
    DateTime,
    only_known_query_params,
)
from itemhub.api.schemas import (
    AuditBucket,
    AuditEntryPublic,
    AuditPagePublic,
    BoardAsOfPublic,
    ChainReportPublic,
    ItemPublic,
    SecurityEntryPublic,
)
from itemhub.queries.audit import AuditFilter
from itemhub.queries.export import EXPORT_MEDIA_TYPES, export_stream
from itemhub.queries.security_log import KINDS

router = APIRouter(prefix="/audit", tags=["audit"])

FILTERS = ("actor", "action", "item", "user", "since", "until", "q", "correlation")


def audit_filter(
    actor: UUID | None = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    item: UUID | None = None,
    user: UUID | None = None,
    since: DateTime | None = None,
    until: DateTime | None = None,
    q: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    correlation: UUID | None = None,
) -> AuditFilter:
    """The filters shared by list, export and chart (an impossible range is 422)."""
    try:
        return AuditFilter(
            actor_id=actor,
            action=action,
            item_id=item,
            user_id=user,
            since=since,
            until=until,
            text=q,
            correlation_id=correlation,
        )
    except ValueError as exc:
        raise invalid("query", "since", str(exc)) from None


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get(
    "/events",
    responses=SUPERUSER,
    dependencies=[Depends(only_known_query_params(*FILTERS, "before", "limit"))],
)
def read_audit_events(
    hub: HubDep,
    _: SuperUser,
    f: Filter,
    before: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPagePublic:
    """The audit trail, newest first, filtered and paged by position."""
    paged = dataclasses.replace(f, before=before)
    page = hub.queries.audit.page(paged, limit)
    return AuditPagePublic(
        data=[AuditEntryPublic.model_validate(e) for e in page.data],
        count=hub.queries.audit.count(f),
        next_before=page.next_before,
    )


@router.get(
    "/export",
    responses=SUPERUSER | {200: {"content": {"text/csv": {}, "application/json": {}}}},
    dependencies=[Depends(only_known_query_params(*FILTERS, "format"))],
)
def export_audit_events(
    hub: HubDep,
    _: SuperUser,
    f: Filter,
    format: Literal["csv", "json"] = "csv",
) -> StreamingResponse:
    """The filtered trail as CSV or JSON, oldest first, streamed in chunks."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        export_stream(hub.queries.audit.export_rows(f), format),
        media_type=EXPORT_MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{format}"'
        },
    )


@router.get(
    "/stats",
    responses=SUPERUSER,
    dependencies=[Depends(only_known_query_params(*FILTERS, "bucket"))],
)
def read_audit_stats(
    hub: HubDep,
    _: SuperUser,
    f: Filter,
    bucket: Literal["minute", "hour", "day"] = "hour",
) -> list[AuditBucket]:
    """Events per time bucket and action (for the activity chart)."""
    return [
        AuditBucket(bucket=b, action=a, count=n)
        for b, a, n in hub.queries.audit.stats(f, bucket)
    ]


@router.get(
    "/board",
    responses=SUPERUSER,
    dependencies=[Depends(only_known_query_params("position", "at"))],
)
def read_board_as_of(
    hub: HubDep,
    _: SuperUser,
    position: Annotated[int | None, Query(ge=0, le=MAX_POSITION)] = None,
    at: DateTime | None = None,
) -> BoardAsOfPublic:
    """The whole board as it was at a position of the log or at a moment."""
    if (position is None) == (at is None):
        raise invalid("query", "position", "give exactly one of position or at")
    target = position if position is not None else hub.queries.audit.position_at(at)  # type: ignore[arg-type]
    board = hub.queries.board_as_of(target)
    return BoardAsOfPublic(
        position=board.position,
        columns={
            c: [ItemPublic.model_validate(card) for card in cards]
            for c, cards in board.columns.items()
        },
    )


@router.get(
    "/security",
    responses=SUPERUSER,
    dependencies=[Depends(only_known_query_params("kind", "before", "limit"))],
)
def read_security_log(
    hub: HubDep,
    _: SuperUser,
    kind: Literal[KINDS] | None = None,  # type: ignore[valid-type]
    before: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> list[SecurityEntryPublic]:
    """Logins, denials, throttling and revocations, newest first."""
    return [
        SecurityEntryPublic.model_validate(e)
        for e in hub.security.recent(kind=kind, before=before, limit=limit)
    ]


@router.get("/chain", responses=SUPERUSER)
def read_chain_report(hub: HubDep, _: SuperUser) -> ChainReportPublic:
    """Recompute the hash chain over the stored events; name the first broken link."""
    report = hub.queries.chain_report()
    return ChainReportPublic.model_validate(report)
