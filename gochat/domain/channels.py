"""Guild channels (text, voice, categories), their order, and permission overwrites."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gochat.bus import subjects
from gochat.domain import validation
from gochat.domain.changes import ChangeKit, Pending
from gochat.domain.events import (
    ChannelCreated,
    ChannelDeleted,
    ChannelsReordered,
    ChannelUpdated,
    Event,
    OverwriteDeleted,
    OverwriteUpdated,
    ThreadDeleted,
)
from gochat.domain.guild_access import GuildView
from gochat.domain.permissions import MEMBER, ROLE, Overwrite, Permission, parse_mask
from gochat.domain.records import Channel, ChannelRemoval, ChannelType, Viewer
from gochat.errors import BadUserInput, NotFound
from gochat.ids import Snowflake

NAME_MAX = 100
TOPIC_MAX = 1024
USER_LIMIT_MAX = 99
_TEXT_NAME = re.compile(r"^[\w-]{1,100}$")
GUILD_TYPES = (ChannelType.TEXT, ChannelType.VOICE, ChannelType.CATEGORY)
SLOWMODE_MAX_SECONDS = 21_600  # 6 hours
AUTO_ARCHIVE_MINUTES = (60, 1440, 4320, 10080)  # 1 hour, 1 day, 3 days, 1 week


def auto_archive_minutes(value: int, *, field: str) -> int:
    if value not in AUTO_ARCHIVE_MINUTES:
        choices = ", ".join(str(m) for m in AUTO_ARCHIVE_MINUTES)
        raise BadUserInput(f"auto-archive is one of {choices} minutes", field=field)
    return value


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """Text channel settings; None leaves one as it is (or at its default on creation)."""

    rate_limit_per_user: int | None = None
    nsfw: bool | None = None
    default_auto_archive_minutes: int | None = None

    def values(self, kind: ChannelType) -> dict[str, object]:
        """The validated column values these rules set."""
        found: dict[str, object] = {}
        if self.rate_limit_per_user is not None:
            if not 0 <= self.rate_limit_per_user <= SLOWMODE_MAX_SECONDS:
                raise BadUserInput(
                    f"slowmode is 0 to {SLOWMODE_MAX_SECONDS} seconds", field="rateLimitPerUser"
                )
            found["rate_limit_per_user"] = self.rate_limit_per_user
        if self.nsfw is not None:
            found["nsfw"] = self.nsfw
        if self.default_auto_archive_minutes is not None:
            found["default_auto_archive_minutes"] = auto_archive_minutes(
                self.default_auto_archive_minutes, field="defaultAutoArchiveMinutes"
            )
        if found and kind != ChannelType.TEXT:
            field = {
                "rate_limit_per_user": "rateLimitPerUser",
                "nsfw": "nsfw",
                "default_auto_archive_minutes": "defaultAutoArchiveMinutes",
            }[next(iter(found))]
            raise BadUserInput("only text channels have these settings", field=field)
        return found


@dataclass(frozen=True, slots=True)
class Placement:
    channel_id: Snowflake
    parent_id: Snowflake | None
    position: int


def channel_name(raw: str, kind: ChannelType) -> str:
    """Text channels are lower-case with dashes for spaces; others keep what was typed."""
    if kind == ChannelType.TEXT:
        value = re.sub(r"\s+", "-", raw.strip().lower())
        if not _TEXT_NAME.match(value):
            raise BadUserInput(
                "a text channel name has 1-100 letters, digits, '-' or '_'", field="name"
            )
        return value
    return validation.name(raw, field="name", max_length=NAME_MAX)


def _not_thread(channel: Channel) -> None:
    if channel.is_thread:
        raise BadUserInput(
            "a thread changes through updateThread and deleteThread, and takes its parent's "
            "permissions",
            field="channelId",
        )


class ChannelService:
    def __init__(self, kit: ChangeKit, *, voice_regions: Sequence[str]) -> None:
        self._kit = kit
        self._regions = tuple(voice_regions)

    async def access(self, viewer: Viewer, channel_id: Snowflake) -> tuple[GuildView, Channel]:
        return await self._kit.access.view_channel(viewer, channel_id)

    async def create(
        self,
        viewer: Viewer,
        guild_id: Snowflake,
        *,
        kind: ChannelType,
        name: str,
        topic: str | None,
        parent_id: Snowflake | None,
        private: bool,
        voice_region: str | None,
        rules: ChannelRules = ChannelRules(),
        user_limit: int | None = None,
    ) -> Channel:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_CHANNELS, "create channels")
        if kind not in GUILD_TYPES:
            raise BadUserInput("guild channels are TEXT, VOICE or CATEGORY", field="type")
        overwrites: list[Overwrite] = []
        if parent_id is not None:
            if kind == ChannelType.CATEGORY:
                raise BadUserInput("a category cannot have a parent", field="parentId")
            parent = view.channel(parent_id)
            if parent.type != ChannelType.CATEGORY:
                raise BadUserInput("the parent must be a category", field="parentId")
        kit = self._kit
        channel_id = kit.ids.next_id()
        if parent_id is not None:
            # A new channel in a category starts synced: it copies the category's overwrites.
            overwrites = [
                Overwrite(channel_id, ow.target_type, ow.target_id, ow.allow, ow.deny)
                for ow in view.channel_overwrites(parent_id)
            ]
        siblings = [c.position for c in view.data.channels.values() if c.parent_id == parent_id]
        channel = Channel(
            id=channel_id,
            guild_id=guild_id,
            type=kind,
            name=channel_name(name, kind),
            topic=self._topic(topic or ""),
            parent_id=parent_id,
            position=max(siblings, default=-1) + 1,
            private=private,
            voice_region=self._region(voice_region, kind),
            created_at=kit.now().replace(microsecond=0),
            user_limit=self._user_limit(user_limit, kind),
        )
        channel = replace(channel, **rules.values(kind))  # type: ignore[arg-type]
        pending = Pending()
        created = await kit.store.create_channel(
            channel,
            overwrites=overwrites,
            events=kit.guild_events(
                pending, guild_id, lambda c, eid: ChannelCreated(event_id=eid, channel=c)
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="CHANNEL_CREATE",
                target_type="channel",
                target_id=channel_id,
                changes={"name": [None, channel.name], "type": [None, channel.type.name]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return created

    async def update(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        name: str | None = None,
        topic: str | None = None,
        parent_id: Snowflake | None = None,
        clear_parent: bool = False,
        private: bool | None = None,
        voice_region: str | None = None,
        user_limit: int | None = None,
        sync_with_parent: bool = False,
        rules: ChannelRules = ChannelRules(),
    ) -> Channel:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        _not_thread(channel)
        view.require_in(channel, Permission.MANAGE_CHANNELS, "change this channel")
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = channel_name(name, channel.type)
        if topic is not None:
            values["topic"] = self._topic(topic)
        if clear_parent:
            values["parent_id"] = None
        elif parent_id is not None:
            if channel.type == ChannelType.CATEGORY:
                raise BadUserInput("a category cannot have a parent", field="parentId")
            if view.channel(parent_id).type != ChannelType.CATEGORY:
                raise BadUserInput("the parent must be a category", field="parentId")
            values["parent_id"] = parent_id
        if private is not None:
            values["private"] = private
        if voice_region is not None:
            values["voice_region"] = self._region(voice_region, channel.type)
        values.update(rules.values(channel.type))
        if user_limit is not None:
            values["user_limit"] = self._user_limit(user_limit, channel.type)
        replace_overwrites = None
        if sync_with_parent:
            parent = values.get("parent_id", channel.parent_id)
            if not isinstance(parent, int):
                raise BadUserInput("only a channel in a category can sync", field="syncWithParent")
            replace_overwrites = [
                Overwrite(channel_id, ow.target_type, ow.target_id, ow.allow, ow.deny)
                for ow in view.channel_overwrites(Snowflake(parent))
            ]
        if not values and replace_overwrites is None:
            return channel
        kit = self._kit
        pending = Pending()
        changes = {k: [getattr(channel, k), v] for k, v in values.items()}
        if replace_overwrites is not None:
            changes["syncedWithParent"] = [False, True]
        updated = await kit.store.update_channel(
            channel.guild_id,
            channel_id,
            values,
            replace_overwrites=replace_overwrites,
            events=kit.guild_events(
                pending, channel.guild_id, lambda c, eid: ChannelUpdated(event_id=eid, channel=c)
            ),
            audit=kit.audit(
                guild_id=channel.guild_id,
                actor_id=viewer.user_id,
                action="CHANNEL_UPDATE",
                target_type="channel",
                target_id=channel_id,
                changes=changes,
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return updated

    async def delete(self, viewer: Viewer, channel_id: Snowflake) -> Channel:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        _not_thread(channel)
        view.require_in(channel, Permission.MANAGE_CHANNELS, "delete this channel")
        kit = self._kit
        pending = Pending()
        subject = subjects.guild(channel.guild_id)

        def removed(r: ChannelRemoval, first_id: Snowflake) -> list[tuple[Event, list[str]]]:
            # Each thread first: whoever could see the parent is judged while it still exists.
            event_ids = [first_id, *(kit.ids.next_id() for _ in r.threads)]
            found: list[tuple[Event, list[str]]] = [
                (ThreadDeleted(event_id=eid, thread=t), [subject])
                for eid, t in zip(event_ids, r.threads, strict=False)
            ]
            found.append((ChannelDeleted(event_id=event_ids[-1], channel=r.channel), [subject]))
            return found

        removal = await kit.store.delete_channel(
            channel.guild_id,
            channel_id,
            events=kit.events(pending, removed),
            audit=kit.audit(
                guild_id=channel.guild_id,
                actor_id=viewer.user_id,
                action="CHANNEL_DELETE",
                target_type="channel",
                target_id=channel_id,
                changes={"name": [channel.name, None]},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return removal.channel

    async def reorder(
        self, viewer: Viewer, guild_id: Snowflake, placements: Sequence[Placement]
    ) -> list[Channel]:
        view = await self._kit.access.view(viewer, guild_id)
        view.require(Permission.MANAGE_CHANNELS, "reorder channels")
        if not placements:
            raise BadUserInput("give at least one channel", field="channels")
        seen: set[Snowflake] = set()
        for p in placements:
            if p.channel_id in seen:
                raise BadUserInput("a channel appears twice", field="channels")
            seen.add(p.channel_id)
            channel = view.data.channels.get(p.channel_id)
            if channel is None or channel.is_thread:
                raise NotFound("channel not found")
            if p.position < 0:
                raise BadUserInput("positions start at 0", field="channels")
            if p.parent_id is not None:
                if channel.type == ChannelType.CATEGORY:
                    raise BadUserInput("a category cannot have a parent", field="channels")
                parent = view.data.channels.get(p.parent_id)
                if parent is None or parent.type != ChannelType.CATEGORY:
                    raise BadUserInput("a parent must be a category of the guild", field="channels")
        kit = self._kit
        pending = Pending()
        channels = await kit.store.set_channel_positions(
            guild_id,
            [(p.channel_id, p.parent_id, p.position) for p in placements],
            events=kit.guild_events(
                pending,
                guild_id,
                lambda cs, eid: ChannelsReordered(
                    event_id=eid, guild_id=guild_id, channels=tuple(cs)
                ),
            ),
            audit=kit.audit(
                guild_id=guild_id,
                actor_id=viewer.user_id,
                action="CHANNELS_REORDER",
                target_type="guild",
                target_id=guild_id,
                changes={
                    str(p.channel_id): {
                        "parentId": str(p.parent_id) if p.parent_id else None,
                        "position": p.position,
                    }
                    for p in placements
                },
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return sorted(channels, key=lambda c: (c.position, c.id))

    async def set_overwrite(
        self,
        viewer: Viewer,
        channel_id: Snowflake,
        *,
        target_type: str,
        target_id: Snowflake,
        allow: int,
        deny: int,
    ) -> Overwrite:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        _not_thread(channel)
        view.require_in(channel, Permission.MANAGE_ROLES, "change channel permissions")
        try:
            allow_mask, deny_mask = parse_mask(allow), parse_mask(deny)
        except ValueError as exc:
            raise BadUserInput(
                str(exc), field="allow" if allow < 0 or allow >> 29 else "deny"
            ) from exc
        if allow_mask & deny_mask:
            raise BadUserInput("a permission cannot be both allowed and denied", field="deny")
        view.require_grantable(allow_mask | deny_mask)
        if target_type == ROLE:
            view.role(target_id)
        elif target_type == MEMBER:
            if await self._kit.store.get_member(channel.guild_id, target_id) is None:
                raise NotFound("member not found")
        else:
            raise BadUserInput("target type is ROLE or MEMBER", field="targetType")
        overwrite = Overwrite(channel_id, target_type, target_id, int(allow_mask), int(deny_mask))
        kit = self._kit
        pending = Pending()
        saved = await kit.store.put_overwrite(
            channel.guild_id,
            overwrite,
            events=kit.guild_events(
                pending,
                channel.guild_id,
                lambda o, eid: OverwriteUpdated(
                    event_id=eid, guild_id=channel.guild_id, overwrite=o
                ),
            ),
            audit=kit.audit(
                guild_id=channel.guild_id,
                actor_id=viewer.user_id,
                action="OVERWRITE_SET",
                target_type="channel",
                target_id=channel_id,
                changes={
                    "targetType": target_type,
                    "targetId": str(target_id),
                    "allow": int(allow_mask),
                    "deny": int(deny_mask),
                },
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return saved

    async def delete_overwrite(
        self, viewer: Viewer, channel_id: Snowflake, *, target_type: str, target_id: Snowflake
    ) -> Overwrite:
        view, channel = await self._kit.access.view_channel(viewer, channel_id)
        _not_thread(channel)
        view.require_in(channel, Permission.MANAGE_ROLES, "change channel permissions")
        kit = self._kit
        pending = Pending()
        deleted = await kit.store.delete_overwrite(
            channel.guild_id,
            channel_id,
            target_type,
            target_id,
            events=kit.guild_events(
                pending,
                channel.guild_id,
                lambda o, eid: OverwriteDeleted(
                    event_id=eid, guild_id=channel.guild_id, overwrite=o
                ),
            ),
            audit=kit.audit(
                guild_id=channel.guild_id,
                actor_id=viewer.user_id,
                action="OVERWRITE_DELETE",
                target_type="channel",
                target_id=channel_id,
                changes={"targetType": target_type, "targetId": str(target_id)},
            ),
        )
        kit.access.forget(viewer)
        await kit.publish(pending)
        return deleted

    def _topic(self, topic: str) -> str:
        value = topic.strip()
        if len(value) > TOPIC_MAX:
            raise BadUserInput(f"a topic has at most {TOPIC_MAX} characters", field="topic")
        return value

    def _user_limit(self, limit: int | None, kind: ChannelType) -> int:
        if limit is None:
            return 0
        if kind != ChannelType.VOICE and limit:
            raise BadUserInput("only voice channels have a user limit", field="userLimit")
        if not 0 <= limit <= USER_LIMIT_MAX:
            raise BadUserInput(f"a user limit is 0 (none) to {USER_LIMIT_MAX}", field="userLimit")
        return limit

    def _region(self, region: str | None, kind: ChannelType) -> str | None:
        if kind != ChannelType.VOICE:
            if region is not None:
                raise BadUserInput("only voice channels have a region", field="voiceRegion")
            return None
        if region is None:
            return self._regions[0]
        if region not in self._regions:
            raise BadUserInput(
                f"unknown voice region; known: {', '.join(self._regions)}", field="voiceRegion"
            )
        return region
