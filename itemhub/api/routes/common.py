"""Helpers shared by the route modules."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, status

from itemhub.api.schemas import ConflictMessage, Message, ServerError

AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "Missing, invalid or revoked token"},
}
SUPERUSER: dict[int | str, dict[str, Any]] = {
    **AUTH,
    403: {"model": Message, "description": "Only a superuser may do this"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Message, "description": "Not found (or not yours)"},
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictMessage, "description": "Stale If-Match, or invalid state"},
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "Not allowed"},
}
VALIDATION: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input"},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": Message, "description": "Stored, but the read side cannot show it"},
    500: {"model": ServerError, "description": "Unexpected failure"},
}


def only_known_query_params(
    *names: str,
) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A dependency refusing query parameters the route does not know (422)."""
    known = set(names)

    # async: no I/O, so no thread-pool hand-off per request.
    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"unknown query parameter(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}",
            )

    return check
