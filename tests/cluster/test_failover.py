"""The instance running the projections dies or shuts down under load.

Instance A starts first and runs every projection; B follows. A thread sends
commands through B at a steady rate. A is then killed (SIGKILL) or stopped
(SIGTERM); B must take over every projection, no acknowledged command may be
lost, and every read model must equal a replay of the log (`itemhub verify`).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

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

ACKS_BEFORE = 30  # acknowledged commands before the fault
ACKS_AFTER = 30  # ... and after the takeover
TAKEOVER_TIMEOUT = 10.0
EXIT_TIMEOUT = 10.0


def _leader_and_follower(
    start_instance: Callable[..., Server],
) -> tuple[Server, Server]:
    a = start_instance()
    wait_until(lambda: states_are(a, "running"), 30, "A runs every projection")
    b = start_instance()
    wait_ready(b)
    states = projection_states(b)
    assert states and set(states.values()) == {"standby"}, states
    return a, b


def _run_until_takeover(
    b: Server,
    load: CommandLoad,
    fault: Callable[[], None],
    report: Callable[[str], None],
) -> None:
    load.wait_for_acks(ACKS_BEFORE, timeout=30)
    before = load.acknowledged()
    fault()
    states, took = wait_until(
        lambda: states_are(b, "running"),
        TAKEOVER_TIMEOUT,
        "B runs every projection after A is gone",
    )
    report(f"B ran all of {sorted(states)} {took * 1000:.0f} ms after A was gone")
    load.wait_for_acks(load.acknowledged() + ACKS_AFTER, timeout=30)
    report(f"acknowledged: {before} before the fault, {load.acknowledged()} in all")


def test_killing_the_leader_under_load_loses_no_acknowledged_command(
    start_instance: Callable[..., Server],
    migrated: str,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    a, b = _leader_and_follower(start_instance)
    bearer = token(b)
    load = CommandLoad(b, bearer, via="B", actor_id=user_id(b, bearer)).start()

    def kill() -> None:
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=EXIT_TIMEOUT)

    try:
        _run_until_takeover(b, load, kill, report)
    finally:
        load.stop()
    check_nothing_lost([load], migrated, tmp_path, report)


def test_stopping_the_leader_under_load_hands_over_cleanly(
    start_instance: Callable[..., Server],
    migrated: str,
    tmp_path: Path,
    report: Callable[[str], None],
) -> None:
    a, b = _leader_and_follower(start_instance)
    bearer = token(b)
    load = CommandLoad(b, bearer, via="B", actor_id=user_id(b, bearer)).start()
    exited: list[int] = []

    def terminate() -> None:
        a.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        try:
            exited.append(a.proc.wait(timeout=EXIT_TIMEOUT))
        except subprocess.TimeoutExpired:
            pytest.fail(f"A did not exit within {EXIT_TIMEOUT}s of SIGTERM")
        took = (time.monotonic() - sent) * 1000
        report(f"A exited {exited[0]} {took:.0f} ms after SIGTERM")

    try:
        _run_until_takeover(b, load, terminate, report)
    finally:
        load.stop()
    a.stop()  # joins the output reader (A has exited)
    output = "".join(a.output)
    # A graceful exit: uvicorn re-raises SIGTERM once shutdown is complete (as
    # tests/e2e/test_serve_process.py pins), so the status is -SIGTERM, not 0.
    assert exited == [-signal.SIGTERM], output[-3000:]
    assert "Application shutdown complete" in output, output[-3000:]
    # A stepped down from every projection after draining its batch in flight.
    stepped_down = "stopped running projections items, users, activity, chain"
    assert stepped_down in output, output[-3000:]
    assert "did not stop within" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    # B never found a second writer's commit under its own (the fence).
    assert "moved away from" not in "".join(b.output)
    check_nothing_lost([load], migrated, tmp_path, report)
