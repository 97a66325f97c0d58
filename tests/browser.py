"""What every browser test shares: Debian's Chromium (driven by Playwright through
``executable_path``; nothing is downloaded), the app served on a free port, and a page
check that saves a screenshot as a test artifact and runs axe-core's WCAG 2.1 A/AA rules.

The ``chromium`` fixture is offered to every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tocsin.app import create_app
from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; without it the test is skipped with a warning (fails under CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install chromium; `make setup` does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs Chromium: {message}", pytrace=False)
        warnings.warn(f"{message}: the browser tests are skipped", stacklevel=1)
        pytest.skip(message)
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    return found


def artifact_folder(name: str) -> Path:
    """Where screenshots go: TOCSIN_TEST_ARTIFACTS, else var/test-artifacts/ (ignored)."""
    base = Path(os.environ.get("TOCSIN_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts"))
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def tocsin_server(url: str, clock: Clock) -> Iterator[str]:
    """The app on a free port, in a thread with its own event loop and database engine."""
    settings = Settings(database_url=url, statuspage_recheck_seconds=0.0)
    config = uvicorn.Config(
        create_app(settings, clock=clock, database=(db := Database(settings))),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        try:
            await server.serve()
        finally:
            await db.dispose()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        threading.Event().wait(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


async def accessible(page: Page, name: str = "") -> None:
    """axe-core's WCAG 2.1 A/AA rules find no violation at all on the page."""
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]}
    results = await Axe().run(page, options=options)
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"


class Pages:
    """Checks every page it is shown: a screenshot saved as an artifact, axe-core run."""

    def __init__(self, folder: Path, backend: str, request: pytest.FixtureRequest) -> None:
        self.folder, self.backend, self.request = folder, backend, request

    async def check(self, page: Page, name: str) -> None:
        shot = self.folder / f"{name}-{self.backend}.png"
        await page.screenshot(path=shot, full_page=True)
        self.request.node.user_properties.append(("artifact", str(shot)))
        await accessible(page, name)
