"""The scenario file of ``tocsin simulate``: a start instant, timed events, an end.

```yaml
start: 2026-03-29T01:30:00+01:00
events:
  - {at: 0m, declare: {severity: P0, title: "Site down", type: outage}}
  - {at: 12m, ack: {by: dana}}
  - {at: 31m, status: identified}
until: 4h
```
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tocsin.errors import InvalidInput
from tocsin.incidents.schemas import MitigationIn

_OFFSET = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ACTIONS = ("declare", "ack", "status", "severity", "assign", "note", "update", "mitigation")


def parse_offset(value: Any) -> timedelta:
    """``90s``, ``5m``, ``1h30m``, ``2d`` (or a number of minutes) after the start."""
    if isinstance(value, bool):
        raise ValueError("an offset is a duration such as '5m'")
    if isinstance(value, int | float):
        return timedelta(minutes=value)
    text = str(value).strip().lower().replace(" ", "").lstrip("+")
    parts = _OFFSET.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not an offset; write e.g. '30s', '5m', '1h30m', '2d'")
    return timedelta(seconds=sum(float(n) * _UNIT[u] for n, u in parts))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Declare(_Strict):
    severity: str
    title: str = "Simulated incident"
    type: str | None = None
    components: list[str] = []
    by: str | None = None


class Ack(_Strict):
    by: str | None = None


class StatusChange(_Strict):
    to: str
    by: str | None = None
    note: str = ""


class SeverityChange(_Strict):
    to: str
    by: str | None = None
    reason: str = ""


class Assign(_Strict):
    role: str
    to: str
    by: str | None = None


class Text(_Strict):
    text: str
    by: str | None = None


class Mitigation(MitigationIn):
    """A proposed mitigation, as ``tocsin incident propose-mitigation`` makes one."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    by: str | None = None


class Event(_Strict):
    at: timedelta
    declare: Declare | None = None
    ack: Ack | None = None
    status: StatusChange | None = None
    severity: SeverityChange | None = None
    assign: Assign | None = None
    note: Text | None = None
    update: Text | None = None
    mitigation: Mitigation | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _offset(cls, value: Any) -> timedelta:
        return parse_offset(value)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key in ("status", "severity"):
            if isinstance(out.get(key), str):
                out[key] = {"to": out[key]}
        for key in ("note", "update"):
            if isinstance(out.get(key), str):
                out[key] = {"text": out[key]}
        if isinstance(out.get("mitigation"), str):
            out["mitigation"] = {"action": out["mitigation"]}
        if out.get("ack") is None and "ack" in out:
            out["ack"] = {}
        return out

    @model_validator(mode="after")
    def _one_action(self) -> Event:
        given = [a for a in ACTIONS if getattr(self, a) is not None]
        if len(given) != 1:
            raise ValueError(
                f"an event does exactly one of {', '.join(ACTIONS)}; this one does "
                + (", ".join(given) or "none")
            )
        return self

    @property
    def action(self) -> str:
        return next(a for a in ACTIONS if getattr(self, a) is not None)


class Scenario(_Strict):
    start: datetime
    events: list[Event] = Field(min_length=1)
    until: timedelta | None = None

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-03-29T01:30:00+01:00")
        return value

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_offset(value)

    @property
    def end(self) -> timedelta:
        last = max(e.at for e in self.events)
        return max(self.until or last, last)


def load_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    """Parse a scenario, or raise InvalidInput naming the file and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{filename}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("start"), str):
        data["start"] = data["start"].replace("Z", "+00:00")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}" for e in exc.errors()
        ]
        raise InvalidInput(
            f"{filename}: " + "; ".join(problems), details={"problems": problems}
        ) from exc
