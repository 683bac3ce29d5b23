"""Embeds: rich cards on messages.

A message carries two lists. Manual embeds are sent by the author with sendMessage or
editMessage and checked here against GoChat's limits: at most 10 embeds, 25 fields each,
6,000 characters of text over all of them (titles, descriptions, field names and values, footer
texts, author and provider names), a title of 256 characters, a description of 4,096, a field
name of 256 and value of 1,024, a footer text of 2,048, an author name of 256, colours 0 to
0xFFFFFF, and http(s) URLs only. Generated embeds are made by the embedder worker from up to 5
links in the content, stored apart, replaced whenever the content changes and hidden while the
message has the SUPPRESS_EMBEDS flag. Readers see the manual ones, then the generated ones, 10 at
most.

The embedder is idempotent by content version: generated embeds are stored with the version of
the content they were made from, and only while the content still has that version.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from gochat.domain.records import Embed, EmbedMedia, EmbedType, Message, MessageFlag
from gochat.errors import BadUserInput, NotFound

EMBEDS_MAX = 10
FIELDS_MAX = 25
TOTAL_TEXT_MAX = 6000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_TEXT_MAX = 2048
AUTHOR_NAME_MAX = 256
PROVIDER_NAME_MAX = 256
URL_MAX = 2048
COLOR_MAX = 0xFFFFFF
LINKS_MAX = 5
"""Links of one message the embedder looks at."""
PROXY_PATH = "/media-proxy"

# A link in angle brackets (<https://...>) is one its author chose not to embed.
_LINK = re.compile(r"<?https?://[^\s<>]+>?", re.IGNORECASE)
_TRAILING = ".,!?;:)]}'\""


def _check_length(value: str | None, limit: int, field: str, *, required: bool = False) -> int:
    if value is None or not value.strip():
        if required:
            raise BadUserInput(f"{field} is required", field=field)
        return 0
    if len(value) > limit:
        raise BadUserInput(f"{field} has at most {limit} characters", field=field)
    return len(value)


def _check_url(value: str | None, field: str) -> None:
    if value is None:
        return
    if len(value) > URL_MAX:
        raise BadUserInput(f"{field} has at most {URL_MAX} characters", field=field)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise BadUserInput(f"{field} is not a URL", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadUserInput(f"{field} must be an http or https URL", field=field)
    if parts.username is not None or parts.password is not None:
        raise BadUserInput(f"{field} must not carry credentials", field=field)


def _check_media(media: EmbedMedia | None, field: str) -> None:
    if media is not None:
        _check_url(media.url, f"{field}.url")


def _check_one(embed: Embed, at: str) -> int:
    """Checks one manual embed; its characters of text."""
    text = _check_length(embed.title, TITLE_MAX, f"{at}.title")
    text += _check_length(embed.description, DESCRIPTION_MAX, f"{at}.description")
    _check_url(embed.url, f"{at}.url")
    if embed.color is not None and not 0 <= embed.color <= COLOR_MAX:
        raise BadUserInput(f"{at}.color is 0 to {COLOR_MAX}", field=f"{at}.color")
    if embed.author is not None:
        text += _check_length(
            embed.author.name, AUTHOR_NAME_MAX, f"{at}.author.name", required=True
        )
        _check_url(embed.author.url, f"{at}.author.url")
        _check_url(embed.author.icon_url, f"{at}.author.iconUrl")
    if embed.footer is not None:
        text += _check_length(
            embed.footer.text, FOOTER_TEXT_MAX, f"{at}.footer.text", required=True
        )
        _check_url(embed.footer.icon_url, f"{at}.footer.iconUrl")
    if embed.provider is not None:
        text += _check_length(embed.provider.name, PROVIDER_NAME_MAX, f"{at}.provider.name")
        _check_url(embed.provider.url, f"{at}.provider.url")
    _check_media(embed.image, f"{at}.image")
    _check_media(embed.thumbnail, f"{at}.thumbnail")
    _check_media(embed.video, f"{at}.video")
    if len(embed.fields) > FIELDS_MAX:
        raise BadUserInput(f"an embed has at most {FIELDS_MAX} fields", field=f"{at}.fields")
    for j, item in enumerate(embed.fields):
        text += _check_length(item.name, FIELD_NAME_MAX, f"{at}.fields[{j}].name", required=True)
        text += _check_length(item.value, FIELD_VALUE_MAX, f"{at}.fields[{j}].value", required=True)
    shown = (
        embed.title,
        embed.description,
        embed.author,
        embed.footer,
        embed.image,
        embed.thumbnail,
        embed.video,
        embed.fields,
    )
    if not any(bool(part) for part in shown):
        raise BadUserInput(
            "an embed needs a title, description, author, footer, image, thumbnail, video "
            "or fields",
            field=at,
        )
    return text


def check_manual(embeds: Sequence[Embed]) -> tuple[Embed, ...]:
    """Manual embeds as stored (always RICH), or BadUserInput naming the first field over a
    limit (`embeds[1].fields[3].value`)."""
    if len(embeds) > EMBEDS_MAX:
        raise BadUserInput(f"a message has at most {EMBEDS_MAX} embeds", field="embeds")
    total = 0
    for i, embed in enumerate(embeds):
        total += _check_one(embed, f"embeds[{i}]")
    if total > TOTAL_TEXT_MAX:
        raise BadUserInput(
            f"the embeds of a message have at most {TOTAL_TEXT_MAX} characters of text in all",
            field="embeds",
        )
    return tuple(e if e.type == EmbedType.RICH else _with_type(e, EmbedType.RICH) for e in embeds)


def _with_type(embed: Embed, kind: EmbedType) -> Embed:
    return Embed(**{**{f: getattr(embed, f) for f in Embed.__slots__}, "type": kind})


def visible(message: Message) -> tuple[Embed, ...]:
    """What readers see: manual first, then generated unless suppressed; 10 at most.
    Generated embeds show only with the content they were made for (a store whose writes can
    interleave, as Cassandra's conditional and plain writes may, never shows a link's card
    under an edited text)."""
    shown = message.embeds
    if (
        message.generated_embeds
        and not message.flags & MessageFlag.SUPPRESS_EMBEDS
        and message.generated_for == content_version(message.content)
    ):
        shown = shown + message.generated_embeds
    return shown[:EMBEDS_MAX]


def content_version(content: str) -> str:
    """Names one content of a message: generated embeds are made for exactly one."""
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def links(content: str, *, limit: int = LINKS_MAX) -> list[str]:
    """The first `limit` distinct http(s) links of a content, in order, without trailing
    punctuation; links in angle brackets are left out."""
    found: list[str] = []
    for match in _LINK.finditer(content):
        text = match.group(0)
        if text.startswith("<") and text.endswith(">"):
            continue
        text = text.lstrip("<").rstrip(">").rstrip(_TRAILING)
        if len(text) <= URL_MAX and text not in found:
            found.append(text)
        if len(found) >= limit:
            break
    return found


class EmbedService:
    """Embed media through the media proxy: signed paths, so the proxy fetches only what
    generated embeds name, never an address a client made up."""

    def __init__(self, *, proxy_key: bytes | None) -> None:
        """`proxy_key`: the media proxy's signing key; None when the proxy is off."""
        self._key = proxy_key

    @property
    def proxy_enabled(self) -> bool:
        return self._key is not None

    def _sign(self, url: str) -> str:
        assert self._key is not None
        digest = hmac.new(self._key, url.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def proxy_url(self, media: EmbedMedia) -> str | None:
        """The proxy's path for an image (`/media-proxy/<signature>/<url, base64url>`), or None
        when the proxy is off."""
        if self._key is None:
            return None
        encoded = base64.urlsafe_b64encode(media.url.encode()).decode().rstrip("=")
        return f"{PROXY_PATH}/{self._sign(media.url)}/{encoded}"

    def proxy_target(self, signature: str, encoded: str) -> str:
        """The URL a proxy path names; NotFound unless the proxy is on and signed it."""
        if self._key is None:
            raise NotFound("the media proxy is off")
        try:
            url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            raise NotFound("no such media") from None
        if not hmac.compare_digest(self._sign(url), signature):
            raise NotFound("no such media")
        return url
