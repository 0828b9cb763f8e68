"""Every instance's view of the projections run by the leaders (PostgreSQL).

The relay LISTENs for the workers' commit announcements, keeps each read
model's committed position (for read-your-writes waits on any instance), and
pushes the outbox rows of each committed batch to this instance's change feed.
NOTIFYs sent while the relay is disconnected are lost, so on every (re)connect
it re-reads the tracking rows and the outbox after its cursors; a slow poll
covers anything else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable

import psycopg
from psycopg import sql

from itemhub.readside import outbox
from itemhub.readside.background import BackgroundThread
from itemhub.readside.feed import ChangeFeed
from itemhub.readstore.store import ReadStore

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BACKOFF_MAX = 2.0


class Positions:
    """Committed position and error of each read model, with waiting."""

    def __init__(self, names: Iterable[str]) -> None:
        self.positions = dict.fromkeys(names, 0)
        self.errors: dict[str, str | None] = dict.fromkeys(self.positions)
        self._cond = threading.Condition()

    def advance(self, name: str, position: int, error: str | None = None) -> None:
        """Record a commit (positions only move forward)."""
        with self._cond:
            if name not in self.positions:
                return
            if position > self.positions[name]:
                self.positions[name] = position
            self.errors[name] = error
            self._cond.notify_all()

    def reset(self, name: str, position: int, error: str | None) -> None:
        """Take the tracking row as it is (a rebuild may move it back)."""
        with self._cond:
            if name in self.positions:
                self.positions[name] = position
                self.errors[name] = error
                self._cond.notify_all()

    def wait_for(
        self, position: int, timeout: float, names: Collection[str] | None = None
    ) -> str | None:
        """Wait until ``names`` (every read model) reach ``position``.

        Returns None when reached, else the name of a read model that did not.
        """
        wanted = list(self.positions if names is None else names)
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    all(self.positions[n] >= position for n in wanted)
                    or any(self.errors[n] for n in wanted)
                ),
                timeout,
            )
            for name in wanted:
                if self.positions[name] < position:
                    return name
        return None

    def get(self, name: str) -> int:
        """A read model's committed position."""
        with self._cond:
            return self.positions.get(name, 0)


class OutboxRelay(BackgroundThread):
    """A thread: LISTEN → positions + this instance's change feed."""

    stop_timeout = 5.0

    def __init__(
        self,
        *,
        conninfo: str,
        store: ReadStore,
        feed: ChangeFeed | None,
        positions: Positions,
        feeds: Iterable[str],
    ) -> None:
        super().__init__("itemhub-outbox-relay")
        self.conninfo = conninfo
        self.store = store
        self.feed = feed
        self.positions = positions
        self.cursors: dict[str, int] | None = None
        self._feeds = tuple(feeds)
        self.connected = threading.Event()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(outbox.CHANNEL))
                    )
                    # After LISTEN, so nothing committed from now on is missed.
                    self._catch_up()
                    self.connected.set()
                    backoff = 0.1
                    self._listen(conn)
            except Exception as exc:
                self.connected.clear()
                log.warning(
                    "change-feed relay disconnected, retrying in %.1fs: %s",
                    backoff,
                    " ".join(str(exc).split())[:200],
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.connected.clear()

    def _listen(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        last_poll = time.monotonic()
        while not self._stopping.is_set():
            announced: list[tuple[str, int]] = []
            # stop_after=1: wake at the first notice (others in its packet come too).
            for notice in conn.notifies(timeout=0.2, stop_after=1):
                announced += outbox.parse_notice(notice.payload)
            if announced:
                # Push first, then move the positions: a command answered after
                # its position was reached finds its deltas already on the feed.
                self._push({name for name, _ in announced})
                for name, position in announced:
                    self.positions.advance(name, position)
            if time.monotonic() - last_poll >= POLL_SECONDS:
                self._catch_up()
                last_poll = time.monotonic()

    def _catch_up(self) -> None:
        t = self.store.tables.tracking
        with self.store.reader.connect() as conn:
            tracked = conn.execute(
                t.select().with_only_columns(t.c.name, t.c.position, t.c.error)
            ).all()
            if self.cursors is None:
                # First connect: push from now on; pages load the rest.
                newest = outbox.newest_positions(conn)
                self.cursors = {name: newest.get(name, 0) for name in self._feeds}
        # The outbox rows up to each tracked position committed with it.
        self._push()
        for row in tracked:
            self.positions.reset(row.name, row.position, row.error)

    def _push(self, only: set[str] | None = None) -> None:
        assert self.cursors is not None
        cursors = {
            name: at
            for name, at in self.cursors.items()
            if only is None or name in only
        }
        if not cursors:
            return
        with self.store.reader.connect() as conn:
            rows = outbox.rows_after(conn, cursors)
        for projection, position, deltas in rows:
            self.cursors[projection] = position
            if self.feed is not None:
                self.feed.publish(deltas)
