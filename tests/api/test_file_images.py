"""Images: previews made by the media worker (announced with MessageUpdated), avatars, guild
icons and banners and emoji images, on the local store and on SeaweedFS."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.test_live_delivery import live, next_of, subscribed
from tests.support.client import GraphQLClient
from tests.support.files import animated_gif, create_slot, jpeg, png, upload
from tests.support.guilds import make_world

CHANNEL = """subscription($c: ID!) { channelEvents(channelId: $c) {
  __typename
  ... on MessageCreated { message { id attachments { id previewUrl } } }
  ... on MessageUpdated { message { id attachments { id width height previewUrl } } }
} }"""
SEND = """mutation($c: ID!, $a: [ID!]) { sendMessage(input: {channelId: $c, attachments: $a}) {
  message { id attachments { id width height previewUrl } } } }"""
PROFILE = (
    """mutation($a: ID) { updateProfile(input: {avatarUploadId: $a}) { user { id avatarUrl } } }"""
)
GUILD = """mutation($g: ID!, $i: ID, $b: ID) { updateGuild(input: {guildId: $g, iconUploadId: $i,
  bannerUploadId: $b}) { guild { iconUrl bannerUrl } } }"""
EMOJI = """mutation($g: ID!, $n: String!, $u: ID) { createEmoji(input: {guildId: $g, name: $n,
  uploadId: $u}) { emoji { id animated big: url small: url(size: 32) } } }"""


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings_overrides(blobs: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if blobs == "s3":
        engine = request.getfixturevalue("seaweedfs_engine")
        return {"blobs_url": engine.url(f"t{uuid.uuid4().hex[:16]}")}
    return {}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as client:
        yield client


async def image_at(http: httpx.AsyncClient, url: str, *, webp: bool = True) -> Image.Image:
    """The image a URL serves; with `webp`, waits until it is the WebP preview."""
    async with asyncio.timeout(20):
        while True:
            response = await http.get(url)
            assert response.status_code == 200, response.text
            if not webp or response.headers["content-type"] == "image/webp":
                image = Image.open(io.BytesIO(response.content))
                image.load()
                return image
            await asyncio.sleep(0.05)


async def test_an_attachment_preview_arrives_with_message_updated(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    async with live(client, w.owner) as ws:
        op = await subscribed(ws, CHANNEL, {"c": w.text_id})
        upload_id = await upload(
            w.member, http, jpeg(1200, 900), content_type="image/jpeg", channel_id=w.text_id
        )
        sent = (await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})).ok()
        created = await next_of(ws, op, "MessageCreated")
        assert created["message"]["attachments"][0]["id"] == upload_id
        updated = await next_of(ws, op, "MessageUpdated")
    [attachment] = updated["message"]["attachments"]
    assert updated["message"]["id"] == sent["sendMessage"]["message"]["id"]
    assert (attachment["width"], attachment["height"]) == (1200, 900)
    assert attachment["previewUrl"].startswith("http")
    preview = await image_at(http, attachment["previewUrl"])
    assert preview.format == "WEBP"
    assert preview.width == 350
    assert preview.height in {262, 263}


async def test_previews_carry_no_exif_or_gps(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {2: (48.0, 51.0, 30.0)}  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (1, 2, 3)).save(out, "JPEG", exif=exif)
    upload_id = await upload(
        w.member, http, out.getvalue(), content_type="image/jpeg", channel_id=w.text_id
    )
    (await w.member.client.execute(SEND, {"c": w.text_id, "a": [upload_id]})).ok()
    async with asyncio.timeout(20):
        while True:
            found = (
                await w.member.client.execute(
                    "query($c: ID!) { channel(id: $c) { ... on TextChannel { messages(last: 1) { edges { node { attachments { previewUrl } } } } } } }",
                    {"c": w.text_id},
                )
            ).ok()
            url = found["channel"]["messages"]["edges"][0]["node"]["attachments"][0]["previewUrl"]
            if url:
                break
            await asyncio.sleep(0.05)
    preview = await image_at(http, url)
    assert not preview.getexif()
    assert "exif" not in preview.info


async def test_avatar_icon_banner_and_emoji_images(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    avatar = await upload(w.member, http, png(512, 512), content_type="image/png", purpose="AVATAR")
    user = (await w.member.client.execute(PROFILE, {"a": avatar})).ok()["updateProfile"]["user"]
    assert (await image_at(http, user["avatarUrl"])).size == (128, 128)

    icon = await upload(
        w.owner,
        http,
        png(300, 300),
        content_type="image/png",
        purpose="GUILD_ICON",
        guild_id=w.guild_id,
    )
    banner = await upload(
        w.owner,
        http,
        jpeg(1920, 480),
        content_type="image/jpeg",
        purpose="GUILD_BANNER",
        guild_id=w.guild_id,
    )
    guild = (await w.owner.client.execute(GUILD, {"g": w.guild_id, "i": icon, "b": banner})).ok()
    urls = guild["updateGuild"]["guild"]
    assert (await image_at(http, urls["iconUrl"])).size == (128, 128)
    assert (await image_at(http, urls["bannerUrl"])).size == (960, 240)

    image = await upload(
        w.owner,
        http,
        animated_gif(128, 128),
        content_type="image/gif",
        purpose="EMOJI",
        guild_id=w.guild_id,
    )
    emoji = (await w.owner.client.execute(EMOJI, {"g": w.guild_id, "n": "party", "u": image})).ok()
    made = emoji["createEmoji"]["emoji"]
    assert made["animated"] is True
    big = await image_at(http, made["big"])
    small = await image_at(http, made["small"])
    assert (big.size, small.size) == ((96, 96), (44, 44))
    assert getattr(big, "n_frames", 1) == 3


async def test_image_purposes_check_permission_place_and_kind(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    # Declared as an image but not one: refused when used, and nothing changes.
    fake = await upload(
        w.member, http, b"%PDF-1.4 nope", content_type="image/png", purpose="AVATAR"
    )
    (await w.member.client.execute(PROFILE, {"a": fake})).error("BAD_USER_INPUT")
    # Another user's avatar upload is not found.
    theirs = await upload(w.owner, http, png(), content_type="image/png", purpose="AVATAR")
    (await w.member.client.execute(PROFILE, {"a": theirs})).error("NOT_FOUND")
    # An attachment upload is not an avatar.
    attachment = await upload(w.member, http, png(), content_type="image/png", channel_id=w.text_id)
    (await w.member.client.execute(PROFILE, {"a": attachment})).error("NOT_FOUND")
    me = "query { me { avatarUrl } }"
    assert (await w.member.client.execute(me)).ok()["me"]["avatarUrl"] is None
    # Emoji images need CREATE_EXPRESSIONS; a text file is not an image.
    (
        await create_slot(
            w.member,
            filename="e.png",
            size=10,
            content_type="image/png",
            purpose="EMOJI",
            guild_id=w.guild_id,
        )
    ).error("FORBIDDEN")
    (
        await create_slot(
            w.owner,
            filename="e.txt",
            size=10,
            content_type="text/plain",
            purpose="EMOJI",
            guild_id=w.guild_id,
        )
    ).error("BAD_USER_INPUT")
    (
        await create_slot(
            w.owner,
            filename="e.png",
            size=300_000,
            content_type="image/png",
            purpose="EMOJI",
            guild_id=w.guild_id,
        )
    ).error("BAD_USER_INPUT")


async def test_custom_emoji_in_messages_and_reactions_carry_their_image(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    image = await upload(
        w.owner, http, png(128, 128), content_type="image/png", purpose="EMOJI", guild_id=w.guild_id
    )
    made = (await w.owner.client.execute(EMOJI, {"g": w.guild_id, "n": "wave", "u": image})).ok()
    emoji_id = made["createEmoji"]["emoji"]["id"]
    content = f"hi <:wave:{emoji_id}> <:ghost:123456> <a:wave:{emoji_id}>"
    send = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
      message { id customEmoji { id name animated url(size: 44) } } } }"""
    message = (await w.member.client.execute(send, {"c": w.text_id, "t": content})).ok()[
        "sendMessage"
    ]["message"]
    [shown] = message["customEmoji"]
    assert (shown["id"], shown["name"], shown["animated"]) == (emoji_id, "wave", False)
    assert (await image_at(http, shown["url"])).size == (44, 44)
    react = """mutation($m: ID!, $e: ID!) { addReaction(input: {messageId: $m,
      emoji: {customEmojiId: $e}}) { message { reactions { emoji { customEmojiId url } } } } }"""
    reactions = (await w.member.client.execute(react, {"m": message["id"], "e": emoji_id})).ok()
    [group] = reactions["addReaction"]["message"]["reactions"]
    assert group["emoji"]["customEmojiId"] == emoji_id
    assert (await image_at(http, group["emoji"]["url"])).size == (96, 96)


async def test_image_changes_arrive_with_their_urls_over_the_socket(
    client: GraphQLClient, http: httpx.AsyncClient
) -> None:
    w = await make_world(client)
    events = """subscription { events { __typename
      ... on UserUpdated { user { id avatarUrl } }
      ... on GuildUpdated { guild { id iconUrl bannerUrl } }
      ... on EmojiCreated { emoji { id url } } } }"""
    avatar = await upload(w.owner, http, png(), content_type="image/png", purpose="AVATAR")
    icon = await upload(
        w.owner, http, png(), content_type="image/png", purpose="GUILD_ICON", guild_id=w.guild_id
    )
    image = await upload(
        w.owner, http, png(), content_type="image/png", purpose="EMOJI", guild_id=w.guild_id
    )
    async with live(client, w.owner) as ws:
        op = await subscribed(ws, events)
        state = (await w.owner.client.execute(PROFILE, {"a": avatar})).ok()["updateProfile"]
        user = (await next_of(ws, op, "UserUpdated"))["user"]
        assert user == {"id": w.owner.id, "avatarUrl": state["user"]["avatarUrl"]}
        done = (await w.owner.client.execute(GUILD, {"g": w.guild_id, "i": icon})).ok()
        guild = (await next_of(ws, op, "GuildUpdated"))["guild"]
        assert guild["iconUrl"] == done["updateGuild"]["guild"]["iconUrl"] is not None
        made = (
            await w.owner.client.execute(EMOJI, {"g": w.guild_id, "n": "live", "u": image})
        ).ok()
        emoji = (await next_of(ws, op, "EmojiCreated"))["emoji"]
        assert emoji["url"] == made["createEmoji"]["emoji"]["big"] is not None
    # Nothing to change is no change.
    same = (
        await w.owner.client.execute("mutation { updateProfile(input: {}) { user { avatarUrl } } }")
    ).ok()
    assert same["updateProfile"]["user"]["avatarUrl"] == state["user"]["avatarUrl"]
