"""Writers on both instances move the same items, each with If-Match.

Every writer reads an item, then moves it to another column with the version
it read as ``If-Match``; on 409 it reads again. Afterwards, in the event
store: each item's versions are 1..n with no gap; every 200 is exactly one
event, made by that request (its correlation id is the response's
``X-Request-ID``), at the version after the one it named; no 409 left an
event; and every answer was 200 or 409.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from tests.cluster.conftest import cluster_env, create_item, run_cli, token, wait_ready
from tests.cluster.workload import (
    API,
    COLUMNS,
    gaps,
    stored_item_events,
)
from tests.e2e.server import Server

pytestmark = pytest.mark.slow

ITEMS = 3
WRITERS_PER_INSTANCE = 2
MOVES_PER_WRITER = 25


@dataclass(frozen=True, slots=True)
class Attempt:
    """One conditional move and its answer."""

    writer: str
    item_id: UUID
    if_match: int
    column: str
    status: int
    request_id: UUID
    body: str


def _writer(
    server: Server,
    bearer: str,
    name: str,
    items: list[UUID],
    start: threading.Barrier,
    attempts: list[Attempt],
    errors: list[str],
) -> None:
    rng = random.Random(name)
    read: dict[UUID, tuple[int, str]] = {}  # item -> (version, column) last read
    try:
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=30,
        ) as http:
            start.wait(timeout=30)
            for _ in range(MOVES_PER_WRITER):
                item_id = rng.choice(items)
                if item_id not in read:
                    got = http.get(f"{API}/items/{item_id}")
                    got.raise_for_status()
                    read[item_id] = (int(got.json()["version"]), got.json()["column"])
                version, column = read.pop(item_id)
                target = rng.choice([c for c in COLUMNS if c != column])
                moved = http.post(
                    f"{API}/items/{item_id}/move",
                    json={"column": target, "position": 0},
                    headers={"If-Match": f'"{version}"'},
                )
                attempts.append(
                    Attempt(
                        writer=name,
                        item_id=item_id,
                        if_match=version,
                        column=target,
                        status=moved.status_code,
                        request_id=UUID(moved.headers["X-Request-ID"]),
                        body=moved.text[:300],
                    )
                )
                if moved.status_code == 200:
                    # The response is a read too (possibly of a later version).
                    read[item_id] = (
                        int(moved.json()["version"]),
                        moved.json()["column"],
                    )
    except Exception as exc:
        errors.append(f"{name}: {exc!r}")


def test_conditional_moves_on_both_instances_lose_no_update(
    start_instance: Callable[..., Server],
    migrated: str,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    a = start_instance()
    b = start_instance()
    wait_ready(b)
    bearers = {a.url: token(a), b.url: token(b)}
    items = []
    for n in range(ITEMS):
        created = create_item(a, bearers[a.url], f"contended {n}", COLUMNS[0])
        items.append(UUID(created["id"]))

    attempts: list[Attempt] = []
    errors: list[str] = []
    writers = [
        (server, f"{label}{n}")
        for label, server in (("A", a), ("B", b))
        for n in range(WRITERS_PER_INSTANCE)
    ]
    start = threading.Barrier(len(writers))
    threads = [
        threading.Thread(
            target=_writer,
            args=(server, bearers[server.url], name, items, start, attempts, errors),
            daemon=True,
        )
        for server, name in writers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer did not finish"
    assert not errors, errors

    statuses = Counter(attempt.status for attempt in attempts)
    report(
        f"{len(attempts)} conditional moves by {len(writers)} writers on "
        f"{ITEMS} items: "
        + ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
    )
    assert set(statuses) <= {200, 409}, [
        t for t in attempts if t.status not in (200, 409)
    ][:5]
    # Otherwise the writers never raced and this test proved nothing.
    assert statuses[409] > 0 and statuses[200] > 0, statuses

    stored = stored_item_events(migrated, items)
    assert not gaps(stored)
    by_request: dict[UUID, list[tuple[UUID, int, str | None]]] = {}
    for item_id, events in stored.items():
        for event in events:
            by_request.setdefault(event.correlation_id, []).append(
                (item_id, event.version, event.column)
            )
    lost = [
        (t, by_request.get(t.request_id))
        for t in attempts
        if t.status == 200
        and by_request.get(t.request_id) != [(t.item_id, t.if_match + 1, t.column)]
    ]
    assert not lost, lost[:5]
    phantom = [t for t in attempts if t.status == 409 and t.request_id in by_request]
    assert not phantom, phantom[:5]
    # Every event after the creation is one of the acknowledged moves.
    moves = sum(len(events) - 1 for events in stored.values())
    assert moves == statuses[200], (moves, statuses)
    report("versions " + ", ".join(str(len(e)) for e in stored.values()))
    verified = run_cli(tmp_path, cluster_env(migrated), "verify")
    report("verify: " + "; ".join(verified.strip().splitlines()))
