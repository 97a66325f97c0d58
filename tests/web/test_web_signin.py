"""Signing in to the console: argon2 passwords, the session cookie's flags, the sign-in
form's CSRF guard, and signing out revoking the session."""

from __future__ import annotations

from datetime import timedelta

import httpx
from tests.web.web_client import PASSWORD, browser, csrf_of, person, sign_in, signed_in

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import VirtualClock
from tocsin.context import Context
from tocsin.web.session import COOKIE, LIFETIME, SESSION_NAME


def _set_cookie(answer: httpx.Response, name: str) -> str:
    found = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, answer.headers
    return found[0]


async def test_pages_need_signing_in(seeded: Context) -> None:
    async with browser(seeded) as http:
        assert (await http.get("/")).headers["location"] == "/incidents"
        answer = await http.get("/incidents?status=resolved")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/incidents%3Fstatus%3Dresolved"
        assert (await http.get("/incidents/events")).status_code == 401


async def test_sign_in_sets_a_safe_session_cookie_and_sign_out_revokes_it(
    seeded: Context,
) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        answer = await sign_in(http, "ann@example.com")
        assert answer.status_code == 303 and answer.headers["location"] == "/incidents"
        flags = _set_cookie(answer, COOKIE).lower()
        assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
        page = await http.get("/incidents")
        assert page.status_code == 200 and "Signed in as ann" in page.text
        stolen = http.cookies[COOKIE]
        out = await http.post("/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    async with seeded.db.read() as session:
        tokens = await auth.list_tokens(session, SYSTEM, "ann@example.com")
    assert [(t.name, t.revoked_at is not None) for t, _ in tokens] == [(SESSION_NAME, True)]
    async with browser(seeded) as http:  # the old cookie, replayed, no longer works
        http.cookies.set(COOKIE, stolen)
        assert (await http.get("/incidents")).status_code == 303


async def test_secure_cookie_behind_https(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded, public_url="https://tocsin.example.com") as http:
        answer = await sign_in(http, "ann@example.com")
        assert "secure" in _set_cookie(answer, COOKIE).lower()


async def test_wrong_password_keeps_the_address_and_says_so(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        answer = await sign_in(http, "ann@example.com", "not the password")
        assert answer.status_code == 401
        assert 'value="ann@example.com"' in answer.text
        assert 'id="password-error"' in answer.text and "wrong e-mail or password" in answer.text
        assert COOKIE not in http.cookies


async def test_sign_in_form_without_its_token_is_refused(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        answer = await http.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
        assert answer.status_code == 403 and COOKIE not in http.cookies


async def test_forged_cookie_and_forged_sign_out(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    async with browser(seeded) as http:
        http.cookies.set(COOKIE, "bm90LWEtdG9rZW4.forged")
        assert (await http.get("/incidents")).status_code == 303
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        assert (await http.post("/logout", data={"csrf": "guessed"})).status_code == 403
        assert (await http.get("/incidents")).status_code == 200  # still signed in


async def test_the_persons_locale_and_zone(seeded: Context) -> None:
    await person(seeded, "nl@example.com")
    async with seeded.db.write() as session:
        user = await auth.get_user(session, "nl@example.com")
        user.locale, user.timezone = "nl", "Europe/Amsterdam"
    async with browser(seeded) as http:
        await signed_in(http, "nl@example.com")
        page = (await http.get("/incidents")).text
        assert '<html lang="nl">' in page and "Tijden in Europe/Amsterdam" in page


async def test_a_session_ends_after_its_lifetime(seeded: Context) -> None:
    await person(seeded, "ann@example.com")
    clock = seeded.clock
    assert isinstance(clock, VirtualClock)
    async with browser(seeded) as http:
        await signed_in(http, "ann@example.com")
        clock.advance(LIFETIME - timedelta(minutes=1))
        assert (await http.get("/incidents")).status_code == 200
        clock.advance(minutes=2)
        assert (await http.get("/incidents")).status_code == 303
