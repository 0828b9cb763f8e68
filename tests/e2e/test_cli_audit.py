"""The audit commands of the CLI, run as ``python -m itemhub`` in a child process.

A started hub (the ``hub`` fixture) writes the history; the CLI opens the same
database through ``ITEMHUB_DATABASE_URL``, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from sqlalchemy import update

from itemhub.commands import (
    Context,
    CreateItem,
    EditItem,
    MoveItem,
    RevertItem,
)
from itemhub.projections.registry import projection_names
from itemhub.runtime import Hub
from tests.conftest import admin_context, register
from tests.e2e.api_helpers import API, api_client, as_admin
from tests.e2e.server import child_env

CLI_TIMEOUT = 120


def itemhub(
    database_url: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m itemhub ARGS`` against the test database (no .env file:
    the child runs in an empty directory)."""
    return subprocess.run(
        [sys.executable, "-m", "itemhub", *args],
        cwd=cwd,
        # A wide console: rich would wrap table cells and long lines at 80.
        env=child_env(ITEMHUB_DATABASE_URL=database_url, COLUMNS="1000"),
        capture_output=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def text(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode() + result.stderr.decode()


def some_items(hub: Hub, ctx: Context, count: int = 3) -> list[UUID]:
    """Items with a few versions each."""
    ids = []
    for n in range(count):
        item = hub.bus.handle(
            CreateItem(title=f"Genuine {n}", description="", column="Todo"), ctx
        ).aggregate_id
        hub.bus.handle(EditItem(item_id=item, title=f"Genuine {n} v2"), ctx)
        ids.append(item)
    return ids


def tamper_event(
    hub: Hub, database_url: str, item_id: UUID, version: int, old: bytes, new: bytes
) -> None:
    """Edit one stored event by hand, as someone with database access could."""
    if database_url.startswith("sqlite"):
        path = hub.settings.database.events_path
        assert path is not None
        with sqlite3.connect(path) as conn:
            key = (item_id.hex, version)
            (state,) = conn.execute(
                "SELECT state FROM stored_events"
                " WHERE originator_id = ? AND originator_version = ?",
                key,
            ).fetchone()
            assert old in state
            conn.execute(
                "UPDATE stored_events SET state = ?"
                " WHERE originator_id = ? AND originator_version = ?",
                (bytes(state).replace(old, new), *key),
            )
        return
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as pg:
        row = pg.execute(
            "SELECT state FROM itemhub_events"
            " WHERE originator_id = %s AND originator_version = %s",
            (item_id, version),
        ).fetchone()
        assert row is not None
        state = bytes(row[0])
        assert old in state
        pg.execute(
            "UPDATE itemhub_events SET state = %s"
            " WHERE originator_id = %s AND originator_version = %s",
            (state.replace(old, new), item_id, version),
        )


def test_verify_names_a_read_model_row_changed_by_hand(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    ids = some_items(hub, register(hub))
    head = hub.head()
    clean = itemhub(database_url, tmp_path, "verify")
    assert clean.returncode == 0, text(clean)
    for name in projection_names():
        assert f"{name}: identical at position {head}" in text(clean)

    t = hub.store.tables.items
    with hub.store.writer.begin() as conn:
        conn.execute(update(t).where(t.c.id == ids[1]).values(title="Forged by hand"))
    broken = itemhub(database_url, tmp_path, "verify")
    output = text(broken)
    assert broken.returncode == 1, output
    assert f"items: 1 difference(s) (replayed to position {head})" in output
    (line,) = [ln for ln in output.splitlines() if str(ids[1]) in ln]
    assert "Forged by hand" in line and "Genuine 1 v2" in line
    for name in ("users", "activity", "chain"):
        assert f"{name}: identical at position {head}" in output


async def test_verify_chain_and_the_api_name_the_first_tampered_event(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    ids = some_items(hub, register(hub))
    head = hub.head()
    async with api_client(hub) as client:
        admin = await as_admin(client)

        async def chain() -> dict[str, Any]:
            response = await client.get(f"{API}/audit/chain", headers=admin.auth)
            assert response.status_code == 200, response.text
            report: dict[str, Any] = response.json()
            return report

        assert await chain() == {
            "intact": True,
            "checked": head,
            "first_broken": None,
            "reason": None,
        }
        clean = await asyncio.to_thread(itemhub, database_url, tmp_path, "verify-chain")
        assert clean.returncode == 0, text(clean)
        assert f"chain intact: {head} events checked" in text(clean)

        # The first version of the second item, well inside the log.
        (entry,) = [
            e for e in hub.read.activity(target_id=ids[1], limit=10) if e.version == 1
        ]
        tamper_event(
            hub, database_url, ids[1], 1, b'"title":"Genuine 1"', b'"title":"Forged 1"'
        )
        broken = await asyncio.to_thread(
            itemhub, database_url, tmp_path, "verify-chain"
        )
        output = text(broken)
        assert broken.returncode == 1, output
        assert f"chain broken at position {entry.position}" in output
        assert f"({entry.position - 1} events before it are intact)" in output
        report = await chain()
    assert report["intact"] is False
    assert report["first_broken"] == entry.position
    assert report["checked"] == entry.position - 1
    assert "differs" in report["reason"]


async def test_export_audit_prints_what_the_api_exports(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    some_items(hub, register(hub), count=4)
    entries = hub.read.activity(limit=10_000)[::-1]
    # The CLI takes whole seconds (naive, UTC): a window around the middle.
    middle = entries[len(entries) // 2].occurred_at.replace(tzinfo=None)
    since = middle.replace(microsecond=0)
    until = since + dt.timedelta(seconds=1)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    async with api_client(hub) as client:
        admin = await as_admin(client)

        async def export(**params: str) -> bytes:
            response = await client.get(
                f"{API}/audit/export", params=params, headers=admin.auth
            )
            assert response.status_code == 200, response.text
            return response.content

        api_json = await export(format="json")
        api_csv = await export(format="csv")
        api_window = await export(format="json", **window)

    as_json = await asyncio.to_thread(
        itemhub, database_url, tmp_path, "export-audit", "--format", "json"
    )
    assert as_json.returncode == 0, text(as_json)
    assert json.loads(as_json.stdout) == json.loads(api_json)
    assert len(json.loads(api_json)) == len(entries)

    as_csv = await asyncio.to_thread(itemhub, database_url, tmp_path, "export-audit")
    assert as_csv.returncode == 0, text(as_csv)
    assert as_csv.stdout == api_csv

    in_window = await asyncio.to_thread(
        itemhub,
        database_url,
        tmp_path,
        "export-audit",
        "--format",
        "json",
        "--since",
        window["since"],
        "--until",
        window["until"],
    )
    assert in_window.returncode == 0, text(in_window)
    assert json.loads(in_window.stdout) == json.loads(api_window)
    assert json.loads(api_window), "the window should hold an entry"


def test_export_audit_csv_neutralises_formula_titles(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    formulas = ('=HYPERLINK("http://evil.example","open")', "+1", "-1", "@SUM(1)")
    ctx = register(hub)
    for formula in formulas:
        hub.bus.handle(CreateItem(title=formula, column="Todo"), ctx)
    result = itemhub(database_url, tmp_path, "export-audit")
    assert result.returncode == 0, text(result)
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    labels = [row["target_label"] for row in rows if row["action"] == "item.created"]
    assert labels == [f"'{formula}" for formula in formulas]


def test_history_shows_every_version_of_an_item(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    ann = register(hub)
    item = hub.bus.handle(
        CreateItem(title="Draft", description="", column="Todo"), ann
    ).aggregate_id
    hub.bus.handle(EditItem(item_id=item, title="Final"), ann)
    hub.bus.handle(MoveItem(item_id=item, column="Done", position=0), ann)
    hub.bus.handle(RevertItem(item_id=item, to_version=1), admin_context(hub))

    shown = itemhub(database_url, tmp_path, "history", str(item))
    output = text(shown)
    assert shown.returncode == 0, output
    rows = [ln for ln in output.splitlines() if "item." in ln]
    assert len(rows) == 4, output
    for version, (row, action) in enumerate(
        zip(
            rows,
            ("item.created", "item.edited", "item.moved", "item.reverted"),
            strict=True,
        ),
        start=1,
    ):
        assert row.split()[1] == str(version), row
        assert action in row
    assert "title: 'Draft' → 'Final'" in rows[1]
    assert "column: 'Todo' → 'Done'" in rows[2]
    assert "title: 'Final' → 'Draft'" in rows[3] and "Administrator" in rows[3]

    unknown = itemhub(database_url, tmp_path, "history", str(uuid4()))
    assert unknown.returncode == 1
    assert "no item" in unknown.stderr.decode()
