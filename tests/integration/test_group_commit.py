"""Group commit: concurrent saves share one transaction, and each fails alone."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from itemhub.events import Item
from itemhub.eventstore.group_commit import GroupCommit, GroupCommitting
from itemhub.runtime import Hub
from tests.unit.conftest import meta, new_item

WAIT = 10.0  # seconds; a safety net only


@dataclass
class Outcomes:
    """What each concurrent save got."""

    positions: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)


class HeldFirstWrite:
    """Holds the group's first write until the others have queued behind it."""

    def __init__(self, group: GroupCommit, monkeypatch: pytest.MonkeyPatch) -> None:
        self.group = group
        self.sizes: list[int] = []  # events per transaction tried
        self.release = threading.Event()
        inner = group._insert

        def insert(events: Sequence[StoredEvent]) -> Sequence[int] | None:
            self.sizes.append(len(events))
            if len(self.sizes) == 1:
                assert self.release.wait(WAIT)
            return inner(events)

        monkeypatch.setattr(group, "_insert", insert)

    def until_queued(self, count: int) -> None:
        """Wait until ``count`` saves wait behind the held write."""
        deadline = time.monotonic() + WAIT
        while self.group.queued() < count:
            assert time.monotonic() < deadline, "the saves did not queue"
            time.sleep(0.005)


def _run(
    saves: dict[str, Callable[[], list[int]]],
) -> tuple[Outcomes, list[threading.Thread]]:
    outcomes = Outcomes()

    def run(name: str, save: Callable[[], list[int]]) -> None:
        try:
            outcomes.positions[name] = save()
        except BaseException as exc:
            outcomes.errors[name] = exc

    threads = [
        threading.Thread(target=run, args=(name, save)) for name, save in saves.items()
    ]
    for thread in threads:
        thread.start()
    return outcomes, threads


def _saver(hub: Hub, item: Item) -> Callable[[], list[int]]:
    def save() -> list[int]:
        return [r.notification.id for r in hub.app.save(item)]

    return save


def _group(hub: Hub) -> GroupCommit:
    recorder = hub.app.recorder
    assert isinstance(recorder, GroupCommitting)
    return recorder.group_commit


def _stored(hub: Hub) -> Counter[tuple[str, int]]:
    notifications = hub.app.recorder.select_notifications(start=1, limit=100_000)
    return Counter((str(n.originator_id), n.originator_version) for n in notifications)


def test_saves_that_queue_meanwhile_share_one_transaction(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldFirstWrite(_group(hub), monkeypatch)
    first, first_threads = _run({"first": _saver(hub, new_item(title="first"))})
    items = {f"item {n}": new_item(title=f"item {n}") for n in range(8)}
    outcomes, threads = _run({name: _saver(hub, i) for name, i in items.items()})
    held.until_queued(len(items))
    held.release.set()
    for thread in first_threads + threads:
        thread.join(WAIT)

    assert not first.errors and not outcomes.errors
    assert held.sizes == [1, len(items)]  # one transaction for all eight
    # Each save got the positions of its own events.
    by_position = {
        n.id: n.originator_id
        for n in hub.app.recorder.select_notifications(start=1, limit=1000)
    }
    for name, item in items.items():
        assert [by_position[p] for p in outcomes.positions[name]] == [item.id]
    assert all(count == 1 for count in _stored(hub).values())


def test_one_conflicting_save_among_many_fails_alone(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    contested = new_item(title="contested")
    hub.app.save(contested)
    # Two commands moved the same item from the same version: one must lose.
    mine: Item = hub.app.repository.get(contested.id)
    theirs: Item = hub.app.repository.get(contested.id)
    mine.move(column="Doing", position=0, meta=meta())
    theirs.move(column="Done", position=0, meta=meta())
    before = _stored(hub)

    held = HeldFirstWrite(_group(hub), monkeypatch)
    first, first_threads = _run({"first": _saver(hub, new_item(title="first"))})
    items = {f"item {n}": new_item(title=f"item {n}") for n in range(8)}
    saves = {name: _saver(hub, i) for name, i in items.items()}
    saves |= {"mine": _saver(hub, mine), "theirs": _saver(hub, theirs)}
    outcomes, threads = _run(saves)
    held.until_queued(len(saves))
    held.release.set()
    for thread in first_threads + threads:
        thread.join(WAIT)

    assert not first.errors
    (loser,) = outcomes.errors
    assert loser in {"mine", "theirs"}
    assert isinstance(outcomes.errors[loser], IntegrityError)
    assert set(outcomes.positions) == set(saves) - {loser}
    # The batch was tried whole, then each alone.
    assert held.sizes == [1, len(saves)] + [1] * len(saves)
    stored = _stored(hub)
    assert all(count == 1 for count in stored.values())
    new = stored - before
    assert len(new) == 1 + len(items) + 1  # first, the eight, the winning move
    assert (str(contested.id), 2) in new
