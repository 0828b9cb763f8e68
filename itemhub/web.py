"""The composition root: ``build(settings)`` wires the web app; ``main()`` serves it."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys

import uvicorn
from fastapi import FastAPI
from nicegui import app as nicegui_app
from nicegui import ui
from starlette.middleware.trustedhost import TrustedHostMiddleware

from itemhub.api import create_api
from itemhub.bootstrap import StartupError
from itemhub.config import ConfigError, Settings, load_settings, secret_value
from itemhub.first_superuser import check_bootstrap
from itemhub.runtime import Hub
from itemhub.ui import register as register_ui
from itemhub.ui.security import SecurityHeaders, lock_socket_origin
from itemhub.ui.shared_presence import SharedPresence
from itemhub.ui.socket_packets import send_text_packets
from itemhub.ui.storage import configure_storage

log = logging.getLogger("itemhub")


def build(settings: Settings, *, hub: Hub | None = None) -> FastAPI:
    """Build the FastAPI app with the API, the NiceGUI pages and the runtime."""
    # First: if the session directory cannot be made, no hub is left open.
    configure_storage(settings)
    hub = hub or Hub.open(settings)
    try:
        check_bootstrap(hub)
    except StartupError:
        hub.close()
        raise
    api = create_api(hub)
    api.add_middleware(SecurityHeaders, hsts=settings.env == "prod")
    live = register_ui(hub)
    # Several instances share a Redis: presence then spans all of them.
    shared = (
        SharedPresence(live.presence, settings.redis_url.get_secret_value())
        if settings.redis_url is not None
        else None
    )

    def start() -> None:
        # Synchronous on purpose: NiceGUI runs async startup handlers as
        # background tasks, and nothing may be served before the workers run
        # and the first superuser exists. Nothing else is served yet either.
        password = hub.start(asyncio.get_running_loop())
        if shared is not None:
            shared.start()
        if password:
            email = settings.first_superuser_email
            sys.stdout.write(
                f"\nItemHub created the first superuser {email} with password "
                f"{password}\n(shown once; set ITEMHUB_FIRST_SUPERUSER_PASSWORD to "
                "choose it)\n\n"
            )
            sys.stdout.flush()

    async def stop() -> None:
        if shared is not None:
            await shared.stop()
        live.close()
        await asyncio.to_thread(hub.close)

    nicegui_app.on_startup(start)
    nicegui_app.on_shutdown(stop)
    ui.run_with(
        api,
        title="ItemHub",
        # The hub's settings: in dev it resolved the generated secret.
        storage_secret=secret_value(hub.settings.storage_secret),
        session_middleware_kwargs={
            "session_cookie": settings.session_cookie,
            # The server ends a session after this anyway (session_valid).
            "max_age": settings.session_max_hours * 3600,
            "https_only": settings.cookies_secure,
            "same_site": "lax",
        },
        show_welcome_message=False,
    )
    # Outermost (after NiceGUI's own middleware): a foreign Host, as a page
    # whose name was rebound to this address sends, reaches nothing.
    api.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    lock_socket_origin()
    send_text_packets()
    # NiceGUI's test harness runs app.py itself: its tests find the hub here.
    nicegui_app.state.hub = hub
    nicegui_app.state.web = api
    return api


# Python's default (700, 10, 10) runs a full collection of the whole heap
# every few hundred commands once many board tabs are open: at 200 tabs that
# stopped the event loop for 0.4-0.7 s, the p99 of every push (bench.fanout:
# p99 551 ms with the defaults, 160 ms with these, no full GC in the run).
# Cyclic garbage (closed tabs) now waits longer for a collection.
GC_THRESHOLDS = (20_000, 50, 50)


def tune_gc() -> None:
    """Collect less often: a serving process holds a large, long-lived heap."""
    gc.set_threshold(*GC_THRESHOLDS)


def main() -> None:
    """Serve ItemHub on ``ITEMHUB_HOST:ITEMHUB_PORT``."""
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        fastapi_app = build(settings)
    except (ConfigError, StartupError) as exc:
        sys.stderr.write(f"itemhub: {exc}\n")
        raise SystemExit(2) from None
    if os.environ.get("NICEGUI_USER_SIMULATION"):
        return  # NiceGUI's test harness serves the app itself
    tune_gc()
    log.info("serving on http://%s:%s", settings.host, settings.port)
    uvicorn.run(
        fastapi_app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Only the named proxies may say who the client is (uvicorn would
        # otherwise trust FORWARDED_ALLOW_IPS or 127.0.0.1).
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=list(settings.forwarded_allow_ips),
        # Open SSE streams and sockets would otherwise hold shutdown forever.
        timeout_graceful_shutdown=3,
    )
