"""The rendered public surface, kept per process and thrown away on every public change.

Every public change moves ``public_version`` (one cheap query). The cache asks for it at
most once per ``recheck`` seconds (1 s by default, ``TOCSIN_STATUSPAGE_RECHECK_SECONDS``;
0 asks on every request), and when it moved builds the :class:`PublicView` once and
renders each file the first time it is asked for. One request asks and rebuilds; the
requests that come meanwhile get what was rendered before (or, on the first, wait for it). A view is also rebuilt after ``max_age`` of the clock's
time, since today's uptime and the day itself move on without any change.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.context import Context
from tocsin.errors import NotFound
from tocsin.policy import service as policies
from tocsin.statuspage import public
from tocsin.statuspage.public import PublicView
from tocsin.statuspage.surface import Artifact, render

#: How long a rendered view may stand without any change (today's uptime moves on).
MAX_AGE = timedelta(minutes=1)


#: Tocsin's sign-up door, where the page's e-mail form posts.
SUBSCRIBE_PATH = "/statuspage/subscribe"


async def sign_up_open(session: AsyncSession) -> bool:
    """Whether people may subscribe by e-mail (the policy allows it and names the e-mail
    channel): only then does the page show the form."""
    try:
        policy = await policies.current_policy(session)
    except NotFound:
        return False
    settings = policy.status_page
    return settings.subscribers.email and settings.email_channel is not None


@dataclass
class _Entry:
    version: int
    view: PublicView
    #: Where the sign-up form posts, or None for no form.
    subscribe: str | None
    files: dict[str, Artifact] = field(default_factory=dict)


class PublicCache:
    def __init__(self, *, base_url: str, recheck: float = 1.0, max_age: timedelta = MAX_AGE):
        self.base_url = base_url
        self.recheck = recheck
        self.max_age = max_age
        self._entry: _Entry | None = None
        self._checked = float("-inf")  # monotonic: how often to ask, not domain time
        self._lock = asyncio.Lock()

    async def file(self, ctx: Context, path: str) -> Artifact | None:
        """The live file at ``path`` (see :mod:`.surface`); ``None`` if there is none."""
        entry = await self._current(ctx)
        found = entry.files.get(path)
        if found is None:
            found = render(
                entry.view, path, static=False, base_url=self.base_url, subscribe=entry.subscribe
            )
            if found is not None:  # what is not there is not kept (any path may be asked)
                entry.files[path] = found
        return found

    async def view(self, ctx: Context) -> PublicView:
        return (await self._current(ctx)).view

    def _recent(self) -> _Entry | None:
        if self._entry is not None and time.monotonic() - self._checked < self.recheck:
            return self._entry
        return None

    async def _current(self, ctx: Context) -> _Entry:
        entry = self._recent()
        if entry is not None:
            return entry
        if self._lock.locked() and self._entry is not None:
            return self._entry  # another request is asking (or rebuilding): this one need not wait
        async with self._lock:
            entry = self._recent()
            if entry is not None:  # another request refreshed it meanwhile
                return entry
            async with ctx.db.read() as session:
                version = await public.public_version(session)
                entry = self._entry
                if entry is None or entry.version != version or self._old(ctx, entry.view):
                    view = await public.public_view(session, clock=ctx.clock)
                    form = SUBSCRIBE_PATH if await sign_up_open(session) else None
                    entry = _Entry(version, view, form)
            self._entry, self._checked = entry, time.monotonic()
            return entry

    def _old(self, ctx: Context, view: PublicView) -> bool:
        return ctx.clock.now() - view.generated_at >= self.max_age
