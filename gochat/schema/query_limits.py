"""Query cost limits on every operation, before it runs: queries and mutations (over HTTP and
over the WebSocket) through the schema extension, subscriptions by the WebSocket transport
through `admit_operation`. The cost comes from `query_cost`, the limits from the domain's
QueryCostService (a budget per operation, and cost points per caller per window)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from graphql import DocumentNode, GraphQLSchema
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from gochat.domain.services import Services
from gochat.errors import GoChatError, Unauthenticated
from gochat.ids import Snowflake
from gochat.schema.context import Context
from gochat.schema.query_cost import OperationTooLarge, QueryCostAnalysis

_ANALYSES: WeakKeyDictionary[GraphQLSchema, QueryCostAnalysis] = WeakKeyDictionary()


def analysis_for(schema: GraphQLSchema) -> QueryCostAnalysis:
    """The cost analysis of a schema, built once (it measures the schema's type system)."""
    analysis = _ANALYSES.get(schema)
    if analysis is None:
        analysis = _ANALYSES[schema] = QueryCostAnalysis(schema)
    return analysis


async def admit_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    services: Services,
    user_id: Snowflake | None,
    ip: str,
) -> int:
    """Compute the operation's cost and let it run, or raise QueryTooComplex (over the
    budget) or QueryCostRateLimited (the caller's window is spent). Returns the cost."""
    costs = services.query_costs
    try:
        cost = analysis_for(schema).cost(
            document, operation_name=operation_name, variables=variables
        )
    except OperationTooLarge:
        raise costs.too_large() from None
    await costs.admit(cost, user_id=user_id, ip=ip)
    return cost


async def caller_id(context: Context) -> Snowflake | None:
    """Who is charged: the signed-in user, or None (the address) without a valid token."""
    if context.ws_viewer is not None:
        return context.ws_viewer.user_id
    if not context.bearer_token:
        return None
    try:
        viewer = await context.viewer()
    except Unauthenticated:
        return None
    return viewer.user_id


class QueryCostLimiter(SchemaExtension):
    """Refuses, before execution, an operation over the cost budget or over its caller's
    cost rate; nothing of a refused operation runs."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if document is not None and isinstance(context, Context):
            try:
                await admit_operation(
                    execution.schema._schema,
                    document,
                    operation_name=execution.operation_name,
                    variables=execution.variables,
                    services=context.services,
                    user_id=await caller_id(context),
                    ip=context.client.ip,
                )
            except GoChatError as exc:
                # A result set before execution replaces it (strawberry runs nothing then).
                execution.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(exc.message, original_error=exc)]
                )
        yield
