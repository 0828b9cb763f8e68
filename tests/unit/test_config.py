"""Settings from ``ITEMHUB_*`` variables, and parsing of the database URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from itemhub.config import (
    DEFAULT_COLUMNS,
    ConfigError,
    DatabaseTarget,
    Settings,
    load_settings,
    parse_database_url,
)

STRONG = "s" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``ITEMHUB_*`` variable and no ``.env`` file from the machine."""
    for name in list(os.environ):
        if name.upper().startswith("ITEMHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def load(**overrides: object) -> Settings:
    """``load_settings`` without a ``.env`` file."""
    return load_settings(_env_file=None, **overrides)


# --- defaults and the environment ---------------------------------------------


def test_defaults_serve_on_8080_with_sqlite_and_four_columns() -> None:
    settings = load()

    assert settings.env == "dev"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.database_url == "sqlite:///./data/itemhub.db"
    assert settings.board_columns == ("Backlog", "Todo", "Doing", "Done")
    assert settings.board_columns == DEFAULT_COLUMNS
    assert settings.auto_migrate is True
    assert settings.access_token_expire_minutes == 30


def test_board_columns_come_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ITEMHUB_BOARD_COLUMNS", "A, B")

    assert load().board_columns == ("A", "B")


def test_environment_variables_are_read_with_their_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ITEMHUB_PORT", "9090")
    monkeypatch.setenv("ITEMHUB_AUTO_MIGRATE", "false")
    monkeypatch.setenv("ITEMHUB_DATABASE_URL", "postgresql+psycopg://db/itemhub")

    settings = load()

    assert (settings.port, settings.auto_migrate) == (9090, False)
    assert settings.database.kind == "postgres"


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dotenv = tmp_path / "custom.env"
    dotenv.write_text("ITEMHUB_PORT=9000\nITEMHUB_HOST=0.0.0.0\n")
    monkeypatch.setenv("ITEMHUB_HOST", "10.0.0.1")

    settings = load_settings(_env_file=dotenv)

    assert (settings.port, settings.host) == (9000, "10.0.0.1")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Todo, todo", "unique"),
        ("A,A", "unique"),
        ("A,,B", "non-empty"),
        ("A, ", "non-empty"),
        ("", "non-empty"),
    ],
)
def test_duplicate_or_empty_columns_are_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("ITEMHUB_BOARD_COLUMNS", value)

    with pytest.raises(ConfigError, match=message) as excinfo:
        load()

    assert str(excinfo.value).startswith("ITEMHUB_BOARD_COLUMNS: ")


@pytest.mark.parametrize(
    ("name", "value"),
    [("ITEMHUB_PORT", "0"), ("ITEMHUB_PORT", "http"), ("ITEMHUB_ENV", "staging")],
)
def test_a_bad_value_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as excinfo:
        load()

    assert str(excinfo.value).startswith(f"{name}: ")


def test_cors_origins_come_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load().cors_origins == ()
    monkeypatch.setenv(
        "ITEMHUB_CORS_ORIGINS", "https://a.example, ,https://b.example:8443,"
    )

    assert load().cors_origins == ("https://a.example", "https://b.example:8443")


def test_allowed_hosts_add_to_the_loopback_names_and_the_bound_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loopback = ["localhost", "127.0.0.1", "[::1]"]
    assert load().allowed_hosts == ()
    assert load().trusted_hosts == [*loopback, "127.0.0.1"]
    assert load(host="0.0.0.0").trusted_hosts == loopback
    assert load(host="::").trusted_hosts == loopback
    assert load(host="::1").trusted_hosts == [*loopback, "[::1]"]
    assert load(host="10.0.0.5").trusted_hosts == [*loopback, "10.0.0.5"]
    monkeypatch.setenv("ITEMHUB_ALLOWED_HOSTS", "items.example.com, *.example.org,")

    settings = load(host="0.0.0.0")

    assert settings.allowed_hosts == ("items.example.com", "*.example.org")
    assert settings.trusted_hosts == [*loopback, "items.example.com", "*.example.org"]


@pytest.mark.parametrize(
    "value", ["https://items.example.com", "items.example.com:8080", "a*.example.com"]
)
def test_an_allowed_host_with_a_scheme_port_or_odd_wildcard_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ITEMHUB_ALLOWED_HOSTS", value)

    with pytest.raises(ConfigError) as excinfo:
        load()

    assert str(excinfo.value).startswith("ITEMHUB_ALLOWED_HOSTS: expected host names")


def test_public_docs_default_off_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load().public_docs is False
    monkeypatch.setenv("ITEMHUB_PUBLIC_DOCS", "true")

    assert load().public_docs is True


def test_login_rate_limit_defaults_to_5_a_minute_and_must_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load().login_rate_limit == "5/minute"
    monkeypatch.setenv("ITEMHUB_LOGIN_RATE_LIMIT", "often")

    with pytest.raises(ConfigError, match="5/minute") as excinfo:
        load()

    assert str(excinfo.value).startswith("ITEMHUB_LOGIN_RATE_LIMIT: ")


def test_no_proxy_is_trusted_unless_named_by_address_or_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load().forwarded_allow_ips == ()
    monkeypatch.setenv("ITEMHUB_FORWARDED_ALLOW_IPS", "172.28.0.10, 10.0.0.0/8,::1")
    assert load().forwarded_allow_ips == ("172.28.0.10", "10.0.0.0/8", "::1")
    for value in ("*", "proxy.internal", "172.28.0.10,*"):
        monkeypatch.setenv("ITEMHUB_FORWARDED_ALLOW_IPS", value)
        with pytest.raises(ConfigError, match="proxy's IP addresses") as excinfo:
            load()
        assert str(excinfo.value).startswith("ITEMHUB_FORWARDED_ALLOW_IPS: ")


def test_a_proxy_network_with_host_bits_set_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn would take it for a name, matching no address: no proxy trusted.
    monkeypatch.setenv("ITEMHUB_FORWARDED_ALLOW_IPS", "172.28.0.10,10.0.0.5/24")

    with pytest.raises(ConfigError, match=r"10\.0\.0\.5/24") as excinfo:
        load()

    assert str(excinfo.value).startswith("ITEMHUB_FORWARDED_ALLOW_IPS: ")
    assert "host bits" in str(excinfo.value)


def test_ui_sessions_idle_out_after_2_hours_and_end_after_7_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load()
    assert (settings.session_idle_minutes, settings.session_max_hours) == (120, 168)
    monkeypatch.setenv("ITEMHUB_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("ITEMHUB_SESSION_MAX_HOURS", "12")
    assert (load().session_idle_minutes, load().session_max_hours) == (15, 12)
    monkeypatch.setenv("ITEMHUB_SESSION_IDLE_MINUTES", "0")

    with pytest.raises(ConfigError) as excinfo:
        load()

    assert str(excinfo.value).startswith("ITEMHUB_SESSION_IDLE_MINUTES: ")


def test_a_secure_session_cookie_is_a_host_only_cookie() -> None:
    assert load().session_cookie == "session"
    prod = load(env="prod", secret_key=STRONG, storage_secret=STRONG)
    assert (prod.cookies_secure, prod.session_cookie) == (True, "__Host-session")
    assert load(secure_cookies=True).session_cookie == "__Host-session"
    # A __Host- cookie without Secure is refused by browsers: no login at all.
    insecure = load(
        env="prod", secret_key=STRONG, storage_secret=STRONG, secure_cookies=False
    )
    assert insecure.session_cookie == "session"


# --- secrets in prod ----------------------------------------------------------


@pytest.mark.parametrize(
    ("secrets", "named"),
    [
        ({}, "ITEMHUB_SECRET_KEY"),
        ({"secret_key": STRONG}, "ITEMHUB_STORAGE_SECRET"),
        ({"secret_key": "s" * 31, "storage_secret": STRONG}, "ITEMHUB_SECRET_KEY"),
        ({"secret_key": STRONG, "storage_secret": "short"}, "ITEMHUB_STORAGE_SECRET"),
        (
            {"secret_key": STRONG, "storage_secret": "changethis"},
            "ITEMHUB_STORAGE_SECRET",
        ),
    ],
    ids=[
        "both-default",
        "storage-default",
        "key-31-chars",
        "storage-short",
        "storage-default-explicit",
    ],
)
def test_prod_refuses_default_or_short_secrets_naming_the_variable(
    secrets: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load(env="prod", **secrets)

    assert str(excinfo.value).startswith(named)
    assert "32" in str(excinfo.value)


def test_prod_refuses_a_default_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ITEMHUB_ENV", "prod")
    monkeypatch.setenv("ITEMHUB_STORAGE_SECRET", STRONG)

    with pytest.raises(ConfigError, match="ITEMHUB_SECRET_KEY"):
        load()


def test_prod_accepts_secrets_of_32_characters() -> None:
    settings = load(env="prod", secret_key=STRONG, storage_secret="t" * 32)

    assert settings.env == "prod"


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize(
    ("secrets", "named"),
    [
        ({"secret_key": "changethis"}, "ITEMHUB_SECRET_KEY"),
        ({"secret_key": "s" * 31}, "ITEMHUB_SECRET_KEY"),
        ({"storage_secret": "changethis"}, "ITEMHUB_STORAGE_SECRET"),
        ({"storage_secret": "short"}, "ITEMHUB_STORAGE_SECRET"),
    ],
    ids=["key-default", "key-31-chars", "storage-default", "storage-short"],
)
def test_every_mode_refuses_a_default_or_short_secret_naming_the_variable(
    env: str, secrets: dict[str, str], named: str
) -> None:
    given = {"secret_key": STRONG, "storage_secret": STRONG} | secrets

    with pytest.raises(ConfigError) as excinfo:
        load(env=env, **given)

    assert str(excinfo.value).startswith(f"{named}: ")
    assert "32" in str(excinfo.value)


def test_dev_refuses_a_default_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ITEMHUB_SECRET_KEY", "changethis")

    with pytest.raises(ConfigError, match="ITEMHUB_SECRET_KEY"):
        load()


@pytest.mark.parametrize("given", [{}, {"secret_key": "", "storage_secret": ""}])
def test_dev_leaves_unset_secrets_to_be_generated(given: dict[str, str]) -> None:
    settings = load(env="dev", **given)

    assert settings.secret_key is None
    assert settings.storage_secret is None


def test_dev_secrets_live_beside_the_sqlite_file_or_in_the_data_dir() -> None:
    assert load(database_url="sqlite:///db/x.db").data_directory == Path("db")
    assert load(database_url="postgresql+psycopg://u@h/d").data_directory == Path(
        "data"
    )
    assert load(
        database_url="sqlite:///db/x.db", data_dir="/srv/itemhub"
    ).data_directory == Path("/srv/itemhub")


def test_secrets_and_the_database_url_stay_out_of_the_settings_repr() -> None:
    settings = load(
        secret_key="k" * 40,
        storage_secret="t" * 40,
        database_url="postgresql+psycopg://app:hunter2hunter2@db/itemhub",
    )

    assert "k" * 40 not in repr(settings)
    assert "t" * 40 not in repr(settings)
    assert "hunter2hunter2" not in repr(settings)


# --- the database URL ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user@host/db",
        "itemhub.db",
        "sqlite://",
        "sqlite://itemhub.db",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///data/",
        "postgresql+psycopg://user@host",
        "postgresql+psycopg://user@host/",
        "postgresql://host:5432",
        "postgresql+psycopg:///itemhub",
        "postgresql+psycopg://host:port/itemhub",
    ],
)
def test_a_malformed_database_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="ITEMHUB_DATABASE_URL"):
        parse_database_url(url)
    with pytest.raises(ConfigError, match="ITEMHUB_DATABASE_URL"):
        load(database_url=url)


def test_the_config_error_says_what_a_postgres_url_lacks() -> None:
    with pytest.raises(ConfigError, match="without database"):
        parse_database_url("postgresql+psycopg://host/")
    with pytest.raises(ConfigError, match="without host"):
        parse_database_url("postgresql+psycopg:///itemhub")


def test_the_default_sqlite_read_models_sit_beside_the_events() -> None:
    target = load().database

    assert target.kind == "sqlite"
    assert target.events_path == Path("data/itemhub.db")
    assert target.read_path == Path("data/itemhub-read.db")
    assert target.read_url == "sqlite:///data/itemhub-read.db"


@pytest.mark.parametrize(
    ("url", "events", "read"),
    [
        (
            "sqlite:////var/lib/itemhub/events.sqlite3",
            "/var/lib/itemhub/events.sqlite3",
            "/var/lib/itemhub/events-read.sqlite3",
        ),
        ("sqlite:///store/itemhub", "store/itemhub", "store/itemhub-read.db"),
        ("sqlite:///itemhub.db", "itemhub.db", "itemhub-read.db"),
    ],
    ids=["absolute", "no-suffix", "bare-file"],
)
def test_the_sqlite_read_model_file_is_named_after_the_events_file(
    url: str, events: str, read: str
) -> None:
    target = parse_database_url(url)

    assert (target.events_path, target.read_path) == (Path(events), Path(read))
    assert make_url(target.read_url).database == read


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql", "postgres"])
def test_postgres_url_is_parsed_into_its_parts(scheme: str) -> None:
    target = parse_database_url(f"{scheme}://app:s3cret@db.example.com:6543/itemhub")

    assert target == DatabaseTarget(
        kind="postgres",
        host="db.example.com",
        port=6543,
        user="app",
        password="s3cret",
        dbname="itemhub",
    )
    assert target.describe == "PostgreSQL db.example.com:6543/itemhub"


def test_postgres_url_defaults_to_port_5432_user_postgres_and_no_password() -> None:
    target = parse_database_url("postgresql+psycopg://db/itemhub")

    assert (target.host, target.port, target.user, target.password) == (
        "db",
        5432,
        "postgres",
        "",
    )
    assert target.read_url == "postgresql+psycopg://postgres@db:5432/itemhub"


def test_postgres_credentials_are_percent_decoded() -> None:
    target = parse_database_url("postgresql+psycopg://m%C3%BCller:p%40ss%2Fw%3Ard@db/x")

    assert (target.user, target.password) == ("müller", "p@ss/w:rd")


def test_the_postgres_read_url_points_at_the_same_database() -> None:
    target = parse_database_url("postgresql+psycopg://app:s3cret@db:6543/itemhub")

    url = make_url(target.read_url)

    assert (url.drivername, url.username, url.password) == (
        "postgresql+psycopg",
        "app",
        "s3cret",
    )
    assert (url.host, url.port, url.database) == ("db", 6543, "itemhub")


def test_the_postgres_read_url_keeps_a_password_with_url_characters() -> None:
    target = parse_database_url("postgresql+psycopg://app:p%40ss%2Fw%3Ard@db/itemhub")

    url = make_url(target.read_url)

    assert (url.password, url.host, url.database) == ("p@ss/w:rd", "db", "itemhub")


def test_the_description_of_a_postgres_target_has_no_credentials() -> None:
    target = parse_database_url("postgresql+psycopg://app:hunter2hunter2@db/itemhub")

    assert "hunter2hunter2" not in target.describe
    assert "app" not in target.describe


def test_the_database_target_repr_has_no_password() -> None:
    target = load(
        database_url="postgresql+psycopg://app:hunter2hunter2@db/itemhub"
    ).database

    assert "hunter2hunter2" not in repr(target)
