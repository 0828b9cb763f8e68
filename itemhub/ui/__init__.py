"""The NiceGUI web UI, mounted on the parent FastAPI app."""

from __future__ import annotations

from itemhub.runtime import Hub
from itemhub.ui.live import LiveFeed


def register(hub: Hub) -> LiveFeed:
    """Declare every page; returns the live feed the pages subscribe to."""
    # Imported here: NiceGUI's test reset unloads page modules after each test,
    # so they are (re)imported on every build.
    from itemhub.ui.pages import board, login, profile, status, users

    live = LiveFeed(hub.feed)
    login.register(hub)
    board.register(hub, live)
    users.register(hub, live)
    profile.register(hub)
    status.register(hub, live)
    return live
