"""SFU join tokens: short-lived HS256 JWTs (PyJWT) the API issues on `joinVoice` and the SFU
verifies on the signaling socket's join. A token names one user in one channel on one SFU, with
the media rights that user held when it was issued; later changes (server mute, a lost
permission) reach the SFU as bus commands, not through the token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from gochat.errors import Unauthenticated
from gochat.ids import Snowflake, parse_id

_ALGORITHM = "HS256"
_TYPE = "sfu"
TOKEN_TTL_SECONDS = 120


@dataclass(frozen=True, slots=True)
class VoiceGrant:
    user_id: Snowflake
    guild_id: Snowflake
    channel_id: Snowflake
    sfu_id: str
    session_id: Snowflake  # one voice session (a join); a rejoin gets a new one
    can_speak: bool
    can_video: bool
    server_mute: bool
    server_deaf: bool
    expires_at: datetime


class VoiceTokens:
    def __init__(self, *, secret: str, issuer: str, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        self._secret = secret
        self._issuer = issuer
        self._ttl = timedelta(seconds=ttl_seconds)

    def issue(
        self,
        *,
        user_id: Snowflake,
        guild_id: Snowflake,
        channel_id: Snowflake,
        sfu_id: str,
        session_id: Snowflake,
        can_speak: bool,
        can_video: bool,
        server_mute: bool = False,
        server_deaf: bool = False,
        now: datetime | None = None,
    ) -> tuple[str, VoiceGrant]:
        issued = now or datetime.now(UTC)
        expires_at = (issued + self._ttl).replace(microsecond=0)
        grant = VoiceGrant(
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            sfu_id=sfu_id,
            session_id=session_id,
            can_speak=can_speak,
            can_video=can_video,
            server_mute=server_mute,
            server_deaf=server_deaf,
            expires_at=expires_at,
        )
        claims = {
            "iss": self._issuer,
            "aud": f"sfu:{sfu_id}",
            "typ": _TYPE,
            "sub": str(user_id),
            "gid": str(guild_id),
            "cid": str(channel_id),
            "vsid": str(session_id),
            "speak": can_speak,
            "video": can_video,
            "smute": server_mute,
            "sdeaf": server_deaf,
            "iat": int(issued.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM), grant

    def verify(self, token: str, *, sfu_id: str) -> VoiceGrant:
        """The grant of a valid token for this SFU; Unauthenticated for anything else
        (expired, forged, alg=none, another SFU's token, an access token)."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                audience=f"sfu:{sfu_id}",
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
            if claims.get("typ") != _TYPE:
                raise Unauthenticated("not an SFU token")
            return VoiceGrant(
                user_id=_id(claims["sub"]),
                guild_id=_id(claims["gid"]),
                channel_id=_id(claims["cid"]),
                sfu_id=sfu_id,
                session_id=_id(claims["vsid"]),
                can_speak=bool(claims["speak"]),
                can_video=bool(claims["video"]),
                server_mute=bool(claims["smute"]),
                server_deaf=bool(claims["sdeaf"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise Unauthenticated("invalid SFU token") from exc


def _id(raw: object) -> Snowflake:
    value = parse_id(raw) if isinstance(raw, str) else None
    if value is None:
        raise ValueError("not an id")
    return value
