"""A believable demo board, written through the command layer.

Every command id derives from a fixed name, so seeding twice appends nothing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid5

from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    ArchiveItem,
    Channel,
    CommandBus,
    Context,
    CreateItem,
    EditItem,
    MoveItem,
    ReassignItem,
    RegisterUser,
)
from itemhub.events import NAMESPACE

TITLES = [
    "Draft the Q3 roadmap",
    "Fix login redirect loop",
    "Write onboarding checklist",
    "Review pull request #482",
    "Migrate CI to the new runners",
    "Update privacy policy",
    "Plan the team offsite",
    "Benchmark the search endpoint",
    "Replace the flaky date picker",
    "Customer call: Acme Corp",
    "Rotate the API signing keys",
    "Design the empty-state screens",
    "Triage incoming bug reports",
    "Document the release process",
    "Prepare the board meeting deck",
    "Clean up feature flags",
    "Add CSV export to reports",
    "Audit third-party licences",
    "Improve error messages on upload",
    "Interview backend candidates",
    "Set up staging alerts",
    "Translate the landing page",
    "Archive last year's tickets",
    "Tune database indexes",
    "Refresh the style guide",
    "Investigate memory spike",
    "Write the changelog for 2.4",
    "Pair on the billing refactor",
    "Order new laptops",
    "Reply to the security questionnaire",
]
DESCRIPTIONS = [
    "",
    "Needs input from design before we start.",
    "Blocked until the vendor answers.",
    "Small and well understood; good first task.",
    "See the notes from Monday's standup.",
    "Split into smaller cards if it grows.",
]


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A seeded account and its password (demo data only)."""

    email: str
    password: str
    role: str
    id: UUID


def _cid(name: str) -> UUID:
    return uuid5(NAMESPACE, f"demo:{name}")


def seed(bus: CommandBus, columns: Sequence[str], *, items: int = 50) -> list[DemoUser]:
    """Create demo users and ``items`` items with a plausible history."""
    rng = random.Random(42)
    system = Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.CLI)
    people = [
        ("alice@example.com", "Alice Martin", False),
        ("bob@example.com", "Bob Okafor", False),
        ("carol@example.com", "Carol Nguyen", False),
        ("dana@example.com", "Dana Schulz", True),
    ]
    users: list[DemoUser] = []
    seeded_before = False
    for email, name, is_superuser in people:
        password = f"demo-{email.split('@')[0]}-pass"
        result = bus.handle(
            RegisterUser(
                command_id=_cid(f"user:{email}"),
                email=email,
                password=password,
                full_name=name,
                is_superuser=is_superuser,
            ),
            system,
        )
        role = "superuser" if is_superuser else "user"
        users.append(DemoUser(email, password, role, result.aggregate_id))
        if result.replayed:
            seeded_before = True
    if seeded_before:
        # Seeded before: replaying the history would run into moves its owners
        # can no longer make (items were reassigned since).
        return users

    for n in range(items):
        owner = rng.choice(users)
        ctx = Context(actor_id=owner.id, channel=Channel.CLI)
        title = TITLES[n % len(TITLES)] + ("" if n < len(TITLES) else " (follow-up)")
        created = bus.handle(
            CreateItem(
                command_id=_cid(f"item:{n}"),
                title=title,
                description=rng.choice(DESCRIPTIONS),
                column=columns[0],
            ),
            ctx,
        )
        item_id = created.aggregate_id
        # Walk it across the board, as work progresses.
        for step in range(rng.randint(0, len(columns) - 1)):
            bus.handle(
                MoveItem(
                    command_id=_cid(f"move:{n}:{step}"),
                    item_id=item_id,
                    column=columns[step + 1],
                    position=rng.randint(0, 3),
                ),
                ctx,
            )
        if rng.random() < 0.3:
            bus.handle(
                EditItem(
                    command_id=_cid(f"edit:{n}"),
                    item_id=item_id,
                    description="Updated after review: scope agreed with the team.",
                ),
                ctx,
            )
        if rng.random() < 0.1:
            superuser = next(u for u in users if u.role == "superuser")
            others = [u for u in users if u.id != owner.id]
            bus.handle(
                ReassignItem(
                    command_id=_cid(f"reassign:{n}"),
                    item_id=item_id,
                    owner_id=rng.choice(others).id,
                ),
                Context(actor_id=superuser.id, channel=Channel.CLI),
            )
        elif rng.random() < 0.08:
            bus.handle(
                ArchiveItem(command_id=_cid(f"archive:{n}"), item_id=item_id), ctx
            )
    return users
