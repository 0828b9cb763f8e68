"""Where NiceGUI keeps per-user storage (the UI session): private files, or Redis."""

from __future__ import annotations

from nicegui.storage import Storage

from itemhub.bootstrap import StartupError
from itemhub.config import Settings
from itemhub.datadir import PRIVATE_DIR_MODE

KEY_PREFIX = "itemhub:nicegui:"


def configure_storage(settings: Settings) -> None:
    """Keep user storage in Redis when ``ITEMHUB_REDIS_URL`` is set.

    Several instances behind a proxy then share every browser's session, and a
    session survives an instance restart. Set before the first page is served:
    NiceGUI creates each user's storage on first use with the URL it has then.
    """
    url = settings.redis_url
    Storage.redis_url = url.get_secret_value() if url is not None else None
    Storage.redis_key_prefix = KEY_PREFIX
    if url is None:
        # The files say who is logged in, and NiceGUI writes them with the
        # umask's mode: the directory is what keeps them private.
        try:
            Storage.path.mkdir(parents=True, exist_ok=True)
            Storage.path.chmod(PRIVATE_DIR_MODE)
        except OSError as exc:
            raise StartupError(
                f"cannot create the UI session directory {Storage.path}: "
                f"{exc.strerror}; set NICEGUI_STORAGE_PATH to a directory this "
                "user may write, or ITEMHUB_REDIS_URL"
            ) from None
