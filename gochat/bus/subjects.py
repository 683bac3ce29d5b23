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
