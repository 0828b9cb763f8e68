"""The folds: projections that turn events into read-model rows and deltas."""

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

__all__ = [
    "ActivityAdded",
    "ActivityEntry",
    "Delta",
    "ItemCard",
    "ItemChanged",
    "ItemRemoved",
    "ProjectionStatus",
    "UserChanged",
    "UserCredentials",
    "UserView",
]
