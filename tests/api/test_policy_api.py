"""Policy versions over HTTP: check, apply, read; a running incident keeps the SLA targets
of the version it was declared under."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tocsin.context import Context

API = "/api/v1"
START = datetime.fromisoformat("2026-01-15T09:00:00+00:00")
SEED_004 = Path(__file__).resolve().parents[2] / "examples/policies/seed-004-incident-response.yaml"
SEED = SEED_004.read_text(encoding="utf-8")
SEV1_ACK = "acknowledge: {within: 5m, from: detected}"
SEV1_MITIGATE = "mitigate: {within: 30m, from: acknowledged}"
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]
Declare = Callable[..., Any]


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the first occurrence of ``fragment``."""
    index = text.index(fragment)
    return text.count("\n", 0, index) + 1


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def due(incident: dict[str, Any], target: str) -> datetime | None:
    return when(next(t for t in incident["sla"] if t["target"] == target)["due_at"])


def broken_seed() -> str:
    """Seed 004 with a bad duration and a misspelt key, each on a known line."""
    assert SEED.count(SEV1_ACK) == 1
    text = SEED.replace(SEV1_ACK, "acknowledge: {within: soon, from: detected}")
    return text.replace("    update_every: 4h", "    update_evry: 4h", 1)


async def versions(client: httpx.AsyncClient) -> list[int]:
    response = await client.get(f"{API}/policy/versions")
    assert response.status_code == 200, response.text
    return [v["version"] for v in response.json()]


async def test_read_the_current_policy(client: httpx.AsyncClient, error: ErrorOf) -> None:
    current = await client.get(f"{API}/policy")
    assert current.status_code == 200
    body = current.json()
    assert body["version"] == 1
    assert body["content"] == SEED
    assert body["source"] == SEED_004.name
    assert body["applied_by"] == "system"
    assert len(body["checksum"]) == 64
    assert await versions(client) == [1]
    one = await client.get(f"{API}/policy/versions/1")
    assert one.status_code == 200 and one.json() == body
    err = error(await client.get(f"{API}/policy/versions/2"), 404, "not_found")
    assert err["details"] == {"version": 2}
    for bad in ("0", "-1", "two", str(2**31)):
        error(await client.get(f"{API}/policy/versions/{bad}"), 422, "invalid_input")


async def test_check_a_good_policy(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/policy/check", json={"content": SEED})
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True, "problems": []}


async def test_check_a_broken_policy(client: httpx.AsyncClient) -> None:
    text = broken_seed()
    response = await client.post(f"{API}/policy/check", json={"content": text, "source": "b.yaml"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False
    problems = {p["path"]: p for p in body["problems"]}
    duration = problems["severities[0].sla.acknowledge.within"]
    assert duration["line"] == line_of(text, "within: soon")
    assert duration["file"] == "b.yaml"
    assert "soon" in duration["message"] and "duration" in duration["message"]
    typo = problems["severities[1].update_evry"]
    assert typo["line"] == line_of(text, "update_evry")
    assert "unknown key" in typo["message"]
    assert await versions(client) == [1]


async def test_check_yaml_errors(client: httpx.AsyncClient) -> None:
    cases = {
        "tocsin: 1\nseverities: [\n": 3,  # unclosed flow sequence: found at the end
        "tocsin: 1\norganization:\n  name: \x01Odd\n": 3,  # a control character YAML forbids
        "tocsin: 1\nseverities: []\nseverities: []\n": 3,  # a duplicate key
        "- just\n- a list\n": 1,
    }
    for content, line in cases.items():
        response = await client.post(f"{API}/policy/check", json={"content": content})
        assert response.status_code == 200, (content, response.text)
        body = response.json()
        assert body["valid"] is False, content
        assert line in [p["line"] for p in body["problems"]], (content, body)
        assert all(p["message"] for p in body["problems"])


async def test_apply_a_broken_policy(client: httpx.AsyncClient, error: ErrorOf) -> None:
    text = broken_seed()
    response = await client.post(f"{API}/policy", json={"content": text, "source": "b.yaml"})
    err = error(response, 422, "policy_invalid")
    assert "b.yaml" in err["message"]
    assert isinstance(err["details"], list) and len(err["details"]) >= 2
    for problem in err["details"]:
        assert set(problem) == {"file", "line", "path", "message"}
        assert problem["file"] == "b.yaml" and isinstance(problem["line"], int)
    lines = {p["path"]: p["line"] for p in err["details"]}
    assert lines["severities[0].sla.acknowledge.within"] == line_of(text, "within: soon")
    # Nothing was stored.
    assert await versions(client) == [1]
    assert (await client.get(f"{API}/policy")).json()["content"] == SEED


async def test_apply_identical_content(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/policy", json={"content": SEED, "source": "again.yaml"})
    assert response.status_code == 200, response.text
    assert response.json()["created"] is False
    assert response.json()["version"]["version"] == 1
    assert response.json()["version"]["source"] == SEED_004.name
    assert await versions(client) == [1]


async def test_new_version_leaves_running_incidents_alone(
    client: httpx.AsyncClient, seeded: Context, client_for: ClientFor
) -> None:
    old = await client.post(f"{API}/incidents", json={"title": "Site down", "severity": "SEV1"})
    assert old.status_code == 201
    old_ref = old.json()["id"]
    assert old.json()["policy_version"] == 1
    assert due(old.json(), "acknowledge") == START + timedelta(minutes=5)

    # v2: slower SEV1 targets, and the communications coordinator may acknowledge.
    assert SEED.count(SEV1_MITIGATE) == 1
    v2 = SEED.replace(SEV1_ACK, "acknowledge: {within: 20m, from: detected}").replace(
        SEV1_MITIGATE, "mitigate: {within: 45m, from: acknowledged}"
    )
    v2 = v2.replace(
        "      - update-status-page\n      - send-subscriber-email\n",
        "      - update-status-page\n      - send-subscriber-email\n      - acknowledge\n",
        1,
    )
    assert v2.count("acknowledge: {within: 20m") == 1 and v2 != SEED
    seeded.clock.advance(minutes=1)
    applied = await client.post(f"{API}/policy", json={"content": v2, "source": "v2.yaml"})
    assert applied.status_code == 200, applied.text
    assert applied.json()["created"] is True
    assert applied.json()["version"]["version"] == 2
    assert applied.json()["version"]["applied_by"] == "admin@example.com"
    assert await versions(client) == [1, 2]
    assert (await client.get(f"{API}/policy")).json()["version"] == 2

    # The running incident keeps v1 and v1's due times...
    kept = (await client.get(f"{API}/incidents/{old_ref}")).json()
    assert kept["policy_version"] == 1
    assert due(kept, "acknowledge") == START + timedelta(minutes=5)
    # ...a new one gets v2's.
    new = await client.post(f"{API}/incidents", json={"title": "Login down", "severity": "SEV1"})
    assert new.status_code == 201
    new_ref = new.json()["id"]
    assert new.json()["policy_version"] == 2
    assert due(new.json(), "acknowledge") == START + timedelta(minutes=21)

    # Permissions come from the current policy (v2 lets the coordinator acknowledge), while
    # the targets reached from here on still follow each incident's own version.
    coordinator = await client_for("coordinator@example.org", roles=("communications-coordinator",))
    seeded.clock.advance(minutes=9)
    for ref, mitigate_within in ((old_ref, 30), (new_ref, 45)):
        acked = await coordinator.post(f"{API}/incidents/{ref}/acknowledge")
        assert acked.status_code == 200, acked.text
        body = acked.json()
        assert when(body["acknowledged_at"]) == START + timedelta(minutes=10)
        assert due(body, "mitigate") == START + timedelta(minutes=10 + mitigate_within)
    assert due((await client.get(f"{API}/incidents/{old_ref}")).json(), "acknowledge") == (
        START + timedelta(minutes=5)
    )

    # Re-applying v1's text makes a new version (3), not a return to 1.
    again = await client.post(f"{API}/policy", json={"content": SEED})
    assert again.json()["created"] is True and again.json()["version"]["version"] == 3


async def test_policy_input_errors(client: httpx.AsyncClient, error: ErrorOf) -> None:
    for path in ("/policy", "/policy/check"):
        err = error(await client.post(API + path, json={"content": ""}), 422, "invalid_input")
        assert [d["location"] for d in err["details"]] == ["body.content"]
        err = error(await client.post(API + path, json={"content": 7}), 422, "invalid_input")
        assert [d["location"] for d in err["details"]] == ["body.content"]
        err = error(await client.post(API + path, json={"text": SEED}), 422, "invalid_input")
        assert {d["location"] for d in err["details"]} == {"body.content", "body.text"}
        # NUL cannot be stored by PostgreSQL: refused at the door on both databases.
        err = error(await client.post(API + path, json={"content": "a\x00"}), 422)
        assert err["details"][0]["type"] == "nul_character"
    assert await versions(client) == [1]
