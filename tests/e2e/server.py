"""A real `itemhub serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from itemhub.datadir import SECRETS_FILE

STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ITEMHUB_", "NICEGUI_", "PYTEST_"))
    }
    env.update(extra)
    return env


class Server:
    """An `itemhub serve` process on a free loopback port (stop it!)."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "itemhub", "serve", "--port", str(self.port)],
            cwd=cwd,
            env=child_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def secret(self, name: str) -> str:
        """A signing secret (``secret_key``, ``storage_secret``) dev made in ./data."""
        stored = json.loads((self.cwd / "data" / SECRETS_FILE).read_text())
        secret: str = stored[name]
        return secret

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited early:\n{''.join(self.output)}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                threading.Event().wait(0.1)  # the port is not listening yet
        pytest.fail(
            f"server not healthy in {STARTUP_TIMEOUT}s:\n{''.join(self.output)}"
        )

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code
