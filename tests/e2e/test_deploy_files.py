"""docker-compose.yml, deploy/nginx.conf and the Dockerfile, checked without Docker.

The compose file is validated against the compose specification and read for
its structure; the proxy configuration is checked by nginx itself (``nginx -t``)
and then served by a real nginx in front of two stand-in instances, and in
front of a real ``itemhub serve``. nginx is required: CI installs it
(``.ci/run``), so these tests fail, never skip, without it.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address, ip_network
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import yaml

from tests.e2e.proxy import (
    INSTANCES,
    NGINX_CONF,
    free_port,
    local_copy,
    nginx_args,
    proxy_in_front,
    running_nginx,
)
from tests.e2e.server import Server

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = (
    "ITEMHUB_SECRET_KEY",
    "ITEMHUB_STORAGE_SECRET",
    "ITEMHUB_FIRST_SUPERUSER_PASSWORD",
)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


# --- the compose file ------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_exactly_these_services() -> None:
    assert set(_services()) == {"db", "redis", "migrate", *INSTANCES, "proxy"}


def test_database_is_postgres_17_with_a_health_check_and_a_named_volume() -> None:
    compose = _compose()
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:17")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_redis_is_version_7_with_a_health_check() -> None:
    redis = _services()["redis"]
    assert redis["image"].startswith("redis:7")
    assert "ping" in " ".join(redis["healthcheck"]["test"])


def test_migrate_runs_once_after_a_healthy_db() -> None:
    migrate = _services()["migrate"]
    assert migrate["build"] == "."
    assert _command(migrate) == "itemhub migrate"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"


def test_two_identical_instances_serve_after_migrate_with_healthy_db_and_redis() -> (
    None
):
    services = _services()
    first, second = (services[name] for name in INSTANCES)
    assert first == second
    assert _command(first) == "itemhub serve"
    assert "itemhub migrate" not in _command(first)
    assert first["image"] == services["migrate"]["image"]
    assert first["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    env = first["environment"]
    assert env["ITEMHUB_ENV"] == "prod"
    assert env["ITEMHUB_HOST"] == "0.0.0.0"
    assert env["ITEMHUB_PORT"] == "8080"
    assert env["ITEMHUB_AUTO_MIGRATE"] == "false"
    assert env["ITEMHUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["ITEMHUB_DATABASE_URL"].endswith("@db:5432/itemhub")
    assert env["ITEMHUB_REDIS_URL"] == "redis://redis:6379/0"
    # The instances are reached through the proxy only.
    assert "ports" not in first
    assert "/api/v1/health/ready" in " ".join(first["healthcheck"]["test"])


def test_migrate_and_the_instances_share_database_and_secrets() -> None:
    services = _services()
    migrate_env = services["migrate"]["environment"]
    for name in INSTANCES:
        env = services[name]["environment"]
        assert {k: env[k] for k in migrate_env} == migrate_env, name


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in _services().items():
        if name == "migrate":
            assert service["healthcheck"] == {"disable": True}
            continue
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check["retries"] >= 1, name
        assert service["restart"] == "unless-stopped", name


def test_proxy_is_nginx_with_the_config_mounted_and_the_only_published_port() -> None:
    services = _services()
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:1.27")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["ports"] == ["8080:80"]
    for name in INSTANCES:
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    assert "/proxy-health" in " ".join(proxy["healthcheck"]["test"])
    published = [name for name, service in services.items() if "ports" in service]
    assert published == ["proxy"]


def test_every_secret_must_be_supplied_and_none_is_written_in_the_file() -> None:
    text = COMPOSE.read_text()
    for name in ("migrate", *INSTANCES):
        env = _services()[name]["environment"]
        for secret in SECRETS:
            assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[secret]), (name, secret)
    assert "${POSTGRES_PASSWORD:?" in text
    assert "changethis" not in text


def test_dockerfile_installs_the_package_and_serves_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert 'CMD ["itemhub", "serve"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile


def _dockerfile_env() -> dict[str, str]:
    """The image's environment: every ``ENV key=value`` of the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV\s+(.+)$", text, re.M):
        for pair in line.split():
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def test_the_image_runs_as_prod_with_private_data_and_ships_no_secret() -> None:
    env = _dockerfile_env()

    assert env["ITEMHUB_HOST"] == "0.0.0.0"
    # prod refuses to start without strong secrets and a first password.
    assert env["ITEMHUB_ENV"] == "prod"
    assert not set(SECRETS) & set(env)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "changethis" not in dockerfile
    assert "chmod 700 /app/data" in dockerfile


def test_the_image_keeps_ui_sessions_in_the_data_directory_its_user_owns() -> None:
    # NiceGUI's default is ./.nicegui, i.e. /app/.nicegui, in a directory the
    # runtime user may not write: without Redis the image would not start.
    storage = PurePosixPath(_dockerfile_env()["NICEGUI_STORAGE_PATH"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\w+)", dockerfile, re.M)

    assert storage.is_relative_to("/app/data")
    assert user is not None and f"chown {user.group(1)} /app/data" in dockerfile


# --- the nginx configuration -------------------------------------------------------


def _location(conf: str, path: str) -> str:
    """The body of ``location <path> {...}`` (exact-match ``=`` allowed)."""
    found = re.search(
        r"location\s+(?:=\s+)?" + re.escape(path) + r"\s*\{([^}]*)\}", conf
    )
    assert found is not None, f"no location {path}"
    return found.group(1)


def test_nginx_routes_on_a_proxy_set_cookie_to_both_instances() -> None:
    conf = NGINX_CONF.read_text()
    upstream = re.search(r"upstream\s+itemhub\s*\{([^}]*)\}", conf)
    assert upstream is not None
    body = upstream.group(1)
    assert re.findall(r"^\s*server\s+(\S+)", body, re.M) == ["app1:8080", "app2:8080"]
    assert re.search(r"^\s*hash\s+\$route_key\s+consistent;", body, re.M)
    # A first visit has no session cookie yet: hashing on it breaks the socket.
    assert "$cookie_session" not in conf
    assert re.search(r"map\s+\$cookie_ih_route\s+\$route_key", conf)
    assert re.search(r"add_header\s+Set-Cookie\s+\$route_cookie\s+always;", conf)


def test_nginx_upgrades_websockets_and_does_not_buffer_the_event_stream() -> None:
    conf = NGINX_CONF.read_text()
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", conf)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", conf)
    assert re.search(r"proxy_http_version\s+1\.1;", conf)
    socket_io = _location(conf, "/_nicegui_ws/")
    assert re.search(r"proxy_read_timeout\s+1h;", socket_io)
    stream = _location(conf, "/api/v1/events/stream")
    assert re.search(r"proxy_buffering\s+off;", stream)
    assert re.search(r"proxy_read_timeout\s+1h;", stream)
    for body in (socket_io, stream, _location(conf, "/")):
        assert "proxy_pass http://itemhub;" in body
        # A location with its own proxy_set_header would drop the server's.
        assert "proxy_set_header" not in body


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    # nginx -t resolves upstream names: app1/app2 exist only in compose's network.
    path = local_copy(tmp_path, 8080, {"app1": 18081, "app2": 18082})
    result = subprocess.run(
        [*nginx_args(path), "-t"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class _Instance(BaseHTTPRequestHandler):
    """A stand-in app instance: answers with its name and the headers it got."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "instance": self.server.name,  # type: ignore[attr-defined]
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _instances() -> Iterator[dict[str, int]]:
    servers = []
    for name in INSTANCES:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Instance)
        server.daemon_threads = True
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield {
            name: s.server_address[1]
            for name, s in zip(INSTANCES, servers, strict=True)
        }
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        content = response.read()
        json_body = response.getheader("Content-Type") == "application/json"
        body: dict[str, Any] = json.loads(content) if json_body else {}
        return response, body
    finally:
        conn.close()


def test_nginx_serves_sticky_routes_and_passes_websocket_upgrades(
    tmp_path: Path,
) -> None:
    port = free_port()
    with _instances() as upstreams:
        path = local_copy(tmp_path, port, upstreams)
        with running_nginx(path, port):
            # A first visit gets a route cookie; with it, every request (the
            # page, then its socket) goes to the same instance.
            first, page = _get(port, "/")
            assert first.status == 200
            cookie = first.getheader("Set-Cookie") or ""
            found = re.fullmatch(
                r"ih_route=(\w+); Path=/; HttpOnly; SameSite=Lax", cookie
            )
            assert found is not None, cookie
            route = {"Cookie": f"ih_route={found.group(1)}"}
            for _ in range(10):
                again, body = _get(port, "/board", route)
                assert body["instance"] == page["instance"]
                assert again.getheader("Set-Cookie") is None  # set once only
            # Different browsers spread over both instances.
            seen = {
                _get(port, "/", {"Cookie": f"ih_route=browser{n}"})[1]["instance"]
                for n in range(40)
            }
            assert seen == set(INSTANCES)
            # The upgrade reaches the instance; plain requests keep connections.
            _, upgraded = _get(
                port,
                "/_nicegui_ws/socket.io/?EIO=4&transport=websocket",
                {**route, "Upgrade": "websocket", "Connection": "Upgrade"},
            )
            assert upgraded["instance"] == page["instance"]
            assert upgraded["headers"]["upgrade"] == "websocket"
            assert upgraded["headers"]["connection"] == "upgrade"
            _, plain = _get(port, "/api/v1/items")
            assert "upgrade" not in plain["headers"]
            assert "connection" not in plain["headers"]
            assert plain["headers"]["x-forwarded-proto"] == "http"
            health, _ = _get(port, "/proxy-health")
            assert health.status == 200


def test_nginx_replaces_a_forged_x_forwarded_for_with_the_client_address(
    tmp_path: Path,
) -> None:
    port = free_port()
    with _instances() as upstreams:
        path = local_copy(tmp_path, port, upstreams)
        with running_nginx(path, port):
            for forged in ({"X-Forwarded-For": "1.2.3.4"}, {}):
                for where in ("/api/v1/login/access-token", "/_nicegui_ws/x"):
                    _, seen = _get(port, where, forged)
                    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
                    assert seen["headers"]["x-real-ip"] == "127.0.0.1"


def test_instances_trust_the_forwarded_address_of_the_fixed_proxy_only() -> None:
    compose = _compose()
    services = compose["services"]
    proxy_address = services["proxy"]["networks"]["default"]["ipv4_address"]
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    assert ip_address(proxy_address) in ip_network(pool["subnet"])
    # Containers without a fixed address never get the proxy's.
    assert ip_address(proxy_address) not in ip_network(pool["ip_range"])
    for name in INSTANCES:
        env = services[name]["environment"]
        assert env["ITEMHUB_FORWARDED_ALLOW_IPS"] == proxy_address, name
        # uvicorn's own variable would widen it again ("*": anybody).
        assert "FORWARDED_ALLOW_IPS" not in env, name


# --- a real instance behind the proxy ------------------------------------------------

HANDSHAKE = "/_nicegui_ws/socket.io/"
POLLING = {"EIO": "4", "transport": "polling"}


def test_behind_the_proxy_the_app_accepts_its_own_origin_with_the_port_only(
    tmp_path: Path,
) -> None:
    # The browser's origin carries the published port (localhost:8080), which
    # the app sees only if nginx passes on the Host the browser sent.
    app = Server(tmp_path, ITEMHUB_ALLOWED_HOSTS="items.example.com")
    try:
        app.wait_healthy()
        (tmp_path / "proxy").mkdir()
        with (
            proxy_in_front(tmp_path / "proxy", app.port) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            for name in ("127.0.0.1", "items.example.com"):
                host = f"{name}:{proxy.port}"
                own = {"Host": host, "Origin": f"http://{host}"}
                accepted = client.get(HANDSHAKE, params=POLLING, headers=own)
                assert accepted.status_code == 200, (host, accepted.text)
                assert '"sid"' in accepted.text
                logout = client.post("/logout", headers=own)
                assert logout.status_code == 303, (host, logout.text)
                assert logout.headers["location"] == "/login"
                # Another site, this host on another port or scheme.
                for origin in (
                    "http://evil.example",
                    f"http://{name}",
                    f"https://{host}",
                ):
                    foreign = {"Host": host, "Origin": origin}
                    refused = client.get(HANDSHAKE, params=POLLING, headers=foreign)
                    assert refused.status_code == 400, (host, origin)
                forged = {"Host": host, "Origin": f"http://evil.example:{proxy.port}"}
                assert client.post("/logout", headers=forged).status_code == 403
            # nginx passes any Host on; the app still refuses names not allowed.
            rebound = f"evil.example:{proxy.port}"
            for path in ("/login", HANDSHAKE):
                refused = client.get(
                    path,
                    params=POLLING,
                    headers={"Host": rebound, "Origin": f"http://{rebound}"},
                )
                assert refused.status_code == 400, path
    finally:
        app.stop()
