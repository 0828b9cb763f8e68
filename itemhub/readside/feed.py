"""The change feed: deltas handed from worker threads to asyncio subscribers."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from itemhub.projections.deltas import Delta

log = logging.getLogger(__name__)

Subscriber = Callable[[Sequence[Delta]], None]


class ChangeFeed:
    """Publishes each committed batch's deltas on the bound event loop.

    Workers call ``publish`` from their threads; subscribers always run on the
    loop thread (``call_soon_threadsafe``), in commit order per projection.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: list[Subscriber] = []
        self._taps: list[Subscriber] = []
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Deliver to this loop from now on (None: deliver nowhere)."""
        self._loop = loop

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Receive every batch of deltas on the loop; returns an unsubscribe."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def tap(self, tap: Subscriber) -> None:
        """Also hand every batch to ``tap`` in the publishing thread, at once."""
        with self._lock:
            self._taps.append(tap)

    def publish(self, deltas: Sequence[Delta]) -> None:
        """Hand a committed batch to the loop (thread-safe; dropped if no loop)."""
        if not deltas:
            return
        # Taps run before the publisher moves the positions read-your-writes
        # waits on, so a command answered after that finds its batch there.
        for tap in self._taps:
            tap(deltas)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._dispatch, tuple(deltas))
        except RuntimeError:  # the loop closed between the check and the call
            pass

    def _dispatch(self, deltas: Sequence[Delta]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(deltas)
            except Exception:
                log.exception("change-feed subscriber %r failed", subscriber)
