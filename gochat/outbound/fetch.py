"""The SSRF-safe fetcher: nothing else in GoChat connects to an address a user chose.

Every hop of a fetch is checked before a byte is sent: the URL must be http or https without
credentials; its host is resolved here, once, and every address it resolves to must be public
(not loopback, private, link-local such as 169.254.169.254, CGNAT, multicast, unspecified,
reserved, IPv6 ULA or link-local, nor an IPv6 form that wraps an IPv4 address: IPv4-mapped,
6to4, Teredo, NAT64); the connection then goes to the address that was checked, while the Host
header, TLS SNI and certificate check keep the name. There is no second lookup, so a name that
resolves to a public address and then to 127.0.0.1 (DNS rebinding) cannot lead anywhere
unchecked. Redirects are followed by hand, each hop checked the same way, five at most.
Environment proxies are ignored. A fetch reads at most `max_bytes` as sent and as decoded
(gzip or deflate only, inflated in bounded steps, so a small bomb cannot grow in memory) and
ends after `timeout_seconds` in all, lookups and redirects included.

Operators may allow networks (their internal hosts; the tests' loopback servers); nothing is
allowed by default.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message as HeaderParser
from typing import Protocol

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_AGENT = "GoChat-Embedder/1.0 (+link previews)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_READ_CHUNK = 64 << 10
# The transport is httpcore's, so its exceptions arrive unmapped.
_NETWORK_ERRORS = (
    httpx.HTTPError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
)


class FetchError(Exception):
    """The fetch did not give a usable answer (network, status, size, time, encoding)."""


class FetchRefused(FetchError):
    """The URL or an address it leads to is not one GoChat connects to."""


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    max_bytes: int = 2 << 20
    timeout_seconds: float = 10.0
    max_redirects: int = 5
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Networks fetched from even though they are not public (default: none)."""
    user_agent: str = USER_AGENT


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def refusal(address: IPAddress) -> str | None:
    """Why an address is never connected to, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if address.sixtofour is not None:
            return "a 6to4 address"
        if address.teredo is not None:
            return "a Teredo address"
        if address in _NAT64 or address in _NAT64_LOCAL:
            return "a NAT64 address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a CGNAT address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "a non-global address"),
    )
    for refused, why in checks:
        if refused:
            return why
    return None


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of `host`, in the order to try them; raise OSError when none."""
        ...


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
            if address not in found:
                found.append(address)
        return found


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    """Where the answer came from, after redirects."""
    status: int
    content_type: str
    """The media type, lower case, without parameters ("" when not sent)."""
    charset: str | None
    body: bytes
    truncated: bool = False
    """True when a `prefix` fetch stopped reading at max_bytes."""
    headers: Mapping[str, str] = field(default_factory=dict)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects a host only to the address that was checked for it."""

    def __init__(self, pins: dict[str, str]) -> None:
        self._pins = pins
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self._pins.get(host)
        if address is None:
            raise httpcore.ConnectError(f"{host} was not checked")
        return await self._inner.connect_tcp(
            address, port, timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncBaseTransport):
    def __init__(self, pins: dict[str, str], ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            network_backend=_PinnedBackend(pins),
            max_connections=4,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        answer = await self._pool.handle_async_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        assert isinstance(answer.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Stream(answer.stream),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner: typing.AsyncIterable[bytes]) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


class _Decoder:
    """Content-Encoding undone in bounded steps: never more than `limit` bytes out."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._limit = limit
        self.out = 0
        self._z: typing.Any = None
        if encoding == "gzip":
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise FetchError(f"unsupported content encoding {encoding!r}")

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            out = data
        else:
            try:
                out = self._z.decompress(data, self._limit - self.out + 1)
            except zlib.error as exc:
                raise FetchError("the body does not decode") from exc
        self.out += len(out)
        return out

    @property
    def backlog(self) -> bool:
        """Input left that the cap kept from being decoded."""
        return self._z is not None and bool(self._z.unconsumed_tail)


class Fetcher:
    def __init__(self, policy: FetchPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver or SystemResolver()
        # Loading the CA certificates costs milliseconds of CPU: once, not per fetch.
        self._ssl = httpx.create_ssl_context(trust_env=False)

    async def check(self, url: httpx.URL) -> str:
        """The address to connect to for `url`; FetchRefused when it may not be fetched."""
        if url.scheme not in ("http", "https"):
            raise FetchRefused(f"only http and https URLs are fetched, not {url.scheme!r}")
        if url.userinfo:
            raise FetchRefused("URLs with credentials are not fetched")
        host = url.raw_host.decode("ascii")
        if not host:
            raise FetchRefused("the URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses: Sequence[IPAddress] = [literal]
        else:
            try:
                addresses = await self._resolver.resolve(host, port)
            except OSError as exc:
                raise FetchError(f"{host} does not resolve") from exc
        if not addresses:
            raise FetchError(f"{host} does not resolve")
        for address in addresses:
            if any(address in net for net in self.policy.allowed_networks):
                continue
            why = refusal(address)
            if why is not None:
                raise FetchRefused(f"{host} resolves to {why}")
        return str(addresses[0])

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        prefix: bool = False,
        media_prefix_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        """GET `url`. Over `max_bytes` (default: the policy's) is a FetchError, unless `prefix`:
        then the first `max_bytes` decoded bytes are returned, marked truncated. With
        `media_prefix_bytes`, an image or video answer is read only that far (its header
        tells its dimensions; the rest is not downloaded)."""
        limit = min(max_bytes or self.policy.max_bytes, self.policy.max_bytes)
        try:
            async with asyncio.timeout(self.policy.timeout_seconds):
                return await self._fetch(
                    url,
                    limit,
                    prefix=prefix,
                    media_prefix_bytes=media_prefix_bytes,
                    headers=headers or {},
                )
        except TimeoutError as exc:
            raise FetchError("the fetch took too long") from exc

    async def _fetch(
        self,
        url: str,
        limit: int,
        *,
        prefix: bool,
        media_prefix_bytes: int | None,
        headers: Mapping[str, str],
    ) -> Fetched:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise FetchRefused("not a URL") from exc
        pins: dict[str, str] = {}
        async with httpx.AsyncClient(
            transport=_PinnedTransport(pins, self._ssl),
            trust_env=False,
            follow_redirects=False,
            timeout=self.policy.timeout_seconds,
        ) as client:
            for _ in range(self.policy.max_redirects + 1):
                pins[target.raw_host.decode("ascii")] = await self.check(target)
                request = client.build_request(
                    "GET",
                    target,
                    headers={
                        "User-Agent": self.policy.user_agent,
                        "Accept-Encoding": "gzip, deflate",
                        **headers,
                    },
                )
                try:
                    response = await client.send(request, stream=True)
                except _NETWORK_ERRORS as exc:
                    raise FetchError(f"could not fetch: {type(exc).__name__}") from exc
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECTS and location:
                        try:
                            target = target.join(location)
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise FetchRefused("a redirect to something not a URL") from exc
                        continue
                    if not 200 <= response.status_code < 300:
                        raise FetchError(f"the server answered {response.status_code}")
                    kind = response.headers.get("content-type", "").lower().lstrip()
                    if media_prefix_bytes is not None and kind.startswith(("image/", "video/")):
                        body, truncated = await self._read(
                            response, min(limit, media_prefix_bytes), prefix=True
                        )
                    else:
                        body, truncated = await self._read(response, limit, prefix=prefix)
                finally:
                    await response.aclose()
                return _fetched(target, response, body, truncated=truncated)
        raise FetchError(f"more than {self.policy.max_redirects} redirects")

    async def _read(
        self, response: httpx.Response, limit: int, *, prefix: bool
    ) -> tuple[bytes, bool]:
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if declared.isdigit() and int(declared) > limit and not prefix:
            raise FetchError(f"the body is over {limit} bytes")
        decoder = _Decoder(encoding, limit)
        parts: list[bytes] = []
        received = 0
        try:
            async for chunk in response.aiter_raw(_READ_CHUNK):
                received += len(chunk)
                parts.append(decoder.feed(chunk))
                if decoder.out > limit or decoder.backlog or received > limit:
                    if not prefix:
                        raise FetchError(f"the body is over {limit} bytes")
                    return b"".join(parts)[:limit], True
        except _NETWORK_ERRORS as exc:
            raise FetchError(f"the body broke off: {type(exc).__name__}") from exc
        return b"".join(parts), False


def _fetched(url: httpx.URL, response: httpx.Response, body: bytes, *, truncated: bool) -> Fetched:
    parser = HeaderParser()
    parser["content-type"] = response.headers.get("content-type", "")
    content_type = parser.get_content_type() if response.headers.get("content-type") else ""
    charset = parser.get_param("charset")
    return Fetched(
        url=str(url),
        status=response.status_code,
        content_type=content_type.lower(),
        charset=charset if isinstance(charset, str) else None,
        body=body,
        truncated=truncated,
        headers=dict(response.headers),
    )
