"""The real ItemHub app plus two bare endpoints, served for ``bench.api_load``.

    cd /work/main && ITEMHUB_DATABASE_URL=... .venv/bin/python -m bench.api_server \
        --port 8123

``build(settings)`` composes the app exactly as ``itemhub serve`` does (API,
middleware, NiceGUI); before serving, two routes are put in front of every
other route of the parent app:

``GET /bench/bare/items``
    ``hub.read.items(ItemFilter(limit=50))``, like ``GET /api/v1/items?limit=50``
    answers a superuser;
``POST /bench/bare/items``
    ``hub.bus.handle(CreateItem(...))`` as the first superuser, then the same
    read-back (``hub.read.item``), like ``POST /api/v1/items``.

They run their database work in the same thread pool as FastAPI's sync routes,
pass through the same ASGI middleware (request id, security headers, sessions,
gzip) and serialise the same ``ItemPublic``/``ItemsPublic`` models once with
``model_dump_json`` (hand-made dicts + ``json.dumps`` measured 3x slower for a page
of 50, which would flatter the API). They skip the API layer: token check,
parameter and body validation, dependency injection, response-model validation
and the idempotency plumbing. Settings come from the
``ITEMHUB_*`` environment, as for ``itemhub serve``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bench.server import serve
from itemhub.api.schemas import ItemPublic, ItemsPublic
from itemhub.bootstrap import StartupError
from itemhub.commands import Channel, Context, CreateItem
from itemhub.config import ConfigError, load_settings
from itemhub.projections import ItemCard
from itemhub.queries import (
    ItemFilter,
    Page,
)
from itemhub.runtime import Hub
from itemhub.web import build

BARE_ITEMS = "/bench/bare/items"
JSON = "application/json"


def items_json(page: Page[ItemCard]) -> bytes:
    """The page as ``ItemsPublic`` JSON, serialised once by pydantic-core."""
    return (
        ItemsPublic(
            data=[ItemPublic.model_validate(c) for c in page.data], count=page.count
        )
        .model_dump_json()
        .encode()
    )


def item_json(card: ItemCard) -> bytes:
    """The card as ``ItemPublic`` JSON."""
    return ItemPublic.model_validate(card).model_dump_json().encode()


class BareItems:
    """The same read and write as the item routes, called directly."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._admin: UUID | None = None

    def admin_id(self) -> UUID:
        """The first superuser (created when the app starts), looked up once."""
        if self._admin is None:
            creds = self.hub.read.credentials_by_email(
                self.hub.settings.first_superuser_email
            )
            if creds is None:
                raise RuntimeError("the first superuser does not exist yet")
            self._admin = creds.id
        return self._admin

    def read(self) -> bytes:
        """What ``GET /api/v1/items?limit=50`` reads for a superuser."""
        return items_json(self.hub.read.items(ItemFilter(limit=50)))

    def write(self, body: dict[str, Any]) -> tuple[ItemCard, bytes]:
        """What ``POST /api/v1/items`` does without an Idempotency-Key."""
        result = self.hub.bus.handle(
            CreateItem(
                title=body["title"],
                description=body.get("description", ""),
                column=body["column"],
            ),
            Context(actor_id=self.admin_id(), channel=Channel.API),
        )
        card = self.hub.read.item(result.aggregate_id)
        if card is None:
            raise RuntimeError(f"item {result.aggregate_id} is not readable")
        return card, item_json(card)

    async def get(self, request: Request) -> Response:
        """``GET /bench/bare/items``."""
        return Response(await run_in_threadpool(self.read), media_type=JSON)

    async def post(self, request: Request) -> Response:
        """``POST /bench/bare/items``."""
        body = await request.json()
        card, content = await run_in_threadpool(self.write, body)
        return Response(
            content,
            status_code=201,
            media_type=JSON,
            headers={
                "ETag": f'"{card.version}"',
                "Location": f"{BARE_ITEMS}/{card.id}",
            },
        )

    def routes(self) -> list[BaseRoute]:
        """Plain Starlette routes (no dependency injection, no schemas)."""
        return [
            Route(BARE_ITEMS, self.get, methods=["GET"]),
            Route(BARE_ITEMS, self.post, methods=["POST"]),
        ]


def add_bare_routes(app: FastAPI) -> None:
    """Put the bare routes first, ahead of ``/api/{path}`` and NiceGUI's mount."""
    bare = BareItems(app.state.hub)
    app.router.routes[:0] = bare.routes()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the app, add the bare routes, serve until SIGTERM/SIGINT."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        app = build(load_settings())
    except (ConfigError, StartupError) as exc:
        sys.stderr.write(f"api_server: {exc}\n")
        return 2
    add_bare_routes(app)
    sys.stdout.write(f"api_server ready to serve at {dt.datetime.now():%H:%M:%S}\n")
    sys.stdout.flush()
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
