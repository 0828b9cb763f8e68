"""/login, its completion over HTTP, and /logout."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import app, ui

from itemhub.auth import (
    AccountDeactivated,
    LoginFailed,
    LoginThrottled,
)
from itemhub.commands import StoreUnavailable
from itemhub.runtime import Hub
from itemhub.ui.forbidden import forbidden_page
from itemhub.ui.frame import frame
from itemhub.ui.session import (
    complete_login,
    end_session,
    in_thread,
    issue_login_ticket,
    safe_next,
    session_user,
)

log = logging.getLogger(__name__)


def from_own_page(request: Request) -> bool:
    """Whether a form post comes from one of this site's pages (CSRF check)."""
    # Browsers send Origin with every POST (Referer as a fallback for old ones);
    # another site's page cannot forge either. Hosts only: a proxy may pass on
    # Host without the port the browser used (nginx's "Host $host").
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    return (
        source is not None
        and host is not None
        and urlsplit(source).hostname == urlsplit(f"//{host}").hostname
    )


def register(hub: Hub) -> None:
    """Declare the login and logout pages."""

    @ui.page("/login")
    async def login_page(
        request: Request, next: str = "/", incomplete: bool = False
    ) -> RedirectResponse | None:
        target = safe_next(next)
        if await session_user(hub) is not None:
            return RedirectResponse(target, status_code=303)
        client_ip = request.client.host if request.client else "unknown"
        agent = request.headers.get("user-agent", "")

        def record(
            kind: str, email: str, detail: str = "", user_id: UUID | None = None
        ) -> None:
            hub.security.record(
                kind,
                channel="ui",
                ip=client_ip,
                user_agent=agent,
                email=email.lower(),
                user_id=user_id,
                detail=detail,
            )

        async def submit() -> None:
            email_value = (email.value or "").strip()
            if not email_value or not password.value:
                ui.notify("Enter your e-mail and password", type="warning")
                return
            try:
                user = await in_thread(
                    hub.auth.login, email_value, password.value, client_ip
                )
            except LoginThrottled as exc:
                await in_thread(record, "login_throttled", email_value)
                ui.notify(
                    f"Too many failed logins; try again in {exc.retry_after} s",
                    type="negative",
                )
                return
            except LoginFailed:
                await in_thread(record, "login_failed", email_value)
                ui.notify("Incorrect e-mail or password", type="negative")
                return
            except AccountDeactivated:
                await in_thread(record, "login_failed", email_value, "deactivated")
                ui.notify("This account is deactivated", type="negative")
                return
            except StoreUnavailable as exc:
                log.warning("login not possible, a store is unavailable: %s", exc)
                ui.notify(
                    "Logging in is not possible right now; retry in a moment",
                    type="negative",
                )
                return
            await in_thread(record, "login_succeeded", email_value, "", user.id)
            ticket = issue_login_ticket(user, target)
            ui.navigate.to(f"/login/complete?ticket={ticket}")

        with frame("Log in"):
            with ui.card().classes("w-full max-w-sm self-center mt-8 gap-3"):
                ui.label("Log in to ItemHub").classes("text-h6")
                if incomplete:
                    ui.label(
                        "That login did not complete (it expired or was used); "
                        "please log in again."
                    ).classes("text-negative").mark("login-incomplete")
                email = (
                    ui.input("E-mail")
                    .props('autocomplete=username type=email data-testid="email"')
                    .classes("w-full")
                    .mark("email")
                )
                password = (
                    ui.input("Password", password=True, password_toggle_button=True)
                    .props('autocomplete=current-password data-testid="password"')
                    .classes("w-full")
                    .mark("password")
                )
                email.on("keydown.enter", submit)
                password.on("keydown.enter", submit)
                ui.button("Log in", on_click=submit).classes("w-full").props(
                    'data-testid="login"'
                ).mark("login")
        return None

    @app.get("/login/complete", include_in_schema=False)
    async def complete_login_route(request: Request, ticket: str = "") -> Response:
        target = await complete_login(hub, request, ticket)
        if target is None:
            return RedirectResponse("/login?incomplete=true", status_code=303)
        return RedirectResponse(target, status_code=303)

    # POST only: a link or an image on any page could otherwise log users out.
    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        if not from_own_page(request):
            return forbidden_page("Log out with the button on ItemHub's own pages.")
        end_session(request)
        return RedirectResponse("/login", status_code=303)
