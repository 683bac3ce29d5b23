"""Every bus subject GoChat uses is built here, so producers and consumers agree."""

from __future__ import annotations

PREFIX = "gochat"


def user(user_id: int) -> str:
    """Events for one user's own devices: profile, settings, sessions, friends, read states."""
    return f"{PREFIX}.user.{user_id}"


def guild(guild_id: int) -> str:
    return f"{PREFIX}.guild.{guild_id}"


def channel(channel_id: int) -> str:
    return f"{PREFIX}.channel.{channel_id}"


def presence(user_id: int) -> str:
    return f"{PREFIX}.presence.{user_id}"


def guild_id_of(subject: str) -> int | None:
    """The guild a guild subject is about, or None for other subjects."""
    prefix = f"{PREFIX}.guild."
    if subject.startswith(prefix) and subject[len(prefix) :].isdigit():
        return int(subject[len(prefix) :])
    return None
