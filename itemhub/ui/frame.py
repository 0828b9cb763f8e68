"""The chrome every page shares: header, navigation, user, dark-mode toggle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from itemhub.projections import UserView


def _links(user: UserView | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    links = [("Board", "/")]
    if user.is_superuser:
        links += [
            ("Time travel", "/timetravel"),
            ("Audit", "/audit"),
            ("Replay", "/replay"),
            ("Users", "/users"),
            ("Status", "/status"),
        ]
    return [*links, ("Profile", "/profile")]


def _phone_menu(links: list[tuple[str, str]]) -> None:
    """A menu button, shown at phone width only, that opens the page links."""
    button = ui.button(icon="menu").classes("xs")
    button.props('flat round color=white data-testid="nav-menu"')
    button.props["title"] = "Menu"
    with button:
        menu = ui.menu()  # Quasar opens it on a click of the button

    def fill() -> None:
        if menu.default_slot.children:
            return
        with menu:
            for label, href in links:
                ui.menu_item(label, lambda h=href: ui.navigate.to(h)).props(
                    f'data-testid="nav-{label.lower().replace(" ", "-")}"'
                )

    button.on_click(fill)


@contextmanager
def frame(title: str, user: UserView | None = None) -> Iterator[None]:
    """Wrap a page's content in the shared header and a padded column."""
    dark = ui.dark_mode()
    ui.page_title(f"{title} · ItemHub")
    # Every element here is repeated in every open tab, so the header stays
    # lean: one row of links (hidden on a phone, where a menu button stands in
    # and builds its items only when first opened) and native tooltips (a
    # ui.tooltip is an element).
    links = _links(user)
    with ui.header().classes("items-center justify-between px-3 py-1 gap-2 no-wrap"):
        with ui.row().classes("items-center gap-3 no-wrap min-w-0"):
            if links:
                _phone_menu(links)
            ui.label("ItemHub").classes("text-h6")
            with ui.row().classes("gt-xs items-center gap-3 no-wrap"):
                for label, href in links:
                    ui.link(label, href).classes("text-white whitespace-nowrap")
        with ui.row().classes("items-center gap-1 no-wrap"):
            if user is not None:
                ui.label(user.display_name).classes("gt-xs").mark("current-user")
            toggle = ui.button(icon="dark_mode", on_click=dark.toggle)
            toggle.props("flat round color=white")
            toggle.props["title"] = "Toggle dark mode"
            if user is not None:
                # A plain form post: logging out changes state, so never a GET.
                with ui.element("form").props('method="post" action="/logout"'):
                    logout = ui.button(icon="logout")
                    logout.props('type="submit" flat round color=white').mark("logout")
                    logout.props["title"] = "Log out"
    with ui.column().classes("w-full p-3 gap-3"):
        yield
