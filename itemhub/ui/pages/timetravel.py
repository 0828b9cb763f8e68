"""/timetravel — the board as it was at any past position or moment, for superusers."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, superuser_page
from itemhub.ui.components.cards import initials, slug
from itemhub.ui.frame import frame
from itemhub.ui.session import in_thread


def register(hub: Hub) -> None:
    """Declare the time-travel page."""

    @ui.page("/timetravel")
    async def timetravel_page(
        request: Request, position: int | None = None, at: str | None = None
    ) -> Response | None:
        # The past board shows what others own and what users owned once.
        page = await superuser_page(
            hub, request, "Only superusers may travel back in time."
        )
        if not isinstance(page, OpenedPage):
            return page
        me = page.me
        head = await in_thread(hub.queries.audit.head) or 0
        error = None
        if at:
            try:
                moment = dt.datetime.fromisoformat(at)
            except ValueError:
                error = f"not a date and time: {at!r}"
            else:
                position = await in_thread(hub.queries.audit.position_at, moment)
        target = head if position is None else max(0, min(position, head))
        board = await in_thread(hub.queries.board_as_of, target)
        with frame("Time travel", me):
            if error:
                ui.notify(error, type="negative")
            with (
                ui.card()
                .classes("w-full bg-amber-2 text-black")
                .mark("timetravel-banner")
            ):
                shown = board.position if board else 0
                ui.label(
                    f"Viewing the board as of position {shown} of {head} — read-only"
                ).classes("text-subtitle1 font-medium")
                with ui.row().classes("w-full items-center gap-2"):

                    async def step(later: bool) -> None:
                        found = await in_thread(
                            hub.queries.audit.neighbour, target, later=later
                        )
                        if found is not None:
                            ui.navigate.to(f"/timetravel?position={found}")

                    ui.button(icon="skip_previous", on_click=lambda: step(False)).props(
                        "flat"
                    ).tooltip("One event back").mark("step-back")
                    slider = (
                        ui.slider(min=0, max=max(head, 1), value=target)
                        .classes("grow")
                        .props("label-always")
                    )
                    slider.on(
                        "change",
                        lambda: ui.navigate.to(
                            f"/timetravel?position={int(slider.value)}"
                        ),
                    )
                    ui.button(icon="skip_next", on_click=lambda: step(True)).props(
                        "flat"
                    ).tooltip("One event forward").mark("step-forward")
                    moment_input = ui.input("Date and time (ISO, UTC)").props("dense")
                    ui.button(
                        "Go",
                        on_click=lambda: ui.navigate.to(
                            f"/timetravel?at={moment_input.value or ''}"
                        ),
                    ).props("flat")
                    ui.button(
                        "Back to live", on_click=lambda: ui.navigate.to("/")
                    ).mark("back-to-live")
            with ui.row().classes("w-full gap-3 no-wrap overflow-x-auto items-start"):
                for column, cards in (board.columns if board else {}).items():
                    with (
                        ui.card()
                        .classes("w-72 shrink-0 p-2 gap-2 bg-grey-3")
                        .props(f'data-testid="past-col-{slug(column)}"')
                    ):
                        ui.label(f"{column} ({len(cards)})").classes("font-medium")
                        for card in cards:
                            with (
                                ui.card()
                                .classes("w-full p-2 gap-1")
                                .mark(f"past-card-{card.id}")
                            ):
                                ui.label(card.title).classes("font-medium")
                                with ui.row().classes("items-center gap-2 text-xs"):
                                    with ui.avatar(size="sm", color="grey"):
                                        ui.label(initials(card.owner_name))
                                    ui.label(card.owner_name)
                                    ui.label(f"v{card.version}").classes("text-grey-7")
        return None
