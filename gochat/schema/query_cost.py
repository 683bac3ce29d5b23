"""The static cost of a GraphQL operation, computed from its document before anything runs.

The cost approximates the objects an operation makes the server load: every field that
returns an object counts 1, multiplied by the size of each list it sits in; scalars are free.
A connection (`messages(last: 100)`) multiplies its edges by the page asked for (the resolver's
default when no size is given, its maximum when more is asked); a plain list by the bound the
domain enforces (20 reactions on a message, 50 pins) or, where there is none, by a fixed
estimate (`LIST_SIZES`). Fragments are expanded where they are spread and aliases count each,
so neither hides a repeated field; selections that GraphQL merges into one field (the same
response key in one selection set) are counted once, as they run once. Variables count with
the values sent. On a union or interface only one branch runs per object: the costliest counts.

Introspection is counted the same way, with the sizes of this schema's own type system.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    value_from_ast_untyped,
)
from graphql.language import ValueNode
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from gochat.domain.direct_messages import GROUP_MAX
from gochat.domain.messages import PAGE_MAX
from gochat.domain.pins import MAX_PINS
from gochat.domain.reactions import MAX_EMOJI_PER_MESSAGE
from gochat.domain.search import PAGE_DEFAULT as SEARCH_PAGE_DEFAULT
from gochat.domain.search import PAGE_MAX as SEARCH_PAGE_MAX


@dataclass(frozen=True, slots=True)
class Page:
    """How a connection field sizes its page: `first`/`last`, else `default`, at most
    `maximum` (the resolver refuses more, so more never loads)."""

    default: int = 50
    maximum: int = PAGE_MAX


# Connection fields whose page differs from Page(); every other *Connection uses Page().
PAGES: dict[tuple[str, str], Page] = {
    # Threads of a channel and members of a thread: pages of 1-100, 50 by default.
    ("TextChannel", "threads"): Page(),
    ("ThreadChannel", "members"): Page(),
    ("Query", "searchMessages"): Page(default=SEARCH_PAGE_DEFAULT, maximum=SEARCH_PAGE_MAX),
}

# Lists without page arguments: the domain's bound where it has one, else what a busy account
# or guild plausibly holds (the cost is an estimate; the budget leaves room above it).
LIST_SIZES: dict[tuple[str, str], int] = {
    ("Message", "reactions"): MAX_EMOJI_PER_MESSAGE,
    ("TextBasedChannel", "pins"): MAX_PINS,  # text channels and threads
    ("DirectMessageChannel", "recipients"): GROUP_MAX,
    ("Channel", "overwrites"): 10,
    ("Channel", "invites"): 10,
    ("CurrentUser", "guilds"): 20,
    ("CurrentUser", "directMessageChannels"): 20,
    ("CurrentUser", "friends"): 20,
    ("CurrentUser", "blockedUsers"): 10,
    ("CurrentUser", "readStates"): 50,
    ("FriendRequests", "incoming"): 10,
    ("FriendRequests", "outgoing"): 10,
    ("Guild", "channels"): 20,
    ("Guild", "roles"): 10,
    ("Guild", "bans"): 20,
    ("Guild", "invites"): 10,
    ("Guild", "emoji"): 20,
    ("Guild", "voiceStates"): 20,
    ("VoiceChannel", "voiceStates"): 20,
    ("Member", "roles"): 5,
    ("ChannelsReordered", "channels"): 20,
    ("ReorderChannelsPayload", "channels"): 20,
    ("RolesReordered", "roles"): 10,
    ("ReorderRolesPayload", "roles"): 10,
}

# Lists sized by a list argument: (argument, its most items).
SIZED_BY_ARGUMENT: dict[tuple[str, str], tuple[str, int]] = {
    ("Query", "presences"): ("userIds", 100),
    ("Query", "nodes"): ("ids", 100),
}

DEFAULT_LIST_SIZE = 10

# Past this many fields (counted in the document with its fragments expanded, not in the
# data) the analysis stops: GraphiQL's introspection query has about 230.
MAX_VISITS = 2_000


class OperationTooLarge(Exception):
    """The operation expands (fragments spread into fragments, under aliases) to more fields
    than any client reads; its cost was not computed to the end."""

    def __init__(self) -> None:
        super().__init__(f"the operation expands to more than {MAX_VISITS} fields")


_UNKNOWN = -1  # an argument whose value cannot be read statically: count the maximum


class QueryCostAnalysis:
    """Costs of operations against one schema; built once, used for every request."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._list_sizes: dict[tuple[str, str], float] = {
            **LIST_SIZES,
            **_introspection_sizes(schema),
        }
        # A size given for an interface's field holds for that field on every implementation
        # (a selection inside `... on TextChannel` names the object type, not `Channel`).
        for (owner, field), size in list(self._list_sizes.items()):
            found = schema.get_type(owner)
            if isinstance(found, GraphQLInterfaceType):
                for implementation in schema.get_implementations(found).objects:
                    self._list_sizes.setdefault((implementation.name, field), size)

    def cost(
        self,
        document: DocumentNode,
        *,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> int:
        """The cost of the operation the request runs (by name, or the only one); 0 when
        there is no such operation (execution reports that itself)."""
        operation: OperationDefinitionNode | None = None
        fragments: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode) and (
                operation_name is None
                or (definition.name is not None and definition.name.value == operation_name)
            ):
                operation = definition
        root = None if operation is None else self.schema.get_root_type(operation.operation)
        if operation is None or root is None:
            return 0
        walk = _Walk(self, fragments, _variable_values(operation, variables or {}))
        return math.ceil(walk.selections(root, [operation.selection_set], page=None))


class _Walk:
    def __init__(
        self,
        analysis: QueryCostAnalysis,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = analysis.schema
        self.list_sizes = analysis._list_sizes
        self.fragments = fragments
        self.variables = variables
        self.visits = 0

    def selections(
        self, parent: GraphQLCompositeType, sets: Sequence[SelectionSetNode], *, page: int | None
    ) -> float:
        """The cost of the merged selection sets on one object of type `parent`; `page` is
        the page size when `parent` is a connection (it sizes the connection's lists)."""
        runtime_types: list[GraphQLObjectType | None]
        if is_abstract_type(parent):
            runtime_types = [None, *self._named_object_types(parent, sets)]
        else:
            assert isinstance(parent, GraphQLObjectType)
            runtime_types = [parent]
        best = 0.0
        for runtime in runtime_types:
            fields: dict[str, list[tuple[GraphQLCompositeType, FieldNode]]] = {}
            self._collect(parent, runtime, sets, fields, visited=set())
            total = sum(self._field(group, page=page) for group in fields.values())
            best = max(best, total)
        return best

    def _collect(
        self,
        owner: GraphQLCompositeType,
        runtime: GraphQLObjectType | None,
        sets: Sequence[SelectionSetNode],
        into: dict[str, list[tuple[GraphQLCompositeType, FieldNode]]],
        *,
        visited: set[str],
    ) -> None:
        # As execution collects fields: by response key, through the fragments that apply to
        # the object's type, each named fragment once per selection set.
        for selection_set in sets:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    into.setdefault(key, []).append((owner, selection))
                    continue
                if isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in visited:
                        continue
                    visited.add(name)
                    condition = self._type(fragment.type_condition.name.value, owner)
                    inner = fragment.selection_set
                elif isinstance(selection, InlineFragmentNode):
                    condition = owner
                    if selection.type_condition is not None:
                        condition = self._type(selection.type_condition.name.value, owner)
                    inner = selection.selection_set
                else:  # pragma: no cover - the three kinds of selection
                    continue
                if self._applies(condition, runtime):
                    self._collect(condition, runtime, [inner], into, visited=visited)

    def _field(
        self, group: list[tuple[GraphQLCompositeType, FieldNode]], *, page: int | None
    ) -> float:
        owner, node = group[0]
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise OperationTooLarge
        name = node.name.value
        definition = _field_definition(owner, name)
        if definition is None:
            return 0
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        named = get_named_type(field_type)
        if is_leaf_type(named):
            return 0
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        # A single object counts 1, or its expected count where the table has one (below 1
        # for introspection's ofType, which is null at the end of every type reference).
        size = self.list_sizes.get((owner.name, name), 1.0)
        if isinstance(field_type, GraphQLList):
            size = page if page is not None else self._list_size(owner.name, node)
        child_page = None
        if named.name.endswith("Connection"):
            child_page = self._page(PAGES.get((owner.name, name), Page()), node)
        sets = [n.selection_set for _, n in group if n.selection_set is not None]
        return size * (1 + self.selections(named, sets, page=child_page))

    def _list_size(self, owner: str, node: FieldNode) -> float:
        sized = SIZED_BY_ARGUMENT.get((owner, node.name.value))
        if sized is not None:
            argument, most = sized
            length = self._list_length(node, argument)
            return most if length == _UNKNOWN else max(min(length, most), 1)
        return self.list_sizes.get((owner, node.name.value), DEFAULT_LIST_SIZE)

    def _page(self, page: Page, node: FieldNode) -> int:
        asked = [self._int_argument(node, name) for name in ("first", "last")]
        if _UNKNOWN in asked:
            return page.maximum
        given = [n for n in asked if n is not None]
        size = max(given) if given else page.default
        return max(min(size, page.maximum), 1)

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self._value(argument.value)
        return None

    def _value(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, NullValueNode):
            return None
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return [self._value(item) for item in value.values]
        return _UNKNOWN

    def _int_argument(self, node: FieldNode, name: str) -> int | None:
        value = self._argument(node, name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return _UNKNOWN

    def _list_length(self, node: FieldNode, name: str) -> int:
        value = self._argument(node, name)
        return len(value) if isinstance(value, list) else _UNKNOWN

    def _type(self, name: str, fallback: GraphQLCompositeType) -> GraphQLCompositeType:
        found = self.schema.get_type(name)
        if isinstance(found, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return found
        return fallback

    def _applies(self, condition: GraphQLCompositeType, runtime: GraphQLObjectType | None) -> bool:
        if runtime is None:
            # The branch for objects matched by no concrete condition: fragments on abstract
            # types (interfaces, unions) may still apply to them.
            return is_abstract_type(condition)
        if condition is runtime:
            return True
        return isinstance(
            condition, GraphQLInterfaceType | GraphQLUnionType
        ) and self.schema.is_sub_type(condition, runtime)

    def _named_object_types(
        self, parent: GraphQLCompositeType, sets: Sequence[SelectionSetNode]
    ) -> list[GraphQLObjectType]:
        """Object types named by the fragments in these selection sets that `parent` can be."""
        found: dict[str, GraphQLObjectType] = {}
        pending = list(sets)
        seen: set[str] = set()
        while pending:
            for selection in pending.pop().selections:
                condition = None
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is None or fragment.name.value in seen:
                        continue
                    seen.add(fragment.name.value)
                    condition = fragment.type_condition
                    pending.append(fragment.selection_set)
                if condition is None:
                    continue
                named = self.schema.get_type(condition.name.value)
                if (
                    isinstance(named, GraphQLObjectType)
                    and isinstance(parent, GraphQLInterfaceType | GraphQLUnionType)
                    and self.schema.is_sub_type(parent, named)
                ):
                    found[named.name] = named
        return list(found.values())


def _field_definition(owner: GraphQLCompositeType, name: str) -> GraphQLField | None:
    if name == "__typename":
        return None
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = owner.fields.get(name)
        return found
    return None


def _variable_values(operation: OperationDefinitionNode, sent: Mapping[str, Any]) -> dict[str, Any]:
    """The values sent, with the operation's defaults for those not sent."""
    values = dict(sent)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


def _introspection_sizes(schema: GraphQLSchema) -> dict[tuple[str, str], float]:
    """The mean sizes of this schema's introspection lists, over every type (a list that is
    null for a kind of type counts as empty), and how often `ofType` is not null."""
    types = list(schema.type_map.values())
    objects = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [f for t in objects for f in t.fields.values()]
    arguments = [a for f in fields for a in f.args.values()]
    wrappers = [_wrappers(ref.type) for ref in [*fields, *arguments]]
    mean_wrappers = sum(wrappers) / max(len(wrappers), 1)

    def mean(total: int) -> float:
        return total / max(len(types), 1)

    return {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): mean(sum(len(t.fields) for t in objects)),
        ("__Type", "interfaces"): mean(sum(len(t.interfaces) for t in objects)),
        ("__Type", "inputFields"): mean(
            sum(len(t.fields) for t in types if isinstance(t, GraphQLInputObjectType))
        ),
        ("__Type", "enumValues"): mean(
            sum(len(t.values) for t in types if isinstance(t, GraphQLEnumType))
        ),
        ("__Type", "possibleTypes"): mean(
            sum(len(t.types) for t in types if isinstance(t, GraphQLUnionType))
        ),
        ("__Field", "args"): len(arguments) / max(len(fields), 1),
        ("__Directive", "args"): sum(len(d.args) for d in schema.directives)
        / max(len(schema.directives), 1),
        # A chain of w wrappers has w non-null ofType links out of w + 1 type references.
        ("__Type", "ofType"): mean_wrappers / (1 + mean_wrappers),
    }


def _wrappers(type_: Any) -> int:
    count = 0
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        count += 1
        type_ = type_.of_type
    return count
