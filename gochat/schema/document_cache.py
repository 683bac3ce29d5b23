"""Parsed and validated documents kept between requests, within a memory bound.

Strawberry's ParserCache and ValidationCache keep documents by text (the validation cache by
the parsed document, which the parser cache hands out once per text), so a client sending the
same operation again skips parsing and validation. A syntax tree weighs about 90 bytes per
character of its text (graphql-core keeps every token for error locations): a document at the
token limit is about 2 MB. Only documents up to CACHED_DOCUMENT_MAX_CHARS are kept, so the
cache's worst case is its size times about 0.75 MB however a client shapes its documents;
longer ones (rare in real clients) are parsed and validated per request, as without a cache.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.schema import validate_document

CACHED_DOCUMENT_MAX_CHARS = 8192


def cacheable(query: str | None) -> bool:
    return query is not None and len(query) <= CACHED_DOCUMENT_MAX_CHARS


class DocumentParserCache(ParserCache):
    def on_parse(self) -> Iterator[None]:
        if cacheable(self.execution_context.query):
            yield from super().on_parse()
        else:
            yield


class DocumentValidationCache(ValidationCache):
    def on_validate(self) -> Iterator[None]:
        if cacheable(self.execution_context.query):
            yield from super().on_validate()
            return
        # Validated here all the same (not by Strawberry after the hooks), so the checks that
        # follow this extension see the validation errors as for a cached document.
        execution = self.execution_context
        if execution.graphql_document is not None:
            execution.pre_execution_errors = validate_document(
                execution.schema._schema,
                execution.graphql_document,
                execution.validation_rules,
            )
        yield
