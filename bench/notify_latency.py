"""Alert-to-page latency: incidents declared through the API, messages out. PostgreSQL only.

Incidents are declared through ``POST /api/v1/incidents`` (a real ``tocsin serve
--no-worker`` process) at ``--rate`` per second for ``--seconds``; a comms route sends
each one's ``incident-declared`` message to an e-mail channel (a local aiosmtpd server)
and a webhook channel (a local HTTP receiver), delivered by ``tocsin worker`` processes.
Measured per incident: from the API's answer to the e-mail's arrival and to the webhook's
arrival. Printed: p50 / p99 / max of each, lost and duplicated messages.

Baseline, same run, same receivers: one direct SMTP send and one direct HTTP POST at a
time (what the wire alone costs), so the ratios show what Tocsin's outbox adds.

    .venv/bin/python bench/notify_latency.py [--rate 50] [--seconds 60] [--postgres URL]
                                             [--api-processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import threading
import time
from collections import Counter
from email import message_from_bytes
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.controller import Controller
from harness import (
    backends,
    children,
    cpu_seconds,
    figures,
    free_port,
    fresh_database,
    tocsin,
    used,
    wait_ready,
)
from wire import Pool, receiver, request_bytes

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.migrate import upgrade
from tocsin.policy import service as policies
from tocsin.settings import Settings

#: One worker process with four loops: on two cores, one process batches more deliveries
#: per round trip than two (and leaves more of the cores to the API).
WORKERS = 1
CONCURRENCY = 4
POLICY = """
tocsin: 1
organization: {{name: Bench, timezone: Europe/Amsterdam}}
severities:
  - {{key: SEV2, name: Major}}
people:
  - {{key: oncall, email: oncall@example.com, name: On call}}
channels:
  - {{key: mail, type: email, host: 127.0.0.1, port: {smtp}, tls: none, from: tocsin@example.com}}
  - {{key: hook, type: webhook, url: "http://127.0.0.1:{http}/hook"}}
comms:
  routes:
    - key: declared
      on: declared
      template: incident-declared
      channels: [mail, hook]
      to: [oncall@example.com]
"""


class Arrivals:
    """When each incident's message arrived, per receiver (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mail: dict[str, list[float]] = {}
        self.hook: dict[str, list[float]] = {}

    def add(self, where: dict[str, list[float]], ref: str) -> None:
        now = time.time()
        with self.lock:
            where.setdefault(ref, []).append(now)


class MailHandler:
    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.arrivals.add(self.arrivals.mail, str(message.get("X-Tocsin-Incident", "")))
        return "250 OK"


async def _webhook(arrivals: Arrivals) -> asyncio.Server:
    def arrived(body: bytes) -> None:
        arrivals.add(arrivals.hook, str(json.loads(body).get("incident") or ""))

    return await receiver(arrived)


async def _prepare(url: str, policy: str) -> str:
    await fresh_database(url)
    db = Database(Settings(database_url=url))
    clock = SystemClock()
    try:
        await upgrade(db.write_engine)
        async with db.write() as session:
            await policies.apply(session, SYSTEM, policy, clock=clock)
            await auth.create_user(session, SYSTEM, "bench@example.com", clock=clock, is_admin=True)
            _, token = await auth.create_token(session, SYSTEM, "bench@example.com", clock=clock)
    finally:
        await db.dispose()
    return token


class Load:
    """What the load generator saw: when each declaration was answered (by ref), how long
    the API took to answer, and how many were refused as ``503 busy`` (nothing stored)."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}
        self.waited: list[float] = []
        self.busy = 0


async def _load(port: int, token: str, rate: float, seconds: float) -> Load:
    """Declare at ``rate`` per second (open loop). An overloaded API answers ``503 busy``
    once a request has waited the whole pool timeout: counted, and the run goes on."""
    load = Load()
    pool = Pool("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def declare(n: int) -> None:
        body = json.dumps({"title": f"bench {n}", "severity": "SEV2"}).encode()
        raw = request_bytes("POST", "/api/v1/incidents", f"127.0.0.1:{port}", body, headers)
        asked = time.perf_counter()
        status, answer = await pool.send(raw)
        load.waited.append(time.perf_counter() - asked)
        if status == 503:
            load.busy += 1
            return
        if status != 201:
            raise SystemExit(f"declaring answered {status}: {answer[:300]!r}")
        load.answered[json.loads(answer)["id"]] = time.time()

    start = time.perf_counter()
    tasks = []
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(declare(n)))
    await asyncio.gather(*tasks)
    await pool.close()
    return load


async def _baseline(smtp_port: int, http_port: int, n: int) -> tuple[list[float], list[float]]:
    mail, hook = [], []
    async with httpx.AsyncClient() as client:
        for i in range(n):
            start = time.perf_counter()
            await aiosmtplib.send(
                f"Subject: baseline {i}\r\n\r\nbaseline\r\n",
                sender="tocsin@example.com",
                recipients=["oncall@example.com"],
                hostname="127.0.0.1",
                port=smtp_port,
            )
            mail.append(time.perf_counter() - start)
            start = time.perf_counter()
            await client.post(f"http://127.0.0.1:{http_port}/hook", json={"incident": ""})
            hook.append(time.perf_counter() - start)
    return mail, hook


def _row(name: str, samples: list[float], base: list[float] | None = None) -> str:
    p50, p99, worst = figures(samples)
    text = (
        f"{name:<34} p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms  max {worst * 1000:8.1f} ms"
    )
    if base:
        text += f"   p99 x{p99 / figures(base)[1]:.0f} baseline"
    return text


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--api-processes", type=int, default=1, help="the API's processes (serve --workers)"
    )
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/tocsin_bench_notify"
    )
    args = parser.parse_args()

    arrivals = Arrivals()
    smtp_port = free_port()
    smtp = Controller(MailHandler(arrivals), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    hook = await _webhook(arrivals)
    http_port = int(hook.sockets[0].getsockname()[1])
    base_mail, base_hook = await _baseline(smtp_port, http_port, 200)
    arrivals.mail.clear()
    arrivals.hook.clear()

    token = await _prepare(args.postgres, POLICY.format(smtp=smtp_port, http=http_port))
    api_port = free_port()
    api = tocsin(
        args.postgres,
        "serve",
        "--no-worker",
        "--port",
        str(api_port),
        "--workers",
        str(args.api_processes),
    )
    workers = [
        tocsin(args.postgres, "worker", "--concurrency", str(CONCURRENCY)) for _ in range(WORKERS)
    ]
    base = f"http://127.0.0.1:{api_port}"
    try:
        await wait_ready(base)
        await asyncio.sleep(2)  # the workers listen before the first declaration
        roles = {
            "API": children(api.pid),
            "workers": [pid for w in workers for pid in children(w.pid)],
            "PostgreSQL": await backends(args.postgres),
            "load + receivers": [os.getpid()],
        }
        before = {role: cpu_seconds(pids) for role, pids in roles.items()}
        began = time.perf_counter()
        load = await _load(api_port, token, args.rate, args.seconds)
        answered = load.answered
        took = time.perf_counter() - began
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with arrivals.lock:
                done = set(answered) <= set(arrivals.mail) and set(answered) <= set(arrivals.hook)
            if done:
                break
            await asyncio.sleep(0.2)
        cpu = {role: used(before[role], cpu_seconds(pids)) for role, pids in roles.items()}
    finally:
        for process in (api, *workers):
            process.send_signal(signal.SIGTERM)
        for process in (api, *workers):
            process.wait(30)
        smtp.stop()
        hook.close()

    def latencies(where: dict[str, list[float]]) -> tuple[list[float], int, int]:
        found = [min(where[ref]) - at for ref, at in answered.items() if ref in where]
        lost = sum(1 for ref in answered if ref not in where)
        repeated = sum(
            count - 1 for count in Counter({r: len(t) for r, t in where.items()}).values()
        )
        return found, lost, repeated

    mail, mail_lost, mail_twice = latencies(arrivals.mail)
    sent, hook_lost, hook_twice = latencies(arrivals.hook)
    print(
        f"Declared {len(answered)} incidents in {took:.1f} s "
        f"({len(answered) / took:.1f}/s; target {args.rate:g}/s), "
        f"{WORKERS} workers x {CONCURRENCY} loops, PostgreSQL; "
        f"{load.busy} more answered 503 busy (nothing stored)"
    )
    print(_row("declaration → API answer", load.waited))
    print(_row("baseline: direct SMTP send", base_mail))
    print(_row("baseline: direct webhook POST", base_hook))
    print(_row("API answer → e-mail at SMTP server", mail, base_mail))
    print(_row("API answer → webhook at receiver", sent, base_hook))
    print(
        f"e-mail: {mail_lost} lost, {mail_twice} repeated; webhook: {hook_lost} lost, {hook_twice} repeated"
    )
    each = {role: seconds * 1000 / max(len(answered), 1) for role, seconds in cpu.items()}
    total = sum(each.values())
    print(
        "CPU per declaration (its two messages included): "
        + ", ".join(f"{role} {ms:.1f} ms" for role, ms in each.items())
        + f"; total {total:.1f} ms, so {os.cpu_count()} cores carry at most"
        f" {(os.cpu_count() or 1) * 1000 / total:.0f} declarations/s"
    )
    p99 = max(figures(mail)[1], figures(sent)[1]) if mail and sent else float("inf")
    # The rate counts too: an API that answers late spreads the load thinner than asked.
    achieved = len(answered) / took
    met = p99 < 1.0 and load.busy == 0 and achieved >= 0.95 * args.rate
    print(
        f"target p99 < 1 s at {args.rate:g}/s, every declaration taken: "
        f"{'met' if met else 'NOT met'} ({p99 * 1000:.0f} ms, {achieved:.1f}/s, {load.busy} busy)"
    )


if __name__ == "__main__":
    asyncio.run(main())
