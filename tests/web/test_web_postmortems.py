"""The postmortems pages through HTTP: a section edited on the page is what the API
returns; reviewers, review and approval go through the service's rules; the action-item
list puts overdue items first at a virtual time; a rejected form keeps what was typed
with the message next to its field; a person without the permission sees no form and a
forged post is a 403 that changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from tests.conftest import START
from tests.web.web_client import browser, person, signed_in

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas as incident_schemas
from tocsin.incidents import service as incidents
from tocsin.postmortems import actions, service
from tocsin.postmortems.schemas import ActionItemIn

LEAD = "tech.lead@example.com"  # incident commander in seed 004: edit-incident
COMMS = "comms@example.com"  # product: add-note (everyone's) but not edit-incident


async def _resolved(ctx: Context, title: str, severity: str = "SEV1") -> str:
    """An incident resolved now: seed 004 makes its postmortem, due in 48 hours (SEV1)."""
    async with ctx.db.write() as session:
        body = incident_schemas.DeclareIn(title=title, severity=severity)
        ref = (await incidents.declare(session, SYSTEM, body, clock=ctx.clock)).ref
        await incidents.set_status(session, SYSTEM, ref, "resolved", clock=ctx.clock)
    return ref


async def _postmortem(ctx: Context, ref: str) -> service.schemas.PostmortemOut:
    async with ctx.db.read() as session:
        incident, postmortem = await service.get(session, SYSTEM, ref)
        return await service.describe(session, incident, postmortem, clock=ctx.clock)


async def _item(ctx: Context, ref: str, title: str, owner: str, due_hours: float) -> None:
    async with ctx.db.write() as session:
        data = ActionItemIn(title=title, owner=owner, due_at=START + timedelta(hours=due_hours))
        await actions.add(session, SYSTEM, ref, data, clock=ctx.clock)


async def _post(http: httpx.AsyncClient, ref: str, action: str, **form: str) -> httpx.Response:
    return await http.post(f"/postmortems/{ref}/actions/{action}", data=form)


async def test_a_section_edited_on_the_page_is_what_the_api_returns(
    seeded: Context, client: httpx.AsyncClient
) -> None:
    ref = await _resolved(seeded, "Scores are not saving")
    await person(seeded, COMMS)
    async with browser(seeded) as http:
        csrf = await signed_in(http, COMMS)
        page = (await http.get(f"/postmortems/{ref}")).text
        assert '<label for="sec-executive-summary">Executive Summary</label>' in page
        assert 'action="/postmortems/' + ref + '/actions/status"' not in page  # no edit-incident
        text = "Scores were lost for 40 minutes after release 4.2.\n\nRolled back."
        answer = await _post(http, ref, "section", csrf=csrf, key="executive-summary", body=text)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/postmortems/{ref}#section-executive-summary"
        answer = await _post(http, ref, "title", csrf=csrf, title="Post-Mortem: lost scores")
        assert answer.status_code == 303
        page = (await http.get(f"/postmortems/{ref}")).text
        assert "Rolled back.</textarea>" in page and 'value="Post-Mortem: lost scores"' in page
    shown = (await client.get(f"/api/v1/incidents/{ref}/postmortem")).json()
    summary = next(s for s in shown["sections"] if s["key"] == "executive-summary")
    assert summary["body"] == text and shown["title"] == "Post-Mortem: lost scores"
    async with seeded.db.read() as session:
        events = await incidents.timeline(session, SYSTEM, ref)
    edited = [e.summary for e in events if e.kind == "postmortem"]
    assert "Postmortem edited: executive-summary" in edited
    assert "Postmortem edited: title" in edited


async def test_bad_input_comes_back_next_to_the_field_with_what_was_typed(
    seeded: Context,
) -> None:
    ref = await _resolved(seeded, "Scores are not saving")
    await person(seeded, LEAD)
    async with browser(seeded) as http:
        csrf = await signed_in(http, LEAD)
        bad = {"csrf": csrf, "title": "Add pool monitoring", "owner": "nobody",
               "due_on": "2026-02-30", "url": "", "description": "kept words"}  # fmt: skip
        answer = await _post(http, ref, "item-add", **bad)
        assert answer.status_code == 422
        page = answer.text
        assert re.search(r'id="add-due-error"[^>]*>[^<]*<[^>]*>[^<]*</span> [^<]*date', page)
        assert 'aria-describedby="add-due-error"' in page
        assert 'value="Add pool monitoring"' in page and "kept words</textarea>" in page
        answer = await _post(http, ref, "item-add", **{**bad, "due_on": "2026-02-01"})
        assert answer.status_code == 422
        assert re.search(r'id="add-owner-error"[^>]*>.*unknown owner', answer.text)
        assert 'value="nobody"' in answer.text and 'value="2026-02-01"' in answer.text
        answer = await _post(http, ref, "title", csrf=csrf, title="  ")
        assert answer.status_code == 422 and 'id="pm-title-error"' in answer.text
        answer = await _post(http, ref, "status", csrf=csrf, status="in_review", reviewers="")
        assert answer.status_code == 422
        assert re.search(r'id="pm-reviewers-error"[^>]*>.*at least one reviewer', answer.text)
        answer = await _post(http, ref, "reviewer-add", csrf=csrf, email="ghost@example.com")
        assert answer.status_code == 422
        assert re.search(r'id="reviewer-email-error"[^>]*>.*ghost@example.com', answer.text)
        assert 'value="ghost@example.com"' in answer.text
    async with seeded.db.read() as session:
        incident, postmortem = await service.get(session, SYSTEM, ref)
        assert await actions.items_of(session, incident) == []
        assert postmortem.status == "draft" and postmortem.reviewers == []
        assert postmortem.title.startswith("Post-Mortem: Scores")


async def test_reviewers_review_approval_and_final(seeded: Context) -> None:
    ref = await _resolved(seeded, "Scores are not saving")
    await person(seeded, LEAD)
    await person(seeded, COMMS)
    await person(seeded, "oncall.primary@example.com")
    async with browser(seeded) as lead, browser(seeded) as comms:
        csrf = await signed_in(lead, LEAD)
        their = await signed_in(comms, COMMS)
        for email in (COMMS, "oncall.primary@example.com"):
            answer = await _post(lead, ref, "reviewer-add", csrf=csrf, email=email)
            assert answer.status_code == 303 and answer.headers["location"].endswith("#review")
        answer = await _post(
            lead, ref, "reviewer-remove", csrf=csrf, email="oncall.primary@example.com"
        )
        assert answer.status_code == 303
        assert [r.email for r in (await _postmortem(seeded, ref)).reviewers] == [COMMS]
        page = (await lead.get(f"/postmortems/{ref}")).text
        assert re.findall(r'<option value="([a-z_]+)"[^>]*>(?:In review|Draft|Final)<', page) == [
            "in_review"
        ]
        assert (await _post(lead, ref, "status", csrf=csrf, status="in_review")).status_code == 303
        # final is not offered before every reviewer approved, and refused when forced
        page = (await lead.get(f"/postmortems/{ref}")).text
        assert '<option value="final"' not in page
        answer = await _post(lead, ref, "status", csrf=csrf, status="final")
        assert answer.status_code == 409 and "waiting for comms@example.com" in answer.text
        # the reviewer sees the approve button and approves
        page = (await comms.get(f"/postmortems/{ref}")).text
        assert "/actions/approve" in page
        assert (await _post(comms, ref, "approve", csrf=their)).status_code == 303
        page = (await lead.get(f"/postmortems/{ref}")).text
        assert '<option value="final"' in page and "approved January 15, 2026" in page
        assert (await _post(lead, ref, "status", csrf=csrf, status="final")).status_code == 303
        page = (await lead.get(f"/postmortems/{ref}")).text
        assert "This postmortem is final" in page and 'name="body"' not in page
        answer = await _post(lead, ref, "section", csrf=csrf, key="executive-summary", body="x")
        assert answer.status_code == 409 and "move it back to draft" in answer.text
    shown = await _postmortem(seeded, ref)
    assert shown.status == "final" and shown.reviewers[0].approved_at is not None
    assert shown.sections[0].body != "x"


async def test_action_items_overdue_first_then_by_due_date(seeded: Context) -> None:
    first = await _resolved(seeded, "Scores lost")
    second = await _resolved(seeded, "Slow reports", "SEV2")
    await _item(seeded, first, "Release checklist: load tests", "comms@example.com", 72)
    await _item(seeded, first, "Pool monitoring", "tech.lead", 24)
    await _item(seeded, second, "Index on reports", "engineer", 48)
    await _item(seeded, second, "Undated follow-up", "tech.lead", 500)
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    clock.set(START + timedelta(hours=50))
    await person(seeded, LEAD)
    async with browser(seeded) as http:
        csrf = await signed_in(http, LEAD)
        page = (await http.get("/action-items")).text
        titles = re.findall(r"<td>#\d+ ([^<]+)</td>", page)
        assert titles == [
            "Pool monitoring",
            "Index on reports",
            "Release checklist: load tests",
            "Undated follow-up",
        ]
        rows = re.findall(r"<tr class=\"([^\"]*)\">", page)
        assert rows == ["pm-overdue", "pm-overdue", "", ""]
        assert page.count("</span> Overdue</strong>") == 2
        page = (await http.get("/action-items?owner=tech.lead&overdue=1")).text
        assert re.findall(r"<td>#\d+ ([^<]+)</td>", page) == ["Pool monitoring"]
        # done from the list: back to the same filters, gone from the open ones
        answer = await http.post(
            "/action-items/done",
            data={
                "csrf": csrf,
                "incident": first,
                "number": "2",
                "status": "done",
                "back": "owner=tech.lead&overdue=1",
            },
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/action-items?owner=tech.lead&overdue=1"
        page = (await http.get("/action-items")).text
        assert "Pool monitoring" not in page
        page = (await http.get("/action-items?status=done")).text
        assert re.findall(r"<td>#\d+ ([^<]+)</td>", page) == ["Pool monitoring"]
        # the postmortem list: both overdue? the SEV1 meeting was due after 48h, SEV2's in a week
        page = (await http.get("/postmortems")).text
        listed = re.findall(r'<td><a href="/postmortems/([A-Z0-9-]+)">', page)
        assert listed == [first, second]
        assert page.count("</span> Overdue</strong>") == 1
    async with seeded.db.read() as session:
        rows, _ = await actions.list_all(
            session, SYSTEM, now=clock.now(), ref=first, statuses=["done"]
        )
    assert [r.item.title for r in rows] == ["Pool monitoring"]


async def test_without_the_permission_no_form_and_a_forged_post_is_refused(
    seeded: Context,
) -> None:
    ref = await _resolved(seeded, "Scores are not saving")
    await person(seeded, COMMS)
    before = await _postmortem(seeded, ref)
    async with browser(seeded) as http:
        csrf = await signed_in(http, COMMS)
        page = (await http.get(f"/postmortems/{ref}")).text
        for action in ("status", "reviewer-add", "reviewer-remove"):
            assert f"/actions/{action}" not in page
        answer = await _post(http, ref, "status", csrf=csrf, status="in_review", reviewers=COMMS)
        assert answer.status_code == 403 and "edit-incident" in answer.text
        answer = await _post(http, ref, "reviewer-add", csrf=csrf, email=COMMS)
        assert answer.status_code == 403
        # no or a wrong CSRF token: refused before anything is read
        answer = await _post(http, ref, "section", key="executive-summary", body="forged")
        assert answer.status_code == 403
        answer = await _post(
            http, ref, "section", csrf=csrf[:-2] + "xx", key="executive-summary", body="forged"
        )
        assert answer.status_code == 403
        answer = await http.post(
            "/action-items/done", data={"incident": ref, "number": "1", "status": "done"}
        )
        assert answer.status_code == 403
    async with browser(seeded) as stranger:
        answer = await _post(stranger, ref, "section", key="executive-summary", body="forged")
        assert answer.status_code == 403
        assert (await stranger.get(f"/postmortems/{ref}")).status_code == 303  # to sign in
    after = await _postmortem(seeded, ref)
    assert after.sections == before.sections and after.status == "draft"
    assert after.reviewers == []
