"""GraphQL types for embeds: what messages show, and what authors send."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gochat.domain import records
from gochat.schema.attachments import absolute
from gochat.schema.context import Info

_LIMITS = (
    "A message has at most 10 embeds with 6,000 characters of text in all (titles, "
    "descriptions, field names and values, footer texts, author names)."
)


@strawberry.enum(description="What an embed shows.")
class EmbedType(enum.Enum):
    _value_: str
    RICH = strawberry.enum_value("rich", description="Sent by the message's author.")
    IMAGE = strawberry.enum_value("image", description="A link to an image.")
    VIDEO = strawberry.enum_value("video", description="A link to a video or a video page.")
    GIFV = strawberry.enum_value("gifv", description="A link to an animated image shown as video.")
    ARTICLE = strawberry.enum_value("article", description="A link to an article.")
    LINK = strawberry.enum_value("link", description="A link to any other page.")


@strawberry.enum(description="Flags of a message.")
class MessageFlag(enum.Enum):
    _value_: int
    SUPPRESS_EMBEDS = strawberry.enum_value(
        4, description="Generated embeds are hidden (set by the author or MANAGE_MESSAGES)."
    )


def message_flags(flags: records.MessageFlag) -> list[MessageFlag]:
    return [f for f in MessageFlag if flags & f.value]


@strawberry.type(description="An image, thumbnail or video of an embed.")
class EmbedMedia:
    record: strawberry.Private[records.EmbedMedia]
    generated: strawberry.Private[bool]

    @strawberry.field(description="Where the media is, as linked (http or https).")
    def url(self) -> str:
        return self.record.url

    @strawberry.field(
        description="The same media through this server's media proxy, so that showing it "
        "reveals nothing to the third-party host; null when the proxy is off, for manual embeds "
        "and for videos."
    )
    def proxy_url(self, info: Info) -> str | None:
        if not self.generated:
            return None
        path = info.context.services.embeds.proxy_url(self.record)
        return None if path is None else absolute(info, path)

    @strawberry.field(description="Width in pixels, when known.")
    def width(self) -> int | None:
        return self.record.width

    @strawberry.field(description="Height in pixels, when known.")
    def height(self) -> int | None:
        return self.record.height

    @strawberry.field(description="Its media type (image/png, video/mp4...), when known.")
    def content_type(self) -> str | None:
        return self.record.content_type


@strawberry.type(description="Who an embed is by.")
class EmbedAuthor:
    name: str = strawberry.field(description="1-256 characters.")
    url: str | None = strawberry.field(description="A link on the name.")
    icon_url: str | None = strawberry.field(description="A small image beside the name.")


@strawberry.type(description="The footer line of an embed.")
class EmbedFooter:
    text: str = strawberry.field(description="1-2048 characters.")
    icon_url: str | None = strawberry.field(description="A small image beside the text.")


@strawberry.type(description="The site an embed comes from.")
class EmbedProvider:
    name: str | None = strawberry.field(description="Its name (og:site_name, oEmbed provider).")
    url: str | None = strawberry.field(description="Its address.")


@strawberry.type(description="A name and value shown in an embed's grid.")
class EmbedField:
    name: str = strawberry.field(description="1-256 characters.")
    value: str = strawberry.field(description="1-1024 characters.")
    inline: bool = strawberry.field(description="Shown beside its neighbours when there is room.")


@strawberry.type(
    description="A card on a message: sent by its author (RICH) or made from a link in it."
)
class Embed:
    record: strawberry.Private[records.Embed]

    @strawberry.field(description="RICH when sent by the author; else what the link shows.")
    def type(self) -> EmbedType:
        return EmbedType(self.record.type.value)

    @strawberry.field(description="The link the title points to (the page, for a generated one).")
    def url(self) -> str | None:
        return self.record.url

    @strawberry.field(description="At most 256 characters.")
    def title(self) -> str | None:
        return self.record.title

    @strawberry.field(description="At most 4096 characters.")
    def description(self) -> str | None:
        return self.record.description

    @strawberry.field(description="The accent colour, 0 to 0xFFFFFF (RGB).")
    def color(self) -> int | None:
        return self.record.color

    @strawberry.field(description="A time shown in the footer.")
    def timestamp(self) -> datetime | None:
        return self.record.timestamp

    @strawberry.field(description="Who it is by.")
    def author(self) -> EmbedAuthor | None:
        a = self.record.author
        return None if a is None else EmbedAuthor(name=a.name, url=a.url, icon_url=a.icon_url)

    @strawberry.field(description="The footer line.")
    def footer(self) -> EmbedFooter | None:
        f = self.record.footer
        return None if f is None else EmbedFooter(text=f.text, icon_url=f.icon_url)

    @strawberry.field(description="A large image.")
    def image(self) -> EmbedMedia | None:
        return self._media(self.record.image)

    @strawberry.field(description="A small image beside the text.")
    def thumbnail(self) -> EmbedMedia | None:
        return self._media(self.record.thumbnail)

    @strawberry.field(description="A video (for generated embeds of video pages).")
    def video(self) -> EmbedMedia | None:
        # Videos play in the player of their site; the proxy serves images only.
        m = self.record.video
        return None if m is None else EmbedMedia(record=m, generated=False)

    def _media(self, media: records.EmbedMedia | None) -> EmbedMedia | None:
        generated = self.record.type != records.EmbedType.RICH
        return None if media is None else EmbedMedia(record=media, generated=generated)

    @strawberry.field(description="The site it comes from (generated embeds).")
    def provider(self) -> EmbedProvider | None:
        p = self.record.provider
        return None if p is None else EmbedProvider(name=p.name, url=p.url)

    @strawberry.field(description="At most 25 name/value pairs.")
    def fields(self) -> list[EmbedField]:
        return [EmbedField(name=f.name, value=f.value, inline=f.inline) for f in self.record.fields]


@strawberry.input(description="Who an embed is by.")
class EmbedAuthorInput:
    name: str = strawberry.field(description="1-256 characters.")
    url: str | None = strawberry.field(default=None, description="An http(s) link on the name.")
    icon_url: str | None = strawberry.field(default=None, description="An http(s) image URL.")


@strawberry.input(description="The footer line of an embed.")
class EmbedFooterInput:
    text: str = strawberry.field(description="1-2048 characters.")
    icon_url: str | None = strawberry.field(default=None, description="An http(s) image URL.")


@strawberry.input(description="An image by its address.")
class EmbedMediaInput:
    url: str = strawberry.field(description="An http(s) URL, at most 2048 characters.")


@strawberry.input(description="A name and value of an embed's grid.")
class EmbedFieldInput:
    name: str = strawberry.field(description="1-256 characters.")
    value: str = strawberry.field(description="1-1024 characters.")
    inline: bool = strawberry.field(default=False, description="Beside its neighbours.")


@strawberry.input(description=f"An embed sent with a message (type RICH). {_LIMITS}")
class EmbedInput:
    title: str | None = strawberry.field(default=None, description="At most 256 characters.")
    description: str | None = strawberry.field(default=None, description="At most 4096 characters.")
    url: str | None = strawberry.field(default=None, description="An http(s) link on the title.")
    color: int | None = strawberry.field(default=None, description="0 to 0xFFFFFF (RGB).")
    timestamp: datetime | None = strawberry.field(default=None, description="Shown in the footer.")
    author: EmbedAuthorInput | None = strawberry.field(default=None, description="Who it is by.")
    footer: EmbedFooterInput | None = strawberry.field(default=None, description="The footer.")
    image: EmbedMediaInput | None = strawberry.field(default=None, description="A large image.")
    thumbnail: EmbedMediaInput | None = strawberry.field(
        default=None, description="A small image beside the text."
    )
    fields: list[EmbedFieldInput] | None = strawberry.field(
        default=None, description="At most 25 name/value pairs."
    )


def embed_records(embeds: list[EmbedInput]) -> list[records.Embed]:
    """The inputs as records; the domain checks them (limits, URLs)."""
    return [
        records.Embed(
            type=records.EmbedType.RICH,
            url=e.url,
            title=e.title,
            description=e.description,
            color=e.color,
            timestamp=e.timestamp,
            author=None
            if e.author is None
            else records.EmbedAuthor(
                name=e.author.name, url=e.author.url, icon_url=e.author.icon_url
            ),
            footer=None
            if e.footer is None
            else records.EmbedFooter(text=e.footer.text, icon_url=e.footer.icon_url),
            image=None if e.image is None else records.EmbedMedia(url=e.image.url),
            thumbnail=None if e.thumbnail is None else records.EmbedMedia(url=e.thumbnail.url),
            fields=tuple(
                records.EmbedField(name=f.name, value=f.value, inline=f.inline)
                for f in e.fields or ()
            ),
        )
        for e in embeds
    ]
