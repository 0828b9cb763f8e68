"""What the board shows of an item: one shared, JSON-ready face per item state."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from itemhub.projections import ItemCard

SNIPPET = 90


def slug(column: str) -> str:
    """A column name fit for test ids."""
    return "".join(c if c.isalnum() else "-" for c in column.lower())


def initials(name: str) -> str:
    """Up to two initials for an avatar."""
    parts = [p for p in name.replace("@", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def age(moment: dt.datetime) -> str:
    """A short, human age."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int((dt.datetime.now(dt.UTC) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def snippet(description: str) -> str:
    """The start of a description, on one line."""
    text = " ".join(description.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


@dataclass(frozen=True, slots=True)
class CardJson:
    """What the browser gets for one card (orjson writes it as an object)."""

    item: str
    version: int
    rank: float
    title: str
    owner: str
    initials: str
    created: str
    snippet: str


@dataclass(frozen=True, slots=True)
class CardFace:
    """One state of an item as the board shows it, computed once for all tabs."""

    card: ItemCard
    with_owner: CardJson  # what superusers see
    without_owner: CardJson  # what its owner sees (a standard user)

    def json(self, *, show_owner: bool) -> CardJson:
        """The card as this viewer sees it."""
        return self.with_owner if show_owner else self.without_owner


def _face(card: ItemCard, item: str) -> CardFace:
    created = card.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    full = CardJson(
        item=item,
        version=card.version,
        rank=card.rank,
        title=card.title,
        owner=card.owner_name,
        initials=initials(card.owner_name),
        created=created.isoformat(timespec="milliseconds"),
        snippet=snippet(card.description),
    )
    plain = dataclasses.replace(full, owner="", initials="")
    return CardFace(card=card, with_owner=full, without_owner=plain)


class CardFaces:
    """One shared ``CardFace`` per item state: N tabs hold references, not copies.

    Each tab loads its board from the read model as fresh objects; without this
    every tab would keep its own copy of every title, description and derived
    string.
    """

    def __init__(self) -> None:
        self._faces: dict[UUID, CardFace] = {}

    def face(self, card: ItemCard) -> CardFace:
        """The shared face of exactly this state of the item."""
        known = self._faces.get(card.id)
        if known is not None and known.card == card:
            return known
        face = _face(card, known.with_owner.item if known else str(card.id))
        if known is None or card.version >= known.card.version:
            self._faces[card.id] = face
        return face

    def forget(self, item_id: UUID) -> None:
        """The item is gone."""
        self._faces.pop(item_id, None)
