"""/api/v1/events/stream against a real server: live, filtered, resumable."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.server import Server

API = "/api/v1"


@dataclass
class Stream:
    """Reads one SSE connection in a thread; events and comments arrive in queues."""

    response: httpx.Response
    events: queue.Queue[dict[str, str]] = field(default_factory=queue.Queue)
    comments: queue.Queue[str] = field(default_factory=queue.Queue)

    def read(self) -> None:
        current: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                if not line:
                    if current:
                        self.events.put(current)
                        current = {}
                elif line.startswith(":"):
                    self.comments.put(line)
                else:
                    name, _, value = line.partition(":")
                    current[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass  # closed by the test

    def next_events(self, n: int, timeout: float = 10.0) -> list[dict[str, str]]:
        return [self.events.get(timeout=timeout) for _ in range(n)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        Path(tmp_path_factory.mktemp("stream")),
        ITEMHUB_FIRST_SUPERUSER_EMAIL=ADMIN_EMAIL,
        ITEMHUB_FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        ITEMHUB_SSE_HEARTBEAT_SECONDS="0.5",
    )
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()


def _token(server: Server, email: str, password: str) -> str:
    response = httpx.post(
        f"{server.url}{API}/login/access-token",
        data={"username": email, "password": password},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _post(server: Server, token: str, path: str, body: dict[str, object]) -> str:
    response = httpx.post(
        f"{server.url}{API}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    item_id: str = response.json()["id"]
    return item_id


OpenStream = Callable[[str, int | None], "Stream"]


@pytest.fixture
def stream_of(server: Server) -> Iterator[OpenStream]:
    opened: list[tuple[httpx.Client, httpx.Response, threading.Thread]] = []

    def open_stream(token: str, last_event_id: int | None = None) -> Stream:
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        client = httpx.Client(timeout=httpx.Timeout(10.0, read=30.0))
        request = client.build_request(
            "GET", f"{server.url}{API}/events/stream", headers=headers
        )
        response = client.send(request, stream=True)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reader = threading.Thread(target=stream.read, daemon=True)
        reader.start()
        opened.append((client, response, reader))
        return stream

    yield open_stream
    for client, response, reader in opened:
        response.close()
        client.close()
        reader.join(timeout=5)


def test_a_user_gets_their_own_item_events_live_and_resumes_without_gaps(
    server: Server, stream_of: OpenStream
) -> None:
    open_stream = stream_of
    admin = _token(server, ADMIN_EMAIL, ADMIN_PASSWORD)
    _post(
        server,
        admin,
        "/users",
        {"email": "alice@example.com", "password": "alice-password"},
    )
    alice = _token(server, "alice@example.com", "alice-password")
    _post(server, admin, "/items", {"title": "admin's", "column": "Todo"})
    ids = [
        _post(server, alice, "/items", {"title": f"a{n}", "column": "Todo"})
        for n in range(3)
    ]

    first: Stream = open_stream(alice, 0)
    backlog = first.next_events(3)
    assert [e["event"] for e in backlog] == ["item.created"] * 3
    assert [json.loads(e["data"])["target_id"] for e in backlog] == ids
    positions = [int(e["id"]) for e in backlog]
    assert positions == sorted(positions)
    assert first.comments.get(timeout=5) == ": heartbeat"

    # Live: a change made now arrives on the open stream.
    live_id = _post(
        server, alice, f"/items/{ids[0]}/move", {"column": "Done", "position": 0}
    )
    (live,) = first.next_events(1)
    assert live["event"] == "item.moved"
    assert json.loads(live["data"])["target_id"] == live_id

    # Dropped connection: changes made meanwhile come after Last-Event-ID.
    first.response.close()
    last_seen = int(live["id"])
    _post(server, alice, f"/items/{ids[1]}/archive", {})
    _post(server, admin, "/items", {"title": "admin again", "column": "Todo"})
    fourth = _post(server, alice, "/items", {"title": "a3", "column": "Todo"})

    resumed: Stream = open_stream(alice, last_seen)
    events = resumed.next_events(2)
    assert [e["event"] for e in events] == ["item.archived", "item.created"]
    assert json.loads(events[1]["data"])["target_id"] == fourth
    assert int(events[0]["id"]) > last_seen
    assert resumed.events.empty()  # nothing twice, nothing of the admin's


def test_a_superuser_sees_every_event_and_standard_users_need_a_token(
    server: Server, stream_of: OpenStream
) -> None:
    open_stream = stream_of
    admin = _token(server, ADMIN_EMAIL, ADMIN_PASSWORD)
    everything: Stream = open_stream(admin, 0)
    first = everything.next_events(1)[0]
    assert first["event"] == "user.registered"
    assert json.loads(first["data"])["target_type"] == "user"

    anonymous = httpx.get(f"{server.url}{API}/events/stream", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_a_resumed_stream_shows_nothing_of_an_item_given_away(
    server: Server, stream_of: OpenStream
) -> None:
    admin = _token(server, ADMIN_EMAIL, ADMIN_PASSWORD)
    _post(
        server,
        admin,
        "/users",
        {"email": "carol@example.com", "password": "carol-password"},
    )
    dave_id = _post(
        server, admin, "/users", {"email": "dave@example.com", "password": "dave-pw1"}
    )
    carol = _token(server, "carol@example.com", "carol-password")
    given = _post(server, carol, "/items", {"title": "secret plan", "column": "Todo"})
    response = httpx.patch(
        f"{server.url}{API}/items/{given}",
        json={"owner_id": dave_id},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    kept = _post(server, carol, "/items", {"title": "her own", "column": "Todo"})

    # Carol once owned "secret plan": its past is not hers to replay.
    replay: Stream = stream_of(carol, 0)
    (only,) = replay.next_events(1)
    assert json.loads(only["data"])["target_id"] == kept
    assert replay.comments.get(timeout=5) == ": heartbeat"
    assert replay.events.empty()
