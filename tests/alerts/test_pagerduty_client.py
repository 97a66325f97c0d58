"""PagerDuty's own Python client (the ``pagerduty`` package's ``EventsApiV2Client``),
pointed at a real Tocsin server, triggers, acknowledges and resolves; Tocsin's alerts follow.

The server is uvicorn running ``tocsin.app:create_server_app`` (the API and its job worker,
what ``tocsin serve`` runs) on a free local port over TLS, because the client only talks
HTTPS: a throwaway self-signed certificate made with ``openssl`` for 127.0.0.1, which the
client is told to trust. Changing only the base URL is all a PagerDuty user has to do.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pagerduty
import pytest
from sqlalchemy import select, text
from tests.alerts.conftest import apply_policy_text, make_integration

from tocsin.alerts.models import Alert, AlertEvent
from tocsin.clock import SystemClock
from tocsin.context import Context
from tocsin.db import Base, Database
from tocsin.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def _prepare(url: str) -> str:
    """An empty database with the test policy and one integration; returns its key."""
    db = Database(Settings(database_url=url))
    try:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            async with db.write_engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        ctx = Context(settings=db.settings, db=db, clock=SystemClock())
        await apply_policy_text(ctx)
        return await make_integration(ctx, "PagerDuty client")
    finally:
        await db.dispose()


async def _alerts(url: str) -> list[tuple[str, str, int]]:
    db = Database(Settings(database_url=url))
    try:
        async with db.read() as session:
            rows = (await session.scalars(select(Alert).order_by(Alert.id))).all()
            return [(a.dedup_key, a.status, a.count) for a in rows]
    finally:
        await db.dispose()


async def _pending(url: str) -> int:
    db = Database(Settings(database_url=url))
    try:
        async with db.read() as session:
            rows = await session.scalars(select(AlertEvent.id).where(AlertEvent.outcome.is_(None)))
            return len(rows.all())
    finally:
        await db.dispose()


def _settled(url: str, timeout: float = 30.0) -> list[tuple[str, str, int]]:
    """The alerts once the server's worker has processed every event."""
    deadline = time.monotonic() + timeout
    while asyncio.run(_pending(url)):
        if time.monotonic() > deadline:
            pytest.fail("the server's worker did not process the events")
        time.sleep(0.1)
    return asyncio.run(_alerts(url))


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, ssl.SSLContext, str]]:
    """(base URL, integration key, TLS context trusting the server, database URL)."""
    key = asyncio.run(_prepare(db_url))
    cert, private = _certificate(tmp_path)
    port = _free_port()
    base = f"https://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=db_url, TOCSIN_PUBLIC_URL=base)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "tocsin.app:create_server_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--timeout-graceful-shutdown", "5",
            "--ssl-certfile", str(cert), "--ssl-keyfile", str(private),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", verify=trust).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the server did not start:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.1)
        yield base, key, trust, db_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_the_pagerduty_client_triggers_acknowledges_and_resolves(
    server: tuple[str, str, ssl.SSLContext, str],
) -> None:
    base, key, trust, url = server
    client: Any = pagerduty.EventsApiV2Client(key, base_url=base, verify=trust)
    with client:
        _trigger_acknowledge_resolve(client, url)


def _trigger_acknowledge_resolve(client: Any, url: str) -> None:
    assert client.trigger("Checkout is down", "web-01", dedup_key="checkout") == "checkout"
    again = client.trigger(
        "Checkout is still down",
        "web-01",
        dedup_key="checkout",
        severity="error",
        custom_details={"error rate": "62%"},
        links=[{"href": "https://grafana.example.com/d/checkout", "text": "Dashboard"}],
    )
    assert again == "checkout"
    generated = client.trigger("Disk almost full", "db-01", severity="warning")
    assert len(generated) == 32 and generated != "checkout"
    assert _settled(url) == [("checkout", "triggered", 2), (generated, "triggered", 1)]

    assert client.acknowledge("checkout") == "checkout"
    assert _settled(url)[0] == ("checkout", "acknowledged", 2)

    assert client.resolve("checkout") == "checkout"
    client.resolve(generated)
    assert _settled(url) == [("checkout", "resolved", 2), (generated, "resolved", 1)]

    # Once resolved, the same key opens a new alert; resolving an unknown key is dropped.
    client.trigger("Checkout is down again", "web-01", dedup_key="checkout")
    client.resolve("never-triggered")
    assert _settled(url)[-1] == ("checkout", "triggered", 1)
    assert len(_settled(url)) == 3


def test_the_client_sees_pagerdutys_errors(server: tuple[str, str, ssl.SSLContext, str]) -> None:
    base, key, trust, _ = server
    client = pagerduty.EventsApiV2Client(key, base_url=base, verify=trust)
    with client, pytest.raises(pagerduty.Error) as bad:
        client.trigger("x" * 1025, "web-01")
    response = bad.value.response
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert "'payload.summary' is too long" in response.json()["errors"][0]
    stranger = pagerduty.EventsApiV2Client("0" * 32, base_url=base, verify=trust)
    with stranger, pytest.raises(pagerduty.Error) as unknown:
        stranger.trigger("Checkout is down", "web-01")
    assert unknown.value.response.json()["errors"] == ["Invalid routing key"]
