"""Latency and error counts of GraphQL operations, for /metrics (gochat/metrics.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from gochat import metrics

_UNKNOWN = "-"


class OperationMetrics(SchemaExtension):
    """Listed first, so it times the whole operation and sees its errors translated."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        execution = self.execution_context
        kind, field = _labels(execution.graphql_document, execution.schema._schema)
        metrics.graphql_seconds.labels(kind, field).observe(time.perf_counter() - started)
        result = execution.result
        errors = (result.errors if result is not None else None) or execution.pre_execution_errors
        for error in errors or ():
            code = (error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")
            metrics.graphql_errors.labels(str(code)).inc()


def _labels(document: object, schema: object) -> tuple[str, str]:
    """(operation type, first root field): the field only when the schema has it, so a
    client cannot grow the label set."""
    definitions = getattr(document, "definitions", None)
    if not definitions:
        return _UNKNOWN, _UNKNOWN
    operation = next((d for d in definitions if isinstance(d, OperationDefinitionNode)), None)
    if operation is None:
        return _UNKNOWN, _UNKNOWN
    kind = operation.operation.value
    root = getattr(schema, "get_root_type", None)
    root_type = root(operation.operation) if root is not None else None
    first = next((s for s in operation.selection_set.selections if isinstance(s, FieldNode)), None)
    if first is None or root_type is None or first.name.value not in root_type.fields:
        return kind, _UNKNOWN
    return kind, first.name.value
