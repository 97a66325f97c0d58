"""The static export: the whole public surface (:mod:`.surface`) written as plain files,
so that any static host or object store serves the status page, its JSON and its feeds
with no Tocsin process behind it (the page stays up when the product is down).

Each file is written only when its content changed, through a temporary file and a
rename, so that a server reading the folder never sees half a file; the page itself is
written last, after the files it links to. A manifest (``.tocsin-export``) lists what the
export wrote, so that the next export removes what is no longer public (an incident
taken off the page) and leaves every other file in the folder alone.

:func:`watch` exports again after every public change, once the changes have paused
(debounced), and when the day moves on (uptime bars).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.statuspage import public, surface
from tocsin.statuspage.cache import SUBSCRIBE_PATH, sign_up_open
from tocsin.statuspage.links import INDEX
from tocsin.statuspage.public import PublicView

MANIFEST = ".tocsin-export"
#: ``--watch``: seconds between two looks at the page's version.
POLL_SECONDS = 2.0
#: ``--watch``: an export waits until the version stood still this long...
QUIET_SECONDS = 1.0
#: ... but no longer than this after the first change it saw.
MAX_DELAY_SECONDS = 10.0
#: ``--watch``: export again after this long without changes (today's uptime moves on).
REFRESH = timedelta(minutes=5)


@dataclass(frozen=True)
class Exported:
    version: int
    #: Every file of the export (paths relative to its folder).
    files: list[str]
    #: The files whose content changed (new ones included).
    changed: list[str]
    #: Files of an earlier export that are no longer public, removed.
    removed: list[str]


def _write(path: Path, data: bytes) -> bool:
    """Write ``data`` at ``path`` unless it holds that already; whether it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return True


def _inside(directory: Path, name: str) -> Path | None:
    """``directory / name`` for a manifest line naming a file of the export, else None."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        return None
    return directory.joinpath(*relative.parts)


def write(
    view: PublicView,
    directory: Path,
    *,
    base_url: str | None = None,
    subscribe: str | None = None,
) -> Exported:
    """Write the surface of ``view`` into ``directory``; ``base_url``: where it will be
    served (the feeds' links are full addresses), by default the page's URL;
    ``subscribe``: the full address of Tocsin's sign-up door, for the page's form."""
    base = base_url or str(view.page.get("url") or "")
    directory.mkdir(parents=True, exist_ok=True)
    order = sorted(surface.paths(view), key=lambda path: path == INDEX)  # the page last
    files, changed = [], []
    for path in order:
        found = surface.render(view, path, static=True, base_url=base, subscribe=subscribe)
        if found is None:
            continue
        files.append(path)
        if _write(directory / path, found.body):
            changed.append(path)
    manifest = directory / MANIFEST
    before = manifest.read_text(encoding="utf-8").splitlines() if manifest.exists() else []
    removed = []
    for name in sorted(set(before) - set(files)):
        stale = _inside(directory, name)
        if stale is not None and stale.is_file():
            stale.unlink()
            removed.append(name)
    _write(manifest, "".join(f"{name}\n" for name in files).encode("utf-8"))
    return Exported(view.version, files, changed, removed)


async def export(
    db: Database, directory: Path, *, clock: Clock, base_url: str | None = None
) -> Exported:
    """Export the page as it is now. Its sign-up form (when sign-ups are open) posts to
    Tocsin itself (``TOCSIN_PUBLIC_URL``): the export cannot take sign-ups."""
    async with db.read() as session:
        view = await public.public_view(session, clock=clock)
        form = await sign_up_open(session)
    door = db.settings.public_url.rstrip("/") + SUBSCRIBE_PATH if form else None
    return write(view, directory, base_url=base_url, subscribe=door)


async def _version(db: Database) -> int:
    async with db.read() as session:
        return await public.public_version(session)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def watch(
    db: Database,
    directory: Path,
    *,
    clock: Clock,
    base_url: str | None = None,
    stop: asyncio.Event,
    on_export: Callable[[Exported], None] = lambda _: None,
    poll: float = POLL_SECONDS,
    quiet: float = QUIET_SECONDS,
    max_delay: float = MAX_DELAY_SECONDS,
    refresh: timedelta = REFRESH,
) -> None:
    """Export now, then again after every public change (once the version has stood still
    ``quiet`` seconds, at most ``max_delay`` after the change was seen) and after
    ``refresh`` of the clock's time without any, until ``stop`` is set."""
    done = await export(db, directory, clock=clock, base_url=base_url)
    on_export(done)
    at = clock.now()
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        await _pause(stop, poll)
        if stop.is_set():
            break
        version = await _version(db)
        if version == done.version and clock.now() - at < refresh:
            continue
        seen = loop.time()
        while version != done.version and loop.time() - seen < max_delay and not stop.is_set():
            await _pause(stop, quiet)
            newer = await _version(db)
            if newer == version:
                break
            version = newer
        done = await export(db, directory, clock=clock, base_url=base_url)
        at = clock.now()
        on_export(done)
