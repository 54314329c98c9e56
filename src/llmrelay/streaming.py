"""Server-sent events: bytes -> events, and the Stream / AsyncStream objects callers iterate.

One decoder serves both transports: it takes raw byte chunks as they arrive, so the sync and
async loops differ only in how they wait for bytes.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Generic, Iterator, NamedTuple, Protocol, TypeVar

from .meta import CallMeta

T = TypeVar("T")

__all__ = ["AsyncStream", "SSEDecoder", "ServerSentEvent", "Stream", "StreamDecoder", "StreamEnd"]


class StreamDecoder(Protocol):
    """What the stream loops read a body with: ``SSEDecoder``, or a peer for another framing
    (``eventstream.EventStreamDecoder``). ``feed`` takes any slice of the byte stream and
    returns the events it completed; ``flush`` returns the rest at end of stream (or raises
    when the stream stopped mid-event and the framing can tell)."""

    def feed(self, chunk: bytes) -> list[Any]: ...

    def flush(self) -> list[Any]: ...


class ServerSentEvent(NamedTuple):
    """One dispatched event. ``event`` is ``None`` when the stream sent no ``event:`` line.

    A NamedTuple rather than a frozen dataclass: one is built per event, on the hot path.
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental parser for ``text/event-stream`` (WHATWG rules).

    ``feed`` takes any slice of the byte stream and returns the events it completed;
    ``flush`` dispatches what is left at end of stream. Bytes are buffered up to the last
    blank line, so an event never straddles two calls: each complete block is decoded once,
    and the common block, one ``data: `` line, skips the line-by-line parse.
    """

    __slots__ = ("_buffer", "_id")

    def __init__(self) -> None:
        self._buffer = b""
        self._id: str | None = None  # the last event id persists across events

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            # A trailing CR may be the first half of a CRLF: wait for the next byte.
            held = b"\r" if buffer.endswith(b"\r") else b""
            buffer = buffer[: len(buffer) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            complete, blank, rest = buffer.rpartition(b"\n\n")
            self._buffer = rest + held
        else:
            complete, blank, self._buffer = buffer.rpartition(b"\n\n")
        if not blank:
            return []
        return self._blocks(complete.decode("utf-8", "replace"))

    def flush(self) -> list[ServerSentEvent]:
        text = self._buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._buffer = b""
        return self._blocks(text.decode("utf-8", "replace")) if text.strip() else []

    def _blocks(self, text: str) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        for block in text.split("\n\n"):
            if block.startswith("data: ") and "\n" not in block:
                events.append(ServerSentEvent(block[6:], None, self._id))
                continue
            if block.startswith("event: "):  # "event: x\ndata: y", the named-event form
                head, _, data = block.partition("\n")
                if data.startswith("data: ") and "\n" not in data:
                    events.append(ServerSentEvent(data[6:], head[7:], self._id))
                    continue
            if block:
                event = self._parse(block)
                if event is not None:
                    events.append(event)
        return events

    def _parse(self, block: str) -> ServerSentEvent | None:
        data: list[str] = []
        name: str | None = None
        retry: int | None = None
        for line in block.split("\n"):
            if not line or line[0] == ":":
                continue
            field, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value
            elif field == "id" and "\0" not in value:
                self._id = value
            elif field == "retry" and value.isdigit():
                retry = int(value)
        if not data and name is None:
            return None
        return ServerSentEvent("\n".join(data), name, self._id, retry)


_NOTHING: Any = object()


class _Recorded(Generic[T]):
    """An iterator (after ``first``, when one was read ahead) whose items are kept in ``sink``
    as they are handed out; ``close`` closes the source at once (its connection goes back)."""

    __slots__ = ("_first", "_iterator", "_sink")

    def __init__(self, first: Any, iterator: Iterator[T], sink: list[T]) -> None:
        self._first, self._iterator, self._sink = first, iterator, sink

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._first is not _NOTHING:
            item, self._first = self._first, _NOTHING
        else:
            item = next(self._iterator)
        self._sink.append(item)
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        self._first = _NOTHING
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()


class _ARecorded(Generic[T]):
    """The async twin of ``_Recorded``."""

    __slots__ = ("_first", "_iterator", "_sink")

    def __init__(self, first: Any, iterator: AsyncIterator[T], sink: list[T]) -> None:
        self._first, self._iterator, self._sink = first, iterator, sink

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._first is not _NOTHING:
            item, self._first = self._first, _NOTHING
        else:
            item = await self._iterator.__anext__()
        self._sink.append(item)
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        self._first = _NOTHING
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class StreamEnd(Protocol):
    """Told once how a stream ended: ``"complete"``, ``"closed"`` (before its end), ``"failed"``
    (with the error) or ``"collected"`` (garbage-collected unfinished; from a finalizer, so it
    must not run user code inline)."""

    def end(self, how: str, error: BaseException | None) -> None: ...

    async def aend(self, how: str, error: BaseException | None) -> None: ...


class Stream(Generic[T]):
    """An iterator of chunks that owns an HTTP response.

    The connection goes back to the pool when the stream is exhausted, closed (``close()`` or
    ``with``), or garbage-collected. ``meta`` is the call's metadata, complete once the stream
    has ended or been closed.

    >>> for chunk in llmrelay.completion(model="gpt-4o-mini", messages=msgs, stream=True):
    ...     print(chunk.choices[0].delta.content or "", end="")
    """

    def __init__(self, iterator: Iterator[T], first: T = _NOTHING, *, meta: CallMeta | None = None,
                 on_end: StreamEnd | None = None) -> None:
        self._iterator = iterator
        self._first = first  # read ahead when the stream was opened
        self.meta = meta if meta is not None else CallMeta()
        self._on_end = on_end

    def __iter__(self) -> Iterator[T]:
        # A generator, not ``self``: ``for`` then resumes it without a Python-level ``__next__``
        # call per chunk. It refers to the stream (which keeps it alive while iterated) and
        # the stream not to it, so a stream dropped mid-way is freed, and closed, at once.
        return self._deliver()

    def _deliver(self) -> Iterator[T]:
        first, self._first = self._first, _NOTHING
        if first is not _NOTHING:
            yield first
        try:
            # Not ``yield from``: that would close the source when a consumer breaks out of
            # its loop, and a stream may be read on by another loop after a break.
            for item in self._iterator:  # noqa: UP028
                yield item
        except GeneratorExit:
            raise  # the consumer stopped early: close() or __del__ tells how it ended
        except BaseException as exc:
            self._end("failed", exc)
            raise
        self._end("complete", None)

    def __next__(self) -> T:
        if self._first is not _NOTHING:
            first, self._first = self._first, _NOTHING
            return first
        try:
            return next(self._iterator)
        except StopIteration:
            self._end("complete", None)
            raise
        except BaseException as exc:
            self._end("failed", exc)
            raise

    def _end(self, how: str, error: BaseException | None) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end.end(how, error)

    def wrap_end(self, wrap: Callable[[StreamEnd | None], StreamEnd]) -> None:
        """The seam for packages that follow a stream to its end (router, cache): ``wrap``
        gets the handler told so far (or ``None``) and returns the one to tell instead, which
        tells the inner one itself."""
        self._on_end = wrap(self._on_end)

    def tap(self, sink: list[T]) -> None:
        """Keep every chunk this stream hands out in ``sink`` (for the call's observers and the
        cache; a stream nobody taps is never wrapped, so it pays nothing)."""
        self._iterator = _Recorded(self._first, self._iterator, sink)
        self._first = _NOTHING

    def close(self) -> None:
        self._first = _NOTHING
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
        self._end("closed", None)

    def __enter__(self) -> "Stream[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self._first = _NOTHING
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
        self._end("collected", None)


class AsyncStream(Generic[T]):
    """The async twin of ``Stream``: ``async for``, ``await aclose()``, ``async with``."""

    def __init__(self, iterator: AsyncIterator[T], first: T = _NOTHING, *,
                 meta: CallMeta | None = None, on_end: StreamEnd | None = None) -> None:
        self._iterator = iterator
        self._first = first
        self.meta = meta if meta is not None else CallMeta()
        self._on_end = on_end

    def __aiter__(self) -> AsyncIterator[T]:
        # An async generator, as ``Stream.__iter__`` is a generator: one native resume per
        # chunk instead of a coroutine made by ``__anext__`` per chunk.
        return self._adeliver()

    async def _adeliver(self) -> AsyncIterator[T]:
        first, self._first = self._first, _NOTHING
        if first is not _NOTHING:
            yield first
        try:
            async for item in self._iterator:
                yield item
        except GeneratorExit:
            raise
        except BaseException as exc:
            await self._aend("failed", exc)
            raise
        await self._aend("complete", None)

    async def __anext__(self) -> T:
        if self._first is not _NOTHING:
            first, self._first = self._first, _NOTHING
            return first
        try:
            return await self._iterator.__anext__()
        except StopAsyncIteration:
            await self._aend("complete", None)
            raise
        except BaseException as exc:
            await self._aend("failed", exc)
            raise

    async def _aend(self, how: str, error: BaseException | None) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            await on_end.aend(how, error)

    def wrap_end(self, wrap: Callable[[StreamEnd | None], StreamEnd]) -> None:
        """See ``Stream.wrap_end``."""
        self._on_end = wrap(self._on_end)

    def tap(self, sink: list[T]) -> None:
        """Keep every chunk this stream hands out in ``sink`` (see ``Stream.tap``)."""
        self._iterator = _ARecorded(self._first, self._iterator, sink)
        self._first = _NOTHING

    async def aclose(self) -> None:
        self._first = _NOTHING
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()
        await self._aend("closed", None)

    async def __aenter__(self) -> "AsyncStream[T]":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # The async generator is closed by the event loop's finalizer hook; only report here.
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end.end("collected", None)
