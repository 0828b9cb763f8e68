"""deploy/nginx.conf served by a real nginx on loopback, for end-to-end tests.

nginx is required: CI installs it (``.ci/run``), so tests using it fail, never
skip, without it.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

NGINX_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
# The upstream servers of nginx.conf: the compose services of the instances.
INSTANCES = ("app1", "app2")
NGINX_START_TIMEOUT = 10.0


def nginx() -> str:
    """The nginx binary (Debian puts it in /usr/sbin, off a user's PATH)."""
    found = shutil.which("nginx") or shutil.which(
        "nginx", path="/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin"
    )
    if found is None:
        pytest.fail("nginx is required: apt-get install nginx-light (see .ci/run)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def local_copy(directory: Path, listen: int, upstreams: dict[str, int]) -> Path:
    """deploy/nginx.conf with loopback upstreams, port and temp paths (no root)."""
    conf = NGINX_CONF.read_text()
    for name, port in upstreams.items():
        conf, n = re.subn(rf"server\s+{name}:8080\b", f"server 127.0.0.1:{port}", conf)
        assert n == 1, name
    conf, n = re.subn(r"listen\s+80\b", f"listen 127.0.0.1:{listen}", conf)
    assert n == 1
    # The container logs to its stdout; here a file the test user can open.
    conf, n = re.subn(
        r"access_log\s+/dev/stdout;", f"access_log {directory / 'access.log'};", conf
    )
    assert n == 1
    temp = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = conf.replace("http {\n", "http {\n" + temp, 1)
    path = directory / "nginx.conf"
    path.write_text(conf)
    return path


def nginx_args(path: Path) -> list[str]:
    directory = path.parent
    return [
        nginx(),
        "-p",
        str(directory),
        "-c",
        str(path),
        "-g",
        f"pid {directory / 'nginx.pid'}; daemon off;",
    ]


@contextmanager
def running_nginx(path: Path, port: int) -> Iterator[None]:
    proc = subprocess.Popen(
        nginx_args(path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + NGINX_START_TIMEOUT
        while True:  # until nginx listens (or gives up)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.02)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@dataclass(frozen=True)
class Proxy:
    """A running nginx on deploy/nginx.conf."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def proxy_in_front(directory: Path, upstream_port: int) -> Iterator[Proxy]:
    """nginx on a free port with both upstream entries on one instance's port."""
    port = free_port()
    path = local_copy(directory, port, dict.fromkeys(INSTANCES, upstream_port))
    with running_nginx(path, port):
        yield Proxy(port)
