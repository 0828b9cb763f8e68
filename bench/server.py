"""One launcher of a serving process on a free loopback port, for benches and tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

HEALTH = "/api/v1/health"


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve an app with the uvicorn settings every benchmarked server shares."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def child_env(**extra: str) -> dict[str, str]:
    """This environment minus ItemHub, NiceGUI and pytest settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ITEMHUB_", "NICEGUI_", "PYTEST_"))
    }
    env.update(extra)
    return env


class ServerProcess:
    """``python <args> --port N`` on 127.0.0.1, its output kept; ``stop()`` it."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
    ) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, *args, "--port", str(self.port)],
            cwd=cwd,
            env=child_env(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.take_line(line)

    def take_line(self, line: str) -> None:
        """Keep one line the process printed (subclasses pick some out)."""
        self.output.append(line)

    @property
    def log(self) -> str:
        """Everything kept of what the process printed."""
        return "".join(self.output)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Return once the health endpoint answers 200; raise with the log if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log}")
            try:
                if httpx.get(f"{self.url}{HEALTH}", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                threading.Event().wait(0.1)  # the port is not listening yet
        raise RuntimeError(f"server not healthy in {timeout:.0f}s:\n{self.log}")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode
