"""The CQL adapter (cassandra-driver) for Apache Cassandra and ScyllaDB: message timelines.

URL: cql://host1,host2[:port]/keyspace[?replication_factor=N]. Driver errors become GoChat's
vocabulary here, in `_translated` only; the driver's callbacks are bridged onto the event loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cassandra import ConsistencyLevel, DriverException, RequestValidationException
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.connection import ConnectionBusy, ConnectionException
from cassandra.io.libevreactor import LibevConnection
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import SimpleStatement

from gochat.errors import Unavailable

_KEYSPACE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
# The driver's default backs off to 10 minutes between reconnections: a node back after an
# outage would stay unused (and /ready at 503) for that long.
RECONNECT_BASE_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0
PING_TIMEOUT_SECONDS = 2.0

# Failures of the cluster or the network, not of the statement: NoHostAvailable (every node
# down or refusing) and the connection errors are not DriverExceptions. OperationTimedOut,
# Unavailable, Read/WriteTimeout and the coordinator failures are.
_TRANSIENT = (NoHostAvailable, ConnectionException, ConnectionBusy, OSError, DriverException)


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """The one place driver errors become GoChat's: an outage is Unavailable; a statement the
    node rejects (RequestValidationException: a bug here, not an outage) stays unexpected."""
    try:
        yield
    except RequestValidationException:
        raise
    except _TRANSIENT as exc:
        raise Unavailable(f"message store {what}") from exc


@dataclass(frozen=True, slots=True)
class CqlTarget:
    hosts: list[str]
    port: int
    keyspace: str
    replication_factor: int


def parse_url(url: str) -> CqlTarget:
    parts = urlsplit(url)
    if parts.scheme != "cql" or not parts.netloc or not parts.path.strip("/"):
        raise ValueError("expected cql://host1,host2[:port]/keyspace")
    hosts_part = parts.netloc
    port = 9042
    if ":" in hosts_part.rsplit(",", 1)[-1]:
        hosts_part, _, raw_port = hosts_part.rpartition(":")
        port = int(raw_port)
    rf = int(parse_qs(parts.query).get("replication_factor", ["1"])[0])
    keyspace = parts.path.strip("/")
    if not _KEYSPACE.match(keyspace):
        raise ValueError("a keyspace name has 1-48 of a-z, 0-9 and _, starting with a letter")
    return CqlTarget(hosts_part.split(","), port, keyspace, rf)


def consistency_level(name: str) -> int:
    """The driver's value of a consistency level named as in settings (`local_quorum`)."""
    try:
        return int(ConsistencyLevel.name_to_value[name.upper()])
    except KeyError:
        raise ValueError(f"unknown consistency level {name!r}") from None


class CqlSession:
    """One driver session and its prepared statements, usable from asyncio."""

    def __init__(
        self,
        target: CqlTarget,
        *,
        consistency: str = "local_quorum",
        serial_consistency: str = "local_serial",
    ) -> None:
        """Every statement runs at `consistency` (writes, and the reads that decide: a claim,
        whether a message exists), and the conditions of lightweight transactions at
        `serial_consistency`, unless a statement sets its own."""
        self.target = target
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
            consistency_level=consistency_level(consistency),
            serial_consistency_level=consistency_level(serial_consistency),
        )
        self._cluster = Cluster(
            target.hosts,
            port=target.port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            connection_class=LibevConnection,
            protocol_version=5,
            reconnection_policy=ExponentialReconnectionPolicy(
                RECONNECT_BASE_SECONDS, RECONNECT_MAX_SECONDS, max_attempts=None
            ),
        )
        self.session: Session | None = None
        self._prepared: dict[str, Any] = {}
        self._preparing = asyncio.Lock()

    async def connect(self) -> None:
        with _translated("unreachable"):
            self.session = await asyncio.to_thread(self._cluster.connect)

    async def close(self) -> None:
        await asyncio.to_thread(self._cluster.shutdown)

    async def prepare(self, cql: str) -> Any:
        statement = self._prepared.get(cql)
        if statement is None:
            async with self._preparing:
                statement = self._prepared.get(cql)
                if statement is None:
                    assert self.session is not None
                    with _translated("error"):
                        statement = await asyncio.to_thread(self.session.prepare, cql)
                    self._prepared[cql] = statement
        return statement

    async def ping(self) -> None:
        """Raise Unavailable unless a node answers a query."""
        await self.execute(
            "SELECT release_version FROM system.local", request_timeout=PING_TIMEOUT_SECONDS
        )

    async def execute(
        self,
        cql: str | Any,
        params: Sequence[Any] = (),
        *,
        prepared: bool = True,
        request_timeout: float | None = None,
    ) -> list[Any]:
        """Run a statement and return the rows of its first page. CQL text is prepared once,
        unless `prepared` is False (DDL, which is run as a simple statement with %s params).
        `request_timeout` (seconds) replaces the driver's default request timeout."""
        assert self.session is not None
        if isinstance(cql, str):
            statement = await self.prepare(cql) if prepared else SimpleStatement(cql)
        else:
            statement = cql
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Any]] = loop.create_future()
        with _translated("error"):
            options: dict[str, Any] = {}
            if request_timeout is not None:
                options["timeout"] = request_timeout
            future = self.session.execute_async(statement, list(params), **options)

        def ok(rows: Any) -> None:
            loop.call_soon_threadsafe(_settle, done, list(rows or []), None)

        def failed(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_settle, done, None, exc)

        future.add_callbacks(ok, failed)
        with _translated("error"):
            return await done


def _settle(
    future: asyncio.Future[list[Any]], rows: list[Any] | None, exc: BaseException | None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(rows or [])
