"""Settings: one pydantic-settings model, prefix ``ITEMHUB_``, ``.env`` supported."""

from __future__ import annotations

from dataclasses import dataclass, field
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

DEFAULT_SECRET = "changethis"
MIN_SECRET_LENGTH = 32
DEFAULT_COLUMNS = ("Backlog", "Todo", "Doing", "Done")


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
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    storage_secret: SecretStr = SecretStr(DEFAULT_SECRET)
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
    # Origins allowed to call the API from a browser; empty: no CORS at all.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # NiceGUI's per-user storage (the UI session) in Redis, shared by every
    # instance behind a proxy; unset: JSON files in .nicegui/ (one instance).
    redis_url: SecretStr | None = None
    log_level: str = "INFO"

    @field_validator("board_columns", mode="before")
    @classmethod
    def _split_columns(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
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

    @model_validator(mode="after")
    def _check_prod_secrets(self) -> Settings:
        if self.env == "prod":
            for name in ("secret_key", "storage_secret"):
                secret = getattr(self, name).get_secret_value()
                if secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH:
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
    def session_cookie(self) -> str:
        """The UI session cookie's name: ``__Host-`` locks a Secure one to this host."""
        return "__Host-session" if self.cookies_secure else "session"

    @property
    def database(self) -> DatabaseTarget:
        """The parsed ``database_url``."""
        return parse_database_url(self.database_url)


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
