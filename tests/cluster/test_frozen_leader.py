"""A leader that freezes (SIGSTOP: a long GC pause, a stuck host) loses its lease.

Instance A leads every projection; commands flow through B. A is stopped with
SIGSTOP: its sockets stay open, so only the `idle_session_timeout` lease on its
lock connections frees the locks. B must take over, and when A wakes up
(SIGCONT) it must step down instead of writing as a second leader: nothing is
lost and every read model still equals a replay.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from itemhub.readside.election import LEASE_SECONDS
from tests.cluster.conftest import token, wait_ready
from tests.cluster.workload import (
    CommandLoad,
    check_nothing_lost,
    projection_states,
    states_are,
    user_id,
    wait_until,
)
from tests.e2e.server import Server

pytestmark = pytest.mark.slow

ACKS = 20
# The lease plus the follower's next try and a loaded machine's slack.
TAKEOVER_TIMEOUT = LEASE_SECONDS + 15.0


def test_a_frozen_leader_is_replaced_and_steps_down_when_it_wakes(
    start_instance: Callable[..., Server],
    migrated: str,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    a = start_instance()
    wait_until(lambda: states_are(a, "running"), 30, "A runs every projection")
    b = start_instance()
    wait_ready(b)
    bearer = token(b)
    load = CommandLoad(b, bearer, via="B", actor_id=user_id(b, bearer)).start()
    try:
        load.wait_for_acks(ACKS, timeout=30)
        a.proc.send_signal(signal.SIGSTOP)
        try:
            _, took = wait_until(
                lambda: states_are(b, "running"),
                TAKEOVER_TIMEOUT,
                "B runs every projection while A is frozen",
            )
            report(f"B took over {took * 1000:.0f} ms after A froze")
            acked = load.acknowledged()
            load.wait_for_acks(acked + ACKS, timeout=30)
        finally:
            a.proc.send_signal(signal.SIGCONT)
        # Awake again, A finds its lock sessions gone and follows B.
        _, took = wait_until(
            lambda: states_are(a, "standby"), 30, "A steps down after waking"
        )
        report(f"A was standby {took * 1000:.0f} ms after waking")
        load.wait_for_acks(load.acknowledged() + ACKS, timeout=30)
    finally:
        load.stop()
    states = projection_states(b)
    assert states is not None and set(states.values()) == {"running"}, states
    check_nothing_lost([load], migrated, tmp_path, report)
