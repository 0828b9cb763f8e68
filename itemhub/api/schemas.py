"""Pydantic schemas of the API's requests and responses."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[StrictStr, Field(max_length=254, pattern=EMAIL_PATTERN)]
Password = Annotated[StrictStr, Field(min_length=8, max_length=128)]
Title = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Description = Annotated[StrictStr, Field(max_length=10_000)]
FullName = Annotated[StrictStr, Field(max_length=120)]
Column = Annotated[StrictStr, Field(min_length=1, max_length=100)]
Position = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class Public(BaseModel):
    """Base of responses: built straight from the read side's DTOs by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Request(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Message(BaseModel):
    """A plain answer or error."""

    detail: str


class ConflictMessage(BaseModel):
    """A conflict; for a stale version also who changed it and the current one."""

    detail: str
    current_version: int | None = None
    changed_by: str | None = None


class ServerError(BaseModel):
    """An unexpected failure; quote the request id when reporting it."""

    detail: str
    request_id: str


# --- auth --------------------------------------------------------------------


class Token(BaseModel):
    """An access token for the Authorization header."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


# --- users -------------------------------------------------------------------


class UserCreate(Request):
    """A new user."""

    email: Email
    password: Password
    full_name: FullName = ""
    is_superuser: StrictBool = False


class UserUpdate(Request):
    """Changes to a user; password, is_superuser and is_active need a superuser."""

    email: Email | None = None
    full_name: FullName | None = None
    password: Password | None = None
    is_superuser: StrictBool | None = None
    is_active: StrictBool | None = None


class UserUpdateMe(Request):
    """Changes to one's own profile."""

    email: Email | None = None
    full_name: FullName | None = None


class UpdatePassword(Request):
    """A new password, confirmed by the current one."""

    current_password: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    new_password: Password


class UserPublic(Public):
    """A user as the API shows it."""

    id: UUID
    email: str
    full_name: str
    is_superuser: bool
    is_active: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class UsersPublic(BaseModel):
    """A page of users and the total count."""

    data: list[UserPublic]
    count: int


# --- items -------------------------------------------------------------------


class ItemCreate(Request):
    """A new item; without a column it goes to the first, without a position last."""

    title: Title
    description: Description = ""
    # Omitted: the first column. An explicit null stays an error (not nullable),
    # so the default cannot be in the type.
    column: Column = Field(  # type: ignore[assignment]
        default=None, description="Defaults to the first column"
    )
    position: Position | None = None
    owner_id: UUID | None = None


class ItemUpdate(Request):
    """Changes to an item; a new owner needs a superuser."""

    title: Title | None = None
    description: Description | None = None
    owner_id: UUID | None = None


class ItemMove(Request):
    """Where an item goes: a column and an index in it (0 is the top)."""

    column: Column
    position: Position


class ItemPublic(Public):
    """An item as the API shows it; ``version`` is also its ETag."""

    id: UUID
    title: str
    description: str
    column: str
    position: int | None
    owner_id: UUID
    owner_name: str
    archived: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    changed_by_id: UUID
    changed_by: str = Field(
        validation_alias=AliasChoices("changed_by", "changed_by_name")
    )


class ItemsPublic(BaseModel):
    """A page of items and the total count."""

    data: list[ItemPublic]
    count: int


# --- health ------------------------------------------------------------------


class Liveness(BaseModel):
    """The process answers; its workers' states, without touching a database."""

    status: str
    version: str
    uptime_seconds: float
    workers: dict[str, str]


class ProjectionHealth(BaseModel):
    """One projection's position against the head of the log."""

    name: str
    state: str
    position: int
    head: int
    lag: int
    error: str | None


class ReadinessReport(BaseModel):
    """Both databases reachable and every projection running and close to the head."""

    ready: bool
    event_store: str
    read_models: str
    max_lag: int
    projections: list[ProjectionHealth]


class ProjectionState(BaseModel):
    """One projection's name and state, without positions or errors."""

    name: str
    state: str


class ReadinessSummary(BaseModel):
    """Ready or not, and each projection's state: what anyone may see."""

    ready: bool
    projections: list[ProjectionState]


# --- audit and history -------------------------------------------------------


class AuditEntryPublic(Public):
    """One event of the audit trail."""

    position: int
    occurred_at: dt.datetime
    actor_id: UUID
    actor_name: str
    channel: str
    action: str
    target_type: str
    target_id: UUID
    target_label: str
    summary: str
    details: dict[str, Any]
    owner_id: UUID
    version: int
    correlation_id: UUID
    command_id: UUID

    @field_validator("details", mode="before")
    @classmethod
    def _parse_details(cls, value: Any) -> Any:
        # The read model keeps the details as JSON text.
        return json.loads(value) if isinstance(value, str) else value


class AuditPagePublic(BaseModel):
    """Newest-first entries; pass ``next_before`` as ``before`` for older ones."""

    data: list[AuditEntryPublic]
    count: int
    next_before: int | None


class AuditBucket(BaseModel):
    """How many events of one action happened in one time bucket."""

    bucket: str
    action: str
    count: int


class SecurityEntryPublic(Public):
    """A login, denial, throttling or revocation."""

    id: int
    occurred_at: dt.datetime
    kind: str
    user_id: UUID | None
    email: str
    ip: str
    user_agent: str
    channel: str
    detail: str


class ChainReportPublic(Public):
    """Whether the stored events still match the hash chain."""

    intact: bool
    checked: int
    first_broken: int | None
    reason: str | None


class FieldChangePublic(Public):
    """A field's value before and after a version."""

    field: str
    before: Any
    after: Any


class ItemVersionPublic(Public):
    """One version of an item, read from the event log."""

    item_id: UUID
    version: int
    timestamp: dt.datetime
    action: str
    actor_id: UUID
    actor_name: str
    channel: str
    correlation_id: UUID
    changes: list[FieldChangePublic]
    title: str = Field(validation_alias=AliasPath("state", "title"))
    description: str = Field(validation_alias=AliasPath("state", "description"))
    column: str = Field(validation_alias=AliasPath("state", "column"))
    position: int | None = Field(validation_alias=AliasPath("state", "position"))
    owner_id: UUID = Field(validation_alias=AliasPath("state", "owner_id"))
    archived: bool = Field(validation_alias=AliasPath("state", "archived"))
    deleted: bool = Field(validation_alias=AliasPath("state", "deleted"))


class ItemHistoryPublic(BaseModel):
    """Every version of an item, oldest first."""

    data: list[ItemVersionPublic]


class BoardAsOfPublic(BaseModel):
    """The board as it was at a past position of the log (read-only)."""

    position: int
    columns: dict[str, list[ItemPublic]]
