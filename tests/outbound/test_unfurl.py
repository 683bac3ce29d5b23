"""Unfurling links served by local page servers (127.0.0.2, allowlisted here only)."""

from __future__ import annotations

import asyncio
import json
import uuid

from gochat.domain.records import Embed, EmbedField, EmbedType
from gochat.outbound.cache import Cached, MemoryUnfurlCache
from gochat.outbound.fetch import Fetcher, FetchPolicy, parse_networks
from gochat.outbound.redis_cache import RedisUnfurlCache
from gochat.outbound.unfurl import Unfurler, UnfurlPolicy, normalize
from gochat.redis_client import redis_client
from tests.support.engines import RedisServer
from tests.support.pages import Page, page_server, png

PUBLIC = "127.0.0.2"


def unfurler(cache: MemoryUnfurlCache | None = None, **policy: object) -> Unfurler:
    fetcher = Fetcher(
        FetchPolicy(allowed_networks=parse_networks([f"{PUBLIC}/32"]), timeout_seconds=5)
    )
    return Unfurler(fetcher, cache or MemoryUnfurlCache(), UnfurlPolicy(**policy))  # type: ignore[arg-type]


OPEN_GRAPH = b"""<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="The Article">
<meta property="og:description" content="  What it says,
   in short. ">
<meta property="og:type" content="article">
<meta property="og:site_name" content="Example News">
<meta property="og:image" content="/cover.png">
<meta name="theme-color" content="#336699">
</head><body>ignored</body></html>"""


async def test_open_graph_page_makes_an_article_with_a_sized_image() -> None:
    async with page_server(
        PUBLIC,
        {
            "/a": Page(OPEN_GRAPH),
            "/cover.png": Page(png(640, 320), content_type="image/png"),
        },
    ) as site:
        embed = await unfurler().unfurl(site.url("/a#comments"))
    assert embed is not None
    assert embed.type == EmbedType.ARTICLE
    assert embed.title == "The Article"
    assert embed.description == "What it says, in short."
    assert embed.url == site.url("/a")
    assert embed.color == 0x336699
    assert embed.provider is not None and embed.provider.name == "Example News"
    assert embed.image is not None and embed.image.url == site.url("/cover.png")
    assert (embed.image.width, embed.image.height) == (640, 320)


async def test_oembed_discovery_fills_author_provider_and_video() -> None:
    async with page_server(PUBLIC) as site:
        document = {
            "type": "video",
            "title": "A Talk",
            "author_name": "Speaker",
            "author_url": site.url("/speaker"),
            "provider_name": "Tube",
            "provider_url": site.origin,
            "thumbnail_url": site.url("/thumb.png"),
            "thumbnail_width": 480,
            "thumbnail_height": 360,
            "html": f'<iframe src="{site.url("/embed/1")}" width="640" height="360"></iframe>',
            "width": 640,
            "height": 360,
        }
        site.pages["/watch"] = Page(
            b'<html><head><link rel="alternate" type="application/json+oembed" '
            b'href="/oembed?id=1"></head></html>'
        )
        site.pages["/oembed?id=1"] = Page(
            json.dumps(document).encode(), content_type="application/json"
        )
        embed = await unfurler().unfurl(site.url("/watch"))
        assert site.paths == ["/watch", "/oembed?id=1"]
    assert embed is not None and embed.type == EmbedType.VIDEO
    assert embed.title == "A Talk"
    assert embed.author is not None and embed.author.name == "Speaker"
    assert embed.provider is not None and embed.provider.name == "Tube"
    assert embed.video is not None and embed.video.url == site.url("/embed/1")
    assert (embed.video.width, embed.video.height) == (640, 360)
    assert embed.thumbnail is not None and embed.thumbnail.url == site.url("/thumb.png")
    assert (embed.thumbnail.width, embed.thumbnail.height) == (480, 360)


async def test_twitter_card_without_open_graph() -> None:
    page = b"""<html><head>
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="Card title">
<meta name="twitter:description" content="Card text">
<meta name="twitter:image" content="https://cdn.example/big.jpg">
<meta name="twitter:image:width" content="1200"><meta name="twitter:image:height" content="600">
</head></html>"""
    async with page_server(PUBLIC, {"/t": Page(page)}) as site:
        embed = await unfurler().unfurl(site.url("/t"))
        # The dimensions were given: the image is not fetched.
        assert site.paths == ["/t"]
    assert embed is not None and embed.type == EmbedType.LINK
    assert (embed.title, embed.description) == ("Card title", "Card text")
    assert embed.image is not None and embed.image.url == "https://cdn.example/big.jpg"
    assert (embed.image.width, embed.image.height) == (1200, 600)
    assert embed.thumbnail is None


async def test_a_direct_image_is_sized_from_its_first_bytes() -> None:
    # 3 MiB in all, over the 2 MiB cap: a full download would fail.
    image = png(300, 200, padding=3 << 20)
    async with page_server(PUBLIC, {"/pic.png": Page(image, content_type="image/png")}) as site:
        embed = await unfurler().unfurl(site.url("/pic.png"))
    assert embed is not None and embed.type == EmbedType.IMAGE
    assert embed.image is not None
    assert (embed.image.width, embed.image.height, embed.image.content_type) == (
        300,
        200,
        "image/png",
    )


async def test_wrong_and_unknown_charsets_still_give_the_text() -> None:
    title = "Привет, мир"
    lying = f'<html><head><meta charset="windows-1251"><title>{title}</title></head></html>'
    async with page_server(
        PUBLIC,
        {
            # The header says UTF-8; the bytes are windows-1251, as the meta tag says.
            "/lying": Page(lying.encode("cp1251"), content_type="text/html; charset=utf-8"),
            "/unknown": Page(
                f"<title>{title}</title>".encode(), content_type="text/html; charset=x-nonsense"
            ),
        },
    ) as site:
        lied = await unfurler().unfurl(site.url("/lying"))
        unknown = await unfurler().unfurl(site.url("/unknown"))
    assert lied is not None and lied.title == title
    assert unknown is not None and unknown.title == title


async def test_non_html_huge_and_empty_pages_make_no_embed_and_are_cached_as_such() -> None:
    cache = MemoryUnfurlCache()
    async with page_server(
        PUBLIC,
        {
            "/data.json": Page(b'{"a": 1}', content_type="application/json"),
            "/huge": Page(b"<title>x</title>" + b" " * (3 << 20)),
            "/bare": Page(b"<html><body>no metadata</body></html>"),
            "/gone": Page(b"", status=404),
        },
    ) as site:
        for path in ("/data.json", "/huge", "/bare", "/gone"):
            assert await unfurler(cache).unfurl(site.url(path)) is None
            assert await unfurler(cache).unfurl(site.url(path)) is None
        assert site.paths == ["/data.json", "/huge", "/bare", "/gone"]


async def test_outcomes_are_cached_per_normalized_url() -> None:
    cache = MemoryUnfurlCache()
    async with page_server(PUBLIC, {"/a": Page(OPEN_GRAPH)}) as site:
        site.pages["/cover.png"] = Page(png(10, 10), content_type="image/png")
        first = await unfurler(cache).unfurl(site.url("/a"))
        again = await unfurler(cache).unfurl(f"HTTP://{PUBLIC.upper()}:{site.port}/a#x")
        assert first == again and first is not None
        assert site.paths.count("/a") == 1
    assert normalize("HTTPS://Example.COM:443/p?q=1#f") == "https://example.com/p?q=1"
    assert normalize("ftp://example.com/") is None


async def test_one_host_sees_two_fetches_at_a_time_at_most() -> None:
    running = 0
    most = 0

    async def slow(writer: asyncio.StreamWriter) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.2)
        running -= 1
        body = b"<title>slow</title>"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()

    async with page_server(PUBLIC) as site:
        for i in range(6):
            site.pages[f"/s{i}"] = slow
        shared = unfurler(per_host_concurrency=2)
        found = await asyncio.gather(*(shared.unfurl(site.url(f"/s{i}")) for i in range(6)))
    assert all(e is not None and e.title == "slow" for e in found)
    assert most == 2


async def test_the_redis_cache_is_shared_and_expires(redis_engine: RedisServer) -> None:
    client = redis_client(redis_engine.url)
    try:
        key = f"https://example.com/{uuid.uuid4().hex}"
        one, two = RedisUnfurlCache(client), RedisUnfurlCache(client)
        assert await one.get(key) is None
        embed = Embed(type=EmbedType.LINK, url=key, title="t", fields=(EmbedField("a", "b"),))
        await one.put(key, embed, ttl_seconds=60)
        assert await two.get(key) == Cached(embed)
        await one.put(key + "/failed", None, ttl_seconds=0.2)
        assert await two.get(key + "/failed") == Cached(None)
        while await two.get(key + "/failed") is not None:
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
