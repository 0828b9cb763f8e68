"""The audit filter every surface parses the same way, and the actions it knows."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest

from itemhub.events import Item, User
from itemhub.projections.activity import ACTIONS
from itemhub.projections.dto import ActivityEntry
from itemhub.queries.audit import AuditFilter


def entry(**changes: object) -> ActivityEntry:
    fields: dict[str, object] = {
        "position": 1,
        "occurred_at": dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC),
        "actor_id": uuid4(),
        "actor_name": "Alice",
        "channel": "api",
        "action": "item.moved",
        "target_type": "item",
        "target_id": uuid4(),
        "target_label": "Write the spec",
        "summary": "moved to Done",
        "details": "{}",
        "owner_id": uuid4(),
        "version": 2,
        "correlation_id": uuid4(),
        "command_id": uuid4(),
    }
    return ActivityEntry(**(fields | changes))  # type: ignore[arg-type]


def test_the_actions_are_every_event_the_trail_records() -> None:
    declared = {
        c.__name__
        for aggregate in (Item, User)
        for c in vars(aggregate).values()
        if isinstance(c, type) and issubclass(c, aggregate.Event)
    }

    assert "item.owner_reassigned" in ACTIONS
    assert "user.token_version_bumped" in ACTIONS
    assert len(ACTIONS) == len(set(ACTIONS)) == 16
    # Every action names a declared event (none is made up).
    assert all(
        "".join(p.title() for p in a.split(".")[1].split("_")) in declared
        for a in ACTIONS
    )


def test_url_parameters_become_a_filter_or_a_clear_error() -> None:
    actor = uuid4()
    f = AuditFilter.from_params(
        {"actor": str(actor), "action": "item.moved", "since": "2026-12-01", "q": "x"}
    )

    assert f.actor_id == actor and f.action == "item.moved" and f.text == "x"
    assert f.since == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="unknown filter"):
        AuditFilter.from_params({"color": "red"})
    with pytest.raises(ValueError, match="unknown action"):
        AuditFilter.from_params({"action": "item.teleported"})
    with pytest.raises(ValueError, match="actor must be an id"):
        AuditFilter.from_params({"actor": "alice"})


def test_a_live_entry_matches_as_the_query_would() -> None:
    moved = entry()

    assert AuditFilter().matches(moved)
    assert AuditFilter(action="item.moved", text="SPEC").matches(moved)
    assert not AuditFilter(action="item.created").matches(moved)
    assert not AuditFilter(user_id=moved.target_id).matches(moved)
    assert AuditFilter(item_id=moved.target_id).matches(moved)
    assert not AuditFilter(since=dt.datetime(2026, 12, 2)).matches(moved)
