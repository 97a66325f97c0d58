"""Light HTTP/1.1 for the benchmarks, on asyncio streams: a keep-alive client pool and a
receiver. httpx and ``http.server`` (a thread per request) cost the load generator and
the receivers as much CPU as the server they measure; on a 2-core machine that CPU is
taken from Tocsin and shows as its latency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message with a ``Content-Length`` body: (start line, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    start, _, headers = head.partition(b"\r\n")
    length = 0
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return start, body


def request_bytes(method: str, path: str, host: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Pool:
    """Keep-alive connections to one server, opened as needed, reused when free.

    A connection idle for longer than ``IDLE_SECONDS`` is closed rather than reused: the
    server may be closing it just then (uvicorn's keep-alive lasts 5 s), and a request
    sent on it would get no answer."""

    IDLE_SECONDS = 2.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send a whole request; the answer's status and body."""
        reader, writer = await self._connection()
        writer.write(raw)
        start, body = await read_message(reader)
        self._idle.append((reader, writer, time.monotonic()))
        return int(start.split(b" ", 2)[1]), body

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


async def receiver(on_body: Callable[[bytes], None]) -> asyncio.Server:
    """A server on a free loopback port answering every request ``200``; ``on_body`` gets
    each request's body as it arrives."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, body = await read_message(reader)
                on_body(body)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)
