"""/items/{id}/history — every version of an item; view or restore one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from itemhub.commands import RevertItem, can_see
from itemhub.queries.history import ItemVersion
from itemhub.runtime import Hub
from itemhub.ui.actions import send
from itemhub.ui.frame import frame
from itemhub.ui.session import (
    in_thread,
    login_redirect,
    session_user,
)


def register(hub: Hub) -> None:
    """Declare the item history page."""

    @ui.page("/items/{item_id}/history")
    async def history_page(
        request: Request, item_id: str, version: int | None = None
    ) -> RedirectResponse | None:
        user = await session_user(hub)
        if user is None:
            return login_redirect(request)
        me = await in_thread(hub.queries.read.user, user.id)
        with frame("History", me):
            try:
                parsed = UUID(item_id)
            except ValueError:
                ui.label("No such item.").mark("not-found")
                return None
            versions = await in_thread(hub.queries.item_history, parsed) or []
            if not versions or not can_see(user, versions[-1].state["owner_id"]):
                ui.label("No such item.").mark("not-found")
                return None
            current = versions[-1]
            ui.label(f"{current.state['title']} — {len(versions)} versions").classes(
                "text-h6"
            )
            if version is not None:
                chosen = next((v for v in versions if v.version == version), None)
                if chosen is None:
                    ui.label(f"The item had no version {version}.").mark("not-found")
                else:
                    _as_of(chosen)

            async def restore(to_version: int) -> None:
                reverted = await send(
                    hub,
                    user,
                    RevertItem(
                        item_id=parsed,
                        to_version=to_version,
                        expected_version=current.version,
                    ),
                )
                if reverted is None:
                    return
                ui.notify(f"Restored version {to_version}", type="positive")
                ui.navigate.reload()

            with ui.timeline(side="right").classes("w-full"):
                for entry in reversed(versions):
                    _version(entry, parsed, current.version, restore, current.state)
        return None


def _as_of(entry: ItemVersion) -> None:
    with ui.card().classes("w-full bg-amber-1").mark("as-of"):
        ui.label(f"As of version {entry.version} (read-only)").classes("font-medium")
        for field, value in entry.state.items():
            # The owner is an id here; the version list names who changed what.
            if field != "owner_id":
                ui.label(f"{field}: {value!r}")


def _version(
    entry: ItemVersion,
    item_id: UUID,
    latest: int,
    restore: Any,
    state_now: dict[str, Any],
) -> None:
    title = f"v{entry.version} · {entry.action} · {entry.actor_name} ({entry.channel})"
    with ui.timeline_entry(
        title=title,
        subtitle=entry.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC"),
    ).mark(f"version-{entry.version}"):
        for change in entry.changes:
            ui.label(f"{change.field}: {change.before!r} → {change.after!r}").classes(
                "text-sm"
            )
        with ui.row():
            ui.link(
                "View as of this version",
                f"/items/{item_id}/history?version={entry.version}",
            )
            if entry.version < latest and not state_now["deleted"]:
                ui.button(
                    "Restore this version",
                    on_click=lambda v=entry.version: restore(v),
                ).props("flat dense").mark(f"restore-{entry.version}")
