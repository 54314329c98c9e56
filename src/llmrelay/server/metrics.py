"""Prometheus metrics of this process, rendered in the text exposition format.

Plain counters and fixed-bucket histograms keyed by label values: a request adds a handful of
dict updates, and nothing is computed until ``/metrics`` is read.
"""

from __future__ import annotations

import bisect
from typing import Iterable

__all__ = ["Metrics"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _Histogram:
    __slots__ = ("buckets", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return ",".join(f'{k}="{escape(v)}"' for k, v in pairs)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}
        self.tokens: dict[tuple[str, str], int] = {}
        self.spend: dict[str, float] = {}
        self.duration: dict[str, _Histogram] = {}
        self.overhead: dict[str, _Histogram] = {}

    def observe(self, group: str | None, status: str, *, duration: float,
                overhead: float | None, prompt: int, completion: int, spend: float | None) -> None:
        group = group or ""
        key = (group, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.duration.get(group)
        if hist is None:
            hist = self.duration[group] = _Histogram(DURATION_BUCKETS)
        hist.observe(duration)
        if overhead is not None:
            over = self.overhead.get(group)
            if over is None:
                over = self.overhead[group] = _Histogram(OVERHEAD_BUCKETS)
            over.observe(overhead)
        if prompt:
            self.tokens[(group, "prompt")] = self.tokens.get((group, "prompt"), 0) + prompt
        if completion:
            self.tokens[(group, "completion")] = self.tokens.get((group, "completion"), 0) + completion
        if spend:
            self.spend[group] = self.spend.get(group, 0.0) + spend

    def render(self) -> bytes:
        lines: list[str] = []
        lines += ["# HELP llmrelay_requests_total Requests answered, by model group and spend-row status.",
                  "# TYPE llmrelay_requests_total counter"]
        for (group, status), count in sorted(self.requests.items()):
            lines.append(f"llmrelay_requests_total{{{_labels([('model_group', group), ('status', status)])}}} {count}")
        self._histogram(lines, "llmrelay_request_duration_seconds",
                        "Time from request to the answer's last byte.", self.duration)
        self._histogram(lines, "llmrelay_overhead_seconds",
                        "The gateway's own time: total minus the time waiting on the provider.",
                        self.overhead)
        lines += ["# HELP llmrelay_tokens_total Tokens billed, by model group and type.",
                  "# TYPE llmrelay_tokens_total counter"]
        for (group, kind), count in sorted(self.tokens.items()):
            lines.append(f"llmrelay_tokens_total{{{_labels([('model_group', group), ('type', kind)])}}} {count}")
        lines += ["# HELP llmrelay_spend_usd_total Spend in USD, by model group.",
                  "# TYPE llmrelay_spend_usd_total counter"]
        for group, usd in sorted(self.spend.items()):
            lines.append(f"llmrelay_spend_usd_total{{{_labels([('model_group', group)])}}} {usd!r}")
        return ("\n".join(lines) + "\n").encode()

    @staticmethod
    def _histogram(lines: list[str], name: str, help: str, data: dict[str, _Histogram]) -> None:
        lines += [f"# HELP {name} {help}", f"# TYPE {name} histogram"]
        for group, hist in sorted(data.items()):
            label = _labels([("model_group", group)])
            running = 0
            for bound, count in zip(hist.buckets, hist.counts):
                running += count
                lines.append(f'{name}_bucket{{{label},le="{bound}"}} {running}')
            running += hist.counts[-1]
            lines.append(f'{name}_bucket{{{label},le="+Inf"}} {running}')
            lines.append(f"{name}_sum{{{label}}} {hist.sum!r}")
            lines.append(f"{name}_count{{{label}}} {running}")
