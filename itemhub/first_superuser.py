"""The first superuser: created once from settings, idempotent and race-safe."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING
from uuid import uuid5

from itemhub.bootstrap import StartupError
from itemhub.commands import (
    SYSTEM_ACTOR_ID,
    AlreadyExists,
    Channel,
    Context,
    RegisterUser,
)
from itemhub.events import NAMESPACE, EmailClaim, normalise_email

if TYPE_CHECKING:
    from itemhub.runtime import Hub

log = logging.getLogger(__name__)


def first_superuser_missing(hub: Hub) -> bool:
    """True while nobody holds the configured first superuser's address."""
    email = normalise_email(hub.settings.first_superuser_email)
    claim = hub.bus.get(EmailClaim, EmailClaim.id_for(email))
    return claim is None or claim.holder_id is None


def check_bootstrap(hub: Hub) -> None:
    """In prod, refuse to start when the first superuser would need a password."""
    settings = hub.settings
    if (
        settings.env == "prod"
        and not settings.first_superuser_password
        and first_superuser_missing(hub)
    ):
        raise StartupError(
            "ITEMHUB_FIRST_SUPERUSER_PASSWORD must be set in prod to create "
            f"the first superuser {settings.first_superuser_email}"
        )


def ensure_first_superuser(hub: Hub) -> str | None:
    """Create the configured first superuser if missing (idempotent, race-safe).

    The command id derives from the address (the user id is random), so two
    processes starting at once send the same command: the address's claim lets
    only one of them append, and the other gets its result as a replay.
    Returns the password when one was generated for a user created just now.
    """
    settings = hub.settings
    email = normalise_email(settings.first_superuser_email)
    if not first_superuser_missing(hub):
        return None
    secret = settings.first_superuser_password
    password = secret.get_secret_value() if secret else ""
    generated = None
    if not password:
        if settings.env == "prod":
            raise StartupError(
                "ITEMHUB_FIRST_SUPERUSER_PASSWORD must be set in prod to create "
                f"the first superuser {email}"
            )
        password = generated = secrets.token_urlsafe(12)
    command = RegisterUser(
        command_id=uuid5(NAMESPACE, f"first-superuser:{email}"),
        email=email,
        password=password,
        full_name="Administrator",
        is_superuser=True,
    )
    try:
        result = hub.bus.handle(
            command, Context(actor_id=SYSTEM_ACTOR_ID, channel=Channel.SYSTEM)
        )
    except AlreadyExists:
        return None
    log.info("created the first superuser %s", email)
    return None if result.replayed else generated
