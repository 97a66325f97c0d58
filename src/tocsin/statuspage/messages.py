"""The words of subscriber messages, in the page's language (pure).

Only public data goes in: the page's settings and the public incident's own wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tocsin.statuspage.models import PublicIncident, PublicUpdate
from tocsin.statuspage.public import PageSettings, stamp


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    #: What the sign-up door answers (confirmation messages only).
    answer: str = ""


_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "confirm_subject": "Confirm your subscription to {page}",
        "confirm_body": "Someone (hopefully you) asked to be told about incidents and "
        "maintenance on {page} ({url}).\n\nTo confirm, open this link:\n{link}\n\n"
        "If it was not you, ignore this message: nothing will be sent.",
        "confirm_answer": "Check your inbox (or your webhook): follow the confirmation link "
        "to start receiving updates.",
        "status": {
            "investigating": "Investigating",
            "identified": "Identified",
            "monitoring": "Monitoring",
            "resolved": "Resolved",
            "postmortem": "Postmortem",
            "scheduled": "Scheduled",
            "in_progress": "In progress",
            "verifying": "Verifying",
            "completed": "Completed",
        },
        "window": "Scheduled for {start} until {end}",
        "footer": "More on {url}\nUnsubscribe: {leave}",
    },
    "nl": {
        "confirm_subject": "Bevestig je aanmelding voor {page}",
        "confirm_body": "Iemand (hopelijk jij) wil op de hoogte blijven van storingen en "
        "onderhoud op {page} ({url}).\n\nBevestig dat met deze link:\n{link}\n\n"
        "Was jij het niet? Negeer dit bericht dan: je krijgt niets.",
        "confirm_answer": "Kijk in je inbox (of bij je webhook): volg de bevestigingslink "
        "om updates te ontvangen.",
        "status": {
            "investigating": "In onderzoek",
            "identified": "Oorzaak gevonden",
            "monitoring": "Wordt gevolgd",
            "resolved": "Opgelost",
            "postmortem": "Nabespreking",
            "scheduled": "Gepland",
            "in_progress": "Bezig",
            "verifying": "Wordt gecontroleerd",
            "completed": "Afgerond",
        },
        "window": "Gepland van {start} tot {end}",
        "footer": "Meer op {url}\nAfmelden: {leave}",
    },
}


def _words(locale: str) -> dict[str, Any]:
    return _WORDS.get(locale, _WORDS["en"])


def confirmation(page: PageSettings, link: str) -> Text:
    words = _words(page.locale)
    return Text(
        subject=str(words["confirm_subject"]).format(page=page.name),
        body=str(words["confirm_body"]).format(page=page.name, url=page.url, link=link) + "\n",
        answer=str(words["confirm_answer"]),
    )


def notice(
    page: PageSettings, incident: PublicIncident, update: PublicUpdate, event: str, leave: str
) -> Text:
    """A subscriber's message about one update of a public incident or maintenance."""
    words = _words(page.locale)
    statuses = words["status"]
    assert isinstance(statuses, dict)
    label = statuses.get(update.status, update.status)
    lines = [f"{label}: {incident.name}", "", update.body.strip(), ""]
    if incident.kind == "maintenance":
        window = str(words["window"]).format(
            start=stamp(incident.scheduled_for, page.zone),
            end=stamp(incident.scheduled_until, page.zone),
        )
        lines += [window, ""]
    link = f"{page.url}/incidents/{incident.public_id}"
    lines.append(str(words["footer"]).format(url=link, leave=leave))
    return Text(subject=f"[{page.name}] {label}: {incident.name}", body="\n".join(lines) + "\n")
