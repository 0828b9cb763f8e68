"""Errors a command answers with; each maps to one HTTP status and one UI notice."""

from __future__ import annotations

from uuid import UUID

from itemhub.events.errors import DomainError, InvalidInput, StoreUnavailable

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DomainError",
    "EmailUnavailable",
    "Forbidden",
    "InvalidInput",
    "InvalidState",
    "NotFound",
    "ReadModelUnavailable",
    "StoreUnavailable",
]


class NotFound(DomainError):
    """No such thing, or not one the actor may see (HTTP 404)."""


class Forbidden(DomainError):
    """The actor may not do this (HTTP 403)."""


class AlreadyExists(DomainError):
    """A unique thing (an e-mail) is taken (HTTP 409)."""


class EmailUnavailable(AlreadyExists):
    """A user may not take this address; why is not said (HTTP 409)."""


class InvalidState(DomainError):
    """The command does not fit the current state, e.g. archiving twice (HTTP 409)."""


class Conflict(DomainError):
    """The expected version is stale: someone else changed it first (HTTP 409)."""

    def __init__(
        self,
        *,
        aggregate_id: UUID,
        expected_version: int,
        current_version: int,
        changed_by: str,
    ) -> None:
        super().__init__(
            f"version {expected_version} is stale: {changed_by} changed it, "
            f"current version is {current_version}"
        )
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.changed_by = changed_by


class ReadModelUnavailable(DomainError):
    """The change was stored but a projection failed, so it cannot be shown yet."""
