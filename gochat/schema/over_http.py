"""GraphQL over HTTP: which media type a response gets and which status code goes with it.

The GraphQL-over-HTTP specification defines two response media types. With the legacy
`application/json` every well-formed request gets 200, whatever errors its body carries. With
`application/graphql-response+json` a request error (one raised before execution started:
parse, validation, variable coercion) gets a 4xx or 5xx status, and a response with a `data`
entry gets 200. In both, a request error has no `data` entry at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql.error import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
LEGACY_JSON = "application/json"


def negotiate(accept: str | None) -> str:
    """The response media type for an Accept header: `application/graphql-response+json` when
    the client ranks it at least as high as `application/json`, else `application/json` (also
    when the header is absent or names neither, as the specification allows)."""
    if not accept:
        return LEGACY_JSON
    best: dict[str, float] = {}
    for part in accept.split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_type = media_type.lower()
        if media_type in {GRAPHQL_RESPONSE_JSON, LEGACY_JSON} and quality > 0:
            best[media_type] = max(best.get(media_type, 0.0), quality)
    if GRAPHQL_RESPONSE_JSON in best and best[GRAPHQL_RESPONSE_JSON] >= best.get(LEGACY_JSON, 0):
        return GRAPHQL_RESPONSE_JSON
    return LEGACY_JSON


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """True when execution never started: no data, and no error belongs to a field (field
    errors always carry a `path`)."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def request_error_status(errors: Sequence[GraphQLError]) -> int:
    """The status of a request error under `application/graphql-response+json`."""
    codes = {(e.extensions or {}).get("code") for e in errors}
    if "INTERNAL" in codes:
        return 500
    if "UNAVAILABLE" in codes:
        return 503
    return 400
