"""One write request: who sends which command, on which version, under which key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from itemhub.api.deps import CommandContext, CurrentUser, HubDep
from itemhub.api.errors import invalid
from itemhub.api.idempotency import run_idempotent
from itemhub.commands import Command, CommandResult, Context
from itemhub.projections import UserCredentials
from itemhub.runtime import Hub

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The version the change is based on, e.g. "3" (from the ETag)',
    ),
]
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def etag(version: int) -> str:
    """The ETag of a version."""
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version named by If-Match (None: last writer wins)."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise invalid("header", "If-Match", 'must be an ETag of this API, e.g. "3"')
    return int(found.group(1))


@dataclass(frozen=True, slots=True)
class Write:
    """A write request, ready to send its one command idempotently."""

    request: Request
    hub: Hub
    user: UserCredentials
    context: Context
    key: str | None
    expected_version: int | None = None

    def run(
        self,
        command: Callable[[UUID], Command],
        respond: Callable[[CommandResult], Response],
        body: BaseModel | None = None,
        *,
        through: Callable[[Callable[[], CommandResult]], CommandResult] | None = None,
    ) -> Response:
        """Send ``command(command_id)`` once per key and answer with ``respond``.

        ``through`` wraps the sending (e.g. a password or e-mail throttle).
        """

        def once(command_id: UUID | None) -> Response:
            message = command(command_id or uuid4())

            def send() -> CommandResult:
                return self.hub.commands.send(message, self.context)

            return respond(send() if through is None else through(send))

        return run_idempotent(
            self.request, self.hub, self.user.id, self.key, body, once
        )


async def write_request(
    request: Request,
    hub: HubDep,
    user: CurrentUser,
    context: CommandContext,
    idempotency_key: IdempotencyKey = None,
) -> Write:
    """A write by the current user, retried safely under its Idempotency-Key."""
    return Write(request, hub, user, context, idempotency_key)


async def versioned_write_request(
    write: Annotated[Write, Depends(write_request)], if_match: IfMatch = None
) -> Write:
    """A write that may name the version it is based on (If-Match)."""
    return replace(write, expected_version=expected_version(if_match))


WriteDep = Annotated[Write, Depends(write_request)]
VersionedWrite = Annotated[Write, Depends(versioned_write_request)]
