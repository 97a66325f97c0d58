"""The console end to end in a real headless Chromium (Debian's ``chromium`` through
Playwright's ``executable_path``; the status page tests' fixture and server): sign in,
declare a SEV1, watch it appear live in a second person's browser, acknowledge, assign a
commander, note, propose a mitigation and approve it, draft a status-page update from the
template and publish it (then find it on ``/status``), move to resolved, and find every
step on the timeline, which the second browser also sees live. axe-core's WCAG 2.1 A/AA rules find nothing serious on any page;
a person without the permissions sees no action and a forged post is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect
from tests.browser import Pages, artifact_folder, tocsin_server
from tests.web.web_client import PASSWORD, person

from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents


@pytest.fixture
def shots() -> Path:
    return artifact_folder("web")


async def _sign_in(context: BrowserContext, base: str, email: str, pages: Pages | None) -> Page:
    page = await context.new_page()
    await page.goto(f"{base}/")
    await expect(page).to_have_url(f"{base}/login?next=/incidents")
    await page.keyboard.press("Tab")  # the first stop is the skip link, visibly focused
    assert await page.evaluate("document.activeElement.className") == "skip"
    if pages:
        await pages.check(page, "login")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{base}/incidents")
    return page


async def _set_status(page: Page, status: str) -> None:
    await page.get_by_label("New status").select_option(status)
    await page.get_by_role("button", name="Change status").click()
    await expect(page.locator(".facts .status")).to_have_class(f"status st-{status}")


async def test_an_incident_worked_in_the_browser(
    seeded: Context, chromium: str, shots: Path, request: pytest.FixtureRequest
) -> None:
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    await person(seeded, "watcher@example.com")  # everyone's permissions only
    pages = Pages(shots, seeded.db.dialect, request)
    with tocsin_server(seeded.settings.database_url, seeded.clock) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            lead_ctx, watch_ctx = await browser.new_context(), await browser.new_context()
            try:
                lead = await _sign_in(lead_ctx, base, "lead@example.com", pages)
                watcher = await _sign_in(watch_ctx, base, "watcher@example.com", None)
                await expect(watcher.locator(".live-note")).to_be_visible()  # stream open
                await pages.check(watcher, "incidents-empty")

                await lead.get_by_role("link", name="Declare an incident").first.click()
                await pages.check(lead, "declare")
                await lead.get_by_role("button", name="Declare", exact=True).click()
                await expect(lead.locator("#title-error")).to_be_visible()  # beside the field
                await pages.check(lead, "declare-rejected")
                await lead.get_by_label("Title").fill("Scores are not saving")
                await lead.get_by_label("SEV1 Severity 1: Critical").check()
                await lead.get_by_label("Type").select_option("outage")
                await lead.get_by_label("Score Recording").check()
                await lead.get_by_role("button", name="Declare", exact=True).click()
                await expect(lead.locator("h1 .ref")).to_have_text(re.compile(r"INC-"))
                ref = (await lead.locator("h1 .ref").text_content()) or ""

                # the second browser sees it appear without reloading
                row = watcher.get_by_role("link", name=ref)
                await expect(row).to_be_visible(timeout=15000)
                await pages.check(watcher, "incidents-live")
                await row.click()
                await expect(watcher.get_by_role("heading", level=1)).to_contain_text(ref)
                for action in ("Acknowledge", "Change status", "Change severity", "Assign"):
                    assert await watcher.get_by_role("button", name=action, exact=True).count() == 0

                await pages.check(lead, "room-declared")
                await lead.get_by_role("button", name="Acknowledge", exact=True).click()
                await expect(
                    lead.get_by_text("Acknowledged by Lead", exact=False).first
                ).to_be_visible()
                await lead.get_by_label("Role").select_option("incident-commander")
                await lead.get_by_label("Person").fill("lead@example.com")
                await lead.get_by_role("button", name="Assign", exact=True).click()
                await lead.get_by_label("Add a note").fill("Rolled back release 4.2")
                await lead.get_by_role("button", name="Post", exact=True).click()
                # the watcher's room shows the note live
                await expect(watcher.locator("#timeline")).to_contain_text(
                    "Rolled back release 4.2", timeout=15000
                )
                # propose a mitigation and approve it (the watcher may propose, not approve)
                await lead.get_by_label("Proposed action").fill("Roll back to 4.1")
                await lead.get_by_label("Risk").select_option("Low")
                await lead.get_by_label("Rollback plan").fill("Redeploy 4.2")
                await lead.get_by_role("button", name="Propose", exact=True).click()
                await expect(lead.locator("#mitigations")).to_contain_text("Awaiting approval.")
                await expect(watcher.locator("#mitigations")).to_contain_text(
                    "Roll back to 4.1", timeout=15000
                )
                assert await watcher.get_by_role("button", name="Approve").count() == 0
                await lead.get_by_role("button", name="Approve", exact=True).click()
                await expect(lead.locator("#mitigations")).to_contain_text("Approved by")

                # draft a status-page update from the template, publish it, find it on /status
                assert await watcher.get_by_role("button", name="Publish").count() == 0
                await lead.get_by_label("Public status").select_option("investigating")
                await lead.get_by_label("Impact on customers").fill("Scores may not be saved")
                await lead.get_by_role("button", name="Draft from template").click()
                await expect(lead.locator("#statuspage-drafted")).to_be_visible()
                drafted = await lead.get_by_label("Public text").input_value()
                assert "Scores may not be saved" in drafted
                await pages.check(lead, "room-statuspage-draft")
                await lead.get_by_role("button", name="Publish", exact=True).click()
                await expect(lead.locator("#timeline")).to_contain_text(
                    "Published on the status page"
                )
                public = await lead_ctx.new_page()
                await public.goto(f"{base}/status")
                await expect(public.locator("main")).to_contain_text("Scores are not saving")
                await expect(public.locator("main")).to_contain_text("Scores may not be saved")
                await public.close()

                for status in ("identified", "monitoring", "resolved"):
                    await _set_status(lead, status)
                timeline = lead.locator("#timeline")
                for step in ("Declared", "Acknowledged by", "is now Incident Commander",
                             "Rolled back release 4.2", "investigating → identified",
                             "identified → monitoring", "monitoring → resolved"):  # fmt: skip
                    await expect(timeline).to_contain_text(step)
                await pages.check(lead, "room-resolved")
                await expect(watcher.locator("#timeline")).to_contain_text(
                    "monitoring → resolved", timeout=15000
                )
                await pages.check(watcher, "room-watcher")

                # a forged post from the watcher's session: refused, nothing changes
                csrf = await watcher.locator('input[name="csrf"]').first.input_value()
                answer = await watcher.request.post(
                    f"{base}/incidents/{ref}/actions/status",
                    form={"csrf": csrf, "status": "investigating"},
                    max_redirects=0,
                )
                assert answer.status == 403
            finally:
                await lead_ctx.close()
                await watch_ctx.close()
                await browser.close()
    async with seeded.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
    assert incident.status == "resolved" and incident.acknowledged_at is not None
