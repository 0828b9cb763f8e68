"""The answer to a signed-in user who opens a page only superusers may see."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forbidden — ItemHub</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 32rem;
       padding: 0 1rem; color: #1d1d1d; line-height: 1.5; }}
h1 {{ font-size: 1.5rem; }}
</style>
</head>
<body>
<main>
<h1>403 — Forbidden</h1>
<p>{message}</p>
<p><a href="/">Back to the board</a></p>
</main>
</body>
</html>
"""


def forbidden_page(message: str) -> HTMLResponse:
    """HTTP 403 with a small HTML page that says why and links back to the board."""
    return HTMLResponse(_PAGE.format(message=escape(message)), status_code=403)
