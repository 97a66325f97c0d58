"""A period report as a table for people, CSV for spreadsheets, or Markdown. Pure.

Table and Markdown put one figure per row and the total and each group in columns; CSV
puts the total and each group in rows, one figure per column (durations in seconds).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tocsin.policy.spans import format_timedelta
from tocsin.reports.figures import DURATIONS
from tocsin.reports.schemas import Completion, GroupFigures, PeriodReport

_LABELS = {
    "ttd": "time to detect",
    "tta": "time to acknowledge",
    "ttm": "time to mitigate",
    "ttr": "time to resolve",
    "duration": "duration",
}


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_timedelta(timedelta(seconds=round(seconds)))


def _value(value: Any, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value}{suffix}"


def _done(c: Completion) -> str:
    if c.total == 0:
        return "-"
    overdue = f", {c.overdue} overdue" if c.overdue else ""
    return f"{c.completed}/{c.total} ({_value(c.completion_pct, '%')}{overdue})"


def _signed(value: float | None, suffix: str) -> str:
    return "-" if value is None else ("+" if value > 0 else "") + _value(value, suffix)


_Row = tuple[str, Callable[[GroupFigures], str]]


def _count_of(severity: str) -> Callable[[GroupFigures], str]:
    return lambda g: str(g.severity_counts.get(severity, 0))


def _spread_of(name: str, stat: str) -> Callable[[GroupFigures], str]:
    return lambda g: _duration(getattr(getattr(g, name), stat))


def _rows(report: PeriodReport) -> list[_Row]:
    severities = list(report.total.severity_counts)
    rows: list[_Row] = [
        ("incidents", lambda g: str(g.incidents)),
        ("open", lambda g: str(g.open)),
    ]
    if report.by != "severity":
        rows += [(f"  {s}", _count_of(s)) for s in severities]
    for name in DURATIONS:
        for stat in ("mean", "median", "p90"):
            rows.append((f"{_LABELS[name]} ({stat})", _spread_of(name, stat)))
    rows += [
        ("SLA compliance", lambda g: _value(g.sla.compliance_pct, "%")),
        ("SLA met / breached", lambda g: f"{g.sla.met} / {g.sla.breached}"),
        ("downtime (min)", lambda g: _value(g.downtime_minutes)),
        ("user impact (user-hours)", lambda g: _value(g.user_impact_hours)),
        ("postmortems final", lambda g: _done(g.postmortems)),
        ("action items closed", lambda g: _done(g.action_items)),
        (
            f"incidents vs {report.previous_period}",
            lambda g: _signed(g.change.incidents_pct if g.change else None, "%"),
        ),
        (
            f"mean TTA vs {report.previous_period}",
            lambda g: _signed(g.change.tta_mean_pct if g.change else None, "%"),
        ),
        (
            f"mean duration vs {report.previous_period}",
            lambda g: _signed(g.change.duration_mean_pct if g.change else None, "%"),
        ),
        (
            f"SLA compliance vs {report.previous_period}",
            lambda g: _signed(g.change.sla_compliance_points if g.change else None, " pts"),
        ),
    ]
    return rows


def _columns(report: PeriodReport) -> list[tuple[str, GroupFigures]]:
    return [("total", report.total)] + [(g.key or "(none)", g) for g in report.groups]


def title(report: PeriodReport) -> str:
    end = report.end - timedelta(microseconds=1)
    by = f" by {report.by}" if report.by else ""
    return (
        f"Incidents {report.period}{by}: {report.start:%Y-%m-%d} to {end:%Y-%m-%d} "
        f"({report.timezone}), compared with {report.previous_period}"
    )


def _root_causes(report: PeriodReport) -> str:
    causes = ", ".join(f"{c.name} ({c.count})" for c in report.total.top_root_causes)
    return f"Top root causes: {causes or 'none recorded'}"


def _grid(report: PeriodReport) -> list[list[str]]:
    columns = _columns(report)
    header = ["figure", *(name for name, _ in columns)]
    return [header] + [[label, *(get(g) for _, g in columns)] for label, get in _rows(report)]


def table(report: PeriodReport) -> str:
    grid = _grid(report)
    widths = [max(len(row[i]) for row in grid) for i in range(len(grid[0]))]
    lines = [title(report), ""]
    for n, row in enumerate(grid):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    excluded = ", ".join(report.excluded_types)
    lines += ["", _root_causes(report)]
    if excluded:
        lines.append(f"Not counted (exclude_from_metrics): {excluded}")
    return "\n".join(lines) + "\n"


def markdown(report: PeriodReport) -> str:
    grid = _grid(report)
    lines = [f"## {title(report)}", ""]
    lines.append("| " + " | ".join(grid[0]) + " |")
    lines.append("|" + "---|" + "---:|" * (len(grid[0]) - 1))
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in grid[1:]
    ]
    lines += ["", _root_causes(report)]
    return "\n".join(lines) + "\n"


def _csv_row(report: PeriodReport, group: GroupFigures) -> dict[str, Any]:
    row: dict[str, Any] = {
        "period": report.period,
        "by": report.by or "",
        "group": "total" if group is report.total else (group.key or ""),
        "incidents": group.incidents,
        "open": group.open,
        "resolved": group.resolved,
    }
    for name in DURATIONS:
        spread = getattr(group, name)
        for stat in ("mean", "median", "p90"):
            row[f"{name}_{stat}_seconds"] = getattr(spread, stat)
    row |= {
        "sla_met": group.sla.met,
        "sla_breached": group.sla.breached,
        "sla_compliance_pct": group.sla.compliance_pct,
        **{f"sla_{t}_breaches": n for t, n in group.sla.breaches.items()},
        "downtime_minutes": group.downtime_minutes,
        "user_impact_hours": group.user_impact_hours,
        "postmortems": group.postmortems.total,
        "postmortems_final": group.postmortems.completed,
        "action_items": group.action_items.total,
        "action_items_closed": group.action_items.completed,
        "action_items_overdue": group.action_items.overdue,
        "top_root_causes": ";".join(f"{c.cause}={c.count}" for c in group.top_root_causes),
    }
    change = group.change.model_dump() if group.change else {}
    row |= {f"change_{k}": v for k, v in change.items()}
    return row


def csv_text(report: PeriodReport) -> str:
    rows = [_csv_row(report, g) for g in [report.total, *report.groups]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


RENDERERS: dict[str, Callable[[PeriodReport], str]] = {
    "table": table,
    "md": markdown,
    "csv": csv_text,
}
