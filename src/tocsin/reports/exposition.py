"""Prometheus text exposition format (version 0.0.4), written out. Pure.

https://prometheus.io/docs/instrumenting/exposition_formats/: a ``# HELP`` and ``# TYPE``
line per family, then one line per sample, ``name{label="value",...} number``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


@dataclass
class Family:
    name: str
    kind: str  # gauge, counter or histogram
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append(Sample(self.name + suffix, labels, value))


@dataclass(frozen=True)
class Histogram:
    """Observations of one label set: how many were at most each bound, their sum, count."""

    labels: Mapping[str, str]
    at_most: Sequence[int]
    total: float
    count: int


def histogram(
    name: str, help_: str, bounds: Sequence[float], series: Sequence[Histogram]
) -> Family:
    """A histogram family: cumulative ``_bucket`` lines (``le``), then ``_sum``, ``_count``."""
    family = Family(name, "histogram", help_)
    for one in series:
        for bound, at_most in zip(bounds, one.at_most, strict=True):
            family.add(at_most, "_bucket", **one.labels, le=number(bound))
        family.add(one.count, "_bucket", **one.labels, le="+Inf")
        family.add(one.total, "_sum", **one.labels)
        family.add(one.count, "_count", **one.labels)
    return family


def number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render(families: Sequence[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{_label_value(v)}"' for k, v in sample.labels.items())
            where = f"{{{labels}}}" if labels else ""
            lines.append(f"{sample.name}{where} {number(sample.value)}")
    return "\n".join(lines) + "\n"
