"""The SSRF-safe fetcher against local page servers. 127.0.0.2 stands for a public host: it is
the only network these tests allow; 127.0.0.1 stands for an internal one."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import time
import tracemalloc

import pytest

from gochat.outbound.fetch import (
    Fetcher,
    FetchError,
    FetchPolicy,
    FetchRefused,
    IPAddress,
    parse_networks,
    refusal,
)
from tests.support.pages import Page, PageServer, page_server

PUBLIC = "127.0.0.2"
INTERNAL = "127.0.0.1"


class Names:
    """A resolver that answers from a table, each name's answers in turn (the last one
    repeats), and counts the lookups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        answers = self.table.get(host)
        if not answers:
            raise OSError("no such name")
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ipaddress.ip_address(answer)]


def fetcher(*, resolver: Names | None = None, **policy: object) -> Fetcher:
    values: dict[str, object] = {"allowed_networks": parse_networks([f"{PUBLIC}/32"])}
    values.update(policy)
    return Fetcher(FetchPolicy(**values), resolver)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "0.0.0.0",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "64:ff9b::7f00:1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:secret@example.com/",
        "http:///nohost",
    ],
)
async def test_other_schemes_and_credentials_are_refused_before_any_lookup(url: str) -> None:
    names = Names({"example.com": [PUBLIC]})
    with pytest.raises(FetchRefused):
        await fetcher(resolver=names).fetch(url)
    assert names.lookups == []


async def test_the_default_policy_never_connects_to_loopback() -> None:
    async with page_server(INTERNAL, {"/": Page(b"<title>secret</title>")}) as internal:
        plain = Fetcher(FetchPolicy())
        for url in (internal.url("/"), f"http://localhost:{internal.port}/"):
            with pytest.raises(FetchRefused):
                await plain.fetch(url)
        assert internal.requests == []


async def test_a_page_is_fetched_with_its_host_header_and_type() -> None:
    async with page_server(PUBLIC, {"/a": Page(b"<p>hi</p>")}) as public:
        names = Names({"public.test": [PUBLIC]})
        got = await fetcher(resolver=names).fetch(f"http://public.test:{public.port}/a")
        assert got.body == b"<p>hi</p>" and got.status == 200
        assert got.content_type == "text/html" and got.charset == "utf-8"
        assert public.requests[0][1]["host"] == f"public.test:{public.port}"
        assert names.lookups == ["public.test"]


async def test_a_name_that_rebinds_to_loopback_never_reaches_it() -> None:
    """The first answer is checked and connected to; a second lookup would say 127.0.0.1."""
    async with (
        page_server(PUBLIC, {"/": Page(b"public")}) as public,
        page_server(INTERNAL, {"/": Page(b"internal")}) as internal,
    ):
        names = Names({"rebind.test": [PUBLIC, INTERNAL]})
        got = await fetcher(resolver=names).fetch(f"http://rebind.test:{public.port}/")
        assert got.body == b"public"
        assert names.lookups == ["rebind.test"]
        assert internal.requests == []
        # Asked again, the name answers 127.0.0.1 only: refused, still without a connection.
        internal.pages["/"] = Page(b"internal")
        with pytest.raises(FetchRefused):
            await fetcher(resolver=names).fetch(f"http://rebind.test:{internal.port}/")
        assert internal.requests == []


async def _redirect_chain(public: PageServer, target: str) -> None:
    public.pages["/start"] = Page(status=302, headers={"Location": "/hop"}, content_type=None)
    public.pages["/hop"] = Page(status=301, headers={"Location": target}, content_type=None)


@pytest.mark.parametrize("target", ["loopback", "metadata", "name-to-loopback"])
async def test_every_redirect_hop_is_checked(target: str) -> None:
    async with (
        page_server(PUBLIC) as public,
        page_server(INTERNAL, {"/latest/meta-data/": Page(b"keys")}) as internal,
    ):
        location = {
            "loopback": internal.url("/latest/meta-data/"),
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "name-to-loopback": f"http://internal.test:{internal.port}/latest/meta-data/",
        }[target]
        await _redirect_chain(public, location)
        names = Names({"internal.test": [INTERNAL]})
        with pytest.raises(FetchRefused):
            await fetcher(resolver=names).fetch(public.url("/start"))
        assert public.paths == ["/start", "/hop"]
        assert internal.requests == []


async def test_redirects_are_followed_five_times_at_most() -> None:
    async with page_server(PUBLIC) as public:
        for i in range(7):
            public.pages[f"/r{i}"] = Page(status=307, headers={"Location": f"/r{i + 1}"})
        public.pages["/r7"] = Page(b"end")
        public.pages["/loop"] = Page(status=302, headers={"Location": "/loop"})
        with pytest.raises(FetchError, match="redirects"):
            await fetcher().fetch(public.url("/loop"))
        assert public.paths.count("/loop") == 6
        with pytest.raises(FetchError, match="redirects"):
            await fetcher().fetch(public.url("/r0"))
        public.requests.clear()
        got = await fetcher().fetch(public.url("/r2"))
        assert got.body == b"end" and got.url.endswith("/r7")


async def test_a_huge_page_is_refused_by_its_length_and_by_what_arrives() -> None:
    big = b"x" * (3 << 20)

    async def unannounced(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
        for _ in range(48):
            writer.write(b"y" * (64 << 10))
            await writer.drain()
        writer.close()

    async with page_server(PUBLIC, {"/big": Page(big), "/stream": unannounced}) as public:
        with pytest.raises(FetchError, match="over"):
            await fetcher().fetch(public.url("/big"))
        with pytest.raises(FetchError, match="over"):
            await fetcher().fetch(public.url("/stream"))
        head = await fetcher().fetch(public.url("/stream"), max_bytes=1000, prefix=True)
        assert head.truncated and head.body == b"y" * 1000


async def test_a_gzip_bomb_is_stopped_at_the_decoded_cap_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (200 << 20), compresslevel=9)
    assert len(bomb) < (1 << 20)
    page = Page(bomb, headers={"Content-Encoding": "gzip"})
    async with page_server(
        PUBLIC,
        {
            "/bomb": page,
            "/ok": Page(gzip.compress(b"<p>small</p>"), headers={"Content-Encoding": "gzip"}),
        },
    ) as public:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="over"):
                await fetcher().fetch(public.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 32 << 20
        assert (await fetcher().fetch(public.url("/ok"))).body == b"<p>small</p>"


async def test_a_slow_page_ends_at_the_time_cap() -> None:
    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    async with page_server(PUBLIC, {"/slow": trickle}) as public:
        started = time.monotonic()
        with pytest.raises(FetchError, match="too long"):
            await fetcher(timeout_seconds=1.0).fetch(public.url("/slow"))
        assert time.monotonic() - started < 5


async def test_error_statuses_are_fetch_errors() -> None:
    async with page_server(PUBLIC, {"/gone": Page(b"", status=410)}) as public:
        with pytest.raises(FetchError, match="410"):
            await fetcher().fetch(public.url("/gone"))
