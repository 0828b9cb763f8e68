"""(b) Rebuilding each read model from a log of ~100k events."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from uuid import UUID, uuid4, uuid5

from bench.backends import Backend, fresh_database, opened_hub
from itemhub.events import NAMESPACE, Channel, EventMeta, HubAggregate, Item, User
from itemhub.eventstore import ItemHub, head_position
from itemhub.projections.registry import projection_names
from itemhub.readside.replay import rebuild

USERS = 10
ITEMS_PER_SAVE = 100
COLUMNS = ("Backlog", "Todo", "Doing", "Done")
# Issue 14: events of the log per second, every read model on its own.
TARGETS: dict[Backend, float] = {"sqlite": 50_000.0, "postgres": 30_000.0}
TOP_TARGET = 25_000.0  # ... when every move drops near the top of a column

Moves = Literal["spread", "top"]
"""Where moves land: a uniformly random index of the column, or index 0-4."""


@dataclass(frozen=True, slots=True)
class RebuildFigure:
    """One projection rebuilt from zero on one backend."""

    backend: Backend
    projection: str
    moves: Moves
    events: int  # in the log (a read model reads only those it folds)
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    @property
    def target(self) -> float:
        """The events/s this backend should reach."""
        return TOP_TARGET if self.moves == "top" else TARGETS[self.backend]


def _meta(actor_id: UUID, actor_name: str) -> EventMeta:
    return EventMeta(
        actor_id=actor_id,
        actor_name=actor_name,
        channel=Channel.API,
        correlation_id=uuid4(),
        command_id=uuid4(),
    )


def populate(app: ItemHub, items: int, events_per_item: int, moves: Moves) -> int:
    """Save ``USERS`` users and ``items`` items of ``events_per_item`` events each.

    Each item is created, then moved twice for every edit. Uses the domain
    model directly, many aggregates per ``app.save``: this is setup for the
    rebuild, not a measurement of the write path. Returns the head position.
    """
    column_size = max(items // len(COLUMNS), 1)
    rng = random.Random(20251125)
    system = EventMeta.system()
    users = [
        User.register(
            user_id=uuid5(NAMESPACE, f"bench-user:{n}"),
            email=f"user{n}@example.com",
            full_name=f"User {n}",
            password_hash="not-a-real-hash",
            is_superuser=False,
            meta=system,
        )
        for n in range(USERS)
    ]
    app.save(*users)
    for start in range(0, items, ITEMS_PER_SAVE):
        batch: list[HubAggregate] = []
        for n in range(start, min(start + ITEMS_PER_SAVE, items)):
            owner = users[n % USERS]
            item = Item.create(
                item_id=uuid5(NAMESPACE, f"bench-item:{n}"),
                title=f"card {n}",
                description=f"description of card {n}",
                column=COLUMNS[n % len(COLUMNS)],
                position=None,
                owner_id=owner.id,
                meta=_meta(owner.id, owner.display_name),
            )
            for k in range(1, events_per_item):
                meta = _meta(owner.id, owner.display_name)
                if k % 3 == 0:
                    item.edit(title=f"card {n} v{k}", description=None, meta=meta)
                    continue
                item.move(
                    column=COLUMNS[(n + k) % len(COLUMNS)],
                    position=rng.randrange(column_size) if moves == "spread" else k % 5,
                    meta=meta,
                )
            batch.append(item)
        app.save(*batch)
    return head_position(app)


def _rebuild_log(
    backend: Backend,
    items: int,
    events_per_item: int,
    moves: Moves,
    names: list[str],
    log: Callable[[str], None],
) -> list[RebuildFigure]:
    figures: list[RebuildFigure] = []
    with fresh_database(backend) as url, opened_hub(url) as hub:
        started = time.perf_counter()
        head = populate(hub.app, items, events_per_item, moves)
        log(
            f"  {backend}: populated {head:,} events (moves: {moves}) in "
            f"{time.perf_counter() - started:.1f}s"
        )
        for name in names:
            started = time.perf_counter()
            result = rebuild(hub.app, hub.store, name)
            seconds = time.perf_counter() - started
            assert result.position == head, (result.position, head)
            figure = RebuildFigure(
                backend=backend,
                projection=name,
                moves=moves,
                events=head,
                seconds=seconds,
            )
            log(
                f"  {backend}: rebuilt {name}: {figure.events:,} events of the log "
                f"({result.events:,} read) in {seconds:.2f}s ({figure.rate:,.0f}/s)"
            )
            figures.append(figure)
    return figures


def measure_rebuild(
    backend: Backend,
    items: int,
    events_per_item: int,
    top_items: int,
    log: Callable[[str], None] = print,
) -> list[RebuildFigure]:
    """Every projection on a log of spread moves; items again on top-of-column moves.

    Moves to the top of long columns keep splitting the same rank gaps, so the
    items projection renumbers whole columns: the second, smaller log (of
    ``top_items`` items, 0 to skip it) shows that cost without taking minutes.
    """
    figures = _rebuild_log(
        backend, items, events_per_item, "spread", projection_names(), log
    )
    if top_items:
        figures += _rebuild_log(
            backend, top_items, events_per_item, "top", ["items"], log
        )
    return figures
