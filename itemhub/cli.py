"""The ``itemhub`` command line: serve, migrate, users, rebuild, status, demo data."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
)
from rich.table import Table

from itemhub.bootstrap import StartupError
from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    Channel,
    Context,
    DomainError,
    RegisterUser,
)
from itemhub.config import ConfigError, load_settings
from itemhub.projections.registry import projection_names
from itemhub.queries.audit import AuditFilter
from itemhub.queries.export import export_stream
from itemhub.runtime import Hub

cli = typer.Typer(
    name="itemhub",
    help="ItemHub: an event-sourced, live-updating item board.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def fail(message: str, code: int) -> NoReturn:
    """Stop with one plain line on stderr."""
    sys.stderr.write(f"itemhub: {message}\n")
    raise typer.Exit(code)


@contextmanager
def opened_hub(*, migrate: bool | None = None) -> Iterator[Hub]:
    """Open the runtime without workers; report bad settings in one line."""
    try:
        overrides = {} if migrate is None else {"auto_migrate": migrate}
        hub = Hub.open(load_settings(**overrides))
    except (ConfigError, StartupError) as exc:
        fail(str(exc), 2)
    try:
        yield hub
    except DomainError as exc:
        fail(str(exc), 1)
    finally:
        hub.close()


def cli_context() -> Context:
    """Commands from the CLI act as the system, recorded as channel ``cli``."""
    return Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.CLI)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides ITEMHUB_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides ITEMHUB_PORT.")] = None,
) -> None:
    """Serve the web UI and the REST API."""
    if host is not None:
        os.environ["ITEMHUB_HOST"] = host
    if port is not None:
        os.environ["ITEMHUB_PORT"] = str(port)
    # Imported here: the web app pulls in NiceGUI, which no other command needs.
    from itemhub.web import main

    main()


@cli.command()
def migrate() -> None:
    """Create the event store and read-model tables (run once before instances)."""
    with opened_hub(migrate=True) as hub:
        console.print(f"migrated {hub.settings.database.describe}")


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ],
    full_name: Annotated[str, typer.Option()] = "",
    superuser: Annotated[bool, typer.Option("--superuser")] = False,
) -> None:
    """Create a user."""
    with opened_hub() as hub:
        result = hub.commands.send(
            RegisterUser(
                email=email,
                password=password,
                full_name=full_name,
                is_superuser=superuser,
            ),
            cli_context(),
        )
        hub.catch_up()
        role = "superuser" if superuser else "user"
        console.print(f"created {role} {email.strip().lower()} ({result.aggregate_id})")


ProjectionName = Annotated[
    str | None, typer.Argument(help="One projection (default: all).")
]


def chosen_projections(name: str | None) -> list[str]:
    """The projections a command names (all by default); exit 2 for an unknown one."""
    try:
        return projection_names(name)
    except KeyError as exc:
        fail(exc.args[0], 2)


@cli.command()
def rebuild(
    name: ProjectionName = None,
) -> None:
    """Replay read models from zero into fresh tables, then swap them in.

    Without NAME, every read model, in one pass over the log.
    """
    names = chosen_projections(name)
    with opened_hub() as hub, _progress() as progress:
        label = ", ".join(names)
        task = progress.add_task(label, total=None)

        def report(done: int, head: int) -> None:
            progress.update(task, completed=done, total=head)

        result = hub.queries.rebuild_together(names, report)
        progress.console.print(
            f"{label}: {result.events} events to position {result.position} "
            f"in {result.seconds:.2f}s ({result.rate:,.0f} events/s)"
        )


@cli.command()
def status() -> None:
    """Show each projection's position against the head of the log."""
    with opened_hub() as hub:
        table = Table("projection", "position", "head", "lag", "state")
        failed = False
        for s in hub.queries.status():
            failed |= s.error is not None
            state = f"[red]failed: {s.error}[/red]" if s.error else s.state
            table.add_row(s.name, str(s.position), str(s.head), str(s.lag), state)
        console.print(table)
    if failed:
        raise typer.Exit(1)


@cli.command()
def verify(
    name: ProjectionName = None,
) -> None:
    """Replay read models into scratch tables and compare them with the live ones."""
    names = chosen_projections(name)
    broken = False
    with opened_hub() as hub:
        hub.catch_up()
        for projection in names:
            position, found = hub.queries.differences(projection)
            if found:
                broken = True
                console.print(
                    f"[red]{projection}: {len(found)} difference(s)[/red] "
                    f"(replayed to position {position})"
                )
                for line in found:
                    console.print(f"  {line}", markup=False, highlight=False)
            else:
                console.print(f"{projection}: identical at position {position}")
    if broken:
        raise typer.Exit(1)


@cli.command("verify-chain")
def verify_chain_command() -> None:
    """Check the stored events against the hash chain; name the first broken link."""
    with opened_hub() as hub:
        hub.catch_up()
        report = hub.queries.chain_report()
    if report.intact:
        console.print(f"chain intact: {report.checked} events checked")
        return
    console.print(
        f"[red]chain broken at position {report.first_broken}[/red]: {report.reason} "
        f"({report.checked} events before it are intact)"
    )
    raise typer.Exit(1)


@cli.command("export-audit")
def export_audit(
    since: Annotated[dt.datetime | None, typer.Option(help="ISO time, UTC.")] = None,
    until: Annotated[dt.datetime | None, typer.Option(help="ISO time, UTC.")] = None,
    format: Annotated[str, typer.Option(help="csv or json")] = "csv",
) -> None:
    """Write the audit trail (oldest first) to stdout as CSV or JSON."""
    if format not in {"csv", "json"}:
        fail("--format must be csv or json", 2)
    try:
        audit_filter = AuditFilter(since=since, until=until)
    except ValueError as exc:
        fail(str(exc), 2)
    with opened_hub() as hub:
        hub.catch_up()
        entries = hub.queries.audit.export_rows(audit_filter)
        for chunk in export_stream(entries, format):
            sys.stdout.write(chunk)
    sys.stdout.write("\n" if format == "json" else "")


@cli.command()
def history(item_id: Annotated[str, typer.Argument(help="The item's id.")]) -> None:
    """Every version of an item: who, when, and each field before → after."""
    try:
        parsed = UUID(item_id)
    except ValueError:
        fail(f"not an item id: {item_id!r}", 2)
    with opened_hub() as hub:
        versions = hub.queries.item_history(parsed)
    if not versions:
        fail(f"no item {item_id}", 1)
    table = Table("version", "time (UTC)", "actor", "channel", "action", "changes")
    for v in versions:
        changes = "; ".join(f"{c.field}: {c.before!r} → {c.after!r}" for c in v.changes)
        table.add_row(
            str(v.version),
            v.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            v.actor_name,
            v.channel,
            v.action,
            changes,
        )
    console.print(table)


@cli.command("seed-demo")
def seed_demo() -> None:
    """Fill the board with a believable demo: a few users, ~50 items with history."""
    from itemhub.demo import seed

    with opened_hub() as hub:
        users = seed(hub.bus, hub.settings.board_columns)
        hub.catch_up()
        table = Table("demo user", "password", "role")
        for user in users:
            table.add_row(user.email, user.password, user.role)
        console.print(table)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def main() -> None:
    """Entry point of the ``itemhub`` script."""
    cli()
