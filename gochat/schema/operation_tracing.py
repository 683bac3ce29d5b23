"""A span per GraphQL operation, when traces are on (gochat/tracing.py).

One span for the whole operation, named after its type and name (or, unnamed, its first root
field), current while it runs so the SQL, Redis and httpx spans of its resolvers nest under
it. No span per resolver: a resolve hook would wrap every field of every result, a cost paid
even by fields that only read an attribute; the root fields are recorded as an attribute.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from opentelemetry import context, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension


class OperationTracing(SchemaExtension):
    def __init__(self, *, tracer: Tracer) -> None:
        self._tracer = tracer

    def on_operation(self) -> Iterator[None]:
        parent = trace.get_current_span().get_span_context().is_valid
        span = self._tracer.start_span(
            "GraphQL operation", kind=SpanKind.INTERNAL if parent else SpanKind.SERVER
        )
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        except Exception as exc:  # a failure before execution (a syntax error) ends it here
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            context.detach(token)
            self._finish(span)

    def _finish(self, span: trace.Span) -> None:
        execution = self.execution_context
        operation = _operation(execution.graphql_document, execution.operation_name)
        if operation is not None:
            kind = operation.operation.value
            roots = [
                s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)
            ]
            name = operation.name.value if operation.name else (roots[0] if roots else "")
            span.update_name(f"{kind} {name}".strip())
            span.set_attribute("graphql.operation.type", kind)
            if operation.name:
                span.set_attribute("graphql.operation.name", operation.name.value)
            span.set_attribute("graphql.root_fields", roots)
        result = execution.result
        errors = (result.errors if result is not None else None) or execution.pre_execution_errors
        if errors:
            codes = sorted(
                {str((e.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")) for e in errors}
            )
            span.set_attribute("graphql.error_codes", codes)
            span.set_status(Status(StatusCode.ERROR, ", ".join(codes)))
        span.end()


def _operation(document: object, name: str | None) -> OperationDefinitionNode | None:
    """The operation run: the one named, or the only one."""
    operations = [
        d
        for d in getattr(document, "definitions", None) or ()
        if isinstance(d, OperationDefinitionNode)
        and (name is None or (d.name is not None and d.name.value == name))
    ]
    return operations[0] if len(operations) == 1 else None


__all__ = ["OperationTracing"]
