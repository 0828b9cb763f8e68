"""Streaming exports of the audit trail (CSV and JSON), chunk by chunk."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from itemhub.projections.dto import ActivityEntry

EXPORT_FIELDS = tuple(f.name for f in dataclasses.fields(ActivityEntry))
FLUSH_EVERY = 500


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # The same form as the API's JSON (pydantic): UTC with a "Z".
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, UUID):
        return str(value)
    return value


def entry_dict(entry: ActivityEntry) -> dict[str, Any]:
    """An entry as plain JSON values (``details`` as an object)."""
    data = {name: _value(getattr(entry, name)) for name in EXPORT_FIELDS}
    data["details"] = json.loads(entry.details)
    return data


def stream_csv(entries: Iterator[ActivityEntry]) -> Iterator[str]:
    """CSV text, a header first, flushed every few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for n, entry in enumerate(entries):
        writer.writerow([_value(getattr(entry, name)) for name in EXPORT_FIELDS])
        if n % FLUSH_EVERY == FLUSH_EVERY - 1:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def stream_json(entries: Iterator[ActivityEntry]) -> Iterator[str]:
    """A JSON array, one entry at a time."""
    yield "["
    for n, entry in enumerate(entries):
        yield ("," if n else "") + json.dumps(entry_dict(entry), ensure_ascii=False)
    yield "]"
