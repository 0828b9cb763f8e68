"""Processes that create tables at once take turns instead of racing on DDL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import cluster_env
from tests.e2e.server import child_env

PROCESSES = 6

pytestmark = pytest.mark.postgres


def test_concurrent_migrations_on_a_fresh_database_all_succeed(
    postgres_url: str, tmp_path: Path
) -> None:
    env = child_env(**cluster_env(postgres_url))
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "itemhub", "migrate"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in running]
    failed = [out for p, out in zip(running, outputs, strict=True) if p.returncode]
    assert not failed, "\n---\n".join(failed)
