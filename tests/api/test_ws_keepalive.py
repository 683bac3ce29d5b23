"""WebSocket-level keep-alive (RFC 6455 ping and pong, below graphql-transport-ws): the server
pings every socket every `ws_ping_interval`, keeps those that answer, and closes with 1011 one
whose pong has not come `ws_ping_timeout` after its ping. A raw client, so that the test
decides whether pings are answered (client libraries answer them on their own)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import make_settings
from tests.support.server import RunningServer, run_server

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


@pytest.fixture
async def pinging_server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(database_url, tmp_path / "data")
    async with run_server(settings, ws_ping_interval=0.2, ws_ping_timeout=0.5) as running:
        yield running


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def send(self, opcode: int, payload: bytes) -> None:
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        self.writer.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    async def frame(self) -> tuple[int, bytes]:
        head = await self.reader.readexactly(2)
        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return head[0] & 0x0F, await self.reader.readexactly(length)


async def raw_connect(server: RunningServer) -> RawSocket:
    """An initialized graphql-transport-ws socket."""
    address = urlsplit(server.url)
    assert address.hostname is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response
    socket = RawSocket(reader, writer)
    socket.send(TEXT, b'{"type":"connection_init"}')
    while True:
        opcode, data = await socket.frame()
        if opcode == TEXT and json.loads(data)["type"] == "connection_ack":
            return socket


async def test_a_socket_that_answers_pings_stays_open(pinging_server: RunningServer) -> None:
    socket = await raw_connect(pinging_server)
    async with asyncio.timeout(30):
        answered = 0
        while answered < 3:
            opcode, data = await socket.frame()
            assert opcode != CLOSE, data
            if opcode == PING:
                socket.send(PONG, data)
                answered += 1
        socket.send(TEXT, b'{"type":"ping"}')
        while True:
            opcode, data = await socket.frame()
            assert opcode != CLOSE, data
            if opcode == PING:
                socket.send(PONG, data)
            elif opcode == TEXT and json.loads(data)["type"] == "pong":
                break
    socket.writer.close()


async def test_a_socket_that_does_not_answer_a_ping_is_closed_1011(
    pinging_server: RunningServer,
) -> None:
    socket = await raw_connect(pinging_server)
    pings = 0
    async with asyncio.timeout(30):
        while True:
            opcode, data = await socket.frame()
            if opcode == PING:
                pings += 1
            elif opcode == CLOSE:
                break
    assert pings == 1
    (code,) = struct.unpack("!H", data[:2])
    assert (code, data[2:].decode()) == (1011, "keepalive ping timeout")
    socket.writer.close()
