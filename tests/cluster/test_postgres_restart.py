"""PostgreSQL stops (immediately) and starts again under load on two instances.

Runs its own PostgreSQL server (the ``private_postgres`` fixture): the shared
one serves other tests. Commands go through both instances all along; each
instance holds an SSE stream open across the outage. Afterwards both instances
are ready again on their own (one leader per projection, the other following
it), every acknowledged command is stored exactly once and reached both
streams, and every read model equals a replay of the log.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from tests.cluster.conftest import PrivatePostgres, create_item, token, wait_ready
from tests.cluster.workload import (
    API,
    CommandLoad,
    check_nothing_lost,
    logged_exceptions,
    one_leader_each,
    states_are,
    user_id,
    wait_until,
)
from tests.e2e.server import Server
from tests.e2e.test_event_stream import Stream

pytestmark = pytest.mark.slow

ACKS_BEFORE = 20  # per instance, before the stop
ACKS_AFTER = 20  # per instance, after both are ready again
RECOVERY_TIMEOUT = 30.0
PUSH_TIMEOUT = 15.0
# No heartbeat during the test: a heartbeat checks the session in the database,
# which would end the streams during the outage; these must survive it.
QUIET = {"ITEMHUB_SSE_HEARTBEAT_SECONDS": "300"}


class Received:
    """Every event one SSE stream delivered (a thread drains the stream)."""

    def __init__(self, server: Server, bearer: str) -> None:
        self.via = server.url
        self.client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        request = self.client.build_request(
            "GET",
            f"{server.url}{API}/events/stream",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        response = self.client.send(request, stream=True)
        assert response.status_code == 200, response.read()
        self.stream = Stream(response)
        self.reader = threading.Thread(target=self.stream.read, daemon=True)
        self.reader.start()
        self.command_ids: Counter[UUID] = Counter()
        self.targets: set[UUID] = set()

    def drain(self) -> None:
        """Take in what arrived so far."""
        while True:
            try:
                event = self.stream.events.get_nowait()
            except queue.Empty:
                return
            data = json.loads(event["data"])
            self.command_ids[UUID(data["command_id"])] += 1
            self.targets.add(UUID(data["target_id"]))

    def has_target(self, target: UUID) -> bool:
        """True once an event about ``target`` arrived."""
        self.drain()
        return target in self.targets

    def has_all(self, command_ids: set[UUID]) -> bool:
        """True once an event of every command in ``command_ids`` arrived."""
        self.drain()
        return command_ids <= set(self.command_ids)

    def close(self) -> None:
        self.stream.response.close()
        self.client.close()
        self.reader.join(timeout=5)


@pytest.mark.parametrize(
    "noticed",
    [False, True],
    ids=["restart-at-once", "down-until-backoff"],
)
def test_a_postgres_restart_under_load_loses_nothing(
    noticed: bool,
    start_private_instance: Callable[..., Server],
    private_postgres: PrivatePostgres,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    a = start_private_instance(**QUIET)
    wait_until(lambda: states_are(a, "running"), 30, "A runs every projection")
    b = start_private_instance(**QUIET)
    wait_ready(b)
    bearers = {a.url: token(a), b.url: token(b)}
    streams: list[Received] = []
    loads: list[CommandLoad] = []
    try:
        streams = [Received(s, bearers[s.url]) for s in (a, b)]
        # Both streams are subscribed once a change made now reaches them.
        probe_id = UUID(create_item(a, bearers[a.url], "probe")["id"])
        for stream in streams:
            wait_until(
                partial(stream.has_target, probe_id),
                PUSH_TIMEOUT,
                f"the probe reached the stream on {stream.via}",
            )
        loads = [
            CommandLoad(s, bearers[s.url], via=via, actor_id=user_id(s, bearers[s.url]))
            for via, s in (("A", a), ("B", b))
        ]
        try:
            _restart_under_load(a, b, loads, private_postgres, report, noticed=noticed)
        finally:
            for load in loads:
                load.stop()
        acked = {ack.command_id for load in loads for ack in load.acks}
        for stream in streams:
            wait_until(
                partial(stream.has_all, acked),
                PUSH_TIMEOUT,
                f"every acknowledged command reached the stream on {stream.via}",
            )
            doubled = [c for c in acked if stream.command_ids[c] != 1]
            assert not doubled, f"pushed more than once on {stream.via}: {doubled}"
        report(f"all {len(acked)} acknowledged commands reached both streams, once")
    finally:
        for stream in streams:
            stream.close()
    for server, via in ((a, "A"), (b, "B")):
        for exception, count in logged_exceptions(server).most_common():
            report(f"{via} logged {count} x {exception}")
    check_nothing_lost(loads, private_postgres.url, tmp_path, report)


def logged_since(server: Server, line: int, text: str) -> bool:
    """True when ``server`` printed ``text`` after its first ``line`` lines."""
    return any(text in printed for printed in server.output[line:])


def _restart_under_load(
    a: Server,
    b: Server,
    loads: list[CommandLoad],
    postgres: PrivatePostgres,
    report: Callable[[str], None],
    *,
    noticed: bool,
) -> None:
    for load in loads:
        load.start()
    for load in loads:
        load.wait_for_acks(ACKS_BEFORE, timeout=30)
    printed = {server.url: len(server.output) for server in (a, b)}
    postgres.stop_immediately()
    stopped = time.monotonic()
    if noticed:
        # Down for seconds: until both instances' relays have failed to
        # reconnect often enough to back off to the longest pause (their API
        # cannot tell: while the database is down an event-store call
        # retries for about 50 s).
        for server in (a, b):
            wait_until(
                partial(
                    logged_since,
                    server,
                    printed[server.url],
                    "change-feed relay disconnected, retrying in 2.0s",
                ),
                RECOVERY_TIMEOUT,
                f"{server.url} notices that PostgreSQL is down",
            )
    postgres.start()
    report(
        "PostgreSQL down (immediate stop until accepting again): "
        f"{time.monotonic() - stopped:.2f} s"
    )
    leaders, took = wait_until(
        lambda: one_leader_each([a, b]),
        RECOVERY_TIMEOUT,
        "both instances ready again, one leader per projection",
    )
    names = {a.url: "A", b.url: "B"}
    report(
        f"both ready {took:.2f} s after PostgreSQL was back; leaders: "
        + ", ".join(f"{p}={names[u]}" for p, u in sorted(leaders.items()))
    )
    for load in loads:
        load.wait_for_acks(load.acknowledged() + ACKS_AFTER, timeout=60)


def test_liveness_answers_while_postgres_is_down(
    start_private_instance: Callable[..., Server],
    private_postgres: PrivatePostgres,
) -> None:
    """`GET /health` is the process and its event loop, not the database.

    It once asked the event store for the head of the log on the event loop:
    with PostgreSQL down that blocked the whole instance (every request,
    stream and board socket) for about 52 s (10 retries x 5 s pool wait), then
    answered 500, so an orchestrator would restart every instance for a
    database outage.
    """
    a = start_private_instance()
    wait_ready(a)
    private_postgres.stop_immediately()
    response = httpx.get(f"{a.url}{API}/health", timeout=90)
    assert response.status_code == 200, response.text
    assert response.json()["workers"], response.text
