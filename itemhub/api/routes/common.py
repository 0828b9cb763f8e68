"""Helpers shared by the route modules."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Request
from pydantic import BeforeValidator

from itemhub.api.errors import invalid
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
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
"""Query text: no control characters (PostgreSQL cannot even compare NUL)."""
MAX_POSITION = 2**31 - 1
"""Positions are 32-bit integers in the read models."""


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DATETIME.match(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-25T10:00:00Z")
    if not isinstance(value, str | dt.datetime):
        raise ValueError("must be an RFC 3339 date-time")
    return value


ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
DateTime = Annotated[dt.datetime, BeforeValidator(_iso_datetime)]
"""A query date-time: an ISO string only (no numbers, no bare dates)."""

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
            raise invalid(
                "query",
                unknown[0],
                f"unknown query parameter(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}",
            )

    return check
