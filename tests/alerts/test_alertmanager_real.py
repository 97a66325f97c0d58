"""A real Prometheus Alertmanager sends its webhook to a real Tocsin server.

Alertmanager runs on loopback (free ports, a temporary storage folder, clustering off,
short group timings) with one ``webhook_configs`` receiver pointed at Tocsin's
``/webhooks/alertmanager``, the key in ``http_config.authorization``. An alert posted to
Alertmanager's own API (``POST /api/v2/alerts``) opens an alert and an incident in Tocsin;
the same alert posted again with ``endsAt`` in the past (resolved) resolves it.

Alertmanager comes from the Debian package ``prometheus-alertmanager`` (``make setup``
installs it when it can). Without it the test is skipped with a warning, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.alerts.live import alert_rows, eventually, free_port, prepare, running, serve

from tocsin.alerts.adapters.alertmanager import fingerprint
from tocsin.alerts.models import Alert

#: Debian's name for it, then upstream's.
BINARIES = ("prometheus-alertmanager", "alertmanager")
LABELS = {"alertname": "CheckoutDown", "severity": "critical", "instance": "web-01:9100"}
CONFIG = """
global:
  resolve_timeout: 30s
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 100ms
  group_interval: 300ms
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            credentials: {key}
"""


def _binary() -> str:
    found = next((path for name in BINARIES if (path := shutil.which(name))), None)
    if found is not None:
        return found
    why = "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs a real Alertmanager: {why}", pytrace=False)
    warnings.warn(f"{why}: the real Alertmanager test is skipped", stacklevel=1)
    pytest.skip(why)


@pytest.fixture
def alertmanager(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(Alertmanager's URL, the database URL), with Tocsin serving on that database."""
    binary = _binary()
    key = asyncio.run(prepare(db_url, "Alertmanager", type_="alertmanager"))
    with serve(db_url, tmp_path) as tocsin:
        config = tmp_path / "alertmanager.yml"
        config.write_text(CONFIG.format(url=f"{tocsin}/webhooks/alertmanager", key=key))
        port = free_port()
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'alertmanager'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        ready = f"http://127.0.0.1:{port}/-/ready"
        with running(command, tmp_path / "alertmanager.log", ready, what="Alertmanager"):
            yield f"http://127.0.0.1:{port}", db_url


def _post(base: str, ends_at: datetime) -> None:
    """Post the alert to Alertmanager, as Prometheus does."""
    alert: dict[str, Any] = {
        "labels": LABELS,
        "annotations": {"summary": "Checkout is down", "runbook_url": "https://runbooks/x"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": "http://prometheus.example.org:9090/graph",
    }
    response = httpx.post(f"{base}/api/v2/alerts", json=[alert])
    assert response.status_code == 200, response.text


def _alert_in(url: str, status: str) -> Alert | None:
    rows = asyncio.run(alert_rows(url))
    return rows[0] if rows and rows[0].status == status and rows[0].incident_id else None


def test_a_real_alertmanager_opens_and_resolves_an_alert(alertmanager: tuple[str, str]) -> None:
    base, url = alertmanager
    started = time.monotonic()
    # Firing: endsAt ahead (Prometheus sends it a few evaluation intervals ahead).
    _post(base, datetime.now(UTC) + timedelta(hours=1))
    opened = eventually(lambda: _alert_in(url, "triggered"), "the alert to open an incident")
    assert opened.dedup_key == fingerprint(LABELS)  # Alertmanager's fingerprint, kept
    assert (opened.summary, opened.severity, opened.source) == (
        "Checkout is down",
        "critical",
        "web-01:9100",
    )
    assert opened.class_ == "CheckoutDown" and opened.count == 1

    # Resolved: the same alert with endsAt in the past.
    _post(base, datetime.now(UTC) - timedelta(seconds=1))
    done = eventually(lambda: _alert_in(url, "resolved"), "the alert to be resolved")
    assert (done.id, done.count, done.incident_id) == (opened.id, 1, opened.incident_id)
    assert len(asyncio.run(alert_rows(url))) == 1
    assert time.monotonic() - started < 15
