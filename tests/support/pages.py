"""A tiny HTTP/1.1 page server on a loopback address, for the fetcher and the embedder: each
path answers with a fixed response or a handler, and every request is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from PIL import Image

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PageServer:
    host: str
    port: int = 0
    pages: dict[str, Page | Writer] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    default: Page | Writer | None = None
    """The answer for paths not in `pages` (else 404)."""

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                self.requests.append((path, headers))
                page = self.pages.get(path) or self.default or Page(b"not here", status=404)
                if not isinstance(page, Page):
                    await page(writer)
                    return
                extra = dict(page.headers)
                if page.content_type is not None:
                    extra.setdefault("Content-Type", page.content_type)
                extra.setdefault("Content-Length", str(len(page.body)))
                response = f"HTTP/1.1 {page.status} X\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in extra.items()
                )
                writer.write(response.encode("latin-1") + b"\r\n" + page.body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


@contextlib.asynccontextmanager
async def page_server(
    host: str = "127.0.0.1", pages: dict[str, Page | Writer] | None = None
) -> AsyncIterator[PageServer]:
    server = PageServer(host=host, pages=dict(pages or {}))
    listener = await asyncio.start_server(server._serve, host, 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(listener.wait_closed(), 2)


def png(width: int, height: int, *, padding: int = 0) -> bytes:
    """A PNG of that size, with `padding` bytes after its end."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, "PNG")
    return out.getvalue() + b"\0" * padding
