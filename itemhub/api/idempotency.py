"""``Idempotency-Key``: a retry with the same key and body gets the first response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from uuid import UUID, uuid5

from fastapi import Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from itemhub.api.errors import invalid
from itemhub.events import NAMESPACE
from itemhub.queries.idempotency import StoredResponse
from itemhub.runtime import Hub

MAX_KEY = 200
KEPT_HEADERS = ("etag", "location")


def run_idempotent(
    request: Request,
    hub: Hub,
    user_id: UUID,
    key: str | None,
    payload: BaseModel | None,
    run: Callable[[UUID | None], Response],
) -> Response:
    """Run ``run(command_id)`` once per key; replay its response afterwards.

    The command id derives from the user and the key, so even a retry that
    arrives before the first response was stored appends nothing.
    """
    if key is None:
        return run(None)
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise invalid(
            "header",
            "Idempotency-Key",
            f"must be 1 to {MAX_KEY} printable characters",
        )
    fingerprint = _fingerprint(request, payload)
    stored = hub.idempotency.get(user_id, key)
    if stored is None:
        response = run(uuid5(NAMESPACE, f"idempotency:{user_id}:{key}"))
        if response.status_code >= 300:
            return response
        stored = hub.idempotency.put(
            user_id,
            key,
            StoredResponse(
                fingerprint=fingerprint,
                status=response.status_code,
                body=bytes(response.body).decode(),
                headers={
                    k: v for k, v in response.headers.items() if k in KEPT_HEADERS
                },
            ),
        )
    if stored.fingerprint != fingerprint:
        raise invalid(
            "header",
            "Idempotency-Key",
            "was already used with a different request",
        )
    body = json.loads(stored.body) if stored.body else None
    if stored.status == status.HTTP_204_NO_CONTENT:
        return Response(status_code=204, headers=stored.headers)
    return JSONResponse(body, status_code=stored.status, headers=stored.headers)


def _fingerprint(request: Request, payload: BaseModel | None) -> str:
    body = payload.model_dump(mode="json", exclude_unset=True) if payload else None
    text = json.dumps([request.method, request.url.path, body], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
