"""The chrome every page shares: header, navigation, user, dark-mode toggle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from itemhub.projections import UserView


def _links(user: UserView | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    links = [("Board", "/"), ("Time travel", "/timetravel")]
    if user.is_superuser:
        links += [
            ("Audit", "/audit"),
            ("Replay", "/replay"),
            ("Users", "/users"),
            ("Status", "/status"),
        ]
    return [*links, ("Profile", "/profile")]


@contextmanager
def frame(title: str, user: UserView | None = None) -> Iterator[None]:
    """Wrap a page's content in the shared header and a padded column."""
    dark = ui.dark_mode()
    ui.page_title(f"{title} · ItemHub")
    with ui.header().classes("items-center justify-between px-3 py-1 gap-2"):
        with ui.row().classes("items-center gap-3 no-wrap"):
            ui.label("ItemHub").classes("text-h6")
            for label, href in _links(user):
                ui.link(label, href).classes("text-white gt-xs")
            if user is not None:
                with (
                    ui.button(icon="menu").props("flat round color=white").classes("xs")
                ):
                    with ui.menu():
                        for label, href in _links(user):
                            ui.menu_item(label, lambda h=href: ui.navigate.to(h))
        with ui.row().classes("items-center gap-1 no-wrap"):
            if user is not None:
                ui.label(user.display_name).classes("gt-xs").mark("current-user")
            ui.button(icon="dark_mode", on_click=dark.toggle).props(
                "flat round color=white"
            ).tooltip("Toggle dark mode")
            if user is not None:
                ui.button(
                    icon="logout", on_click=lambda: ui.navigate.to("/logout")
                ).props("flat round color=white").tooltip("Log out").mark("logout")
    with ui.column().classes("w-full p-3 gap-3"):
        yield
