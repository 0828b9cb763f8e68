"""No default secret signs anything: dev generates its secrets, and keeps them.

The attack this closes: with ``changethis`` signing tokens and the first
superuser's id derived from the e-mail address, anyone could forge an admin
token offline. Each test runs a hub as `make run` would: dev, no secrets set.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID, uuid5

import jwt
import pytest

from itemhub.config import SECRET_NAMES, ConfigError, secret_value
from itemhub.datadir import SECRETS_FILE, load_or_create_secrets
from itemhub.events import NAMESPACE
from itemhub.runtime import Hub
from tests.conftest import ADMIN_EMAIL, FAST_HASHER, make_settings
from tests.e2e.api_helpers import (
    API,
    api_client,
    api_signing_key,
    as_admin,
    bearer,
    claims_for,
)

KNOWN_DEFAULT = "changethis"


def forged_admin_token(user_id: UUID) -> str:
    """An admin token as an attacker signs it: HS256 with the known default."""
    claims = claims_for(user_id, version=0)
    return jwt.encode(claims, api_signing_key(KNOWN_DEFAULT), algorithm="HS256")


def public_first_superuser_id(email: str) -> UUID:
    """The first superuser's id as it used to be derived, from the address alone."""
    command_id = uuid5(NAMESPACE, f"first-superuser:{email}")
    return uuid5(NAMESPACE, f"user:{command_id}")


def opened(database_url: str) -> Hub:
    """A started dev hub without configured secrets."""
    settings = make_settings(database_url)
    assert settings.secret_key is None and settings.storage_secret is None
    hub = Hub.open(settings, hasher=FAST_HASHER)
    hub.start()
    return hub


async def test_an_admin_token_forged_offline_with_the_default_secret_is_refused(
    hub: Hub,
) -> None:
    async with api_client(hub) as client:
        admin = await as_admin(client)
        for user_id in (public_first_superuser_id(ADMIN_EMAIL), admin.id):
            response = await client.get(
                f"{API}/users/me", headers=bearer(forged_admin_token(user_id))
            )

            assert response.status_code == 401, (user_id, response.text)


def test_the_first_superusers_id_cannot_be_derived_from_the_address(
    hub: Hub,
) -> None:
    creds = hub.read.credentials_by_email(ADMIN_EMAIL)

    assert creds is not None
    assert creds.id != public_first_superuser_id(ADMIN_EMAIL)


def test_dev_secrets_are_generated_private_and_never_a_default(
    sqlite_url: str,
) -> None:
    hub = opened(sqlite_url)
    try:
        secrets = (hub.settings.secret_key, hub.settings.storage_secret)
    finally:
        hub.close()
    values = [secret_value(s) for s in secrets]
    stored = hub.settings.data_directory / SECRETS_FILE

    assert all(len(v) >= 32 and v != KNOWN_DEFAULT for v in values)
    assert values[0] != values[1]
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


async def test_a_token_survives_a_restart_on_the_same_data_directory(
    database_url: str,
) -> None:
    first = opened(database_url)
    try:
        async with api_client(first) as client:
            token = (await as_admin(client)).token
            kept = (first.settings.secret_key, first.settings.storage_secret)
    finally:
        first.close()

    again = opened(database_url)
    try:
        assert (again.settings.secret_key, again.settings.storage_secret) == kept
        async with api_client(again) as client:
            response = await client.get(f"{API}/users/me", headers=bearer(token))
        assert response.status_code == 200, response.text
    finally:
        again.close()


def test_two_data_directories_get_different_secrets(tmp_path: Path) -> None:
    secrets = [load_or_create_secrets(tmp_path / name / SECRETS_FILE) for name in "ab"]

    assert secrets[0] != secrets[1]


def test_hubs_starting_at_once_agree_on_one_set_of_secrets(tmp_path: Path) -> None:
    path = tmp_path / "data" / SECRETS_FILE
    # The file system decides (exclusive create, then link): threads race on it
    # as processes would.
    start = threading.Barrier(4)

    def load() -> dict[str, str]:
        start.wait()
        return load_or_create_secrets(path)

    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = [future.result() for future in [pool.submit(load) for _ in range(4)]]

    assert all(secrets == loaded[0] for secrets in loaded)
    assert sorted(p.name for p in path.parent.iterdir()) == [SECRETS_FILE]


def test_the_data_directory_and_every_database_file_are_private(
    sqlite_url: str,
) -> None:
    hub = opened(sqlite_url)  # the first superuser's events reach both databases
    try:
        directory = hub.settings.data_directory
        files = sorted(p.name for p in directory.iterdir())
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
    finally:
        hub.close()

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {"itemhub.db-wal", "itemhub-read.db-wal", SECRETS_FILE} <= set(files)
    assert modes == dict.fromkeys(files, 0o600)


OTHER_UID = 4242  # tests run as root, who may give a file to any uid


def plant(path: Path, how: str) -> None:
    """Secrets another local user could have put at ``path`` before we started."""
    known = json.dumps(dict.fromkeys(SECRET_NAMES, KNOWN_DEFAULT * 8))
    path.parent.mkdir()
    if how == "fifo":
        os.mkfifo(path, 0o600)
        return
    target = path.with_name("theirs.json") if how == "symlink" else path
    target.write_text(known)
    target.chmod(0o644 if how == "readable" else 0o600)
    if how == "symlink":
        path.symlink_to(target)
    if how == "foreign":
        os.chown(path, OTHER_UID, OTHER_UID)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("symlink", "it is a symbolic link"),
        ("readable", "its mode 0644 lets other users at it"),
        ("foreign", f"it belongs to uid {OTHER_UID}"),
        # A plain open of a FIFO waits for a writer: startup would hang.
        ("fifo", "it is not a regular file"),
    ],
)
def test_a_secrets_file_another_user_could_have_planted_is_refused(
    tmp_path: Path, how: str, reason: str
) -> None:
    if how == "foreign" and os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    path = tmp_path / "data" / SECRETS_FILE
    plant(path, how)

    with pytest.raises(ConfigError) as refused:
        load_or_create_secrets(path)

    message = str(refused.value)
    assert message.startswith(f"{path} is refused: {reason}")
    assert "ITEMHUB_DATA_DIR" in message and "\n" not in message


def test_the_generated_secrets_file_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / SECRETS_FILE
    created = load_or_create_secrets(path)

    assert load_or_create_secrets(path) == created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
