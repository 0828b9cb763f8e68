"""Users: administration by superusers, and one's own account."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response

from itemhub.api.deps import (
    CurrentUser,
    HubDep,
    SuperUser,
    client_ip,
)
from itemhub.api.routes.common import (
    AUTH,
    CONFLICT,
    NOT_FOUND,
    SUPERUSER,
    TEXT_PATTERN,
    UNAVAILABLE,
    VALIDATION,
    only_known_query_params,
)
from itemhub.api.schemas import (
    Message,
    UpdatePassword,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
    UserUpdateMe,
)
from itemhub.api.write import WriteDep
from itemhub.commands import (
    ChangePassword,
    CommandResult,
    DeactivateUser,
    ReactivateUser,
    RegisterUser,
    UpdateUser,
)
from itemhub.runtime import Hub

router = APIRouter(prefix="/users", tags=["users"])

TOO_MANY_ATTEMPTS: dict[int | str, dict[str, Any]] = {
    429: {"model": Message, "description": "Too many wrong passwords or addresses"}
}


def _user_response(hub: Hub, user_id: UUID, status_code: int = 200) -> JSONResponse:
    view = hub.queries.read.user(user_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} not found")
    return JSONResponse(
        UserPublic.model_validate(view).model_dump(mode="json"), status_code=status_code
    )


@router.get(
    "",
    response_model=UsersPublic,
    responses=SUPERUSER,
    dependencies=[
        Depends(only_known_query_params("q", "active", "superuser", "skip", "limit"))
    ],
)
def read_users(
    hub: HubDep,
    _: SuperUser,
    q: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    active: bool | None = None,
    superuser: bool | None = None,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UsersPublic:
    """List users, newest first (superusers only)."""
    page = hub.queries.read.users(
        text=q, active=active, superuser=superuser, skip=skip, limit=limit
    )
    return UsersPublic(
        data=[UserPublic.model_validate(u) for u in page.data], count=page.count
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=SUPERUSER | CONFLICT | UNAVAILABLE | VALIDATION,
)
def create_user(_: SuperUser, write: WriteDep, body: UserCreate) -> Response:
    """Create a user (superusers only)."""
    return write.run(
        lambda command_id: RegisterUser(
            email=body.email,
            password=body.password,
            full_name=body.full_name,
            is_superuser=body.is_superuser,
            command_id=command_id,
        ),
        lambda result: _user_response(
            write.hub, result.aggregate_id, status.HTTP_201_CREATED
        ),
        body,
    )


@router.get("/me", response_model=UserPublic, responses=AUTH)
def read_user_me(hub: HubDep, user: CurrentUser) -> Response:
    """Your own account."""
    return _user_response(hub, user.id)


@router.patch(
    "/me",
    response_model=UserPublic,
    responses=AUTH | CONFLICT | UNAVAILABLE | VALIDATION | TOO_MANY_ATTEMPTS,
)
def update_user_me(write: WriteDep, body: UserUpdateMe) -> Response:
    """Change your own e-mail or name; refused addresses are throttled like logins."""
    user, ip = write.user, client_ip(write.request)
    return write.run(
        lambda command_id: UpdateUser(
            user_id=user.id,
            email=body.email,
            full_name=body.full_name,
            command_id=command_id,
        ),
        lambda _: _user_response(write.hub, user.id),
        body,
        through=lambda send: write.hub.auth.change_own_email(
            user, body.email, ip, send
        ),
    )


@router.patch(
    "/me/password",
    response_model=Message,
    responses=AUTH | UNAVAILABLE | VALIDATION | TOO_MANY_ATTEMPTS,
)
def update_password_me(write: WriteDep, body: UpdatePassword) -> Response:
    """Change your password (throttled like logins); your tokens and sessions end."""
    user, ip = write.user, client_ip(write.request)

    def respond(_: CommandResult) -> Response:
        write.hub.security.record(
            "token_revoked",
            channel="api",
            ip=ip,
            user_agent=write.request.headers.get("user-agent", ""),
            email=user.email,
            user_id=user.id,
            detail="password changed",
        )
        return JSONResponse({"detail": "Password updated; log in again"})

    return write.run(
        lambda command_id: ChangePassword(
            user_id=user.id,
            current_password=body.current_password,
            new_password=body.new_password,
            command_id=command_id,
        ),
        respond,
        body,
        through=lambda send: write.hub.auth.change_password(user, ip, send),
    )


def _self_or_superuser(user_id: UUID, user: CurrentUser) -> None:
    # 403 before 404: a standard user learns nothing about other ids.
    if user.id != user_id and not user.is_superuser:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "You may only see your own account"
        )


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    responses=SUPERUSER | NOT_FOUND,
)
def read_user(hub: HubDep, user_id: UUID, user: CurrentUser) -> Response:
    """A user (yourself, or anyone for superusers)."""
    _self_or_superuser(user_id, user)
    return _user_response(hub, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    responses=SUPERUSER
    | NOT_FOUND
    | CONFLICT
    | UNAVAILABLE
    | VALIDATION
    | TOO_MANY_ATTEMPTS,
)
def update_user(user_id: UUID, write: WriteDep, body: UserUpdate) -> Response:
    """Change a user; password, roles and state only by superusers."""
    user, ip = write.user, client_ip(write.request)
    _self_or_superuser(user_id, user)
    return write.run(
        lambda command_id: UpdateUser(
            user_id=user_id,
            email=body.email,
            full_name=body.full_name,
            password=body.password,
            is_superuser=body.is_superuser,
            is_active=body.is_active,
            command_id=command_id,
        ),
        lambda _: _user_response(write.hub, user_id),
        body,
        # A standard user gets here only for their own account, as on /me.
        through=lambda send: write.hub.auth.change_own_email(
            user, body.email, ip, send
        ),
    )


@router.post(
    "/{user_id}/deactivate",
    response_model=UserPublic,
    responses=SUPERUSER | NOT_FOUND | CONFLICT | UNAVAILABLE,
)
def deactivate_user(user_id: UUID, _: SuperUser, write: WriteDep) -> Response:
    """Deactivate a user: they can no longer log in, their tokens end."""
    return write.run(
        lambda command_id: DeactivateUser(user_id=user_id, command_id=command_id),
        lambda _: _user_response(write.hub, user_id),
    )


@router.post(
    "/{user_id}/reactivate",
    response_model=UserPublic,
    responses=SUPERUSER | NOT_FOUND | CONFLICT | UNAVAILABLE,
)
def reactivate_user(user_id: UUID, _: SuperUser, write: WriteDep) -> Response:
    """Let a deactivated user log in again."""
    return write.run(
        lambda command_id: ReactivateUser(user_id=user_id, command_id=command_id),
        lambda _: _user_response(write.hub, user_id),
    )
