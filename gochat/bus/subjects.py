"""Every bus subject GoChat uses is built here, so producers and consumers agree.

Durable families (`user`, `guild`, `channel`, `session`) carry domain events and are recorded by the
JetStream stream for durable consumers; ephemeral families (`presence`, `typing`, `voice`) only
fan out to whoever listens at the moment and are never stored.
"""

from __future__ import annotations

PREFIX = "gochat"

DURABLE_FAMILIES = ("user", "guild", "channel", "session")
EPHEMERAL_FAMILIES = ("presence", "typing", "voice")


def user(user_id: int) -> str:
    """Events for one user's own devices: profile, settings, sessions, friends, read states."""
    return f"{PREFIX}.user.{user_id}"


def guild(guild_id: int) -> str:
    """Everything that happens in a guild, its channels' messages included, in one ordered
    stream: a permission change and the next message reach every process in that order."""
    return f"{PREFIX}.guild.{guild_id}"


def channel(channel_id: int) -> str:
    """A DM or group DM: messages and reactions for its participants."""
    return f"{PREFIX}.channel.{channel_id}"


def sessions_revoked() -> str:
    """Every SessionRevoked, whoever's: each API process listens here once, instead of once
    per signed-in user, to close the sockets of sessions that ended."""
    return f"{PREFIX}.session.revoked"


def message_channel(channel_id: int, guild_id: int | None) -> str:
    """Where a channel's message events go: its guild's subject, or the DM's own."""
    return guild(guild_id) if guild_id is not None else channel(channel_id)


def presence(user_id: int) -> str:
    """A user's presence changes (ephemeral), for friends and `presence(userIds)`."""
    return f"{PREFIX}.presence.{user_id}"


def guild_presence(guild_id: int) -> str:
    """Presence changes of a guild's members (ephemeral), for co-members' event streams."""
    return f"{PREFIX}.presence.guild.{guild_id}"


def typing(channel_id: int) -> str:
    """Typing indicators in one channel (ephemeral)."""
    return f"{PREFIX}.typing.{channel_id}"


def voice(guild_id: int) -> str:
    """Voice states, speaking and voice server assignments in a guild (ephemeral), for its
    members' event streams and channel streams. (`gochat.voice.reports` and
    `gochat.voice.sfu.*`, between the API and SFUs, are built in `gochat.voice.signals`.)"""
    return f"{PREFIX}.voice.guild.{guild_id}"


def stream_subjects() -> list[str]:
    """What the durable stream records."""
    return [f"{PREFIX}.{family}.>" for family in DURABLE_FAMILIES]


def guild_id_of(subject: str) -> int | None:
    """The guild a guild subject is about, or None for other subjects."""
    prefix = f"{PREFIX}.guild."
    if subject.startswith(prefix) and subject[len(prefix) :].isdigit():
        return int(subject[len(prefix) :])
    return None


def user_id_of(subject: str) -> int | None:
    """The user a user subject is about, or None for other subjects."""
    prefix = f"{PREFIX}.user."
    if subject.startswith(prefix) and subject[len(prefix) :].isdigit():
        return int(subject[len(prefix) :])
    return None
