"""The data directory: private permissions, and the secrets dev generates there."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from itemhub.config import MIN_SECRET_LENGTH, SECRET_NAMES, ConfigError, Settings

SECRETS_FILE = "secrets.json"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# SQLite creates these beside a database with the database file's mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_private_dir(path: Path) -> None:
    """Create ``path`` readable by this user only; an existing one is left alone.

    An existing directory may be shared (``/tmp``, a home directory): only the
    files ItemHub writes into it are made private.
    """
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        return
    # mkdir's mode is filtered by the umask; chmod is not.
    path.chmod(PRIVATE_DIR_MODE)


def make_private_sqlite_files(*databases: Path) -> None:
    """Create the database files 0600 (their -wal/-shm inherit it); tighten old ones."""
    for database in databases:
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE))
        for path in (database, *(Path(f"{database}{s}") for s in SQLITE_COMPANIONS)):
            if path.exists():
                path.chmod(PRIVATE_FILE_MODE)


def with_dev_secrets(settings: Settings) -> Settings:
    """``settings`` with every unset secret taken from the data directory.

    Only dev leaves secrets unset (prod refuses to start without them). They
    are generated once and kept, so tokens and session cookies survive a
    restart, and every process sharing the data directory signs alike.
    """
    unset = [name for name in SECRET_NAMES if getattr(settings, name) is None]
    if not unset:
        return settings
    stored = load_or_create_secrets(settings.data_directory / SECRETS_FILE)
    return settings.model_copy(update={name: SecretStr(stored[name]) for name in unset})


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """The secrets kept in ``path``, generated (mode 0600) if the file is missing.

    The file appears complete or not at all (written aside, then hard-linked),
    so two processes starting at once agree: the loser reads the winner's.
    """
    make_private_dir(path.parent)
    if not path.exists():
        fresh = {name: secrets.token_urlsafe(48) for name in SECRET_NAMES}
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(fresh, file)
                file.flush()
                os.fsync(file.fileno())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: use its secrets
        finally:
            draft.unlink()
    try:
        stored = json.loads(path.read_text())
        if all(len(stored[name]) >= MIN_SECRET_LENGTH for name in SECRET_NAMES):
            return {name: str(stored[name]) for name in SECRET_NAMES}
    except (ValueError, KeyError, TypeError):
        pass
    raise ConfigError(f"{path} is damaged; delete it to generate new dev secrets")
