"""The static export: every file of the surface, written only when changed, the files of
incidents no longer public removed (and nothing else), ``tocsin statuspage export`` and
``--watch``, and nothing internal in any exported file."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tests.statuspage.page_samples import sample_view
from tests.statuspage.page_story import OPEN_BODY, tell
from typer.testing import CliRunner

from tocsin.auth.actor import SYSTEM
from tocsin.cli.main import app as cli
from tocsin.context import Context
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn
from tocsin.statuspage import export, service
from tocsin.statuspage.public import PublicView
from tocsin.statuspage.schemas import PublishIn, UpdateIn

EXPECTED = {
    "index.html",
    "history.html",
    "history.rss",
    "history.atom",
    "assets/status.css",
    "api/v2/summary.json",
    "api/v2/status.json",
    "api/v2/components.json",
    "api/v2/incidents.json",
    "api/v2/incidents/unresolved.json",
    "api/v2/scheduled-maintenances.json",
    "api/v2/scheduled-maintenances/upcoming.json",
    "api/v2/scheduled-maintenances/active.json",
    "incidents/inc0active.html",
    "incidents/inc0old.html",
    "incidents/mnt0now.html",
    "incidents/mnt0next.html",
}


def _tree(directory: Path) -> set[str]:
    return {
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and p.name != export.MANIFEST
    }


def test_export_writes_the_whole_surface_page_last(tmp_path: Path) -> None:
    done = export.write(sample_view(), tmp_path)
    assert set(done.files) == EXPECTED == _tree(tmp_path)
    assert done.files[-1] == "index.html" and done.changed == done.files and done.removed == []
    assert (tmp_path / export.MANIFEST).read_text().splitlines() == done.files
    summary = json.loads((tmp_path / "api/v2/summary.json").read_text())
    assert summary["status"]["indicator"] == "critical"
    index = (tmp_path / "index.html").read_text()
    assert 'href="assets/status.css"' in index and 'href="api/v2/summary.json"' in index
    assert 'href="../assets/status.css"' in (tmp_path / "incidents/inc0old.html").read_text()
    # the feeds link to the export's files at the page's address by default
    assert (
        "https://status.example.org/incidents/inc0old.html"
        in (tmp_path / "history.rss").read_text()
    )


def test_unchanged_files_are_not_written_again(tmp_path: Path) -> None:
    export.write(sample_view(), tmp_path)
    stamps = {p: os.stat(tmp_path / p).st_mtime_ns for p in EXPECTED}
    again = export.write(sample_view(), tmp_path)
    assert again.changed == [] and again.files
    assert {p: os.stat(tmp_path / p).st_mtime_ns for p in EXPECTED} == stamps


def test_what_is_no_longer_public_is_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "CNAME").write_text("status.example.org\n")
    (tmp_path.parent / "outside.txt").write_text("keep me")
    export.write(sample_view(), tmp_path)
    manifest = tmp_path / export.MANIFEST
    manifest.write_text(manifest.read_text() + "../outside.txt\n/etc/hostname\nCNAME2\n")
    view = sample_view()
    fewer = PublicView(**{**view.__dict__, "incidents": view.incidents[:1]})
    done = export.write(fewer, tmp_path)
    assert done.removed == ["incidents/inc0old.html"]
    assert not (tmp_path / "incidents/inc0old.html").exists()
    assert (tmp_path / "CNAME").read_text() == "status.example.org\n"
    assert (tmp_path.parent / "outside.txt").read_text() == "keep me"
    assert "Games do not load" not in (tmp_path / "history.html").read_text()


async def test_the_command_exports_the_database_s_page(
    seeded: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = await tell(seeded)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", seeded.settings.database_url)
    target = tmp_path / "site"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["statuspage", "export", str(target), "--url", "https://status.example.org"],
    )
    assert result.exit_code == 0, result.output
    assert "Exported status page version" in result.output and str(target) in result.output
    summary = json.loads((target / "api/v2/summary.json").read_text())
    assert [i["id"] for i in summary["incidents"]] == [story.open_id]
    assert (target / f"incidents/{story.resolved_id}.html").exists()
    assert OPEN_BODY in (target / "index.html").read_text()
    assert "https://status.example.org/incidents/" in (target / "history.atom").read_text()
    # the sign-up form posts to Tocsin itself (the export cannot take sign-ups)
    door = seeded.settings.public_url.rstrip("/") + "/statuspage/subscribe"
    assert f'action="{door}"' in (target / "index.html").read_text()


def test_the_command_says_it_needs_the_database() -> None:
    result = CliRunner().invoke(cli, ["--server", "http://x", "statuspage", "export", "out"])
    assert result.exit_code == 2 and "TOCSIN_DATABASE_URL" in result.output


async def _until(check: object, seconds: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not check():  # type: ignore[operator]
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


async def test_watch_exports_again_after_a_change(seeded: Context, tmp_path: Path) -> None:
    story = await tell(seeded)
    stop = asyncio.Event()
    versions: list[int] = []
    task = asyncio.create_task(
        export.watch(
            seeded.db,
            tmp_path,
            clock=seeded.clock,
            stop=stop,
            on_export=lambda done: versions.append(done.version),
            poll=0.05,
            quiet=0.1,
        )
    )
    try:
        await _until(lambda: len(versions) == 1)
        async with seeded.db.write() as session:
            await service.post_update(
                session,
                SYSTEM,
                story.open_id,
                UpdateIn(status="monitoring", body="A fix is out.", deliver_notifications=False),
                clock=seeded.clock,
            )
        await _until(lambda: "A fix is out." in (tmp_path / "index.html").read_text())
        assert len(versions) == 2 and versions[1] > versions[0]
        await asyncio.sleep(0.3)  # nothing changed: no export
        assert len(versions) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_nothing_internal_reaches_the_export(seeded: Context, tmp_path: Path) -> None:
    """A public incident linked to an internal one, whose title, summary and notes carry
    marker strings: no exported file holds any marker."""
    async with seeded.db.write() as session:
        internal = await incidents.declare(
            session,
            SYSTEM,
            DeclareIn(
                title="MARKER-TITLE-7731 database credentials leaked",
                severity="SEV1",
                summary="MARKER-SUMMARY-7731",
            ),
            clock=seeded.clock,
        )
        await incidents.add_note(
            session, SYSTEM, internal.ref, "MARKER-NOTE-7731 rotate keys", clock=seeded.clock
        )
        await service.publish(
            session,
            SYSTEM,
            PublishIn(
                name="Login problems",
                body="Some people cannot log in.",
                components={"authentication": "major_outage"},
                incident=internal.ref,
                deliver_notifications=False,
            ),
            clock=seeded.clock,
        )
    export_dir = tmp_path / "site"
    await export.export(seeded.db, export_dir, clock=seeded.clock)
    assert "Login problems" in (export_dir / "index.html").read_text()
    leaks = [
        str(p.relative_to(export_dir))
        for p in export_dir.rglob("*")
        if p.is_file() and (b"MARKER" in p.read_bytes() or internal.ref.encode() in p.read_bytes())
    ]
    assert leaks == []
