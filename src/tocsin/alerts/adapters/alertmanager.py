"""Prometheus Alertmanager's webhook (``webhook_configs``, payload version 4). Pure: no I/O.

One notification is a group: ``{"version": "4", "groupKey", "truncatedAlerts", "status",
"receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts":
[{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
"fingerprint"}]}``. Each alert becomes one event: ``firing`` a trigger, ``resolved`` a
resolve, de-duplicated by its fingerprint (the hash of its labels: the same alert keeps it
from firing to resolved). Grafana's webhook is this format with more fields
(:mod:`tocsin.alerts.adapters.grafana`), so the parsing is shared through :class:`Dialect`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tocsin.alerts.adapters import common
from tocsin.alerts.dedup import MAX_DEDUP_KEY
from tocsin.alerts.schemas import IncomingEvent


@dataclass(frozen=True)
class Dialect:
    """What differs between tools that send Alertmanager's format."""

    tool: str
    version: str
    #: Group fields kept with each stored event (not the alerts, nor long texts that
    #: would be copied once per alert).
    group_fields: tuple[str, ...]
    #: Alert fields that are links, with the text shown for each.
    links: tuple[tuple[str, str], ...]
    #: Alert fields that are image URLs.
    images: tuple[str, ...] = ()
    #: Alert fields kept in the alert's details besides its labels and annotations.
    details: tuple[str, ...] = ()


ALERTMANAGER = Dialect(
    tool="Alertmanager",
    version="4",
    group_fields=("version", "groupKey", "truncatedAlerts", "status", "receiver", "externalURL"),
    links=(("generatorURL", "Source"),),
)

#: Separator of Prometheus' label hashing (a byte no UTF-8 text contains).
_SEPARATOR = 0xFF
_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over the sorted labels, as
    ``prometheus/common/model``), so an alert sent without one de-duplicates with the same
    alert sent with it."""
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in (*part.encode(), _SEPARATOR):
                value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return f"{value:016x}"


def parse(body: bytes, content_type: str | None) -> list[IncomingEvent]:
    """The events of one Alertmanager notification; :class:`~.common.InvalidPayload`
    names every problem (and then none of them is taken)."""
    return parse_group(common.json_object(body, content_type), ALERTMANAGER)


def parse_group(data: dict[str, Any], dialect: Dialect) -> list[IncomingEvent]:
    """The events of one group notification in ``dialect``."""
    errors: list[str] = []
    version = data.get("version")
    if version != dialect.version:
        got = "it is missing" if version is None else f"not {version!r}"
        errors.append(
            f"'version' must be {dialect.version!r} ({dialect.tool}'s webhook format), {got}"
        )
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        errors.append("'alerts' must be an array" if alerts is not None else "'alerts' is missing")
        raise common.InvalidPayload(errors)
    group = {name: data[name] for name in dialect.group_fields if name in data}
    external = data.get("externalURL")
    events = [
        _event(alert, f"alerts[{i}]", group, external, dialect, errors)
        for i, alert in enumerate(alerts)
    ]
    if errors:
        raise common.InvalidPayload(errors)
    return [e for e in events if e is not None]


def _event(
    alert: Any,
    where: str,
    group: dict[str, Any],
    external: Any,
    dialect: Dialect,
    errors: list[str],
) -> IncomingEvent | None:
    if not isinstance(alert, dict):
        errors.append(f"'{where}' must be an object")
        return None
    before = len(errors)
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        errors.append(f"'{where}.status' must be firing or resolved")
    labels = common.strings(alert, "labels", f"{where}.labels", errors)
    annotations = common.strings(alert, "annotations", f"{where}.annotations", errors)
    key = common.text(alert, "fingerprint", f"{where}.fingerprint", errors)
    if key is not None and len(key) > MAX_DEDUP_KEY:
        errors.append(f"'{where}.fingerprint' is too long (maximum is {MAX_DEDUP_KEY} characters)")
    if not key and not labels:
        errors.append(f"'{where}' has neither a fingerprint nor labels to tell it apart")
    started = common.timestamp(alert.get("startsAt"), f"{where}.startsAt", errors)
    links = [
        {"href": href, "text": label}
        for name, label in dialect.links
        if (href := common.text(alert, name, f"{where}.{name}", errors))
    ]
    images = [
        {"src": src}
        for name in dialect.images
        if (src := common.text(alert, name, f"{where}.{name}", errors))
    ]
    if len(errors) > before:
        return None
    details: dict[str, Any] = {"labels": labels, "annotations": annotations}
    details.update({name: alert[name] for name in dialect.details if name in alert})
    candidates = (
        annotations.get("summary"),
        annotations.get("description"),
        labels.get("alertname"),
    )
    title = next((c for c in candidates if c and c.strip()), f"{dialect.tool} alert")
    return IncomingEvent(
        action="trigger" if status == "firing" else "resolve",
        dedup_key=key or fingerprint(labels),
        summary=common.summary(title),
        source=labels.get("instance") or labels.get("job") or str(external or dialect.tool),
        severity=common.severity_of(labels.get("severity")),
        timestamp=started,
        component=labels.get("component") or labels.get("service"),
        group=labels.get("group") or labels.get("cluster"),
        class_=labels.get("alertname"),
        details=details,
        links=links,
        images=images,
        client=dialect.tool,
        client_url=external if isinstance(external, str) and external else None,
        raw={**group, "alert": alert},
    )
