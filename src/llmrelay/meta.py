"""``resp.meta``: what a call cost, how long it took and where it went.

It sits beside the OpenAI shape, never in it: ``model_dump()`` does not show it. Cost and the
request id are worked out on first read, so a call that never asks pays nothing for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .usage import Usage

__all__ = ["REQUEST_ID_HEADERS", "CallMeta"]

# Where providers put their request id, in order of preference.
REQUEST_ID_HEADERS = ("request-id", "x-request-id", "apim-request-id", "x-generation-id",
                      "x-amzn-requestid", "x-goog-request-id")

class _Unset:
    """"Not worked out yet": one object that ``copy`` and ``pickle`` keep as itself (a plain
    ``object()`` would come back as a new one, neither unset nor a value, and a copied
    response's ``meta.cost`` would be that object)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"

    def __copy__(self) -> "_Unset":
        return self

    def __deepcopy__(self, memo: Any) -> "_Unset":
        return self

    def __reduce__(self) -> str:
        return "_UNSET"


_UNSET: Any = _Unset()


class CallMeta:
    """The call's metadata (API.md "The call's metadata").

    ``parts`` holds one ``(reported model, usage)`` per HTTP answer the call was made of (several
    for ``n > 1`` by parallel requests and for batched embeddings): the cost is the sum of each
    part's cost. ``written`` is the model string as the caller wrote it and ``base_model`` the
    name a Router deployment is priced as; both feed the price lookup.
    """

    __slots__ = ("_cost", "_headers", "_request_id", "attempts", "base_model", "cache_hit",
                 "deployment", "latency", "model", "parts", "provider", "time_to_first_token",
                 "usage", "written")

    def __init__(
        self,
        provider: str | None = None,
        model: str | None = None,
        *,
        deployment: str | None = None,
        latency: float | None = None,
        time_to_first_token: float | None = None,
        attempts: int = 0,
        cache_hit: bool = False,
        usage: "Usage | None" = None,
        written: str | None = None,
        base_model: str | None = None,
        parts: "list[tuple[str | None, Usage | None]] | None" = None,
        headers: Any = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.deployment = deployment
        self.latency = latency
        self.time_to_first_token = time_to_first_token
        self.attempts = attempts
        self.cache_hit = cache_hit
        self.usage = usage
        self.written = written
        self.base_model = base_model
        self.parts = parts if parts is not None else []
        self._headers = headers
        self._request_id: Any = _UNSET
        self._cost: Any = _UNSET

    @property
    def cost(self) -> float | None:
        """USD this call spent, from the price data; ``None`` when the model has no price."""
        if self._cost is _UNSET:
            if self.cache_hit:
                return 0.0
            if not self.parts:
                return None  # nothing answered yet (a stream still running)
            from .pricing import cost_of_parts

            self._cost = cost_of_parts(self.provider or "", self.written, self.base_model,
                                       self.parts)
        cost: float | None = self._cost
        return cost

    @cost.setter
    def cost(self, value: float | None) -> None:
        self._cost = value

    def settle(self, latency: float, attempts: int, usage: "Usage | None",
               parts: "list[tuple[str | None, Usage | None]]", model: str | None,
               first_chunk_at: float | None, started: float, response: Any) -> None:
        """What the call's answers said, all at once (``settle.settle`` calls it as each call
        ends); the cost and request id are worked out again on their next read."""
        self.latency = latency
        self.attempts = attempts
        self.usage = usage
        self.parts = parts
        self.model = model
        if first_chunk_at is not None:
            self.time_to_first_token = first_chunk_at - started
        if response is not None:
            self._headers = response
            self._request_id = _UNSET
        self._cost = _UNSET

    def forget_cost(self) -> None:
        """Price again on the next read (after ``usage``, ``parts`` or ``base_model`` changed)."""
        self._cost = _UNSET

    @property
    def request_id(self) -> str | None:
        """The provider's request id header, when it sent one."""
        if self._request_id is _UNSET:
            source = self._headers
            headers: Mapping[str, str] | None = getattr(source, "headers", source)
            self._request_id = None if headers is None else next(
                (headers[h] for h in REQUEST_ID_HEADERS if h in headers), None)
        request_id: str | None = self._request_id
        return request_id

    @request_id.setter
    def request_id(self, value: str | None) -> None:
        self._request_id = value

    def set_headers(self, headers: Any) -> None:
        """Where the request id is read from, lazily: a headers mapping (lower-case names) or
        a response whose ``headers`` is one."""
        self._headers = headers
        self._request_id = _UNSET

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (
            "provider", "model", "deployment", "cost", "latency", "time_to_first_token",
            "attempts", "cache_hit", "request_id", "usage")}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items() if k != "usage")
        return f"CallMeta({fields})"
