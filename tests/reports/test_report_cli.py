"""``tocsin report`` through Typer's runner on the fixed set (conftest.py), both databases.

The CLI reads the real clock, so only figures that do not depend on "now" are checked.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import UTC, datetime

from tests.cli.conftest import Cli, cli, cli_db  # noqa: F401 (fixtures)
from tests.reports.conftest import build_fixed_set

from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.settings import Settings


def _fixed_set(url: str) -> dict[str, str]:
    async def build() -> dict[str, str]:
        db = Database(Settings(database_url=url))
        clock = VirtualClock(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
        try:
            return await build_fixed_set(Context(settings=db.settings, db=db, clock=clock))
        finally:
            await db.dispose()

    return asyncio.run(build())


def test_report_formats(cli: Cli, cli_db: str) -> None:  # noqa: F811
    refs = _fixed_set(cli_db)

    table = cli("report", "--period", "2026-01", "--by", "severity").stdout
    lines = table.splitlines()
    assert lines[0].startswith("Incidents 2026-01 by severity: 2026-01-01 to 2026-01-31 (UTC)")
    assert lines[2].split() == ["figure", "total", "SEV1", "SEV2"]
    row = next(line for line in lines if line.startswith("time to acknowledge (mean)"))
    assert row.split()[-3:] == ["12m12s", "8m", "15m"]
    assert any(line.split()[-3:] == ["40%", "50%", "33.33%"] for line in lines), table
    assert "Top root causes: Deployment (2), Database (1)" in lines
    assert "Not counted (exclude_from_metrics): drill" in lines

    data = json.loads(cli("report", "--period", "2026-01", "--format", "json").stdout)
    assert data["total"]["incidents"] == 5
    assert data["total"]["tta"] == {"count": 5, "mean": 732.0, "median": 720.0, "p90": 1200.0}

    rows = list(
        csv.DictReader(
            io.StringIO(
                cli(
                    "report", "--from", "2026-01-01", "--to", "2026-01-31", "--format", "csv"
                ).stdout
            )
        )
    )
    assert [(r["group"], r["incidents"], r["sla_compliance_pct"]) for r in rows] == [
        ("total", "5", "40.0")
    ]

    week = cli("report", "--period", "2026-W03", "--format", "md").stdout
    assert week.startswith("## Incidents 2026-W03: 2026-01-12 to 2026-01-18 (UTC)")
    assert "| incidents | 0 |" in week

    one = dict(
        re.split(r"\s{2,}", line.strip(), maxsplit=1)
        for line in cli("report", "--incident", refs["J2"]).stdout.splitlines()
    )
    assert one["time to acknowledge"] == "720 s (12 min)"
    assert one["duration"] == "7920 s (132 min)"
    assert one["SLA acknowledge"] == "breached by 7m"
    assert one["SLA mitigate"] == "breached by 30m"
    assert one["SLA met"] == "no"
    assert one["team / service"] == "data / db"

    bad = cli("report", "--period", "2026-13", code=1)
    assert "period '2026-13'" in bad.stderr


def test_report_help(cli: Cli) -> None:  # noqa: F811
    text = cli("report", "--help").stdout
    for option in ("--period", "--from", "--to", "--by", "--format", "--incident"):
        assert option in text
