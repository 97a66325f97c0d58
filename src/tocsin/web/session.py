"""Signing in to the console: a session is an API token of the person (named
``web session``), so signing out revokes it and `tocsin token list` shows it.

The cookie carries the token signed with the installation's key (purpose
``web-session``); the per-session CSRF token is a MAC of the token (purpose ``csrf``),
so nothing more is stored. A session lasts :data:`LIFETIME` at most. The sign-in form
itself is guarded by a double-submit cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth import service as auth
from tocsin.auth import signing
from tocsin.auth.actor import Actor
from tocsin.auth.models import User
from tocsin.clock import Clock
from tocsin.errors import Forbidden, Unauthenticated

COOKIE = "tocsin_session"
LOGIN_COOKIE = "tocsin_login"
SESSION_NAME = "web session"
#: A session ends this long after signing in (a console left open overnight asks again).
LIFETIME = timedelta(hours=12)
_PURPOSE = "web-session"
_CSRF = "csrf"


@dataclass(frozen=True)
class WebSession:
    user: User
    actor: Actor
    token_id: int
    csrf: str


async def sign_in(
    session: AsyncSession, email: str, password: str, *, clock: Clock
) -> tuple[str, User]:
    """The session cookie's value for a right e-mail and password (401 otherwise)."""
    user = await auth.check_password(session, email, password)
    actor = auth.actor_for(user)
    _, secret = await auth.create_token(session, actor, user.email, clock=clock, name=SESSION_NAME)
    return await signing.sign(session, _PURPOSE, secret, clock=clock), user


async def _secret(session: AsyncSession, cookie: str | None) -> str | None:
    return None if not cookie else await signing.verify(session, _PURPOSE, cookie)


async def resume(session: AsyncSession, cookie: str | None, *, clock: Clock) -> WebSession | None:
    """The signed-in person behind a cookie; ``None`` when absent, forged, revoked or
    older than :data:`LIFETIME`."""
    secret = await _secret(session, cookie)
    if secret is None:
        return None
    try:
        user, token = await auth.authenticate_token(session, secret)
    except Unauthenticated:
        return None
    if clock.now() - token.created_at > LIFETIME:
        return None
    key = await signing.instance_key(session, clock=clock, create=False)
    assert key is not None  # the cookie verified, so the key exists
    return WebSession(user, auth.actor_for(user), token.id, signing.mac(key, _CSRF, secret))


async def sign_out(session: AsyncSession, web: WebSession, *, clock: Clock) -> None:
    await auth.revoke_token(session, web.actor, web.token_id, clock=clock)


def check_csrf(web: WebSession | None, given: str | None) -> WebSession:
    """The session, if the form carried its CSRF token; a 403 otherwise."""
    if web is None:
        raise Forbidden("sign in first", code="not_signed_in")
    if not given or not hmac.compare_digest(web.csrf.encode(), given.encode("utf-8", "replace")):
        raise Forbidden(
            "the form's security token is missing or wrong; reload the page", code="csrf"
        )
    return web


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_token_ok(cookie: str | None, given: str | None) -> bool:
    return bool(cookie and given) and hmac.compare_digest(
        str(cookie).encode(), str(given).encode("utf-8", "replace")
    )
