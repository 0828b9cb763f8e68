"""Rebuilding every read model in one pass over the log: the 1M-event rebuild of
``bench.rebuild_1m`` at a CI-sized scale."""

from __future__ import annotations

import resource
from typing import Any

from bench.rebuild import populate
from itemhub.events import User
from itemhub.eventstore import iter_batches
from itemhub.projections.registry import projection_names
from itemhub.readside.replay import rebuild, rebuild_together, table_rows
from itemhub.runtime import Hub

# x 10 events: 20k events. Moves drop cards at the top of 500-card columns,
# so columns are renumbered again and again, as in the bench's worst case.
ITEMS = 2_000
RSS_GROWTH_LIMIT_MIB = 200  # the bench's 1M events must stay under 500 MiB


def _live_rows(hub: Hub) -> dict[str, list[tuple[Any, ...]]]:
    with hub.store.writer.begin() as conn:
        return {
            table.name: table_rows(conn, table)
            for name in projection_names()
            for table in hub.store.tables.of(name)
        }


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_one_pass_rebuilds_every_read_model_as_the_live_workers_built_it(
    hub: Hub,
) -> None:
    head = populate(hub.app, ITEMS, 10, "top")
    hub.wait_for(head)
    built_live = _live_rows(hub)
    assert sum(map(len, built_live.values())) > 2 * head  # activity, chain, items

    peak_before = _peak_rss_mib()
    result = rebuild_together(hub.app, hub.store, projection_names())

    assert (result.position, result.events) == (head, head)
    assert _live_rows(hub) == built_live
    with hub.store.writer.begin() as conn:
        tracking = table_rows(conn, hub.store.tables.tracking)
    assert {row[0]: row[1] for row in tracking} == dict.fromkeys(
        projection_names(), head
    )
    # Streams page by page: memory does not grow with the log.
    assert _peak_rss_mib() - peak_before < RSS_GROWTH_LIMIT_MIB


def test_a_read_model_rebuilt_alone_reads_only_the_events_it_folds(hub: Hub) -> None:
    head = populate(hub.app, 200, 10, "spread")
    hub.wait_for(head)
    built_live = _live_rows(hub)
    user_events = sum(
        isinstance(event, User.Event)
        for batch in iter_batches(hub.app, 0)
        for event, _ in batch
    )

    result = rebuild(hub.app, hub.store, "users")

    assert result.position == head
    assert result.events == user_events < head / 10
    assert _live_rows(hub) == built_live
