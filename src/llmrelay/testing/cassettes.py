"""Record real provider traffic once, replay it offline: ``cassette(path, mode)`` sits at the
HTTP seam (``transport.set_interceptor``), so it serves every provider, sync and async, streams
with their chunk boundaries, retries and errors.

>>> with cassette("tests/cassettes/weather.json"):      # auto: replay if the file exists
...     resp = llmrelay.completion(model="claude-3-5-haiku-latest", messages=msgs)
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, TypeVar

from .. import transport
from ..exceptions import APIConnectionError
from .matching import differences, distance, match_key
from .secrets import secrets_of
from .tape import (
    error_of,
    error_record,
    request_record,
    response_of,
    response_record,
    stream_record,
)

if TYPE_CHECKING:
    from ..providers.base import HTTPRequest
    from ..transport import AsyncResponse, Response, TimeoutTypes

__all__ = ["MODES", "Cassette", "CassetteMissError", "cassette"]

MODES = ("record", "replay", "auto")
FORMAT = 1
NOTE = ("Recorded by llmrelay.testing.cassette. Secrets removed (credential headers dropped, key "
        "values replaced by REDACTED). Replayed requests match on method, URL and JSON body; "
        "the k-th identical request gets the k-th recording of it.")

# ``pytest --llmrelay-record``: every cassette records, whatever its mode says.
RECORD_ALL = False

F = TypeVar("F", bound=Callable[..., Any])


class CassetteMissError(Exception):
    """A replayed request has no recording left: the message names the closest recorded request
    and what differs."""


class Cassette:
    """One cassette file in one mode; a context manager (sync or async) and a decorator.

    ``interactions`` are the recorded exchanges (loaded, or recorded so far). Only one cassette
    is active at a time in a process; entering one inside another replaces it for the block.
    """

    def __init__(self, path: str | os.PathLike[str], mode: str = "auto") -> None:
        if mode not in MODES:
            raise ValueError(f"cassette mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.interactions: list[dict[str, Any]] = []
        self.replaying = False
        self._played: dict[tuple[str, str, str], int] = {}
        self._index: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._previous: Any = None
        self._active = False
        self._open: list[_RecordingResponse] = []  # streams still being recorded

    # ---- the block -----------------------------------------------------------------------------

    def __enter__(self) -> "Cassette":
        if self._active:
            raise RuntimeError(f"cassette {self.path} is already in use")
        record = RECORD_ALL or self.mode == "record" or (self.mode == "auto"
                                                         and not self.path.exists())
        self.interactions, self._played, self._index = [], {}, {}
        if not record:
            self._load()
        self.replaying = not record
        self._previous = transport.set_interceptor(self)
        self._active = True
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        transport.set_interceptor(self._previous)
        self._previous, self._active = None, False
        # A block that failed leaves the file as it was: a half recording would be replayed.
        if not self.replaying and kind is None:
            self._write()

    async def __aenter__(self) -> "Cassette":
        return self.__enter__()

    async def __aexit__(self, kind: object, *exc: object) -> None:
        self.__exit__(kind, *exc)

    def __call__(self, fn: F) -> F:
        """Run each call of ``fn`` (sync or ``async def``) inside this cassette."""
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def arun(*args: Any, **kwargs: Any) -> Any:
                with Cassette(self.path, self.mode):
                    return await fn(*args, **kwargs)

            return arun  # type: ignore[return-value]

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with Cassette(self.path, self.mode):
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]

    def _load(self) -> None:
        if not self.path.exists():
            raise CassetteMissError(
                f"No cassette at {self.path} to replay: record it first (mode='record' or "
                "'auto', or pytest --llmrelay-record)")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            interactions = data["interactions"]
            for item in interactions:
                request = item["request"]
                key = match_key(request["method"], request["url"], request.get("body"))
                self._index.setdefault(key, []).append(item)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path} is not a llmrelay cassette: {exc!r}") from exc
        self.interactions = interactions

    def _write(self) -> None:
        for stream in list(self._open):
            stream.finish(None, closed_early=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"llmrelay_cassette": FORMAT, "note": NOTE, "interactions": self.interactions}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)

    # ---- the interceptor -----------------------------------------------------------------------

    def send(self, request: "HTTPRequest", timeout: "TimeoutTypes") -> "Response":
        if self.replaying:
            return self._replay(request, asynchronous=False)  # type: ignore[no-any-return]
        item, secrets = self._begin(request)
        try:
            response = transport.network_send(request, timeout)
        except APIConnectionError as exc:
            item["error"] = error_record(exc, secrets)
            raise
        if request.stream and response.status == 200 and response._raw is not None:
            return _RecordingResponse(response, item, secrets, self)  # type: ignore[return-value]
        item["response"] = response_record(response.status, response.headers, response.content,
                                           secrets)
        return response

    async def asend(self, request: "HTTPRequest", timeout: "TimeoutTypes") -> "AsyncResponse":
        if self.replaying:
            return self._replay(request, asynchronous=True)  # type: ignore[no-any-return]
        item, secrets = self._begin(request)
        try:
            response = await transport.network_asend(request, timeout)
        except APIConnectionError as exc:
            item["error"] = error_record(exc, secrets)
            raise
        if request.stream and response.status == 200 and response._raw is not None:
            return _ARecordingResponse(response, item, secrets, self)  # type: ignore[return-value]
        item["response"] = response_record(response.status, response.headers, response.content,
                                           secrets)
        return response

    def _begin(self, request: "HTTPRequest") -> tuple[dict[str, Any], tuple[str, ...]]:
        """The interaction of ``request``, in the file in the order requests were sent (its
        answer is filled in when it arrives), and the secrets to keep out of it."""
        secrets = secrets_of(request.url, request.headers)
        item: dict[str, Any] = {"request": request_record(request, secrets)}
        with self._lock:
            self.interactions.append(item)
        return item, secrets

    def _replay(self, request: "HTTPRequest", *, asynchronous: bool) -> Any:
        live = request_record(request, secrets_of(request.url, request.headers))
        key = match_key(live["method"], live["url"], live["body"])
        with self._lock:
            found = self._index.get(key, [])
            played = self._played.get(key, 0)
            if played >= len(found):
                raise CassetteMissError(self._miss_message(live, played))
            self._played[key] = played + 1
            item = found[played]
        error = item.get("error")
        if "response" not in item:
            raise error_of(error or {"message": "recorded without an answer"})
        return response_of(item["response"], error, asynchronous=asynchronous)

    def _miss_message(self, live: dict[str, Any], played: int) -> str:
        head = (f"No recording left for {live['method']} {live['url']} in cassette {self.path} "
                f"(mode {self.mode!r}).")
        if played:
            return (f"{head} This exact request was recorded {played} time(s), and all were "
                    f"replayed already; this is call #{played + 1} of it. Re-record the "
                    "cassette if the code now makes more calls.")
        if not self.interactions:
            return f"{head} The cassette holds no requests."
        best = min(range(len(self.interactions)),
                   key=lambda i: distance(live, self.interactions[i]["request"]))
        recorded = self.interactions[best]["request"]
        lines = differences(live, recorded)
        return "\n".join([
            head,
            f"Closest recorded request: #{best + 1} {recorded['method']} {recorded['url']}",
            "What differs:",
            *(f"  {line}" for line in lines or ["(nothing visible: check the JSON types)"]),
        ])


class _RecordingResponse:
    """A streamed answer being recorded: hands the core each chunk as it arrives and writes it
    down; the interaction is complete when the stream ends (or says where it stopped)."""

    def __init__(self, response: Any, item: dict[str, Any], secrets: tuple[str, ...],
                 owner: Cassette) -> None:
        self._response = response
        self._item = item
        self._secrets = secrets
        self._owner = owner
        self._chunks: list[bytes] = []
        self._done = False
        self.status = response.status
        self.content = response.content
        with owner._lock:
            owner._open.append(self)

    @property
    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = self._response.headers
        return headers

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            for chunk in self._response.iter_bytes():
                self._chunks.append(chunk)
                yield chunk
        except APIConnectionError as exc:
            self.finish(exc)
            raise
        self.finish(None)

    def finish(self, error: BaseException | None, *, closed_early: bool = False) -> None:
        """Write the stream down as received so far (once)."""
        with self._owner._lock:
            if self._done:
                return
            self._done = True
            if self in self._owner._open:
                self._owner._open.remove(self)
        record = stream_record(self.status, self.headers, self._chunks, self._secrets)
        if closed_early:
            record["closed_early"] = True
        self._item["response"] = record
        if error is not None:
            self._item["error"] = error_record(error, self._secrets)

    def close(self) -> None:
        self.finish(None, closed_early=True)
        self._response.close()


class _ARecordingResponse(_RecordingResponse):
    """The async twin of ``_RecordingResponse``."""

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                self._chunks.append(chunk)
                yield chunk
        except APIConnectionError as exc:
            self.finish(exc)
            raise
        self.finish(None)

    async def aclose(self) -> None:
        self.finish(None, closed_early=True)
        await self._response.aclose()


def cassette(path: str | os.PathLike[str], mode: str = "auto") -> Cassette:
    """A cassette at ``path``: ``record`` (real calls; the file is written when the block ends
    without an error),
    ``replay`` (no network, no key needed; a request with no recording raises
    ``CassetteMissError``) or ``auto`` (replay when the file exists, else record).

    >>> @cassette("tests/cassettes/flow.json", mode="replay")
    ... async def test_flow(): ...
    """
    return Cassette(path, mode)
