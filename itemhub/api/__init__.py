"""The REST API under ``/api/v1``, served by the parent FastAPI app."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.routing import Match

from itemhub import __version__
from itemhub.api.errors import RequestGuard, install_error_handlers
from itemhub.api.routes import audit, events, health, items, login, users
from itemhub.api.tokens import TokenService
from itemhub.config import secret_value
from itemhub.runtime import Hub

API_PREFIX = "/api/v1"


ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router for module in (login, users, items, events, audit, health)
)


def api_router() -> APIRouter:
    """Every API route, to be included under ``API_PREFIX``."""
    router = APIRouter()
    for resource in ROUTERS:
        router.include_router(resource)

    # Last: unknown paths under /api answer JSON, not NiceGUI's HTML 404 page.
    @router.api_route(
        "/{path:path}",
        methods=[
            "GET",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "HEAD",
            "OPTIONS",
            "TRACE",
            "CONNECT",
        ],
        include_in_schema=False,
    )
    def unknown_path(request: Request, path: str) -> None:
        allowed = _methods_for(path)
        if allowed:
            raise HTTPException(
                status.HTTP_405_METHOD_NOT_ALLOWED,
                f"{request.method} is not allowed here; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such API path: /{path}")

    return router


def _methods_for(path: str) -> list[str]:
    """Methods the API's routes accept on this path (for a 405 instead of 404)."""
    # Asked of each resource's own routes: FastAPI includes routers lazily, so
    # the app's route list holds no APIRoute to ask.
    probe = {"type": "http", "path": f"/{path}", "root_path": "", "method": ""}
    methods: set[str] = set()
    for resource in ROUTERS:
        for route in resource.routes:
            if (
                isinstance(route, APIRoute)
                and route.matches(probe)[0] is not Match.NONE
            ):
                methods |= route.methods or set()
    return sorted(methods)


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: ``<tag>-<function name>``."""
    tag = route.tags[0] if route.tags else "api"
    return f"{tag}-{route.name}"


def create_api(hub: Hub) -> FastAPI:
    """The parent FastAPI app with the REST API (NiceGUI is mounted on it later)."""
    settings = hub.settings
    # The schema maps every route for whoever asks: prod publishes it on request.
    docs = settings.env == "dev" or settings.public_docs
    api = FastAPI(
        title="ItemHub",
        version=__version__,
        summary="Event-sourced, live-updating item board",
        generate_unique_id_function=operation_id,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    api.state.hub = hub
    api.state.tokens = TokenService(
        secret_value(settings.secret_key),
        dt.timedelta(minutes=settings.access_token_expire_minutes),
    )
    install_error_handlers(api)
    api.include_router(api_router(), prefix=API_PREFIX)
    if settings.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=False,  # bearer tokens, never cookies
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "Last-Event-ID",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
        )
    api.add_middleware(RequestGuard, prefix=f"{API_PREFIX}/")
    return api
