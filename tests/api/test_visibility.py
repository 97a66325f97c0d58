"""Restricted incidents (seed 004: types ``security`` and ``data-privacy``) are seen only by
their participants and admins. Everyone else gets the same 404 as for an incident that does
not exist, and lists and counts leave them out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tocsin.app import create_app
from tocsin.settings import Settings

API = "/api/v1"
Declare = Callable[..., Any]
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]

#: A valid request for every endpoint under /incidents/{ref}: (method, suffix) -> body.
#: (A new endpoint there fails ``test_every_incident_endpoint_is_listed`` until it is added.)
INCIDENT_ENDPOINTS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", ""): None,
    ("PATCH", ""): {"title": "renamed"},
    ("GET", "/timeline"): None,
    ("GET", "/timeline.md"): None,
    ("POST", "/acknowledge"): None,
    ("POST", "/status"): {"status": "identified"},
    ("POST", "/resolve"): None,
    ("POST", "/close"): None,
    ("POST", "/reopen"): None,
    ("POST", "/severity"): {"severity": "SEV1"},
    ("POST", "/roles"): {"role": "sysadmin", "email": "outsider@example.org"},
    ("POST", "/roles/relieve"): {"role": "incident-commander"},
    ("POST", "/participants"): {"email": "outsider@example.org"},
    ("POST", "/notes"): {"text": "hello?"},
    ("POST", "/updates"): {"text": "Still investigating"},
    ("POST", "/mitigations"): {"action": "Roll back to v1.2.3", "risk": "Low"},
    ("POST", "/mitigations/{event_id}/approve"): None,
    ("GET", "/escalation"): None,
    ("POST", "/checklists/{item_id}"): {"checked": True},
    ("GET", "/comms/preview"): None,
    ("POST", "/comms/preview"): {"template": "incident-update"},
    ("POST", "/comms"): {"template": "incident-update"},
    ("POST", "/postmortem"): None,
    ("GET", "/postmortem"): None,
    ("PATCH", "/postmortem"): {"sections": {}},
    ("GET", "/postmortem.md"): None,
    ("POST", "/postmortem/import"): {"markdown": "# Post-Mortem"},
    ("POST", "/postmortem/status"): {"status": "draft"},
    ("POST", "/postmortem/approve"): None,
    ("PUT", "/postmortem/meeting"): {"at": None},
    ("PUT", "/root-cause"): {"root_cause": None},
    ("PUT", "/timeline/{event_id}/pin"): None,
    ("DELETE", "/timeline/{event_id}/pin"): None,
    ("POST", "/action-items"): {"title": "Rotate keys", "owner": "tech.lead"},
    ("PATCH", "/action-items/{number}"): {"status": "done"},
}


def _path(suffix: str, item: int) -> str:
    """An endpoint's suffix with its path parameters filled in."""
    return (
        suffix.replace("{item_id}", str(item)).replace("{event_id}", "1").replace("{number}", "1")
    )


def test_every_incident_endpoint_is_listed() -> None:
    spec = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()
    prefix = f"{API}/incidents/{{ref}}"
    found = {
        (method.upper(), path.removeprefix(prefix))
        for path, item in spec["paths"].items()
        if path.startswith(prefix)
        for method in item
    }
    assert found == set(INCIDENT_ENDPOINTS)


async def refs(http: httpx.AsyncClient, **params: Any) -> tuple[set[str], int]:
    response = await http.get(f"{API}/incidents", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return {i["id"] for i in body["incidents"]}, body["total"]


@pytest.fixture
async def people(client_for: ClientFor) -> dict[str, httpx.AsyncClient]:
    return {
        "declarer": await client_for("declarer@example.org"),
        "outsider": await client_for("outsider@example.org"),
        # Every incident permission, but neither an admin nor a participant.
        "sysadmin": await client_for("ops@example.org", roles=("sysadmin",)),
        "commander": await client_for("commander@example.org"),
        "invited": await client_for("invited@example.org"),
    }


async def test_restricted_incident_is_hidden_from_outsiders(
    client: httpx.AsyncClient,
    people: dict[str, httpx.AsyncClient],
    declare: Declare,
    error: ErrorOf,
) -> None:
    public = await declare("Checkout slow", severity="SEV3")
    secret = await declare(
        "Leaked API keys on pastebin", severity="SEV1", type="security", by=people["declarer"]
    )
    ref = secret["id"]
    assert secret["restricted"] is True
    assert secret["declared_by"] == "declarer@example.org"

    for name in ("outsider", "sysadmin", "commander", "invited"):
        http = people[name]
        for suffix in ("", "/timeline", "/timeline.md"):
            err = error(await http.get(f"{API}/incidents/{ref}{suffix}"), 404, "not_found")
            assert err["details"] == {"incident": ref}
        assert await refs(http) == ({public["id"]}, 1)
        assert await refs(http, q="pastebin") == (set(), 0)
        assert await refs(http, q=ref) == (set(), 0)
        assert await refs(http, type="security") == (set(), 0)
        assert await refs(http, severity="SEV1") == (set(), 0)

    # The declarer and admins see it, in lists and counts too.
    for http in (people["declarer"], client):
        shown = await http.get(f"{API}/incidents/{ref}")
        assert shown.status_code == 200, shown.text
        assert shown.json()["title"] == "Leaked API keys on pastebin"
        assert (await http.get(f"{API}/incidents/{ref}/timeline")).status_code == 200
        assert (await http.get(f"{API}/incidents/{ref}/timeline.md")).status_code == 200
        assert await refs(http) == ({public["id"], ref}, 2)
        assert await refs(http, q="pastebin") == ({ref}, 1)

    # An unknown incident and a hidden one answer alike (the message names what was asked).
    hidden = await people["outsider"].get(f"{API}/incidents/{ref}")
    missing = await people["outsider"].get(f"{API}/incidents/INC-2026-01-15-099")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace(ref, "?") == missing.json()["error"][
        "message"
    ].replace("INC-2026-01-15-099", "?")


async def test_outsider_cannot_write_to_a_restricted_incident(
    client: httpx.AsyncClient,
    people: dict[str, httpx.AsyncClient],
    declare: Declare,
    error: ErrorOf,
) -> None:
    secret = await declare("Credential stuffing", severity="SEV1", type="security")
    ref = secret["id"]
    item = secret["checklists"][0]["id"]
    before = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    for http in (people["outsider"], people["sysadmin"]):
        for (method, suffix), body in INCIDENT_ENDPOINTS.items():
            url = f"{API}/incidents/{ref}{_path(suffix, item)}"
            response = await http.request(method, url, json=body)
            err = error(response, 404, "not_found")
            assert err["details"] == {"incident": ref}, (method, suffix)
    after = await client.get(f"{API}/incidents/{ref}")
    assert after.json()["status"] == "investigating"
    assert after.json()["acknowledged_at"] is None
    assert (await client.get(f"{API}/incidents/{ref}/timeline")).json() == before


async def test_participants_see_it(
    client: httpx.AsyncClient,
    people: dict[str, httpx.AsyncClient],
    declare: Declare,
    error: ErrorOf,
) -> None:
    secret = await declare(
        "Customer PII exposed", severity="SEV1", type="data-privacy", by=people["declarer"]
    )
    ref = secret["id"]
    assert secret["restricted"] is True

    # Assigned a role: a participant, and the role's permissions apply.
    assigned = await client.post(
        f"{API}/incidents/{ref}/roles",
        json={"role": "incident-commander", "email": "commander@example.org"},
    )
    assert assigned.status_code == 200, assigned.text
    commander = people["commander"]
    assert (await commander.get(f"{API}/incidents/{ref}")).status_code == 200
    assert await refs(commander) == ({ref}, 1)
    acked = await commander.post(f"{API}/incidents/{ref}/acknowledge")
    assert acked.status_code == 200, acked.text

    # Added as a participant (by the commander, who may assign roles on this incident).
    invited = people["invited"]
    error(await invited.get(f"{API}/incidents/{ref}/timeline"), 404, "not_found")
    added = await commander.post(
        f"{API}/incidents/{ref}/participants", json={"email": "invited@example.org"}
    )
    assert added.status_code == 200, added.text
    assert (await invited.get(f"{API}/incidents/{ref}/timeline")).status_code == 200
    assert await refs(invited, q="pii") == ({ref}, 1)
    note = await invited.post(f"{API}/incidents/{ref}/notes", json={"text": "I can help"})
    assert note.status_code == 201, note.text
    # A participant still needs the permission for what they do.
    err = error(await invited.post(f"{API}/incidents/{ref}/resolve"), 403, "permission_denied")
    assert err["details"]["permission"] == "update-status"

    # Relieving the role does not take the visibility away (they were on the incident).
    relieved = await client.post(
        f"{API}/incidents/{ref}/roles/relieve", json={"role": "incident-commander"}
    )
    assert relieved.status_code == 200
    assert (await commander.get(f"{API}/incidents/{ref}")).status_code == 200

    # Everyone else still sees nothing.
    outsider = people["outsider"]
    error(await outsider.get(f"{API}/incidents/{ref}"), 404, "not_found")
    assert await refs(outsider) == (set(), 0)


async def test_retyping_to_a_restricted_type_hides_it(
    client: httpx.AsyncClient,
    people: dict[str, httpx.AsyncClient],
    declare: Declare,
    error: ErrorOf,
) -> None:
    incident = await declare("Odd logins", severity="SEV2", type="outage")
    ref = incident["id"]
    outsider = people["outsider"]
    assert (await outsider.get(f"{API}/incidents/{ref}")).status_code == 200
    retyped = await client.patch(f"{API}/incidents/{ref}", json={"type": "security"})
    assert retyped.status_code == 200, retyped.text
    assert retyped.json()["restricted"] is True
    error(await outsider.get(f"{API}/incidents/{ref}"), 404, "not_found")
    assert await refs(outsider) == (set(), 0)
    back = await client.patch(f"{API}/incidents/{ref}", json={"type": None})
    assert back.json()["restricted"] is False and back.json()["type"] is None
    assert (await outsider.get(f"{API}/incidents/{ref}")).status_code == 200
