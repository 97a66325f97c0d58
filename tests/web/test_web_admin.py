"""The admin pages through HTTP: each page's main action reaches its service (a token
made here works against the API, a policy applied here is the current one, a rotated
integration key replaces the old one, a dead job runs again); bad input comes back
next to its field with what was typed; people who are not admins get 403 and their
forged posts change nothing, as do posts without the CSRF token."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import SEED_004
from tests.web.web_client import PASSWORD, browser, person, sign_in, signed_in

from tocsin.alerts import service as alerts
from tocsin.alerts.models import Integration
from tocsin.audit.models import AuditEntry
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.auth.models import ApiToken, Team, User
from tocsin.context import Context
from tocsin.jobs import service as jobs
from tocsin.jobs.models import Job
from tocsin.policy import service as policies
from tocsin.web.admin import strings as admin_words
from tocsin.web.admin import views

ADMIN = "boss@example.com"
PAGES = ["people", "teams", "tokens", "policy", "integrations", "jobs", "audit"]


async def _admin(http: httpx.AsyncClient, ctx: Context) -> str:
    await person(ctx, ADMIN, admin=True)
    return await signed_in(http, ADMIN)


async def _count(ctx: Context, model: type) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _dead_job(ctx: Context, error: str = "HTTP 503 from the webhook") -> int:
    async with ctx.db.write() as session:
        await jobs.enqueue(session, "webhook", {"to": "x"}, clock=ctx.clock, max_attempts=1)
    async with ctx.db.write() as session:
        (job,) = await jobs.claim(session, "w", clock=ctx.clock)
        await jobs.fail(session, job, error, clock=ctx.clock)
        assert job.status == "dead"
        return job.id


def _secret(page: str, field: str) -> str:
    found = re.search(rf'id="{field}" type="text" readonly value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def test_people_are_added_changed_and_deactivated(seeded: Context) -> None:
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        page = await http.get("/admin/people")
        assert page.status_code == 200 and "oncall.primary@example.com" in page.text

        bad = {"csrf": csrf, "email": "not-an-address", "name": "Nina", "password": "short",
               "roles": ["on-call-engineer"]}  # fmt: skip
        answer = await http.post("/admin/people", data=bad)
        assert answer.status_code == 422
        assert 'id="password-error"' in answer.text and "at least 8" in answer.text
        assert 'value="not-an-address"' in answer.text and 'value="Nina"' in answer.text
        assert 'value="on-call-engineer" checked' in answer.text
        assert "short" not in re.findall(r'name="password"[^>]*>', answer.text)[0]

        good = {**bad, "email": "nina@example.com", "password": "a long secret"}
        answer = await http.post("/admin/people", data=good)
        assert answer.status_code == 303
        again = await http.post("/admin/people", data=good)
        assert again.status_code == 409 and 'id="email-error"' in again.text

    async with browser(seeded) as nina:
        assert (await sign_in(nina, "nina@example.com", "a long secret")).status_code == 303
    async with seeded.db.read() as session:
        user = await auth.get_user(session, "nina@example.com")
        assert (user.name, user.roles, user.is_admin) == ("Nina", ["on-call-engineer"], False)

    async with browser(seeded) as http:
        csrf = await signed_in(http, ADMIN)
        where = "/admin/people/nina%40example.com"
        page = await http.get(where)
        assert page.status_code == 200 and 'value="on-call-engineer" checked' in page.text
        unknown = {"csrf": csrf, "roles": ["wizard"], "active": "yes"}
        answer = await http.post(f"{where}/roles", data=unknown)
        assert answer.status_code == 422 and 'id="roles-error"' in answer.text
        assert 'value="wizard"' not in answer.text  # not a role of the policy: not offered
        change = {"csrf": csrf, "roles": ["incident-commander"], "admin": "yes"}  # no active
        assert (await http.post(f"{where}/roles", data=change)).status_code == 303
        short = await http.post(f"{where}/password", data={"csrf": csrf, "password": "x"})
        assert short.status_code == 422 and 'id="password-error"' in short.text
        reset = await http.post(f"{where}/password", data={"csrf": csrf, "password": PASSWORD})
        assert reset.status_code == 303
    async with seeded.db.read() as session:
        user = await auth.get_user(session, "nina@example.com")
        assert (user.roles, user.is_admin, user.active) == (["incident-commander"], True, False)
    async with browser(seeded) as nina:  # deactivated: cannot sign in any more
        assert (await sign_in(nina, "nina@example.com")).status_code == 401


async def test_the_last_admin_stays_admin(seeded: Context) -> None:
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        async with seeded.db.write() as session:  # the policy's admins are admins no more
            for user in await auth.list_users(session):
                if user.is_admin and user.email != ADMIN:
                    await auth.update_user(
                        session, SYSTEM, user.email, clock=seeded.clock, roles=user.roles,
                        is_admin=False, active=True,
                    )  # fmt: skip
        answer = await http.post(
            "/admin/people/boss%40example.com/roles", data={"csrf": csrf, "active": "yes"}
        )
        assert answer.status_code == 409 and "last active admin" in answer.text
        assert 'id="is_admin-error"' in answer.text
    async with seeded.db.read() as session:
        assert (await auth.get_user(session, ADMIN)).is_admin


async def test_teams_are_saved_with_their_members(seeded: Context) -> None:
    await person(seeded, "ops@example.com")
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        bad = {"csrf": csrf, "key": "no spaces", "name": "Ops", "members": ["ops@example.com"]}
        answer = await http.post("/admin/teams", data=bad)
        assert answer.status_code == 422 and 'id="key-error"' in answer.text
        assert (
            'value="no spaces"' in answer.text and 'value="ops@example.com" checked' in answer.text
        )
        good = {**bad, "key": "ops", "description": "Runs things"}
        assert (await http.post("/admin/teams", data=good)).status_code == 303
        edit = await http.get("/admin/teams?team=ops")
        assert 'value="Ops"' in edit.text and "Runs things" in edit.text
    async with seeded.db.read() as session:
        teams = {t.key: m for t, m in await auth.list_teams(session)}
    assert teams["ops"] == ["ops@example.com"]


async def test_a_token_made_here_works_against_the_api_until_revoked(seeded: Context) -> None:
    await person(seeded, "bot@example.com")
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        answer = await http.post(
            "/admin/tokens", data={"csrf": csrf, "email": "bot@example.com", "name": "deploys"}
        )
        assert answer.status_code == 200
        secret = _secret(answer.text, "new-secret")
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["email"] == "bot@example.com"
        listed = await http.get("/admin/tokens")
        assert secret not in listed.text and secret[:10] in listed.text  # shown once only
        async with seeded.db.read() as session:
            token = next(
                t for t, u in await auth.list_tokens(session, SYSTEM) if t.name == "deploys"
            )
        answer = await http.post(f"/admin/tokens/{token.id}/revoke", data={"csrf": csrf})
        assert answer.status_code == 303
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 401

        nobody = await http.post("/admin/tokens", data={"csrf": csrf, "email": "x@example.com"})
        assert nobody.status_code == 422 and 'id="email-error"' in nobody.text


def _bad_policy() -> tuple[str, int]:
    text = SEED_004.read_text(encoding="utf-8")
    line = text.splitlines().index("everyone: [declare, add-note]") + 1
    return text.replace("everyone: [declare, add-note]", "everyone: [declare, fly-a-kite]"), line


async def test_a_policy_is_checked_compared_and_applied(seeded: Context) -> None:
    text = SEED_004.read_text(encoding="utf-8")
    changed = text.replace("everyone: [declare, add-note]", "everyone: [declare]")
    bad, line = _bad_policy()
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        page = await http.get("/admin/policy")
        assert page.status_code == 200 and 'href="/admin/policy/1"' in page.text
        shown = await http.get("/admin/policy/1")
        assert "everyone: [declare, add-note]" in shown.text
        for missing in ("/admin/policy/99", "/admin/policy/latest"):
            assert (await http.get(missing)).status_code == 404

        answer = await http.post(
            "/admin/policy", data={"csrf": csrf, "content": bad, "step": "check"}
        )
        assert answer.status_code == 422
        problems = answer.text.split('id="content-error"')[1]
        assert f"line {line}" in problems and "everyone" in problems and "fly-a-kite" in problems
        assert 'aria-describedby="content-hint content-error"' in answer.text
        assert "everyone: [declare, fly-a-kite]" in html.unescape(answer.text)  # kept

        ok = await http.post(
            "/admin/policy", data={"csrf": csrf, "content": changed, "step": "check"}
        )
        assert ok.status_code == 200 and "No problems found." in ok.text

        # apply shows the differences first and changes nothing yet
        diff = await http.post(
            "/admin/policy",
            data={"csrf": csrf, "content": changed.replace("\n", "\r\n"), "step": "apply"},
        )
        assert diff.status_code == 200
        assert '<span class="d-del">-everyone: [declare, add-note]</span>' in diff.text
        assert '<span class="d-add">+everyone: [declare]</span>' in diff.text
        assert 'name="base" value="1"' in diff.text
        async with seeded.db.read() as session:
            assert (await policies.current_version(session)).version == 1

        stale = {"csrf": csrf, "content": changed, "step": "confirm", "base": "0"}
        assert (await http.post("/admin/policy", data=stale)).status_code == 409
        confirm = {**stale, "base": "1"}
        answer = await http.post("/admin/policy", data=confirm)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/policy?applied=2"
        landed = await http.get(answer.headers["location"])
        assert "Applied as policy version 2." in landed.text
        tampered = {"csrf": csrf, "content": bad, "step": "confirm", "base": "2"}
        assert (await http.post("/admin/policy", data=tampered)).status_code == 422
    async with seeded.db.read() as session:
        current = await policies.current_version(session)
        policy = await policies.current_policy(session)
    assert (current.version, current.content, current.applied_by) == (2, changed, ADMIN)
    assert policy.everyone == ["declare"]


async def test_integrations_are_added_and_their_keys_rotated(seeded: Context) -> None:
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        bad = {"csrf": csrf, "name": "  ", "type": "pagerduty", "id": "", "team": "nobody"}
        answer = await http.post("/admin/integrations", data=bad)
        assert answer.status_code == 422 and 'id="name-error"' in answer.text
        good = {**bad, "name": "Datadog prod", "team": "engineering"}
        answer = await http.post("/admin/integrations", data=good)
        assert answer.status_code == 200 and "datadog-prod" in answer.text
        first = _secret(answer.text, "new-key")
        listed = await http.get("/admin/integrations")
        assert first not in listed.text and first[:6] in listed.text

        answer = await http.post("/admin/integrations/datadog-prod/rotate-key", data={"csrf": csrf})
        assert answer.status_code == 200
        second = _secret(answer.text, "new-key")
        assert second != first
        missing = await http.post("/admin/integrations/nope/rotate-key", data={"csrf": csrf})
        assert missing.status_code == 404 and "no integration" in missing.text
    async with seeded.db.read() as session:
        found = await alerts.authenticate(session, second, "pagerduty", clock=seeded.clock)
        assert found.integration.key == "datadog-prod"
        with pytest.raises(alerts.UnknownKey):
            await alerts.authenticate(session, first, "pagerduty", clock=seeded.clock)


async def test_a_dead_job_is_shown_with_its_error_and_retried(seeded: Context) -> None:
    job_id = await _dead_job(seeded)
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        page = await http.get("/admin/jobs")
        assert "HTTP 503 from the webhook" in page.text and f"Retry job {job_id}" in page.text
        answer = await http.post(f"/admin/jobs/{job_id}/retry", data={"csrf": csrf})
        assert answer.status_code == 303
        assert "No dead jobs." in (await http.get(answer.headers["location"])).text
        again = await http.post(f"/admin/jobs/{job_id}/retry", data={"csrf": csrf})
        assert again.status_code == 409 and "only dead jobs" in again.text
    async with seeded.db.read() as session:
        job = await session.get(Job, job_id)
        assert job is not None and (job.status, job.attempts) == ("pending", 0)


async def test_the_audit_log_is_paged_and_filtered(seeded: Context) -> None:
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        for n in range(55):
            await http.post("/admin/tokens", data={"csrf": csrf, "name": f"t{n}"})
        page = await http.get("/admin/audit?action=token.create")
        assert page.text.count("<code>token.create</code>") == 50
        older = re.search(r'href="(/admin/audit\?[^"]*before=\d+)"', page.text)
        assert older, page.text
        rest = await http.get(html.unescape(older.group(1)))
        # 55 made here and the sign-in session's token
        assert rest.text.count("<code>token.create</code>") == 6
        by = await http.get("/admin/audit?actor=system")
        assert "<code>policy.apply</code>" in by.text and "<code>token.create</code>" not in by.text


async def test_others_get_403_and_their_forged_posts_change_nothing(seeded: Context) -> None:
    job_id = await _dead_job(seeded)
    await person(seeded, "lead@example.com", roles=("incident-commander",))
    before = {m: await _count(seeded, m) for m in (User, Team, ApiToken, Integration, AuditEntry)}
    policy = SEED_004.read_text(encoding="utf-8").replace("[declare, add-note]", "[declare]")
    posts = {
        "/admin/people": {"email": "x@example.com", "password": "long enough"},
        "/admin/people/lead%40example.com/roles": {"admin": "yes", "active": "yes"},
        "/admin/people/lead%40example.com/password": {"password": "long enough"},
        "/admin/teams": {"key": "x", "name": "X"},
        "/admin/tokens": {"email": "lead@example.com"},
        "/admin/tokens/1/revoke": {},
        "/admin/policy": {"content": policy, "step": "confirm", "base": "1"},
        "/admin/integrations": {"name": "X", "type": "generic"},
        "/admin/integrations/x/rotate-key": {},
        f"/admin/jobs/{job_id}/retry": {},
    }
    async with browser(seeded) as http:
        csrf = await signed_in(http, "lead@example.com")
        before[ApiToken] += 1  # the session
        home = await http.get("/incidents")
        assert 'href="/admin"' not in home.text
        for name in ["", *(f"/{p}" for p in PAGES), "/policy/1", "/people/lead%40example.com"]:
            answer = await http.get(f"/admin{name}")
            assert answer.status_code == 403, name
            assert "needs admin rights" in answer.text
        for where, form in posts.items():
            answer = await http.post(where, data={**form, "csrf": csrf})
            assert answer.status_code == 403, where
    async with browser(seeded) as http:
        csrf = await _admin(http, seeded)
        before[User] += 1
        before[ApiToken] += 1
        assert 'href="/admin"' in (await http.get("/incidents")).text
        for where, form in posts.items():
            assert (await http.post(where, data=form)).status_code == 403, where
            wrong = {**form, "csrf": csrf[:-2] + "xx"}
            assert (await http.post(where, data=wrong)).status_code == 403, where
    async with browser(seeded) as http:  # not signed in at all
        assert (await http.get("/admin/people")).status_code == 303
        assert (await http.post("/admin/people", data=posts["/admin/people"])).status_code == 403
    after = {m: await _count(seeded, m) for m in before}
    audit_made = after.pop(AuditEntry) - before.pop(AuditEntry)
    assert after == before
    assert audit_made == 3  # admin added (person), and the two sessions' tokens
    async with seeded.db.read() as session:
        assert (await policies.current_version(session)).version == 1
        assert (await session.get(Job, job_id)).status == "dead"  # type: ignore[union-attr]
        lead = await auth.get_user(session, "lead@example.com")
        assert (lead.is_admin, lead.roles) == (False, ["incident-commander"])


def test_every_admin_word_is_in_english_and_dutch() -> None:
    assert set(admin_words.EN) == set(admin_words.NL)
    assert all(k.startswith("admin.") for k in admin_words.EN)
    templates = Path(admin_words.__file__).parents[1] / "templates" / "admin"
    used = {
        key
        for page in templates.glob("*.html")
        for key in re.findall(r'"(admin\.[a-z_]*[a-z])"', page.read_text(encoding="utf-8"))
    }
    assert used and used <= set(admin_words.EN)


def test_the_diff_marks_each_line() -> None:
    lines = views.diff("a\nb\nc\n", "a\nB\nc\n", "version 1", "new")
    assert [(d.kind, d.text) for d in lines] == [
        ("head", "--- version 1"),
        ("head", "+++ new"),
        ("hunk", "@@ -1,3 +1,3 @@"),
        ("same", " a"),
        ("del", "-b"),
        ("add", "+B"),
        ("same", " c"),
    ]


async def test_the_admin_pages_speak_dutch_in_the_viewers_zone(seeded: Context) -> None:
    async with browser(seeded) as http:
        await _admin(http, seeded)
        async with seeded.db.write() as session:
            user = await auth.get_user(session, ADMIN)
            user.locale, user.timezone = "nl", "Europe/Amsterdam"
        page = await http.get("/admin/tokens")
        assert page.status_code == 200 and '<html lang="nl">' in page.text
        assert "Een token maken" in page.text and "Token 1 intrekken" in page.text
        assert "Europe/Amsterdam" in page.text or "CET" in page.text
