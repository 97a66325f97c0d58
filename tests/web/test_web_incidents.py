"""The incident list, declaring and the incident room through HTTP: forms keep what was
typed and put each message next to its field; every action goes through the services
(a person without the permission sees no button, and a forged post is a 403 that
changes nothing); restricted incidents stay hidden."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from tests.web.web_client import browser, person, signed_in

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.notify.models import Notification
from tocsin.statuspage import schemas as statuspage_schemas
from tocsin.statuspage import service as statuspage


async def _declare(
    ctx: Context, title: str, severity: str, type_: str | None = None, team: str | None = None
) -> str:
    async with ctx.db.write() as session:
        body = schemas.DeclareIn(title=title, severity=severity, type=type_, team=team)
        return (await incidents.declare(session, SYSTEM, body, clock=ctx.clock)).ref


async def _state(ctx: Context, ref: str) -> tuple[Incident, list[str]]:
    async with ctx.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
        events = await incidents.timeline(session, SYSTEM, ref)
    return incident, [e.kind for e in events]


async def _post(http: httpx.AsyncClient, ref: str, action: str, /, **form: str) -> httpx.Response:
    return await http.post(f"/incidents/{ref}/actions/{action}", data=form)


async def _messages(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Notification)) or 0)


def _rows(page: str) -> list[str]:
    return re.findall(r'<td><a href="/incidents/([A-Z0-9-]+)">', page)


async def test_declare_form_rejects_bad_input_next_to_the_field(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        csrf = await signed_in(http, "ann@example.com")
        form = (await http.get("/incidents/new")).text
        # each level's definition and symptoms beside it
        assert "Complete system outage" in form and 'aria-describedby="severity-SEV1-about"' in form
        bad = {"csrf": csrf, "title": "  ", "severity": "SEV2", "summary": "kept text",
               "users_affected": "many", "components": ["payments", "search"]}  # fmt: skip
        answer = await http.post("/incidents/new", data=bad)
        assert answer.status_code == 422
        page = answer.text
        assert re.search(r'id="title-error"[^>]*>.*must not be blank', page)
        assert re.search(r'id="users_affected-error"[^>]*>.*integer', page)
        assert 'value="many"' in page and "kept text</textarea>" in page
        assert re.search(r'value="SEV2" [^>]*checked', page)
        assert re.search(r'value="payments" checked', page) and 'value="search" checked' in page
        forged = {**bad, "title": "Checkout down", "users_affected": "", "severity": "SEV9"}
        answer = await http.post("/incidents/new", data=forged)
        assert answer.status_code == 422 and 'id="severity-error"' in answer.text
        assert 'value="Checkout down"' in answer.text
    async with seeded.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Incident)) == 0


async def test_declare_lands_in_the_room(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        csrf = await signed_in(http, "ann@example.com")
        answer = await http.post(
            "/incidents/new",
            data={
                "csrf": csrf,
                "title": "Scores not saving",
                "severity": "SEV1",
                "type": "outage",
                "components": ["score-recording"],
                "business_impact": "Teachers cannot grade",
            },
        )
        assert answer.status_code == 303
        ref = answer.headers["location"].rsplit("/", 1)[1]
        room = (await http.get(answer.headers["location"])).text
        assert f'<span class="ref">{ref}</span> Scores not saving' in room
        assert '<span class="sev-key">SEV1</span>' in room
        assert 'Acknowledge</span>: <span class="sla-text">due in' in room
        assert "Phase 1: Detection and Triage" in room  # checklists by phase
        assert f'<a href="/postmortems/{ref}">' in room
        postmortem = await http.get(f"/postmortems/{ref}")  # the link leads somewhere
        assert postmortem.status_code == 200 and ref in postmortem.text
    incident, kinds = await _state(seeded, ref)
    assert incident.components == ["score-recording"] and kinds[0] == "declared"


async def test_list_open_first_by_severity_with_filters(seeded: Context) -> None:
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    low = await _declare(seeded, "Typo on the pricing page", "SEV4")
    clock.advance(minutes=5)
    old = await _declare(seeded, "Search was slow", "SEV1")
    async with seeded.db.write() as session:
        await incidents.set_status(session, SYSTEM, old, "resolved", clock=clock)
    clock.advance(minutes=5)
    mid = await _declare(seeded, "Reports are late", "SEV2", "performance-degradation", "payments")
    top = await _declare(seeded, "Nothing loads", "SEV1", "outage")
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        page = (await http.get("/incidents")).text
        assert _rows(page) == [top, mid, low, old]
        assert "breached by" not in page.split(old)[0]
        only = await http.get("/incidents", params={"severity": "SEV1", "status": "resolved"})
        assert _rows(only.text) == [old]
        assert _rows((await http.get("/incidents", params={"type": "outage"})).text) == [top]
        assert _rows((await http.get("/incidents", params={"team": "payments"})).text) == [mid]
        assert _rows((await http.get("/incidents", params={"q": "REPORTS"})).text) == [mid]
        today = clock.now().date().isoformat()
        after = await http.get("/incidents", params={"since": today})
        assert set(_rows(after.text)) == {top, mid, low, old}
        none = await http.get("/incidents", params={"until": today})
        assert _rows(none.text) == [] and "No incidents match." in none.text
        bad = await http.get("/incidents", params={"since": "yesterday"})
        assert bad.status_code == 422 and "is not a date" in bad.text


async def test_restricted_incidents_only_for_those_allowed(seeded: Context) -> None:
    secret = await _declare(seeded, "Leaked export", "SEV2", "data-privacy")
    await person(seeded, "ann@example.com")
    await person(seeded, "root@example.com", admin=True)
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        assert secret not in (await http.get("/incidents")).text
        assert (await http.get(f"/incidents/{secret}")).status_code == 404
        assert (await http.get(f"/incidents/{secret}/events")).status_code == 404
    async with browser(seeded) as http:
        await signed_in(http, "root@example.com")
        assert _rows((await http.get("/incidents")).text) == [secret]


async def test_actions_go_through_the_services(seeded: Context) -> None:
    ref = await _declare(seeded, "Payments fail", "SEV1", "outage")
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    async with browser(seeded) as http:
        csrf = await signed_in(http, "lead@example.com")
        assert (await _post(http, ref, "acknowledge", csrf=csrf)).status_code == 303
        clock.advance(minutes=1)
        answer = await _post(
            http, ref, "assign", csrf=csrf, role="incident-commander", email="lead@example.com"
        )
        assert answer.status_code == 303
        answer = await _post(http, ref, "note", csrf=csrf, text="Rolled back 4.2")
        assert answer.status_code == 303
        for status in ("identified", "monitoring", "resolved"):
            clock.advance(minutes=2)
            answer = await _post(http, ref, "status", csrf=csrf, status=status, note="")
            assert answer.status_code == 303, answer.text
        room = (await http.get(f"/incidents/{ref}")).text
        for text in ("Acknowledged by", "is now Incident Commander", "Rolled back 4.2",
                     "investigating → identified", "monitoring → resolved"):  # fmt: skip
            assert text in room, text
        notes = (await http.get(f"/incidents/{ref}", params={"show": "note"})).text
        assert "Rolled back 4.2" in notes and "monitoring → resolved" not in notes
        # a refused move: the message beside the form, the status kept, nothing changed
        answer = await _post(http, ref, "status", csrf=csrf, status="identified", note="")
        assert answer.status_code == 409 and "cannot move to" in answer.text
    incident, kinds = await _state(seeded, ref)
    assert incident.status == "resolved" and incident.acknowledged_at is not None
    assert kinds.count("status") == 3 and "note" in kinds and "role_assigned" in kinds


async def test_no_permission_no_button_and_forged_posts_change_nothing(seeded: Context) -> None:
    ref = await _declare(seeded, "Login loops", "SEV2", "outage")
    await person(seeded, "viewer@example.com")  # everyone's permissions: declare, add-note
    before = await _state(seeded, ref)
    async with browser(seeded) as http:
        csrf = await signed_in(http, "viewer@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        for action in ("acknowledge", "status", "severity", "assign", "check", "comms"):
            assert f'/actions/{action}"' not in room, action
        assert '/actions/note"' in room  # everyone may add a note
        for action, form in (
            ("acknowledge", {}),
            ("status", {"status": "resolved"}),
            ("severity", {"severity": "SEV4"}),
            ("assign", {"role": "incident-commander", "email": "viewer@example.com"}),
            ("comms", {"template": "incident-update", "do": "send"}),
        ):
            answer = await _post(http, ref, action, csrf=csrf, **form)
            assert answer.status_code == 403, (action, answer.text)
            assert "lacks the permission" in answer.text
        # a post without the session's CSRF token, even for an allowed action
        assert (await _post(http, ref, "note", text="forged")).status_code == 403
        assert (await _post(http, ref, "note", csrf="x" + csrf, text="forged")).status_code == 403
    after = await _state(seeded, ref)
    assert after[1] == before[1]
    assert (after[0].status, after[0].severity, after[0].acknowledged_at) == (
        "investigating",
        "SEV2",
        None,
    )


async def test_checklist_and_communication_with_preview(seeded: Context) -> None:
    ref = await _declare(seeded, "Webhooks dropped", "SEV2", "outage")
    await person(seeded, "comms@example.com", roles=("communications-coordinator",))
    queued = await _messages(seeded)
    async with browser(seeded) as http:
        csrf = await signed_in(http, "comms@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        item = re.search(r'name="item" value="(\d+)"', room)
        assert item
        answer = await _post(http, ref, "check", csrf=csrf, item=item.group(1), checked="true")
        assert answer.status_code == 303
        room = (await http.get(f"/incidents/{ref}")).text
        assert "done by comms@example.com" in room
        preview = await _post(
            http, ref, "comms", csrf=csrf, template="incident-update", channel="",
            progress="Queue drained", do="preview",
        )  # fmt: skip
        assert preview.status_code == 200 and "Preview:" in preview.text
        assert "Queue drained" in preview.text
        assert await _messages(seeded) == queued
        sent = await _post(
            http, ref, "comms", csrf=csrf, template="incident-update", channel="",
            progress="Queue drained", do="send",
        )  # fmt: skip
        assert sent.status_code == 200 and "Queued" in sent.text, sent.text
    _, kinds = await _state(seeded, ref)
    assert "checklist" in kinds and "comms" in kinds
    assert await _messages(seeded) > queued


async def test_sla_clock_breached(seeded: Context) -> None:
    ref = await _declare(seeded, "All down", "SEV1", "outage")
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(hours=2))
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        page = (await http.get("/incidents")).text
        assert ref in page and re.search(r'v-breached">.*Acknowledge.*breached by', page)


async def test_room_forms_reject_bad_input_beside_the_field(seeded: Context) -> None:
    ref = await _declare(seeded, "Slow pages", "SEV2", "outage")
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    async with browser(seeded) as http:
        csrf = await signed_in(http, "lead@example.com")
        answer = await _post(http, ref, "note", csrf=csrf, text="")
        assert answer.status_code == 422
        assert re.search(r'id="note-text-error"[^>]*>.*at least 1 character', answer.text)
        answer = await _post(
            http, ref, "assign", csrf=csrf, role="incident-commander", email="nobody@example.com"
        )
        assert answer.status_code == 404 and 'value="nobody@example.com"' in answer.text
        answer = await _post(http, ref, "severity", csrf=csrf, severity="SEV1", reason="spreading")
        assert answer.status_code == 303
        await _post(
            http, ref, "assign", csrf=csrf, role="incident-commander", email="lead@example.com"
        )
        answer = await _post(
            http, ref, "relieve", csrf=csrf, role="incident-commander", email="lead@example.com"
        )
        assert answer.status_code == 303
    incident, kinds = await _state(seeded, ref)
    assert incident.severity == "SEV1" and "role_relieved" in kinds and "note" not in kinds


async def test_propose_a_mitigation_and_the_commander_approves_it(seeded: Context) -> None:
    ref = await _declare(seeded, "Scores are not saving", "SEV2", "deployment-failure")
    await person(seeded, "oncall@example.com", roles=("on-call-engineer",))
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    async with browser(seeded) as http:
        csrf = await signed_in(http, "oncall@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        assert '/actions/mitigation"' in room and '/actions/approve"' not in room
        # A blank action comes back beside its field, the rest kept.
        answer = await _post(
            http, ref, "mitigation", csrf=csrf, action=" ", risk="Low",
            rollback_plan="Redeploy v1.2.4",
        )  # fmt: skip
        assert answer.status_code == 422
        assert re.search(r'id="mitigation-action-error"[^>]*>.*must not be blank', answer.text)
        assert 'aria-describedby="mitigation-action-error"' in answer.text
        assert ">Redeploy v1.2.4</textarea>" in answer.text
        assert '<option value="Low" selected>' in answer.text
        answer = await _post(
            http, ref, "mitigation", csrf=csrf, action="Roll back to v1.2.3", risk="Low",
            expected_impact="Scores save again", rollback_plan="Redeploy v1.2.4",
        )  # fmt: skip
        assert answer.status_code == 303
        room = (await http.get(f"/incidents/{ref}")).text
        assert "Roll back to v1.2.3" in room and "Awaiting approval." in room
        proposal = [e for e in (await _events(seeded, ref)) if e[0] == "mitigation_proposed"]
        assert len(proposal) == 1
        # No approve-rollback: no button, and a forged approval is refused.
        assert '/actions/approve"' not in room
        forged = await _post(http, ref, "approve", csrf=csrf, proposal=str(proposal[0][1]))
        assert forged.status_code == 403 and "approve-rollback" in forged.text
    assert "mitigation_approved" not in (await _state(seeded, ref))[1]
    async with browser(seeded) as http:
        csrf = await signed_in(http, "lead@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        assert '/actions/approve"' in room
        answer = await _post(http, ref, "approve", csrf=csrf, proposal=str(proposal[0][1]))
        assert answer.status_code == 303
        room = (await http.get(f"/incidents/{ref}")).text
        assert "Approved by lead@example.com" in room and '/actions/approve"' not in room
        again = await _post(http, ref, "approve", csrf=csrf, proposal=str(proposal[0][1]))
        assert again.status_code == 409
        assert re.search(r'id="approve-error"[^>]*>.*approved already', again.text)
    kinds = (await _state(seeded, ref))[1]
    assert kinds.count("mitigation_approved") == 1


async def _events(ctx: Context, ref: str) -> list[tuple[str, int]]:
    async with ctx.db.read() as session:
        return [(e.kind, e.id) for e in await incidents.timeline(session, SYSTEM, ref)]


async def _public(ctx: Context) -> list[statuspage_schemas.PublicIncidentOut]:
    async with ctx.db.read() as session:
        return await statuspage.list_public(session)


async def test_draft_and_publish_a_status_page_update(seeded: Context) -> None:
    async with seeded.db.write() as session:
        body = schemas.DeclareIn(
            title="Scores are not saving", severity="SEV2", components=["score-recording"]
        )
        ref = (await incidents.declare(session, SYSTEM, body, clock=seeded.clock)).ref
    await person(seeded, "viewer@example.com")
    await person(seeded, "comms@example.com", roles=("communications-coordinator",))
    async with browser(seeded) as http:
        csrf = await signed_in(http, "viewer@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        assert '/actions/statuspage"' not in room
        forged = await _post(
            http, ref, "statuspage", csrf=csrf, do="publish", status="investigating",
            name="Forged", body="Forged text",
        )  # fmt: skip
        assert forged.status_code == 403 and "update-status-page" in forged.text
    assert await _public(seeded) == []
    async with browser(seeded) as http:
        csrf = await signed_in(http, "comms@example.com")
        room = (await http.get(f"/incidents/{ref}")).text
        assert '/actions/statuspage"' in room
        drafted = await _post(
            http, ref, "statuspage", csrf=csrf, do="draft", status="investigating",
            customer_impact="Scores may not be saved",
        )  # fmt: skip
        assert drafted.status_code == 200, drafted.text
        assert "Drafted from the template status-investigating" in drafted.text
        body = re.search(r'id="statuspage-body"[^>]*>([^<]*)</textarea>', drafted.text)
        assert body and "Scores may not be saved" in body.group(1)
        assert (
            'id="statuspage-name" name="name" type="text" maxlength="300" value="Scores are not saving"'
            in drafted.text
        )
        assert re.search(
            r'name="component.score-recording">.*?<option value="partial_outage" selected>',
            drafted.text,
            re.S,
        )
        assert await _public(seeded) == []  # a draft publishes nothing
        # An empty text comes back beside its field, the title kept.
        empty = await _post(
            http, ref, "statuspage", csrf=csrf, do="publish", status="investigating",
            name="Scores are not saving", body="",
        )  # fmt: skip
        assert empty.status_code == 422
        assert re.search(r'id="statuspage-body-error"[^>]*>', empty.text)
        assert 'value="Scores are not saving"' in empty.text
        text = "We are looking into scores that are not saved."
        published = await _post(
            http, ref, "statuspage", csrf=csrf, do="publish", status="investigating",
            name="Scores are not saving", body=text,
            **{"component.score-recording": "partial_outage"},
        )  # fmt: skip
        assert published.status_code == 303, published.text
        room = (await http.get(f"/incidents/{ref}")).text
        assert "adds an update to the public incident" in room
        follow = await _post(
            http, ref, "statuspage", csrf=csrf, do="publish", status="identified",
            body="We found the cause.",
        )  # fmt: skip
        assert follow.status_code == 303, follow.text
        page = await http.get("/status")
        assert page.status_code == 200 and text in page.text and "We found the cause." in page.text
    public = await _public(seeded)
    assert len(public) == 1 and public[0].incident == ref and public[0].status == "identified"
    assert sorted(u.body for u in public[0].updates) == sorted([text, "We found the cause."])
    assert public[0].components == ["score-recording"]
    assert (await _state(seeded, ref))[1].count("statuspage") == 2
