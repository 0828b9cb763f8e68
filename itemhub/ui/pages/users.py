"""/users — user administration for superusers, live."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from itemhub.commands import (
    Command,
    DeactivateUser,
    GrantSuperuser,
    ReactivateUser,
    RegisterUser,
    RevokeSuperuser,
    UpdateUser,
)
from itemhub.projections import (
    Delta,
    UserChanged,
    UserView,
)
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, send, superuser_page
from itemhub.ui.frame import frame
from itemhub.ui.live import LiveFeed
from itemhub.ui.session import (
    SessionGuard,
    in_thread,
)


def register(hub: Hub, live: LiveFeed) -> None:
    """Declare ``/users``."""

    @ui.page("/users")
    async def users_page(request: Request) -> Response | None:
        page = await superuser_page(hub, request, "Only superusers may manage users.")
        if not isinstance(page, OpenedPage):
            return page
        with frame("Users", page.me):
            admin = UserAdmin(hub, page.guard)
            ui.button("New user", icon="person_add", on_click=admin.create.open).mark(
                "new-user"
            )
            admin.table = ui.column().classes("w-full gap-1").mark("user-list")
        await admin.reload()

        def on_deltas(deltas: Sequence[Delta]) -> None:
            if any(isinstance(d, UserChanged) for d in deltas):
                ui.timer(0, admin.reload, once=True)

        await admin.guard.follow(live.changed, on_deltas)
        return None


class UserAdmin:
    """The list of users and the create/edit dialogs."""

    def __init__(self, hub: Hub, guard: SessionGuard) -> None:
        self.hub = hub
        self.guard = guard
        self.table: ui.column | None = None
        with ui.dialog() as self.create, ui.card().classes("w-full max-w-md"):
            ui.label("New user").classes("text-h6")
            self.new_email = ui.input("E-mail").classes("w-full").mark("new-email")
            self.new_name = ui.input("Full name").classes("w-full").mark("new-name")
            self.new_password = (
                ui.input("Password", password=True)
                .classes("w-full")
                .mark("new-password")
            )
            self.new_superuser = ui.checkbox("Superuser")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.create.close).props("flat")
                ui.button("Create", on_click=self._create).mark("create-user")
        with ui.dialog() as self.edit, ui.card().classes("w-full max-w-md"):
            ui.label("Edit user").classes("text-h6")
            self.edit_email = ui.input("E-mail").classes("w-full")
            self.edit_name = ui.input("Full name").classes("w-full")
            self.edit_password = ui.input(
                "New password (optional)", password=True
            ).classes("w-full")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.edit.close).props("flat")
                ui.button("Save", on_click=self._save).mark("save-user")
        self.editing: UserView | None = None

    async def reload(self) -> None:
        """Re-read the (small) list of users."""
        page = await in_thread(self.hub.queries.read.users, limit=200)
        if page is None or self.table is None:
            return
        self.table.clear()
        with self.table:
            for view in page.data:
                self._row(view)

    def _row(self, view: UserView) -> None:
        with ui.card().classes("w-full p-2").mark(f"user-{view.email}"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(view.display_name).classes("font-medium")
                ui.label(view.email).classes("text-grey-7")
                if view.is_superuser:
                    ui.badge("superuser", color="primary")
                if not view.is_active:
                    ui.badge("deactivated", color="negative")
                ui.space()
                ui.button("Edit", on_click=lambda v=view: self._open_edit(v)).props(
                    "flat"
                )
                role = (
                    ("Revoke superuser", RevokeSuperuser, "revoke", "flat")
                    if view.is_superuser
                    else ("Make superuser", GrantSuperuser, "grant", "flat")
                )
                state = (
                    ("Deactivate", DeactivateUser, "deactivate", "flat color=negative")
                    if view.is_active
                    else ("Reactivate", ReactivateUser, "reactivate", "flat")
                )
                for label, command, mark, props in (role, state):
                    ui.button(
                        label,
                        on_click=lambda c=command, v=view: self._do(c(user_id=v.id)),
                    ).props(props).mark(f"{mark}-{view.email}")

    async def _do(self, command: Command) -> bool:
        done = await send(self.hub, self.guard.user, command, guard=self.guard)
        return done is not None

    async def _create(self) -> None:
        done = await self._do(
            RegisterUser(
                email=self.new_email.value or "",
                password=self.new_password.value or "",
                full_name=self.new_name.value or "",
                is_superuser=bool(self.new_superuser.value),
            )
        )
        if done:
            ui.notify(f"Created {self.new_email.value}", type="positive")
            for field in (self.new_email, self.new_name, self.new_password):
                field.set_value("")
            self.create.close()

    def _open_edit(self, view: UserView) -> None:
        self.editing = view
        self.edit_email.set_value(view.email)
        self.edit_name.set_value(view.full_name)
        self.edit_password.set_value("")
        self.edit.open()

    async def _save(self) -> None:
        view = self.editing
        if view is None:
            return
        done = await self._do(
            UpdateUser(
                user_id=view.id,
                email=self.edit_email.value or None,
                full_name=self.edit_name.value,
                password=self.edit_password.value or None,
                expected_version=view.version,
            )
        )
        if done:
            self.edit.close()
