"""/replay — step through events one at a time; watch and rebuild projections."""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from itemhub.events import Item
from itemhub.projections.registry import projection_names
from itemhub.queries.audit import AuditFilter
from itemhub.queries.history import LoggedEvent
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, superuser_page
from itemhub.ui.frame import frame
from itemhub.ui.session import SessionGuard, in_thread

MAX_EVENTS = 500


def register(hub: Hub) -> None:
    """Declare the replay debugger."""

    @ui.page("/replay")
    async def replay_page(
        request: Request,
        first: int | None = None,
        last: int | None = None,
        correlation: str | None = None,
    ) -> Response | None:
        page = await superuser_page(hub, request, "Only superusers may replay history.")
        if not isinstance(page, OpenedPage):
            return page
        with frame("Replay", page.me):
            await _projections_panel(hub, page.guard)
            await _stepper(hub, page.guard, first, last, correlation)
        return None


async def _projections_panel(hub: Hub, guard: SessionGuard) -> None:
    ui.label("Projections").classes("text-h6")
    table = (
        ui.table(
            columns=[
                {"name": k, "label": k.title(), "field": k, "align": "left"}
                for k in ("name", "state", "position", "head", "lag", "error")
            ],
            rows=[],
            row_key="name",
        )
        .classes("w-full")
        .mark("projection-table")
    )

    async def refresh() -> None:
        # A timer, not the user: it must not keep the session from idling out.
        if not await guard.check(acting=False):
            return
        statuses = await in_thread(hub.status)
        table.rows = [
            {
                "name": s.name,
                "state": s.state,
                "position": s.position,
                "head": s.head,
                "lag": s.lag,
                "error": s.error or "",
            }
            for s in statuses or []
        ]
        table.update()

    await refresh()
    ui.timer(1.0, refresh)
    progress: dict[str, Any] = {"done": 0, "total": 0, "running": False, "message": ""}
    lock = threading.Lock()
    with ui.row().classes("w-full items-center gap-2"):
        choice = ui.select(
            projection_names(), value="items", label="Projection"
        ).classes("min-w-40")
        bar = ui.linear_progress(value=0, show_value=False).classes("grow")
        status = ui.label().mark("rebuild-status")

        def report(done: int, total: int) -> None:  # from the rebuild's thread
            with lock:
                progress.update(done=done, total=total)

        async def start() -> None:
            if progress["running"] or not await guard.check():
                return
            progress.update(running=True, done=0, total=0, message="")
            button.disable()
            try:
                result = await in_thread(hub.queries.rebuild, choice.value, report)
                if result is not None:
                    progress["message"] = (
                        f"{result.name}: {result.events} events to position "
                        f"{result.position} in {result.seconds:.2f}s"
                    )
            finally:
                progress["running"] = False
                button.enable()

        button = ui.button("Rebuild", on_click=start).mark("rebuild")

    def show_progress() -> None:
        with lock:
            done, total = progress["done"], progress["total"]
        bar.set_value(
            done / total if total else (1.0 if not progress["running"] else 0)
        )
        status.set_text(
            progress["message"] or (f"{done} / {total}" if progress["running"] else "")
        )

    ui.timer(0.2, show_progress)


async def _stepper(
    hub: Hub,
    guard: SessionGuard,
    first: int | None,
    last: int | None,
    correlation: str | None,
) -> None:
    ui.label("Step through events").classes("text-h6")
    with ui.row().classes("items-end gap-2"):
        first_in = ui.number("From position", value=first or 1, min=1, format="%d")
        last_in = ui.number("To position", value=last, min=1, format="%d")
        correlation_in = ui.input("…or correlation id", value=correlation or "")

        def load() -> None:
            if correlation_in.value:
                ui.navigate.to(f"/replay?correlation={correlation_in.value}")
            else:
                a, b = (
                    int(first_in.value or 1),
                    int(last_in.value or (first_in.value or 1)),
                )
                ui.navigate.to(f"/replay?first={a}&last={max(a, b)}")

        ui.button("Load", on_click=load).mark("replay-load")
    events: list[LoggedEvent] = []
    if correlation:
        try:
            cid = UUID(correlation)
        except ValueError:
            ui.label("Not a correlation id.").classes("text-negative")
            return
        entries = await in_thread(
            lambda: list(hub.queries.audit.iterate(AuditFilter(correlation_id=cid)))
        )
        for entry in entries or []:
            found = await in_thread(
                hub.queries.logged_events, entry.position, entry.position, 1
            )
            events += found or []
    elif first is not None:
        stop = last if last is not None else first
        events = (
            await in_thread(hub.queries.logged_events, first, stop, MAX_EVENTS) or []
        )
    if not events:
        ui.label("No events loaded.").classes("text-grey-7")
        return
    state = {"index": 0}
    with ui.row().classes("items-center gap-2"):
        back = ui.button(icon="chevron_left").props("flat").mark("replay-prev")
        counter = ui.label().mark("replay-counter")
        forward = ui.button(icon="chevron_right").props("flat").mark("replay-next")
    detail = ui.column().classes("w-full")

    async def show() -> None:
        event = events[state["index"]]
        counter.set_text(
            f"event {state['index'] + 1} of {len(events)} (position {event.position})"
        )
        detail.clear()
        before = after = None
        if isinstance(event.event, Item.Event):
            version = event.event.originator_version
            item_id = event.event.originator_id
            before = await in_thread(
                hub.queries.item_as_of, item_id, version=version - 1
            )
            after = await in_thread(hub.queries.item_as_of, item_id, version=version)
        with detail:
            ui.label(event.topic).classes("font-mono")
            ui.code(
                json.dumps(event.fields, indent=2, ensure_ascii=False), language="json"
            )
            if after is not None:
                with ui.row().classes("w-full gap-4"):
                    for title, state_ in (("Before", before), ("After", after)):
                        with ui.card().classes("grow"):
                            ui.label(title).classes("font-medium")
                            shown = state_.state if state_ is not None else {}
                            ui.code(
                                json.dumps(shown, indent=2, default=str),
                                language="json",
                            )

    async def move(delta: int) -> None:
        if not await guard.check():
            return
        state["index"] = max(0, min(len(events) - 1, state["index"] + delta))
        await show()

    back.on_click(lambda: move(-1))
    forward.on_click(lambda: move(1))
    await show()
