"""The incident room's one-click actions: each form post becomes the same service call
(and the same input schema) the API makes, so the same permission checks apply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.actor import Actor
from tocsin.comms import schemas as comms_schemas
from tocsin.comms import service as comms
from tocsin.context import Context
from tocsin.errors import NotFound
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.statuspage import schemas as statuspage_schemas
from tocsin.statuspage import service as statuspage

Form = Mapping[str, str]
#: An action: (session, actor, ref, form, context) -> what the page shows after it.
Action = Callable[[AsyncSession, Actor, str, Form, Context], Awaitable[dict[str, Any]]]


def _fields(form: Form, *names: str) -> dict[str, str]:
    return {n: form[n] for n in names if form.get(n, "") != ""}


async def _acknowledge(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    await incidents.acknowledge(s, a, ref, clock=c.clock, via="web")
    return {}


async def _status(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.StatusIn.model_validate(_fields(f, "status", "note"))
    await incidents.set_status(s, a, ref, body.status, note=body.note, clock=c.clock)
    return {}


async def _severity(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.SeverityIn.model_validate(_fields(f, "severity", "reason"))
    await incidents.change_severity(s, a, ref, body.severity, reason=body.reason, clock=c.clock)
    return {}


async def _assign(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.RoleIn.model_validate(_fields(f, "role", "email"))
    await incidents.assign_role(s, a, ref, body.role, body.email, clock=c.clock)
    return {}


async def _relieve(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.RelieveIn.model_validate(_fields(f, "role", "email"))
    await incidents.relieve_role(s, a, ref, body.role, body.email, clock=c.clock)
    return {}


async def _note(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.NoteIn.model_validate({"text": f.get("text", "")})
    await incidents.add_note(s, a, ref, body.text, clock=c.clock)
    return {}


async def _check(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    body = schemas.CheckIn.model_validate({"checked": f.get("checked", "true") == "true"})
    item = f.get("item", "")
    if not item.isdigit():
        raise NotFound("no such checklist item", details={"field": "item"})
    await incidents.set_checked(s, a, ref, int(item), body.checked, clock=c.clock)
    return {}


async def _comms(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    """``preview`` renders only; ``send`` queues it (permission send-communications)."""
    fields = _fields(f, "template", "channel")
    update = {"progress": f["progress"]} if f.get("progress") else {}
    body = comms_schemas.SendIn.model_validate({**fields, "update": update})
    url = c.settings.public_url
    if f.get("do") == "preview":
        shown = await comms.preview(
            s, a, ref, body.template, update=body.update, clock=c.clock, public_url=url
        )
        return {"preview": shown}
    rows = await comms.send(
        s, a, ref, body.template, channel=body.channel, update=body.update, clock=c.clock,
        public_url=url,
    )  # fmt: skip
    return {"sent": len(rows)}


async def _mitigation(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    """Propose a mitigation (permission add-note, as the API)."""
    fields = _fields(f, "action", "risk", "expected_impact", "rollback_plan")
    body = schemas.MitigationIn.model_validate({"action": f.get("action", ""), **fields})
    await incidents.propose_mitigation(s, a, ref, body, clock=c.clock)
    return {}


async def _approve(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    """Approve a proposed mitigation (permission approve-rollback)."""
    proposal = f.get("proposal", "")
    if not proposal.isdigit() or len(proposal) > 12:
        raise NotFound("no such mitigation proposal", details={"field": "proposal"})
    await incidents.approve_mitigation(s, a, ref, int(proposal), clock=c.clock)
    return {}


#: A status-page update's component fields: ``component.<key>`` = the component's status.
COMPONENT_FIELD = "component."


async def _statuspage(s: AsyncSession, a: Actor, ref: str, f: Form, c: Context) -> dict[str, Any]:
    """``draft`` fills the form from the status page's template for the chosen status;
    ``publish`` posts what the form holds: a new public incident linked to this one, or
    an update of the one already open (permission update-status-page, as the API)."""
    status = f.get("status", "")
    if f.get("do") == "draft":
        fields = {"customer_impact": f["customer_impact"]} if f.get("customer_impact") else {}
        drafted = await statuspage.draft(
            s,
            a,
            statuspage_schemas.DraftIn.model_validate(
                {"incident": ref, "status": status, "fields": fields}
            ),
            clock=c.clock,
        )
        typed = {k: v for k, v in f.items() if not k.startswith(COMPONENT_FIELD)}
        typed |= {"name": drafted.name, "body": drafted.body}
        typed |= {COMPONENT_FIELD + k: v for k, v in drafted.components.items()}
        return {"typed": typed, "drafted": drafted.template}
    components = {
        k.removeprefix(COMPONENT_FIELD): v
        for k, v in f.items()
        if k.startswith(COMPONENT_FIELD) and v
    }
    body = {"status": status, "body": f.get("body", ""), "components": components}
    incident = await incidents.get(s, a, ref)
    current = await statuspage.open_for_incident(s, incident)
    if current is None:
        publish = {**body, "name": f.get("name", ""), "incident": incident.ref}
        await statuspage.publish(
            s, a, statuspage_schemas.PublishIn.model_validate(publish), clock=c.clock
        )
    else:
        update = statuspage_schemas.UpdateIn.model_validate(body)
        await statuspage.post_update(s, a, current.public_id, update, clock=c.clock)
    return {}


ACTIONS: dict[str, Action] = {
    "acknowledge": _acknowledge,
    "status": _status,
    "severity": _severity,
    "assign": _assign,
    "relieve": _relieve,
    "note": _note,
    "check": _check,
    "comms": _comms,
    "mitigation": _mitigation,
    "approve": _approve,
    "statuspage": _statuspage,
}


def find(name: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound(f"no action {name!r}", details={"action": name})
    return action
