"""Streaming exports of the audit trail (CSV and JSON), chunk by chunk."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from itemhub.queries.audit import EXPORT_FIELDS

ExportRows = Iterable[Sequence[Sequence[Any]]]
"""Chunks of rows in ``EXPORT_FIELDS`` order, as ``AuditLog.export_rows`` gives."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with one of these as a formula (OWASP: CSV
injection): an item titled ``=HYPERLINK(...)`` would act in the reader's sheet."""


def neutralise(cell: Any) -> Any:
    """A text cell a spreadsheet would run, prefixed with ``'`` to stay text."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def stream_csv(chunks: ExportRows) -> Iterator[str]:
    """CSV text, a header first, then one piece per chunk of rows (no formulas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for rows in chunks:
        writer.writerows([map(neutralise, row) for row in rows])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def stream_json(chunks: ExportRows) -> Iterator[str]:
    """A JSON array of objects (``details`` as an object), one piece per chunk."""
    yield "["
    separator = ""
    for rows in chunks:
        pieces = []
        for row in rows:
            data = dict(zip(EXPORT_FIELDS, row, strict=True))
            data["details"] = json.loads(data["details"])
            pieces.append(json.dumps(data, ensure_ascii=False))
        if pieces:
            yield separator + ",".join(pieces)
            separator = ","
    yield "]"


EXPORT_MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}
"""The formats the trail exports to, and what each is sent as."""


def export_stream(chunks: ExportRows, fmt: str) -> Iterator[str]:
    """The trail as ``fmt`` (csv or json), piece by piece, for API, UI and CLI."""
    return stream_json(chunks) if fmt == "json" else stream_csv(chunks)
