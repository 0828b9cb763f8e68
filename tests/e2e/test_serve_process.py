"""`itemhub serve` as a real process: what `make run` does, and bad settings."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server, child_env


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_serve_creates_the_databases_the_admin_and_serves_api_and_ui(
    workdir: Path,
) -> None:
    server = Server(workdir)
    try:
        server.wait_healthy()
        ready = httpx.get(f"{server.url}/api/v1/health/ready", timeout=5)
        root = httpx.get(f"{server.url}/", timeout=5)
        login_page = httpx.get(f"{server.url}/login", timeout=5)
    finally:
        code = server.stop()
    assert ready.status_code == 200 and ready.json()["ready"] is True
    # The board needs a login: an anonymous visit is redirected there.
    assert root.status_code == 303 and root.headers["location"] == "/login?next=%2F"
    assert login_page.status_code == 200
    assert "<title>Log in · ItemHub</title>" in login_page.text
    # uvicorn re-raises SIGTERM after a graceful shutdown.
    assert code == -signal.SIGTERM
    assert any("Application shutdown complete" in line for line in server.output)
    assert (workdir / "data" / "itemhub.db").exists()
    assert (workdir / "data" / "itemhub-read.db").exists()
    # Sessions, secrets and data are this user's alone.
    assert private_mode(workdir / "data") == 0o700
    assert private_mode(workdir / "data" / "secrets.json") == 0o600
    assert private_mode(workdir / ".nicegui") == 0o700
    secrets = (workdir / "data" / "secrets.json").read_text()
    printed = [line for line in server.output if "with password" in line]
    assert len(printed) == 1 and "admin@example.com" in printed[0]

    again = Server(workdir)
    try:
        again.wait_healthy()
    finally:
        again.stop()
    assert not any("with password" in line for line in again.output)
    assert (workdir / "data" / "secrets.json").read_text() == secrets


def private_mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ITEMHUB_DATABASE_URL": "mysql://x/y"}, "ITEMHUB_DATABASE_URL must start"),
        (
            {"ITEMHUB_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"},
            "cannot reach PostgreSQL 127.0.0.1:1/x",
        ),
        ({"ITEMHUB_ENV": "prod"}, "ITEMHUB_SECRET_KEY must be set"),
        ({"ITEMHUB_SECRET_KEY": "changethis"}, "ITEMHUB_SECRET_KEY: must be a random"),
        ({"ITEMHUB_PORT": "99999"}, "ITEMHUB_PORT"),
    ],
)
def test_bad_settings_stop_startup_with_one_clear_line(
    workdir: Path, env: dict[str, str], expected: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "itemhub", "serve"],
        cwd=workdir,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("itemhub: ") and expected in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
