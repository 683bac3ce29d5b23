"""The media proxy serves the images of generated embeds from this server: signed URLs only,
the same address checks as the embedder, images only, and nothing when it is off."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gochat.domain.events import MessageCreated
from gochat.domain.records import EmbedMedia
from gochat.ids import Snowflake
from gochat.wiring import embedder_handler
from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild
from tests.support.pages import Page, page_server, png
from tests.support.server import RunningServer

PUBLIC = "127.0.0.2"
SEND = """mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) {
  message { id } } }"""
READ = "query($m: ID!) { message(id: $m) { embeds { image { url proxyUrl width } } } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"embedder_enabled": False, "embed_fetch_allowed_networks": [f"{PUBLIC}/32"]}


def _page(image_url: str) -> bytes:
    return (
        f'<html><head><meta property="og:title" content="Pictured">'
        f'<meta property="og:image" content="{image_url}"></head></html>'
    ).encode()


async def _embedded_image(
    client: GraphQLClient, server: RunningServer, link: str
) -> dict[str, Any]:
    owner = await signed_up(client)
    channel = (await create_guild(owner))["channels"][0]["id"]
    sent = (await owner.client.execute(SEND, {"c": channel, "t": link})).ok()
    message_id = sent["sendMessage"]["message"]["id"]
    message = await server.services.message_store.get(Snowflake(int(message_id)))
    assert message is not None
    await embedder_handler(
        server.settings, server.services.messages, server.services.message_store
    ).handle([MessageCreated(event_id=Snowflake(1), message=message)])
    read = (await owner.client.execute(READ, {"m": message_id})).ok()["message"]
    image: dict[str, Any] = read["embeds"][0]["image"]
    return image


async def test_embed_images_are_served_through_the_proxy(
    client: GraphQLClient, server: RunningServer
) -> None:
    picture = png(40, 30)
    async with page_server(
        PUBLIC,
        {
            "/post": Page(_page("/pic.png")),
            "/pic.png": Page(picture, content_type="image/png"),
            "/fake.png": Page(b"<script>alert(1)</script>", content_type="image/png"),
            "/big.png": Page(png(8, 8) + b"\0" * (9 << 20), content_type="image/png"),
        },
    ) as site:
        image = await _embedded_image(client, server, site.url("/post"))
        assert image["url"] == site.url("/pic.png") and image["width"] == 40
        proxy = image["proxyUrl"]
        assert proxy.startswith(server.url + "/media-proxy/")
        async with httpx.AsyncClient() as http:
            served = await http.get(proxy)
            assert served.status_code == 200 and served.content == picture
            assert served.headers["content-type"] == "image/png"
            assert served.headers["x-content-type-options"] == "nosniff"
            # Only URLs this server signed: another URL under the same signature is refused.
            signature, encoded = proxy.rsplit("/", 2)[-2:]
            forged = proxy.replace(encoded, encoded[:-2] + ("AA" if encoded[-2:] != "AA" else "BB"))
            assert (await http.get(forged)).status_code == 404
            assert (
                await http.get(proxy.replace(signature, "x" * len(signature)))
            ).status_code == 404

            for path, status in (("/fake.png", 404), ("/big.png", 502)):
                other = server.services.embeds.proxy_url(EmbedMedia(url=site.url(path)))
                assert other is not None
                assert (await http.get(server.url + other)).status_code == status


async def test_the_proxy_applies_the_address_checks(
    client: GraphQLClient, server: RunningServer
) -> None:
    async with (
        page_server(
            "127.0.0.1", {"/secret.png": Page(png(5, 5), content_type="image/png")}
        ) as internal,
        page_server(PUBLIC) as site,
    ):
        site.pages["/post"] = Page(_page(internal.url("/secret.png")))
        image = await _embedded_image(client, server, site.url("/post"))
        async with httpx.AsyncClient() as http:
            assert (await http.get(image["proxyUrl"])).status_code == 404
        assert internal.requests == []


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "media_proxy_enabled": False,
            "embedder_enabled": False,
            "embed_fetch_allowed_networks": [f"{PUBLIC}/32"],
        }
    ],
)
async def test_with_the_proxy_off_there_is_no_proxy_url(
    client: GraphQLClient, server: RunningServer
) -> None:
    async with page_server(
        PUBLIC,
        {"/post": Page(_page("/pic.png")), "/pic.png": Page(png(4, 4), content_type="image/png")},
    ) as site:
        image = await _embedded_image(client, server, site.url("/post"))
    assert image["proxyUrl"] is None and image["url"] == site.url("/pic.png")
    async with httpx.AsyncClient() as http:
        assert (await http.get(server.url + "/media-proxy/abc/def")).status_code == 404
