"""The read side: tables, projection workers, the change feed, query functions."""

from itemhub.projections.deltas import (
    ActivityAdded,
    Delta,
    ItemChanged,
    ItemRemoved,
    UserChanged,
)
from itemhub.projections.dto import (
    ActivityEntry,
    ItemCard,
    ProjectionStatus,
    UserCredentials,
    UserView,
)
from itemhub.projections.feed import ChangeFeed
from itemhub.projections.queries import ItemFilter, Page, ReadModels
from itemhub.projections.worker import ProjectionFailed

__all__ = [
    "ActivityAdded",
    "ActivityEntry",
    "ChangeFeed",
    "Delta",
    "ItemCard",
    "ItemChanged",
    "ItemFilter",
    "ItemRemoved",
    "Page",
    "ProjectionFailed",
    "ProjectionStatus",
    "ReadModels",
    "UserChanged",
    "UserCredentials",
    "UserView",
]
