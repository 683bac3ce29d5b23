"""Assembles the one GraphQL schema from every area's resolvers and subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import strawberry
from graphql import specified_rules
from graphql.error import GraphQLError
from opentelemetry.trace import Tracer
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gochat.resolvers.account_lifecycle import AccountLifecycleMutation
from gochat.resolvers.accounts import AccountMutation, AccountQuery
from gochat.resolvers.attachments import AttachmentMutation
from gochat.resolvers.direct_messages import DirectMessageMutation, DirectMessageQuery
from gochat.resolvers.guilds import GuildMutation, GuildQuery
from gochat.resolvers.messages import MessageMutation, MessageQuery
from gochat.resolvers.node import NodeQuery
from gochat.resolvers.presence import PresenceMutation, PresenceQuery
from gochat.resolvers.search import SearchMessagesQuery
from gochat.resolvers.threads import ThreadMutation
from gochat.resolvers.voice import VoiceMutation, VoiceQuery
from gochat.schema.channels import CHANNEL_KINDS
from gochat.schema.document_cache import DocumentParserCache, DocumentValidationCache
from gochat.schema.errors import ErrorTranslation, translate
from gochat.schema.operation_metrics import OperationMetrics
from gochat.schema.operation_tracing import OperationTracing
from gochat.schema.query_limits import QueryCostLimiter
from gochat.schema.request_checks import RequestChecks
from gochat.schema.scalars import SCALAR_MAP
from gochat.schema.sibling_fields import install as wait_for_sibling_fields
from gochat.subscriptions.events import EventsSubscription
from gochat.subscriptions.presence import PresenceSubscription


@strawberry.type(description="Everything a client can read.")
class Query(
    AccountQuery,
    GuildQuery,
    MessageQuery,
    DirectMessageQuery,
    PresenceQuery,
    VoiceQuery,
    NodeQuery,
    SearchMessagesQuery,
):
    pass


@strawberry.type(description="Everything a client can change.")
class Mutation(
    AccountMutation,
    AccountLifecycleMutation,
    GuildMutation,
    MessageMutation,
    DirectMessageMutation,
    PresenceMutation,
    AttachmentMutation,
    ThreadMutation,
    VoiceMutation,
):
    pass


@strawberry.type(description="Live streams over graphql-transport-ws (or legacy graphql-ws).")
class Subscription(EventsSubscription, PresenceSubscription):
    pass


class GoChatSchema(strawberry.Schema):
    live_validation_rules: list[Any]
    live_max_tokens: int

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Every transport passes its errors through here (subscriptions included): translate
        # them in place. Unexpected ones are logged once, with the request id; expected ones
        # (bad input, permissions) are not errors of the server and are not logged.
        context = getattr(execution_context, "context", None)
        request_id = getattr(context, "request_id", None)
        for error in errors:
            translate(error, request_id=request_id)


wait_for_sibling_fields()


def build_schema(
    *,
    max_depth: int = 12,
    max_tokens: int = 5000,
    max_aliases: int = 30,
    introspection: bool = True,
    document_cache_size: int = 256,
    tracer: Tracer | None = None,
) -> GoChatSchema:
    # The limit rules are built once per schema: validation results are then cacheable per
    # document (a fresh rule class per request would defeat ValidationCache's key).
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,
        ErrorTranslation,
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(AddValidationRules, rules),
        partial(DocumentParserCache, maxsize=document_cache_size),
        partial(DocumentValidationCache, maxsize=document_cache_size),
        # After the validation cache, whose errors it extends.
        RequestChecks,
        # After validation, before execution: the cost needs the variables' values.
        QueryCostLimiter,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if tracer is not None:
        # Outermost, so its span covers parsing and validation and sees translated errors.
        extensions.insert(0, partial(OperationTracing, tracer=tracer))
    schema = GoChatSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        types=CHANNEL_KINDS,
    )
    # The WebSocket transport validates subscription documents itself, with the same limits.
    schema.live_validation_rules = [*specified_rules, *rules]
    schema.live_max_tokens = max_tokens
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"


__all__: list[Any] = ["build_schema", "schema_sdl"]
