"""The reports page over HTTP on both databases, on the reports tests' fixed set of
incidents (tests/reports/conftest.py; made through the incident service on a virtual
clock): the figures shown are the service's, the downloads are the service's rendering
(and the API's), bad input comes back beside its field, and restricted incidents count
only for those who may see them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from tests.conftest import token_for
from tests.reports.conftest import AS_OF, build_fixed_set
from tests.web.web_client import browser, person, signed_in

from tocsin.auth import service as auth
from tocsin.auth.models import User
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.policy.spans import format_timedelta
from tocsin.reports import periods, render
from tocsin.reports import service as reports
from tocsin.reports.schemas import GroupBy, PeriodReport
from tocsin.web.reports.views import NO_FIGURE

ADMIN, OUTSIDER = "admin@example.com", "outsider@example.com"


@pytest.fixture
def clock() -> VirtualClock:
    """The fixed set starts in December 2025 (its previous period)."""
    return VirtualClock(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def fixed(ctx: Context) -> dict[str, str]:
    refs = await build_fixed_set(ctx)
    assert ctx.clock.now() == AS_OF
    await person(ctx, ADMIN, admin=True)
    await person(ctx, OUTSIDER)  # no role on any incident: J4 (restricted) is not theirs
    return refs


async def _expected(ctx: Context, email: str, period: str, by: GroupBy) -> PeriodReport:
    async with ctx.db.read() as session:
        user = await auth.user_by_email(session, email)
        assert user is not None
        return await reports.period_report(
            session, auth.actor_for(user), periods.parse(period), by=by, clock=ctx.clock
        )


class _Tables(HTMLParser):
    """Each table's rows (cells' text) by the table's class; the key figures; the SVGs."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.keys: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._dt = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("class") or ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td", "dt", "dd"):
            self._cell, self._in = [], tag

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td", "dt", "dd") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if tag == "dt":
                self._dt = text
            elif tag == "dd":
                self.keys[self._dt] = text
            else:
                self._row.append(text)
            self._cell = None
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append(self._row)
        elif tag == "table":
            self._table = None


def _rows(page: _Tables, table: str) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in page.tables[table]}


def _duration(seconds: float | None) -> str:
    return NO_FIGURE if seconds is None else format_timedelta(timedelta(seconds=round(seconds)))


def _svgs(html: str) -> list[ET.Element]:
    found = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    return [ET.fromstring(s) for s in found]


async def test_the_page_shows_the_services_figures(ctx: Context, fixed: dict[str, str]) -> None:
    expected = await _expected(ctx, ADMIN, "2026-01", "severity")
    by_type = await _expected(ctx, ADMIN, "2026-01", "type")
    async with browser(ctx) as http:
        await signed_in(http, ADMIN)
        answer = await http.get("/reports", params={"period": "2026-01", "by": "severity"})
    assert answer.status_code == 200, answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    html = answer.text
    assert 'style="' not in html and "<script>" not in html
    page = _Tables(html)
    total, sev1, sev2 = expected.total, *expected.groups
    # the hand-worked figures of the fixed set (tests/reports/test_report_acceptance.py) ...
    assert (total.incidents, total.sla.compliance_pct) == (5, 40.0)
    # ... as the page writes them
    assert page.keys == {
        "Incidents": "5",
        "MTTA": _duration(total.tta.mean),
        "MTTM": _duration(total.ttm.mean),
        "MTTR": _duration(total.ttr.mean),
        "SLA compliance": "40%",
    }
    assert page.keys["MTTA"] == "12m12s"  # 732 s
    figures = _rows(page, "report-figures")
    assert figures["Figure"] == ["Total", "SEV1", "SEV2"]
    assert figures["Incidents"] == ["5", "2", "3"]
    assert figures["Still open"] == [str(g.open) for g in (total, sev1, sev2)]
    for name, label in (("tta", "Time to acknowledge"), ("ttm", "Time to mitigate")):
        for stat, words in (("mean", "mean"), ("median", "median"), ("p90", "90th percentile")):
            assert figures[f"{label} ({words})"] == [
                _duration(getattr(getattr(g, name), stat)) for g in (total, sev1, sev2)
            ], (name, stat)
    assert figures["Time to mitigate (90th percentile)"][0] == "1h42m"
    assert figures["SLA compliance"] == ["40%", "50%", "33.33%"]
    assert figures["SLA met / breached"] == ["2 / 3", "1 / 1", "1 / 2"]
    assert figures["Postmortems final"][0] == "1 of 3 (33.33%, 1 overdue)"
    assert figures["Incidents vs 2025-12"] == ["+150%", "+100%", "+200%"]
    assert figures["SLA compliance vs 2025-12"] == ["-60 pts", "-50 pts", "-66.67 pts"]

    # five charts, each valid SVG with a title and a description, and its figures as a table
    charts = _svgs(html)
    assert len(charts) == 5
    svg = "{http://www.w3.org/2000/svg}"
    for chart in charts:
        assert chart.findtext(f"{svg}title") and chart.findtext(f"{svg}desc")
    severity, types, times, sla, causes = charts
    assert [t.text for t in severity.iter(f"{svg}text")] == [
        "SEV1 Critical",
        "2",
        "SEV2 Major",
        "3",
    ]
    widths = [float(r.attrib["width"]) for r in severity.iter(f"{svg}rect")]
    assert widths[0] / widths[1] == pytest.approx(2 / 3, rel=1e-3)
    data = page.tables["report-data"]  # every chart's table, one after the other
    assert ["SEV1 Critical", "2"] in data and ["SEV2 Major", "3"] in data
    type_counts = [[g.key or "(none)", str(g.incidents)] for g in by_type.groups]
    named = {"outage": "Outage", "security": "Security"}
    assert all([named.get(k, k), n] in data for k, n in type_counts)
    assert [t.text for t in types.iter(f"{svg}text")][::2] == [
        named.get(g.key or "", "(none)") for g in by_type.groups
    ]
    assert ["Total", "40%", "2", "3"] in data and ["SEV2", "33.33%", "1", "2"] in data
    written = [t.text for t in times.iter(f"{svg}text")]
    assert written[:7] == ["Total", "MTTA", "12m12s", "MTTM", "57m30s", "MTTR", "31m30s"]
    assert ["Total", "12m12s", "57m30s", "31m30s"] in data
    sla_widths = [float(r.attrib["width"]) for r in sla.iter(f"{svg}rect")]
    assert sla_widths[1] / sla_widths[0] == pytest.approx(50 / 40, rel=1e-3)
    assert [t.text for t in causes.iter(f"{svg}text")] == ["Deployment", "2", "Database", "1"]
    # the figures' instant in the viewer's zone (the policy's: UTC); the downloads' links
    assert "Figures as of February 1, 2026 12:00 UTC." in html
    assert 'href="/reports.csv?period=2026-01&amp;by=severity"' in html
    assert 'href="/reports?period=2025-12&amp;by=severity" rel="prev"' in html
    assert 'href="/reports?period=2026-02&amp;by=severity" rel="next"' in html


async def test_nothing_asked_shows_this_month_in_dutch_in_the_viewers_zone(
    ctx: Context, fixed: dict[str, str]
) -> None:
    async with ctx.db.write() as session:
        user = (await session.scalars(select(User).where(User.email == ADMIN))).one()
        user.locale, user.timezone = "nl", "Europe/Amsterdam"
    expected = await _expected(ctx, ADMIN, "2026-01", "severity")
    async with browser(ctx) as http:
        await signed_in(http, ADMIN)
        this_month = await http.get("/reports")
        january = await http.get("/reports", params={"period": "2026-01"})
    assert this_month.status_code == 200, this_month.text
    # the clock says February 1st (the organisation's zone is UTC): only J7
    assert "2026-02: 1 februari 2026 tot en met 28 februari 2026 (dagen in UTC)" in this_month.text
    assert _Tables(this_month.text).keys["Incidenten"] == "1"
    assert 'value="2026-02"' in this_month.text
    page = _Tables(january.text)
    assert page.keys["SLA-naleving"] == "40%"
    figures = _rows(page, "report-figures")
    assert figures["SLA-naleving"] == ["40%", "50%", "33,33%"]
    assert figures["Impact op gebruikers (gebruikersuren)"][0] == (
        str(expected.total.user_impact_hours).replace(".", ",")
    )
    assert "Cijfers van 1 februari 2026 13:00 CET." in january.text  # the viewer's zone
    assert "Liggende staven" in january.text and "<title" in january.text


async def test_downloads_are_the_services_rendering(ctx: Context, fixed: dict[str, str]) -> None:
    by_team = await _expected(ctx, ADMIN, "2026-01", "team")
    async with ctx.db.read() as session:
        admin = await auth.user_by_email(session, ADMIN)
        assert admin is not None
        in_range = await reports.period_report(
            session,
            auth.actor_for(admin),
            periods.custom(date(2026, 1, 10), date(2026, 1, 24)),
            by="type",
            clock=ctx.clock,
        )
    token = await token_for(ctx, ADMIN)
    async with browser(ctx) as http:
        await signed_in(http, ADMIN)
        csv_answer = await http.get("/reports.csv", params={"period": "2026-01", "by": "team"})
        md_answer = await http.get(
            "/reports.md", params={"from": "2026-01-10", "to": "2026-01-24", "by": "type"}
        )
        api = await http.get(
            "/api/v1/reports/period",
            params={"period": "2026-01", "by": "team", "format": "csv"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert csv_answer.status_code == 200, csv_answer.text
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_answer.headers["content-disposition"] == (
        'attachment; filename="tocsin-report-2026-01-by-team.csv"'
    )
    assert csv_answer.text == render.csv_text(by_team) == api.text
    assert csv_answer.text.splitlines()[1].startswith("2026-01,team,total,5,1,")
    assert md_answer.status_code == 200, md_answer.text
    assert md_answer.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md_answer.headers["content-disposition"] == (
        'attachment; filename="tocsin-report-2026-01-10_to_2026-01-24-by-type.md"'
    )
    assert md_answer.text == render.markdown(in_range)
    assert md_answer.text.startswith("## Incidents 2026-01-10..2026-01-24 by type:")


BAD: list[tuple[dict[str, str], str, str]] = [
    ({"period": "2026-13"}, "period", "2026-13 is not a month"),
    ({"period": "2026-01", "from": "2026-01-01", "to": "2026-01-02"}, "period", "not both"),
    ({"from": "2026-01-31", "to": "2026-01-01"}, "to", "The last day comes before"),
    ({"from": "2026-01-31"}, "to", "both its first and its last day"),
    ({"from": "yesterday", "to": "2026-01-01"}, "from", "yesterday is not a date"),
    ({"period": "2026-01", "by": "weather"}, "by", "Choose severity, type, team or service"),
]


async def test_bad_input_comes_back_beside_its_field(ctx: Context, fixed: dict[str, str]) -> None:
    async with browser(ctx) as http:
        await signed_in(http, ADMIN)
        for params, field, message in BAD:
            answer = await http.get("/reports", params=params)
            download = await http.get("/reports.csv", params=params)
            for page in (answer, download):
                assert page.status_code == 422, (params, page.text)
                assert page.headers["content-type"].startswith("text/html")
                error = re.search(
                    rf'<p class="error" id="{field}-error">(.*?)</p>', page.text, re.S
                )
                assert error and message in error.group(1), params
                assert f'aria-describedby="{field}-error"' in page.text or (
                    f'aria-describedby="{field}-hint {field}-error"' in page.text
                )
                for name, value in params.items():  # what was typed is kept
                    if name != "by":
                        assert re.search(rf'name="{name}"[^>]*value="{value}"', page.text)
                assert "<svg" not in page.text  # no figures for a period that is not one


async def test_signed_out_and_restricted_incidents(ctx: Context, fixed: dict[str, str]) -> None:
    async with browser(ctx) as http:
        for path in ("/reports", "/reports.csv", "/reports.md"):
            answer = await http.get(path, params={"period": "2026-01"})
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={path}%3Fperiod%3D2026-01"
    mine = await _expected(ctx, OUTSIDER, "2026-01", "type")
    everything = await _expected(ctx, ADMIN, "2026-01", "type")
    # J4 (security, restricted) is not the outsider's: as if it did not exist
    assert (mine.total.incidents, everything.total.incidents) == (4, 5)
    async with browser(ctx) as http:
        await signed_in(http, OUTSIDER)
        answer = await http.get("/reports", params={"period": "2026-01", "by": "type"})
        download = await http.get("/reports.csv", params={"period": "2026-01", "by": "type"})
    assert answer.status_code == 200, answer.text
    page = _Tables(answer.text)
    assert page.keys["Incidents"] == "4"
    figures = _rows(page, "report-figures")
    assert figures["Figure"] == ["Total", "Outage", "(none)"]
    assert "Security" not in figures["Figure"]
    assert download.text == render.csv_text(mine) != render.csv_text(everything)
