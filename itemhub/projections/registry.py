"""The read models ItemHub keeps, by name."""

from __future__ import annotations

from itemhub.projections.activity import ActivityProjection
from itemhub.projections.base import Projection
from itemhub.projections.chain import ChainProjection
from itemhub.projections.items import ItemsProjection
from itemhub.projections.users import UsersProjection

PROJECTIONS: dict[str, type[Projection]] = {
    ItemsProjection.name: ItemsProjection,
    UsersProjection.name: UsersProjection,
    ActivityProjection.name: ActivityProjection,
    ChainProjection.name: ChainProjection,
}


def feeds() -> list[str]:
    """The read models whose deltas reach browsers and streams."""
    return [name for name, projection in PROJECTIONS.items() if projection.feeds]


def projection_names(name: str | None = None) -> list[str]:
    """All projection names, or just ``name`` after checking it exists."""
    if name is None:
        return list(PROJECTIONS)
    if name not in PROJECTIONS:
        raise KeyError(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    return [name]
