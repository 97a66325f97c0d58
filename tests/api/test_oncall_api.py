"""On-call over HTTP (seed 004, clock at Thursday 15 January 2026 09:00 UTC): who is on
call, schedules, shifts, overrides with their permissions and errors, and the iCal feed a
calendar client subscribes to without a token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar

API = "/api/v1"
START = datetime(2026, 1, 15, 9, tzinfo=UTC)
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]
HttpFor = Callable[[str | None], httpx.AsyncClient]


async def as_policy_person(
    client: httpx.AsyncClient, http_for: HttpFor, email: str
) -> httpx.AsyncClient:
    """A client acting as someone the policy already added (a token made by the admin)."""
    made = await client.post(f"{API}/tokens", json={"email": email})
    assert made.status_code == 201, made.text
    return http_for(made.json()["token"])


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def handles(people: list[dict[str, Any]]) -> list[str]:
    return [p["handle"] for p in people]


async def test_who_is_on_call(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/oncall")
    assert response.status_code == 200, response.text
    (now,) = response.json()
    assert now["schedule"] == "on-call" and now["timezone"] == "UTC"
    assert handles(now["people"]) == ["oncall.primary"]
    assert now["people"][0] == {
        "handle": "oncall.primary",
        "name": "Primary On-Call (placeholder)",
        "email": "oncall.primary@example.com",
    }
    assert (when(now["at"]), when(now["until"])) == (START, START + timedelta(hours=8))

    night = (await client.get(f"{API}/oncall", params={"at": "2026-01-15T20:00:00Z"})).json()
    assert handles(night[0]["people"]) == ["oncall.secondary"]
    naive = await client.get(
        f"{API}/oncall", params={"at": "2026-01-15T20:00", "schedule": "on-call"}
    )
    assert naive.json() == night
    offset = await client.get(f"{API}/oncall", params={"at": "2026-01-15T21:00+01:00"})
    assert offset.json() == night


async def test_bad_times_and_unknown_schedules(client: httpx.AsyncClient, error: ErrorOf) -> None:
    err = error(await client.get(f"{API}/oncall", params={"at": "tomorrow"}), 422, "invalid_input")
    assert err["message"].startswith("query.at:")
    err = error(await client.get(f"{API}/oncall", params={"at": "0001-01-01T00:00"}), 422)
    assert err["details"] == {"field": "at"}
    err = error(await client.get(f"{API}/oncall", params={"schedule": "nope"}), 404, "not_found")
    assert err["details"] == {"schedule": "nope", "known": ["on-call"]}
    error(await client.get(f"{API}/schedules/nope"), 404, "not_found")
    error(await client.get(f"{API}/schedules/nope/shifts"), 404, "not_found")


async def test_reading_needs_a_sign_in(anonymous: httpx.AsyncClient, error: ErrorOf) -> None:
    for path in ("/oncall", "/schedules", "/schedules/on-call/shifts", "/oncall/feeds"):
        error(await anonymous.get(f"{API}{path}"), 401, "unauthenticated")


async def test_schedules(client: httpx.AsyncClient, client_for: ClientFor) -> None:
    anyone = await client_for("reader@example.com")
    listed = (await anyone.get(f"{API}/schedules")).json()
    one = (await anyone.get(f"{API}/schedules/on-call")).json()
    assert listed == [one]
    assert one["name"] == "On-Call Engineer" and one["publish_ahead"] == "14d"
    assert [layer["name"] for layer in one["layers"]] == ["after-hours", "weekday"]
    assert one["layers"][1]["when"] == "during business hours (mon-fri 09:00-17:00)"
    assert handles(one["on_call"]) == ["oncall.primary"]


async def test_shifts_of_a_schedule_and_a_person(client: httpx.AsyncClient, error: ErrorOf) -> None:
    params = {"from": "2026-01-16", "to": "2026-01-17"}
    found = (await client.get(f"{API}/schedules/on-call/shifts", params=params)).json()
    assert (found["schedule"], found["schedule_name"], found["person"]) == (
        "on-call",
        "On-Call Engineer",
        None,
    )
    assert [(s["person"]["handle"], s["start"], s["end"]) for s in found["shifts"]] == [
        ("oncall.secondary", "2026-01-16T00:00:00Z", "2026-01-16T09:00:00Z"),
        ("oncall.weekday2", "2026-01-16T09:00:00Z", "2026-01-16T17:00:00Z"),
        ("oncall.afterhours2", "2026-01-16T17:00:00Z", "2026-01-17T00:00:00Z"),
    ]
    mine = await client.get(
        f"{API}/people/oncall.primary@example.com/shifts", params={"to": "2026-01-22T09:00Z"}
    )
    body = mine.json()
    assert body["person"]["handle"] == "oncall.primary" and body["schedule"] is None
    assert [(s["start"], s["end"]) for s in body["shifts"]] == [
        ("2026-01-15T09:00:00Z", "2026-01-15T17:00:00Z"),
        ("2026-01-19T09:00:00Z", "2026-01-19T17:00:00Z"),  # Monday: day 14
        ("2026-01-21T09:00:00Z", "2026-01-21T17:00:00Z"),
    ]
    err = error(
        await client.get(
            f"{API}/schedules/on-call/shifts", params={"from": "2026-01-17", "to": "2026-01-16"}
        ),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "to"}
    error(await client.get(f"{API}/people/nobody/shifts"), 404, "not_found")


async def test_overrides_over_http(
    client: httpx.AsyncClient, http_for: HttpFor, error: ErrorOf
) -> None:
    body = {
        "person": "oncall.weekday2",
        "start": "2026-01-15T12:00:00Z",
        "end": "2026-01-15T14:00:00Z",
        "reason": "dentist",
    }
    made = await client.post(f"{API}/schedules/on-call/overrides", json=body)
    assert made.status_code == 201, made.text
    override = made.json()
    assert override["action"] == "replace" and override["replaces"] is None
    assert override["person"]["handle"] == "oncall.weekday2"
    assert override["created_by"] == "admin@example.com" and override["timezone"] == "UTC"
    at_noon = await client.get(f"{API}/oncall", params={"at": "2026-01-15T13:00Z"})
    assert handles(at_noon.json()[0]["people"]) == ["oncall.weekday2"]

    listed = (await client.get(f"{API}/schedules/on-call/overrides")).json()
    assert [o["id"] for o in listed] == [override["id"]]
    assert (await client.get(f"{API}/oncall/overrides")).json() == listed

    engineer = await as_policy_person(client, http_for, "oncall.afterhours2@example.com")
    refused = error(
        await engineer.post(
            f"{API}/schedules/on-call/overrides", json={**body, "person": "oncall.secondary"}
        ),
        403,
        "permission_denied",
    )
    assert refused["details"] == {"permission": "manage-schedules", "granted_by_roles": []}
    error(
        await engineer.delete(f"{API}/oncall/overrides/{override['id']}"),
        403,
        "permission_denied",
    )
    # Taking a shift yourself needs no permission; nor does cancelling your own override.
    taken = await engineer.post(
        f"{API}/schedules/on-call/overrides",
        json={**body, "person": "oncall.afterhours2", "action": "add"},
    )
    assert taken.status_code == 201, taken.text
    cancelled = await engineer.delete(f"{API}/oncall/overrides/{taken.json()['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"] is not None

    gone = await client.delete(f"{API}/oncall/overrides/{override['id']}")
    assert gone.json()["cancelled_by"] == "admin@example.com"
    assert (await client.get(f"{API}/oncall/overrides")).json() == []
    everything = await client.get(f"{API}/oncall/overrides", params={"cancelled": "true"})
    assert len(everything.json()) == 2
    error(await client.delete(f"{API}/oncall/overrides/999"), 404, "not_found")
    error(await client.delete(f"{API}/oncall/overrides/0"), 422, "invalid_input")


async def test_override_errors_name_the_field(client: httpx.AsyncClient, error: ErrorOf) -> None:
    url = f"{API}/schedules/on-call/overrides"
    base = {"person": "oncall.weekday2", "start": "2026-01-15T12:00Z", "end": "2026-01-15T14:00Z"}
    cases = [
        ({"person": "ghost"}, "person"),
        ({"end": "2026-01-15T11:00Z"}, "end"),
        ({"start": "2026-01-14T11:00Z", "end": "2026-01-14T12:00Z"}, "end"),
        ({"action": "add", "replaces": "oncall.primary"}, "replaces"),
    ]
    for change, field in cases:
        err = error(await client.post(url, json={**base, **change}), 422, "invalid_input")
        assert err["details"]["field"] == field, err
    err = error(await client.post(url, json={**base, "action": "swap"}), 422, "invalid_input")
    assert err["details"][0]["location"] == "body.action"
    err = error(await client.post(url, json={**base, "colour": "red"}), 422, "invalid_input")
    error(await client.post(f"{API}/schedules/nope/overrides", json=base), 404, "not_found")


async def test_calendar_feed(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, error: ErrorOf
) -> None:
    made = await client.post(f"{API}/oncall/feeds", json={"schedule": "on-call"})
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["kind"] == "schedule" and feed["subject"] == "on-call"
    assert feed["path"] == f"{API}/ical/{feed['secret']}.ics"
    assert feed["url"] == f"http://test{feed['path']}"

    response = await anonymous.get(feed["path"])  # no token: the secret is the sign-in
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.text)
    assert str(calendar["VERSION"]) == "2.0"
    events = list(calendar.walk("VEVENT"))
    starts = [e.decoded("DTSTART") for e in events]
    assert starts[0] == START - timedelta(days=7)
    assert events[-1].decoded("DTEND") == START + timedelta(weeks=2)  # publish_ahead: 2w
    current = next(e for e in events if e.decoded("DTSTART") == START)
    assert str(current["SUMMARY"]) == "On call: Primary On-Call (placeholder)"

    listed = (await client.get(f"{API}/oncall/feeds")).json()
    assert [f["id"] for f in listed] == [feed["id"]] and "secret" not in listed[0]
    revoked = await client.delete(f"{API}/oncall/feeds/{feed['id']}")
    assert revoked.json()["revoked_at"] is not None
    # A revoked or made-up secret is refused like a wrong token.
    error(await anonymous.get(feed["path"]), 401, "unauthenticated")
    error(await anonymous.get(f"{API}/ical/tcf_nothing.ics"), 401, "unauthenticated")


async def test_person_feed_and_feed_errors(
    client: httpx.AsyncClient, client_for: ClientFor, anonymous: httpx.AsyncClient, error: ErrorOf
) -> None:
    reader = await client_for("reader@example.com")
    made = (await reader.post(f"{API}/oncall/feeds", json={"person": "oncall.weekday2"})).json()
    assert made["kind"] == "person" and made["created_by"] == "reader@example.com"
    calendar = icalendar.Calendar.from_ical((await anonymous.get(made["path"])).text)
    summaries = {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert summaries == {"On call: On-Call Engineer"}
    err = error(
        await reader.post(f"{API}/oncall/feeds", json={"schedule": "on-call", "person": "x"}),
        422,
        "invalid_input",
    )
    assert "either 'schedule' or 'person'" in err["message"]
    error(await reader.post(f"{API}/oncall/feeds", json={}), 422, "invalid_input")
    error(await reader.post(f"{API}/oncall/feeds", json={"person": "ghost"}), 422)
    error(await reader.post(f"{API}/oncall/feeds", json={"schedule": "ghost"}), 404)
    # Someone else's feed is not yours to see or revoke.
    other = await client_for("other@example.com")
    assert (await other.get(f"{API}/oncall/feeds")).json() == []
    error(await other.delete(f"{API}/oncall/feeds/{made['id']}"), 404, "not_found")
