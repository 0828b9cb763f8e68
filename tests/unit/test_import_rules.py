"""Which itemhub package may import which: the layers of DESIGN.md, enforced."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import itemhub

PACKAGE = Path(itemhub.__file__).parent
ROOT = PACKAGE.parent
FORBIDDEN = ("eventsourcing", "sqlalchemy", "psycopg")
LAYERS = ("api", "ui")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name a file imports, at any depth in the file."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def is_forbidden(module: str) -> bool:
    """True for a forbidden package or any of its submodules."""
    return any(module == top or module.startswith(f"{top}.") for top in FORBIDDEN)


def layer_files() -> list[Path]:
    """Every Python file of the API and the UI."""
    return sorted(f for layer in LAYERS for f in (PACKAGE / layer).rglob("*.py"))


def test_the_api_and_the_ui_have_python_files() -> None:
    files = layer_files()

    assert PACKAGE / "api" / "__init__.py" in files
    assert PACKAGE / "ui" / "__init__.py" in files


@pytest.mark.parametrize(
    "path", layer_files(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_api_or_ui_module_imports_an_event_store_or_a_database(
    path: Path,
) -> None:
    offending = sorted(m for m in imported_modules(path) if is_forbidden(m))

    assert offending == []


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import sqlalchemy", True),
        ("import sqlalchemy.orm as orm", True),
        ("from eventsourcing.application import Application", True),
        ("from eventsourcing import persistence", True),
        ("def f():\n    from sqlalchemy import select", True),
        ("import eventsourcing_extra", False),
        ("from . import sqlalchemy", False),
        ("from itemhub.commands import CreateItem", False),
    ],
)
def test_the_import_check_catches_what_it_should(
    tmp_path: Path, source: str, caught: bool
) -> None:
    module = tmp_path / "module.py"
    module.write_text(source + "\n")

    assert any(is_forbidden(m) for m in imported_modules(module)) is caught


# package -> itemhub packages it must never import (DESIGN.md, section 2).
NEVER = {
    "events": (
        "eventstore",
        "commands",
        "projections",
        "readstore",
        "readside",
        "queries",
        "api",
        "ui",
    ),
    "eventstore": (
        "commands",
        "projections",
        "readstore",
        "readside",
        "queries",
        "api",
        "ui",
    ),
    "readstore": (
        "eventstore",
        "commands",
        "projections",
        "readside",
        "queries",
        "api",
        "ui",
    ),
    "projections": ("commands", "readside", "queries", "api", "ui"),
    "queries": ("commands", "readside", "api", "ui"),
    "readside": ("commands", "api", "ui"),
    "commands": ("projections", "readstore", "readside", "queries", "api", "ui"),
    # API and UI reach the stores only through the facades (itemhub.facades).
    "api": ("ui", "eventstore", "readstore", "readside"),
    "ui": ("api", "eventstore", "readstore", "readside"),
}


def package_files(package: str) -> list[Path]:
    """Every Python file of one itemhub package."""
    return sorted((PACKAGE / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """The itemhub packages a file imports (``itemhub.commands.bus`` -> commands)."""
    return {
        module.split(".")[1]
        for module in imported_modules(path)
        if module.startswith("itemhub.") and module.count(".") >= 1
    }


@pytest.mark.parametrize(
    "path",
    [f for package in NEVER for f in package_files(package)],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_no_package_imports_a_layer_it_must_not(path: Path) -> None:
    package = path.relative_to(PACKAGE).parts[0]
    offending = sorted(imported_packages(path) & set(NEVER[package]))

    assert offending == []


def test_the_layer_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from itemhub.commands.bus import CommandBus\n")

    assert imported_packages(module) == {"commands"}


def test_importing_the_api_and_the_ui_connects_to_no_database(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITEMHUB_")}
    env |= {
        # Port 1 refuses at once: an import-time connection attempt would fail.
        "ITEMHUB_DATABASE_URL": "postgresql+psycopg://itemhub:pw@127.0.0.1:1/itemhub",
        "PGCONNECT_TIMEOUT": "2",
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "import sys\n"
        "def refuse(event, args):\n"
        "    if event == 'socket.connect':\n"
        "        raise RuntimeError(f'connect attempted: {args}')\n"
        "sys.addaudithook(refuse)\n"
        "import itemhub.api, itemhub.ui\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # no .env file here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr


# What API and UI code may not reach through a hub: the stores and the bus
# behind the two facades (``hub.commands`` and ``hub.queries``).
HIDDEN = frozenset({"app", "store", "read_side", "bus", "read"})


def hub_reaches(path: Path) -> list[str]:
    """Every ``hub.<hidden>`` (or ``self.hub.<hidden>``) a file uses."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Attribute) or node.attr not in HIDDEN:
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if name == "hub":
            found.append(f"{name}.{node.attr} (line {node.lineno})")
    return found


@pytest.mark.parametrize(
    "path", layer_files(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_api_or_ui_module_reaches_past_the_facades(path: Path) -> None:
    assert hub_reaches(path) == []


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("hub.app.close()", True),
        ("self.hub.store.reader", True),
        ("x = request.app.state.hub.read_side", True),
        ("hub.bus.handle(c, ctx)", True),
        ("hub.read.user(u)", True),
        ("hub.queries.read.user(u)", False),
        ("hub.commands.send(c, ctx)", False),
        ("request.app.state", False),
    ],
)
def test_the_facade_check_catches_what_it_should(
    tmp_path: Path, source: str, caught: bool
) -> None:
    module = tmp_path / "module.py"
    module.write_text(source + "\n")

    assert bool(hub_reaches(module)) is caught


def test_the_board_fold_is_pure() -> None:
    # Time travel folds with it in memory: no database behind it.
    path = PACKAGE / "projections" / "board_state.py"

    assert sorted(m for m in imported_modules(path) if is_forbidden(m)) == []
