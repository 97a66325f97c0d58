"""The on-call pages through HTTP on seed 000's schedules (Europe/Amsterdam, Dutch): who is
on call now at a given time, a week across the spring-forward night (a 23-hour day), an
override added through the form (on the page and in the API), rejected input beside its
field with what was typed kept, permissions (no form, forged posts refused, nothing
changed), a person's next shifts and the calendar feed addresses."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import POLICIES, apply_policy, token_for
from tests.web.web_client import browser, csrf_of, person, signed_in

from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.oncall import service as oncall

SEED_000 = POLICIES / "seed-000-arabisch-online-leren.yaml"
#: Friday 27 March 2026, 10:00 CET: office hours, two days before the clocks go forward.
FRIDAY = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
MANAGER = "cto@example.nl"  # the policy's admin
ENGINEER = "on-call-engineer@example.nl"  # in the policy, without manage-schedules
OUTSIDER = "watcher@example.com"  # signed in, not in the policy's people


async def _seed_000(ctx: Context) -> None:
    assert isinstance(ctx.clock, VirtualClock)
    ctx.clock.set(FRIDAY)
    await apply_policy(ctx, SEED_000)
    for email in (MANAGER, ENGINEER, OUTSIDER, "senior-developer@example.nl"):
        await person(ctx, email)


def _row(page: str, key: str) -> str:
    found = re.search(rf'<tr id="schedule-{key}">(.*?)</tr>', page, re.S)
    assert found, page
    return found.group(1)


def _day(page: str, day: str) -> str:
    found = re.search(rf'<tr id="day-{day}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, page
    return re.sub(r"\s+", " ", found.group(1))


async def _overrides(ctx: Context) -> list[oncall.OverrideOut]:
    async with ctx.db.read() as session:
        return await oncall.list_overrides(
            session, SYSTEM, clock=ctx.clock, include_past=True, include_cancelled=True
        )


def _override_form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf, "view": "week", "period": "2026-03-23", "action": "replace"} | fields


async def test_who_is_on_call_now_and_a_week_across_the_clock_change(ctx: Context) -> None:
    await _seed_000(ctx)
    async with browser(ctx) as http:
        await signed_in(http, ENGINEER)
        page = (await http.get("/oncall")).text
        assert "Wie heeft nu dienst" in page and "Europe/Amsterdam" in page
        primary, secondary = _row(page, "primary"), _row(page, "secondary")
        # office hours: the lead is primary until 18:00 CET, then the on-call engineer
        assert "Dev Team Lead (voorbeeld)" in primary.split("</td>")[0]
        assert "27 maart 2026 18:00 CET" in primary
        assert "On-Call Engineer (voorbeeld)" in primary.split("</td>")[2]
        assert "Senior Developer (voorbeeld)" in secondary.split("</td>")[0]
        assert 'href="/oncall/primary"' in page
        assert 'href="/oncall/people/on-call-engineer"' in page  # my next shifts

        week = await http.get("/oncall/primary?view=week&start=2026-0323")
        assert week.status_code == 422  # a bad date: beside its field, the typed text kept
        assert 'id="period-start-error"' in week.text and 'value="2026-0323"' in week.text

        week = await http.get("/oncall/primary?view=week&start=2026-03-23")
        assert week.status_code == 200
        text = week.text
        assert "Diensten, tijden in Europe/Amsterdam" in text
        # the layers in the viewer's words
        assert "kantoortijd: wissel elke week, tijdens kantoortijd (mon-fri 09:00-18:00)" in text
        friday = _day(text, "2026-03-27")
        assert "00:00 CET</time> \u2013 <time" in friday and "09:00 CET" in friday
        assert friday.index("On-Call Engineer") < friday.index("Dev Team Lead")
        assert "18:00 CET" in friday and "24:00 CET" in friday
        sunday = _day(text, "2026-03-29")  # 23 hours: 02:00 CET becomes 03:00 CEST
        assert "23 uur: de klok wordt verzet" in sunday
        assert "00:00 CET</time> \u2013 <time" in sunday and "24:00 CEST" in sunday
        assert "uur: de klok" not in _day(text, "2026-03-28")
        assert "(rooster)" in sunday and "wijziging #" not in text
        assert 'href="?view=week&amp;start=2026-03-30#shifts"' in text  # the next week

        month = (await http.get("/oncall/primary?view=month&start=2026-10-10")).text
        assert "oktober 2026" in month and 'id="day-2026-10-31"' in month
        assert "25 uur: de klok wordt verzet" in _day(month, "2026-10-25")
        assert 'id="day-2026-11-01"' not in month

        nowhere = await http.get("/oncall/tertiary")
        assert nowhere.status_code == 404 and "primary" in nowhere.text


async def test_an_override_from_the_form_shows_on_the_page_and_in_the_api(ctx: Context) -> None:
    await _seed_000(ctx)
    async with browser(ctx) as http:
        csrf = await signed_in(http, MANAGER)
        form = (await http.get("/oncall/primary?view=week&start=2026-03-30")).text
        assert 'action="/oncall/primary/overrides"' in form
        assert "Datum en tijd in Europe/Amsterdam" in form
        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(
                csrf,
                person="senior-developer",
                replaces="dev-team-lead",
                start="2026-03-30T09:00",
                end="2026-03-30T18:00",
                reason="tandarts",
            ),
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/oncall/primary?view=week&start=2026-03-30#override-1"
        page = (await http.get(answer.headers["location"].split("#")[0])).text
        monday = _day(page, "2026-03-30")
        assert re.search(
            r"09:00 CEST</time> \u2013 <time[^>]*>18:00 CEST</time></span>\s*<a[^>]*>Senior", monday
        )
        assert "wijziging #1" in monday
        assert "Senior Developer (voorbeeld) van dienst in plaats van Dev Team Lead" in page
        assert "tandarts" in page and "gemaakt door cto@example.nl" in page

    # the API sees it: times read in the viewer's zone (CEST, +02:00)
    token = await token_for(ctx, MANAGER)
    async with browser(ctx) as http:
        headers = {"Authorization": f"Bearer {token}"}
        listed = (await http.get("/api/v1/schedules/primary/overrides", headers=headers)).json()
        assert [(o["person"]["handle"], o["start"], o["end"]) for o in listed] == [
            ("senior-developer", "2026-03-30T07:00:00Z", "2026-03-30T16:00:00Z")
        ]
        now = await http.get(
            "/api/v1/oncall",
            params={"at": "2026-03-30T10:00:00+02:00", "schedule": "primary"},
            headers=headers,
        )
        assert [p["handle"] for p in now.json()[0]["people"]] == ["senior-developer"]


async def test_bad_override_input_is_shown_beside_its_field_and_kept(ctx: Context) -> None:
    await _seed_000(ctx)
    async with browser(ctx) as http:
        csrf = await signed_in(http, MANAGER)
        # no person, a start that is no time, an end kept as typed
        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(csrf, person="", start="morgen", end="2026-03-30T18:00"),
        )
        assert answer.status_code == 422
        page = answer.text
        assert 'id="ov-person-error"' in page and 'id="ov-start-error"' in page
        assert "&#39;morgen&#39; is geen datum en tijd" in page
        assert 'aria-describedby="ov-times-hint ov-start-error"' in page
        assert 'value="morgen"' in page and 'value="2026-03-30T18:00"' in page
        assert "Verbeter wat hieronder is gemarkeerd." in page

        # the service's own checks: an end before the start, beside the end
        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(
                csrf,
                person="senior-developer",
                action="add",
                start="2026-03-30T18:00",
                end="2026-03-30T09:00",
                reason="kept reason",
            ),
        )
        assert answer.status_code == 422
        assert 'id="ov-end-error"' in answer.text and "must be after start" in answer.text
        assert 'value="kept reason"' in answer.text
        assert '<option value="add" selected>' in answer.text
        assert '<option value="senior-developer" selected>' in answer.text

        # replaces only goes with replace; an end in the past
        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(
                csrf,
                person="senior-developer",
                action="remove",
                replaces="dev-team-lead",
                start="2026-03-30T09:00",
                end="2026-03-30T18:00",
            ),
        )
        assert answer.status_code == 422 and 'id="ov-replaces-error"' in answer.text
        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(
                csrf, person="senior-developer", start="2026-03-01T09:00", end="2026-03-02T09:00"
            ),
        )
        assert answer.status_code == 422 and "has passed" in answer.text
    assert await _overrides(ctx) == []


async def test_without_the_permission_no_form_and_forged_posts_change_nothing(
    ctx: Context,
) -> None:
    await _seed_000(ctx)
    moving_someone = {
        "person": "senior-developer",
        "start": "2026-03-30T09:00",
        "end": "2026-03-30T18:00",
    }
    async with browser(ctx) as http:
        csrf = await signed_in(http, OUTSIDER)
        page = (await http.get("/oncall/primary")).text
        assert 'action="/oncall/primary/overrides"' not in page
        assert "manage-schedules" in page
        forged = await http.post(
            "/oncall/primary/overrides", data=_override_form(csrf, **moving_someone)
        )
        assert forged.status_code == 403 and "manage-schedules" in forged.text

    async with browser(ctx) as http:
        csrf = await signed_in(http, ENGINEER)
        page = (await http.get("/oncall/primary")).text
        # only themselves, only replace or add
        form = page.split('action="/oncall/primary/overrides"')[1].split("</form>")[0]
        people = re.findall(r'<option value="([^"]*)"', form.split('name="action"')[0])
        assert people == ["on-call-engineer"]
        assert '<option value="remove"' not in form
        forged = await http.post(
            "/oncall/primary/overrides", data=_override_form(csrf, **moving_someone)
        )
        assert forged.status_code == 403
        taking_off = _override_form(csrf, **{**moving_someone, "person": "on-call-engineer"})
        forged = await http.post(
            "/oncall/primary/overrides", data={**taking_off, "action": "remove"}
        )
        assert forged.status_code == 403
        for bad in ({}, {"csrf": "x" + csrf}):
            no_csrf = {k: v for k, v in taking_off.items() if k != "csrf"} | bad
            assert (await http.post("/oncall/primary/overrides", data=no_csrf)).status_code == 403
        assert await _overrides(ctx) == []

        # taking over a shift themselves is allowed, as in the API
        mine = await http.post("/oncall/primary/overrides", data=taking_off)
        assert mine.status_code == 303
    made = await _overrides(ctx)
    assert [(o.person.handle, o.created_by) for o in made] == [("on-call-engineer", ENGINEER)]

    async with browser(ctx) as http:  # no session at all
        answer = await http.post("/oncall/primary/overrides", data=taking_off)
        assert answer.status_code == 403
        assert (await http.get("/oncall")).status_code == 303


async def test_a_persons_next_shifts_and_calendar_addresses(ctx: Context) -> None:
    await _seed_000(ctx)
    async with browser(ctx) as http:
        csrf = await signed_in(http, ENGINEER)
        page = await http.get("/oncall/people/on-call-engineer@example.nl")
        assert page.status_code == 200
        assert "Diensten van On-Call Engineer (voorbeeld)" in page.text
        # tonight from 18:00 CET until Monday 09:00 CEST, on the primary schedule
        assert "27 maart 2026 18:00 CET" in page.text and "30 maart 2026 09:00 CEST" in page.text
        assert "U hebt nog geen adressen" in page.text
        assert (await http.get("/oncall/people/nobody@example.com")).status_code == 404

        made = await http.post(
            "/oncall/people/on-call-engineer%40example.nl/feeds", data={"csrf": csrf}
        )
        assert made.status_code == 200
        url = re.search(r'id="new-feed"[^>]*value="([^"]+)"', made.text)
        assert url and url.group(1).startswith("http://test/api/v1/ical/tcf_")
        feed = await http.get(url.group(1))
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert "On call: Primary On-Call" in feed.text

        schedule = await http.post("/oncall/primary/feeds", data={"csrf": csrf})
        assert (
            schedule.status_code == 200
            and "On call: "
            in (
                await http.get(re.findall(r'id="new-feed"[^>]*value="([^"]+)"', schedule.text)[0])
            ).text
        )
        again = (await http.get("/oncall/people/on-call-engineer")).text
        assert "Adres #1, gemaakt" in again and 'id="new-feed"' not in again  # shown once
        revoke = await http.post(
            "/oncall/feeds/1/revoke",
            data={"csrf": csrf_of(again), "back": "/oncall/people/on-call-engineer"},
        )
        assert revoke.status_code == 303
        assert revoke.headers["location"] == "/oncall/people/on-call-engineer"
        assert (await http.get(url.group(1))).status_code == 401
        forged = await http.post("/oncall/primary/feeds", data={})
        assert forged.status_code == 403
    async with browser(ctx) as other:
        await signed_in(other, OUTSIDER)
        page = (await other.get("/oncall/primary")).text
        assert "Adres #2" not in page  # only your own addresses are listed
        refused = await other.post(
            "/oncall/feeds/2/revoke", data={"csrf": csrf_of(page), "back": "/oncall"}
        )
        assert refused.status_code == 404


async def test_english_viewer(seeded: Context) -> None:
    """Seed 004 (UTC, English): the words are English and the page names the zone."""
    await person(seeded, "oncall.primary@example.com")
    async with browser(seeded) as http:
        await signed_in(http, "oncall.primary@example.com")
        page = (await http.get("/oncall")).text
        assert "Who is on call now" in page and "Next handover" in page
        week = (await http.get("/oncall/on-call?view=week")).text
        assert "Shifts, times in UTC" in week and "Add an override" in week
        assert "weekday: daily turns, during business hours (mon-fri 09:00-17:00)" in week
        assert "You may put yourself on call" in week


async def test_times_in_the_viewers_own_zone(ctx: Context, tmp_path: Path) -> None:
    """A viewer in New York sees Amsterdam's schedule in New York time (their own 23-hour
    day on 8 March, not Amsterdam's) and types an override's times in it."""
    text = SEED_000.read_text(encoding="utf-8").replace(
        "    roles: [senior-developer]\n",
        "    roles: [senior-developer]\n    timezone: America/New_York\n    locale: en\n",
        1,
    )
    policy = tmp_path / SEED_000.name
    policy.write_text(text, encoding="utf-8")
    assert isinstance(ctx.clock, VirtualClock)
    ctx.clock.set(FRIDAY)
    await apply_policy(ctx, policy)
    await person(ctx, "senior-developer@example.nl")
    async with browser(ctx) as http:
        csrf = await signed_in(http, "senior-developer@example.nl")
        page = (await http.get("/oncall/primary?start=2026-03-23")).text
        assert "Shifts, times in America/New_York" in page
        friday = _day(page, "2026-03-27")  # 09:00-18:00 CET is 04:00-13:00 EDT
        assert re.search(r"04:00 EDT</time> \u2013 <time[^>]*>13:00 EDT</time></span>\s*<a", friday)
        assert "Dev Team Lead" in friday
        assert "hours: the clock changes" not in _day(page, "2026-03-29")
        march = (await http.get("/oncall/primary?view=week&start=2026-03-02")).text
        assert "23 hours: the clock changes" in _day(march, "2026-03-08")

        answer = await http.post(
            "/oncall/primary/overrides",
            data=_override_form(
                csrf, person="senior-developer", start="2026-03-30T03:00", end="2026-03-30T12:00"
            ),
        )
        assert answer.status_code == 303, answer.text
    made = await _overrides(ctx)
    assert [(o.start, o.end) for o in made] == [
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), datetime(2026, 3, 30, 16, 0, tzinfo=UTC))
    ]


async def test_cancelling_an_override(ctx: Context) -> None:
    """Its maker or a manager may cancel an override that has not ended; anyone else sees
    no button and a forged post is refused; an ended one stays (409, beside it)."""
    await _seed_000(ctx)
    own = {"person": "on-call-engineer", "start": "2026-03-30T09:00", "end": "2026-03-30T18:00"}
    async with browser(ctx) as engineer, browser(ctx) as outsider, browser(ctx) as manager:
        mine = await signed_in(engineer, ENGINEER)
        for _ in range(2):
            made = await engineer.post(
                "/oncall/primary/overrides", data=_override_form(mine, **own)
            )
            assert made.status_code == 303
        cancel = {"view": "week", "period": "2026-03-30"}
        other = await signed_in(outsider, OUTSIDER)
        page = (await outsider.get("/oncall/primary?start=2026-03-30")).text
        assert 'id="override-1"' in page and "/overrides/1/cancel" not in page
        forged = await outsider.post(
            "/oncall/primary/overrides/1/cancel", data={"csrf": other, **cancel}
        )
        assert forged.status_code == 403 and 'id="override-1-error"' in forged.text
        assert (
            await engineer.post("/oncall/primary/overrides/1/cancel", data=cancel)
        ).status_code == 403  # no CSRF token

        page = (await engineer.get("/oncall/primary?start=2026-03-30")).text
        assert 'aria-label="Wijziging #1 annuleren"' in page
        done = await engineer.post(
            "/oncall/primary/overrides/1/cancel", data={"csrf": mine, **cancel}
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/oncall/primary?view=week&start=2026-03-30#overrides"
        page = (await engineer.get("/oncall/primary?start=2026-03-30")).text
        assert 'id="override-1"' not in page and "wijziging #2" in _day(page, "2026-03-30")

        assert isinstance(ctx.clock, VirtualClock)
        ctx.clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=UTC))  # override 2 has ended
        boss = await signed_in(manager, MANAGER)
        page = (await manager.get("/oncall/primary?start=2026-03-30")).text
        assert 'id="override-2"' in page and "/overrides/2/cancel" not in page
        late = await manager.post(
            "/oncall/primary/overrides/2/cancel", data={"csrf": boss, **cancel}
        )
        assert late.status_code == 409 and 'id="override-2-error"' in late.text
        assert "past overrides stay" in late.text
        missing = await manager.post(
            "/oncall/secondary/overrides/2/cancel", data={"csrf": boss, **cancel}
        )
        assert missing.status_code == 404  # not an override of that schedule
    states = {o.id: o.cancelled_by for o in await _overrides(ctx)}
    assert states == {1: ENGINEER, 2: None}
