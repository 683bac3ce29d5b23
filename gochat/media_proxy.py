"""The media proxy: `GET /media-proxy/{signature}/{url}` serves an image of a generated embed,
so a reader's client loads it from this server and the third-party host never learns who
reads. Only URLs this server signed are fetched (the signature is an HMAC of the URL, made
when the embed is shown), through the same SSRF-safe fetcher as the embedder, up to
GOCHAT_MEDIA_PROXY_MAX_BYTES; the answer must be a PNG, JPEG, GIF or WebP by its bytes, not
only by its header, and goes out with nosniff and a CSP that runs nothing. Off
(GOCHAT_MEDIA_PROXY_ENABLED=false): 404, and proxyUrl is null.
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gochat import media
from gochat.domain.embeds import PROXY_PATH
from gochat.domain.services import Services
from gochat.errors import NotFound
from gochat.outbound.fetch import Fetcher, FetchError, FetchRefused
from gochat.schema.errors import http_error_body

log = structlog.get_logger("gochat.media_proxy")

CACHE_SECONDS = 24 * 3600


def _failure(message: str, code: str, status: int) -> Response:
    return JSONResponse(http_error_body(message, code), status_code=status)


async def serve(request: Request) -> Response:
    services: Services = request.app.state.services
    fetcher: Fetcher | None = request.app.state.media_fetcher
    try:
        url = services.embeds.proxy_target(
            request.path_params["signature"], request.path_params["encoded"]
        )
    except NotFound as exc:
        return _failure(str(exc), exc.code, 404)
    if fetcher is None:
        return _failure("the media proxy is off", "NOT_FOUND", 404)
    try:
        got = await fetcher.fetch(url, headers={"Accept": "image/*"})
    except FetchRefused as exc:
        log.info("media_proxy.refused", reason=str(exc))
        return _failure("that media is not served", "NOT_FOUND", 404)
    except FetchError as exc:
        log.info("media_proxy.failed", reason=str(exc))
        return _failure("the media could not be fetched", "UNAVAILABLE", 502)
    sniffed = media.sniff(got.body[:8192])
    if sniffed not in media.IMAGE_TYPES.values():
        return _failure("that media is not an image", "NOT_FOUND", 404)
    return Response(
        got.body,
        media_type=sniffed,
        headers={
            "Cache-Control": f"public, max-age={CACHE_SECONDS}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


routes = [Route(PROXY_PATH + "/{signature}/{encoded}", serve, methods=["GET"])]
