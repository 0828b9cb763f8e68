"""Checking the hash chain of the audit trail against the stored events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from itemhub.eventstore import ItemHub
from itemhub.projections.chain import GENESIS, link
from itemhub.readstore.store import ReadStore


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain against the stored events."""

    checked: int
    first_broken: int | None
    reason: str | None

    @property
    def intact(self) -> bool:
        """True when every checked link matches."""
        return self.first_broken is None


def verify_chain(app: ItemHub, store: ReadStore, page: int = 2000) -> ChainReport:
    """Recompute every link from the stored events; name the first broken one."""
    t = store.tables.chain
    previous, checked, after = GENESIS, 0, 0
    while True:
        notifications = app.recorder.select_notifications(
            start=after, limit=page, inclusive_of_start=False
        )
        if not notifications:
            return ChainReport(checked=checked, first_broken=None, reason=None)
        with store.reader.connect() as conn:
            stored = dict(
                conn.execute(
                    select(t.c.position, t.c.link).where(
                        t.c.position > after, t.c.position <= notifications[-1].id
                    )
                ).all()
            )
        with store.reader.connect() as conn:
            chain_head = conn.execute(select(func.max(t.c.position))).scalar() or 0
        for notification in notifications:
            if notification.id not in stored:
                if notification.id < chain_head:
                    return ChainReport(
                        checked=checked,
                        first_broken=notification.id,
                        reason="the chain has no link for this event (deleted?)",
                    )
                # The chain projection has not reached this event yet.
                return ChainReport(checked=checked, first_broken=None, reason=None)
            try:
                event = app.mapper.to_domain_event(notification)
            except Exception as exc:
                return ChainReport(
                    checked=checked,
                    first_broken=notification.id,
                    reason=f"the stored event no longer decodes: {type(exc).__name__}",
                )
            expected = link(previous, event, notification.id)
            if expected != stored[notification.id]:
                return ChainReport(
                    checked=checked,
                    first_broken=notification.id,
                    reason="the stored event differs from the one the chain recorded",
                )
            previous = expected
            checked += 1
        after = notifications[-1].id
