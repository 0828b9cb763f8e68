"""`itemhub serve` as a real process: what `make run` does, and bad settings."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from itemhub.config import SECRET_NAMES
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
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
    assert expected in startup_failure(workdir, env)


def startup_failure(workdir: Path, env: dict[str, str]) -> str:
    """The one line `itemhub serve` prints as it refuses to start (exit code 2)."""
    result = subprocess.run(
        [sys.executable, "-m", "itemhub", "serve"],
        cwd=workdir,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("itemhub: ")
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_a_session_directory_that_cannot_be_made_stops_startup_with_one_line(
    workdir: Path,
) -> None:
    # As in an image whose /app the process may not write. Tests run as root,
    # which may write anywhere: a file where a parent directory belongs is in
    # the way for root too.
    (workdir / "taken").write_text("")
    storage = workdir / "taken" / "nicegui"

    line = startup_failure(workdir, {"NICEGUI_STORAGE_PATH": str(storage)})

    assert f"cannot create the UI session directory {storage}" in line
    assert "NICEGUI_STORAGE_PATH" in line


def test_a_dev_secrets_file_others_may_read_stops_startup_with_one_line(
    workdir: Path,
) -> None:
    secrets = workdir / "data" / "secrets.json"
    secrets.parent.mkdir()
    # Secrets good enough to be used, had another user planted them.
    secrets.write_text(json.dumps(dict.fromkeys(SECRET_NAMES, "k" * 48)))
    secrets.chmod(0o644)

    line = startup_failure(workdir, {})

    assert "data/secrets.json is refused: its mode 0644" in line


def _failed_login(server: Server, n: int, forwarded_for: str) -> httpx.Response:
    """A wrong password for a new address each time: only the IP key counts."""
    return httpx.post(
        f"{server.url}/api/v1/login/access-token",
        data={"username": f"guess-{n}@example.com", "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=10,
    )


def _security_ips(server: Server, token: str) -> set[str]:
    response = httpx.get(
        f"{server.url}/api/v1/audit/security",
        params={"kind": "login_failed"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {entry["ip"] for entry in response.json()}


def _admin_token(server: Server) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/login/access-token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_a_forged_x_forwarded_for_neither_dodges_the_throttle_nor_enters_the_log(
    workdir: Path,
) -> None:
    admin = {
        "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
        "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
    }
    for name in ("direct", "proxied"):
        (workdir / name).mkdir()
    server = Server(workdir / "direct", **admin)
    try:
        server.wait_healthy()
        token = _admin_token(server)
        refused = [_failed_login(server, n, f"203.0.113.{n}") for n in range(5)]
        sixth = _failed_login(server, 5, "203.0.113.5")
        ips = _security_ips(server, token)
    finally:
        server.stop()
    assert [r.status_code for r in refused] == [401] * 5
    # Every guess came from this one address, whatever the header claimed.
    assert sixth.status_code == 429, sixth.text
    assert ips == {"127.0.0.1"}

    # The control: told to trust this address as its proxy, it takes the header.
    proxied = Server(
        workdir / "proxied", ITEMHUB_FORWARDED_ALLOW_IPS="127.0.0.1", **admin
    )
    try:
        proxied.wait_healthy()
        token = _admin_token(proxied)
        assert _failed_login(proxied, 0, "203.0.113.50").status_code == 401
        ips = _security_ips(proxied, token)
    finally:
        proxied.stop()
    assert ips == {"203.0.113.50"}
