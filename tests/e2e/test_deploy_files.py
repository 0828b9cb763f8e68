"""docker-compose.yml and the Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_is_postgres_17_with_a_health_check_and_a_named_volume() -> None:
    compose = _compose()
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:17")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_app_waits_for_a_healthy_db_then_migrates_before_serving() -> None:
    app = _compose()["services"]["app"]
    assert app["build"] == "."
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    command = " ".join(app["command"])
    assert command.index("itemhub migrate") < command.index("itemhub serve")
    assert app["environment"]["ITEMHUB_AUTO_MIGRATE"] == "false"
    assert app["environment"]["ITEMHUB_DATABASE_URL"].startswith(
        "postgresql+psycopg://"
    )
    assert "healthcheck" in app


def test_every_secret_must_be_supplied_and_none_is_written_in_the_file() -> None:
    text = COMPOSE.read_text()
    env = _compose()["services"]["app"]["environment"]
    for name in (
        "ITEMHUB_SECRET_KEY",
        "ITEMHUB_STORAGE_SECRET",
        "ITEMHUB_FIRST_SUPERUSER_PASSWORD",
    ):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[name]), name
    assert "${POSTGRES_PASSWORD:?" in text
    assert "changethis" not in text


def test_dockerfile_installs_the_package_and_serves_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert 'CMD ["itemhub", "serve"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile
