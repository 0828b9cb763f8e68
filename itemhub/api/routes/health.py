"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from itemhub import __version__
from itemhub.api.deps import HubDep, OptionalSuperUser
from itemhub.api.schemas import (
    Liveness,
    ProjectionHealth,
    ProjectionState,
    ReadinessReport,
    ReadinessSummary,
)

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
async def read_liveness(hub: HubDep) -> Liveness:
    """Liveness: the process and its event loop answer."""
    return Liveness(
        status="ok",
        version=__version__,
        uptime_seconds=round(hub.uptime, 3),
        workers=hub.queries.worker_states(),
    )


@router.get(
    "/ready",
    responses={
        503: {"model": ReadinessReport | ReadinessSummary, "description": "Not ready"}
    },
    # {}: the token is optional (without one, the summary) for OpenAPI clients.
    openapi_extra={"security": [{}]},
)
def read_readiness(
    hub: HubDep, superuser: OptionalSuperUser, response: Response
) -> ReadinessReport | ReadinessSummary:
    """Readiness: databases reachable, projections caught up (detail: superusers)."""
    readiness = hub.queries.readiness()
    if not readiness.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    if superuser is None:
        return ReadinessSummary(
            ready=readiness.ready,
            projections=[
                ProjectionState(name=p.name, state=p.state)
                for p in readiness.projections
            ],
        )
    return ReadinessReport(
        ready=readiness.ready,
        event_store=readiness.event_store,
        read_models=readiness.read_models,
        max_lag=readiness.max_lag,
        projections=[
            ProjectionHealth(
                name=p.name,
                state=p.state,
                position=p.position,
                head=p.head,
                lag=p.lag,
                error=p.error,
            )
            for p in readiness.projections
        ],
    )
