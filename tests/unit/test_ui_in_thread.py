"""``in_thread`` tells "the function returned None" from "it was not run"."""

from __future__ import annotations

import asyncio
import threading

import pytest

from itemhub.ui.session import in_thread

BLOCK_LIMIT = 10.0  # seconds; a safety net only, the test releases it at once


def _lookup(key: str) -> str | None:
    return {"alice": "Alice"}.get(key)


async def test_a_function_returning_none_gives_none() -> None:
    assert await in_thread(_lookup, "alice") == "Alice"
    assert await in_thread(_lookup, "nobody") is None


async def test_a_cancelled_call_raises_instead_of_returning_none() -> None:
    entered, release = threading.Event(), threading.Event()

    def blocking() -> str:
        entered.set()
        release.wait(BLOCK_LIMIT)
        return "ran"

    task = asyncio.create_task(in_thread(blocking))
    assert await asyncio.to_thread(entered.wait, BLOCK_LIMIT)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
