"""The postmortems pages in a real headless Chromium (Debian's ``chromium`` through
Playwright): the list, a postmortem whose section is edited and saved, a reviewer added
and the action items across incidents with the overdue one first; axe-core's WCAG 2.1
A/AA rules find nothing on any of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import async_playwright, expect
from tests.browser import Pages, artifact_folder, tocsin_server
from tests.conftest import START
from tests.web.web_client import PASSWORD, person

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas as incident_schemas
from tocsin.incidents import service as incidents
from tocsin.postmortems import actions, service
from tocsin.postmortems.schemas import ActionItemIn

LEAD = "tech.lead@example.com"


async def test_postmortem_pages_in_the_browser(
    seeded: Context, chromium: str, request: pytest.FixtureRequest
) -> None:
    async with seeded.db.write() as session:
        body = incident_schemas.DeclareIn(title="Scores are not saving", severity="SEV1")
        ref = (await incidents.declare(session, SYSTEM, body, clock=seeded.clock)).ref
        await incidents.set_status(session, SYSTEM, ref, "resolved", clock=seeded.clock)
        for title, hours in (("Load tests before release", 96), ("Pool monitoring", 24)):
            data = ActionItemIn(
                title=title, owner="tech.lead", due_at=START + timedelta(hours=hours)
            )
            await actions.add(session, SYSTEM, ref, data, clock=seeded.clock)
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    clock.set(START + timedelta(hours=50))  # the meeting and the first item are overdue
    await person(seeded, LEAD)
    await person(seeded, "comms@example.com")
    pages = Pages(artifact_folder("web"), seeded.db.dialect, request)
    summary = "Scores were lost for 40 minutes after release 4.2."
    with tocsin_server(seeded.settings.database_url, clock) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            context = await browser.new_context()
            try:
                page = await context.new_page()
                await page.goto(f"{base}/postmortems")
                await page.get_by_label("E-mail address").fill(LEAD)
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await expect(page).to_have_url(f"{base}/postmortems")
                await expect(page.locator("tr.pm-overdue")).to_contain_text("Overdue")
                await pages.check(page, "postmortems-list")

                await page.get_by_role("link", name=ref).click()
                await expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
                await pages.check(page, "postmortem")
                section = page.locator("#section-executive-summary")
                await page.get_by_label("Executive Summary").fill(summary)
                await section.get_by_role("button", name="Save").click()
                await expect(page.get_by_label("Executive Summary")).to_have_value(summary)

                await page.get_by_label("Add a reviewer (e-mail address)").fill(
                    "nobody@example.com"
                )
                await page.get_by_role("button", name="Add", exact=True).click()
                await expect(page.locator("#reviewer-email-error")).to_be_visible()
                await pages.check(page, "postmortem-rejected")
                await page.get_by_label("Add a reviewer (e-mail address)").fill("comms@example.com")
                await page.get_by_role("button", name="Add", exact=True).click()
                await expect(page.locator(".pm-reviewers")).to_contain_text("comms@example.com")

                await page.get_by_role("link", name="Action items", exact=True).first.click()
                await expect(page).to_have_url(f"{base}/action-items")
                first = page.locator("table.ai-list tbody tr").first
                await expect(first).to_contain_text("Pool monitoring")
                await expect(first).to_contain_text("Overdue")
                await pages.check(page, "action-items")
                await page.get_by_role("button", name=f"Mark done: {ref} #2").click()
                await expect(page.locator("table.ai-list")).not_to_contain_text("Pool monitoring")
            finally:
                await context.close()
                await browser.close()
    async with seeded.db.read() as session:
        incident, postmortem = await service.get(session, SYSTEM, ref)
        items = await actions.items_of(session, incident)
    assert next(s for s in postmortem.sections if s["key"] == "executive-summary")["body"] == (
        summary
    )
    assert [r["email"] for r in postmortem.reviewers] == ["comms@example.com"]
    assert [i.status for i in items] == ["open", "done"]
