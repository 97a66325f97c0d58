"""Every word the public status page, its history and its feeds show, in each locale the
policy may choose (``organization.locale``: en, nl). Pure data.

The Statuspage objects carry machine values (``partial_outage``, ``monitoring``); their
labels here are what people read. A test holds the locales to the same keys.
"""

from __future__ import annotations

from datetime import date, datetime
from math import floor
from typing import Final
from zoneinfo import ZoneInfo

EN: Final[dict[str, str]] = {
    # page structure
    "title": "{name} status",
    "skip": "Skip to content",
    "current_status": "Current status",
    "active_incidents": "Active incidents",
    "maintenance_active": "Maintenance in progress",
    "maintenance_upcoming": "Scheduled maintenance",
    "components": "Components",
    "past_incidents": "Past incidents",
    "no_incidents_day": "No incidents reported.",
    "no_incidents_at_all": "No incidents have been reported.",
    "history": "Incident history",
    "history_title": "{name} incident history",
    "incident_title": "{incident} · {name} status",
    "back": "Back to the current status",
    "subscribe": "Follow the history",
    "json_api": "Status API (JSON)",
    "rss": "RSS feed",
    "atom": "Atom feed",
    "last_updated": "Last updated {when}",
    "updates": "Updates",
    "affected": "Affected",
    "impact": "Impact",
    "scheduled_for": "From {start} to {end}",
    "subscribe_title": "Get updates by e-mail",
    "subscribe_email": "E-mail address",
    "subscribe_components": "Only about some components (none chosen: all of them)",
    "subscribe_button": "Subscribe",
    "subscribe_note": "We first send a link to confirm; every e-mail has a link to unsubscribe.",
    # what the sign-up, confirm and unsubscribe doors answer a browser
    "notice.signed_up": "Check your inbox",
    "notice.signed_up.text": "If the address can receive e-mail, it got a link to confirm the subscription. Nothing is sent before that.",
    "notice.confirmed": "Subscription confirmed",
    "notice.confirmed.text": "You will get an e-mail when an incident or maintenance is announced or changes.",
    "notice.unsubscribed": "Unsubscribed",
    "notice.unsubscribed.text": "You will get no more e-mails about this status page.",
    "notice.refused": "That did not work",
    # uptime bars
    "uptime": "{percent} uptime",
    "uptime_bar": "{name}: uptime over the last {days} days, {percent}",
    "uptime_bar_days": "{count} of them with incidents or maintenance",
    "uptime_legend_start": "{days} days ago",
    "uptime_legend_end": "Today",
    "uptime_days": "Days with incidents or maintenance ({count})",
    "uptime_day": "{day}: {status}, {percent} uptime",
    "no_data": "No data",
    # overall indicator (Statuspage's status.indicator)
    "indicator.none": "All systems operational",
    "indicator.minor": "Minor service disruption",
    "indicator.major": "Partial system outage",
    "indicator.critical": "Major system outage",
    "indicator.maintenance": "Service under maintenance",
    # component statuses
    "component.operational": "Operational",
    "component.degraded_performance": "Degraded performance",
    "component.partial_outage": "Partial outage",
    "component.major_outage": "Major outage",
    "component.under_maintenance": "Under maintenance",
    # incident and maintenance update statuses
    "update.investigating": "Investigating",
    "update.identified": "Identified",
    "update.monitoring": "Monitoring",
    "update.resolved": "Resolved",
    "update.postmortem": "Postmortem",
    "update.scheduled": "Scheduled",
    "update.in_progress": "In progress",
    "update.verifying": "Verifying",
    "update.completed": "Completed",
    # incident impact
    "impact.none": "None",
    "impact.minor": "Minor",
    "impact.major": "Major",
    "impact.critical": "Critical",
    "impact.maintenance": "Maintenance",
    # feeds
    "feed_title": "{name} status history",
    "feed_description": "Incidents and maintenance of {name}",
}

NL: Final[dict[str, str]] = {
    "title": "Status van {name}",
    "skip": "Naar de inhoud",
    "current_status": "Huidige status",
    "active_incidents": "Actuele storingen",
    "maintenance_active": "Onderhoud bezig",
    "maintenance_upcoming": "Gepland onderhoud",
    "components": "Onderdelen",
    "past_incidents": "Eerdere storingen",
    "no_incidents_day": "Geen storingen gemeld.",
    "no_incidents_at_all": "Er zijn geen storingen gemeld.",
    "history": "Storingsgeschiedenis",
    "history_title": "Storingsgeschiedenis van {name}",
    "incident_title": "{incident} · status van {name}",
    "back": "Terug naar de huidige status",
    "subscribe": "Volg de geschiedenis",
    "json_api": "Status-API (JSON)",
    "rss": "RSS-feed",
    "atom": "Atom-feed",
    "last_updated": "Laatst bijgewerkt {when}",
    "updates": "Berichten",
    "affected": "Getroffen",
    "impact": "Impact",
    "scheduled_for": "Van {start} tot {end}",
    "subscribe_title": "Updates per e-mail ontvangen",
    "subscribe_email": "E-mailadres",
    "subscribe_components": "Alleen over sommige onderdelen (niets gekozen: alle)",
    "subscribe_button": "Abonneren",
    "subscribe_note": "U krijgt eerst een link om te bevestigen; elke e-mail heeft een link om u af te melden.",
    "notice.signed_up": "Kijk in uw inbox",
    "notice.signed_up.text": "Als het adres e-mail kan ontvangen, is er een link heen gestuurd om het abonnement te bevestigen. Tot dan wordt er niets verstuurd.",
    "notice.confirmed": "Abonnement bevestigd",
    "notice.confirmed.text": "U krijgt een e-mail als er een storing of onderhoud wordt aangekondigd of verandert.",
    "notice.unsubscribed": "Afgemeld",
    "notice.unsubscribed.text": "U krijgt geen e-mails meer over deze statuspagina.",
    "notice.refused": "Dat lukte niet",
    "uptime": "{percent} beschikbaar",
    "uptime_bar": "{name}: beschikbaarheid over de afgelopen {days} dagen, {percent}",
    "uptime_bar_days": "waarvan {count} met storingen of onderhoud",
    "uptime_legend_start": "{days} dagen geleden",
    "uptime_legend_end": "Vandaag",
    "uptime_days": "Dagen met storingen of onderhoud ({count})",
    "uptime_day": "{day}: {status}, {percent} beschikbaar",
    "no_data": "Geen gegevens",
    "indicator.none": "Alle systemen werken normaal",
    "indicator.minor": "Kleine verstoring",
    "indicator.major": "Gedeeltelijke storing",
    "indicator.critical": "Ernstige storing",
    "indicator.maintenance": "Onderhoud aan de dienst",
    "component.operational": "Werkt normaal",
    "component.degraded_performance": "Verminderde prestaties",
    "component.partial_outage": "Gedeeltelijke storing",
    "component.major_outage": "Ernstige storing",
    "component.under_maintenance": "In onderhoud",
    "update.investigating": "Wordt onderzocht",
    "update.identified": "Oorzaak gevonden",
    "update.monitoring": "Wordt gevolgd",
    "update.resolved": "Opgelost",
    "update.postmortem": "Nabespreking",
    "update.scheduled": "Gepland",
    "update.in_progress": "Bezig",
    "update.verifying": "Wordt gecontroleerd",
    "update.completed": "Afgerond",
    "impact.none": "Geen",
    "impact.minor": "Klein",
    "impact.major": "Groot",
    "impact.critical": "Kritiek",
    "impact.maintenance": "Onderhoud",
    "feed_title": "Statusgeschiedenis van {name}",
    "feed_description": "Storingen en onderhoud van {name}",
}

LOCALES: Final[dict[str, dict[str, str]]] = {"en": EN, "nl": NL}

MONTHS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
}


class Words:
    """The strings of one locale: ``words("uptime", percent="99.9 %")``; a machine value
    without a label (a status newer than this table) shows as itself. Also how the locale
    writes a day, a time (in the page's time zone) and a percentage."""

    def __init__(self, locale: str, zone: str = "UTC") -> None:
        self.locale = locale if locale in LOCALES else "en"
        self.zone = ZoneInfo(zone)
        self._table = LOCALES[self.locale]
        self._months = MONTHS[self.locale]

    def __call__(self, key: str, **fields: object) -> str:
        text = self._table.get(key)
        if text is None:
            return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        return text.format(**fields) if fields else text

    def day(self, value: date) -> str:
        """``January 15, 2026`` / ``15 januari 2026``."""
        month = self._months[value.month - 1]
        if self.locale == "nl":
            return f"{value.day} {month} {value.year}"
        return f"{month} {value.day}, {value.year}"

    def month(self, value: date) -> str:
        """``January 2026`` / ``januari 2026``."""
        return f"{self._months[value.month - 1]} {value.year}"

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    def time(self, value: datetime) -> str:
        """The day and the time of day in the page's zone: ``January 15, 2026 10:00 CET``."""
        local = self.local(value)
        return f"{self.day(local.date())} {local:%H:%M} {local.tzname()}"

    def percent(self, value: float) -> str:
        """``99.95%`` / ``99,95%``: two decimals, rounded down, so that a day with any
        downtime never shows as 100%."""
        text = f"{floor(value * 100 + 1e-9) / 100:.2f}%"
        return text.replace(".", ",") if self.locale == "nl" else text
