"""The public status page, its incident history and one page per incident, as HTML.

Rendered only from a :class:`PublicView` (the public data and nothing else, so nothing
internal can reach the page), in the view's locale and time zone, with no JavaScript.
Where the page links to comes from :class:`Links`: the live app and the static export
render the same templates.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from tocsin.statuspage import layout
from tocsin.statuspage.links import Links
from tocsin.statuspage.public import PublicView
from tocsin.statuspage.strings import Words

#: The files under ``assets/`` the pages use.
ASSETS = ("status.css",)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("tocsin.statuspage", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def name(view: PublicView) -> str:
    """The page's name for sentences (``{name} status``): without a last word "status",
    which page names often have already ("Example Status")."""
    full = str(view.page.get("name") or "")
    head, _, last = full.rpartition(" ")
    shorter = head.rstrip(" -:|\u2013\u2014\u00b7")  # hyphen, dashes, middle dot
    return shorter if shorter and last.lower() == "status" else full


def words(view: PublicView) -> Words:
    return Words(view.locale, str(view.page.get("time_zone") or "UTC"))


def _common(view: PublicView, links: Links) -> dict[str, Any]:
    w = words(view)

    def time(value: str | datetime | None) -> str:
        instant = layout.moment(value)
        return w.time(instant) if instant else ""

    full = str(view.page.get("name") or "")
    # the page's own name when it says "status" already ("Example Status"), else "Example status"
    title = full if full.lower().endswith("status") else w("title", name=full)
    return {"page": view.page, "name": name(view), "title": title, "status": view.status,
            "w": w, "time": time, "pct": w.percent, "links": links}  # fmt: skip


def index(view: PublicView, links: Links) -> str:
    """``/status``: the indicator, open incidents, maintenance, components with their
    uptime bars, and the last days' incidents."""
    w = words(view)
    return (
        _environment()
        .get_template("index.html")
        .render(
            **_common(view, links),
            incidents=layout.active_incidents(view),
            maintenance_active=layout.active_maintenances(view),
            maintenance_upcoming=layout.upcoming_maintenances(view),
            blocks=layout.blocks(view),
            days=layout.recent_days(view, w),
        )
    )


def history(view: PublicView, links: Links) -> str:
    """Every public incident by month and day."""
    months = layout.history(view, words(view))
    return _environment().get_template("history.html").render(**_common(view, links), months=months)


def incident(view: PublicView, incident_id: str, links: Links) -> str | None:
    """One incident or maintenance with all its updates; ``None`` if the view has none by
    that id."""
    for each in (*view.incidents, *view.scheduled_maintenances):
        if str(each.get("id")) == incident_id:
            template = _environment().get_template("incident.html")
            return template.render(**_common(view, links), incident=each)
    return None


#: What :func:`notice` says: a sign-up taken, a subscription confirmed or ended, refused.
NOTICES = ("signed_up", "confirmed", "unsubscribed", "refused")


def notice(view: PublicView, kind: str, links: Links, detail: str | None = None) -> str:
    """A short page in the status page's look and language for what a subscriber's door
    did (``kind``, one of :data:`NOTICES`); ``detail`` replaces the usual text."""
    if kind not in NOTICES:
        raise ValueError(f"no notice {kind!r}")
    template = _environment().get_template("notice.html")
    return template.render(**_common(view, links), kind=kind, detail=detail)


def asset(name: str) -> bytes | None:
    if name not in ASSETS:
        return None
    return resources.files("tocsin.statuspage").joinpath("assets", name).read_bytes()
