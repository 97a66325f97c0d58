"""The admin pages in a real headless Chromium (one walk through all of them): each page
is screenshotted and passes axe-core's WCAG 2.1 A/AA rules, with a rejected policy, a
diff to confirm, a token and an integration key shown once, and a dead job retried."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, async_playwright, expect
from tests.browser import Pages, artifact_folder, tocsin_server
from tests.conftest import SEED_004
from tests.web.web_client import PASSWORD, person

from tocsin.context import Context
from tocsin.jobs import service as jobs


async def _sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/admin")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{base}/admin")


async def _paste(page: Page, text: str) -> None:
    """Paste a whole policy file (typing 1,600 lines with ``fill`` takes Chromium minutes)."""
    await page.get_by_label("Policy (YAML)").evaluate("(el, text) => { el.value = text; }", text)


async def test_every_admin_page_in_the_browser(
    seeded: Context, chromium: str, request: pytest.FixtureRequest
) -> None:
    await person(seeded, "boss@example.com", admin=True)
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    async with seeded.db.write() as session:
        await jobs.enqueue(session, "webhook", {"to": "x"}, clock=seeded.clock, max_attempts=1)
    async with seeded.db.write() as session:
        (job,) = await jobs.claim(session, "w", clock=seeded.clock)
        await jobs.fail(session, job, "HTTP 503 from the webhook", clock=seeded.clock)
    text = SEED_004.read_text(encoding="utf-8")
    pages = Pages(artifact_folder("web"), seeded.db.dialect, request)
    with tocsin_server(seeded.settings.database_url, seeded.clock) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium)
            admin_ctx, lead_ctx = await browser.new_context(), await browser.new_context()
            try:
                page = await admin_ctx.new_page()
                await _sign_in(page, base, "boss@example.com")
                await pages.check(page, "admin-index")

                await page.locator(".admin-index").get_by_role("link", name="People").click()
                nav = page.get_by_role("navigation", name="Admin sections")
                await pages.check(page, "admin-people")
                await page.get_by_label("E-mail address").fill("nina@example.com")
                await page.get_by_label("Password").fill("short")
                await page.get_by_role("button", name="Add", exact=True).click()
                await expect(page.locator("#password-error")).to_be_visible()
                await pages.check(page, "admin-people-rejected")
                await page.get_by_label("Password").fill("a long secret")
                await page.get_by_role("button", name="Add", exact=True).click()
                await expect(page.get_by_role("status")).to_contain_text("nina@example.com")
                await page.get_by_role("link", name="nina@example.com").click()
                await pages.check(page, "admin-person")

                await nav.get_by_role("link", name="Teams").click()
                await pages.check(page, "admin-teams")

                await nav.get_by_role("link", name="API tokens").click()
                await page.get_by_label("What it is for").fill("deploys")
                await page.get_by_role("button", name="Create").click()
                secret = page.get_by_label("Token", exact=True)
                await expect(secret).to_have_value(re.compile(r"^\S{20,}$"))
                await pages.check(page, "admin-token-made")

                await nav.get_by_role("link", name="Policy").click()
                await pages.check(page, "admin-policy")
                bad = text.replace("everyone: [declare, add-note]", "everyone: [declare, fly]")
                await _paste(page, bad)
                await page.get_by_role("button", name="Check").click()
                await expect(page.locator("#content-error")).to_contain_text("fly")
                await pages.check(page, "admin-policy-rejected")
                good = text.replace("everyone: [declare, add-note]", "everyone: [declare]")
                await _paste(page, good)
                await page.get_by_role("button", name="Show changes").click()
                await expect(page.locator(".diff .d-add")).to_have_text("+everyone: [declare]")
                await pages.check(page, "admin-policy-diff")
                await page.get_by_role("button", name="Apply these changes").click()
                await expect(page.get_by_role("status")).to_have_text(
                    "Applied as policy version 2."
                )
                await page.get_by_role("link", name="Policy version 2").click()
                await pages.check(page, "admin-policy-version")

                await nav.get_by_role("link", name="Integrations").click()
                await page.get_by_label("Name").fill("Datadog prod")
                await page.get_by_role("button", name="Add", exact=True).click()
                await expect(page.get_by_label("Integration key")).to_have_value(
                    re.compile(r"^[0-9a-f]{32}$")
                )
                await pages.check(page, "admin-integrations")

                await nav.get_by_role("link", name="Dead jobs").click()
                await expect(page.locator(".dead-jobs")).to_contain_text("HTTP 503")
                await pages.check(page, "admin-jobs")
                await page.get_by_role("button", name=f"Retry job {job.id}").click()
                await expect(page.get_by_text("No dead jobs.")).to_be_visible()

                await nav.get_by_role("link", name="Audit log").click()
                await page.get_by_label("Action").fill("policy.apply")
                await page.get_by_role("button", name="Apply").click()
                await expect(page.locator(".audit tbody tr")).to_have_count(2)
                await pages.check(page, "admin-audit")

                # someone else: no Admin in the menu, and the pages answer 403
                lead = await lead_ctx.new_page()
                await lead.goto(f"{base}/login")
                await lead.get_by_label("E-mail address").fill("lead@example.com")
                await lead.get_by_label("Password").fill(PASSWORD)
                await lead.get_by_role("button", name="Sign in").click()
                await expect(lead.get_by_role("link", name="Admin")).to_have_count(0)
                answer = await lead.goto(f"{base}/admin/people")
                assert answer is not None and answer.status == 403
                await pages.check(lead, "admin-forbidden")
            finally:
                await admin_ctx.close()
                await lead_ctx.close()
                await browser.close()
