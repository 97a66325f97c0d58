"""Every word the responder console shows, in English and Dutch. Pure data.

Times are written by the status page's :class:`~tocsin.statuspage.strings.Words` (day
names, months and the zone), so the console and the public page agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from tocsin.policy.spans import format_timedelta
from tocsin.statuspage.strings import Words as DateWords
from tocsin.web.admin import strings as admin
from tocsin.web.oncall import strings as oncall
from tocsin.web.postmortems import strings as postmortems
from tocsin.web.reports import strings as reports

EN: Final[dict[str, str]] = {
    "skip": "Skip to content",
    "app": "Tocsin",
    "nav": "Main",
    "incidents": "Incidents",
    "declare": "Declare an incident",
    "nav.oncall": "On call",
    "nav.postmortems": "Postmortems",
    "nav.actions": "Action items",
    "nav.reports": "Reports",
    "nav.admin": "Admin",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "signed_in_as": "Signed in as {name}",
    "email": "E-mail address",
    "password": "Password",
    "times_in": "Times in {zone}",
    "forbidden": "Not allowed",
    "not_found": "Not found",
    "error": "Something is wrong",
    "fix_below": "Please correct what is marked below.",
    # list
    "open_incidents": "Open incidents",
    "no_incidents": "No incidents match.",
    "filters": "Filters",
    "search": "Search",
    "status": "Status",
    "severity": "Severity",
    "type": "Type",
    "any": "Any",
    "since": "Declared on or after",
    "until": "Declared before",
    "apply": "Apply",
    "clear": "Clear",
    "id": "ID",
    "title": "Title",
    "commander": "Commander",
    "components": "Components",
    "alerts": "Alerts",
    "sla": "SLA",
    "declared": "Declared",
    "nobody": "nobody",
    "restricted": "restricted",
    "shown_of": "{shown} of {total}",
    "live": "Updates live",
    # SLA
    "sla.acknowledge": "Acknowledge",
    "sla.identify": "Identify",
    "sla.mitigate": "Mitigate",
    "sla.resolve": "Resolve",
    "verdict.met": "met",
    "verdict.breached": "breached",
    "verdict.pending": "due",
    "met_spare": "met, {d} to spare",
    "met": "met",
    "due_in": "due in {d}",
    "pending": "waiting",
    "breached_by": "breached by {d}",
    # declare
    "summary": "Summary",
    "impact": "Business impact",
    "users_affected": "Users affected (number)",
    "severity_help": "Choose the level whose definition fits best.",
    "no_type": "Not known yet",
    "declare_button": "Declare",
    # room
    "roles": "Roles",
    "actions": "Actions",
    "acknowledge": "Acknowledge",
    "acknowledged": "Acknowledged by {who} at {when}",
    "not_acknowledged": "Not acknowledged yet",
    "change_status": "Change status",
    "new_status": "New status",
    "note": "Note",
    "change_severity": "Change severity",
    "new_severity": "New severity",
    "reason": "Reason",
    "assign_role": "Assign a role",
    "role": "Role",
    "person": "Person",
    "assign": "Assign",
    "relieve": "Relieve",
    "relieve_who": "Relieve {name} as {role}",
    "add_note": "Add a note",
    "post": "Post",
    "timeline": "Timeline",
    "show": "Show",
    "kind.note": "Notes",
    "kind.status": "Status",
    "kind.page": "Pages",
    "kind.comms": "Communications",
    "kind.alert": "Alerts",
    "kind.other": "Other",
    "checklists": "Checklists",
    "check": "Check off",
    "uncheck": "Undo",
    "checked_by": "done by {who}",
    "escalation": "Escalation",
    "no_escalation": "No escalation for this incident.",
    "next_page": "Next: {action} {targets} at {when}",
    "nothing_next": "Nobody is due to be paged.",
    "paged_so_far": "Paged so far",
    "step": "Step",
    "targets": "Who",
    "due": "When",
    "attached_alerts": "Alerts",
    "no_alerts": "No alerts attached.",
    "communicate": "Send a communication",
    "template": "Template",
    "channel": "Channel",
    "default_channel": "Policy default",
    "progress": "What to tell (update.progress)",
    "preview": "Preview",
    "send": "Send",
    "preview_of": "Preview: {subject}",
    "sent": "Queued {count} message(s).",
    "status.investigating": "Investigating",
    "status.identified": "Identified",
    "status.monitoring": "Monitoring",
    "status.resolved": "Resolved",
    "status.closed": "Closed",
}

NL: Final[dict[str, str]] = {
    "skip": "Naar de inhoud",
    "app": "Tocsin",
    "nav": "Hoofdmenu",
    "incidents": "Incidenten",
    "declare": "Incident melden",
    "nav.oncall": "Dienst",
    "nav.postmortems": "Postmortems",
    "nav.actions": "Actiepunten",
    "nav.reports": "Rapportages",
    "nav.admin": "Beheer",
    "sign_in": "Aanmelden",
    "sign_out": "Afmelden",
    "signed_in_as": "Aangemeld als {name}",
    "email": "E-mailadres",
    "password": "Wachtwoord",
    "times_in": "Tijden in {zone}",
    "forbidden": "Niet toegestaan",
    "not_found": "Niet gevonden",
    "error": "Er klopt iets niet",
    "fix_below": "Verbeter wat hieronder is gemarkeerd.",
    "open_incidents": "Open incidenten",
    "no_incidents": "Geen incidenten gevonden.",
    "filters": "Filters",
    "search": "Zoeken",
    "status": "Status",
    "severity": "Ernst",
    "type": "Soort",
    "any": "Alle",
    "since": "Gemeld vanaf",
    "until": "Gemeld vóór",
    "apply": "Toepassen",
    "clear": "Wissen",
    "id": "ID",
    "title": "Titel",
    "commander": "Incidentmanager",
    "components": "Onderdelen",
    "alerts": "Alerts",
    "sla": "SLA",
    "declared": "Gemeld",
    "nobody": "niemand",
    "restricted": "beperkt zichtbaar",
    "shown_of": "{shown} van {total}",
    "live": "Wordt live bijgewerkt",
    "sla.acknowledge": "Bevestigen",
    "sla.identify": "Oorzaak vinden",
    "sla.mitigate": "Beperken",
    "sla.resolve": "Oplossen",
    "verdict.met": "gehaald",
    "verdict.breached": "overschreden",
    "verdict.pending": "open",
    "met_spare": "gehaald, {d} over",
    "met": "gehaald",
    "due_in": "nog {d}",
    "pending": "wacht",
    "breached_by": "{d} te laat",
    "summary": "Samenvatting",
    "impact": "Impact op de organisatie",
    "users_affected": "Getroffen gebruikers (aantal)",
    "severity_help": "Kies het niveau waarvan de omschrijving het best past.",
    "no_type": "Nog onbekend",
    "declare_button": "Melden",
    "roles": "Rollen",
    "actions": "Acties",
    "acknowledge": "Bevestigen",
    "acknowledged": "Bevestigd door {who} om {when}",
    "not_acknowledged": "Nog niet bevestigd",
    "change_status": "Status wijzigen",
    "new_status": "Nieuwe status",
    "note": "Notitie",
    "change_severity": "Ernst wijzigen",
    "new_severity": "Nieuwe ernst",
    "reason": "Reden",
    "assign_role": "Rol toewijzen",
    "role": "Rol",
    "person": "Persoon",
    "assign": "Toewijzen",
    "relieve": "Ontheffen",
    "relieve_who": "{name} ontheffen als {role}",
    "add_note": "Notitie toevoegen",
    "post": "Plaatsen",
    "timeline": "Tijdlijn",
    "show": "Tonen",
    "kind.note": "Notities",
    "kind.status": "Status",
    "kind.page": "Oproepen",
    "kind.comms": "Communicatie",
    "kind.alert": "Alerts",
    "kind.other": "Overig",
    "checklists": "Checklists",
    "check": "Afvinken",
    "uncheck": "Ongedaan maken",
    "checked_by": "gedaan door {who}",
    "escalation": "Escalatie",
    "no_escalation": "Geen escalatie voor dit incident.",
    "next_page": "Volgende: {action} {targets} om {when}",
    "nothing_next": "Er staat geen oproep gepland.",
    "paged_so_far": "Tot nu toe opgeroepen",
    "step": "Stap",
    "targets": "Wie",
    "due": "Wanneer",
    "attached_alerts": "Alerts",
    "no_alerts": "Geen alerts gekoppeld.",
    "communicate": "Bericht versturen",
    "template": "Sjabloon",
    "channel": "Kanaal",
    "default_channel": "Standaard van het beleid",
    "progress": "Wat te melden (update.progress)",
    "preview": "Voorbeeld",
    "send": "Versturen",
    "preview_of": "Voorbeeld: {subject}",
    "sent": "{count} bericht(en) in de wachtrij gezet.",
    "status.investigating": "Onderzoek",
    "status.identified": "Oorzaak bekend",
    "status.monitoring": "In de gaten houden",
    "status.resolved": "Opgelost",
    "status.closed": "Gesloten",
}

_GROUPS = (oncall, postmortems, reports, admin)
LOCALES: Final[dict[str, dict[str, str]]] = {
    "en": EN | {k: v for g in _GROUPS for k, v in g.EN.items()},
    "nl": NL | {k: v for g in _GROUPS for k, v in g.NL.items()},
}


class Words:
    """One locale's strings (``w("due_in", d="5m")``) and times in the viewer's zone."""

    def __init__(self, locale: str, zone: str) -> None:
        self.locale = locale if locale in LOCALES else "en"
        self.zone = zone
        self._table = LOCALES[self.locale]
        self._dates = DateWords(self.locale, zone)

    def __call__(self, key: str, **fields: object) -> str:
        text = self._table.get(key)
        if text is None:  # a value newer than this table shows as itself
            return key.rsplit(".", 1)[-1].replace("_", " ").replace("-", " ").capitalize()
        return text.format(**fields) if fields else text

    def time(self, value: datetime | None) -> str:
        """``January 15, 2026 10:00 CET`` in the viewer's zone ('' for none)."""
        return "" if value is None else self._dates.time(value)

    def clock(self, value: datetime | None) -> str:
        """Just the time of day and zone, for the timeline: ``10:00:05 CET``."""
        if value is None:
            return ""
        local = self._dates.local(value)
        return f"{local:%H:%M:%S} {local.tzname()}"

    def sla(self, verdict: str, margin_seconds: int | None) -> str:
        """``met, 3m to spare`` / ``due in 12m`` / ``breached by 4m``."""
        d = None if margin_seconds is None else format_timedelta(timedelta(seconds=margin_seconds))
        if verdict == "met":
            return self("met") if d is None else self("met_spare", d=d)
        if verdict == "breached":
            return self("breached_by", d=d or "0m")
        return self("pending") if d is None else self("due_in", d=d)
