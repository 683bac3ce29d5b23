"""What a file really is, from its bytes, and WebP previews of images.

The type comes from the bytes alone (`filetype` for containers and documents, Pillow for
images), never from the name or the type the client declared. Images are opened with Pillow
under hard limits: the pixel count is checked from the header before any pixel is decoded
(so a 20,000 x 20,000 PNG or a decompression bomb costs a few bytes of header), JPEGs decode in
draft mode (scaled down by the decoder itself), and a truncated file fails instead of being
padded. Everything here is synchronous and CPU-bound: callers run it in a worker thread.
"""

from __future__ import annotations

import functools
import io
import warnings
from typing import IO, TYPE_CHECKING

import filetype

from gochat.domain.records import FileFacts

if TYPE_CHECKING:
    from PIL import Image

# Enough for every signature `filetype` knows, and for an image header.
SNIFF_BYTES = 8192
# Pixels an image may have (a 48-megapixel photo fits); more is refused before decoding.
MAX_PIXELS = 50_000_000
# Image formats we serve as images: decoded and checked here, shown inline by clients.
IMAGE_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
GENERIC_TYPE = "application/octet-stream"


class BadFile(ValueError):
    """The bytes are not an acceptable file of the kind they claim to be; the message says why
    in words for the uploader."""


@functools.cache
def load_pillow() -> None:
    """Load Pillow with our limits (every user of Pillow calls this first): from the first
    image on, so that a process that decodes none never loads it."""
    from PIL import Image, ImageFile  # noqa: PLC0415

    # Pillow's own guard raises past twice its limit and warns past it: keep it above ours so
    # our check, with its clear message, always comes first.
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS * 2
    ImageFile.LOAD_TRUNCATED_IMAGES = False


def sniff(head: bytes) -> str:
    """The media type the first bytes show, or application/octet-stream when unknown."""
    found = filetype.guess_mime(head)
    return str(found) if found else GENERIC_TYPE


def inspect(file: IO[bytes], head: bytes) -> FileFacts:
    """The facts of a whole file (`file` at its start, `head` its first bytes). Images are
    decoded in full (at draft size for JPEG), so a truncated or corrupt image fails here."""
    found = sniff(head)
    if found not in IMAGE_TYPES.values():
        return FileFacts(content_type=found)
    load_pillow()
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file, formats=list(IMAGE_TYPES)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise BadFile(f"the image has more than {MAX_PIXELS} pixels")
                frames = int(getattr(image, "n_frames", 1))
                if image.format == "JPEG":
                    image.draft("RGB", (1024, 1024))
                image.load()
                content_type = IMAGE_TYPES[str(image.format)]
    except BadFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadFile(f"the image has more than {MAX_PIXELS} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadFile("the image is damaged or truncated") from exc
    return FileFacts(content_type=content_type, width=width, height=height, animated=frames > 1)


def webp_preview(file: IO[bytes], max_side: int, *, keep_animation: bool = False) -> bytes:
    """A WebP no larger than `max_side` on either side, oriented as the camera held it and
    without EXIF or other metadata; animated images stay animated when asked."""
    load_pillow()
    from PIL import Image, ImageOps  # noqa: PLC0415

    with Image.open(file, formats=list(IMAGE_TYPES)) as image:
        if image.width * image.height > MAX_PIXELS:
            raise BadFile(f"the image has more than {MAX_PIXELS} pixels")
        out = io.BytesIO()
        if keep_animation and getattr(image, "n_frames", 1) > 1:
            frames = []
            durations = []
            for index in range(int(getattr(image, "n_frames", 1))):
                image.seek(index)
                frame = image.convert("RGBA")
                frame.thumbnail((max_side, max_side))
                frames.append(frame)
                durations.append(int(image.info.get("duration", 100)))
            frames[0].save(
                out,
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                duration=durations,
                loop=0,
                quality=80,
            )
            return out.getvalue()
        if image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        oriented = ImageOps.exif_transpose(image)
        oriented = oriented.convert("RGBA" if _has_alpha(oriented) else "RGB")
        oriented.thumbnail((max_side, max_side))
        # A new image from the pixels alone: no EXIF, GPS or ICC text leaves with it.
        clean = Image.new(oriented.mode, oriented.size)
        clean.paste(oriented)
        clean.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
