"""Who is looking at the board right now (ephemeral, not event-sourced)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
        # Viewers on other instances (see shared_presence), by instance.
        self._remote: dict[str, list[Viewer]] = {}
        self.changed: Event[list[Viewer]] = Event()
        # Called when this instance's own distinct viewers change.
        self.on_local_change: Callable[[], None] | None = None

    def join(self, client_id: str, viewer: Viewer) -> None:
        """A tab opened the board."""
        before, local = self.viewers(), self.local_viewers()
        self._viewers[client_id] = viewer
        self._announce(before, local)

    def leave(self, client_id: str) -> None:
        """A tab went away."""
        before, local = self.viewers(), self.local_viewers()
        if self._viewers.pop(client_id, None) is not None:
            self._announce(before, local)

    def set_remote(self, remote: dict[str, list[Viewer]]) -> None:
        """Replace the viewers seen on other instances."""
        before = self.viewers()
        self._remote = remote
        self._announce(before)

    def _announce(
        self, before: list[Viewer], local: list[Viewer] | None = None
    ) -> None:
        # Another tab of someone already here changes nothing on screen; not
        # telling every open tab saves re-rendering N presence rows per tab.
        after = self.viewers()
        if after != before:
            self.changed.emit(after)
        if (
            local is not None
            and self.on_local_change is not None
            and self.local_viewers() != local
        ):
            self.on_local_change()

    def local_viewers(self) -> list[Viewer]:
        """Distinct viewers on this instance, by name."""
        return _distinct(self._viewers.values())

    def viewers(self) -> list[Viewer]:
        """Distinct viewers on every instance, by name."""
        remote = (v for viewers in self._remote.values() for v in viewers)
        return _distinct([*self._viewers.values(), *remote])


def _distinct(viewers: Iterable[Viewer]) -> list[Viewer]:
    unique = {v.user_id: v for v in viewers}
    return sorted(unique.values(), key=lambda v: v.name.casefold())
