"""The reports page in a real headless Chromium (tests/browser.py): sign in, this month,
choose January by the form, read the charts' figures as a table, download the CSV, and a
rejected period beside its field; axe-core's WCAG 2.1 A/AA rules find nothing on any of
them, and a screenshot of each is saved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from tests.browser import Pages, artifact_folder, tocsin_server
from tests.reports.conftest import build_fixed_set
from tests.web.web_client import PASSWORD, person

from tocsin.auth import service as auth
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.reports import periods, render
from tocsin.reports import service as reports


@pytest.fixture
def clock() -> VirtualClock:
    """The fixed set starts in December 2025 (its previous period)."""
    return VirtualClock(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))


async def test_reports_in_the_browser(
    ctx: Context, chromium: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    await build_fixed_set(ctx)
    await person(ctx, "admin@example.com", admin=True)
    async with ctx.db.read() as session:
        user = await auth.user_by_email(session, "admin@example.com")
        assert user is not None
        january = await reports.period_report(
            session, auth.actor_for(user), periods.parse("2026-01"), by="team", clock=ctx.clock
        )
    pages = Pages(artifact_folder("web"), ctx.db.dialect, request)
    with tocsin_server(ctx.settings.database_url, ctx.clock) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            try:
                page = await browser.new_page()
                await page.goto(f"{base}/reports")
                await page.get_by_label("E-mail address").fill("admin@example.com")
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await expect(page).to_have_url(f"{base}/reports")
                await expect(page.locator("#report-period")).to_contain_text("2026-02")
                await pages.check(page, "reports-this-month")

                await page.get_by_label("Month, ISO week or quarter").fill("2026-01")
                await page.get_by_label("Columns by").select_option("team")
                await page.get_by_role("button", name="Show").click()
                await expect(page).to_have_url(f"{base}/reports?period=2026-01&from=&to=&by=team")
                await expect(page.locator(".report-keys")).to_contain_text("40%")
                charts = page.get_by_role("img")
                await expect(charts).to_have_count(5)
                await expect(page.get_by_role("img", name="Incidents by severity")).to_be_visible()
                await page.get_by_text("The figures of this chart as a table").first.click()
                await expect(page.get_by_role("rowheader", name="SEV2 Major").first).to_be_visible()
                await pages.check(page, "reports-january")

                async with page.expect_download() as waiting:
                    await page.get_by_role("link", name="CSV (spreadsheet)").click()
                download = await waiting.value
                assert download.suggested_filename == "tocsin-report-2026-01-by-team.csv"
                saved = tmp_path / download.suggested_filename
                await download.save_as(saved)
                assert saved.read_text(encoding="utf-8") == render.csv_text(january)

                await page.get_by_label("Month, ISO week or quarter").fill("2026-13")
                await page.get_by_role("button", name="Show").click()
                error = page.locator("#period-error")
                await expect(error).to_contain_text("2026-13 is not a month")
                await expect(page.get_by_label("Month, ISO week or quarter")).to_have_value(
                    "2026-13"
                )
                await pages.check(page, "reports-rejected")
            finally:
                await browser.close()
