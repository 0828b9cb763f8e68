"""Dependencies shared by the API routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from itemhub.api.tokens import InvalidToken, TokenClaims, TokenService
from itemhub.commands import Channel, Context, StoreUnavailable
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub, checked_session

bearer = HTTPBearer(auto_error=False, description="An access token from /login")


async def get_hub(request: Request) -> Hub:
    """The runtime this app was built with."""
    hub: Hub = request.app.state.hub
    return hub


async def get_tokens(request: Request) -> TokenService:
    """The token service of this app."""
    tokens: TokenService = request.app.state.tokens
    return tokens


HubDep = Annotated[Hub, Depends(get_hub)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]


def unauthorized(detail: str) -> HTTPException:
    """401 with the challenge clients expect."""
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def token_claims(
    tokens: TokensDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TokenClaims:
    """What a well-formed, validly signed, unexpired bearer token says."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized("Not authenticated")
    try:
        return tokens.decode(credentials.credentials)
    except InvalidToken:
        raise unauthorized("Could not validate credentials") from None


Claims = Annotated[TokenClaims, Depends(token_claims)]


async def current_user(hub: HubDep, claims: Claims) -> UserCredentials:
    """The user of a valid bearer token whose version still matches."""
    user = await checked_session(
        hub, claims.user_id, claims.token_version, run_in_threadpool
    )
    if user is None:
        raise unauthorized("Token is no longer valid")
    return user


CurrentUser = Annotated[UserCredentials, Depends(current_user)]


async def current_superuser(user: CurrentUser) -> UserCredentials:
    """The current user, who must be a superuser."""
    if not user.is_superuser:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only a superuser may do this")
    return user


SuperUser = Annotated[UserCredentials, Depends(current_superuser)]


async def optional_superuser(
    request: Request,
    hub: HubDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserCredentials | None:
    """The superuser of a valid bearer token, else None (never a 401)."""
    # Probes send no token, and an outage must not turn a probe into an error.
    if credentials is None:
        return None
    try:
        claims = await token_claims(await get_tokens(request), credentials)
        user = await current_user(hub, claims)
    except HTTPException:
        return None
    except StoreUnavailable:
        return None
    return user if user.is_superuser else None


OptionalSuperUser = Annotated[UserCredentials | None, Depends(optional_superuser)]


async def command_context(request: Request, user: CurrentUser) -> Context:
    """The acting user for commands; the request id becomes the correlation id."""
    request_id = getattr(request.state, "request_id", None)
    correlation = uuid.UUID(request_id) if request_id else uuid.uuid4()
    return Context(actor_id=user.id, channel=Channel.API, correlation_id=correlation)


CommandContext = Annotated[Context, Depends(command_context)]


def client_ip(request: Request) -> str:
    """The caller's address (behind a proxy: as uvicorn's proxy headers set it)."""
    return request.client.host if request.client else "unknown"
