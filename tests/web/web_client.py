"""The console over HTTP (httpx's ASGI transport, cookies kept like a browser's), people
with passwords, and the CSRF token read from a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from tests.apps import app_for

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def person(
    ctx: Context, email: str, *, roles: tuple[str, ...] = (), admin: bool = False
) -> None:
    """Someone who can sign in with :data:`PASSWORD` (a person of the policy keeps the
    policy's roles)."""
    async with ctx.db.write() as session:
        if await auth.user_by_email(session, email) is not None:
            await auth.set_password(session, SYSTEM, email, PASSWORD, clock=ctx.clock)
            return
        await auth.create_user(
            session, SYSTEM, email, clock=ctx.clock, roles=roles, is_admin=admin, password=PASSWORD
        )


@asynccontextmanager
async def browser(ctx: Context, public_url: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    settings = ctx.settings
    if public_url:
        settings = settings.model_copy(update={"public_url": public_url})
    app = app_for(settings, clock=ctx.clock, database=ctx.db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=public_url or "http://test") as http:
        yield http


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await http.get("/login")
    return await http.post(
        "/login", data={"csrf": csrf_of(form.text), "email": email, "password": password}
    )


async def signed_in(http: httpx.AsyncClient, email: str) -> str:
    """Sign in and return the session's CSRF token."""
    answer = await sign_in(http, email)
    assert answer.status_code == 303, answer.text
    page = await http.get("/incidents")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
