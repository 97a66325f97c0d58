"""People and API tokens over HTTP: adding users, and a token's life (shown once, used,
listed without its secret, revoked)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from tocsin.context import Context

API = "/api/v1"
START = datetime.fromisoformat("2026-01-15T09:00:00+00:00")
ErrorOf = Callable[..., dict[str, Any]]
ClientFor = Callable[..., Any]
HttpFor = Callable[[str | None], httpx.AsyncClient]


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def test_me(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/me")
    assert response.status_code == 200
    assert response.json() == {
        "email": "admin@example.com",
        "name": "admin",
        "is_admin": True,
        "roles": [],
        "active": True,
    }


async def test_add_user(client: httpx.AsyncClient, error: ErrorOf) -> None:
    body = {
        "email": "  New.Person@Example.ORG ",
        "name": "New Person",
        "roles": ["on-call-engineer", "sysadmin", "on-call-engineer"],
        "password": "correct horse",
    }
    response = await client.post(f"{API}/users", json=body)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "email": "new.person@example.org",
        "name": "New Person",
        "is_admin": False,
        "roles": ["on-call-engineer", "sysadmin"],
        "active": True,
    }
    listed = (await client.get(f"{API}/users")).json()
    assert "new.person@example.org" in [u["email"] for u in listed]
    assert all("password" not in str(u) for u in listed)

    err = error(
        await client.post(f"{API}/users", json={"email": "NEW.person@example.org"}),
        409,
        "conflict",
    )
    assert err["details"] == {"email": "new.person@example.org"}
    err = error(
        await client.post(f"{API}/users", json={"email": "x@y.z", "roles": ["overlord"]}),
        422,
        "invalid_input",
    )
    assert err["details"] == {"field": "roles", "unknown": ["overlord"]}
    assert "incident-commander" in err["message"]
    for bad in ("nobody", "@example.org", "someone@"):
        err = error(await client.post(f"{API}/users", json={"email": bad}), 422, "invalid_input")
        assert err["details"] == {"field": "email"}
    err = error(
        await client.post(f"{API}/users", json={"email": "a@b.c", "password": "short"}),
        422,
        "invalid_input",
    )
    assert [d["location"] for d in err["details"]] == ["body.password"]


async def test_token_secret_is_shown_once(
    client: httpx.AsyncClient, http_for: HttpFor, seeded: Context
) -> None:
    assert (await client.post(f"{API}/users", json={"email": "bot@example.org"})).status_code == 201
    created = await client.post(f"{API}/tokens", json={"email": "bot@example.org", "name": "ci"})
    assert created.status_code == 201, created.text
    token = created.json()
    secret = token["token"]
    assert len(secret) >= 20
    assert token["user"] == "bot@example.org"
    assert token["name"] == "ci"
    assert token["prefix"] == secret[:10]
    assert when(token["created_at"]) == START
    assert token["last_used_at"] is None and token["revoked_at"] is None

    listed = await client.get(f"{API}/tokens")
    assert listed.status_code == 200
    assert secret not in listed.text
    assert all("token" not in row for row in listed.json())
    mine = [row for row in listed.json() if row["id"] == token["id"]]
    assert mine == [{k: v for k, v in token.items() if k != "token"}]

    # The secret works, and its use is recorded.
    seeded.clock.advance(minutes=5)
    bot = http_for(secret)
    me = await bot.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["email"] == "bot@example.org"
    used = await bot.get(f"{API}/tokens")
    assert [row["id"] for row in used.json()] == [token["id"]]  # only its own tokens
    assert when(used.json()[0]["last_used_at"]) == START + timedelta(minutes=5)
    # Recorded at most once a minute...
    seeded.clock.advance(seconds=30)
    await bot.get(f"{API}/me")
    row = (await bot.get(f"{API}/tokens")).json()[0]
    assert when(row["last_used_at"]) == START + timedelta(minutes=5)
    # ...then again.
    seeded.clock.advance(minutes=2)
    await bot.get(f"{API}/me")
    row = (await client.get(f"{API}/tokens")).json()
    bot_row = next(r for r in row if r["id"] == token["id"])
    assert when(bot_row["last_used_at"]) == START + timedelta(minutes=7, seconds=30)


async def test_revoked_token_is_refused(
    client: httpx.AsyncClient, http_for: HttpFor, seeded: Context, error: ErrorOf
) -> None:
    created = (await client.post(f"{API}/tokens", json={"name": "laptop"})).json()
    assert created["user"] == "admin@example.com"
    laptop = http_for(created["token"])
    assert (await laptop.get(f"{API}/incidents")).status_code == 200

    seeded.clock.advance(minutes=1)
    revoked = await client.delete(f"{API}/tokens/{created['id']}")
    assert revoked.status_code == 200, revoked.text
    assert when(revoked.json()["revoked_at"]) == START + timedelta(minutes=1)
    assert "token" not in revoked.json()
    for path in ("/me", "/incidents", "/tokens", "/audit"):
        err = error(await laptop.get(API + path), 401, "unauthenticated")
        assert "revoked" in err["message"]
    err = error(
        await laptop.post(f"{API}/incidents", json={"title": "x", "severity": "SEV4"}),
        401,
        "unauthenticated",
    )
    # Revoking again changes nothing; the list shows it revoked.
    seeded.clock.advance(minutes=1)
    again = await client.delete(f"{API}/tokens/{created['id']}")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    listed = {r["id"]: r for r in (await client.get(f"{API}/tokens")).json()}
    assert listed[created["id"]]["revoked_at"] == revoked.json()["revoked_at"]
    # The admin's own token still works.
    assert (await client.get(f"{API}/me")).status_code == 200


async def test_tokens_of_others(
    client: httpx.AsyncClient, client_for: ClientFor, http_for: HttpFor, error: ErrorOf
) -> None:
    alice = await client_for("alice@example.org", roles=("on-call-engineer",))
    await client_for("bob@example.org")
    own = await alice.post(f"{API}/tokens", json={"name": "second"})
    assert own.status_code == 201, own.text
    assert own.json()["user"] == "alice@example.org"
    err = error(
        await alice.post(f"{API}/tokens", json={"email": "bob@example.org"}),
        403,
        "permission_denied",
    )
    assert err["details"]["permission"] == "admin"
    bobs = await client.post(f"{API}/tokens", json={"email": "bob@example.org"})
    assert bobs.status_code == 201
    # Alice sees only her own tokens and cannot revoke Bob's (it is "not there" for her).
    assert {r["user"] for r in (await alice.get(f"{API}/tokens")).json()} == {"alice@example.org"}
    err = error(await alice.delete(f"{API}/tokens/{bobs.json()['id']}"), 404, "not_found")
    assert err["details"] == {"token_id": bobs.json()["id"]}
    bob = http_for(bobs.json()["token"])
    assert (await bob.get(f"{API}/me")).json()["email"] == "bob@example.org"
    # She may revoke her own.
    assert (await alice.delete(f"{API}/tokens/{own.json()['id']}")).status_code == 200
    error(await client.post(f"{API}/tokens", json={"email": "ghost@example.org"}), 404)
    error(await client.delete(f"{API}/tokens/424242"), 404, "not_found")
