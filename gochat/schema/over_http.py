"""GraphQL over HTTP: which media type a response gets and which status code goes with it.

The GraphQL-over-HTTP specification defines two response media types. With the legacy
`application/json` every well-formed request gets 200, whatever errors its body carries. With
`application/graphql-response+json` a request error (one raised before execution started:
parse, validation, variable coercion) gets a 4xx or 5xx status, and a response with a `data`
entry gets 200. In both, a request error has no `data` entry at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from graphql.error import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
LEGACY_JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when it names no type we serve
    (the specification recommends 406 then).

    The type the client ranks highest wins, the first listed on a tie. Without an Accept header
    the response is `application/graphql-response+json`, the specification's default since
    2025; a bare wildcard (`*/*`, which curl and browsers send) gets `application/json`, which
    every legacy client reads.
    """
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        media_type = media_type.lower()
        chosen = {
            GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
            LEGACY_JSON: LEGACY_JSON,
            "application/*": LEGACY_JSON,
            "*/*": LEGACY_JSON,
        }.get(media_type)
        quality = _quality(params)
        if chosen is None or quality <= 0:
            continue
        # Rank: quality first, then the client's order; a wildcard ranks below a named type.
        rank = (quality, -position - (1000 if "*" in media_type else 0), chosen)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return None if best is None else best[2]


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """True when execution never started: no data, and no error belongs to a field (field
    errors always carry a `path`)."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def request_error_status(errors: Sequence[GraphQLError]) -> tuple[int, dict[str, str]]:
    """The status (and headers) of a request error under `application/graphql-response+json`:
    a server fault first, then a refusal to serve the caller, else a bad request."""
    extensions = [e.extensions or {} for e in errors]
    codes = {ext.get("code") for ext in extensions}
    if "INTERNAL" in codes:
        return 500, {}
    if "UNAVAILABLE" in codes:
        return 503, {}
    if "RATE_LIMITED" in codes:
        waits = [ext.get("retryAfterSeconds") for ext in extensions]
        seconds = max((w for w in waits if isinstance(w, int | float)), default=1)
        return 429, {"retry-after": str(max(1, math.ceil(seconds)))}
    return 400, {}
