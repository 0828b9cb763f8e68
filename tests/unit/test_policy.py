"""The read rule every surface shares: who may see what an owner owns."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from itemhub.commands import can_see
from itemhub.commands.policy import Actor

OWNER = uuid4()


@pytest.mark.parametrize(
    ("viewer", "owner_id", "sees"),
    [
        (Actor(id=OWNER, name="owner", is_superuser=False), OWNER, True),
        (Actor(id=uuid4(), name="other", is_superuser=False), OWNER, False),
        (Actor(id=uuid4(), name="admin", is_superuser=True), OWNER, True),
        (Actor(id=uuid4(), name="admin", is_superuser=True), None, True),
        (Actor(id=OWNER, name="owner", is_superuser=False), None, False),
    ],
    ids=["owner", "another user", "superuser", "superuser, no owner", "no owner"],
)
def test_superusers_see_everything_and_others_only_what_they_own(
    viewer: Actor, owner_id: UUID | None, sees: bool
) -> None:
    assert can_see(viewer, owner_id) is sees
