"""How the CLI reaches Tocsin: the API of a remote server, or the same API in-process.

In-process, the request runs through the real routes and services against the database
named by ``TOCSIN_DATABASE_URL``, acting as ``--as EMAIL`` (or ``TOCSIN_USER``), else as
the built-in ``system`` actor. So every door behaves the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from tocsin.app import create_app
from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM, Actor
from tocsin.auth.deps import get_actor
from tocsin.db import Database
from tocsin.errors import TocsinError
from tocsin.settings import Settings


class CliError(Exception):
    """An error answer, already phrased for a person."""

    def __init__(self, message: str, body: Any = None, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.status = status


@dataclass
class Target:
    server: str | None = None
    token: str | None = None
    as_user: str | None = None


def _raise_for(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(body)
        raise CliError(f"{message} (HTTP {response.status_code})", body, response.status_code)
    return body


def request(
    target: Target,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Any = None,
    text: bool = False,
) -> Any:
    """Send one API request; returns the decoded JSON (or text), raises :class:`CliError`."""
    if target.server:
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        base = target.server.rstrip("/") + "/api/v1"
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                response = client.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {target.server}: {exc}") from exc
        return response.text if text and response.status_code < 400 else _raise_for(response)
    return asyncio.run(_local(target, method, path, json=json, params=params, text=text))


async def _local(
    target: Target, method: str, path: str, *, json: Any, params: Any, text: bool
) -> Any:
    settings = Settings()
    db = Database(settings)
    try:
        app = create_app(settings, database=db)

        async def acting() -> Actor:
            if not target.as_user:
                return SYSTEM
            async with db.read() as session:
                user = await auth.user_by_email(session, target.as_user)
            if user is None:
                raise TocsinError(
                    f"--as {target.as_user}: no such user", code="unknown_user", status=401
                )
            return auth.actor_for(user)

        app.dependency_overrides[get_actor] = acting
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tocsin/api/v1"
        ) as client:
            response = await client.request(method, path, json=json, params=params)
        return response.text if text and response.status_code < 400 else _raise_for(response)
    finally:
        await db.dispose()
