"""Guarantees of the security review (issue #12) that no other test module holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicegui.testing import User

HANDSHAKE = "/_nicegui_ws/socket.io/"
POLLING = {"EIO": "4", "transport": "polling"}
# The simulated browser talks to http://test.
FOREIGN_ORIGINS = (
    "https://evil.example",
    "http://test.evil.example",
    "https://test",
    "null",
)


async def test_socket_io_accepts_only_its_own_origin(
    app_env: Path, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    del app_env
    for origin in FOREIGN_ORIGINS:
        refused = await user.http_client.get(
            HANDSHAKE, params=POLLING, headers={"Origin": origin}
        )
        assert refused.status_code == 400, origin
        assert "access-control-allow-origin" not in refused.headers, origin
    # The same origin, and a client that sends none (not a browser), connect.
    for headers in ({"Origin": "http://test"}, {}):
        accepted = await user.http_client.get(
            HANDSHAKE, params=POLLING, headers=headers
        )
        assert accepted.status_code == 200, headers
        assert '"sid"' in accepted.text
    # engineio logs its first refusal as an error: here the expected outcome, which
    # the user fixture (it fails a test on any error log) must not see.
    caplog.clear()
