"""``RedisLink`` on the wire: pipelining, replies split across reads, error replies, NOSCRIPT,
timeouts, a connection lost mid-pipeline, the circuit and its recovery; a real Redis where a
real one can show it, a scripted loopback server where the exact bytes matter."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import redis

from llmrelay.redis_link import RedisDown, RedisLink, ReplyError, Script
from llmrelay.redis_link.resp import _Parser

from ..services import REDIS_PREFIX, RedisServer, free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class ScriptedRedis:
    """A loopback server that answers what each test scripts, byte for byte."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.url = ""
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self.connections)
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()


async def read_commands(reader: asyncio.StreamReader, count: int) -> list[list[bytes]]:
    """The next ``count`` commands a client sent (they are RESP arrays too)."""
    parser = _Parser()
    got: list[Any] = []
    while len(got) < count:
        data = await reader.read(65536)
        if not data:
            raise ConnectionError("client went away")
        got += parser.replies(data)
    return got


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Handler], Awaitable[ScriptedRedis]]]:
    servers: list[ScriptedRedis] = []

    async def make(handler: Handler) -> ScriptedRedis:
        server = ScriptedRedis(handler)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


class Watcher:
    def __init__(self, link: RedisLink) -> None:
        self.downs: list[str] = []
        self.ups: list[float] = []
        link.watch(lambda exc: self.downs.append(type(exc).__name__), self.ups.append)


def lua(tmp_path: Path, name: str, source: str) -> Script:
    path = tmp_path / name
    path.write_text(source)
    return Script(path)


# ---- bytes on the wire (scripted server) --------------------------------------------------


async def test_calls_made_together_leave_as_one_pipeline_and_replies_may_come_in_pieces(
        scripted: Any) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        commands = await read_commands(reader, 3)  # all three before any reply: one pipeline
        assert [c[0] for c in commands] == [b"INCR", b"GET", b"LRANGE"]
        for piece in (b":1\r\n$5\r\nhel", b"lo\r\n*2\r\n:", b"1\r", b"\n:2\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        await reader.read()

    server = await scripted(handler)
    link = RedisLink(server.url, timeout=2.0)
    results = await asyncio.gather(link.command("INCR", "n"), link.command("GET", "k"),
                                   link.command("LRANGE", "l", 0, -1))
    assert results == [1, b"hello", [1, 2]]
    assert server.connections == 1 and link.up
    await link.close()


async def test_a_connection_lost_mid_pipeline_fails_that_pipeline_and_what_queued_behind(
        scripted: Any) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if n == 1:
            await read_commands(reader, 2)
            writer.write(b":1\r\n$10\r\npart")  # one reply and a half, then the server is gone
            await writer.drain()
            return
        while True:
            for _ in await read_commands(reader, 1):
                writer.write(b"+PONG\r\n")

    server = await scripted(handler)
    link = RedisLink(server.url, timeout=2.0, retry_every=0.2)
    watcher = Watcher(link)
    first = [link.command("INCR", "a"), link.command("GET", "b")]
    await asyncio.sleep(0)  # the first pipeline leaves; this one queues behind it
    queued = link.command("GET", "c")
    for future in (*first, queued):
        with pytest.raises(RedisDown):
            await future
    assert watcher.downs == ["ConnectionError"] and not link.up
    started = time.monotonic()
    with pytest.raises(RedisDown, match="circuit open"):  # no new connection meanwhile
        await link.command("PING")
    assert time.monotonic() - started < 0.05 and server.connections == 1
    await asyncio.sleep(0.25)
    assert await link.command("PING") == b"PONG"  # a fresh connection after the circuit
    assert server.connections == 2 and link.up
    assert watcher.downs == ["ConnectionError"] and len(watcher.ups) == 1 and watcher.ups[0] > 0.2
    await link.close()


async def test_no_reply_within_the_timeout_is_redis_down(scripted: Any) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_commands(reader, 1)
        await asyncio.sleep(5)  # never answers

    server = await scripted(handler)
    link = RedisLink(server.url, timeout=0.1)
    watcher = Watcher(link)
    started = time.monotonic()
    with pytest.raises(RedisDown, match="TimeoutError"):
        await link.command("GET", "k")
    assert 0.09 < time.monotonic() - started < 0.5
    assert watcher.downs == ["TimeoutError"] and link.open_circuit()
    await link.close()


async def test_a_stream_that_is_not_resp_drops_the_connection(scripted: Any) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_commands(reader, 1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await scripted(handler)
    link = RedisLink(server.url, timeout=1.0)
    with pytest.raises(RedisDown):
        await link.command("GET", "k")
    await link.close()


async def test_nothing_listening_is_redis_down_at_once() -> None:
    link = RedisLink(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(RedisDown):
        await link.command("PING")
    assert time.monotonic() - started < 0.5
    await link.close()


# ---- a real Redis -------------------------------------------------------------------------


async def test_many_calls_at_once_get_their_own_replies(redis_url: str, tmp_path: Path) -> None:
    link = RedisLink(redis_url)
    key = f"{REDIS_PREFIX}:link:{uuid.uuid4().hex[:8]}"
    echo = lua(tmp_path, "echo.lua", "return {ARGV[1], tonumber(ARGV[2]) * 2}")
    calls = [link.command("INCR", key) for _ in range(50)]
    calls += [link.script(echo, [f"v{i}", i]) for i in range(50)]
    results = await asyncio.gather(*calls)
    assert results[:50] == list(range(1, 51))  # in the order they were issued
    assert results[50:] == [[b"v%d" % i, 2 * i] for i in range(50)]
    await link.command("DEL", key)
    await link.close()


async def test_a_failing_script_fails_its_caller_only(redis_url: str, tmp_path: Path) -> None:
    link = RedisLink(redis_url)
    boom = lua(tmp_path, "boom.lua", "return redis.error_reply('boom: ' .. ARGV[1])")
    ok = lua(tmp_path, "ok.lua", "return ARGV[1]")
    results = await asyncio.gather(link.script(ok, ["a"]), link.script(boom, ["x"]),
                                   link.command("PING"), return_exceptions=True)
    assert results[0] == b"a" and results[2] == b"PONG"
    assert isinstance(results[1], ReplyError) and "boom: x" in str(results[1])
    assert link.up  # an error reply is an answer
    await link.close()


async def test_scripts_flushed_or_a_new_redis_are_loaded_again(throwaway_redis: RedisServer,
                                                              tmp_path: Path) -> None:
    link = RedisLink(throwaway_redis.url)
    one = lua(tmp_path, "one.lua", "return 'one:' .. ARGV[1]")
    two = lua(tmp_path, "two.lua", "return 'two:' .. ARGV[1]")
    assert await link.script(one, ["a"]) == b"one:a"
    client = redis.Redis.from_url(throwaway_redis.url)
    client.script_flush()
    # Both scripts missing in one pipeline, one of them twice: each loaded once, all answered.
    results = await asyncio.gather(link.script(one, ["b"]), link.script(two, ["c"]),
                                   link.command("PING"), link.script(one, ["d"]))
    assert results == [b"one:b", b"two:c", b"PONG", b"one:d"]
    assert client.script_exists(one.sha, two.sha) == [True, True]
    client.close()
    await link.close()


async def test_password_and_database_from_the_url(throwaway_redis: RedisServer) -> None:
    client = redis.Redis.from_url(throwaway_redis.url)
    client.config_set("requirepass", "s3cret")
    url = f"redis://:s3cret@127.0.0.1:{throwaway_redis.port}/2"
    link = RedisLink(url)
    assert "s3cret" not in repr(link)
    assert await link.command("SET", "k", "in db 2") == b"OK"
    authed = redis.Redis.from_url(url)
    assert authed.get("k") == b"in db 2"
    assert redis.Redis.from_url(f"redis://:s3cret@127.0.0.1:{throwaway_redis.port}/0").get("k") is None
    wrong = RedisLink(f"redis://:nope@127.0.0.1:{throwaway_redis.port}/0")
    watcher = Watcher(wrong)
    with pytest.raises(RedisDown):
        await wrong.command("PING")
    assert watcher.downs == ["ConnectionError"]
    authed.close()
    client.close()
    await link.close()
    await wrong.close()


async def test_redis_killed_mid_pipeline_then_started_again(throwaway_redis: RedisServer,
                                                             tmp_path: Path) -> None:
    link = RedisLink(throwaway_redis.url, timeout=2.0, retry_every=0.2)
    watcher = Watcher(link)
    busy = lua(tmp_path, "busy.lua", (
        "local t0 = redis.call('TIME') local s0 = t0[1] + t0[2] / 1e6 "
        "repeat local t = redis.call('TIME') until t[1] + t[2] / 1e6 - s0 > 0.5 return 1"))
    quick = lua(tmp_path, "quick.lua", "return 7")
    assert await link.script(quick, []) == 7
    on_the_wire = asyncio.gather(link.script(busy, []), link.command("PING"),
                                 return_exceptions=True)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    throwaway_redis.kill()
    results = await on_the_wire
    assert all(isinstance(r, RedisDown) for r in results)
    assert time.monotonic() - started < 0.5  # the loss is seen at once, not at the timeout
    assert watcher.downs == ["ConnectionError"]
    throwaway_redis.start()
    await asyncio.sleep(0.25)
    assert await link.script(quick, []) == 7  # the new Redis has no scripts: loaded anew
    assert link.up and len(watcher.ups) == 1
    await link.close()


async def test_a_paused_redis_times_out_then_recovers(throwaway_redis: RedisServer) -> None:
    link = RedisLink(throwaway_redis.url, timeout=0.15, retry_every=0.1)
    assert await link.command("PING") == b"PONG"
    throwaway_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(RedisDown, match="TimeoutError"):
            await link.command("PING")
        assert time.monotonic() - started < 0.5
    finally:
        throwaway_redis.resume()
    await asyncio.sleep(0.15)
    assert await link.command("PING") == b"PONG"
    assert link.up
    await link.close()


def test_a_link_belongs_to_the_loop_it_was_first_used_on(redis_url: str) -> None:
    link = RedisLink(redis_url)

    async def ping(close: bool) -> Any:
        try:
            return await link.command("PING")
        finally:
            if close:
                await link.close()

    assert asyncio.run(ping(True)) == b"PONG"
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(ping(False))


async def test_a_closed_link_refuses_calls_at_once(redis_url: str) -> None:
    link = RedisLink(redis_url)
    assert await link.command("PING") == b"PONG"
    await link.close()
    assert link.closed
    with pytest.raises(RedisDown, match="closed"):
        await asyncio.wait_for(link.command("PING"), 1.0)  # never left waiting for a reply
