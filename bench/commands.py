"""(a) Commands per second through the bus against raw ``app.save()``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast
from uuid import UUID, uuid4

from bench.backends import Backend, fresh_database, opened_hub, register_user
from itemhub.commands import Context, CreateItem, MoveItem
from itemhub.events import Channel, EventMeta, Item, User
from itemhub.runtime import Hub

ITEMS = 200
ROUNDS = 3
CATCH_UP_TIMEOUT = 300.0
RYW_OFF_TARGET = 0.6


@dataclass(frozen=True, slots=True)
class CommandFigures:
    """Sequential MoveItem throughput of one backend."""

    backend: Backend
    ops: int
    ryw_ops: int
    raw_rate: float
    bus_rate: float
    ryw_rate: float

    @property
    def ratio(self) -> float:
        """Bus (read-your-writes off) over raw ``app.save()``."""
        return self.bus_rate / self.raw_rate

    @property
    def ryw_ratio(self) -> float:
        """Bus (read-your-writes on) over raw ``app.save()``."""
        return self.ryw_rate / self.raw_rate


class MoveWorkload:
    """The same moves for both paths: item ``i % n``, cycling columns and indexes."""

    def __init__(self, hub: Hub, context: Context, item_ids: Sequence[UUID]) -> None:
        self.hub = hub
        self.context = context
        self.item_ids = list(item_ids)
        self.columns = hub.settings.board_columns
        user = cast(User, hub.app.repository.get(context.actor_id))
        self.actor_name = user.display_name
        self.step = 0

    def _next(self) -> tuple[UUID, str, int]:
        i = self.step
        self.step += 1
        return (
            self.item_ids[i % len(self.item_ids)],
            self.columns[(i // len(self.item_ids)) % len(self.columns)],
            i % 7,
        )

    def raw(self, count: int) -> float:
        """Seconds for ``count`` load → move → ``app.save`` round trips."""
        app = self.hub.app
        started = time.perf_counter()
        for _ in range(count):
            item_id, column, position = self._next()
            meta = EventMeta(
                actor_id=self.context.actor_id,
                actor_name=self.actor_name,
                channel=self.context.channel,
                correlation_id=uuid4(),
                command_id=uuid4(),
            )
            item = cast(Item, app.repository.get(item_id))
            item.move(column=column, position=position, meta=meta)
            app.save(item)
        return time.perf_counter() - started

    def bus(self, count: int) -> float:
        """Seconds for ``count`` ``MoveItem`` commands through ``hub.bus.handle``."""
        handle = self.hub.bus.handle
        started = time.perf_counter()
        for _ in range(count):
            item_id, column, position = self._next()
            handle(
                MoveItem(item_id=item_id, column=column, position=position),
                Context(actor_id=self.context.actor_id, channel=Channel.API),
            )
        return time.perf_counter() - started


def measure_commands(
    backend: Backend,
    ops: int,
    ryw_ops: int,
    log: Callable[[str], None] = print,
) -> CommandFigures:
    """Raw saves and bus commands interleaved in rounds, then the bus with RYW on."""
    with fresh_database(backend) as url, opened_hub(url) as hub:
        context = register_user(hub, "bench-user@example.com")
        first_column = hub.settings.board_columns[0]
        item_ids = [
            hub.bus.handle(
                CreateItem(title=f"card {n}", column=first_column), context
            ).aggregate_id
            for n in range(ITEMS)
        ]
        work = MoveWorkload(hub, context, item_ids)
        assert hub.bus.after_commit is None, "read-your-writes must be off"
        warm = max(ops // 10, 50)
        work.raw(warm)
        work.bus(warm)
        raw_seconds = bus_seconds = 0.0
        per_round = max(ops // ROUNDS, 1)
        for n in range(ROUNDS):
            # Alternate which path goes first so neither always runs on a
            # longer log or a warmer cache.
            if n % 2 == 0:
                raw_seconds += work.raw(per_round)
                bus_seconds += work.bus(per_round)
            else:
                bus_seconds += work.bus(per_round)
                raw_seconds += work.raw(per_round)
        done = per_round * ROUNDS
        log(
            f"  {backend}: raw {done / raw_seconds:,.0f}/s, "
            f"bus (RYW off) {done / bus_seconds:,.0f}/s"
        )

        hub.start()
        assert hub.bus.after_commit is not None, "read-your-writes must be on"
        hub.wait_for(hub.head(), timeout=CATCH_UP_TIMEOUT)
        work.bus(max(ryw_ops // 10, 20))
        ryw_seconds = work.bus(ryw_ops)
        log(f"  {backend}: bus (RYW on) {ryw_ops / ryw_seconds:,.0f}/s")
        return CommandFigures(
            backend=backend,
            ops=done,
            ryw_ops=ryw_ops,
            raw_rate=done / raw_seconds,
            bus_rate=done / bus_seconds,
            ryw_rate=ryw_ops / ryw_seconds,
        )
