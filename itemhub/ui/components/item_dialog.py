"""The dialog that edits, archives, restores or deletes one item."""

from __future__ import annotations

from uuid import UUID

from nicegui import ui

from itemhub.commands import (
    ArchiveItem,
    Command,
    DeleteItem,
    EditItem,
    MoveItem,
    RestoreItem,
)
from itemhub.projections import (
    ItemCard,
    UserCredentials,
)
from itemhub.runtime import Hub
from itemhub.ui.actions import send
from itemhub.ui.session import in_thread, still_logged_in

END_OF_COLUMN = 1_000_000


class ItemDialog:
    """Opens on a card; every button is a command through the shared policy."""

    def __init__(self, hub: Hub, user: UserCredentials) -> None:
        self.hub = hub
        self.user = user
        self.card: ItemCard | None = None
        with ui.dialog() as self.dialog, ui.card().classes("w-full max-w-lg"):
            self.heading = ui.label().classes("text-h6")
            self.title = (
                ui.input("Title").classes("w-full").props("counter maxlength=200")
            )
            self.description = (
                ui.textarea("Description").classes("w-full").props("autogrow")
            )
            self.column = ui.select(list(hub.settings.board_columns), label="Column")
            self.owner = ui.select({}, label="Owner").classes("w-full")
            self.owner.set_visibility(user.is_superuser)
            with ui.row().classes("w-full justify-between"):
                with ui.row():
                    self.archive = ui.button("Archive", on_click=self._archive).props(
                        "flat"
                    )
                    self.restore = ui.button("Restore", on_click=self._restore).props(
                        "flat"
                    )
                    ui.button("Delete", on_click=self._confirm_delete).props(
                        "flat color=negative"
                    )
                with ui.row():
                    ui.button(
                        "History",
                        on_click=lambda: ui.navigate.to(
                            f"/items/{self.card.id}/history" if self.card else "/"
                        ),
                    ).props("flat").mark("item-history")
                    ui.button("Cancel", on_click=self.dialog.close).props("flat")
                    ui.button("Save", on_click=self._save).mark("save-item")
        with ui.dialog() as self.confirm, ui.card():
            ui.label("Delete this item? Its history stays in the audit trail.")
            with ui.row().classes("justify-end w-full"):
                ui.button("Keep it", on_click=self.confirm.close).props("flat")
                ui.button("Delete", on_click=self._delete).props("color=negative")

    async def open(self, card: ItemCard) -> None:
        """Show the dialog for a card as this tab shows it (its version)."""
        if not await still_logged_in(self.hub, self.user):
            return
        self.card = card
        self.heading.set_text(f"Item (version {card.version})")
        self.title.set_value(card.title)
        self.description.set_value(card.description)
        self.column.set_value(card.column)
        self.column.set_enabled(not card.archived)
        self.archive.set_visibility(not card.archived)
        self.restore.set_visibility(card.archived)
        if self.user.is_superuser:
            page = await in_thread(self.hub.queries.read.users, active=True, limit=200)
            options = {str(u.id): u.display_name for u in page.data}
            options.setdefault(str(card.owner_id), card.owner_name)
            self.owner.set_options(options, value=str(card.owner_id))
        self.dialog.open()

    async def _run(self, command: Command) -> bool:
        done = await send(
            self.hub,
            self.user,
            command,
            conflict=lambda exc: (
                f"{exc.changed_by} changed this item first (now version "
                f"{exc.current_version}); reopen it to see their change"
            ),
        )
        return done is not None

    async def _save(self) -> None:
        card = self.card
        if card is None:
            return
        owner = (
            UUID(self.owner.value)
            if self.user.is_superuser and self.owner.value
            else None
        )
        edited = await self._run(
            EditItem(
                item_id=card.id,
                title=self.title.value or "",
                description=self.description.value or "",
                owner_id=owner if owner != card.owner_id else None,
                expected_version=card.version,
            )
        )
        if not edited:
            return
        if self.column.value and self.column.value != card.column and not card.archived:
            # The edit took a version; the move is based on the newest one.
            fresh = await in_thread(self.hub.queries.read.item, card.id)
            moved = await self._run(
                MoveItem(
                    item_id=card.id,
                    column=self.column.value,
                    position=END_OF_COLUMN,
                    expected_version=fresh.version if fresh else None,
                )
            )
            if not moved:
                return
        self.dialog.close()

    async def _archive(self) -> None:
        if self.card and await self._run(
            ArchiveItem(item_id=self.card.id, expected_version=self.card.version)
        ):
            self.dialog.close()

    async def _restore(self) -> None:
        if self.card and await self._run(
            RestoreItem(item_id=self.card.id, expected_version=self.card.version)
        ):
            self.dialog.close()

    def _confirm_delete(self) -> None:
        self.confirm.open()

    async def _delete(self) -> None:
        self.confirm.close()
        if self.card and await self._run(
            DeleteItem(item_id=self.card.id, expected_version=self.card.version)
        ):
            self.dialog.close()
