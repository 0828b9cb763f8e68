"""The audit export writers, on rows as ``AuditLog.export_rows`` yields them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from itemhub.queries.audit import EXPORT_FIELDS
from itemhub.queries.export import stream_csv, stream_json

FORMULAS = ('=HYPERLINK("http://evil.example","open")', "+1", "-1", "@SUM(1)")
# Tab and CR starts: no title holds them today, but every text cell is checked.
TRIGGERS = (*FORMULAS, "\tx", "\rx")


def row_with(text: str) -> tuple[Any, ...]:
    """An export row with ``text`` in every text cell."""
    values: dict[str, Any] = dict.fromkeys(EXPORT_FIELDS, text)
    values |= {"position": 7, "version": 2, "details": json.dumps({"title": text})}
    return tuple(values[name] for name in EXPORT_FIELDS)


def test_csv_prefixes_a_quote_to_every_cell_a_spreadsheet_would_run() -> None:
    rows = [row_with(text) for text in TRIGGERS]
    written = list(csv.reader(io.StringIO("".join(stream_csv([rows])))))
    assert written[0] == list(EXPORT_FIELDS)
    for text, row in zip(TRIGGERS, written[1:], strict=True):
        expected = [
            "'" + text if isinstance(v, str) and v == text else str(v)
            for v in row_with(text)
        ]
        assert row == expected


def test_csv_leaves_other_cells_and_json_as_they_are() -> None:
    harmless = ("a-b", "1+1", "x=1", "", "réunion @ 10")
    rows = [row_with(text) for text in harmless]
    written = list(csv.reader(io.StringIO("".join(stream_csv([rows])))))[1:]
    assert written == [[str(v) for v in row] for row in rows]
    formulas = [row_with(text) for text in TRIGGERS]
    exported = json.loads("".join(stream_json([formulas])))
    assert [e["actor_name"] for e in exported] == list(TRIGGERS)
    assert [e["details"]["title"] for e in exported] == list(TRIGGERS)
