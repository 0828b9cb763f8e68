"""The worker's reader thread: the log's events into a bounded queue."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.projection import ApplicationSubscription


@dataclass(frozen=True, slots=True)
class Failure:
    """The subscription raised; the writer re-raises it."""

    error: BaseException


END = object()
"""The subscription ended (stopped, or closed under the reader)."""


def read_into(
    subscription: ApplicationSubscription[UUID],
    events: queue.Queue[object],
    stopping: threading.Event,
) -> None:
    """Queue (event, position) pairs, then END or the Failure that stopped it."""
    item: object = END
    try:
        for event, tracking in subscription:
            _put(events, (event, tracking.notification_id), stopping)
    except BaseException as exc:
        item = Failure(exc)
    _put(events, item, stopping)


def _put(events: queue.Queue[object], item: object, stopping: threading.Event) -> None:
    # Never block for good on a full queue: a stopping writer reads no more,
    # but END must still arrive so that it notices the end.
    while True:
        try:
            events.put(item, timeout=0.1)
            return
        except queue.Full:
            if stopping.is_set() and item is not END:
                return
