"""Shared fixtures for the HTTP API tests.

The root conftest's ``client`` acts as an admin. ``client_for`` adds a person (with the
given standing roles) and returns a client that acts as them, against the same app
database and virtual clock; ``anonymous`` sends no token. ``declare`` declares an incident
through the API and returns its JSON.

(The root conftest's ``add_user`` / ``token_for`` cannot be imported from here: both files
are modules named ``conftest``; the service calls they wrap are repeated below.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from tests.apps import app_for

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context

ClientFor = Callable[..., Awaitable[httpx.AsyncClient]]
Declare = Callable[..., Awaitable[dict[str, Any]]]
ErrorOf = Callable[..., dict[str, Any]]


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is an error in the one shape; return its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if code is not None:
        assert error["code"] == code, error
    return error


async def new_user(
    ctx: Context, email: str, *, roles: tuple[str, ...] = (), admin: bool = False
) -> str:
    """Create a user and return a fresh API token secret for them."""
    async with ctx.db.write() as session:
        await auth.create_user(session, SYSTEM, email, clock=ctx.clock, roles=roles, is_admin=admin)
        _, secret = await auth.create_token(session, SYSTEM, email, clock=ctx.clock)
    return secret


@pytest.fixture
async def http_for(seeded: Context) -> AsyncIterator[Callable[[str | None], httpx.AsyncClient]]:
    """Build clients for the seeded app, given a bearer token (or ``None`` for no header)."""
    app = app_for(seeded.settings, clock=seeded.clock, database=seeded.db)
    async with AsyncExitStack() as stack:

        def make(token: str | None) -> httpx.AsyncClient:
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
            )
            stack.push_async_callback(http.aclose)
            return http

        yield make


@pytest.fixture
async def client_for(
    seeded: Context, http_for: Callable[[str | None], httpx.AsyncClient]
) -> ClientFor:
    async def make(
        email: str, *, roles: tuple[str, ...] = (), admin: bool = False
    ) -> httpx.AsyncClient:
        return http_for(await new_user(seeded, email, roles=roles, admin=admin))

    return make


@pytest.fixture
def anonymous(http_for: Callable[[str | None], httpx.AsyncClient]) -> httpx.AsyncClient:
    return http_for(None)


@pytest.fixture
def error() -> ErrorOf:
    """``error(response, status, code=None)``: see :func:`error_of`."""
    return error_of


@pytest.fixture
def declare(client: httpx.AsyncClient) -> Declare:
    async def make(
        title: str = "Checkout is down",
        *,
        severity: str = "SEV2",
        by: httpx.AsyncClient | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        response = await (by or client).post(
            "/api/v1/incidents", json={"title": title, "severity": severity, **fields}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return make
