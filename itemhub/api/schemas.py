"""Pydantic schemas of the API's requests and responses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Liveness(BaseModel):
    """The process answers; its workers' states, without touching a database."""

    model_config = ConfigDict(extra="forbid")

    status: str
    version: str
    uptime_seconds: float
    workers: dict[str, str]


class ProjectionHealth(BaseModel):
    """One projection's position against the head of the log."""

    model_config = ConfigDict(extra="forbid")

    name: str
    state: str
    position: int
    head: int
    lag: int
    error: str | None


class ReadinessReport(BaseModel):
    """Both databases reachable and every projection running and close to the head."""

    model_config = ConfigDict(extra="forbid")

    ready: bool
    event_store: str
    read_models: str
    max_lag: int
    projections: list[ProjectionHealth]
