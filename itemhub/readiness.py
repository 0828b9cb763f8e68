"""Readiness: whether this instance can serve (both databases, every projection)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from itemhub.projections import ProjectionStatus

if TYPE_CHECKING:
    from itemhub.runtime import Hub

# A projection serves when it runs here or another instance runs it for us.
LIVE_STATES = frozenset({"running", "standby"})


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether this instance can serve: both databases and every projection."""

    event_store: str
    read_models: str
    projections: list[ProjectionStatus]
    max_lag: int

    @property
    def ready(self) -> bool:
        """True when everything answers, every worker runs and none lags too far."""
        return (
            self.event_store == "ok"
            and self.read_models == "ok"
            and all(
                p.state in LIVE_STATES and p.lag <= self.max_lag
                for p in self.projections
            )
        )


def check_readiness(hub: Hub) -> Readiness:
    """Ping both databases and report each projection's lag."""
    event_store = read_models = "ok"
    try:
        hub.head()
    except Exception as exc:
        event_store = f"error: {type(exc).__name__}"
    try:
        hub.store.ping()
    except Exception as exc:
        read_models = f"error: {type(exc).__name__}"
    projections = hub.read_side.status() if event_store == "ok" else []
    return Readiness(
        event_store=event_store,
        read_models=read_models,
        projections=projections,
        max_lag=hub.settings.ready_max_lag,
    )
