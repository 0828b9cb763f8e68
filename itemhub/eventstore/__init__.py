"""The event store: the ``ItemHub`` application and its recorders."""

from itemhub.eventstore.application import (
    ItemHub,
    head_position,
    open_store,
    store_env,
)

__all__ = ["ItemHub", "head_position", "open_store", "store_env"]
