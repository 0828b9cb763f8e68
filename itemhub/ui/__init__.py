"""The NiceGUI web UI, mounted on the parent FastAPI app."""

from __future__ import annotations

from itemhub.runtime import Hub
from itemhub.ui.live import LiveFeed


def register(hub: Hub) -> LiveFeed:
    """Declare every page; returns the live feed the pages subscribe to."""
    # Imported here: NiceGUI's test reset unloads page modules after each test,
    # so they are (re)imported on every build.
    from itemhub.ui.pages import (
        audit,
        board,
        history,
        login,
        profile,
        replay,
        status,
        timetravel,
        users,
    )

    live = LiveFeed(hub.queries, hub.settings.board_columns)
    login.register(hub)
    board.register(hub, live)
    users.register(hub, live)
    profile.register(hub)
    status.register(hub, live)
    audit.register(hub, live)
    history.register(hub)
    timetravel.register(hub)
    replay.register(hub)
    return live
