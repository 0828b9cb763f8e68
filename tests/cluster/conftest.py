"""Several real `itemhub serve` processes on one PostgreSQL database (and Redis)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server, child_env

API = "/api/v1"
REDIS_URL = "redis://127.0.0.1:6379/0"
# prod settings need real-looking secrets; every instance shares them.
SECRET = "cluster-test-secret-" + "x" * 32


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


@contextlib.contextmanager
def instances(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A starter of instances on ``database_url``; all are stopped on exit."""
    started: list[Server] = []

    def start(**extra: str) -> Server:
        cwd = tmp_path / f"instance-{uuid.uuid4().hex[:6]}"
        cwd.mkdir()
        server = Server(cwd, **cluster_env(database_url, **extra))
        started.append(server)
        server.wait_healthy()
        return server

    try:
        yield start
    finally:
        for server in started:
            # Also for one that exited (killed by a test): closes its pipe.
            server.stop()


@pytest.fixture
def start_instance(migrated: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start instances of the cluster; every one still running is stopped after."""
    with instances(migrated, tmp_path) as start:
        yield start


# --- a private PostgreSQL server, for tests that stop and restart it -------------

PG_BIN = Path(os.environ.get("ITEMHUB_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_OS_USER = "postgres"
PG_TIMEOUT = 60


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free loopback port (stop it!).

    Run as the ``postgres`` OS user when this process is root (PostgreSQL
    refuses to run as root), else as the current user.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/itemhub"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        as_user = ["runuser", "-u", PG_OS_USER, "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*as_user, str(PG_BIN / program), *args],
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT + 30,
            check=False,
        )

    def _check(self, done: subprocess.CompletedProcess[str], what: str) -> None:
        if done.returncode != 0:
            pytest.fail(
                f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                f"{self.log_tail()}"
            )

    def init(self) -> None:
        """initdb, trust authentication for the ``postgres`` role."""
        self._check(
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-instructions",
            ),
            "initdb",
        )

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        # Otherwise PostgreSQL's defaults (max_connections = 100).
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._check(
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.logfile),
                "-o",
                options,
                "-w",
                "-t",
                str(PG_TIMEOUT),
                "start",
            ),
            "pg_ctl start",
        )

    def stop_immediately(self) -> None:
        """``pg_ctl -m immediate stop``: every backend dies, no checkpoint."""
        self._check(
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
            "pg_ctl stop",
        )

    def running(self) -> bool:
        """True while the postmaster runs."""
        return self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def create_database(self) -> None:
        """The ``itemhub`` database the URL names."""
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute("CREATE DATABASE itemhub")

    def connections(self) -> int:
        """Client connections to the ``itemhub`` database now."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
        ) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'itemhub'"
            ).fetchone()
        return int(row[0]) if row else 0

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "".join(text.splitlines(keepends=True)[-lines:])


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL server with an empty ``itemhub`` database.

    Always stopped (immediately) and removed afterwards, whatever the test did
    to it. Never the shared server: other tests use that one.
    """
    for program in ("initdb", "pg_ctl"):
        if not (PG_BIN / program).exists():
            pytest.fail(f"{PG_BIN / program} is required (postgresql-15)")
    # Short, under /tmp: the Unix socket path must stay below ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="itemhub-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, PG_OS_USER, PG_OS_USER)
        server = PrivatePostgres(root)
        server.init()
        server.start()
        try:
            server.create_database()
            yield server
        finally:
            if server.running():
                server.stop_immediately()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def start_private_instance(
    private_postgres: PrivatePostgres,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Server]]:
    """Like ``start_instance``, on the private server (migrated once)."""
    request.getfixturevalue("redis_available")
    run_cli(tmp_path, cluster_env(private_postgres.url), "migrate")
    with instances(private_postgres.url, tmp_path) as start:
        yield start


@pytest.fixture
def report(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[str], None]]:
    """Figures a test reports: shown on the terminal (even when it fails)."""
    lines: list[str] = []

    def add(line: str) -> None:
        lines.append(line)
        request.node.user_properties.append(("report", line))

    try:
        yield add
    finally:
        if lines:
            with capsys.disabled():
                name = request.node.name
                sys.stdout.write("\n" + "".join(f"[{name}] {line}\n" for line in lines))
                sys.stdout.flush()


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


def create_item(
    server: Server, bearer: str, title: str, column: str = "Todo"
) -> dict[str, Any]:
    """Create an item through one instance's API; its JSON."""
    created = httpx.post(
        f"{server.url}{API}/items",
        json={"title": title, "column": column},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    return item


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
