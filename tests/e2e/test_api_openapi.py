"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.routing import APIRoute

from itemhub.api import API_PREFIX
from itemhub.api.routes import audit, events, health, items, login, users

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_openapi_lists_only_api_v1_operations_each_named_and_documented(
    client: httpx.AsyncClient,
) -> None:
    document = await openapi(client)
    paths = set(document["paths"])
    assert all(p.startswith(f"{API_PREFIX}/") for p in paths), sorted(paths)
    # The catch-all for unknown paths is not an operation.
    assert not any("{path" in p for p in paths)
    for expected in (
        "/api/v1/login/access-token",
        "/api/v1/users/me",
        "/api/v1/items/{item_id}",
        "/api/v1/items/{item_id}/move",
    ):
        assert expected in paths
    # The routes as the modules declare them, independent of the app's wiring.
    endpoints = {
        (f"{API_PREFIX}{route.path}", method.lower()): route.endpoint.__name__
        for module in (audit, events, health, items, login, users)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    ids = []
    for path, method, operation in operations(document):
        tag = operation["tags"][0]
        function = endpoints[(path, method)]
        assert operation["operationId"] == f"{tag}-{function}", (path, method)
        assert re.fullmatch(r"[a-z]+-[a-z_]+", operation["operationId"])
        ids.append(operation["operationId"])
        assert operation.get("summary", "").strip(), (path, method)
        assert operation.get("description", "").strip(), (path, method)
    assert len(ids) == len(set(ids)) == len(endpoints)


async def test_swagger_ui_and_redoc_answer(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "/openapi.json" in response.text
