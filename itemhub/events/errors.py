"""Errors the domain raises before any event exists."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a command can answer with."""


class InvalidInput(DomainError):
    """A field value is not acceptable (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StoreUnavailable(DomainError):
    """A store (the database, the shared session store) cannot answer now: retry."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(f"the {store} is unavailable: {reason}")
        self.store = store
        self.reason = reason


def check_text(field: str, value: str, *, multiline: bool = False) -> None:
    """Refuse control characters (NUL and friends): no database can show them."""
    allowed = {"\n", "\r", "\t"} if multiline else set()
    if any((ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed for c in value):
        raise InvalidInput(field, "must not contain control characters")
