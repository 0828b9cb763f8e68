"""Presence across instances: each instance's viewers in Redis, changes by pub/sub.

Every instance stores its own distinct viewers under a key that expires unless
refreshed (an instance that dies drops out within ``TTL`` seconds) and
announces each change on a channel; on any announcement every instance reads
all the keys and shows the union.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from uuid import UUID, uuid4

import redis.asyncio as redis

from itemhub.ui.presence import Presence, Viewer

log = logging.getLogger(__name__)

PREFIX = "itemhub:presence:"
CHANNEL = "itemhub:presence"
TTL = 15
REFRESH = 5.0
RETRY = 2.0


def _encode(viewers: list[Viewer]) -> str:
    return json.dumps([{"user_id": str(v.user_id), "name": v.name} for v in viewers])


def _decode(raw: bytes | str) -> list[Viewer]:
    return [
        Viewer(user_id=UUID(v["user_id"]), name=str(v["name"])) for v in json.loads(raw)
    ]


class SharedPresence:
    """Publishes this instance's viewers and merges in everyone else's."""

    def __init__(self, presence: Presence, url: str) -> None:
        self.presence = presence
        self.url = url
        self.instance = uuid4().hex
        self.key = f"{PREFIX}{self.instance}"
        self._client: redis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = asyncio.Event()

    def start(self) -> None:
        """Start publishing and listening (call on the event loop)."""
        if self._tasks:
            return
        self._client = redis.Redis.from_url(self.url)
        self.presence.on_local_change = self._dirty.set
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="itemhub-presence-publish"),
            asyncio.create_task(self._listen_loop(), name="itemhub-presence-listen"),
        ]

    async def stop(self) -> None:
        """Withdraw this instance's viewers and disconnect."""
        self.presence.on_local_change = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.delete(self.key)
                await self._client.publish(CHANNEL, self.instance)
            await self._client.aclose()
            self._client = None

    async def _publish_loop(self) -> None:
        assert self._client is not None
        while True:
            try:
                await self._client.set(
                    self.key, _encode(self.presence.local_viewers()), ex=TTL
                )
                await self._client.publish(CHANNEL, self.instance)
                await self._merge()
            except redis.RedisError as exc:
                log.warning("presence not shared (Redis): %s", exc)
                await asyncio.sleep(RETRY)
                continue
            # A local change publishes at once; otherwise refresh before expiry
            # and notice instances that vanished.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), REFRESH)
            self._dirty.clear()

    async def _listen_loop(self) -> None:
        assert self._client is not None
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        data = message.get("data")
                        sender = data.decode() if isinstance(data, bytes) else data
                        if sender != self.instance:
                            await self._merge()
            except redis.RedisError as exc:
                log.warning("presence not shared (Redis): %s", exc)
                await asyncio.sleep(RETRY)

    async def _merge(self) -> None:
        assert self._client is not None
        keys = [k async for k in self._client.scan_iter(match=f"{PREFIX}*")]
        others = [
            k for k in keys if (k.decode() if isinstance(k, bytes) else k) != self.key
        ]
        values = await self._client.mget(others) if others else []
        remote: dict[str, list[Viewer]] = {}
        for key, raw in zip(others, values, strict=True):
            if raw is None:  # expired between SCAN and MGET
                continue
            name = key.decode() if isinstance(key, bytes) else str(key)
            try:
                remote[name] = _decode(raw)
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring malformed presence entry %s", name)
        self.presence.set_remote(remote)
