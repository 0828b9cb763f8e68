"""The background checkpointer keeps time travel close to a stored checkpoint."""

from __future__ import annotations

from contextlib import nullcontext

from itemhub.commands import CreateItem, MoveItem
from itemhub.queries.checkpoints import BoardCheckpoints
from itemhub.queries.history import board_as_of
from itemhub.readside.checkpointer import Checkpointer
from itemhub.runtime import Hub
from tests.conftest import register

SPACING = 20


def _grow(hub: Hub, events: int) -> None:
    alice = register(hub)
    created = hub.bus.handle(CreateItem(title="card", column="Todo"), alice)
    for n in range(events - 1):
        column = ("Doing", "Done")[n % 2]
        hub.bus.handle(
            MoveItem(item_id=created.aggregate_id, column=column, position=0), alice
        )


def test_it_folds_to_the_head_once_the_log_grew_a_spacing(hub: Hub) -> None:
    checkpoints = BoardCheckpoints(hub.store, spacing=SPACING, per_item=0)
    checkpoints.clear()
    checkpointer = Checkpointer(hub.app, checkpoints)
    assert hub.head() < SPACING
    assert checkpointer.run_once() is None

    _grow(hub, 3 * SPACING)
    head = hub.head()
    assert checkpointer.run_once() == head
    stored = checkpoints.positions()
    assert stored and head - stored[-1] < SPACING
    # Nothing new to fold: it does not fold again.
    assert checkpointer.run_once() is None
    assert checkpoints.positions() == stored

    # A look at the past starts from a checkpoint and equals a full fold.
    columns = hub.settings.board_columns
    for position in (stored[0], head - 1, head):
        fold, _ = checkpoints.nearest(position)
        assert fold is not None
        assert board_as_of(
            hub.app, position, columns, checkpoints=checkpoints
        ) == board_as_of(hub.app, position, columns)


def test_it_leaves_the_fold_to_whoever_holds_the_lock(hub: Hub) -> None:
    checkpoints = BoardCheckpoints(hub.store, spacing=SPACING, per_item=0)
    checkpoints.clear()
    _grow(hub, 2 * SPACING)
    elsewhere = Checkpointer(hub.app, checkpoints, lock=lambda: nullcontext(False))
    assert elsewhere.run_once() is None
    assert checkpoints.positions() == []


def test_the_running_hub_writes_checkpoints_in_the_background(hub: Hub) -> None:
    assert hub.checkpointer._thread is not None
    assert hub.checkpointer._thread.is_alive()
    hub.stop()
    assert not hub.checkpointer._thread.is_alive()
