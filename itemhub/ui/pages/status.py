"""/status — card counts per column and projection health (superusers)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import Response
from nicegui import background_tasks, ui

from itemhub.projections import (
    Delta,
    ItemChanged,
    ItemRemoved,
    ProjectionStatus,
)
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, superuser_page
from itemhub.ui.frame import frame
from itemhub.ui.live import LiveFeed
from itemhub.ui.session import SessionGuard, in_thread


def register(hub: Hub, live: LiveFeed) -> None:
    """Declare ``/status``."""

    @ui.page("/status")
    async def status_page(request: Request) -> Response | None:
        page = await superuser_page(
            hub, request, "Only superusers may see the status page."
        )
        if not isinstance(page, OpenedPage):
            return page
        user = page.user
        with frame("Status", page.me):
            ui.label("Board").classes("text-h5")
            with ui.row().classes("gap-4"):
                counters = {
                    column: _counter(column) for column in hub.settings.board_columns
                }
            ui.label("Projections").classes("text-h5")
            status = ui.column().classes("gap-1")

        async def refresh() -> None:
            counts = await in_thread(hub.queries.read.column_counts)
            statuses = await in_thread(hub.queries.status)
            if counts is None or statuses is None:  # cancelled at shutdown
                return
            for column, label in counters.items():
                label.set_text(str(counts.get(column, 0)))
            status.clear()
            with status:
                for s in statuses:
                    _status_line(s)

        def on_deltas(deltas: Sequence[Delta]) -> None:
            if any(isinstance(d, ItemChanged | ItemRemoved) for d in deltas):
                background_tasks.create(refresh(), name="home-refresh")

        await refresh()
        await SessionGuard(hub, user, superuser=True).follow(live.changed, on_deltas)
        return None


def _counter(column: str) -> ui.label:
    with ui.card().classes("min-w-32 items-center"):
        ui.label(column).classes("text-subtitle1")
        count = ui.label("0").classes("text-h4").mark(f"count-{column}")
    return count


def _status_line(s: ProjectionStatus) -> None:
    text = f"{s.name}: {s.state}, position {s.position} of {s.head}"
    if s.error:
        text += f" — {s.error}"
    ui.label(text).classes("text-negative" if s.error else "")
