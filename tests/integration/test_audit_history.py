"""The audit trail, time travel and replays against a started Hub, on both backends.

* Filters: every combination returns exactly what a brute-force filter over the
  whole activity read model returns, paged, counted, iterated and charted.
* Time travel: the board as of position N equals the live board right after
  the command that produced position N.
* Tamper evidence: a link missing from the hash chain is a broken chain.
* Replays: a rebuild racing live commands ends identical to a replay from zero,
  with every live worker still running.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update

from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    ArchiveItem,
    ChangeProfile,
    Channel,
    Command,
    CommandResult,
    Context,
    CreateItem,
    DeleteItem,
    DomainError,
    EditItem,
    LogOutEverywhere,
    MoveItem,
    ReassignItem,
    RestoreItem,
    RevertItem,
)
from itemhub.eventstore import EventAt, iter_batches
from itemhub.projections import (
    ActivityEntry,
    ItemCard,
)
from itemhub.projections.registry import projection_names
from itemhub.queries.audit import AuditFilter, Bucket
from itemhub.queries.chain import verify_chain
from itemhub.queries.checkpoints import BoardCheckpoints, BoardFold
from itemhub.queries.history import board_as_of
from itemhub.queries.read_models import ItemFilter
from itemhub.readside.replay import differences, rebuild
from itemhub.readstore.store import ReadStore
from itemhub.readstore.tracking import TrackingState
from itemhub.runtime import Hub
from tests.conftest import admin_context, register

Board = dict[str, list[ItemCard]]
ALL = 10_000

# --- a random but reproducible history ---------------------------------------

# LIKE wildcards and the escape character on purpose: the text filter must
# treat them literally.
TITLES = (
    "Plan 50% of Q3",
    "snake_case cleanup",
    "Back\\slash fix",
    "Ship it",
    "SHIP it again",
    "Review notes",
)
NAMES = ("Ann Lee", "Ben Ng", "Cy Twombly", "Dee")
OPS = (
    *("create", "create", "create", "edit", "edit", "move", "archive"),
    *("restore", "revert", "reassign", "delete", "profile", "logout"),
)


def build_history(hub: Hub, seed: int, steps: int) -> None:
    """Random item and user commands by random actors (refusals are fine)."""
    rng = random.Random(seed)
    admin = admin_context(hub)
    users = [
        register(hub, f"{n.split()[0].lower()}-{uuid4().hex[:6]}@example.com")
        for n in NAMES[:3]
    ]
    system = Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.CLI)
    actors = [admin, *users, system, dataclasses.replace(users[0], channel=Channel.UI)]
    columns = hub.settings.board_columns

    owners: dict[UUID, Context] = {}  # an item's owner, as far as we know
    by_id = {ctx.actor_id: ctx for ctx in (admin, *users)}

    for n in range(steps):
        item = rng.choice(list(owners)) if owners else None
        # Mostly someone allowed to (the owner, or a superuser); now and then
        # anybody, who may be refused (refusals append nothing).
        natural = owners[item] if item else rng.choice(actors)
        actor = rng.choice(actors) if rng.random() < 0.25 else natural
        if rng.random() < 0.2:
            actor = rng.choice((admin, system))
        op = rng.choice(OPS)
        command: Command
        if op == "create" or item is None:
            command = CreateItem(
                title=f"{rng.choice(TITLES)} #{n}",
                description=rng.choice(("", "details", "50% done")),
                column=rng.choice(columns),
                position=rng.choice((None, 0, 1)),
            )
        elif op == "edit":
            command = EditItem(
                item_id=item,
                title=f"{rng.choice(TITLES)} v{n}",
                description=rng.choice(("", "more details")),
            )
        elif op == "move":
            command = MoveItem(
                item_id=item, column=rng.choice(columns), position=rng.randint(0, 3)
            )
        elif op == "archive":
            command = ArchiveItem(item_id=item)
        elif op == "restore":
            command = RestoreItem(item_id=item)
        elif op == "revert":
            command = RevertItem(item_id=item, to_version=rng.randint(1, 3))
        elif op == "reassign":
            command = ReassignItem(item_id=item, owner_id=rng.choice(users).actor_id)
        elif op == "delete":
            command = DeleteItem(item_id=item)
        elif op == "profile":
            command = ChangeProfile(
                user_id=rng.choice(users).actor_id, full_name=f"{rng.choice(NAMES)} {n}"
            )
        else:
            command = LogOutEverywhere(user_id=rng.choice(users).actor_id)
        try:
            result = hub.bus.handle(command, actor)
        except DomainError:
            continue
        if isinstance(command, CreateItem):  # the system cannot own items
            owners[result.aggregate_id] = by_id[actor.actor_id]
        elif isinstance(command, ReassignItem):
            owners[command.item_id] = by_id[command.owner_id]
        elif isinstance(command, DeleteItem):
            del owners[command.item_id]


# --- the reference filter ------------------------------------------------------


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def matches(e: ActivityEntry, f: AuditFilter) -> bool:
    """The documented meaning of each filter field, one entry at a time."""
    checks = (
        f.actor_id is None or e.actor_id == f.actor_id,
        not f.action or e.action == f.action,
        f.item_id is None or (e.target_type == "item" and e.target_id == f.item_id),
        f.user_id is None or (e.target_type == "user" and e.target_id == f.user_id),
        f.since is None or e.occurred_at >= _utc(f.since),
        f.until is None or e.occurred_at <= _utc(f.until),
        f.owner_id is None or (e.target_type == "item" and e.owner_id == f.owner_id),
        f.correlation_id is None or e.correlation_id == f.correlation_id,
        f.after is None or e.position > f.after,
        f.before is None or e.position < f.before,
        not f.text
        or any(
            f.text.lower() in s.lower()
            for s in (e.summary, e.target_label, e.actor_name)
        ),
    )
    return all(checks)


def paged(hub: Hub, f: AuditFilter, limit: int) -> list[ActivityEntry]:
    """Every page of ``f``, following ``next_before``; checks each page's shape."""
    found: list[ActivityEntry] = []
    cursor = f
    for _ in range(ALL):
        page = hub.audit.page(cursor, limit)
        assert len(page.data) <= limit
        # A cursor never leads to an empty page.
        assert page.data or (not found and page.next_before is None)
        found += page.data
        if page.next_before is None:
            return found
        assert len(page.data) == limit
        assert page.next_before == page.data[-1].position
        cursor = dataclasses.replace(f, before=page.next_before)
    raise AssertionError("paging did not end")


def flip_case(text: str, flips: list[bool]) -> str:
    """Swap the case of some ASCII letters."""
    return "".join(
        c.swapcase() if c.isascii() and flip else c
        for c, flip in zip(text, flips, strict=False)
    )


def export_form(e: ActivityEntry) -> tuple[Any, ...]:
    """An entry as exports write it: ids as text, times as ISO 8601 UTC with "Z"."""
    values: list[Any] = []
    for field in dataclasses.fields(e):
        value = getattr(e, field.name)
        if isinstance(value, UUID):
            value = str(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        values.append(value)
    return tuple(values)


def test_export_rows_write_times_like_isoformat(hub: Hub) -> None:
    # Whole seconds have no fraction in isoformat(); the stored text has one.
    t = hub.store.tables.activity
    far = 10**9  # beyond anything the activity worker writes in this test
    moments = [
        dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 0, 0, 7, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ]
    ids = [uuid4() for _ in range(4)]
    with hub.store.writer.begin() as conn:
        conn.execute(
            t.insert(),
            [
                {
                    "position": far + n,
                    "occurred_at": moment,
                    "actor_id": ids[0],
                    "actor_name": "Ann",
                    "channel": "api",
                    "action": "item.created",
                    "target_type": "item",
                    "target_id": ids[1],
                    "target_label": 'a, "quoted" label',
                    "summary": "line one\nline two",
                    "details": "{}",
                    "owner_id": ids[2],
                    "version": 1,
                    "correlation_id": ids[3],
                    "command_id": ids[n],
                }
                for n, moment in enumerate(moments)
            ],
        )
    f = AuditFilter(after=far - 1)
    rows = [row for rows in hub.audit.export_rows(f, chunk=3) for row in rows]
    assert rows == [export_form(e) for e in hub.audit.iterate(f)]
    assert [row[1] for row in rows] == [
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:00:00.000007Z",
        "2026-12-31T23:59:59.999999Z",
        "2026-06-01T07:30:00Z",
    ]
    assert rows[0][2] == str(ids[0])


BUCKETS: tuple[Bucket, ...] = ("minute", "hour", "day")
ZONES = (dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)))


def test_filters_return_exactly_the_matching_entries(hub: Hub) -> None:
    build_history(hub, seed=20240611, steps=70)
    hub.wait_for(hub.head())
    everything = hub.read.activity(limit=ALL)
    assert len(everything) < ALL
    assert [e.position for e in everything] == sorted(
        {e.position for e in everything}, reverse=True
    )
    actions = {e.action for e in everything}
    assert len(everything) > 50 and len(actions) > 8, "too poor a history to test"
    assert {e.channel for e in everything} >= {"api", "ui", "cli"}
    # The trail never shows a password hash.
    assert not [e for e in everything if "argon2" in e.details + e.summary]

    # A few fields are on, each taken from one "anchor" entry (so that
    # combinations still match something) or any value (which may match none).
    def pick(data: st.DataObject, name: str, anchor: Any, others: list[Any]) -> Any:
        how = data.draw(
            st.sampled_from(("anchor", "anchor", "anchor", "any")), label=name
        )
        if how == "anchor":
            return anchor
        return data.draw(st.sampled_from(others), label=f"{name} value")

    def values(get: Callable[[ActivityEntry], Any]) -> list[Any]:
        return sorted({get(e) for e in everything} - {None}, key=str)

    items = values(lambda e: e.target_id if e.target_type == "item" else None)
    users = values(lambda e: e.target_id if e.target_type == "user" else None)
    others: dict[str, list[Any]] = {
        "actor_id": [*values(lambda e: e.actor_id), uuid4()],
        "action": [*sorted(actions), "item.nothing_like_this"],
        "item_id": [*items, users[0]],
        "user_id": [*users, items[0]],
        "owner_id": values(lambda e: e.owner_id),
        "correlation_id": values(lambda e: e.correlation_id),
        "since": values(lambda e: e.occurred_at),
        "until": values(lambda e: e.occurred_at),
        "after": values(lambda e: e.position),
        "before": values(lambda e: e.position),
        "text": ["%", "_", "\\", "50%", "e_c", "zzz-none", "→", "renamed"],
    }
    texts = (lambda e: e.summary, lambda e: e.target_label, lambda e: e.actor_name)

    def anchored(data: st.DataObject, name: str, e: ActivityEntry) -> Any:
        """A value of ``name`` that ``e`` matches."""
        step = dt.timedelta(microseconds=data.draw(st.sampled_from((0, 1, 10**6))))
        span = data.draw(st.sampled_from((1, 5, 20)))
        if name == "text":
            source = data.draw(st.sampled_from(texts))(e)
            start = data.draw(st.integers(0, max(len(source) - 1, 0)))
            piece = source[start : start + data.draw(st.integers(1, 8))]
            flips = data.draw(st.lists(st.booleans(), min_size=len(piece)))
            return flip_case(piece, flips)
        return {
            "actor_id": e.actor_id,
            "action": e.action,
            "item_id": e.target_id if e.target_type == "item" else None,
            "user_id": e.target_id if e.target_type == "user" else None,
            "owner_id": e.owner_id if e.target_type == "item" else None,
            "correlation_id": e.correlation_id,
            "since": e.occurred_at - step,
            "until": e.occurred_at + step,
            "after": e.position - span,
            "before": e.position + span,
        }[name]

    # Only the filters are drawn: the history above is built once per test on
    # the function-scoped hub, and the nested @given takes no fixture at all.
    @settings(max_examples=20, deadline=None, database=None)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        anchor = data.draw(st.sampled_from(everything), label="anchor")
        names = list(others)
        on = data.draw(st.sets(st.sampled_from(names), max_size=4), label="fields")
        if data.draw(st.integers(0, 9), label="all on") == 0:
            on = set(names)
        fields = {
            name: pick(data, name, anchored(data, name, anchor), others[name])
            if name in on
            else None
            for name in names
        }
        # Times: both naive (taken as UTC) or both aware, in any zone; mixing
        # the two is a test of its own further down.
        if data.draw(st.booleans(), label="naive times"):
            zone = None
        else:
            zone = data.draw(st.sampled_from(ZONES), label="zone")
        for name in ("since", "until"):
            if isinstance(moment := fields[name], dt.datetime):
                fields[name] = (
                    moment.replace(tzinfo=None)
                    if zone is None
                    else moment.astimezone(zone)
                )
        since, until = fields["since"], fields["until"]
        after, before = fields["after"], fields["before"]
        impossible = (since is not None and until is not None and since > until) or (
            after is not None and before is not None and after >= before
        )
        if impossible:
            with pytest.raises(ValueError):
                AuditFilter(**fields)
            return
        f = AuditFilter(**fields)
        expected = [e for e in everything if matches(e, f)]
        assert hub.audit.count(f) == len(expected)
        limit = data.draw(st.integers(1, 12), label="limit")
        assert paged(hub, f, limit) == expected
        chunk = data.draw(st.integers(1, 9), label="chunk")
        assert list(hub.audit.iterate(f, chunk=chunk)) == expected[::-1]
        exported = hub.audit.export_rows(f, chunk=chunk)
        assert [row for rows in exported for row in rows] == [
            export_form(e) for e in expected[::-1]
        ]
        bucket: Bucket = data.draw(st.sampled_from(BUCKETS), label="bucket")
        width = {"minute": 16, "hour": 13, "day": 10}[bucket]
        counts: dict[tuple[str, str], int] = {}
        for e in expected:
            key = (e.occurred_at.isoformat()[:width], e.action)
            counts[key] = counts.get(key, 0) + 1
        assert hub.audit.stats(f, bucket) == [
            (b, a, n) for (b, a), n in sorted(counts.items())
        ]

    check()


def test_a_naive_and_an_aware_bound_make_a_valid_range() -> None:
    start = dt.datetime(2026, 1, 1, 12, 0)
    end = dt.datetime(2026, 1, 1, 13, 0, tzinfo=dt.UTC)
    f = AuditFilter(since=start, until=end)
    assert (f.since, f.until) == (start.replace(tzinfo=dt.UTC), end)  # naive = UTC
    with pytest.raises(ValueError):
        AuditFilter(since=end.replace(tzinfo=None), until=start.replace(tzinfo=dt.UTC))


def test_text_filters_ignore_case_beyond_ascii(hub: Hub) -> None:
    # SQLite's own lower() folds ASCII only: the read store replaces it.
    admin = admin_context(hub)
    item = hub.bus.handle(
        CreateItem(title="Éclair für ÜBER", description="Ωmega", column="Todo"),
        admin,
    ).aggregate_id
    user = register(hub, "zoë-ÅNGSTRÖM@example.com")
    for q in ("Éclair", "éclair", "ÉCLAIR", "über", "FÜR"):
        assert hub.audit.count(AuditFilter(item_id=item, text=q)) == 1, q
        found = hub.read.items(ItemFilter(text=q))
        assert [c.id for c in found.data] == [item], q
        assert [c.id for c in hub.read.board(text=q)["Todo"]] == [item], q
    assert [c.id for c in hub.read.items(ItemFilter(text="ωMEGA")).data] == [item]
    for q in ("zoë", "ZOË", "ångström", "ÅNGSTRÖM"):
        assert [u.id for u in hub.read.users(text=q).data] == [user.actor_id], q
    # ASCII folding and the LIKE escapes are as before.
    assert hub.audit.count(AuditFilter(item_id=item, text="ÉCLAIR FÜR über")) == 1
    assert hub.audit.count(AuditFilter(item_id=item, text="_")) == 0


def test_sqlite_lower_still_works_in_an_index(sqlite_url: str) -> None:
    # SQLite refuses a non-deterministic function in an index expression, and
    # an index must agree with the lower() that queries use.
    store = ReadStore(sqlite_url)
    try:
        Path(sqlite_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
        with store.writer.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE words (word TEXT)")
            conn.exec_driver_sql("CREATE INDEX ix_words_lower ON words (lower(word))")
            conn.exec_driver_sql(
                "INSERT INTO words VALUES ('Éclair'), ('ÜBER'), ('plain'), (NULL)"
            )
        with store.reader.connect() as conn:
            query = "SELECT word FROM words WHERE lower(word) = ?"
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}", ("über",)).all()
            assert "ix_words_lower" in str(plan)
            for key, word in (
                ("über", "ÜBER"),
                ("éclair", "Éclair"),
                ("plain", "plain"),
            ):
                assert conn.exec_driver_sql(query, (key,)).scalars().all() == [word]
            assert conn.exec_driver_sql(
                "SELECT lower(NULL), lower(7), lower('ÀB')"
            ).one() == (None, 7, "àb")
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        store.dispose()


# --- time travel -----------------------------------------------------------------


def empty_board(hub: Hub) -> Board:
    return {c: [] for c in hub.settings.board_columns}


def test_board_as_of_each_position_equals_the_live_board_then(hub: Hub) -> None:
    admin = admin_context(hub)
    ann, ben = register(hub), register(hub)
    live: dict[int, Board] = {}

    def run(command: Command, ctx: Context) -> CommandResult:
        result = hub.bus.handle(command, ctx)
        live[result.position] = hub.read.board()
        return result

    def create(title: str, column: str, ctx: Context, at: int | None = None) -> UUID:
        return run(
            CreateItem(title=title, description=title, column=column, position=at),
            ctx,
        ).aggregate_id

    a = create("A", "Todo", ann)
    b = create("B", "Todo", ben, 0)
    c = create("C", "Doing", ann)
    run(MoveItem(item_id=a, column="Doing", position=0), ann)
    run(EditItem(item_id=b, title="B2", description="changed"), ben)
    run(ArchiveItem(item_id=c), ann)
    d = create("D", "Todo", admin, 1)
    run(RestoreItem(item_id=c), ann)
    run(ReassignItem(item_id=a, owner_id=ben.actor_id), admin)
    run(RevertItem(item_id=a, to_version=1), admin)
    run(DeleteItem(item_id=b), ben)
    run(MoveItem(item_id=d, column="Done", position=5), admin)
    run(MoveItem(item_id=c, column="Todo", position=0), ann)
    run(ArchiveItem(item_id=d), admin)
    head = hub.head()
    assert max(live) == head

    captured = sorted(live)
    # Checkpoints every few positions, visited out of order: each answer
    # starts from whichever checkpoints earlier answers happened to store.
    checkpoints = BoardCheckpoints(hub.store, spacing=3, per_item=0)
    order = list(range(head + 1))
    random.Random(7).shuffle(order)
    for n in order:
        before = [p for p in captured if p <= n]
        expected = live[before[-1]] if before else empty_board(hub)
        for past in (
            board_as_of(hub.app, n, hub.settings.board_columns),
            board_as_of(
                hub.app, n, hub.settings.board_columns, checkpoints=checkpoints
            ),
        ):
            assert past.position == n
            assert past.columns == expected, f"position {n}"
    assert len(checkpoints.positions()) > 3
    # Past the head: the board as it is now.
    for past in (
        board_as_of(hub.app, head + 10, hub.settings.board_columns),
        board_as_of(
            hub.app, head + 10, hub.settings.board_columns, checkpoints=checkpoints
        ),
    ):
        assert past.columns == hub.read.board()


def test_board_as_of_shows_owner_renames_like_the_live_board(hub: Hub) -> None:
    ann = register(hub)
    hub.bus.handle(CreateItem(title="A", description="", column="Todo"), ann)
    renamed = hub.bus.handle(
        ChangeProfile(user_id=ann.actor_id, full_name="Ann Renamed"), ann
    )
    live = hub.read.board()
    assert [c.owner_name for c in live["Todo"]] == ["Ann Renamed"]
    past = board_as_of(hub.app, renamed.position, hub.settings.board_columns)
    assert past.columns == live
    # The rename folded on top of a checkpoint taken before it.
    checkpoints = BoardCheckpoints(hub.store, spacing=1, per_item=0)
    board_as_of(
        hub.app,
        renamed.position - 1,
        hub.settings.board_columns,
        checkpoints=checkpoints,
    )
    assert checkpoints.positions()[-1] == renamed.position - 1
    past = board_as_of(
        hub.app, renamed.position, hub.settings.board_columns, checkpoints=checkpoints
    )
    assert past.columns == live


def crowd_one_slot(hub: Hub, count: int) -> None:
    """Insert ``count`` cards at index 1 of one column: the gap between the
    first two cards halves each time until the column must be renumbered."""
    ann = register(hub)
    for n in range(count):
        hub.bus.handle(
            CreateItem(
                title=f"card {n:02d}",
                description="",
                column="Doing",
                position=None if n < 2 else 1,
            ),
            ann,
        )


# Regression (fixed upstream while these tests were written): after a renumber,
# cards folded earlier in the same batch kept their old rank, so a replay (one
# big batch) disagreed with the live board (one event per batch).
def test_board_as_of_after_a_column_renumber_equals_the_live_board(hub: Hub) -> None:
    crowd_one_slot(hub, 34)
    live = hub.read.board()
    assert [c.title for c in live["Doing"]] == [
        "card 00",
        *[f"card {n:02d}" for n in range(33, 1, -1)],
        "card 01",
    ]
    past = board_as_of(hub.app, hub.head(), hub.settings.board_columns)
    assert [c.title for c in past.columns["Doing"]] == [c.title for c in live["Doing"]]
    assert past.columns == live
    # Checkpoints between the crowding inserts: the renumber happens in a fold
    # that started from one.
    checkpoints = BoardCheckpoints(hub.store, spacing=2, per_item=0)
    for n in (hub.head() - 3, hub.head()):
        past = board_as_of(
            hub.app, n, hub.settings.board_columns, checkpoints=checkpoints
        )
    assert past.columns == live


def test_checkpoints_give_the_same_board_as_a_full_fold(hub: Hub) -> None:
    build_history(hub, seed=4242, steps=90)
    crowd_one_slot(hub, 34)  # a renumber late in the log
    head = hub.head()
    columns = hub.settings.board_columns
    full = {n: board_as_of(hub.app, n, columns) for n in range(head + 1)}
    # Forwards, backwards and at random: folds start from zero, from the
    # checkpoint just below, or from one far below the target.
    for spacing, order in (
        (5, list(range(head + 1))),
        (7, list(range(head, -1, -1))),
        (4, random.Random(11).sample(range(head + 1), head + 1)),
    ):
        checkpoints = BoardCheckpoints(hub.store, spacing=spacing, per_item=0)
        checkpoints.clear()
        for n in order:
            assert board_as_of(hub.app, n, columns, checkpoints=checkpoints) == full[n]
        stored = checkpoints.positions()
        assert len(stored) >= head // (2 * spacing), stored
        assert all(b - a >= spacing for a, b in itertools.pairwise(stored)), stored


def test_a_checkpoint_holds_the_whole_fold(hub: Hub) -> None:
    build_history(hub, seed=99, steps=60)
    crowd_one_slot(hub, 34)
    fold = BoardFold()
    for batch in iter_batches(hub.app, 0):
        for event, at in batch:
            fold.apply(event, at)
    assert any(row["archived"] for row in fold.rows.values())
    copy = BoardFold.decode(fold.encode())
    assert copy.position == fold.position == hub.head()
    assert copy.rows == fold.rows
    assert list(copy.rows) == list(fold.rows)  # insertion order too
    assert copy.state.owners == fold.state.owners
    assert copy.state.order.columns == fold.state.order.columns
    assert copy.board(hub.settings.board_columns) == hub.read.board()


def test_checkpoints_of_other_fold_code_are_ignored_and_dropped(hub: Hub) -> None:
    ann = register(hub)
    for n in range(4):
        hub.bus.handle(CreateItem(title=f"c{n}", description="", column="Todo"), ann)
    columns = hub.settings.board_columns
    head = hub.head()
    # An empty board stored at the head by "other code" would hide every card.
    other = BoardCheckpoints(hub.store, spacing=1, per_item=0)
    other.fold = "made-by-other-code"
    other.save(BoardFold())
    with hub.store.writer.begin() as conn:
        t = hub.store.tables.board_checkpoints
        conn.execute(update(t).values(position=head))
    assert other.positions() == [head]
    checkpoints = BoardCheckpoints(hub.store, spacing=1, per_item=0)
    assert checkpoints.positions() == []
    past = board_as_of(hub.app, head, columns, checkpoints=checkpoints)
    assert past.columns == hub.read.board()
    assert other.positions() == []  # the first save dropped it
    assert checkpoints.positions()


def test_rebuild_after_a_column_renumber_keeps_the_board_order(hub: Hub) -> None:
    crowd_one_slot(hub, 34)
    before = [c.title for c in hub.read.board()["Doing"]]
    result = rebuild(hub.app, hub.store, "items")
    hub.wait_for(result.position)
    assert [c.title for c in hub.read.board()["Doing"]] == before
    assert differences(hub.app, hub.store, "items") == (hub.head(), [])


# --- tamper evidence -------------------------------------------------------------


def test_a_link_deleted_from_the_middle_of_the_chain_breaks_it(hub: Hub) -> None:
    ann = register(hub)
    for n in range(5):
        hub.bus.handle(CreateItem(title=f"c{n}", description="", column="Todo"), ann)
    head = hub.head()
    clean = verify_chain(hub.app, hub.store)
    assert clean.intact and clean.checked == head
    gap = head - 3
    t = hub.store.tables.chain
    with hub.store.writer.begin() as conn:
        conn.execute(delete(t).where(t.c.position == gap))
    report = verify_chain(hub.app, hub.store)
    assert (report.intact, report.first_broken) == (False, gap)


# --- replays racing live commands --------------------------------------------------


def command_stream(hub: Hub, ctx: Context) -> Callable[[int], Command]:
    """The n-th command of a stream over a few items, without crowding any slot."""
    items: list[UUID] = []
    archived: set[UUID] = set()
    columns = hub.settings.board_columns

    def nth(n: int) -> Command:
        if len(items) < 8 or n % 7 == 0:
            return CreateItem(
                title=f"load {n}", description="", column=columns[n % len(columns)]
            )
        item = items[n % len(items)]
        if n % 11 == 0:
            return (
                RestoreItem(item_id=item)
                if item in archived
                else ArchiveItem(item_id=item)
            )
        if n % 3 == 0 and item not in archived:
            # To the top or past the end: never between two close neighbours.
            return MoveItem(
                item_id=item, column=columns[n % len(columns)], position=(n % 2) * 99
            )
        return EditItem(item_id=item, title=f"load {n}", description=f"edit {n}")

    def record(command: Command, result: CommandResult) -> None:
        if isinstance(command, CreateItem):
            items.append(result.aggregate_id)
        elif isinstance(command, ArchiveItem):
            archived.add(result.aggregate_id)
        elif isinstance(command, RestoreItem):
            archived.discard(result.aggregate_id)

    def send(n: int) -> Command:
        command = nth(n)
        record(command, hub.bus.handle(command, ctx))
        return command

    return send


REBUILD_RACE = (
    "a live worker that read its tracking row before a rebuild swapped the "
    "tables applies its next batch before the compare-and-set that would "
    "fence it: the insert-only projections (activity, chain) hit the rebuilt "
    "rows' primary keys and the worker stops on IntegrityError instead of "
    "reloading (on PostgreSQL the rebuild itself may also die in a deadlock "
    "with that worker)"
)


@pytest.mark.slow
def test_rebuild_while_commands_arrive_ends_identical_to_a_replay(hub: Hub) -> None:
    # The race is timing-dependent: three writers keep the workers busy, and
    # rebuilds repeat (bounded) while the commands flow.
    streams = [command_stream(hub, register(hub)) for _ in range(3)]
    warm, stop = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer(send: Callable[[int], Command]) -> None:
        try:
            for n in range(100):
                if stop.is_set():
                    return
                send(n)
                if n == 10:
                    warm.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            warm.set()

    threads = [
        threading.Thread(target=writer, args=(send,), name=f"test-writer-{n}")
        for n, send in enumerate(streams)
    ]
    for thread in threads:
        thread.start()
    names = projection_names()
    rebuilds, overlapped = 0, False
    try:
        assert warm.wait(60)
        while any(t.is_alive() for t in threads) and rebuilds < 200:
            head = hub.head()
            result = rebuild(hub.app, hub.store, names[rebuilds % len(names)])
            # Commands arrived while it ran: it replayed past where it began.
            overlapped |= result.position > head
            rebuilds += 1
            if "failed" in hub.read_side.states().values():
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert hub.read_side.states() == dict.fromkeys(names, "running")
    assert overlapped and rebuilds >= len(names)

    head = hub.head()
    hub.wait_for(head)
    for name in names:
        assert differences(hub.app, hub.store, name) == (head, []), name
    assert hub.read_side.states() == dict.fromkeys(names, "running")
    assert all(s.position == head and s.error is None for s in hub.status())


def test_a_worker_paused_across_a_rebuild_reloads_instead_of_failing(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race above made deterministic: the worker holds a batch (read with
    the old tracking rows) until rebuilds of activity and chain have swapped in."""
    ann = register(hub)
    hub.bus.handle(CreateItem(title="before", description="", column="Todo"), ann)
    names = ("activity", "chain")
    entered = threading.Event()
    release = threading.Event()
    worker = hub.read_side.worker
    commit = worker._commit

    def paused(
        batch: Sequence[EventAt], tracking: dict[str, TrackingState]
    ) -> dict[str, TrackingState]:
        entered.set()
        release.wait(30)
        return commit(batch, tracking)

    monkeypatch.setattr(worker, "_commit", paused)
    # Append without waiting for the read side (the paused workers lag).
    hub.bus.after_commit = None
    try:
        during = hub.bus.handle(
            CreateItem(title="during", description="", column="Todo"), ann
        )
    finally:
        hub.bus.after_commit = hub.wait_for
    try:
        assert entered.wait(30)
        for name in names:
            assert rebuild(hub.app, hub.store, name).position == during.position
    finally:
        release.set()
    hub.wait_for(during.position)
    assert hub.read_side.states() == dict.fromkeys(projection_names(), "running")
    for name in names:
        assert differences(hub.app, hub.store, name) == (during.position, []), name


def test_an_owners_activity_leaves_out_items_given_away_and_keeps_deleted_ones(
    hub: Hub,
) -> None:
    admin = admin_context(hub)
    ann, ben = register(hub), register(hub)

    def create(title: str) -> UUID:
        return hub.bus.handle(CreateItem(title=title, column="Todo"), ann).aggregate_id

    given, deleted, kept = create("given"), create("deleted"), create("kept")
    hub.bus.handle(EditItem(item_id=given, title="given, edited"), ann)
    hub.bus.handle(ReassignItem(item_id=given, owner_id=ben.actor_id), admin)
    hub.bus.handle(DeleteItem(item_id=deleted), ann)
    hub.catch_up()

    anns = hub.read.activity_since(0, owner_id=ann.actor_id)
    assert [(e.target_id, e.action) for e in anns] == [
        (deleted, "item.created"),
        (kept, "item.created"),
        (deleted, "item.deleted"),
    ]
    bens = hub.read.activity_since(0, owner_id=ben.actor_id)
    assert [(e.target_id, e.action) for e in bens] == [(given, "item.owner_reassigned")]
    everything = hub.read.activity_since(0)
    assert sum(e.target_id == given for e in everything) == 3
