"""Several real `itemhub serve` processes on one PostgreSQL database (and Redis)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server, child_env

API = "/api/v1"
REDIS_URL = "redis://127.0.0.1:6379/0"
# prod settings need real-looking secrets; every instance shares them.
SECRET = "cluster-test-secret-" + "x" * 32

pytestmark = pytest.mark.postgres


def cluster_env(database_url: str, **extra: str) -> dict[str, str]:
    """The settings every instance of one test cluster shares."""
    return {
        "ITEMHUB_DATABASE_URL": database_url,
        "ITEMHUB_AUTO_MIGRATE": "false",
        "ITEMHUB_REDIS_URL": REDIS_URL,
        "ITEMHUB_SECRET_KEY": SECRET,
        "ITEMHUB_STORAGE_SECRET": SECRET,
        "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
        "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
        "ITEMHUB_SSE_HEARTBEAT_SECONDS": "0.5",
        "ITEMHUB_LOGIN_RATE_LIMIT": "1000/minute",
        **extra,
    }


def run_cli(cwd: Path, env: dict[str, str], *args: str) -> str:
    """Run `itemhub <args>` to completion; fail the test on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", "itemhub", *args],
        cwd=cwd,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(
            f"itemhub {' '.join(args)} exited {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return done.stdout


@pytest.fixture
def redis_available() -> None:
    """Fail (never skip) when Redis is unreachable: the cluster needs it."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is required: {exc}")


@pytest.fixture
def migrated(postgres_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database after one `itemhub migrate`."""
    request.getfixturevalue("redis_available")
    run_cli(tmp_path, cluster_env(postgres_url), "migrate")
    return postgres_url


@pytest.fixture
def start_instance(migrated: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start instances of the cluster; every one still running is stopped after."""
    started: list[Server] = []

    def start(**extra: str) -> Server:
        cwd = tmp_path / f"instance-{uuid.uuid4().hex[:6]}"
        cwd.mkdir()
        server = Server(cwd, **cluster_env(migrated, **extra))
        started.append(server)
        server.wait_healthy()
        return server

    try:
        yield start
    finally:
        for server in started:
            if server.proc.poll() is None:
                server.stop()


def token(
    server: Server, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> str:
    """Log in through one instance's API."""
    response = httpx.post(
        f"{server.url}{API}/login/access-token",
        data={"username": email, "password": password},
        timeout=10,
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def wait_ready(server: Server, timeout: float = 30.0) -> dict[str, object]:
    """Poll /health/ready until it answers 200 (projections served somewhere)."""
    end = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < end:
        last = httpx.get(f"{server.url}{API}/health/ready", timeout=2.0)
        if last.status_code == 200:
            body: dict[str, object] = last.json()
            return body
        # Another process catches up; there is nothing in this one to wait on.
        time.sleep(0.1)
    pytest.fail(f"{server.url} not ready in {timeout}s: {last and last.text}")
