"""JSON errors for every API failure, request ids, and body size limits."""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from itemhub.auth import LoginThrottled
from itemhub.commands import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    ReadModelUnavailable,
    StoreUnavailable,
)

log = logging.getLogger("itemhub.api")

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID_HEADER = "X-Request-ID"

_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    AlreadyExists: 409,
    InvalidState: 409,
    Conflict: 409,
    ReadModelUnavailable: 503,
}


def invalid(location: str, name: str, message: str) -> RequestValidationError:
    """A 422 in FastAPI's own shape: ``{"detail": [{"loc", "msg", "type"}]}``."""
    return RequestValidationError(
        [{"loc": (location, name), "msg": message, "type": "value_error"}]
    )


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it: lone surrogates escaped, inf and NaN as text."""
    # A loop, not recursion: the input a 422 echoes may nest as deep as the
    # JSON parser allows, deeper than Python's recursion limit lets us recurse.
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while pending:
        item, parent, key = pending.pop()
        if isinstance(item, dict):
            fields: dict[Any, Any] = {}
            parent[key] = fields
            for name, member in item.items():
                safe_name = _json_safe_scalar(name)
                fields[safe_name] = None  # keeps the order; filled in when popped
                pending.append((member, fields, safe_name))
        elif isinstance(item, list | tuple):
            parent[key] = members = [None] * len(item)
            pending.extend((member, members, i) for i, member in enumerate(item))
        else:
            parent[key] = _json_safe_scalar(item)
    return root[0]


def _json_safe_scalar(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def domain_error_response(exc: DomainError) -> JSONResponse:
    """The HTTP answer to a refused command."""
    if isinstance(exc, InvalidInput):
        # The same shape as FastAPI's own validation errors.
        return JSONResponse(
            status_code=422,
            content={
                "detail": [
                    {
                        "loc": ["body", exc.field],
                        "msg": exc.message,
                        "type": "value_error",
                    }
                ]
            },
        )
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
    content: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, Conflict):
        content |= {
            "current_version": exc.current_version,
            "changed_by": exc.changed_by,
        }
    return JSONResponse(status_code=status, content=content)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors and crashes to JSON; tag every request with an id."""

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, Forbidden):
            await _record_denial(request, str(exc))
        return domain_error_response(exc)

    @app.exception_handler(LoginThrottled)
    async def on_throttled(_: Request, exc: LoginThrottled) -> JSONResponse:
        # Logins, password and e-mail changes: when a password may be tried again.
        return JSONResponse(
            status_code=429,
            content={"detail": str(exc)},
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's answer echoes each bad input, and JSON cannot carry a lone
        # surrogate or 1e400 (inf): the 422 became a 500 on a reset connection.
        safe = RequestValidationError(json_safe(exc.errors()), body=exc.body)
        return await request_validation_exception_handler(request, safe)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 403:
            await _record_denial(request, str(exc.detail))
        return await http_exception_handler(request, exc)

    @app.exception_handler(StoreUnavailable)
    async def on_store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        # An outage, not a bug: one line (no traceback), and ask for a retry.
        request_id = getattr(request.state, "request_id", "-")
        log.warning(
            "request %s %s %s: %s unavailable: %s",
            request_id,
            request.method,
            request.url.path,
            exc.store,
            exc.reason,
        )
        return JSONResponse(
            status_code=503,
            content={
                "detail": f"The {exc.store} is unavailable; retry shortly "
                "(with the same Idempotency-Key for a command)",
                "request_id": request_id,
            },
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        log.error(
            "request %s %s %s failed",
            request_id,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        return JSONResponse(
            status_code=500,
            content={"detail": "Internal server error", "request_id": request_id},
            headers={REQUEST_ID_HEADER: request_id},
        )


async def _record_denial(request: Request, detail: str) -> None:
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        return
    await run_in_threadpool(
        hub.security.record,
        "access_denied",
        channel="api",
        ip=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent", ""),
        detail=f"{request.method} {request.url.path}: {detail}",
    )


class RequestGuard:
    """ASGI middleware: a request id on every request, a size cap on API bodies."""

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append(
                    (REQUEST_ID_HEADER.lower().encode(), request_id.encode())
                )
                message["headers"] = headers
            await send(message)

        if not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send_with_id)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                await _too_large(send_with_id)
                return
            await self.app(scope, receive, send_with_id)
            return
        # No Content-Length (chunked): read up to the limit here, so an oversize
        # body is answered 413 before the route sees any of it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > MAX_BODY_BYTES:
                await _too_large(send_with_id)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send_with_id)


async def _too_large(send: Send) -> None:
    response = JSONResponse(
        status_code=413,
        content={"detail": f"request body larger than {MAX_BODY_BYTES} bytes"},
    )
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
