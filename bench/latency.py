"""(c) Latency from a command to its ``ItemChanged`` delta on the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.backends import Backend, fresh_database, opened_hub, register_user
from itemhub.commands import CreateItem, MoveItem
from itemhub.projections.deltas import Delta, ItemChanged

ITEMS = 20
DELTA_TIMEOUT = 10.0


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (``pct`` in 0..100)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """Milliseconds from just before ``bus.handle`` to the feed and to its return."""

    backend: Backend
    commands: int
    feed_ms: list[float]
    return_ms: list[float]

    def feed(self, pct: float) -> float:
        """Percentile of save → ``ItemChanged`` dispatched on the loop."""
        return percentile(self.feed_ms, pct)

    def returned(self, pct: float) -> float:
        """Percentile of ``bus.handle`` duration (read-your-writes on)."""
        return percentile(self.return_ms, pct)


class FeedClock:
    """A change-feed subscriber noting when each position's ItemChanged arrives."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self._cond = threading.Condition()

    def __call__(self, deltas: Sequence[Delta]) -> None:
        now = time.perf_counter()
        with self._cond:
            for delta in deltas:
                if isinstance(delta, ItemChanged):
                    self.arrived.setdefault(delta.position, now)
            self._cond.notify_all()

    def wait(self, position: int, timeout: float = DELTA_TIMEOUT) -> float:
        """When ``position`` was dispatched (waits for it)."""
        with self._cond:
            if not self._cond.wait_for(lambda: position in self.arrived, timeout):
                raise TimeoutError(f"no ItemChanged for position {position}")
            return self.arrived[position]


def measure_latency(
    backend: Backend,
    commands: int,
    spacing: float,
    log: Callable[[str], None] = print,
) -> LatencyFigures:
    """Send ``commands`` moves one at a time, ``spacing`` seconds apart."""
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(
        target=loop.run_forever, name="bench-loop", daemon=True
    )
    loop_thread.start()
    try:
        with fresh_database(backend) as url, opened_hub(url) as hub:
            hub.start(loop)
            context = register_user(hub, "latency-user@example.com")
            columns = hub.settings.board_columns
            item_ids = [
                hub.bus.handle(
                    CreateItem(title=f"card {n}", column=columns[0]), context
                ).aggregate_id
                for n in range(ITEMS)
            ]
            clock = FeedClock()
            unsubscribe = hub.feed.subscribe(clock)
            feed_ms: list[float] = []
            return_ms: list[float] = []
            try:
                for i in range(commands):
                    command = MoveItem(
                        item_id=item_ids[i % ITEMS],
                        column=columns[(i // ITEMS) % len(columns)],
                        position=i % 5,
                    )
                    sent = time.perf_counter()
                    result = hub.bus.handle(command, context)
                    returned = time.perf_counter()
                    arrived = clock.wait(result.position)
                    feed_ms.append((arrived - sent) * 1000)
                    return_ms.append((returned - sent) * 1000)
                    time.sleep(spacing)
            finally:
                unsubscribe()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(10)
        loop.close()
    figures = LatencyFigures(
        backend=backend, commands=commands, feed_ms=feed_ms, return_ms=return_ms
    )
    log(
        f"  {backend}: feed p50 {figures.feed(50):.1f} ms, "
        f"p99 {figures.feed(99):.1f} ms"
    )
    return figures
