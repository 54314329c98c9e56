"""An open-loop HTTP/1.1 load generator and an instant loopback stub, for the server benches.

Open loop: requests start on a fixed schedule whatever the server does, so a slow server shows
up as latency (measured from the scheduled start), not as a lower offered rate. Keep-alive
connections are reused; a new one is opened only when every open one is busy. Plain asyncio
streams on uvloop: one core drives several thousand requests per second.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

CHAT_BODY = {
    "id": "chatcmpl-stub", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    """Latencies in seconds of the requests that finished, and what went wrong."""

    rate: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    sent: int = 0  # warm-up included
    unanswered: int = 0  # warm-up included

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def p50(self) -> float:
        return self.pct(0.50)

    @property
    def p99(self) -> float:
        return self.pct(0.99)

    @property
    def achieved(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict[str, Any]:
        return {"rate": self.rate, "done": len(self.latencies), "errors": self.errors,
                "p50_ms": round(self.p50 * 1000, 3), "p99_ms": round(self.p99 * 1000, 3),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3) if self.latencies else None,
                "statuses": self.statuses}


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"content-length:")
        if start >= 0:
            end = lower.find(b"\r\n", start)
            await self.reader.readexactly(int(lower[start + 15:end]))
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        return status


def build_request(host: str, port: int, path: str, body: Any, headers: dict[str, str] | None = None) -> bytes:
    data = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def open_loop(host: str, port: int, raw: bytes, rate: float, duration: float,
                    warmup: float = 0.5, more: list[tuple[int, bytes]] | None = None) -> Result:
    """Send ``raw`` at ``rate`` per second for ``duration`` seconds; latency from schedule.
    With ``more`` (other ``(port, raw)`` targets), requests go round-robin over all of them."""
    targets = [(port, raw), *(more or [])]
    pools: dict[int, list[_Conn]] = {p: [] for p, _ in targets}
    result = Result(rate)
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def one(scheduled: float, record: bool, port: int, raw: bytes) -> None:
        idle = pools[port]
        reused = bool(idle)
        conn = idle.pop() if idle else _Conn(*await asyncio.open_connection(host, port))
        try:
            try:
                status = await conn.request(raw)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # A keep-alive connection the server closed while idle: resend on a new one,
                # as HTTP clients do. Anything else is an error of the server's.
                partial = getattr(exc, "partial", b"")
                if not reused or partial:
                    raise
                conn.writer.close()
                conn = _Conn(*await asyncio.open_connection(host, port))
                status = await conn.request(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            conn.writer.close()
            result.unanswered += 1
            if record:
                result.errors += 1
            return
        idle.append(conn)
        if record:
            result.latencies.append(time.perf_counter() - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1

    interval = 1.0 / rate
    start = time.perf_counter()  # uvloop's loop.time() ticks in whole milliseconds
    total = int((duration + warmup) * rate)
    result.sent = total
    for i in range(total):
        scheduled = start + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(scheduled, i >= warmup * rate, *targets[i % len(targets)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    result.elapsed = duration
    for idle in pools.values():
        for conn in idle:
            conn.writer.close()
    return result


async def closed_loop(host: str, port: int, raw: bytes, concurrency: int, duration: float) -> Result:
    """``concurrency`` connections each sending back to back: the server's throughput."""
    result = Result(0)
    stop = time.perf_counter() + duration

    async def worker() -> None:
        conn = _Conn(*await asyncio.open_connection(host, port))
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                status = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError):
                result.errors += 1
                return
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        conn.writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    result.rate = result.achieved
    return result


class _StubProtocol(asyncio.Protocol):
    """Answers every request on the connection with the same canned response, at once."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(self.response)


def stub_response(body: Any = CHAT_BODY) -> bytes:
    data = json.dumps(body).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(data)).encode() + b"\r\n\r\n" + data)


def serve_stub(port: int, body: Any = CHAT_BODY) -> None:
    """Run the instant stub (blocking; meant for a child process)."""
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        response = stub_response(body)
        server = await loop.create_server(lambda: _StubProtocol(response), "127.0.0.1", port,
                                          backlog=4096)
        await server.serve_forever()

    uvloop.run(main())


if __name__ == "__main__":
    import sys

    serve_stub(int(sys.argv[1]))
