"""The chain's link text never changes: links stored before must still verify."""

from __future__ import annotations

import hashlib
import json
from uuid import uuid4

from eventsourcing.utils import get_topic

from itemhub.events import Item
from itemhub.projections.chain import GENESIS, _default, link
from tests.unit.conftest import meta


def _as_first_written(previous: str, event: object, position: int) -> str:
    """The link as the chain's first version computed it."""
    canonical = json.dumps(
        {"position": position, "topic": get_topic(type(event)), "event": vars(event)},
        default=_default,
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


def test_links_are_the_same_text_as_the_first_version_computed() -> None:
    who = meta(actor_name="Zoë ✓")
    item = Item.create(
        item_id=uuid4(),
        title='Ünïcode "quoted" title',
        description="line one\nline two",
        column="Todo",
        position=3,
        owner_id=uuid4(),
        meta=who,
    )
    item.move(column="Done", position=0, meta=who)
    previous = GENESIS
    for position, event in enumerate(item.collect_events(), start=41):
        expected = _as_first_written(previous, event, position)
        assert link(previous, event, position) == expected
        previous = expected
