"""/ — the live board."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request
from fastapi.responses import Response
from nicegui import Client, app, ui

from itemhub.projections import ItemCard
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, user_page
from itemhub.ui.broadcast import Audience, BoardFilter, BoardKey, BoardTab
from itemhub.ui.components.board import BoardView
from itemhub.ui.components.cards import initials
from itemhub.ui.components.item_dialog import ItemDialog
from itemhub.ui.frame import frame
from itemhub.ui.live import LiveFeed
from itemhub.ui.presence import Viewer
from itemhub.ui.session import SessionGuard, in_thread

FILTER_KEY = "board_filter"


def register(hub: Hub, live: LiveFeed) -> None:
    """Declare ``/``."""

    @ui.page("/")
    async def board_page(request: Request, client: Client) -> Response | None:
        page = await user_page(hub, request)
        if not isinstance(page, OpenedPage):
            return page
        user, me = page.user, page.me
        await client.connected()
        saved = app.storage.tab.get(FILTER_KEY, {})
        owner_choice = saved.get("owner") if user.is_superuser else None
        board_filter = BoardFilter(
            text=str(saved.get("text", "")),
            owner_id=(
                user.id
                if not user.is_superuser or saved.get("mine")
                else (UUID(owner_choice) if owner_choice else None)
            ),
            archived=bool(saved.get("archived", False)),
        )

        def remember(**changes: object) -> None:
            app.storage.tab[FILTER_KEY] = {
                **app.storage.tab.get(FILTER_KEY, {}),
                **changes,
            }
            ui.navigate.reload()

        with frame("Board", me):
            with ui.row().classes("w-full items-center gap-3"):
                text = (
                    ui.input("Filter", value=board_filter.text)
                    .props("dense clearable debounce=400")
                    .mark("filter-text")
                )
                text.on("keydown.enter", lambda: remember(text=text.value or ""))
                text.on("clear", lambda: remember(text=""))
                if user.is_superuser:
                    people = await in_thread(hub.queries.read.users, limit=200)
                    options = {"": "Everyone"} | {
                        str(u.id): u.display_name for u in people.data
                    }
                    ui.select(
                        options,
                        value=owner_choice or "",
                        label="Owner",
                        on_change=lambda e: remember(owner=e.value or None, mine=False),
                    ).props("dense").classes("min-w-40")
                    ui.switch(
                        "Mine",
                        value=bool(saved.get("mine")),
                        on_change=lambda e: remember(mine=e.value),
                    ).mark("filter-mine")
                ui.switch(
                    "Show archived",
                    value=board_filter.archived,
                    on_change=lambda e: remember(archived=e.value),
                ).mark("filter-archived")
                ui.space()
                presence_row = ui.row().classes("items-center gap-1").mark("presence")
            content = ui.context.slot.parent
            dialogs: list[ItemDialog] = []

            async def open_card(card: ItemCard) -> None:
                # Built on first use: most tabs never edit, and its ~20
                # elements would otherwise cost memory in every open tab.
                if not dialogs:
                    with content:
                        dialogs.append(ItemDialog(hub, user))
                await dialogs[0].open(card)

            # Checked before the board is built: a tab only joins its
            # audience's broadcast while its session holds.
            guard = SessionGuard(hub, user)
            if not await guard.check(acting=False):
                return None
            shared = live.boards.board(
                BoardKey(
                    Audience.of(user.id, is_superuser=user.is_superuser), board_filter
                )
            )
            tab = BoardTab(client, guard)
            BoardView(hub, user, shared, tab, live.boards, on_open=open_card)

        shown: list[Viewer] = []

        def show_viewers(viewers: list[Viewer]) -> None:
            if viewers == shown:
                return
            shown[:] = viewers
            presence_row.clear()
            with presence_row:
                for viewer in viewers:
                    avatar = ui.avatar(
                        initials(viewer.name), size="md", color="secondary"
                    ).mark(f"viewer-{viewer.name}")
                    # A native tooltip: a ui.tooltip would be one more element
                    # per viewer in every open tab.
                    avatar.props["title"] = viewer.name
                    avatar.props["data-testid"] = f"viewer-{viewer.user_id}"

        # Joined before the board loads: deltas that race the load are applied
        # after it, and ones already included are ignored by version.
        live.boards.join(shared, tab)
        if not shared.seq:
            await live.boards.loaded(shared)
            if client.is_deleted:
                # The tab went away while its board loaded: nothing to show it
                # in, and no presence to announce.
                return None
            live.boards.sync(shared, tab)
        if not await guard.follow(live.presence.changed, show_viewers):
            return None
        live.presence.join(client.id, Viewer(user_id=user.id, name=me.display_name))
        client.on_delete(lambda: live.presence.leave(client.id))
        # join() announces only a changed set of viewers; this tab needs it anyway.
        show_viewers(live.presence.viewers())
        return None
