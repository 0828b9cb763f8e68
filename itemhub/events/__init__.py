"""Aggregates and their past-tense events; the only package that knows the domain."""

from itemhub.events.base import (
    NAMESPACE,
    SYSTEM_ACTOR_ID,
    Channel,
    EventMeta,
    HubAggregate,
    HubEvent,
)
from itemhub.events.errors import DomainError, InvalidInput
from itemhub.events.item import Item
from itemhub.events.user import EmailClaim, SuperuserRoster, User, normalise_email

__all__ = [
    "NAMESPACE",
    "SYSTEM_ACTOR_ID",
    "Channel",
    "DomainError",
    "EmailClaim",
    "EventMeta",
    "HubAggregate",
    "HubEvent",
    "InvalidInput",
    "Item",
    "SuperuserRoster",
    "User",
    "normalise_email",
]
