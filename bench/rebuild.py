"""(b) Rebuilding each read model from a log of ~100k events."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID, uuid4, uuid5

from itemhub.commands.application import ItemHub, head_position
from itemhub.events import NAMESPACE, Channel, EventMeta, HubAggregate, Item, User
from itemhub.projections.registry import projection_names
from itemhub.projections.replay import rebuild

from bench.backends import Backend, fresh_database, opened_hub

USERS = 10
ITEMS_PER_SAVE = 100
TARGETS: dict[Backend, float] = {"sqlite": 50_000.0, "postgres": 25_000.0}


@dataclass(frozen=True, slots=True)
class RebuildFigure:
    """One projection rebuilt from zero on one backend."""

    backend: Backend
    projection: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    @property
    def target(self) -> float:
        """The events/s this backend should reach."""
        return TARGETS[self.backend]


def _meta(actor_id: UUID, actor_name: str) -> EventMeta:
    return EventMeta(
        actor_id=actor_id,
        actor_name=actor_name,
        channel=Channel.API,
        correlation_id=uuid4(),
        command_id=uuid4(),
    )


def populate(app: ItemHub, items: int, events_per_item: int) -> int:
    """Save ``USERS`` users and ``items`` items of ``events_per_item`` events each.

    Uses the domain model directly, many aggregates per ``app.save``: this is
    setup for the rebuild, not a measurement of the write path.
    """
    columns = ("Backlog", "Todo", "Doing", "Done")
    system = EventMeta.system()
    users: list[User] = []
    for n in range(USERS):
        users.append(
            User.register(
                user_id=uuid5(NAMESPACE, f"bench-user:{n}"),
                email=f"user{n}@example.com",
                full_name=f"User {n}",
                password_hash="not-a-real-hash",
                is_superuser=False,
                meta=system,
            )
        )
    app.save(*users)
    for start in range(0, items, ITEMS_PER_SAVE):
        batch: list[HubAggregate] = []
        for n in range(start, min(start + ITEMS_PER_SAVE, items)):
            owner = users[n % USERS]
            meta = _meta(owner.id, owner.display_name)
            item = Item.create(
                item_id=uuid5(NAMESPACE, f"bench-item:{n}"),
                title=f"card {n}",
                description=f"description of card {n}",
                column=columns[n % len(columns)],
                position=None,
                owner_id=owner.id,
                meta=meta,
            )
            for k in range(1, events_per_item):
                meta = _meta(owner.id, owner.display_name)
                if k % 3 == 0:
                    item.edit(title=f"card {n} v{k}", description=None, meta=meta)
                else:
                    item.move(
                        column=columns[(n + k) % len(columns)],
                        position=k % 5,
                        meta=meta,
                    )
            batch.append(item)
        app.save(*batch)
    return head_position(app)


def measure_rebuild(
    backend: Backend,
    items: int,
    events_per_item: int,
    log: Callable[[str], None] = print,
) -> list[RebuildFigure]:
    """Populate a fresh store, then time ``rebuild`` of every projection."""
    figures: list[RebuildFigure] = []
    with fresh_database(backend) as url, opened_hub(url) as hub:
        started = time.perf_counter()
        head = populate(hub.app, items, events_per_item)
        log(
            f"  {backend}: populated {head:,} events in "
            f"{time.perf_counter() - started:.1f}s"
        )
        for name in projection_names():
            started = time.perf_counter()
            result = rebuild(hub.app, hub.store, name)
            seconds = time.perf_counter() - started
            assert result.position == head, (result.position, head)
            figure = RebuildFigure(
                backend=backend, projection=name, events=result.events, seconds=seconds
            )
            log(
                f"  {backend}: rebuilt {name}: {figure.events:,} events in "
                f"{seconds:.2f}s ({figure.rate:,.0f}/s)"
            )
            figures.append(figure)
    return figures
