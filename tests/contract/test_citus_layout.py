"""The SQL schema stays Citus-ready: checked on the SQLAlchemy metadata the migrations create,
against the placement plan in gochat/storage/sql/citus.py (no Citus package runs here).

Citus requires of a distributed table that its primary key and unique constraints include the
distribution column, and that a foreign key between distributed tables joins co-located tables
on their distribution columns (a foreign key to a reference table is always allowed). On top of
that, GoChat's rule: guild-scoped tables are distributed by guild_id, user-scoped ones by the
user's id, so that a guild's or a user's queries are single-shard.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import ForeignKeyConstraint, Table, UniqueConstraint

from gochat.storage.sql import citus
from gochat.storage.sql.tables import metadata

DOCS = Path(__file__).resolve().parents[2] / "docs" / "citus.md"

# Tables with a guild_id column that are not distributed by it, and why.
GUILD_ID_ELSEWHERE = {
    "invites": "looked up by code alone by whoever holds the invite, before any guild is known",
    "messages": "direct messages have no guild; history is read by channel",
    "mentions": "one user's mentions across guilds and direct messages, read by that user",
    "uploads": "an upload slot is the uploader's before it belongs anywhere; read by id",
    "channel_directory": "resolves a channel id to its guild from anywhere: a reference table",
    "background_tasks": "a task is read by id and by the scan of unfinished ones; its guild is input",
}

# User-scoped tables whose user column has another name: the first of the pair it orders.
USER_COLUMN_ALIASES = {
    "friend_requests": "from_id",  # the sender's outgoing requests; to_id is indexed
    "dm_pairs": "user_low",  # the pair (user_low, user_high) makes a 1:1 DM unique
}


def _table(name: str) -> Table:
    return metadata.tables[name]


def _group_anchor(name: str) -> str:
    plan = citus.DISTRIBUTED[name]
    return name if plan.colocate_with is None else _group_anchor(plan.colocate_with)


def test_every_table_is_placed_once() -> None:
    placed = list(citus.DISTRIBUTED) + list(citus.REFERENCE)
    assert len(placed) == len(set(placed)), "a table is placed twice"
    assert set(placed) == set(metadata.tables), (
        "place new tables in gochat/storage/sql/citus.py: "
        f"unplaced {sorted(set(metadata.tables) - set(placed))}, "
        f"unknown {sorted(set(placed) - set(metadata.tables))}"
    )


@pytest.mark.parametrize("name", sorted(citus.DISTRIBUTED))
def test_distribution_column_is_in_the_primary_key_and_every_unique_key(name: str) -> None:
    table = _table(name)
    column = citus.DISTRIBUTED[name].column
    assert column in table.primary_key.columns, f"{name}: {column} not in its primary key"
    uniques = [set(c.columns.keys()) for c in table.constraints if isinstance(c, UniqueConstraint)]
    uniques += [{c.name for c in table.columns if c.unique}]
    uniques += [set(i.columns.keys()) for i in table.indexes if i.unique]
    for key in uniques:
        if key and key != set(table.primary_key.columns.keys()):
            assert column in key, f"{name}: unique {sorted(key)} lacks {column}"


def test_guild_scoped_tables_are_distributed_by_guild_id() -> None:
    for name, plan in citus.GUILD_GROUP.items():
        expected = "id" if name == "guilds" else "guild_id"
        assert plan.column == expected and _group_anchor(name) == "guilds", name
    for name, table in metadata.tables.items():
        if "guild_id" in table.columns and name not in citus.GUILD_GROUP:
            assert name in GUILD_ID_ELSEWHERE, f"{name} has guild_id: place it by guild"


def test_user_scoped_tables_are_distributed_by_the_user() -> None:
    for name, plan in citus.USER_GROUP.items():
        assert plan.column == USER_COLUMN_ALIASES.get(name, "user_id"), name
        assert _group_anchor(name) == "user_settings", name


@pytest.mark.parametrize("name", sorted(metadata.tables))
def test_foreign_keys_join_co_located_tables_on_their_distribution_column(name: str) -> None:
    table = _table(name)
    for fk in (c for c in table.constraints if isinstance(c, ForeignKeyConstraint)):
        target = fk.referred_table.name
        if fk.name in citus.DROPPED_FOREIGN_KEYS:
            continue
        if target in citus.REFERENCE:
            assert name not in citus.REFERENCE or target in citus.REFERENCE, fk.name
            continue
        assert name in citus.DISTRIBUTED and target in citus.DISTRIBUTED, fk.name
        assert _group_anchor(name) == _group_anchor(target), f"{fk.name}: not co-located"
        pairs = {(e.parent.name, e.column.name) for e in fk.elements}
        own, theirs = citus.DISTRIBUTED[name].column, citus.DISTRIBUTED[target].column
        assert (own, theirs) in pairs, f"{fk.name}: does not join {own} to {target}.{theirs}"


def test_co_located_distribution_columns_share_a_type() -> None:
    for name, plan in citus.DISTRIBUTED.items():
        anchor = _group_anchor(name)
        mine = _table(name).columns[plan.column].type
        theirs = _table(anchor).columns[citus.DISTRIBUTED[anchor].column].type
        assert type(mine) is type(theirs), f"{name}.{plan.column} vs {anchor}"


def test_dropped_foreign_keys_exist() -> None:
    names = {
        c.name
        for t in metadata.tables.values()
        for c in t.constraints
        if isinstance(c, ForeignKeyConstraint)
    }
    assert set(citus.DROPPED_FOREIGN_KEYS) <= names


def test_the_documented_calls_are_the_plan() -> None:
    text = DOCS.read_text()
    start = text.index("```sql\n") + len("```sql\n")
    documented = text[start : text.index("```", start)].strip().splitlines()
    assert documented == citus.statements(), "regenerate the block in docs/citus.md"
