"""Logging in and out."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from itemhub.api.deps import (
    CommandContext,
    CurrentUser,
    HubDep,
    TokensDep,
    client_ip,
)
from itemhub.api.routes.common import AUTH, UNAVAILABLE
from itemhub.api.schemas import Message, Token, UserPublic
from itemhub.auth import AccountDeactivated, LoginFailed, LoginThrottled
from itemhub.commands import LogOutEverywhere

router = APIRouter(tags=["login"])


@router.post(
    "/login/access-token",
    responses={
        401: {"model": Message, "description": "Incorrect e-mail or password"},
        403: {"model": Message, "description": "Account deactivated"},
        429: {"model": Message, "description": "Too many failed logins"},
    },
)
def login_access_token(
    request: Request,
    hub: HubDep,
    tokens: TokensDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchange e-mail (as `username`) and password for an access token."""
    ip, agent = client_ip(request), request.headers.get("user-agent", "")
    email = form.username.strip().lower()

    def record(kind: str, detail: str = "", user_id: UUID | None = None) -> None:
        hub.security.record(
            kind,
            channel="api",
            ip=ip,
            user_agent=agent,
            email=email,
            user_id=user_id,
            detail=detail,
        )

    try:
        user = hub.auth.login(form.username, form.password, ip)
    except LoginThrottled as exc:
        record("login_throttled", f"retry after {exc.retry_after}s")
        raise
    except LoginFailed:
        record("login_failed", "unknown e-mail or wrong password")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect e-mail or password",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    except AccountDeactivated:
        record("login_failed", "account deactivated")
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "This account is deactivated"
        ) from None
    record("login_succeeded", user_id=user.id)
    return Token(
        access_token=tokens.issue(user),
        expires_in=int(tokens.lifetime.total_seconds()),
    )


@router.post("/login/test-token", responses=AUTH)
def test_token(hub: HubDep, user: CurrentUser) -> UserPublic:
    """Check a token: answers the user it belongs to."""
    view = hub.queries.read.user(user.id)
    if view is None:  # the token checked out against the same read model
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Token is no longer valid")
    return UserPublic.model_validate(view)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH | UNAVAILABLE
)
def logout(
    request: Request, hub: HubDep, user: CurrentUser, ctx: CommandContext
) -> Response:
    """Log out everywhere: every token and UI session of this user ends now."""
    hub.commands.send(LogOutEverywhere(user_id=user.id), ctx)
    hub.security.record(
        "token_revoked",
        channel="api",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        email=user.email,
        user_id=user.id,
        detail="logged out everywhere",
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
