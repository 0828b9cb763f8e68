"""The REST API under ``/api/v1``, served by the parent FastAPI app."""

from __future__ import annotations

from fastapi import APIRouter

from itemhub.api.routes import health

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every API route, to be included under ``API_PREFIX``."""
    router = APIRouter()
    router.include_router(health.router)
    return router
