"""Every kind of bad event: PagerDuty's ``400 invalid event`` naming the field, nothing stored.

Also the rate limit (``429``), an unknown routing key and bodies over 512 KB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests.alerts.conftest import Enqueue, apply_policy_text, make_integration, trigger

from tocsin.alerts.models import AlertEvent
from tocsin.context import Context
from tocsin.jobs.models import Job

Event = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Event], None]:
    """Set (or, with ``...``, remove) a dotted field of the event."""

    def change(event: Event) -> None:
        *parents, last = path.split(".")
        target = event
        for name in parents:
            target = target[name]
        if value is ...:
            target.pop(last, None)
        else:
            target[last] = value

    return change


#: (what is wrong, the change, a text the error must contain)
BAD: list[tuple[str, Callable[[Event], None], str]] = [
    ("no routing key", _set("routing_key", ...), "'routing_key' is missing"),
    ("blank routing key", _set("routing_key", "  "), "'routing_key' is missing"),
    ("routing key a number", _set("routing_key", 42), "'routing_key' must be a string"),
    ("no event_action", _set("event_action", ...), "'event_action' is missing"),
    ("unknown event_action", _set("event_action", "escalate"), "'event_action' must be one of"),
    ("event_action a list", _set("event_action", ["trigger"]), "'event_action' must be one of"),
    ("no payload", _set("payload", ...), "'payload' is missing"),
    ("payload a string", _set("payload", "down"), "'payload' must be an object"),
    ("no summary", _set("payload.summary", ...), "'payload.summary' is missing"),
    ("blank summary", _set("payload.summary", " "), "'payload.summary' is missing"),
    ("summary a number", _set("payload.summary", 5), "'payload.summary' must be a string"),
    ("summary too long", _set("payload.summary", "x" * 1025), "'payload.summary' is too long"),
    ("no source", _set("payload.source", ...), "'payload.source' is missing"),
    ("no severity", _set("payload.severity", ...), "'payload.severity' is missing"),
    ("severity in capitals", _set("payload.severity", "Critical"), "'payload.severity' must be"),
    ("unknown severity", _set("payload.severity", "fatal"), "'payload.severity' must be"),
    ("bad timestamp", _set("payload.timestamp", "yesterday"), "'payload.timestamp'"),
    ("timestamp a number", _set("payload.timestamp", 1700000000), "'payload.timestamp'"),
    ("component a number", _set("payload.component", 1), "'payload.component' must be"),
    ("group an object", _set("payload.group", {}), "'payload.group' must be"),
    ("class a list", _set("payload.class", []), "'payload.class' must be"),
    ("dedup key too long", _set("dedup_key", "k" * 256), "'dedup_key' is too long"),
    ("dedup key a number", _set("dedup_key", 12), "'dedup_key' must be a string"),
    ("links not a list", _set("links", {"href": "x"}), "'links' must be an array"),
    ("link without href", _set("links", [{"text": "x"}]), "'links[0].href' is missing"),
    ("link a string", _set("links", ["https://x"]), "'links[0]' must be an object"),
    ("image without src", _set("images", [{"alt": "x"}]), "'images[0].src' is missing"),
    ("image alt a number", _set("images", [{"src": "https://x", "alt": 1}]), "'images[0].alt'"),
    ("client a number", _set("client", 1), "'client' must be a string"),
    ("client_url a list", _set("client_url", []), "'client_url' must be a string"),
]


def invalid(response: httpx.Response) -> list[str]:
    """Assert PagerDuty's 400 shape; return its errors."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "message", "errors"}, body
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert isinstance(body["errors"], list) and body["errors"], body
    assert all(isinstance(e, str) and e for e in body["errors"])
    return list(body["errors"])


async def nothing_stored(ctx: Context) -> None:
    async with ctx.db.read() as session:
        for model in (AlertEvent, Job):
            assert await session.scalar(select(func.count()).select_from(model)) == 0


async def test_each_bad_field(ready: Context, key: str, enqueue: Enqueue) -> None:
    for what, change, expected in BAD:
        event = trigger(key, dedup_key="k")
        change(event)
        errors = invalid(await enqueue(event))
        assert any(expected in e for e in errors), (what, errors)
    await nothing_stored(ready)


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("dedup_key", [None, "", "   "])
async def test_acknowledge_and_resolve_need_a_dedup_key(
    action: str, dedup_key: str | None, ready: Context, key: str, enqueue: Enqueue
) -> None:
    event: Event = {"routing_key": key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    errors = invalid(await enqueue(event))
    assert errors == [f"'dedup_key' is missing or blank (required to {action})"]
    await nothing_stored(ready)


async def test_every_problem_is_named(ready: Context, key: str, enqueue: Enqueue) -> None:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": 7,
        "payload": {"summary": "", "severity": "loud", "timestamp": "then"},
        "links": [{}],
    }
    errors = invalid(await enqueue(event))
    assert len(errors) == 6, errors
    for field in ("dedup_key", "summary", "source", "severity", "timestamp", "links[0].href"):
        assert any(field in e for e in errors), (field, errors)
    await nothing_stored(ready)


NOT_EVENTS: list[tuple[bytes, str | None, str]] = [
    (b"routing_key=x&event_action=trigger", "application/x-www-form-urlencoded", "Content-Type"),
    (b'{"routing_key": "x"}', "text/plain", "Content-Type"),
    (b'{"routing_key": "x"}', None, "Content-Type"),
    (b'{"routing_key": ', "application/json", "not valid JSON"),
    (b"{'single': 'quotes'}", "application/json", "not valid JSON"),
    (b"\xff\xfe", "application/json", "not valid JSON"),
    (b"", "application/json", "not valid JSON"),
    (b"[1, 2]", "application/json", "must be a JSON object"),
    (b'"text"', "application/json", "must be a JSON object"),
    (b"null", "application/json", "must be a JSON object"),
]


async def test_bodies_that_are_not_an_event(ready: Context, enqueue: Enqueue) -> None:
    for content, content_type, expected in NOT_EVENTS:
        headers = {} if content_type is None else {"Content-Type": content_type}
        errors = invalid(await enqueue(content=content, headers=headers))
        assert any(expected in e for e in errors), (content, errors)
    await nothing_stored(ready)


async def test_an_unknown_routing_key(ready: Context, key: str, enqueue: Enqueue) -> None:
    for wrong in ("0" * 32, key.upper(), key[:-1], key + "0"):
        assert invalid(await enqueue(trigger(wrong))) == ["Invalid routing key"]
    await nothing_stored(ready)


async def test_a_key_of_another_integration_type(ready: Context, enqueue: Enqueue) -> None:
    other = await make_integration(ready, "Alertmanager", type_="alertmanager")
    [error] = invalid(await enqueue(trigger(other)))
    assert error.startswith("Invalid routing key") and "alertmanager" in error
    await nothing_stored(ready)


def _sized(key: str, size: int) -> bytes:
    """A valid trigger of exactly ``size`` bytes."""
    event = trigger(key)
    event["payload"]["custom_details"] = {"blob": ""}
    event["payload"]["custom_details"]["blob"] = "x" * (size - len(json.dumps(event).encode()))
    body = json.dumps(event).encode()
    assert len(body) == size
    return body


JSON = {"Content-Type": "application/json"}


async def test_a_body_of_512_kb_is_taken(key: str, enqueue: Enqueue) -> None:
    response = await enqueue(content=_sized(key, 512 * 1024), headers=JSON)
    assert response.status_code == 202, response.text


async def test_bodies_over_512_kb_are_refused(ready: Context, key: str, enqueue: Enqueue) -> None:
    too_large = ["Event object is too large (the limit is 524288 bytes)"]
    assert invalid(await enqueue(content=_sized(key, 512 * 1024 + 1), headers=JSON)) == too_large
    # Past the server's own limit (1 MB) its guard answers, still in PagerDuty's shape.
    huge = _sized(key, 3 * 512 * 1024)
    assert invalid(await enqueue(content=huge, headers=JSON)) == too_large
    await nothing_stored(ready)


async def test_nul_characters_are_refused(ready: Context, key: str, enqueue: Enqueue) -> None:
    body = json.dumps(trigger(key, "bad\u0000summary")).encode()
    [error] = invalid(await enqueue(content=body, headers={"Content-Type": "application/json"}))
    assert "NUL" in error
    await nothing_stored(ready)


async def test_other_methods_are_not_events(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/v2/enqueue")
    assert response.status_code == 405


async def test_past_the_rate_limit_429_until_tokens_refill(
    ready: Context, enqueue: Enqueue
) -> None:
    await apply_policy_text(ready, "alerts:\n  rate_limit: {per_second: 0.5, burst: 3}\n")
    key = await make_integration(ready)
    other = await make_integration(ready, "Other")
    for _ in range(3):
        assert (await enqueue(trigger(key))).status_code == 202
    refused = await enqueue(trigger(key))
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["status"] == "throttle event"
    # Per integration: another key is not held back.
    assert (await enqueue(trigger(other))).status_code == 202
    async with ready.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AlertEvent)) == 4
    ready.clock.advance(seconds=2)
    assert (await enqueue(trigger(key))).status_code == 202
    assert (await enqueue(trigger(key))).status_code == 429


async def test_no_rate_limit_when_turned_off(ready: Context, enqueue: Enqueue) -> None:
    await apply_policy_text(ready, "alerts:\n  rate_limit: null\n")
    key = await make_integration(ready)
    for _ in range(20):
        assert (await enqueue(trigger(key))).status_code == 202
