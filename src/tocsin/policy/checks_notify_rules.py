"""Checks of people's personal notification rules (``people: notify:``).

Each rule's ``via`` must name a contact type the person has, or the ``label`` of one of
their contacts, or ``email`` (everyone has an e-mail); ``sms`` and ``voice`` also reach
``phone`` numbers. A rule's ``channel`` must exist and be able to carry that contact
(an ``sms`` or ``voice`` channel for a phone number, ``email`` for an address, ...), and
``after`` is clock time, not business days. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.policy.schema import Contact, Person, Policy

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

#: Which channel types can carry a page to a contact of each type, in preference order.
#: (Paging, :mod:`tocsin.notify.pages`, uses these too, so the check and the sending agree.)
CARRIERS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("sms",),
    "voice": ("voice",),
    "phone": ("sms", "voice"),
    "slack": ("slack",),
    "teams": ("teams",),
    "webhook": ("webhook",),
    "apprise": ("apprise",),
}
#: A ``via`` naming a contact type reaches contacts of these types.
VIA_CONTACTS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "sms": ("sms", "phone"),
    "voice": ("voice", "phone"),
    "phone": ("phone",),
    "slack": ("slack",),
    "teams": ("teams",),
    "webhook": ("webhook",),
    "apprise": ("apprise",),
}


def contacts_for(person: Person, via: str) -> list[Contact]:
    """The contacts a rule's ``via`` reaches: by type (``sms`` and ``voice`` fall back to
    ``phone`` numbers, ``email`` to the person's e-mail), else by label (any case)."""
    wanted = via.strip().lower()
    if wanted in VIA_CONTACTS:
        for kind in VIA_CONTACTS[wanted]:
            found = [c for c in person.contacts if c.type == kind]
            if found:
                return found
        if wanted == "email":
            return [Contact(type="email", value=person.email)]
    return [c for c in person.contacts if c.label and c.label.strip().lower() == wanted]


def carriers_for(via: str, contact: Contact) -> tuple[str, ...]:
    """The channel types that can carry a rule's page to ``contact``: a phone number
    reached as ``sms`` or ``voice`` goes only that way."""
    if contact.type == "phone" and via.strip().lower() in ("sms", "voice"):
        return (via.strip().lower(),)
    return CARRIERS.get(contact.type, ())


def _names(person: Person) -> str:
    types = {"email"} | {c.type for c in person.contacts if c.type in CARRIERS}
    if "phone" in types:
        types |= {"sms", "voice"}
    labels = {repr(c.label) for c in person.contacts if c.label}
    return ", ".join(sorted(types) + sorted(labels))


def check_notify_rules(policy: Policy) -> Iterable[Problem]:
    channels = {c.key.lower(): c for c in policy.channels}
    for i, person in enumerate(policy.people):
        for j, rule in enumerate(person.notify):
            loc: Loc = ("people", i, "notify", j)
            contacts = contacts_for(person, rule.via)
            if not contacts:
                yield (
                    (*loc, "via"),
                    f"{person.handle} has no contact of type or label {rule.via!r} "
                    f"(they have: {_names(person)})",
                )
            elif not any(CARRIERS.get(c.type) for c in contacts):
                kinds = ", ".join(sorted({c.type for c in contacts}))
                yield (*loc, "via"), f"a page cannot reach a {kinds} contact"
            if rule.after.business_days:
                yield (*loc, "after"), "a rule waits clock time ('2m', '1h'), not business days"
            if rule.channel is None:
                continue
            channel = channels.get(rule.channel.lower())
            if channel is None:
                known = ", ".join(sorted(c.key for c in policy.channels)) or "none defined"
                yield (*loc, "channel"), f"unknown channel {rule.channel!r} (known: {known})"
                continue
            if not contacts:
                continue
            fits = [c for c in contacts if channel.type in carriers_for(rule.via, c)]
            if not fits:
                kinds = ", ".join(sorted({c.type for c in contacts}))
                yield (
                    (*loc, "channel"),
                    f"channel {channel.key!r} is {channel.type} and cannot reach "
                    f"{person.handle}'s {rule.via!r} contact ({kinds})",
                )
