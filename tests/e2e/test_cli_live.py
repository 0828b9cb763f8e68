"""A CLI command against a serving hub: the server's workers project it and push it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server, child_env
from tests.e2e.test_event_stream import Stream

API = "/api/v1"
ENV = {
    "ITEMHUB_FIRST_SUPERUSER_EMAIL": ADMIN_EMAIL,
    "ITEMHUB_FIRST_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
    "ITEMHUB_SSE_HEARTBEAT_SECONDS": "0.5",
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, **ENV)
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()


def test_a_user_created_by_the_cli_reaches_an_open_stream(
    served: Server, tmp_path: Path
) -> None:
    token = httpx.post(
        f"{served.url}{API}/login/access-token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    ).json()["access_token"]
    with httpx.Client(timeout=httpx.Timeout(10.0, read=30.0)) as client:
        request = client.build_request(
            "GET",
            f"{served.url}{API}/events/stream",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = client.send(request, stream=True)
        stream = Stream(response)
        reader = threading.Thread(target=stream.read, daemon=True)
        reader.start()
        try:
            assert stream.comments.get(timeout=10) == ": heartbeat"
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "itemhub",
                    "create-user",
                    "--email",
                    "cli@example.com",
                    "--password",
                    "cli-password-1",
                ],
                cwd=tmp_path,
                env=child_env(**ENV),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            (event,) = stream.next_events(1)
            assert json.loads(event["data"])["target_label"] == "cli@example.com"
        finally:
            response.close()
            reader.join(timeout=5)
