"""Browser-facing hardening: response headers and the Socket.IO origin lock."""

from __future__ import annotations

from nicegui import core
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# NiceGUI compiles Vue templates in the browser, hence 'unsafe-eval'. 'self'
# covers the page's own ws:/wss: origin (CSP Level 3) for NiceGUI's socket.
CSP = (
    "default-src 'self'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "font-src 'self' data:; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'self'; "
    "form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]
# Two years; browsers ignore HSTS received over plain http.
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*HEADERS, HSTS] if hsts else HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def lock_socket_origin() -> None:
    """Accept Socket.IO connections only from the app's own origin.

    NiceGUI allows any Origin by default; ``None`` makes python-engineio accept
    only the origin that matches the request's host.
    """
    core.sio.eio.cors_allowed_origins = None
