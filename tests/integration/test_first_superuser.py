"""The first superuser: created once, race-safe, with an id nobody can derive."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from itemhub.events import EmailClaim, SuperuserRoster
from itemhub.first_superuser import ensure_first_superuser
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, FAST_HASHER, make_settings


def opened(database_url: str) -> Hub:
    """A hub without workers on ``database_url``."""
    return Hub.open(make_settings(database_url), hasher=FAST_HASHER)


def test_the_first_superuser_gets_a_random_id_in_each_fresh_database(
    tmp_path: Path,
) -> None:
    ids = []
    for name in ("a", "b"):
        hub = opened(f"sqlite:///{tmp_path / name / 'itemhub.db'}")
        try:
            hub.start()
            creds = hub.read.credentials_by_email(ADMIN_EMAIL)
            assert creds is not None
            ids.append(creds.id)
        finally:
            hub.close()

    assert ids[0] != ids[1]


def test_processes_starting_at_once_create_one_first_superuser_and_restarts_none(
    database_url: str,
) -> None:
    hubs = [opened(database_url) for _ in range(2)]
    together = threading.Barrier(len(hubs))

    def bootstrap(hub: Hub) -> None:
        together.wait()
        ensure_first_superuser(hub)

    try:
        with ThreadPoolExecutor(len(hubs)) as pool:
            list(pool.map(bootstrap, hubs))
        claim = hubs[0].bus.get(EmailClaim, EmailClaim.id_for(ADMIN_EMAIL))
        roster = hubs[0].bus.get(SuperuserRoster, SuperuserRoster.ROSTER_ID)
        head = hubs[0].head()
    finally:
        for hub in hubs:
            hub.close()
    assert claim is not None and claim.version == 1
    assert roster is not None and roster.members == [claim.holder_id]

    restarted = opened(database_url)
    try:
        ensure_first_superuser(restarted)
        assert restarted.head() == head
    finally:
        restarted.close()
