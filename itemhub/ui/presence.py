"""Who is looking at the board right now (ephemeral, not event-sourced)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from nicegui import Event


@dataclass(frozen=True, slots=True)
class Viewer:
    """A user with a board open in one tab."""

    user_id: UUID
    name: str


class Presence:
    """Viewers per client (tab); ``changed`` fires when the distinct viewers change."""

    def __init__(self) -> None:
        self._viewers: dict[str, Viewer] = {}
        self.changed: Event[list[Viewer]] = Event()

    def join(self, client_id: str, viewer: Viewer) -> None:
        """A tab opened the board."""
        before = self.viewers()
        self._viewers[client_id] = viewer
        self._announce(before)

    def leave(self, client_id: str) -> None:
        """A tab went away."""
        before = self.viewers()
        if self._viewers.pop(client_id, None) is not None:
            self._announce(before)

    def _announce(self, before: list[Viewer]) -> None:
        # Another tab of someone already here changes nothing on screen; not
        # telling every open tab saves re-rendering N presence rows per tab.
        after = self.viewers()
        if after != before:
            self.changed.emit(after)

    def viewers(self) -> list[Viewer]:
        """Distinct viewers, by name."""
        unique = {v.user_id: v for v in self._viewers.values()}
        return sorted(unique.values(), key=lambda v: v.name.casefold())
