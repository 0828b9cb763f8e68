"""The event store: the ``ItemHub`` application and its recorders."""

from itemhub.eventstore.application import (
    PAGE,
    EventAt,
    ItemHub,
    head_position,
    iter_batches,
    open_store,
    store_env,
)

__all__ = [
    "PAGE",
    "EventAt",
    "ItemHub",
    "head_position",
    "iter_batches",
    "open_store",
    "store_env",
]
