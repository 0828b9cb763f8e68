"""The data directory: private permissions, and the secrets dev generates there."""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import NoReturn

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
        stored = json.loads(read_private_file(path))
        if all(len(stored[name]) >= MIN_SECRET_LENGTH for name in SECRET_NAMES):
            return {name: str(stored[name]) for name in SECRET_NAMES}
    except (ValueError, KeyError, TypeError):
        pass
    raise ConfigError(f"{path} is damaged; delete it to generate new dev secrets")


def read_private_file(path: Path) -> str:
    """The text of ``path``, refused unless only this user could have written it.

    In a shared directory (``/tmp``) another user could otherwise plant the
    file first, or a link to one of theirs, and know every secret.
    """
    # O_NONBLOCK: a planted FIFO is refused below instead of blocking the open.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        _refuse(path, "it is a symbolic link")
    with os.fdopen(fd) as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            _refuse(path, "it is not a regular file")
        if info.st_uid != os.geteuid():
            _refuse(path, f"it belongs to uid {info.st_uid}, not to {os.geteuid()}")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            _refuse(path, f"its mode {mode:04o} lets other users at it")
        return file.read()


def _refuse(path: Path, reason: str) -> NoReturn:
    raise ConfigError(
        f"{path} is refused: {reason}; dev secrets must be a file of yours that "
        "no one else may read or write: delete it to generate new ones, or set "
        "ITEMHUB_DATA_DIR to a private directory"
    )
