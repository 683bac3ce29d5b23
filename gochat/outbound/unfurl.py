"""Unfurling: what a link shows as an embed. A page's OpenGraph and Twitter card metadata, its
oEmbed document when it links one, or the image or video the link is; image dimensions come
from the first bytes of the image (its header), never a full download. Everything goes through
the SSRF-safe fetcher; outcomes are cached per normalized URL, and each host sees only a few
fetches of ours at a time.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import io
import json
import re
import warnings
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from gochat.domain.embeds import URL_MAX
from gochat.domain.records import Embed, EmbedAuthor, EmbedMedia, EmbedProvider, EmbedType
from gochat.media import load_pillow
from gochat.outbound.cache import UnfurlCache
from gochat.outbound.fetch import Fetched, Fetcher, FetchError

log = structlog.get_logger("gochat.outbound.unfurl")

TITLE_MAX = 256
DESCRIPTION_MAX = 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_COLOR = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class UnfurlPolicy:
    cache_seconds: float = 6 * 3600
    failure_cache_seconds: float = 30 * 60
    per_host_concurrency: int = 2
    probe_bytes: int = 64 << 10
    """How much of an image is read for its dimensions."""
    oembed_max_bytes: int = 256 << 10


def normalize(url: str) -> str | None:
    """The cache key of a link: scheme and host in lower case, default port and fragment
    dropped; None when it is not an http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return str(parsed.copy_with(fragment=None))


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from an image's first bytes (its header), or None."""
    load_pillow()
    from PIL import Image  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def decode_html(body: bytes, header_charset: str | None) -> str:
    """The page's text: by the charset the server sent, else the one its meta tag names, else
    UTF-8; a wrong or unknown charset costs odd characters, never the page."""
    sniffed = _META_CHARSET.search(body[:4096])
    candidates = [header_charset, sniffed.group(1).decode("ascii") if sniffed else None, "utf-8"]
    known = []
    for name in candidates:
        if not name:
            continue
        try:
            known.append(codecs.lookup(name).name)
        except LookupError:
            continue
    for name in known:
        try:
            return body.decode(name)
        except UnicodeDecodeError:
            continue
    return body.decode(known[0] if known else "utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class PageMeta:
    properties: Mapping[str, str]
    """og:* and twitter:* and other named metas, the first of each."""
    title: str | None
    oembed_url: str | None


def read_meta(html: str, base: str) -> PageMeta:
    # The HTML parser loads with the first page: a process that unfurls none never needs it.
    from selectolax.lexbor import LexborHTMLParser  # noqa: PLC0415

    tree = LexborHTMLParser(html)
    found: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        name = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = attrs.get("content")
        if name and content is not None and name not in found:
            found[name] = content.strip()
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else None
    oembed = None
    for link in tree.css("link"):
        attrs = link.attributes
        rel = (attrs.get("rel") or "").lower().split()
        kind = (attrs.get("type") or "").lower()
        href = attrs.get("href")
        if "alternate" in rel and kind == "application/json+oembed" and href:
            oembed = _absolute(base, href)
            break
    return PageMeta(properties=found, title=title or None, oembed_url=oembed)


def _absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    try:
        joined = str(httpx.URL(base).join(href.strip()))
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    if not joined.startswith(("http://", "https://")) or len(joined) > URL_MAX:
        return None
    return joined


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 100_000 else None


def _color(value: str | None) -> int | None:
    match = _COLOR.match((value or "").strip())
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits, 16)


def _iframe_src(html: Any) -> str | None:
    if not isinstance(html, str) or not html:
        return None
    from selectolax.lexbor import LexborHTMLParser  # noqa: PLC0415

    node = LexborHTMLParser(html).css_first("iframe")
    return None if node is None else node.attributes.get("src")


def build_embed(url: str, meta: PageMeta, oembed: Mapping[str, Any]) -> Embed | None:
    """The embed a page's metadata makes, or None when it has nothing to show."""
    p = meta.properties
    o = {k: v for k, v in oembed.items() if v not in (None, "")}
    first = _first
    title = _clip(first(p, "og:title", "twitter:title") or o.get("title") or meta.title, TITLE_MAX)
    description = _clip(
        first(p, "og:description", "twitter:description", "description"), DESCRIPTION_MAX
    )
    card = p.get("twitter:card", "").lower()
    og_type = p.get("og:type", "").lower()
    oembed_type = str(o.get("type", "")).lower()
    image_url = _absolute(
        url,
        first(
            p,
            "og:image:secure_url",
            "og:image:url",
            "og:image",
            "twitter:image",
            "twitter:image:src",
        )
        or (o.get("url") if oembed_type == "photo" else None)
        or o.get("thumbnail_url"),
    )
    width = _int(
        p.get("og:image:width") or p.get("twitter:image:width") or o.get("thumbnail_width")
    )
    height = _int(
        p.get("og:image:height") or p.get("twitter:image:height") or o.get("thumbnail_height")
    )
    if oembed_type == "photo" and image_url == _absolute(url, o.get("url")):
        width, height = _int(o.get("width")) or width, _int(o.get("height")) or height
    video_url = _absolute(
        url,
        first(p, "og:video:secure_url", "og:video:url", "og:video", "twitter:player")
        or _iframe_src(o.get("html")),
    )
    if og_type.startswith("video") or oembed_type == "video" or card == "player" or video_url:
        kind = EmbedType.VIDEO
    elif og_type == "article":
        kind = EmbedType.ARTICLE
    elif oembed_type == "photo" and not title:
        kind = EmbedType.IMAGE
    else:
        kind = EmbedType.LINK
    if not (title or description or image_url):
        return None
    media = None if image_url is None else EmbedMedia(url=image_url, width=width, height=height)
    small = (
        kind == EmbedType.VIDEO
        or card == "summary"
        or (card == "" and width is not None and width < 400)
    )
    video = None
    if video_url is not None:
        video = EmbedMedia(
            url=video_url,
            width=_int(p.get("og:video:width") or p.get("twitter:player:width") or o.get("width")),
            height=_int(
                p.get("og:video:height") or p.get("twitter:player:height") or o.get("height")
            ),
            content_type=p.get("og:video:type") or None,
        )
    site = _clip(first(p, "og:site_name") or o.get("provider_name"), 256)
    provider_url = _absolute(url, o.get("provider_url"))
    author_name = _clip(o.get("author_name"), 256)
    return Embed(
        type=kind,
        url=_absolute(url, p.get("og:url")) or url,
        title=title,
        description=description,
        color=_color(p.get("theme-color")),
        author=None
        if author_name is None
        else EmbedAuthor(name=author_name, url=_absolute(url, o.get("author_url"))),
        image=None if small else media,
        thumbnail=media if small else None,
        video=video,
        provider=None
        if site is None and provider_url is None
        else EmbedProvider(site, provider_url),
    )


def _first(props: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = props.get(name)
        if value:
            return value
    return None


class _HostSlots:
    """At most `per_host` fetches at a time to one host; entries go when idle."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host) or (asyncio.Semaphore(self._per_host), 0)
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users <= 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class Unfurler:
    def __init__(self, fetcher: Fetcher, cache: UnfurlCache, policy: UnfurlPolicy) -> None:
        self._fetcher = fetcher
        self._cache = cache
        self._policy = policy
        self._hosts = _HostSlots(policy.per_host_concurrency)

    async def unfurl(self, url: str) -> Embed | None:
        """The embed a link makes (cached), or None when it makes none."""
        key = normalize(url)
        if key is None:
            return None
        cached = await self._cache.get(key)
        if cached is not None:
            return cached.embed
        async with self._hosts.slot(httpx.URL(key).host):
            try:
                embed = await self._make(key)
            except FetchError as exc:
                log.info("unfurl.failed", url=key, reason=str(exc))
                embed = None
        ttl = self._policy.cache_seconds if embed else self._policy.failure_cache_seconds
        await self._cache.put(key, embed, ttl_seconds=ttl)
        return embed

    async def _make(self, url: str) -> Embed | None:
        page = await self._fetcher.fetch(url, media_prefix_bytes=self._policy.probe_bytes)
        if page.content_type.startswith("image/"):
            size = image_size(page.body)
            return Embed(
                type=EmbedType.IMAGE,
                url=url,
                image=EmbedMedia(
                    url=url,
                    width=size[0] if size else None,
                    height=size[1] if size else None,
                    content_type=page.content_type,
                ),
            )
        if page.content_type.startswith("video/"):
            return Embed(
                type=EmbedType.VIDEO,
                url=url,
                video=EmbedMedia(url=url, content_type=page.content_type),
            )
        if page.content_type not in _HTML_TYPES:
            return None
        meta = read_meta(decode_html(page.body, page.charset), page.url)
        oembed = await self._oembed(meta.oembed_url)
        embed = build_embed(page.url, meta, oembed)
        if embed is None:
            return None
        return await self._with_dimensions(embed)

    async def _oembed(self, url: str | None) -> Mapping[str, Any]:
        if url is None:
            return {}
        try:
            found = await self._fetcher.fetch(url, max_bytes=self._policy.oembed_max_bytes)
            document = json.loads(decode_html(found.body, found.charset))
        except (FetchError, ValueError) as exc:
            log.info("unfurl.oembed_failed", url=url, reason=str(exc))
            return {}
        return document if isinstance(document, dict) else {}

    async def _with_dimensions(self, embed: Embed) -> Embed:
        """Fill an image's missing dimensions from its first bytes."""
        for slot in ("image", "thumbnail"):
            media: EmbedMedia | None = getattr(embed, slot)
            if media is None or (media.width and media.height):
                continue
            try:
                head: Fetched = await self._fetcher.fetch(
                    media.url, max_bytes=self._policy.probe_bytes, prefix=True
                )
            except FetchError:
                continue
            size = image_size(head.body) if head.content_type.startswith("image/") else None
            if size is not None:
                sized = EmbedMedia(
                    url=media.url, width=size[0], height=size[1], content_type=head.content_type
                )
                embed = _replace(embed, slot, sized)
        return embed


def _replace(embed: Embed, slot: str, media: EmbedMedia) -> Embed:
    values = {f: getattr(embed, f) for f in Embed.__slots__}
    values[slot] = media
    return Embed(**values)
