"""A tiny Prometheus registry: counters, gauges and histograms rendered in the text exposition format.

Why not prometheus_client: a dozen series do not justify another dependency and its import time.
Label values are object references and reasons, never secret material.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LabelKey = tuple[tuple[str, str], ...]
_M = TypeVar("_M", bound="Counter | Histogram")


def _labels(labels: Mapping[str, str] | None) -> LabelKey:
    return tuple(sorted((labels or {}).items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_labels(key: LabelKey, extra: Iterable[tuple[str, str]] = ()) -> str:
    pairs = [*key, *extra]
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


@dataclass
class _Metric:
    name: str
    help: str
    kind: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class Counter(_Metric):
    values: dict[LabelKey, float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(_labels(labels), 0.0)

    def render(self) -> list[str]:
        return [f"{self.name}{_format_labels(k)} {v:g}" for k, v in sorted(self.values.items())]


@dataclass
class Gauge(Counter):
    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self.values[_labels(labels)] = value

    def remove(self, **labels: str) -> None:
        """Drop one series (its object is gone)."""
        with self._lock:
            self.values.pop(_labels(labels), None)


@dataclass
class Histogram(_Metric):
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    counts: dict[LabelKey, list[int]] = field(default_factory=dict)
    sums: dict[LabelKey, float] = field(default_factory=dict)

    def observe(self, value: float, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
            counts[bisect.bisect_left(self.buckets, value)] += 1
            self.sums[key] = self.sums.get(key, 0.0) + value

    def render(self) -> list[str]:
        lines = []
        for key, counts in sorted(self.counts.items()):
            running = 0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=True):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f"{self.name}_bucket{_format_labels(key, [('le', le)])} {running}")
            lines.append(f"{self.name}_sum{_format_labels(key)} {self.sums[key]:g}")
            lines.append(f"{self.name}_count{_format_labels(key)} {running}")
        return lines


class Registry:
    """Holds the metrics and renders ``/metrics``."""

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Histogram] = {}

    def counter(self, name: str, help_text: str) -> Counter:
        return self._get(name, lambda: Counter(name, help_text, "counter"), Counter)

    def gauge(self, name: str, help_text: str) -> Gauge:
        return self._get(name, lambda: Gauge(name, help_text, "gauge"), Gauge)

    def histogram(self, name: str, help_text: str) -> Histogram:
        return self._get(name, lambda: Histogram(name, help_text, "histogram"), Histogram)

    def _get(self, name: str, make: Callable[[], _M], kind: type[_M]) -> _M:
        existing = self._metrics.get(name)
        if existing is None:
            existing = make()
            self._metrics[name] = existing
        if not isinstance(existing, kind):
            raise TypeError(f"metric {name} already registered as {type(existing).__name__}")
        return existing

    def render(self) -> str:
        lines: list[str] = []
        for name, metric in sorted(self._metrics.items()):
            lines.append(f"# HELP {name} {metric.help}")
            lines.append(f"# TYPE {name} {metric.kind}")
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


REGISTRY = Registry()
