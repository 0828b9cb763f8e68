"""A failing projection handler stops its worker loudly and never skips an event."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import delete

from itemhub.commands import CreateItem, EditItem, ReadModelUnavailable
from itemhub.readside.replay import rebuild
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
