"""Settings: one pydantic-settings model, prefix ``ITEMHUB_``, ``.env`` supported."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, unquote, urlsplit

from limits import parse as parse_rate
from psycopg.conninfo import make_conninfo
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A published default secret signs nothing: anyone could forge tokens with it.
DEFAULT_SECRET = "changethis"
MIN_SECRET_LENGTH = 32
SECRET_NAMES = ("secret_key", "storage_secret")
DEFAULT_COLUMNS = ("Backlog", "Todo", "Doing", "Done")
# Always allowed: only a browser on this machine sends them (container health
# checks do too), never a page whose name was rebound to a loopback address.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
HOST_PATTERN = re.compile(r"\*|(\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


class ConfigError(Exception):
    """A setting is unusable; the message is one line fit for an operator."""


class Settings(BaseSettings):
    """Every knob of ItemHub, read from ``ITEMHUB_*`` variables or ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="ITEMHUB_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["dev", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # repr=False: a PostgreSQL URL may hold a password; reprs end up in logs.
    database_url: str = Field(default="sqlite:///./data/itemhub.db", repr=False)
    # Unset: prod refuses to start; dev generates them once into data_dir.
    secret_key: SecretStr | None = None
    storage_secret: SecretStr | None = None
    # Where dev keeps its generated secrets; unset: the SQLite file's
    # directory, or ./data with PostgreSQL.
    data_dir: Path | None = None
    first_superuser_email: str = "admin@example.com"
    first_superuser_password: SecretStr | None = None
    board_columns: Annotated[tuple[str, ...], NoDecode] = DEFAULT_COLUMNS
    # Single-instance mode creates tables at startup; several instances set this
    # off and run `itemhub migrate` once, because concurrent DDL races.
    auto_migrate: bool = True
    access_token_expire_minutes: int = Field(default=30, ge=1, le=24 * 60)
    ready_max_lag: int = Field(default=1000, ge=0)
    # Mark the UI session cookie Secure (https only); default: on in prod.
    secure_cookies: bool | None = None
    # A UI session ends after this long without a request or action...
    session_idle_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # ...and this long after login, however active it is.
    session_max_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    # Seconds between heartbeat comments on an idle /events/stream.
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    # Failed logins allowed per username and per client IP (a `limits` string).
    login_rate_limit: str = "5/minute"
    # Proxies whose X-Forwarded-For gives the client address (IPs or networks);
    # empty: nobody's, the peer address is the client (no proxy in front).
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = ()
    # Origins allowed to call the API from a browser; empty: no CORS at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # NiceGUI's per-user storage (the UI session) in Redis, shared by every
    # instance behind a proxy; unset: JSON files in .nicegui/ (one instance).
    redis_url: SecretStr | None = None
    log_level: str = "INFO"
    # Serve /docs, /redoc and /openapi.json in prod too (dev always does).
    public_docs: bool = False
    # Host names (or *.domain, or *) requests may carry, besides the loopback
    # names: a DNS-rebound page sends its own name and is refused.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("board_columns", mode="before")
    @classmethod
    def _split_columns(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        return value

    @field_validator(
        "cors_origins", "allowed_hosts", "forwarded_allow_ips", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not HOST_PATTERN.fullmatch(host):
                raise ValueError(
                    "expected host names without scheme or port, such as "
                    f"items.example.com, *.example.com or *, got {host!r}"
                )
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                # Strict as uvicorn is: it takes a network with host bits set
                # (10.0.0.5/24) for a literal name and silently trusts nobody.
                ip_network(entry)
            except ValueError:
                # "*" too: anyone could then forge the address the login
                # throttle and the security log go by.
                raise ValueError(
                    f"expected the proxy's IP addresses or networks (no host bits "
                    f"set in a network, e.g. 10.0.0.0/24), got {entry!r}"
                ) from None
        return value

    @field_validator("login_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError("expected a rate such as 5/minute") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(
                "expected redis://host:port/db, rediss://… or unix://…, "
                f"got scheme {scheme or '(none)'!r}"
            )
        return value

    @field_validator("board_columns")
    @classmethod
    def _check_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not c for c in value):
            raise ValueError("needs at least one non-empty column name")
        if len({c.casefold() for c in value}) != len(value):
            raise ValueError("column names must be unique")
        return value

    @field_validator(*SECRET_NAMES)
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"must be a random value of at least {MIN_SECRET_LENGTH} characters, "
                "not a default or short one (unset it in dev to have one generated)"
            )
        return value

    @model_validator(mode="after")
    def _check_prod_secrets(self) -> Settings:
        if self.env == "prod":
            for name in SECRET_NAMES:
                if getattr(self, name) is None:
                    raise ValueError(
                        f"ITEMHUB_{name.upper()} must be set to a random value of at "
                        f"least {MIN_SECRET_LENGTH} characters in prod"
                    )
        return self

    @property
    def cookies_secure(self) -> bool:
        """Whether the session cookie is sent over https only."""
        return (
            self.env == "prod" if self.secure_cookies is None else self.secure_cookies
        )

    @property
    def trusted_hosts(self) -> list[str]:
        """Host names requests may carry: loopback, the bound one, ``allowed_hosts``."""
        bound = f"[{self.host}]" if ":" in self.host else self.host
        everywhere = self.host in {"0.0.0.0", "::"}
        return [*LOOPBACK_HOSTS, *([] if everywhere else [bound]), *self.allowed_hosts]

    @property
    def session_cookie(self) -> str:
        """The UI session cookie's name: ``__Host-`` locks a Secure one to this host."""
        return "__Host-session" if self.cookies_secure else "session"

    @property
    def database(self) -> DatabaseTarget:
        """The parsed ``database_url``."""
        return parse_database_url(self.database_url)

    @property
    def data_directory(self) -> Path:
        """Where generated dev secrets live: ``data_dir``, else beside the data."""
        if self.data_dir is not None:
            return self.data_dir
        events = self.database.events_path
        return events.parent if events is not None else Path("data")


def secret_value(secret: SecretStr | None) -> str:
    """A signing secret's value; ``Hub.open`` resolves unset dev secrets first."""
    if secret is None:
        raise RuntimeError("a signing secret is unset: use the hub's settings")
    return secret.get_secret_value()


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where the event store and the read models live."""

    kind: Literal["sqlite", "postgres"]
    events_path: Path | None = None
    read_path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = field(default="", repr=False)
    dbname: str = ""

    @property
    def read_url(self) -> str:
        """SQLAlchemy URL of the read-model database."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.read_path}"
        auth = quote(self.user, safe="") + (
            f":{quote(self.password, safe='')}" if self.password else ""
        )
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{self.dbname}"

    @property
    def conninfo(self) -> str:
        """A libpq connection string for a dedicated psycopg connection."""
        if self.kind != "postgres":
            raise ValueError("only a PostgreSQL target has a conninfo")
        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.dbname,
            connect_timeout=5,
        )

    @property
    def describe(self) -> str:
        """A human description without credentials."""
        if self.kind == "sqlite":
            return f"SQLite {self.events_path} (+ {self.read_path})"
        return f"PostgreSQL {self.host}:{self.port}/{self.dbname}"


def parse_database_url(url: str) -> DatabaseTarget:
    """Parse ``ITEMHUB_DATABASE_URL`` or raise ``ConfigError`` saying what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "sqlite":
        raw = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not raw or raw == ":memory:" or raw.endswith("/"):
            raise ConfigError(
                f"ITEMHUB_DATABASE_URL: expected sqlite:///path/to/file.db, got {url!r}"
            )
        events = Path(raw)
        # The read models live in their own file beside the events: sharing one
        # file made writers queue on SQLite's single write lock (p99 x10).
        read = events.with_name(f"{events.stem}-read{events.suffix or '.db'}")
        return DatabaseTarget(kind="sqlite", events_path=events, read_path=read)
    if scheme in {"postgresql", "postgresql+psycopg", "postgres"}:
        dbname = parts.path.lstrip("/")
        if not parts.hostname or not dbname:
            raise ConfigError(
                "ITEMHUB_DATABASE_URL: expected "
                "postgresql+psycopg://user[:password]@host[:port]/dbname, "
                f"got a URL without {'host' if not parts.hostname else 'database'}"
            )
        try:
            port = parts.port or 5432
        except ValueError as exc:
            raise ConfigError(f"ITEMHUB_DATABASE_URL: bad port ({exc})") from None
        return DatabaseTarget(
            kind="postgres",
            host=parts.hostname,
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
        )
    raise ConfigError(
        "ITEMHUB_DATABASE_URL must start with sqlite:/// or postgresql+psycopg://, "
        f"got scheme {scheme or '(none)'!r}"
    )


def load_settings(**overrides: object) -> Settings:
    """Build ``Settings`` from the environment, turning errors into ``ConfigError``."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        settings.database  # noqa: B018  (parse now: a bad URL must stop startup)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            field = ".".join(str(p) for p in first["loc"])
            message = f"ITEMHUB_{field.upper()}: {message}"
        raise ConfigError(message) from None
    return settings
