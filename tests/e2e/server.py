"""A real `itemhub serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.server import ServerProcess, child_env
from itemhub.datadir import SECRETS_FILE

STARTUP_TIMEOUT = 30.0

__all__ = ["Server", "child_env"]


class Server(ServerProcess):
    """An `itemhub serve` process on a free loopback port (stop it!)."""

    def __init__(self, cwd: Path, **env: str) -> None:
        super().__init__(["-m", "itemhub", "serve"], cwd=cwd, env=env)

    def secret(self, name: str) -> str:
        """A signing secret (``secret_key``, ``storage_secret``) dev made in ./data."""
        stored = json.loads((self.cwd / "data" / SECRETS_FILE).read_text())
        secret: str = stored[name]
        return secret

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once the server answers; fail the test with its log if not."""
        try:
            super().wait_healthy(timeout)
        except RuntimeError as exc:
            pytest.fail(str(exc))
