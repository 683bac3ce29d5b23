"""Access tokens (PyJWT, HS256) and opaque random tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from gochat.errors import Unauthenticated
from gochat.ids import Snowflake, parse_id

_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: Snowflake
    session_id: Snowflake
    expires_at: datetime


class AccessTokens:
    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        verified_cache_size: int = 10_000,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = timedelta(seconds=ttl_seconds)
        # Tokens already verified, with their claims: the signature of the same string
        # verifies the same way every time, so only the expiry is checked again. Every
        # request carries a token, and a client sends the same one until it expires.
        self._verified: dict[str, AccessClaims] = {}
        self._verified_max = verified_cache_size

    def issue(self, user_id: Snowflake, session_id: Snowflake) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires_at = now + self._ttl
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": "access",
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires_at.replace(
            microsecond=0
        )

    def verify(self, token: str) -> AccessClaims:
        """Claims of a valid access token; Unauthenticated for anything else (expired, forged,
        alg=none, wrong issuer or audience, a refresh token)."""
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at.timestamp() > time.time():
                return known
            del self._verified[token]
        claims = self._verify(token)
        verified = self._verified
        verified[token] = claims
        if len(verified) > self._verified_max:
            del verified[next(iter(verified))]
        return claims

    def _verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "sid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired; refresh the session") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid access token") from exc
        user_id = parse_id(str(claims.get("sub", "")))
        session_id = parse_id(str(claims.get("sid", "")))
        if claims.get("typ") != "access" or user_id is None or session_id is None:
            raise Unauthenticated("invalid access token")
        return AccessClaims(user_id, session_id, datetime.fromtimestamp(claims["exp"], tz=UTC))


def new_opaque_token() -> str:
    """256 bits of randomness, URL-safe, for refresh, confirmation and reset tokens."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps instead of the token: a leaked table grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()
