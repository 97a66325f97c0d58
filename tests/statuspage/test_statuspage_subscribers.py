"""Subscribers, end to end: sign-up through the public door (JSON and an HTML form), double
opt-in through the link in a real e-mail (aiosmtpd) and in a real webhook POST, messages
on incident created / updated / resolved and maintenance started / completed through the
notification outbox, only for the components chosen, one-click unsubscribe with the signed
link (``List-Unsubscribe``), and sign-ups limited per address and per client IP."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from tests.notify.servers import Receiver
from tests.statuspage.sp_live import (
    SECRET,
    api,
    apply_text,
    deliver,
    live_app,
    local_policy,
    servers,  # noqa: F401 (a fixture)
)

from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.notify.channels.webhook import signature
from tocsin.simulate.runner import run_until

LINK = re.compile(r"http://\S+/statuspage/(?:confirm|unsubscribe)\?token=\S+")


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def mails_to(inbox: Any, address: str) -> list[EmailMessage]:
    return [m for m in inbox.messages if m["To"] == address]


def hooks(hook: Receiver) -> list[dict[str, Any]]:
    out = []
    for request in hook.requests:
        stamp = request.headers["x-tocsin-timestamp"]
        assert request.headers["x-tocsin-signature"] == signature(SECRET, stamp, request.body)
        out.append(json.loads(request.body))
    return out


async def test_subscribers_from_sign_up_to_unsubscribe(
    seeded: Context,
    servers: tuple[int, Any, Receiver],  # noqa: F811 (the fixture)
) -> None:
    port, inbox, hook = servers
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    await apply_text(seeded, local_policy(port))
    reader = "reader@example.org"
    async with live_app(seeded) as http:
        answer = await http.post(
            "/statuspage/subscribe", json={"email": reader, "components": ["score-recording"]}
        )
        assert answer.status_code == 202, answer.text
        form = await http.post("/statuspage/subscribe", data={"webhook": hook.url})
        assert form.status_code == 202, form.text
        assert form.json() == answer.json()  # the same words for everyone
        await deliver(seeded)

        # Double opt-in: a link by e-mail, a link in the webhook's first POST.
        (confirmation,) = mails_to(inbox, reader)
        assert (
            "Confirm your subscription to Music Learning Community Status"
            in confirmation["Subject"]
        )
        (mail_link,) = LINK.findall(confirmation.get_content())
        (first,) = hooks(hook)
        assert first["data"]["kind"] == "statuspage.confirm"
        hook_link = first["data"]["confirm_url"]

        # Unconfirmed, nobody hears of an incident.
        await api(
            http,
            "POST",
            "incidents",
            {
                "name": "Quiet one",
                "body": "Before anyone confirmed.",
                "components": {"score-recording": "degraded_performance"},
            },
        )
        await deliver(seeded)
        assert len(inbox.messages) == 1 and len(hook.requests) == 1

        bad = await http.get("/statuspage/confirm?token=" + "x" * 40)
        assert bad.status_code == 400
        for link in (mail_link, hook_link):
            confirmed = await http.get(path_of(link))
            assert confirmed.json() == {"status": "confirmed"}, confirmed.text
        listed = await api(http, "GET", "subscribers")
        assert {(s["kind"], s["components"] == ["score-recording"]) for s in listed} == {
            ("email", True),
            ("webhook", False),
        }

        # Created, updated, resolved.
        created = await api(
            http,
            "POST",
            "incidents",
            {
                "name": "Scores are not saved",
                "body": "We are investigating.",
                "components": {"score-recording": "major_outage"},
            },
        )
        clock.advance(minutes=10)
        await api(
            http,
            "POST",
            f"incidents/{created['id']}/updates",
            {
                "status": "identified",
                "body": "A migration locks the table.",
            },
        )
        clock.advance(minutes=10)
        await api(
            http,
            "POST",
            f"incidents/{created['id']}/updates",
            {
                "status": "resolved",
                "body": "Scores save again.",
            },
        )
        # Another component: the e-mail reader chose score-recording only.
        await api(
            http,
            "POST",
            "incidents",
            {
                "name": "Search is slow",
                "body": "Searching takes long.",
                "components": {"search": "degraded_performance"},
            },
        )
        await deliver(seeded)
        subjects = [m["Subject"] for m in mails_to(inbox, reader)][1:]
        assert subjects == [
            "[Music Learning Community Status] Investigating: Scores are not saved",
            "[Music Learning Community Status] Identified: Scores are not saved",
            "[Music Learning Community Status] Resolved: Scores are not saved",
        ]
        events = [h["data"]["kind"] for h in hooks(hook)[1:]]
        assert events == [
            "statuspage.incident.created",
            "statuspage.incident.updated",
            "statuspage.incident.resolved",
            "statuspage.incident.created",
        ]
        resolved = hooks(hook)[3]["data"]
        assert resolved["incident"]["id"] == created["id"]
        assert resolved["incident"]["status"] == "resolved"
        assert resolved["incident"]["incident_updates"][0]["body"] == "Scores save again."
        assert resolved["page"]["name"] == "Music Learning Community Status"

        # Maintenance started and completed, by itself.
        start = clock.now() + timedelta(hours=1)
        await api(
            http,
            "POST",
            "maintenances",
            {
                "name": "Database upgrade",
                "body": "Scores may save slowly.",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + timedelta(hours=1)).isoformat(),
                "components": ["score-recording", "database"],
            },
        )
        await run_until(seeded.db, clock, start + timedelta(hours=1, minutes=5))
        last_two = [m["Subject"] for m in mails_to(inbox, reader)][-2:]
        assert last_two == [
            "[Music Learning Community Status] In progress: Database upgrade",
            "[Music Learning Community Status] Completed: Database upgrade",
        ]
        assert [h["data"]["kind"] for h in hooks(hook)][-2:] == [
            "statuspage.maintenance.started",
            "statuspage.maintenance.completed",
        ]

        # One click: the mail client's List-Unsubscribe POST.
        latest = mails_to(inbox, reader)[-1]
        assert latest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        leave = latest["List-Unsubscribe"].strip("<>")
        assert leave in latest.get_content()
        gone = await http.post(path_of(leave))
        assert gone.json() == {"status": "unsubscribed"}
        count = len(inbox.messages)
        await api(
            http,
            "POST",
            "incidents",
            {
                "name": "After leaving",
                "body": "Nobody by e-mail.",
                "components": {"score-recording": "partial_outage"},
            },
        )
        await deliver(seeded)
        assert len(inbox.messages) == count
        assert hooks(hook)[-1]["data"]["incident"]["name"] == "After leaving"


async def test_sign_ups_are_limited_per_address_and_per_client(
    seeded: Context,
    servers: tuple[int, Any, Receiver],  # noqa: F811 (the fixture)
) -> None:
    port, _, _ = servers
    await apply_text(seeded, local_policy(port))
    async with live_app(seeded) as http:
        for _ in range(3):  # status_page: subscribers: per_address_per_hour (3)
            answer = await http.post("/statuspage/subscribe", json={"email": "same@example.org"})
            assert answer.status_code == 202
        refused = await http.post("/statuspage/subscribe", json={"email": "SAME@example.org"})
        assert refused.status_code == 429
        assert refused.json()["error"]["details"]["limit"] == "address"
        assert int(refused.headers["Retry-After"]) > 0
        # The same client (203.0.113.7), other addresses: 20 an hour.
        codes = [
            (
                await http.post("/statuspage/subscribe", json={"email": f"r{n}@example.org"})
            ).status_code
            for n in range(17)
        ]
        assert codes == [202] * 16 + [429]
        seeded.clock.advance(hours=1)  # type: ignore[attr-defined]
        again = await http.post("/statuspage/subscribe", json={"email": "later@example.org"})
        assert again.status_code == 202


async def test_bad_sign_ups_say_what_is_wrong(seeded: Context) -> None:
    async with live_app(seeded) as http:
        both = await http.post(
            "/statuspage/subscribe", json={"email": "a@example.org", "webhook": "https://x.org/h"}
        )
        assert both.status_code == 422
        for inside in (
            "http://127.0.0.1:8080/admin",
            "https://localhost/x",
            "http://169.254.169.254/latest",
            "http://[::1]/h",
            "http://10.1.2.3/h",
        ):
            refused = await http.post("/statuspage/subscribe", json={"webhook": inside})
            assert refused.status_code == 422, inside
            assert "public address" in refused.json()["error"]["message"]
        unknown = await http.post(
            "/statuspage/subscribe", json={"webhook": "https://x.org/h", "components": ["nope"]}
        )
        assert unknown.status_code == 422 and "nope" in unknown.json()["error"]["message"]
        # Seed 004 as shipped names its e-mail channel; without SMTP here the sign-up is
        # still taken (delivery is the outbox's business).
        assert (
            await http.post("/statuspage/subscribe", json={"email": "x@example.org"})
        ).status_code == 202
