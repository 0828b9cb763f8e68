"""The chrome every page shares: header, navigation, dark-mode toggle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui


@contextmanager
def frame(title: str) -> Iterator[None]:
    """Wrap a page's content in the shared header and a centred column."""
    dark = ui.dark_mode()
    with ui.header().classes("items-center justify-between"):
        ui.label("ItemHub").classes("text-h6")
        with ui.row().classes("items-center"):
            ui.label(title)
            ui.button(icon="dark_mode", on_click=dark.toggle).props(
                "flat round color=white"
            ).tooltip("Toggle dark mode")
    with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
        yield
