"""The GraphiQL page, served with its assets from the package (no request to any other host).

The assets are the pinned npm builds in `gochat/static/graphiql/` (see its NOTICE.md); the page
and its start-up script are ours. The Content-Security-Policy lets the page reach this server
only, so a stray reference to a CDN fails loudly in the browser console instead of silently
depending on the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_PAGE = Path(__file__).resolve().parent / "graphiql.html"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # GraphiQL's components set inline styles.
        "style-src 'self' 'unsafe-inline'",
        # Its fonts are data: URLs inside graphiql.min.css.
        "font-src 'self' data:",
        "img-src 'self' data:",
        # 'self' covers ws:/wss: to this host: the subscription socket.
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


@cache
def _page() -> str:
    return _PAGE.read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, for a browser's GET of the GraphQL endpoint."""
    return HTMLResponse(
        _page(),
        headers={
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
    )


def static_mount() -> Mount:
    """`/static`: the GraphiQL assets and the page's start-up script."""
    return Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")
