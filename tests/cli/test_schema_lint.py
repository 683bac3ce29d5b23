"""The schema's house rules, checked on the code's own schema (the one schema.graphql holds):
descriptions everywhere, names, one input and one payload per mutation, Relay connections."""

from __future__ import annotations

import re

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_list_type,
    is_non_null_type,
)

from gochat.graphql_schema import build_schema

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def _own_types(schema: GraphQLSchema) -> list[GraphQLNamedType]:
    return [t for n, t in schema.type_map.items() if not n.startswith("__") and n not in BUILT_IN]


def _fields(t: GraphQLNamedType) -> dict[str, object]:
    if isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
        return dict(t.fields)
    return {}


def test_every_type_field_argument_and_value_is_described(schema: GraphQLSchema) -> None:
    missing: list[str] = []
    for t in _own_types(schema):
        if not t.description:
            missing.append(t.name)
        for name, field in _fields(t).items():
            if not getattr(field, "description", None):
                missing.append(f"{t.name}.{name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{t.name}.{name}({arg_name})")
        if isinstance(t, GraphQLEnumType):
            missing += [f"{t.name}.{v}" for v, value in t.values.items() if not value.description]
    assert missing == [], f"{len(missing)} without a description: {missing[:40]}"


def test_names_follow_the_graphql_conventions(schema: GraphQLSchema) -> None:
    wrong: list[str] = []
    for t in _own_types(schema):
        if not PASCAL.match(t.name):
            wrong.append(t.name)
        for name, field in _fields(t).items():
            if not CAMEL.match(name):
                wrong.append(f"{t.name}.{name}")
            wrong += [
                f"{t.name}.{name}({a})" for a in getattr(field, "args", {}) if not CAMEL.match(a)
            ]
        if isinstance(t, GraphQLEnumType):
            wrong += [f"{t.name}.{v}" for v in t.values if not UPPER_SNAKE.match(v)]
    assert wrong == []


def test_each_mutation_has_its_own_input_and_payload(schema: GraphQLSchema) -> None:
    assert schema.mutation_type is not None
    wrong: list[str] = []
    for name, field in schema.mutation_type.fields.items():
        stem = name[0].upper() + name[1:]
        args = {a: str(arg.type) for a, arg in field.args.items()}
        if str(field.type) != f"{stem}Payload!":
            wrong.append(f"{name} returns {field.type}, not {stem}Payload!")
        if args not in ({}, {"input": f"{stem}Input!"}):
            wrong.append(f"{name} takes {args}, not input: {stem}Input!")
    assert wrong == []


def _is_connection(field: GraphQLField) -> bool:
    return get_named_type(field.type).name.endswith("Connection")


def test_connections_are_relay_connections(schema: GraphQLSchema) -> None:
    wrong: list[str] = []
    for t in _own_types(schema):
        if t.name.endswith("Connection") and isinstance(t, GraphQLObjectType):
            edges, page_info = t.fields.get("edges"), t.fields.get("pageInfo")
            if edges is None or not (
                is_non_null_type(edges.type) and is_list_type(edges.type.of_type)
            ):
                wrong.append(f"{t.name}.edges is not a non-null list")
                continue
            edge = get_named_type(edges.type)
            if page_info is None or str(page_info.type) != "PageInfo!":
                wrong.append(f"{t.name}.pageInfo is not PageInfo!")
            if not isinstance(edge, GraphQLObjectType) or not edge.name.endswith("Edge"):
                wrong.append(f"{t.name}.edges are not Edges")
                continue
            if (
                "node" not in edge.fields
                or str(edge.fields.get("cursor", "").type if "cursor" in edge.fields else "")
                != "String!"
            ):
                wrong.append(f"{edge.name} lacks node or cursor: String!")
        for name, field in _fields(t).items():
            if isinstance(field, GraphQLField) and _is_connection(field):
                # Forward pagination always; backward pagination is optional, but whole.
                args = set(field.args)
                if not {"first", "after"} <= args or ("last" in args) != ("before" in args):
                    wrong.append(f"{t.name}.{name} pages with {sorted(args)}")
    assert wrong == []
