"""HTTP endpoints for files: the embedded upload endpoint and the file server.

`PUT /uploads/{id}` takes the body of a signed upload URL and streams it into the blob store a
chunk at a time (never whole in memory), cut off past the declared size. `GET /files/{key}`
serves a signed attachment URL, `GET /files/public/{id}` an avatar, icon, banner or emoji image
(from local disk, or by redirect to a presigned URL when the store is S3). Every file goes out
with `X-Content-Type-Options: nosniff`, and anything that is not an image, video or audio as a
download, so no uploaded HTML or SVG runs in this site's origin. Range requests are answered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gochat.blobs import check_key
from gochat.domain.attachments import Download
from gochat.domain.services import Services
from gochat.errors import GoChatError, NotFound
from gochat.ids import Snowflake
from gochat.schema.errors import http_error_body

_STATUS = {
    "BAD_USER_INPUT": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    "UNAVAILABLE": 503,
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_ID = re.compile(r"^\d{1,19}$")


def _error(exc: GoChatError) -> Response:
    return JSONResponse(http_error_body(str(exc), exc.code), status_code=_STATUS.get(exc.code, 500))


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _upload_id(request: Request) -> Snowflake:
    raw = request.path_params["upload_id"]
    if not _ID.match(raw):
        raise NotFound("upload not found")
    return Snowflake(int(raw))


async def receive_upload(request: Request) -> Response:
    try:
        expires = int(request.query_params.get("expires", "0"))
    except ValueError:
        expires = 0
    length = request.headers.get("content-length")
    try:
        await _services(request).attachments.receive(
            _upload_id(request),
            expires=expires,
            signature=request.query_params.get("signature", ""),
            content_type=request.headers.get("content-type", ""),
            content_length=int(length) if length and length.isdigit() else None,
            chunks=request.stream(),
        )
    except GoChatError as exc:
        return _error(exc)
    return Response(status_code=204)


async def serve_file(request: Request) -> Response:
    try:
        key = check_key(unquote(request.path_params["key"]))
    except ValueError:
        return _error(NotFound("file not found"))
    try:
        download = _services(request).attachments.check_download(key, dict(request.query_params))
        return await _stream(request, download)
    except GoChatError as exc:
        return _error(exc)


async def serve_public(request: Request) -> Response:
    size_param = request.query_params.get("size", "")
    try:
        attachments = _services(request).attachments
        download = await attachments.public_download(
            _upload_id(request), size=int(size_param) if size_param.isdigit() else None
        )
        presigned = await attachments.store_url(download)
        if presigned is not None:
            return RedirectResponse(presigned, status_code=302)
        response = await _stream(request, download)
    except GoChatError as exc:
        return _error(exc)
    response.headers["cache-control"] = "public, max-age=3600"
    return response


async def _stream(request: Request, download: Download) -> Response:
    blobs = _services(request).blobs
    info = await blobs.head(download.key)
    if info is None:
        raise NotFound("file not found")
    disposition = "inline" if download.inline else "attachment"
    headers = {
        "x-content-type-options": "nosniff",
        "content-disposition": f"{disposition}; filename*=UTF-8''{quote(download.filename)}",
        "accept-ranges": "bytes",
        "cache-control": "private, max-age=300",
        # Even opened directly, a served file may not run scripts or load anything.
        "content-security-policy": "default-src 'none'; img-src 'self'; media-src 'self'; "
        "style-src 'unsafe-inline'; sandbox",
    }
    start, end, status = 0, info.size, 200
    wanted = request.headers.get("range")
    if wanted:
        match = _RANGE.match(wanted.strip())
        first, last = (match.group(1), match.group(2)) if match else ("", "")
        if match and (first or last):
            if first:
                start = int(first)
                end = min(info.size, int(last) + 1) if last else info.size
            else:
                start = max(0, info.size - int(last))
            if start >= info.size or end <= start:
                return Response(
                    status_code=416, headers={**headers, "content-range": f"bytes */{info.size}"}
                )
            status = 206
            headers["content-range"] = f"bytes {start}-{end - 1}/{info.size}"
    headers["content-length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=download.content_type)

    # The first chunk before the headers: a file removed since `head` (its message deleted
    # meanwhile) is a 404, not a response cut off after its status line.
    chunks = aiter(blobs.read(download.key, start=start, end=end))
    head_chunk = b""
    try:
        head_chunk = await anext(chunks)
    except StopAsyncIteration:
        pass  # an empty file (or range)
    except NotFound:
        raise NotFound("file not found") from None

    async def body() -> AsyncIterator[bytes]:
        if head_chunk:
            yield head_chunk
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(), status_code=status, headers=headers, media_type=download.content_type
    )


routes = [
    Route("/uploads/{upload_id}", receive_upload, methods=["PUT"]),
    Route("/files/public/{upload_id}", serve_public, methods=["GET", "HEAD"]),
    Route("/files/{key:path}", serve_file, methods=["GET", "HEAD"]),
]
# Upload bodies are limited by their slot's declared size, not by the GraphQL body limit.
UNLIMITED_BODY_PREFIXES = ("/uploads/",)
