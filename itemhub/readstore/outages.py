"""Store outages, and the one place they become the domain's ``StoreUnavailable``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import eventsourcing.persistence as es_persistence
import psycopg
import redis.exceptions
import sqlalchemy.exc

from itemhub.events.errors import StoreUnavailable

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type[Any])

# Errors that mean "the database cannot answer now" (down, restarting, out of
# connections), not "this request is wrong": clients should retry.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    es_persistence.OperationalError,
    es_persistence.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
)
# The shared session store and login counts (Redis, several instances) cannot be read.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@contextmanager
def outages_translated() -> Iterator[None]:
    """Raise ``StoreUnavailable`` for an outage of the database or of Redis."""
    try:
        yield
    except DATABASE_UNAVAILABLE as exc:
        raise StoreUnavailable("database", _reason(exc)) from exc
    except REDIS_UNAVAILABLE as exc:
        raise StoreUnavailable("shared session store", _reason(exc)) from exc


def translating(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function so its outages surface as ``StoreUnavailable``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with outages_translated():
            return fn(*args, **kwargs)

    return wrapper


def translating_outages(cls: C) -> C:
    """Translate the outages of every public method a class defines itself."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        if inspect.isgeneratorfunction(member):
            setattr(cls, name, _translating_generator(member))
        else:
            setattr(cls, name, translating(member))
    return cls


def _translating_generator(fn: Callable[..., Any]) -> Callable[..., Any]:
    # A generator runs its body only while it is iterated: translate there.
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with outages_translated():
            yield from fn(*args, **kwargs)

    return wrapper
