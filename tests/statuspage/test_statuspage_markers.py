"""Acceptance: nothing internal reaches a public surface. Marker strings are planted in a
restricted incident (title, summary, a note), in an internal note and the business impact
of the incident the public one reports on, and in the name of the person who declared it;
a publisher drafts the public updates from that incident with the policy's templates and
publishes them as drafted, subscribers are told. Then every output is searched: each
``/api/v2`` JSON document, the page, its history, every incident page, the RSS and Atom
feeds, every e-mail (raw) and every webhook body that went out, and every subscriber
message in the outbox."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from tests.notify.servers import Receiver
from tests.statuspage.sp_live import (
    api,
    apply_text,
    deliver,
    live_app,
    local_policy,
    servers,  # noqa: F401 (a fixture)
)

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn, Impact
from tocsin.notify.models import Notification
from tocsin.statuspage.public import DOCUMENTS

RESTRICTED = "MARKER-RESTRICTED-c41d"
RESTRICTED_NOTE = "MARKER-RESTRICTED-NOTE-77e0"
NOTE = "MARKER-INTERNAL-NOTE-9b2f"
IMPACT = "MARKER-BUSINESS-IMPACT-51aa"
PERSON = "MARKER-PERSON-Quentin-Oddly"
READER = "reader@example.org"
MARKERS = (RESTRICTED, RESTRICTED_NOTE, NOTE, IMPACT, PERSON, "marker.person@")


def careless(policy: str) -> str:
    """A status-page template that names the people of the incident: the draft must
    still not show them."""
    line = "      We will provide an update within 30 minutes.\n"
    assert policy.count(line) == 1
    people = (
        "      Declared by {{ incident.declared_by }}, acknowledged by "
        "{{ incident.acknowledged_by }}, led by {{ incident.commander }} "
        "({{ incident.roles }}) at {{ incident.url }}.\n"
    )
    return policy.replace(line, line + people)


def to_reader(inbox: Any) -> list[Any]:
    """The subscriber's e-mails (the seed's routes also e-mail staff, who may see it all)."""
    return [m for m in inbox.messages if m["To"] == READER]


async def plant(ctx: Context) -> tuple[str, str]:
    """The internal incidents with their markers: the references of the one the public
    incident reports on and of the restricted one."""
    async with ctx.db.write() as session:
        person = await auth.create_user(
            session,
            SYSTEM,
            "marker.person@example.com",
            clock=ctx.clock,
            name=PERSON,
            roles=("incident-commander",),
        )
        declarer = auth.actor_for(person)
        breach = await incidents.declare(
            session,
            declarer,
            DeclareIn(
                title=f"{RESTRICTED} data breach",
                severity="SEV1",
                type="security",
                summary=RESTRICTED,
                components=["authentication"],
            ),
            clock=ctx.clock,
        )
        assert breach.restricted
        await incidents.add_note(session, declarer, breach.ref, RESTRICTED_NOTE, clock=ctx.clock)
        outage = await incidents.declare(
            session,
            declarer,
            DeclareIn(
                title="Scores are not being saved",
                severity="SEV1",
                components=["score-recording"],
                impact=Impact(business_impact=IMPACT),
            ),
            clock=ctx.clock,
        )
        await incidents.add_note(session, declarer, outage.ref, NOTE, clock=ctx.clock)
        await incidents.acknowledge(session, declarer, outage.ref, clock=ctx.clock)
        await incidents.assign_role(
            session, declarer, outage.ref, "incident-commander", person.email, clock=ctx.clock
        )
        return outage.ref, breach.ref


async def test_no_marker_reaches_any_public_output(
    seeded: Context,
    servers: tuple[int, Any, Receiver],  # noqa: F811 (the fixture)
) -> None:
    port, inbox, hook = servers
    await apply_text(seeded, careless(local_policy(port)))
    ref, restricted = await plant(seeded)
    async with live_app(seeded) as http:
        for body in ({"email": READER}, {"webhook": hook.url}):
            assert (await http.post("/statuspage/subscribe", json=body)).status_code == 202
        await deliver(seeded)
        for link in [m.get_content() for m in to_reader(inbox)] + [
            r.body.decode() for r in hook.requests
        ]:
            token = re.findall(r"token=([A-Za-z0-9_.-]+)", link)[0]
            assert (await http.get(f"/statuspage/confirm?token={token}")).status_code == 200

        # A restricted incident is never linked.
        refused = await http.post(
            "/api/v1/statuspage/incidents",
            json={"name": "x", "body": "y", "incident": restricted},
        )
        assert refused.status_code == 403

        # The publisher's workflow: draft from the incident, publish the draft as is.
        public_id = None
        for status in ("investigating", "identified", "monitoring", "resolved"):
            draft = await api(
                http,
                "POST",
                "drafts",
                {
                    "incident": ref,
                    "status": status,
                    "fields": {"customer_impact": "Scores fail."},
                },
            )
            if public_id is None:
                created = await api(
                    http,
                    "POST",
                    "incidents",
                    {
                        "name": draft["name"],
                        "body": draft["body"],
                        "components": draft["components"],
                        "incident": ref,
                    },
                )
                public_id = created["id"]
            else:
                await api(
                    http,
                    "POST",
                    f"incidents/{public_id}/updates",
                    {
                        "status": status,
                        "body": draft["body"],
                        "components": draft["components"],
                    },
                )
        await deliver(seeded)
        assert len(to_reader(inbox)) == 5 and len(hook.requests) == 5

        outputs: dict[str, str] = {}
        for name in DOCUMENTS:
            outputs[f"/api/v2/{name}"] = (await http.get(f"/api/v2/{name}")).text
        pages = [
            "/status",
            "/status/history",
            "/status/history.rss",
            "/status/history.atom",
            f"/status/incidents/{public_id}",
        ]
        for path in pages:
            answer = await http.get(path)
            assert answer.status_code == 200, path
            outputs[path] = answer.text
        for n, mail in enumerate(to_reader(inbox)):
            outputs[f"e-mail {n}"] = mail.as_string()
        for n, request in enumerate(hook.requests):
            outputs[f"webhook {n}"] = request.body.decode()
    async with seeded.db.read() as session:
        rows = (await session.scalars(select(Notification))).all()
    for row in rows:
        if str(row.payload.get("data", {}).get("kind", "")).startswith("statuspage"):
            outputs[f"outbox {row.id}"] = f"{row.subject}\n{row.body_text}\n{row.payload}"

    assert "Scores are not being saved" in outputs["/api/v2/incidents.json"]  # it is there
    leaks = [(where, m) for where, text in outputs.items() for m in MARKERS if m in text]
    assert leaks == []
    everything = "".join(outputs.values())
    assert ref not in everything and restricted not in everything  # nor the references
