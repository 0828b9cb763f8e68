"""A failing projection handler stops its worker loudly and never skips an event."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from sqlalchemy import Connection, delete, func, select

from itemhub.commands import CreateItem, EditItem, ReadModelUnavailable
from itemhub.eventstore import EventAt
from itemhub.projections.deltas import Delta
from itemhub.readside.replay import differences, rebuild
from itemhub.runtime import Hub
from tests.conftest import FAST_HASHER, make_settings, register


def test_failing_handler_stops_the_worker_and_the_command_reports_it(
    hub: Hub, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    alice = register(hub)
    item = hub.bus.handle(CreateItem(title="doomed", column="Todo"), alice)
    # Corrupt the board behind the projection's back: the next event of this
    # item finds no row, which the items handler refuses to invent.
    items = hub.store.tables.items
    with hub.store.writer.begin() as conn:
        conn.execute(delete(items).where(items.c.id == item.aggregate_id))
    before = hub.store.tracking("items").position

    with caplog.at_level(logging.ERROR, logger="itemhub.readside.worker"):
        with pytest.raises(ReadModelUnavailable, match="cannot show it"):
            hub.bus.handle(EditItem(item_id=item.aggregate_id, title="edited"), alice)
        caplog.clear()  # the error was logged; the fixture fails tests on ERROR logs

    states = {s.name: s for s in hub.status()}
    assert states["items"].state == "failed"
    assert "no row for item" in (states["items"].error or "")
    assert states["users"].state == states["activity"].state == "running"
    # Nothing skipped: the position stays before the event that failed.
    assert hub.store.tracking("items").position == before < hub.head()
    assert "no row for item" in (hub.store.tracking("items").error or "")
    assert hub.queries.readiness().ready is False

    # A rebuild repairs the read model; a restarted worker carries on from it.
    hub.close()
    reopened = Hub.open(make_settings(database_url), hasher=FAST_HASHER)
    try:
        assert {s.name: s.state for s in reopened.status()}["items"] == "failed"
        rebuild(reopened.app, reopened.store, "items")
        reopened.start()
        reopened.wait_for(reopened.head())
        card = reopened.read.item(item.aggregate_id)
        assert card is not None and card.title == "edited"
        assert reopened.queries.readiness().ready is True
    finally:
        reopened.close()


def _snapshot(hub: Hub) -> tuple[dict[str, int], int, int]:
    """Every tracking position, and the activity and chain row counts."""
    tables = hub.store.tables
    with hub.store.reader.connect() as conn:
        tracking = tables.tracking
        rows = dict(conn.execute(select(tracking.c.name, tracking.c.position)).all())
        activity = conn.execute(select(func.count()).select_from(tables.activity))
        chain = conn.execute(select(func.count()).select_from(tables.chain))
        return rows, activity.scalar_one(), chain.scalar_one()


def test_a_batch_failing_in_one_read_model_commits_nothing_then_freezes_only_it(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    alice = register(hub)
    worker = hub.read_side.worker
    chain = worker.projections["chain"]
    before = _snapshot(hub)
    in_transaction: list[int] = []

    def broken(conn: Connection, _events: Sequence[EventAt]) -> list[Delta]:
        # The read models before it have written this batch in the same
        # transaction: the rollback must take their rows away too.
        activity = hub.store.tables.activity
        count = conn.execute(select(func.count()).select_from(activity))
        in_transaction.append(count.scalar_one())
        raise RuntimeError("the chain broke")

    at_failure: list[tuple[dict[str, int], int, int]] = []
    freeze = worker._freeze

    def observed(name: str, exc: Exception) -> None:
        at_failure.append(_snapshot(hub))
        freeze(name, exc)

    monkeypatch.setattr(chain, "apply", broken)
    monkeypatch.setattr(worker, "_freeze", observed)
    with caplog.at_level(logging.ERROR, logger="itemhub.readside.worker"):
        with pytest.raises(ReadModelUnavailable, match="cannot show it"):
            hub.bus.handle(CreateItem(title="one batch", column="Todo"), alice)
        caplog.clear()

    # Inside the failed transaction the activity row was there; once it rolled
    # back, no read model and no tracking row had moved.
    assert in_transaction == [before[1] + 1]
    assert at_failure == [before]
    # Committed again without the chain: the others hold the event exactly once.
    head = hub.head()
    hub.read_side.wait_for(head, names=("items", "users", "activity"))
    rows, activity, chain_rows = _snapshot(hub)
    assert activity == before[1] + 1
    assert chain_rows == before[2]
    assert rows["chain"] == before[0]["chain"] < head
    assert rows["items"] == rows["users"] == rows["activity"] == head
    states = {s.name: s for s in hub.status()}
    assert states["chain"].state == "failed"
    assert "the chain broke" in (states["chain"].error or "")
    assert {states[n].state for n in ("items", "users", "activity")} == {"running"}
    # Their in-memory state was reloaded, not left with the rolled-back batch.
    for name in ("items", "users", "activity"):
        assert differences(hub.app, hub.store, name) == (head, []), name
