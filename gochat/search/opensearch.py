"""Search in OpenSearch (opensearch-py's async client), for a cluster.

Documents live in a versioned index, `<prefix>-messages-v<N>`, created from an index
template of the same version and read and written through the alias `<prefix>-messages`.
A change of mapping raises N: `gochat search reindex` creates the new index, fills it from
the message store while every writer writes to both (`begin_rebuild`), then moves the alias
in one step (`finish_rebuild`), so searches never stop. Versions are
OpenSearch's external versions: a write or delete with an older version than the stored one
is refused by the engine (a conflict, ignored here), and deletes leave tombstones for
`index.gc_deletes`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import structlog
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from gochat.errors import Unavailable
from gochat.ids import Snowflake
from gochat.search import (
    TOTAL_CAP,
    Has,
    SearchDocument,
    SearchQuery,
    SearchRemoval,
    SearchResult,
    Sort,
    Term,
)
from gochat.search.text import fold, is_cjk

log = structlog.get_logger("gochat.search")

MAPPING_VERSION = 1
_HAS_NAMES = {flag: (flag.name or "").lower() for flag in Has}
# How long a cached view of which indices take writes is trusted (a rebuild waits this
# long after adding its index before it copies).
WRITE_TARGETS_TTL_SECONDS = 5.0

TEMPLATE_BODY: dict[str, Any] = {
    "settings": {
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "refresh_interval": "1s",
        # Tombstones of deleted messages outlive any event delayed in a queue.
        "gc_deletes": "1h",
        "analysis": {
            "analyzer": {
                "gochat_text": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["cjk_width", "lowercase", "asciifolding", "cjk_bigram"],
                }
            }
        },
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "message_id": {"type": "long"},
            "channel_id": {"type": "keyword"},
            "guild_id": {"type": "keyword"},
            "author_id": {"type": "keyword"},
            "mention_user_ids": {"type": "keyword"},
            "has": {"type": "keyword"},
            "pinned": {"type": "boolean"},
            "content": {"type": "text", "analyzer": "gochat_text"},
        },
    },
}


def parse_url(url: str) -> tuple[str, str]:
    """(node URL, index prefix) from http(s)://[user:pass@]host:port[/prefix]."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("expected http(s)://[user:password@]host:port[/prefix]")
    prefix = parts.path.strip("/") or "gochat"
    if not prefix.replace("-", "").replace("_", "").isalnum() or prefix != prefix.lower():
        raise ValueError("the index prefix takes lower-case letters, digits, - and _")
    return f"{parts.scheme}://{parts.netloc}", prefix


def _text_clause(term: Term) -> dict[str, Any] | None:
    words = fold(term.text).split()
    if not words:
        return None
    joined = " ".join(words)
    if term.prefix or (len(words) == 1 and is_cjk(words[0]) and len(words[0]) == 1):
        return {"match_phrase_prefix": {"content": {"query": joined}}}
    if term.phrase or len(words) > 1:
        return {"match_phrase": {"content": {"query": joined}}}
    return {"match": {"content": {"query": joined, "operator": "and"}}}


def query_body(query: SearchQuery) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {"terms": {"channel_id": [str(c) for c in dict.fromkeys(query.channel_ids)]}}
    ]
    if query.author_ids:
        filters.append({"terms": {"author_id": [str(a) for a in query.author_ids]}})
    if query.mention_user_ids:
        filters.append({"terms": {"mention_user_ids": [str(u) for u in query.mention_user_ids]}})
    filters.extend({"term": {"has": name}} for flag, name in _HAS_NAMES.items() if query.has & flag)
    bounds: dict[str, int] = {}
    if query.min_id is not None:
        bounds["gt"] = query.min_id
    if query.max_id is not None:
        bounds["lt"] = query.max_id
    if bounds:
        filters.append({"range": {"message_id": bounds}})
    if query.pinned is not None:
        filters.append({"term": {"pinned": query.pinned}})
    must = [c for c in (_text_clause(t) for t in query.terms) if c is not None]
    sort: list[Any] = [{"message_id": "desc"}]
    if query.sort is Sort.RELEVANCE and must:
        sort = ["_score", {"message_id": "desc"}]
    return {
        "query": {"bool": {"filter": filters, "must": must}},
        "sort": sort,
        "size": query.limit,
        "from": query.offset,
        "track_total_hits": TOTAL_CAP,
        "_source": False,
    }


def _source(document: SearchDocument) -> dict[str, Any]:
    return {
        "message_id": document.message_id,
        "channel_id": str(document.channel_id),
        "guild_id": None if document.guild_id is None else str(document.guild_id),
        "author_id": str(document.author_id),
        "mention_user_ids": [str(u) for u in dict.fromkeys(document.mention_user_ids)],
        "has": [name for flag, name in _HAS_NAMES.items() if document.has & flag],
        "pinned": document.pinned,
        "content": document.content,
    }


class OpenSearchIndex:
    def __init__(self, client: AsyncOpenSearch, prefix: str) -> None:
        self._client = client
        self.alias = f"{prefix}-messages"
        self.next_alias = f"{prefix}-messages-next"
        self.template = f"{prefix}-messages"
        self.index_name = f"{prefix}-messages-v{MAPPING_VERSION}"
        self._targets: tuple[float, list[str]] | None = None

    @classmethod
    async def connect(cls, url: str, *, timeout_seconds: float = 10.0) -> OpenSearchIndex:
        node, prefix = parse_url(url)
        client = AsyncOpenSearch(
            hosts=[node], timeout=timeout_seconds, max_retries=0, retry_on_timeout=False
        )
        index = cls(client, prefix)
        try:
            await index.setup()
        except Unavailable:
            # Searches answer UNAVAILABLE until the node is back; setup runs again then.
            log.warning("search.opensearch_unreachable", node=node)
        except BaseException:
            await client.close()
            raise
        return index

    async def _call(self, what: str, call: Any) -> Any:
        try:
            return await call
        except OpenSearchConnectionError as exc:
            raise Unavailable(f"search engine unreachable ({what})") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status in {429, 502, 503, 504}:
                raise Unavailable(f"search engine busy or unavailable ({what})") from exc
            raise

    async def setup(self) -> None:
        """The template, and the index with its alias when there is none yet."""
        body = {
            "index_patterns": [f"{self.template}-v*"],
            "version": MAPPING_VERSION,
            "template": TEMPLATE_BODY,
        }
        await self._call(
            "template", self._client.indices.put_index_template(name=self.template, body=body)
        )
        exists = await self._call("alias", self._client.indices.exists_alias(name=self.alias))
        if exists:
            found = await self._alias_indices(self.alias)
            if self.index_name not in found:
                log.warning(
                    "search.reindex_needed",
                    serving=found,
                    wanted=self.index_name,
                    hint="run `gochat search reindex`",
                )
            return
        try:
            await self._call(
                "create index",
                self._client.indices.create(
                    index=self.index_name, body={"aliases": {self.alias: {"is_write_index": True}}}
                ),
            )
        except TransportError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    async def _alias_indices(self, alias: str) -> list[str]:
        try:
            found = await self._call("alias", self._client.indices.get_alias(name=alias))
        except NotFoundError:
            return []
        return sorted(found)

    async def _write_targets(self) -> list[str]:
        """The index behind the alias, and the one a rebuild is filling (if any)."""
        now = time.monotonic()
        if self._targets is not None and now - self._targets[0] < WRITE_TARGETS_TTL_SECONDS:
            return self._targets[1]
        targets = await self._alias_indices(self.alias)
        if not targets:
            await self.setup()
            targets = await self._alias_indices(self.alias)
        targets += [i for i in await self._alias_indices(self.next_alias) if i not in targets]
        self._targets = (now, targets)
        return targets

    async def ping(self) -> None:
        await self._call("ping", self._client.cluster.health(index=self.alias))

    async def _bulk(self, lines: list[dict[str, Any]]) -> None:
        if not lines:
            return
        answer = await self._call("bulk", self._client.bulk(body=lines))
        if not answer.get("errors"):
            return
        for item in answer["items"]:
            result = next(iter(item.values()))
            status = int(result.get("status", 200))
            # 409: a newer version is stored (or a newer delete); 404: deleting the missing.
            if status < 300 or status in {404, 409}:
                continue
            if status == 429 or status >= 500:
                raise Unavailable(f"search engine refused a write ({status})")
            raise RuntimeError(f"search engine refused a write: {result.get('error')}")

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        lines: list[dict[str, Any]] = []
        for target in await self._write_targets():
            for d in documents:
                lines.append(
                    {
                        "index": {
                            "_index": target,
                            "_id": str(d.message_id),
                            "version": d.version,
                            "version_type": "external",
                        }
                    }
                )
                lines.append(_source(d))
        await self._bulk(lines)

    async def delete(self, removals: Sequence[SearchRemoval]) -> None:
        lines: list[dict[str, Any]] = [
            {
                "delete": {
                    "_index": target,
                    "_id": str(r.message_id),
                    "version": r.version,
                    "version_type": "external",
                }
            }
            for target in await self._write_targets()
            for r in removals
        ]
        await self._bulk(lines)

    async def _delete_by(self, field: str, value: int) -> None:
        """Delete every document matching, page by page (delete-by-query is a module this
        adapter does not ask of the cluster): each with its own version, so a write that
        is newer than what was read survives."""
        for target in await self._write_targets():
            await self._call("refresh", self._client.indices.refresh(index=target))
            after: list[Any] | None = None
            while True:
                body: dict[str, Any] = {
                    "query": {"term": {field: str(value)}},
                    "sort": [{"message_id": "asc"}],
                    "size": 1000,
                    "version": True,
                    "_source": False,
                }
                if after is not None:
                    body["search_after"] = after
                answer = await self._call("search", self._client.search(index=target, body=body))
                hits = answer["hits"]["hits"]
                if not hits:
                    break
                await self._bulk(
                    [
                        {
                            "delete": {
                                "_index": target,
                                "_id": h["_id"],
                                "version": h["_version"],
                                "version_type": "external_gte",
                            }
                        }
                        for h in hits
                    ]
                )
                after = hits[-1]["sort"]

    async def delete_channel(self, channel_id: Snowflake) -> None:
        await self._delete_by("channel_id", channel_id)

    async def delete_guild(self, guild_id: Snowflake) -> None:
        await self._delete_by("guild_id", guild_id)

    async def search(self, query: SearchQuery) -> SearchResult:
        if not query.channel_ids:
            return SearchResult()
        answer = await self._call(
            "search", self._client.search(index=self.alias, body=query_body(query))
        )
        hits = answer["hits"]
        return SearchResult(
            message_ids=[Snowflake(int(h["_id"])) for h in hits["hits"]],
            total=min(int(hits["total"]["value"]), TOTAL_CAP),
        )

    async def begin_rebuild(self) -> bool:
        """When the alias serves an index of an older mapping version: create this version's
        index and have every writer write to it too (through the `-next` alias), so a rebuild
        can fill it while searches go on; True then. False when the alias already serves
        this version."""
        serving = await self._alias_indices(self.alias)
        if self.index_name in serving:
            return False
        exists = await self._call("exists", self._client.indices.exists(index=self.index_name))
        if not exists:
            await self._call("create index", self._client.indices.create(index=self.index_name))
        await self._call(
            "alias",
            self._client.indices.put_alias(index=self.index_name, name=self.next_alias),
        )
        self._targets = None
        return True

    async def finish_rebuild(self) -> None:
        """Serve the rebuilt index: move the alias to it in one step, then drop the old."""
        old = [i for i in await self._alias_indices(self.alias) if i != self.index_name]
        actions: list[dict[str, Any]] = [
            {"remove": {"index": i, "alias": self.alias}} for i in old
        ] + [
            {"add": {"index": self.index_name, "alias": self.alias, "is_write_index": True}},
            {"remove": {"index": self.index_name, "alias": self.next_alias}},
        ]
        await self._call("alias", self._client.indices.update_aliases(body={"actions": actions}))
        self._targets = None
        for index in old:
            await self._call("drop index", self._client.indices.delete(index=index))

    async def refresh(self) -> None:
        for target in await self._write_targets():
            await self._call("refresh", self._client.indices.refresh(index=target))

    async def count(self) -> int:
        answer = await self._call("count", self._client.count(index=self.alias))
        return int(answer["count"])

    async def close(self) -> None:
        await self._client.close()
