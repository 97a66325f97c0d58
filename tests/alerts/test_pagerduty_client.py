"""PagerDuty's own Python client (the ``pagerduty`` package's ``EventsApiV2Client``),
pointed at a real Tocsin server, triggers, acknowledges and resolves; Tocsin's alerts follow.

The server is uvicorn running ``tocsin.app:create_server_app`` (the API and its job worker,
what ``tocsin serve`` runs) on a free local port over TLS, because the client only talks
HTTPS: a throwaway self-signed certificate made with ``openssl`` for 127.0.0.1, which the
client is told to trust. Changing only the base URL is all a PagerDuty user has to do.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pagerduty
import pytest
from tests.alerts.live import prepare, serve, settled

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


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


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str, ssl.SSLContext, str]]:
    """(base URL, integration key, TLS context trusting the server, database URL)."""
    key = asyncio.run(prepare(db_url, "PagerDuty client"))
    cert, private = _certificate(tmp_path)
    with serve(db_url, tmp_path, tls=(cert, private)) as base:
        yield base, key, ssl.create_default_context(cafile=str(cert)), db_url


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
    assert settled(url) == [("checkout", "triggered", 2), (generated, "triggered", 1)]

    assert client.acknowledge("checkout") == "checkout"
    assert settled(url)[0] == ("checkout", "acknowledged", 2)

    assert client.resolve("checkout") == "checkout"
    client.resolve(generated)
    assert settled(url) == [("checkout", "resolved", 2), (generated, "resolved", 1)]

    # Once resolved, the same key opens a new alert; resolving an unknown key is dropped.
    client.trigger("Checkout is down again", "web-01", dedup_key="checkout")
    client.resolve("never-triggered")
    assert settled(url)[-1] == ("checkout", "triggered", 1)
    assert len(settled(url)) == 3


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
