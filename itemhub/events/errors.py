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
