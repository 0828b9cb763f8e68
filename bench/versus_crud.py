"""ItemHub against the plain CRUD app it replaces, side by side in one run.

    .venv/bin/python -m bench.versus_crud [--quick] [--backend postgres|sqlite]

Both servers run at once on fresh databases of the same backend, each its own
uvicorn process with the same settings: ``bench.api_server`` (the real app) and
``bench.crud_app`` (FastAPI + SQLAlchemy, one row per item). ``wrk`` (C, one
thread, 16 keep-alive connections) drives them in alternating segments
(ItemHub, CRUD, CRUD, ItemHub, ...), so neither side always runs in the
quieter moment. Both act as a standard user with 1,000 items of their own
before the list-50 segments; creates run after them. PostgreSQL's own ceiling
for one-row inserts (``pgbench``, 16 clients) is printed alongside.

``wrk`` comes from Debian (``apt-get install wrk``); it is not the bottleneck
here (a few % of one core at these rates).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine

from bench.api_load import ApiServer, cpu_seconds, login
from bench.backends import PG_HOST, PG_PORT, PG_USER, Backend, fresh_database
from bench.crud_app import add_user, create_schema
from bench.server import ServerProcess
from itemhub.api.tokens import TokenService
from itemhub.projections.dto import UserCredentials

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 16
SEED_ITEMS = 1000
USER_EMAIL = "bench-user@example.com"
USER_PASSWORD = "bench-password-1"
SIDES = ("itemhub", "crud")
KINDS = ("list-50", "create")
TARGETS = {"list-50": 1.5, "create": 1.0}
TOKEN_LIFETIME = dt.timedelta(hours=8)

console = Console()
if not console.is_terminal:
    console = Console(width=160)


@dataclass(frozen=True, slots=True)
class Plan:
    """Segment length and how many segments each side gets per kind."""

    segment: float
    rounds: int  # pairs: ItemHub-CRUD then CRUD-ItemHub, ...


FULL = Plan(segment=10.0, rounds=2)
QUICK = Plan(segment=3.0, rounds=1)


@dataclass(slots=True)
class Figures:
    """What one side did for one kind of request, all segments summed."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    p99s_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p99_ms(self) -> float:
        """The worst segment's p99 (wrk reports percentiles per run)."""
        return max(self.p99s_ms) if self.p99s_ms else float("nan")

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per successful request."""
        return 1000 * self.server_cpu / self.requests if self.requests else 0.0


# --- wrk ---------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _script(kind: str, token: str, directory: Path) -> Path:
    """The wrk Lua script of one kind of request."""
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    if kind == "list-50":
        body = auth + 'wrk.path = "/api/v1/items?limit=50"\n'
    else:
        body = (
            auth
            + 'wrk.method = "POST"\n'
            + 'wrk.headers["Content-Type"] = "application/json"\n'
            + "local n = 0\n"
            + "request = function()\n"
            + "  n = n + 1\n"
            + '  return wrk.format(nil, "/api/v1/items", nil,'
            + " '{\"title\":\"bench card ' .. n .. '\"}')\n"
            + "end\n"
        )
    path = directory / f"{kind}-{secrets.token_hex(4)}.lua"
    path.write_text(body)
    return path


def run_wrk(url: str, script: Path, seconds: float) -> tuple[int, int, float, float]:
    """(requests, non-2xx, seconds, p99 ms) of one wrk run."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:.0f}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(\w+)", out, re.MULTILINE)
    if total is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (int(errors.group(1)) if errors else 0)
    took = float(total.group(2)) * _UNITS[total.group(3)] / 1000
    return (
        int(total.group(1)) - failed,
        failed,
        took,
        float(p99.group(1)) * _UNITS[p99.group(2)],
    )


# --- the two servers -----------------------------------------------------------------


class CrudServer(ServerProcess):
    """``python -m bench.crud_app`` on a free port."""

    def __init__(self, database_url: str, secret: str) -> None:
        super().__init__(
            [
                "-m",
                "bench.crud_app",
                "--database-url",
                database_url,
                "--secret",
                secret,
            ],
            cwd=ROOT,
            env={},
        )


@dataclass(frozen=True, slots=True)
class Target:
    """A served app, its process and a token of its standard user."""

    name: str
    url: str
    pid: int
    token: str


async def _itemhub_user(url: str) -> str:
    """A standard user with SEED_ITEMS items on ItemHub; their token."""
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        admin = {"Authorization": f"Bearer {await login(client)}"}
        created = await client.post(
            "/api/v1/users",
            json={"email": USER_EMAIL, "password": USER_PASSWORD},
            headers=admin,
        )
        created.raise_for_status()
        response = await client.post(
            "/api/v1/login/access-token",
            data={"username": USER_EMAIL, "password": USER_PASSWORD},
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        await _seed(client, token)
        return token


async def _crud_user(url: str, database_url: str, secret: str) -> str:
    """The same user and items on the CRUD app (the token minted with its secret)."""
    engine = create_engine(database_url)
    user_id = add_user(engine, USER_EMAIL)
    engine.dispose()
    token = TokenService(secret, TOKEN_LIFETIME).issue(
        UserCredentials(
            id=user_id,
            email=USER_EMAIL,
            password_hash="",
            is_active=True,
            is_superuser=False,
            token_version=0,
        )
    )
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await _seed(client, token)
    return token


async def _seed(client: httpx.AsyncClient, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    pending = iter(range(SEED_ITEMS))

    async def one() -> None:
        for n in pending:
            body = {"title": f"seed {n}"}
            response = await client.post("/api/v1/items", json=body, headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"seeding failed: {response.text[:300]}")

    await asyncio.gather(*(one() for _ in range(8)))


@contextmanager
def targets(backend: Backend) -> Iterator[list[Target]]:
    """Both apps served on fresh databases, each with its seeded user."""
    with ExitStack() as stack:
        hub_db = stack.enter_context(fresh_database(backend))
        crud_db = stack.enter_context(fresh_database(backend))
        secret = secrets.token_urlsafe(32)
        engine = create_engine(crud_db)
        create_schema(engine)
        engine.dispose()
        hub = ApiServer(hub_db)
        stack.callback(hub.stop)
        crud = CrudServer(crud_db, secret)
        stack.callback(crud.stop)
        hub.wait_healthy()
        crud.wait_healthy()
        yield [
            Target("itemhub", hub.url, hub.pid, asyncio.run(_itemhub_user(hub.url))),
            Target(
                "crud",
                crud.url,
                crud.proc.pid,
                asyncio.run(_crud_user(crud.url, crud_db, secret)),
            ),
        ]


# --- PostgreSQL's ceiling ------------------------------------------------------------


def pgbench_inserts(seconds: float) -> tuple[float, float]:
    """(tps, mean latency ms) of one-row inserts from 16 pgbench clients."""
    with fresh_database("postgres") as url, tempfile.TemporaryDirectory() as tmp:
        name = url.rsplit("/", 1)[1]
        base = ["-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, name]
        subprocess.run(
            [
                "psql",
                "-q",
                "-c",
                "CREATE TABLE rows (id bigserial PRIMARY KEY, title text NOT NULL,"
                " created_at timestamptz NOT NULL)",
                *base,
            ],
            check=True,
            capture_output=True,
        )
        script = Path(tmp) / "insert.sql"
        script.write_text("INSERT INTO rows (title, created_at) VALUES ('x', now());\n")
        out = subprocess.run(
            [
                *("pgbench", "-n", "-c", "16", "-j", "2", "-T", f"{seconds:.0f}"),
                *("-f", str(script), *base),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    if tps is None or latency is None:
        raise RuntimeError(f"unexpected pgbench output:\n{out}")
    return float(tps.group(1)), float(latency.group(1))


# --- the run -------------------------------------------------------------------------


def measure(backend: Backend, plan: Plan) -> dict[str, dict[str, Figures]]:
    """Every kind on both sides, in alternating segments."""
    figures = {kind: {side: Figures() for side in SIDES} for kind in KINDS}
    with targets(backend) as served, tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            for target in served:  # warm-up, not counted
                script = _script(kind, target.token, Path(tmp))
                run_wrk(target.url, script, 1)
            order = [
                served if r % 2 == 0 else list(reversed(served))
                for r in range(plan.rounds)
            ]
            for target in (t for pair in order for t in pair):
                console.print(f"  {backend} {kind}: {target.name}", highlight=False)
                script = _script(kind, target.token, Path(tmp))
                before = cpu_seconds(target.pid)
                ok, failed, took, p99 = run_wrk(target.url, script, plan.segment)
                f = figures[kind][target.name]
                f.server_cpu += cpu_seconds(target.pid) - before
                f.requests += ok
                f.errors += failed
                f.seconds += took
                f.p99s_ms.append(p99)
    return figures


def report(
    backend: Backend,
    figures: dict[str, dict[str, Figures]],
    ceiling: tuple[float, float] | None,
    load: tuple[float, float],
) -> None:
    """One table: each kind's rate, p99 and CPU per request, and the ratios."""
    table = Table(title=f"ItemHub vs plain CRUD, {backend}, {CONNECTIONS} connections")
    for header in (
        "request",
        "ItemHub req/s",
        "CRUD req/s",
        "ratio",
        "target",
        "ItemHub p99 ms",
        "CRUD p99 ms",
        "ItemHub CPU ms/req",
        "CRUD CPU ms/req",
        "errors",
    ):
        table.add_column(header, justify="left" if header == "request" else "right")
    for kind in KINDS:
        hub, crud = figures[kind]["itemhub"], figures[kind]["crud"]
        ratio = hub.rate / crud.rate if crud.rate else 0.0
        table.add_row(
            kind,
            f"{hub.rate:,.0f}",
            f"{crud.rate:,.0f}",
            f"{ratio:.2f}",
            f"≥ {TARGETS[kind]:.1f} {'met' if ratio >= TARGETS[kind] else 'not met'}",
            f"{hub.p99_ms:,.0f}",
            f"{crud.p99_ms:,.0f}",
            f"{hub.cpu_ms:.2f}",
            f"{crud.cpu_ms:.2f}",
            f"{hub.errors}/{crud.errors}",
        )
    console.print(table)
    if ceiling is not None:
        console.print(
            f"PostgreSQL ceiling (pgbench, 16 clients, one-row inserts): "
            f"{ceiling[0]:,.0f} tps, mean latency {ceiling[1]:.1f} ms"
        )
    console.print(f"load average (1 min): {load[0]:.2f} at start, {load[1]:.2f} at end")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(prog="python -m bench.versus_crud")
    parser.add_argument("--quick", action="store_true", help="short segments")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench.versus_crud needs wrk: apt-get install wrk")
    plan = QUICK if args.quick else FULL
    start_load = os.getloadavg()[0]
    figures = measure(args.backend, plan)
    ceiling = pgbench_inserts(plan.segment) if args.backend == "postgres" else None
    report(args.backend, figures, ceiling, (start_load, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
