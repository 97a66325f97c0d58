"""The comms API over HTTP: list templates, preview (GET with ``update.NAME`` parameters or
POST), send (201 with the queued notifications, ``Idempotency-Key``), and bad input as
4xx errors in the one shape that say what and where."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.comms.test_comms_service import comms_policy
from tests.conftest import token_for

from tocsin.context import Context

API = "/api/v1"
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]


@pytest.fixture
async def ref(client: httpx.AsyncClient) -> str:
    """The comms test policy applied (by the admin client) and one SEV1 declared."""
    applied = await client.post(
        f"{API}/policy", json={"content": comms_policy(), "source": "comms.yaml"}
    )
    assert applied.status_code in (200, 201), applied.text
    declared = await client.post(
        f"{API}/incidents",
        json={"title": "Checkout returns 500", "severity": "SEV1", "components": ["checkout"]},
    )
    assert declared.status_code == 201, declared.text
    return str(declared.json()["id"])


async def test_templates_lists_builtins_and_the_policys_own(
    client: httpx.AsyncClient, ref: str
) -> None:
    response = await client.get(f"{API}/templates")
    assert response.status_code == 200, response.text
    rows = {(t["key"], t["locale"]): t for t in response.json()}
    assert rows[("incident-update", "en")]["source"] == "policy"
    assert rows[("incident-update", "en")]["description"] == "Our own update"
    assert rows[("incident-update", "nl")]["source"] == "builtin"
    assert rows[("customer-email", "nl")]["description"].startswith("E-mail aan getroffen klanten")
    assert {t["locale"] for t in response.json()} == {"en", "nl"}


async def test_preview_get_with_update_parameters(client: httpx.AsyncClient, ref: str) -> None:
    response = await client.get(
        f"{API}/incidents/{ref}/comms/preview",
        params={"template": "incident-update", "update.progress": "Rolled back"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "template": "incident-update",
        "locale": "en",
        "subject": f"Update {ref}",
        "text": "Progress: Rolled back\nNext: [not known yet: next steps]\n",
        "html": None,
    }
    dutch = await client.get(
        f"{API}/incidents/{ref}/comms/preview",
        params={"template": "status-investigating", "locale": "nl"},
    )
    assert dutch.status_code == 200, dutch.text
    assert dutch.json()["subject"] == "Storing in onderzoek: Checkout returns 500"
    assert dutch.json()["text"].startswith("We onderzoeken een storing in Checkout.\n")


async def test_preview_post_with_html(client: httpx.AsyncClient, ref: str) -> None:
    response = await client.post(
        f"{API}/incidents/{ref}/comms/preview",
        json={"template": "customer-email", "update": {"summary": "A <b>bad</b> deploy"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "What happened\nA <b>bad</b> deploy\n" in body["text"]
    assert "<p>A &lt;b&gt;bad&lt;/b&gt; deploy</p>" in body["html"]


async def test_send_e_mail_returns_the_queued_notifications(
    client: httpx.AsyncClient, ref: str
) -> None:
    body = {
        "template": "incident-update",
        "channel": "mail",
        "to": ["customer@example.org", "user:dana"],
        "update": {"progress": "Rolled back"},
    }
    response = await client.post(
        f"{API}/incidents/{ref}/comms", json=body, headers={"Idempotency-Key": "upd-1"}
    )
    assert response.status_code == 201, response.text
    rows = response.json()
    assert [
        {k: r[k] for k in ("channel", "kind", "recipient", "status", "subject")} for r in rows
    ] == [
        {
            "channel": "mail",
            "kind": "email",
            "recipient": "customer@example.org",
            "status": "pending",
            "subject": f"Update {ref}",
        },
        {
            "channel": "mail",
            "kind": "email",
            "recipient": "dana@example.com",
            "status": "pending",
            "subject": f"Update {ref}",
        },
    ]
    again = await client.post(
        f"{API}/incidents/{ref}/comms", json=body, headers={"Idempotency-Key": "upd-1"}
    )
    assert again.status_code == 201 and again.json() == rows  # nothing new queued
    timeline = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    sent = [e for e in timeline if e["kind"] == "comms"]
    assert len(sent) == 1
    assert sent[0]["summary"] == "Sent incident-update (en) via mail to customer@example.org, dana"


async def test_send_defaults_to_the_chat_channel(client: httpx.AsyncClient, ref: str) -> None:
    response = await client.post(f"{API}/incidents/{ref}/comms", json={"template": "acknowledged"})
    assert response.status_code == 201, response.text
    (row,) = response.json()
    assert (row["channel"], row["kind"], row["recipient"]) == ("chat", "slack", "#incidents")


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "message"),
    [
        ("GET", "comms/preview?template=nope", None, 404, "no template 'nope' (known: "),
        ("GET", "comms/preview", None, 422, "name a template (known: acknowledged, "),
        (
            "GET",
            "comms/preview?template=incident-update&locale=fr",
            None,
            422,
            "unknown locale 'fr' (known: en, nl)",
        ),
        (
            "GET",
            "comms/preview?template=incident-update&update.colour=red",
            None,
            422,
            "unknown update field(s) colour (known: status, progress,",
        ),
        (
            "GET",
            "comms/preview?template=incident-update&progress=x",
            None,
            422,
            "unknown query parameter 'progress' (known: template, locale, update.NAME, notice.NAME)",
        ),
        (
            "POST",
            "comms/preview",
            {"template": "incident-update", "update": {"incident.title": "x"}},
            422,
            "'incident.title' cannot be set",
        ),
        (
            "POST",
            "comms/preview",
            {"template": "incident-update", "colour": "red"},
            422,
            "body.colour: Extra inputs are not permitted",
        ),
        (
            "POST",
            "comms",
            {"template": "incident-update", "channel": "mail"},
            422,
            "channel 'mail' (email) sends to people: give recipients",
        ),
        (
            "POST",
            "comms",
            {"template": "incident-update", "channel": "fax"},
            422,
            "unknown channel 'fax' (known: chat, hook, mail, push, sms)",
        ),
        (
            "POST",
            "comms",
            {"template": "incident-update", "channel": "mail", "to": ["role:chef"]},
            422,
            "to[0]: unknown role 'chef'",
        ),
        ("POST", "comms", {"template": "nope"}, 404, "no template 'nope'"),
        (
            "POST",
            "comms",
            {"template": "incident-update", "update": {"etaa": "soon"}},
            422,
            "unknown update field(s) etaa",
        ),
    ],
)
async def test_bad_input_says_what_and_where(
    client: httpx.AsyncClient,
    ref: str,
    error: ErrorOf,
    method: str,
    path: str,
    payload: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    response = await client.request(method, f"{API}/incidents/{ref}/{path}", json=payload)
    found = error(response, status)
    assert found["message"].startswith(message), found["message"]


async def test_an_unknown_incident_is_a_404(
    client: httpx.AsyncClient, ref: str, error: ErrorOf
) -> None:
    response = await client.get(
        f"{API}/incidents/INC-2026-01-01-999/comms/preview", params={"template": "reminder"}
    )
    assert error(response, 404, "not_found")["message"] == "no incident 'INC-2026-01-01-999'"


async def test_sending_needs_the_permission(
    client_for: ClientFor, ref: str, seeded: Context, error: ErrorOf
) -> None:
    nobody = await client_for("walker@example.com")
    preview = await nobody.get(
        f"{API}/incidents/{ref}/comms/preview", params={"template": "incident-update"}
    )
    assert preview.status_code == 200, preview.text
    refused = await nobody.post(
        f"{API}/incidents/{ref}/comms", json={"template": "incident-update"}
    )
    found = error(refused, 403, "permission_denied")
    assert found["message"] == "walker@example.com lacks the permission 'send-communications'"
    comms = await client_for("writer@example.com", roles=("comms",))
    allowed = await comms.post(f"{API}/incidents/{ref}/comms", json={"template": "incident-update"})
    assert allowed.status_code == 201, allowed.text


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("comms@example.com", 201),  # Communication Coordinator: stakeholder notifications
        ("tech.lead@example.com", 201),  # Incident Commander: stakeholder updates
        ("sysadmin@example.com", 201),
        ("oncall.primary@example.com", 403),  # on call: acknowledges, does not send
    ],
)
async def test_seed_004_lets_its_communicators_send(
    seeded: Context,
    declare: Callable[..., Any],
    http_for: Callable[[str | None], httpx.AsyncClient],
    email: str,
    status: int,
) -> None:
    ref = (await declare(severity="SEV1"))["id"]
    person = http_for(await token_for(seeded, email))
    sent = await person.post(
        f"{API}/incidents/{ref}/comms",
        json={"template": "status-investigating", "channel": "status-page"},
    )
    assert sent.status_code == status, sent.text


async def test_anonymous_is_refused(anonymous: httpx.AsyncClient, error: ErrorOf) -> None:
    error(await anonymous.get(f"{API}/templates"), 401, "unauthenticated")


async def test_the_routes_are_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths[f"{API}/incidents/{{ref}}/comms/preview"]) == {"get", "post"}
    assert set(paths[f"{API}/incidents/{{ref}}/comms"]) == {"post"}
    assert set(paths[f"{API}/templates"]) == {"get"}
