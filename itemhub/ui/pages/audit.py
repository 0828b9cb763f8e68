"""/audit — the audit trail and the security log for superusers, live."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from nicegui import app, ui

from itemhub.projections import (
    ActivityAdded,
    ActivityEntry,
    Delta,
)
from itemhub.projections.activity import ACTIONS
from itemhub.queries.audit import AuditFilter
from itemhub.queries.export import EXPORT_MEDIA_TYPES, export_stream
from itemhub.runtime import Hub
from itemhub.ui.actions import OpenedPage, superuser_page
from itemhub.ui.frame import frame
from itemhub.ui.live import LiveFeed
from itemhub.ui.session import SessionGuard, in_thread, session_user

PAGE = 50


def register(hub: Hub, live: LiveFeed) -> None:
    """Declare ``/audit`` and its export download."""

    @app.get("/audit/export", include_in_schema=False)
    async def export_audit(request: Request) -> Response:
        user = await session_user(hub)
        if user is None or not user.is_superuser:
            return Response("Only superusers may export the audit trail", 403)
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        try:
            audit_filter = AuditFilter.from_params(params)
        except ValueError as exc:
            return Response(str(exc), 422)
        fmt = "json" if request.query_params.get("format") == "json" else "csv"
        return StreamingResponse(
            export_stream(hub.queries.audit.export_rows(audit_filter), fmt),
            media_type=EXPORT_MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="audit.{fmt}"'},
        )

    @ui.page("/audit")
    async def audit_page(request: Request) -> Response | None:
        page = await superuser_page(
            hub, request, "Only superusers may see the audit trail."
        )
        if not isinstance(page, OpenedPage):
            return page
        guard = page.guard
        with frame("Audit", page.me):
            params = dict(request.query_params)
            try:
                audit_filter = AuditFilter.from_params(params)
            except ValueError as exc:
                ui.label(f"Bad filter: {exc}").classes("text-negative").mark(
                    "bad-filter"
                )
                ui.link("Clear the filters", "/audit")
                return None
            view = AuditView(hub, guard, audit_filter, params)
            await view.build()

        def on_deltas(deltas: Sequence[Delta]) -> None:
            view.prepend([d.entry for d in deltas if isinstance(d, ActivityAdded)])

        await guard.follow(live.changed, on_deltas)
        return None


class AuditView:
    """Filters (kept in the URL), the live list, export, chart and security log."""

    def __init__(
        self,
        hub: Hub,
        guard: SessionGuard,
        audit_filter: AuditFilter,
        params: dict[str, str],
    ):
        self.hub = hub
        self.guard = guard
        self.filter = audit_filter
        self.params = params
        self.oldest: int | None = None
        self.rows: ui.column | None = None
        self.more: ui.button | None = None

    async def build(self) -> None:
        """Lay out the page and load the first page of events."""
        people = await in_thread(self.hub.queries.read.users, limit=200)
        names = {str(u.id): u.display_name for u in (people.data if people else [])}
        report = await in_thread(self.hub.queries.chain_report)
        with ui.row().classes("w-full items-center gap-2"):
            if report is not None and report.intact:
                ui.badge(
                    f"hash chain intact ({report.checked} events)", color="positive"
                ).mark("chain-badge")
            elif report is not None:
                ui.badge(
                    f"hash chain broken at position {report.first_broken}",
                    color="negative",
                ).mark("chain-badge").tooltip(report.reason or "")
        with ui.tabs() as tabs:
            events_tab = ui.tab("Events")
            security_tab = ui.tab("Security log")
        with ui.tab_panels(tabs, value=events_tab).classes("w-full"):
            with ui.tab_panel(events_tab):
                self._filters(names)
                await self._chart()
                self.rows = ui.column().classes("w-full gap-1").mark("audit-rows")
                self.more = ui.button("Load older", on_click=self.load_older).props(
                    "flat"
                )
                await self.load_older()
            with ui.tab_panel(security_tab):
                await self._security()

    def _filters(self, names: dict[str, str]) -> None:
        p = self.params
        with ui.row().classes("w-full items-end gap-2"):
            actor = ui.select(
                {"": "Anyone"} | names, value=p.get("actor", ""), label="Actor"
            )
            action = ui.select(
                {"": "Any action"} | {a: a for a in ACTIONS},
                value=p.get("action", ""),
                label="Action",
            ).classes("min-w-48")
            user = ui.select(
                {"": "Any user"} | names, value=p.get("user", ""), label="User"
            )
            item = ui.input("Item id", value=p.get("item", "")).props("clearable")
            since = ui.input("Since (ISO)", value=p.get("since", "")).props("clearable")
            until = ui.input("Until (ISO)", value=p.get("until", "")).props("clearable")
            text = (
                ui.input("Text", value=p.get("q", ""))
                .props("clearable")
                .mark("audit-q")
            )

            def apply() -> None:
                values = {
                    "actor": actor.value,
                    "action": action.value,
                    "user": user.value,
                    "item": item.value,
                    "since": since.value,
                    "until": until.value,
                    "q": text.value,
                }
                query = urlencode({k: v for k, v in values.items() if v})
                ui.navigate.to(f"/audit?{query}" if query else "/audit")

            ui.button("Apply", on_click=apply).mark("audit-apply")
            query = urlencode({k: v for k, v in p.items() if v})
            ui.button(
                "CSV",
                icon="download",
                on_click=lambda: ui.navigate.to(f"/audit/export?{query}&format=csv"),
            ).props("flat")
            ui.button(
                "JSON",
                icon="download",
                on_click=lambda: ui.navigate.to(f"/audit/export?{query}&format=json"),
            ).props("flat")

    async def _chart(self) -> None:
        stats = await in_thread(self.hub.queries.audit.stats, self.filter, "hour")
        buckets = sorted({b for b, _, _ in stats or []})
        actions = sorted({a for _, a, _ in stats or []})
        series: list[dict[str, Any]] = [
            {
                "name": action,
                "type": "bar",
                "stack": "all",
                "data": [
                    next(
                        (n for b, a, n in stats or [] if b == bucket and a == action), 0
                    )
                    for bucket in buckets
                ],
            }
            for action in actions
        ]
        ui.echart(
            {
                "tooltip": {"trigger": "axis"},
                "legend": {"type": "scroll"},
                "xAxis": {"type": "category", "data": buckets},
                "yAxis": {"type": "value"},
                "series": series,
            }
        ).classes("w-full h-64").mark("audit-chart")

    async def load_older(self) -> None:
        """Append the next page of older events."""
        if not await self.guard.check():
            return
        paged = dataclasses.replace(self.filter, before=self.oldest)
        page = await in_thread(self.hub.queries.audit.page, paged, PAGE)
        if page is None or self.rows is None:
            return
        with self.rows:
            for entry in page.data:
                self._row(entry)
        if page.data:
            self.oldest = page.data[-1].position
        if self.more is not None:
            self.more.set_visibility(page.next_before is not None)

    def prepend(self, entries: list[ActivityEntry]) -> None:
        """Show new matching events at the top, as they happen."""
        if self.rows is None:
            return
        for entry in entries:
            if self.filter.matches(entry):
                with self.rows:
                    row = self._row(entry)
                row.move(target_index=0)

    def _row(self, entry: ActivityEntry) -> ui.row:
        when = entry.occurred_at
        with (
            ui.row()
            .classes("w-full items-center gap-3 text-sm no-wrap")
            .mark(f"audit-{entry.position}") as row
        ):
            ui.label(f"#{entry.position}").classes("text-grey-7 w-14")
            ui.label(when.astimezone().strftime("%Y-%m-%d %H:%M:%S")).tooltip(
                when.strftime("%Y-%m-%d %H:%M:%S UTC")
            ).classes("w-40")
            ui.label(entry.actor_name).classes("w-32 truncate")
            ui.badge(entry.channel, color="grey")
            ui.label(entry.action).classes("w-44")
            label = entry.target_label or str(entry.target_id)[:8]
            if entry.target_type == "item":
                ui.link(label, f"/items/{entry.target_id}/history").classes(
                    "w-48 truncate"
                )
            else:
                ui.label(label).classes("w-48 truncate")
            ui.label(entry.summary).classes("truncate")
            ui.button(
                icon="data_object",
                on_click=lambda e=entry: _show_details(e),
            ).props("flat dense round").tooltip("Event details")
        return row

    async def _security(self) -> None:
        entries = await in_thread(self.hub.security.recent, limit=200)
        rows = [
            {
                "time": e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                "kind": e.kind,
                "email": e.email,
                "ip": e.ip,
                "agent": e.user_agent[:60],
                "channel": e.channel,
                "detail": e.detail,
            }
            for e in entries or []
        ]
        columns = [
            {"name": key, "label": key.title(), "field": key, "align": "left"}
            for key in ("time", "kind", "email", "ip", "agent", "channel", "detail")
        ]
        ui.table(columns=columns, rows=rows, row_key="time").classes("w-full").mark(
            "security-log"
        )


def _show_details(entry: ActivityEntry) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-2xl"):
        ui.label(f"Event #{entry.position}: {entry.action}").classes("text-h6")
        ui.code(
            json.dumps(
                {
                    "details": json.loads(entry.details),
                    "actor": {"id": str(entry.actor_id), "name": entry.actor_name},
                    "channel": entry.channel,
                    "correlation_id": str(entry.correlation_id),
                    "command_id": str(entry.command_id),
                    "version": entry.version,
                },
                indent=2,
                ensure_ascii=False,
            ),
            language="json",
        ).classes("w-full")
        ui.link(
            "Replay this correlation", f"/replay?correlation={entry.correlation_id}"
        )
        ui.button("Close", on_click=dialog.close).props("flat")
    dialog.open()
