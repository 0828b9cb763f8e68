"""The fan-out benchmark's figures: stages, runs, tables, findings, markdown, plot."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from rich.table import Table

from bench.latency import percentile
from bench.nicegui_client import console, log

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results" / "fanout.md"

PLOT = ROOT / "bench" / "fanout.png"

API = "/api/v1"

COLUMNS = ("Backlog", "Todo", "Doing", "Done")  # the default ITEMHUB_BOARD_COLUMNS

CARDS = 200

P99_TARGET_MS = 100.0

P99_TARGET_N = 200

MIB_TARGET = 1.0


@dataclass(slots=True)
class Stage:
    """The figures of one N."""

    clients: int
    connect_wall_s: float = 0.0
    connect_ms: list[float] = field(default_factory=list)
    baseline_kib: int = 0
    rss_kib: int = 0
    latency_ms: list[float] = field(default_factory=list)  # every (client, round)
    last_ms: list[float] = field(default_factory=list)  # per round, slowest client
    first_ms: list[float] = field(default_factory=list)  # per round, fastest client
    http_ms: list[float] = field(default_factory=list)  # POST duration
    missing: int = 0  # (client, round) pairs that never arrived
    server_cpu_ms: float = 0.0  # per round (the flash ends in the browser)
    driver_cpu_ms: float = 0.0  # per round
    connect_cpu_ms: float = 0.0  # server CPU per tab opened in this stage
    # Trouble while this stage's tabs connected and during its rounds (all tabs):
    drops: int = 0  # socket connections lost (then reconnected, like a browser)
    reloads: int = 0  # page reloads because the server had deleted the client
    page_errors: int = 0  # page GETs answered with an error (then retried)
    logouts: int = 0  # page GETs sent to /login (then logged in again)
    load: str = ""  # load average when the rounds started
    # Worst loop lag of this driver / worst server liveness round trip (ms),
    # while this stage's tabs connected and during its rounds.
    driver_lag_connect_ms: float = 0.0
    server_lag_connect_ms: float = 0.0
    driver_lag_rounds_ms: float = 0.0
    server_lag_rounds_ms: float = 0.0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The server's full garbage collections (ms each), connecting / in rounds.
    gc_connect_ms: list[float] = field(default_factory=list)
    gc_rounds_ms: list[float] = field(default_factory=list)
    # This driver's own full collections of 20 ms or more in the rounds.
    driver_gc_rounds_ms: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def mib_per_client(self) -> float:
        """RSS growth over the baseline, per connected client."""
        return (self.rss_kib - self.baseline_kib) / 1024 / self.clients

    def pct(self, samples: Sequence[float], p: float) -> float:
        """Percentile, or NaN without samples."""
        return percentile(samples, p) if samples else float("nan")


@dataclass(slots=True)
class Run:
    """Everything measured."""

    machine: dict[str, Any]
    rounds: int
    gap: float
    concurrency: int
    stages: list[Stage]
    login_s: float = 0.0
    elements: int = 0  # NiceGUI elements of one board tab
    setup_s: float = 0.0
    total_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.0f}"


def _ok(met: bool) -> str:
    return "met" if met else "missed"


def _failed(s: Stage) -> bool:
    return s.error is not None and not s.latency_ms


LATENCY_HEADERS = [
    "N",
    "p50 ms",
    "p99 ms",
    "first p50",
    "last p50",
    "last p99",
    "last max",
    "missing",
    "RSS +MiB",
    "MiB/client",
]


def latency_rows(run: Run) -> list[list[str]]:
    """The targets' table: latency and memory per N."""
    rows = []
    for s in run.stages:
        if _failed(s):
            rows.append([str(s.clients), "failed", *["-"] * 8])
            continue
        rows.append(
            [
                str(s.clients),
                _ms(s.pct(s.latency_ms, 50)),
                _ms(s.pct(s.latency_ms, 99)),
                _ms(s.pct(s.first_ms, 50)),
                _ms(s.pct(s.last_ms, 50)),
                _ms(s.pct(s.last_ms, 99)),
                _ms(max(s.last_ms, default=float("nan"))),
                f"{s.missing} of {s.clients * run.rounds}",
                f"{(s.rss_kib - s.baseline_kib) / 1024:,.0f}",
                f"{s.mib_per_client:.2f}",
            ]
        )
    return rows


COST_HEADERS = [
    "N",
    "tabs added",
    "connect wall s",
    "connect p50 ms",
    "srv CPU ms/open",
    "POST p50 ms",
    "srv CPU ms/cmd",
    "driver CPU ms/cmd",
    "lost / reloads / 500s / logouts",
    "worst lag driver / server ms",
    "full GCs, worst ms",
    "load avg",
]


def cost_rows(run: Run) -> list[list[str]]:
    """What it cost: opening tabs, and each command."""
    rows = []
    previous = 0
    for s in run.stages:
        added = s.clients - previous
        previous = s.clients
        connected = s.connect_wall_s > 0
        rows.append(
            [
                str(s.clients),
                str(added),
                f"{s.connect_wall_s:,.1f}" if connected else "failed",
                _ms(s.pct(s.connect_ms, 50)),
                f"{s.connect_cpu_ms:,.0f}" if connected else "-",
                _ms(s.pct(s.http_ms, 50)),
                f"{s.server_cpu_ms:,.0f}" if s.http_ms else "-",
                f"{s.driver_cpu_ms:,.0f}" if s.http_ms else "-",
                f"{s.drops} / {s.reloads} / {s.page_errors} / {s.logouts}",
                f"{max(s.driver_lag_connect_ms, s.driver_lag_rounds_ms):,.0f} / "
                f"{max(s.server_lag_connect_ms, s.server_lag_rounds_ms):,.0f}",
                f"{len(s.gc_connect_ms + s.gc_rounds_ms)}, "
                f"{max(s.gc_connect_ms + s.gc_rounds_ms, default=0):,.0f}",
                s.load or "-",
            ]
        )
    return rows


def console_tables(run: Run) -> list[Table]:
    """The rich tables."""
    latency = Table(
        title=(
            f"Move → update at N board tabs, {run.rounds} rounds "
            "(p50/p99: every tab and round; last: slowest tab of a round)"
        )
    )
    cost = Table(title="Cost of opening tabs and of one command")
    for table, headers, rows in (
        (latency, LATENCY_HEADERS, latency_rows(run)),
        (cost, COST_HEADERS, cost_rows(run)),
    ):
        for h in headers:
            table.add_column(h, justify="right")
        for row in rows:
            table.add_row(*row)
    return [latency, cost]


def md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---:|" * len(headers),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def verdicts(run: Run) -> list[str]:
    """The two targets, judged on what was measured."""
    lines = []
    at = next(
        (s for s in run.stages if s.clients == P99_TARGET_N and s.latency_ms), None
    )
    if at is None:
        lines.append(
            f"- p99 <= {P99_TARGET_MS:.0f} ms at {P99_TARGET_N} clients: not measured"
        )
    else:
        p99 = at.pct(at.latency_ms, 99)
        last = at.pct(at.last_ms, 99)
        lines.append(
            f"- p99 <= {P99_TARGET_MS:.0f} ms at {P99_TARGET_N} clients: "
            f"**{_ok(p99 <= P99_TARGET_MS)}** over every (client, round) "
            f"({p99:,.0f} ms); **{_ok(last <= P99_TARGET_MS)}** for the last client "
            f"of each round ({last:,.0f} ms)"
        )
    measured = [s for s in run.stages if s.rss_kib]
    if measured:
        worst = max(measured, key=lambda s: s.mib_per_client)
        big = [s for s in measured if s.clients >= P99_TARGET_N] or measured
        lines.append(
            f"- <= {MIB_TARGET:.0f} MiB per connected board client: "
            f"**{_ok(all(s.mib_per_client <= MIB_TARGET for s in big))}** "
            f"(N >= {big[0].clients}: "
            + ", ".join(f"{s.mib_per_client:.2f} MiB at N={s.clients}" for s in big)
            + f"; worst of all stages {worst.mib_per_client:.2f} MiB at "
            f"N={worst.clients})"
        )
    return lines


PING_TIMEOUT_S = 2.0  # NiceGUI 3.18: max(0.4 * reconnect_timeout, 2)
PING_INTERVAL_S = 4.0  # NiceGUI 3.18: max(0.8 * reconnect_timeout, 4)
RESPONSE_TIMEOUT_S = 3.0  # @ui.page's default response_timeout


def findings(run: Run) -> list[str]:
    """What the figures say, computed from this run."""
    done = [s for s in run.stages if s.latency_ms]
    if not done:
        return ["No stage completed."]
    out = []
    small, big = done[0], done[-1]
    if big.clients > small.clients:
        per_client = (big.server_cpu_ms - small.server_cpu_ms) / (
            big.clients - small.clients
        )
        out.append(
            f"Fan-out is serial on the server's one event loop: each command "
            f"costs about {per_client:.1f} ms of server CPU per open board tab "
            f"({small.server_cpu_ms:,.0f} ms at N={small.clients}, "
            f"{big.server_cpu_ms:,.0f} ms at N={big.clients}; the change and "
            "its flash, whose end the browser handles; this also counts the "
            "tabs' acks and NiceGUI's idle outbox wake-ups between rounds). The "
            f"*first* tab has the change at p50 {big.pct(big.first_ms, 50):,.0f} "
            f"ms, the last at {big.pct(big.last_ms, 50):,.0f} ms (N={big.clients})"
            ": the change "
            "feed calls every tab's `BoardView.apply` in one loop callback before "
            "any outbox sends, and the POST's own response waits behind it too "
            f"(POST p50 {small.pct(small.http_ms, 50):,.0f} ms at "
            f"N={small.clients}, {big.pct(big.http_ms, 50):,.0f} ms at "
            f"N={big.clients}), so the REST API slows down for everyone as "
            "viewers grow."
        )
    if run.elements:
        kib = big.mib_per_client * 1024  # largest N: least noise
        out.append(
            f"Memory is about {kib:,.0f} KiB per board tab at N={big.clients} "
            f"({min(s.mib_per_client for s in done):.2f}-"
            f"{max(s.mib_per_client for s in done):.2f} MiB over the stages). A "
            f"tab of {CARDS} cards is {run.elements:,} NiceGUI elements: a column "
            "is one element (`board_column.js`) and its cards are data, one "
            "shared `CardJson` per item state that every tab references, so a "
            "tab costs its elements plus a pointer per card, not an element "
            "(about 5 KiB in NiceGUI) per card."
        )
    worst = [
        (max(s.gc_connect_ms + s.gc_rounds_ms, default=0.0), s)
        for s in run.stages
        if s.gc_connect_ms or s.gc_rounds_ms
    ]
    over = [(ms, s) for ms, s in worst if ms > PING_TIMEOUT_S * 1000]
    if not worst:
        out.append(
            "No full garbage collection of 20 ms or more in any stage (the "
            "serving process raises the collector's thresholds, app.tune_gc)."
        )
    else:
        out.append(
            "Full garbage collections stop the server's loop for longer as tabs "
            "accumulate (worst per stage: "
            + ", ".join(f"{ms:,.0f} ms at N={s.clients}" for ms, s in worst)
            + "), because a full collection walks every element of every open tab."
            + (
                f" Beyond NiceGUI's Engine.IO ping timeout ({PING_TIMEOUT_S:.0f} s "
                f"after a ping sent every {PING_INTERVAL_S:.0f} s) such a pause "
                "makes the server close sockets whose pong it could not read, and "
                "the clients give up on a server silent for 6 s: connections lost "
                + ", ".join(f"{s.drops} at N={s.clients}" for _, s in over)
                + " (then reconnected, with replay; a tab gone longer than the 3 s "
                "reconnect timeout is deleted and its page reloads). A page opened "
                f"during such a pause cannot reach `await client.connected()` within "
                f"the page's {RESPONSE_TIMEOUT_S:.0f} s response timeout and is "
                "answered with NiceGUI's 500 page (counted as 500s above)."
                if over
                else ""
            )
        )
    driver = [s for s in run.stages if s.driver_gc_rounds_ms]
    out.append(
        "The load driver's own full garbage collections during the rounds "
        "(they delay the timing of every tab): "
        + (
            ", ".join(
                f"{len(s.driver_gc_rounds_ms)} at N={s.clients} (worst "
                f"{max(s.driver_gc_rounds_ms):,.0f} ms)"
                for s in driver
            )
            if driver
            else "none of 20 ms or more"
        )
        + "; the driver freezes its heap (`gc.freeze`) before each stage's rounds."
    )
    logouts = [s for s in run.stages if s.logouts]
    if logouts:
        out.append(
            "The browser was logged out under load ("
            + ", ".join(f"{s.logouts} redirects at N={s.clients}" for s in logouts)
            + "). A page NiceGUI cancels (past its "
            f"{RESPONSE_TIMEOUT_S:.0f} s response timeout) no longer closes the "
            "session (`itemhub.ui.session.in_thread` raises instead of returning "
            "None), so these redirects need another explanation."
        )
    return out


def markdown(run: Run) -> str:
    """bench/results/fanout.md."""
    m = run.machine
    out = [
        "# Live-board fan-out",
        "",
        f"Measured {m['date']} with `.venv/bin/python -m bench.fanout` "
        f"({'quick' if m['quick'] else 'full'} run, {run.total_s:.0f} s).",
        "",
        f"- Machine: {m['cores']} cores, {m['memory']}, {m['platform']}; "
        f"load average {m['load_average']} before, {m['load_average_after']} after "
        "(the load average also counts the bench's own server and driver)",
        f"- Python {m['python']}, NiceGUI {m['nicegui']}, python-socketio "
        f"{m['socketio']}, aiohttp {m['aiohttp']}",
        f"- Server: one `python -m itemhub serve` process, SQLite in a temp dir, "
        f"log level WARNING; board of {CARDS} cards in {len(COLUMNS)} columns "
        "(every client is the admin superuser and sees all of them)",
        f"- {run.rounds} rounds per N, {run.gap:.1f} s apart; each round is "
        "`POST /api/v1/items/{id}/move` to the top of the next column, sent by a "
        "second superuser",
        "",
        "## Figures",
        "",
        *md_table(LATENCY_HEADERS, latency_rows(run)),
        "",
        "- **p50 / p99 ms**: over every (client, round) pair, from just before the "
        "HTTP request to the moment the message that puts the card into the target "
        "column (the card operations of `itemhub.ui.broadcast`; after a reload, the "
        "column element showing it there) was handed to that client's handler.",
        "- **first p50**: per round, the fastest client.",
        "- **last p50 / p99 / max**: per round, the slowest client, i.e. the time "
        f"until *all* N clients have the change; with {run.rounds} rounds, its "
        "p99 is in effect the maximum.",
        "- **missing**: (client, round) pairs whose change did not arrive within "
        "the round timeout (10 s + 50 ms per client) or whose socket was closed.",
        "- **RSS +MiB / MiB per client**: server VmRSS after the N clients had "
        "connected and settled (5 s, so every client had acked and NiceGUI's "
        "message history was pruned), minus the baseline, divided by N. The "
        "baseline was read after one warm-up tab had opened the board and been "
        "deleted again (so first-use costs are not charged to the clients)"
        + (
            f"; one board tab holds {run.elements:,} NiceGUI elements (a column "
            "is one element; its cards are data)."
            if run.elements
            else "."
        ),
        "",
        *md_table(COST_HEADERS, cost_rows(run)),
        "",
        "- **connect wall s / p50 ms**: adding this stage's tabs, "
        f"{run.concurrency} at a time; per tab, `GET /` → socket connected → all "
        f"{CARDS} cards received.",
        "- **srv CPU ms/open**: server user+system CPU while this stage's tabs "
        "opened, per tab (the presence row is re-sent to the open tabs only when "
        "the set of distinct viewers changes; here every tab is the same admin).",
        "- **POST p50**: duration of the move request itself (it returns once the "
        "read model has the change).",
        "- **srv / driver CPU ms/cmd**: CPU of the server and of this load driver "
        "per round (the card's flash is ended by the browser, so there is no "
        "second, flash-off update).",
        "- **lost / reloads / 500s / logouts**: socket connections the tabs lost "
        "without closing them (each then reconnected like socket.io-client, and "
        "NiceGUI replayed the missed messages), page reloads because the server "
        "had already deleted the client, page GETs answered with an error "
        "(retried after 1 s, as a user would), and page GETs redirected to "
        "`/login` because the browser's session had been closed (the bench then "
        "logs in again through the UI, once for all tabs, and retries), while "
        "the stage's tabs connected and during its rounds. All should be 0.",
        "- **worst lag driver / server ms**: the worst wake-up delay of a 50 ms "
        "sleep in this driver's event loop, and the worst round trip of the "
        "server's `async` liveness endpoint `GET /api/v1/health` polled every "
        "0.2 s from a separate thread (it answers on the server's event loop, so "
        "it shows how long the loop was blocked).",
        "- **full GCs, worst ms**: the server's generation-2 garbage collections "
        "of 20 ms or more in the stage and the longest one, timed by a "
        "`gc.callbacks` hook the bench adds to the server process (the one "
        "change to the server as deployed; it only reads the clock). A full "
        "collection stops the event loop, and it walks every live object: "
        "every element of every open tab.",
        "- **load avg**: 1-minute load average when the stage's rounds began.",
        "",
        "## Targets",
        "",
        *verdicts(run),
        "",
        "## Findings",
        "",
        *[f"- {f}" for f in findings(run)],
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in run.notes],
        "",
        "![latency against N](../fanout.png)",
        "",
    ]
    return "\n".join(out)


def plot(run: Run, path: Path) -> None:
    """bench/fanout.png: latency (and memory) against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    stages = [s for s in run.stages if s.latency_ms]
    n = [s.clients for s in stages]
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, values, style in (
        ("p50, every client", [s.pct(s.latency_ms, 50) for s in stages], "o-"),
        ("p99, every client", [s.pct(s.latency_ms, 99) for s in stages], "s-"),
        ("p99, last client of a round", [s.pct(s.last_ms, 99) for s in stages], "^--"),
    ):
        lat.plot(n, values, style, label=label)
    lat.axhline(P99_TARGET_MS, color="red", linewidth=0.8, linestyle=":")
    lat.annotate(
        f"target: p99 <= {P99_TARGET_MS:.0f} ms at N={P99_TARGET_N}",
        (n[0] if n else 1, P99_TARGET_MS),
        xytext=(4, 4),
        textcoords="offset points",
        color="red",
        fontsize=8,
    )
    lat.set_xscale("log")
    lat.set_yscale("log")
    lat.set_xticks(n, [str(x) for x in n])
    lat.yaxis.set_major_formatter(ScalarFormatter())
    lat.yaxis.set_minor_formatter(NullFormatter())
    lat.xaxis.set_minor_formatter(NullFormatter())
    lat.set_xlabel("connected board clients N")
    lat.set_ylabel("move → change received (ms)")
    missed = [s.clients for s in run.stages if not s.latency_ms]
    lat.set_title(
        "Fan-out latency"
        + (f" (N={', '.join(map(str, missed))}: not reached)" if missed else "")
    )
    lat.grid(True, which="both", alpha=0.3)
    lat.legend()
    mem.plot(n, [s.mib_per_client for s in stages], "o-", color="tab:purple")
    mem.axhline(MIB_TARGET, color="red", linewidth=0.8, linestyle=":")
    mem.annotate(
        f"target {MIB_TARGET:.0f} MiB",
        (n[0] if n else 1, MIB_TARGET),
        xytext=(4, 4),
        textcoords="offset points",
        color="red",
        fontsize=8,
    )
    mem.set_xscale("log")
    mem.set_xticks(n, [str(x) for x in n])
    mem.xaxis.set_minor_formatter(NullFormatter())
    mem.set_xlabel("connected board clients N")
    mem.set_ylabel("server RSS growth / N (MiB)")
    mem.set_title(f"Memory per board client ({CARDS} cards)")
    mem.set_ylim(bottom=0)
    mem.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        f"ItemHub live board, {run.machine['cores']} cores, server and load "
        f"driver on one machine ({run.machine['date']})",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine(quick: bool) -> dict[str, Any]:
    """What the figures were measured on."""
    import nicegui

    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "cores": os.cpu_count(),
        "memory": f"{pages / 2**30:.0f} GiB RAM",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "nicegui": nicegui.__version__,
        "socketio": _version("python-socketio"),
        "aiohttp": aiohttp.__version__,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def standard_notes(run: Run, concurrency: int, sizes: Sequence[int]) -> list[str]:
    """The caveats every run has."""
    return [
        "The load driver (this script: every Socket.IO client in one asyncio loop) "
        f"and the server share the {run.machine['cores']} cores, so at large N the "
        "driver's own work (receiving and JSON-decoding N messages per "
        "round) is part of the measured time, and other jobs on the machine add "
        "noise.",
        "Clients are added stage by stage to one server ("
        + ", ".join(
            f"+{b - a}" if a else str(b)
            for a, b in zip([0, *sizes], sizes, strict=False)
        )
        + "); the rounds of a stage run with all of its clients connected. "
        f"Tabs connect {concurrency} at a time.",
        "Each client mirrors nicegui.js and socket.io-client: the page's `query` "
        "object (parsed with `ast.literal_eval`) plus a fresh `document_id` per "
        "page load, one `tab_id` per tab and `old_tab_id=null` in the connect "
        "query; WebSocket transport; implicit handshake; duplicate message ids "
        "dropped; `ack` every 3 s; an answer to `run_javascript` requests; "
        "automatic reconnection with the current `next_message_id`; a page "
        "reload when the server has deleted the client. It renders nothing, so "
        "a browser's DOM work is not included.",
        "One browser session logged in through the `/login` page (the client "
        "filled the e-mail and password inputs and clicked *Log in* over the "
        "socket, like Chromium); every tab shares its `session` cookie and did "
        "its own `GET /`.",
        "The command comes from a second superuser, so each board also flashes "
        'the card ("changed by …"; the browser ends the flash 2.5 s later, no '
        f"server message); rounds are {run.gap:.1f} s apart (from the last tab's "
        "update to the next command), as in earlier runs, so runs compare.",
        f"Setup: server start + {CARDS} cards through the REST API "
        f"{run.setup_s:.1f} s; UI login {run.login_s:.1f} s.",
        "The server is `python -c <hook> serve --port …`, where the hook adds the "
        "`gc.callbacks` timer and then runs the `itemhub` package as `__main__`, "
        "exactly what `python -m itemhub serve` runs.",
    ]


def report(run: Run, *, write: bool) -> None:
    """Print the tables; write the markdown and the plot if asked."""
    console.print()
    for table in console_tables(run):
        console.print(table)
    for line in verdicts(run):
        console.print(line.replace("**", ""), highlight=False)
    console.print(f"total {run.total_s:.0f}s")
    if write and run.stages:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(markdown(run))
        plot(run, PLOT)
        log(f"wrote {RESULTS.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


def load_run(path: Path) -> Run:
    """A run saved with ``--json``."""
    data = json.loads(path.read_text())
    data["stages"] = [Stage(**stage) for stage in data["stages"]]
    return Run(**data)
