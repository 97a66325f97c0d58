"""A ``tocsin worker`` killed in the middle of a delivery: after a restart every accepted
message arrives, none is lost, and Tocsin records each as delivered exactly once.

The receiver answers slowly, so the kill lands while requests are in flight (a worker
sends the deliveries it claimed together at the same time). Those messages reached the
receiver but their sender died before it knew: they are sent again with the same
idempotency key (what at-least-once means), so the receiver can drop the repeats.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.jobs.test_worker_crash import start_worker
from tests.notify.servers import ReceiverServer

from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.notify import service as notify
from tocsin.notify.models import Notification, NotificationAttempt
from tocsin.policy.schema_notify import WebhookChannel

MESSAGES = 12


class SlowReceiver:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self.in_flight = 0
        self.lock = threading.Lock()


@contextmanager
def slow_receiver(delay: float) -> Iterator[tuple[str, SlowReceiver]]:
    state = SlowReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.keys.append(self.headers["X-Tocsin-Idempotency-Key"])
                state.in_flight += 1
            try:
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender died meanwhile
            finally:
                with state.lock:
                    state.in_flight -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ReceiverServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def statuses(db: Database) -> Counter[str]:
    async with db.read() as session:
        return Counter((await session.scalars(select(Notification.status))).all())


async def wait_for(what: str, check: Any, log: Path, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


async def test_a_worker_killed_mid_send_loses_nothing_and_delivers_each_once(
    db: Database, tmp_path: Path
) -> None:
    clock = SystemClock()
    crash_dir = tmp_path / "crash"
    crash_dir.mkdir()
    with slow_receiver(delay=0.4) as (url, receiver):
        channel = WebhookChannel(key="hook", type="webhook", url=url, timeout=1.0)
        async with db.write() as session:
            for n in range(MESSAGES):
                await notify.queue(
                    session,
                    channel=channel,
                    recipient="ops",
                    subject=f"message {n}",
                    text=f"message {n}",
                    idempotency_key=f"crash:{n}",
                    clock=clock,
                )
        first_log = tmp_path / "first.log"
        first = start_worker(db, crash_dir, first_log, "--lease", "1")
        try:

            async def mid_send() -> bool:
                return len(receiver.keys) >= 3 and receiver.in_flight > 0

            await wait_for("a send in flight", mid_send, first_log)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        async with db.read() as session:
            query = select(Notification.idempotency_key).where(Notification.status == "sending")
            in_flight = set((await session.scalars(query)).all())
        assert in_flight, "the worker died holding no send"

        second_log = tmp_path / "second.log"
        second = start_worker(db, crash_dir, second_log, "--lease", "1")
        try:

            async def all_delivered() -> bool:
                return await statuses(db) == Counter({"delivered": MESSAGES})

            await wait_for("every message delivered", all_delivered, second_log)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(10) == 0, second_log.read_text()

    received = Counter(receiver.keys)
    assert set(received) == {f"crash:{n}" for n in range(MESSAGES)}
    repeats = [key for key, count in received.items() if count > 1]
    # Only messages in flight at the kill went out twice, with the same key.
    assert repeats and set(repeats) <= in_flight
    assert all(received[key] == 2 for key in repeats)
    async with db.read() as session:
        outcomes = Counter(
            (await session.execute(select(NotificationAttempt.outcome))).scalars().all()
        )
    # Each send in flight at the kill left a "no outcome" attempt behind.
    assert outcomes == Counter({"ok": MESSAGES, "temporary": len(in_flight)})
