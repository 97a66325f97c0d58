"""The on-call pages in a real headless Chromium (seed 000: Europe/Amsterdam, Dutch): who
is on call now, a schedule's week and month, a rejected override and an accepted one
(marked on its day), a person's next shifts and a calendar address; axe-core's WCAG 2.1
A/AA rules find no violation on any of them, and screenshots are saved."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect
from tests.browser import Pages, artifact_folder, tocsin_server
from tests.web.test_web_oncall import MANAGER, _overrides, _seed_000
from tests.web.web_client import PASSWORD

from tocsin.context import Context


async def test_the_oncall_pages_in_the_browser(
    ctx: Context, chromium: str, request: pytest.FixtureRequest
) -> None:
    await _seed_000(ctx)
    pages = Pages(artifact_folder("web-oncall"), ctx.db.dialect, request)
    with tocsin_server(ctx.settings.database_url, ctx.clock) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            try:
                page = await browser.new_page()
                await page.goto(f"{base}/oncall")
                await page.get_by_label("E-mailadres").fill(MANAGER)
                await page.get_by_label("Wachtwoord").fill(PASSWORD)
                await page.get_by_role("button", name="Aanmelden").click()
                await expect(page).to_have_url(f"{base}/oncall")
                now = page.locator("#schedule-primary")
                await expect(now).to_contain_text("Dev Team Lead (voorbeeld)")
                await expect(now).to_contain_text("27 maart 2026 18:00 CET")
                await pages.check(page, "oncall-now")

                await page.get_by_role("link", name="Primary On-Call").click()
                await expect(page.locator("#day-2026-03-29")).to_contain_text(
                    "23 uur: de klok wordt verzet"
                )
                await pages.check(page, "oncall-week")

                # a rejected override: the messages beside their fields, the reason kept
                await page.get_by_label("Reden (niet verplicht)").fill("tandarts")
                await page.get_by_role("button", name="Wijziging toevoegen").click()
                await expect(page.locator("#ov-person-error")).to_be_visible()
                await expect(page.locator("#ov-start-error")).to_be_visible()
                await expect(page.get_by_label("Reden (niet verplicht)")).to_have_value("tandarts")
                await pages.check(page, "oncall-override-rejected")

                await page.get_by_label("Persoon").select_option("senior-developer")
                await page.get_by_label("In plaats van (alleen bij vervangen)").select_option(
                    "dev-team-lead"
                )
                await page.get_by_label("Van", exact=True).fill("2026-03-30T09:00")
                await page.get_by_label("Tot", exact=True).fill("2026-03-30T18:00")
                await page.get_by_role("button", name="Wijziging toevoegen").click()
                monday = page.locator("#day-2026-03-30")
                await expect(monday).to_contain_text("wijziging #1")
                await expect(monday.locator(".oncall-override")).to_contain_text(
                    "Senior Developer (voorbeeld)"
                )
                await expect(page.locator("#override-1")).to_contain_text("tandarts")
                await pages.check(page, "oncall-override-added")

                await page.get_by_label("Weergave").select_option("month")
                await page.get_by_role("button", name="Tonen").click()
                await expect(page.get_by_role("heading", name="maart 2026")).to_be_visible()
                await pages.check(page, "oncall-month")

                await page.get_by_role("button", name="Agenda-adres maken").click()
                address = page.locator("#new-feed")
                await expect(address).to_have_value(
                    f"{base}/api/v1/ical/tcf_" + (await address.input_value()).split("tcf_")[1]
                )
                await pages.check(page, "oncall-calendar")

                await page.locator("#day-2026-03-30 .oncall-override a").first.click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text(
                    "Diensten van Senior Developer (voorbeeld)"
                )
                await expect(page.locator("table.oncall-person")).to_contain_text(
                    "30 maart 2026 09:00 CEST"
                )
                await pages.check(page, "oncall-person")
            finally:
                await browser.close()
    made = await _overrides(ctx)
    assert [(o.person.handle, o.replaces and o.replaces.handle) for o in made] == [
        ("senior-developer", "dev-team-lead")
    ]
