"""A live stream of changes (Server-Sent Events), resumable by position."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent

from itemhub.api.deps import CurrentUser, HubDep
from itemhub.api.routes.common import AUTH, MAX_POSITION
from itemhub.projections import ActivityAdded, ActivityEntry, Delta

router = APIRouter(prefix="/events", tags=["events"])

QUEUE_MAX = 1000
PAGE = 500


@router.get("/stream", response_class=EventSourceResponse, responses=AUTH)
async def stream_events(
    request: Request,
    hub: HubDep,
    user: CurrentUser,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_POSITION)
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every change you may see, as it happens (`id` = position in the log).

    Reconnect with `Last-Event-ID` to resume with no gap and no duplicate.
    Standard users see the events of their own items; superusers see all.
    """
    owner = None if user.is_superuser else user.id
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

    # Subscribe before reading the backlog, so nothing falls between the two.
    unsubscribe = hub.feed.subscribe(on_deltas)
    try:
        if last_event_id is None:
            last = await run_in_threadpool(hub.read.activity_position)
            backlog = False
        else:
            last, backlog = last_event_id, True
        heartbeat = hub.settings.sse_heartbeat_seconds
        while hub.running and not await request.is_disconnected():
            if backlog or overflowed:
                overflowed = False
                while True:
                    page = await run_in_threadpool(
                        hub.read.activity_since, last, owner_id=owner, limit=PAGE
                    )
                    for entry in page:
                        yield _event(entry)
                        last = entry.position
                    if len(page) < PAGE:
                        break
                backlog = False
            try:
                entry = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except TimeoutError:
                # Idle: end the stream if the token was revoked meanwhile,
                # else keep proxies from timing the connection out.
                if not await _still_valid(hub, user.id, user.token_version):
                    return
                yield ServerSentEvent(comment="heartbeat")
                continue
            if entry.position > last:
                yield _event(entry)
                last = entry.position
    finally:
        unsubscribe()


def _visible(entry: ActivityEntry, owner: Any) -> bool:
    return owner is None or (entry.target_type == "item" and entry.owner_id == owner)


async def _still_valid(hub: Any, user_id: Any, version: int) -> bool:
    found = await run_in_threadpool(hub.auth.session_user, user_id, version)
    return found is not None


def _event(entry: ActivityEntry) -> ServerSentEvent:
    data: dict[str, Any] = {
        k: (str(v) if not isinstance(v, int | str | None) else v)
        for k, v in dataclasses.asdict(entry).items()
    }
    data["details"] = json.loads(entry.details)
    return ServerSentEvent(data=data, event=entry.action, id=str(entry.position))
