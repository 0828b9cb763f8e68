"""Short-lived HS256 access tokens, decoded strictly."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID

import jwt

from itemhub.projections import UserCredentials

ALGORITHM = "HS256"
AUDIENCE = "itemhub:api"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "aud", "ver"]


class InvalidToken(Exception):
    """The token is missing a claim, expired, forged or otherwise unusable."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says."""

    user_id: UUID
    token_version: int
    expires_at: dt.datetime


class TokenService:
    """Issues and checks access tokens."""

    def __init__(self, secret: str, lifetime: dt.timedelta) -> None:
        # A purpose-bound 32-byte key derived from the secret: HS256 wants at
        # least 32 bytes, and the UI session must not share the API's key.
        self._key = hmac.new(
            secret.encode(), b"itemhub-api-jwt", hashlib.sha256
        ).digest()
        self.lifetime = lifetime

    def issue(self, user: UserCredentials) -> str:
        """A token for a user at their current token version."""
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": str(user.id),
            "iat": now,
            "exp": now + self.lifetime,
            "aud": AUDIENCE,
            "ver": user.token_version,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        """Check signature, algorithm, audience and required claims."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": REQUIRED_CLAIMS},
            )
            version = claims["ver"]
            if not isinstance(version, int) or isinstance(version, bool):
                raise InvalidToken("bad token version")
            return TokenClaims(
                user_id=UUID(claims["sub"]),
                token_version=version,
                expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from None
