"""A lean HTTP/1.1 keep-alive client on asyncio, for load generation.

httpx is the project's client, but as a load generator on a 2-core machine it costs about
0.7 ms of CPU per request (and its shared connection pool degrades with 50 concurrent
requests): it would take more of the machine than the server it measures. This client does
only what a load generator needs — one request at a time per connection, `Content-Length`
bodies — in about a tenth of that CPU. Same wire format, same server work.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    """The connection failed or the answer could not be read."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._try_complete()

    def _try_complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            self.waiter.set_exception(HttpError(f"bad status line {lines[0]!r}"))
            return
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            lowered = name.strip().lower()
            if lowered == "content-length":
                length = int(value.strip())
            elif lowered == "transfer-encoding":
                self.waiter.set_exception(HttpError("chunked answers are not supported"))
                return
            elif lowered == "connection" and value.strip().lower() == "close":
                close = True
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        self.waiter.set_result((status, body, close))


class Connection:
    """One keep-alive connection to `host:port`, reopened when the server closes it."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._protocol: _Protocol | None = None

    async def _connected(self) -> _Protocol:
        if self._protocol is None or self._protocol.closed:
            loop = asyncio.get_running_loop()
            _, protocol = await loop.create_connection(_Protocol, self.host, self.port)
            self._protocol = protocol
        return self._protocol

    async def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 30
    ) -> tuple[int, bytes]:
        """Send one request; return the status and the body."""
        protocol = await self._connected()
        loop = asyncio.get_running_loop()
        protocol.waiter = loop.create_future()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        assert protocol.transport is not None
        protocol.transport.write(head.encode("latin-1") + b"\r\n" + (body or b""))
        try:
            status, data, close = await asyncio.wait_for(protocol.waiter, timeout)
        except TimeoutError:
            self.close()
            raise HttpError("timed out") from None
        if close:
            self.close()
        return status, data

    async def request_json(
        self, method: str, path: str, payload: Any = None, timeout: float = 30
    ) -> tuple[int, Any]:
        """Send a JSON body (or none); return the status and the decoded JSON answer."""
        body = None if payload is None else json.dumps(payload).encode()
        status, data = await self.request(method, path, body, timeout)
        return status, json.loads(data) if data else None

    def close(self) -> None:
        """Close the connection."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None
