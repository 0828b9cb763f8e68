"""A live stream of changes (Server-Sent Events), resumable by position."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from itemhub.api.deps import Claims, CurrentUser, HubDep
from itemhub.api.routes.common import AUTH, MAX_POSITION
from itemhub.commands import StoreUnavailable
from itemhub.projections import (
    ActivityAdded,
    ActivityEntry,
    Delta,
    UserCredentials,
)
from itemhub.runtime import checked_session

router = APIRouter(prefix="/events", tags=["events"])

QUEUE_MAX = 1000
PAGE = 500
# A silent stream re-checks its token this often: a revoked one ends this soon.
SESSION_RECHECK_SECONDS = 1.0
SESSION_ENDED = "session.ended"


# The stream's own media type is text/event-stream; its refusals are JSON.
JSON_AUTH: dict[int | str, dict[str, Any]] = {
    401: {
        "description": AUTH[401]["description"],
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Message"}}
        },
    }
}


@router.get("/stream", response_class=EventSourceResponse, responses=JSON_AUTH)
async def stream_events(
    request: Request,
    hub: HubDep,
    user: CurrentUser,
    claims: Claims,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_POSITION)
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every change you may see, as it happens (`id` = position in the log).

    Reconnect with `Last-Event-ID` to resume with no gap and no duplicate.
    Standard users see the events of their own items; superusers see all.
    The token is re-checked before every event and every second: once it is
    revoked or expired the stream ends with a `session.ended` event.
    """
    owner = _owner(user)
    queue: asyncio.Queue[ActivityEntry] = asyncio.Queue(maxsize=QUEUE_MAX)
    overflowed = False

    def on_deltas(deltas: Sequence[Delta]) -> None:
        nonlocal overflowed
        for delta in deltas:
            if isinstance(delta, ActivityAdded) and _visible(delta.entry, owner):
                try:
                    queue.put_nowait(delta.entry)
                except asyncio.QueueFull:
                    overflowed = True

    async def verdict() -> bool | None:
        """Whether the stream may go on; None while the database cannot tell."""
        # What the stream may show follows the user's role now, not at opening.
        nonlocal owner
        if dt.datetime.now(dt.UTC) >= claims.expires_at:
            return False  # a token lives no longer through a stream
        try:
            current = await checked_session(
                hub, user.id, user.token_version, run_in_threadpool
            )
        except StoreUnavailable:
            return None  # an outage: show nothing, end nothing, ask again
        if current is not None:
            owner = _owner(current)
        return current is not None

    # Subscribe before reading the backlog, so nothing falls between the two.
    unsubscribe = hub.queries.subscribe(on_deltas)
    try:
        if last_event_id is None:
            last = await run_in_threadpool(hub.queries.read.activity_position)
            backlog = False
        else:
            last, backlog = last_event_id, True
        heartbeat = hub.settings.sse_heartbeat_seconds
        wait = min(heartbeat, SESSION_RECHECK_SECONDS)
        quiet_since = asyncio.get_running_loop().time()
        while hub.running and not await request.is_disconnected():
            if backlog or overflowed:
                # From the read model after `last`: what the queue dropped, or
                # what came while the session could not be checked.
                overflowed = False
                backlog = True
                while (allowed := await verdict()) is True:
                    try:
                        page = await run_in_threadpool(
                            hub.queries.read.activity_since,
                            last,
                            owner_id=owner,
                            limit=PAGE,
                        )
                    except StoreUnavailable:
                        break
                    for entry in page:
                        yield _event(entry)
                        last = entry.position
                    if len(page) < PAGE:
                        backlog = False
                        break
                if allowed is False:
                    yield _session_ended()
                    return
            got: ActivityEntry | None
            try:
                got = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                got = None
            allowed = await verdict()
            if allowed is False:
                yield _session_ended()
                return
            if allowed is None or backlog:
                # Unchecked, or behind the backlog: read again from `last`.
                backlog = backlog or got is not None
                got = None
            now = asyncio.get_running_loop().time()
            if got is None:
                # Idle: keep proxies from timing the connection out.
                if now - quiet_since >= heartbeat:
                    quiet_since = now
                    yield ServerSentEvent(comment="heartbeat")
                continue
            # Queued under the role it had then: filtered again by the role now.
            if got.position > last and _visible(got, owner):
                quiet_since = now
                yield _event(got)
                last = got.position
    finally:
        unsubscribe()


def _owner(user: UserCredentials) -> Any:
    """Whose items' events a user may see (None: everyone's)."""
    return None if user.is_superuser else user.id


def _visible(entry: ActivityEntry, owner: Any) -> bool:
    return owner is None or (entry.target_type == "item" and entry.owner_id == owner)


def _session_ended() -> ServerSentEvent:
    return ServerSentEvent(
        data={"detail": "The token is no longer valid; log in again"},
        event=SESSION_ENDED,
    )


def _event(entry: ActivityEntry) -> ServerSentEvent:
    data: dict[str, Any] = {
        k: (str(v) if not isinstance(v, int | str | None) else v)
        for k, v in dataclasses.asdict(entry).items()
    }
    data["details"] = json.loads(entry.details)
    return ServerSentEvent(data=data, event=entry.action, id=str(entry.position))
