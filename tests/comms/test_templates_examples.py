"""The example policies' own templates: in their seed's words and language, with no seed
placeholder left, passing the field check and rendering with a real incident (on SQLite
and PostgreSQL) from declaration to resolution."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tocsin.auth.actor import SYSTEM
from tocsin.comms import render
from tocsin.comms.context import UPDATE_FIELDS, incident_context
from tocsin.context import Context
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.policy import service as policies
from tocsin.policy.checks_templates import check_templates
from tocsin.policy.loader import load_policy_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
SEEDS = {
    "seed-000": (
        "nl",
        {
            "incident-declared",
            "incident-update",
            "incident-resolved",
            "status-investigating",
            "status-identified",
            "status-resolved",
            "customer-email",
        },
    ),
    "seed-001": (
        "nl",
        {
            "incident-declared",
            "incident-update",
            "incident-resolved",
            "status-investigating",
            "status-identified",
            "status-monitoring",
            "status-resolved",
        },
    ),
    "seed-003": ("en", {"incident-declared", "incident-update", "incident-resolved"}),
    "seed-004": (
        "en",
        {
            "acknowledged",
            "mitigation-proposed",
            "status-investigating",
            "status-monitoring",
            "status-resolved",
            "subscriber-notification",
            "support-faq",
            "vendor-escalation",
            "incident-resolved",
            "executive-summary",
        },
    ),
}
#: Brackets the seeds' messages really contain (a checkbox, a tag in a subject line).
LITERAL_BRACKETS = {"[ ]", "[URGENT]", "[MLC]"}
SEED_PLACEHOLDER = re.compile(r"\[[^\]\n]*\]")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def example(prefix: str) -> Path:
    (path,) = EXAMPLES.glob(f"{prefix}-*.yaml")
    return path


@pytest.mark.parametrize("prefix", sorted(SEEDS))
def test_each_seed_has_its_templates_and_no_seed_placeholder(prefix: str) -> None:
    locale, keys = SEEDS[prefix]
    policy = load_policy_file(example(prefix))[1]
    assert policy.organization.locale == locale
    assert {t.key for t in policy.templates} == keys
    assert check_templates(policy) == []
    for spec in policy.templates:
        assert spec.description.strip(), spec.key
        for part in (spec.subject, spec.text):
            found = SEED_PLACEHOLDER.findall(JINJA.sub("§", part))  # § stands for a field
            leftovers = {f for f in found if "§" not in f} - LITERAL_BRACKETS
            assert not leftovers, (spec.key, leftovers)


def test_the_seeds_own_words_and_languages() -> None:
    own = {
        prefix: {t.key: t for t in load_policy_file(example(prefix))[1].templates}
        for prefix in SEEDS
    }
    aol = own["seed-000"]
    assert aol["incident-declared"].subject == "🚨 [{{ incident.severity }}] INCIDENT DECLARED"
    assert "Updates volgen in deze thread elke" in aol["incident-declared"].text
    # The status page is English in seed 000, the customer e-mail Dutch.
    assert "We are currently investigating" in aol["status-investigating"].text
    assert aol["customer-email"].subject.startswith("Service Update - ")
    assert "We willen je informeren over een storing" in aol["customer-email"].text
    assert own["seed-001"]["incident-update"].text == own["seed-001"]["incident-declared"].text
    assert "SERVICE STATUS UPDATE" in own["seed-001"]["status-resolved"].subject
    assert (
        "Post-mortem will be shared within 24 hours." in own["seed-003"]["incident-resolved"].text
    )
    mlc = own["seed-004"]
    assert mlc["subscriber-notification"].subject.startswith("[MLC] Service Disruption - ")
    assert "Dear Music Learning Community Member," in mlc["subscriber-notification"].text
    assert "Please prioritize this issue" in mlc["vendor-escalation"].text
    assert mlc["status-monitoring"].description == "Status Page Template - Mitigated"


@pytest.mark.parametrize("prefix", sorted(SEEDS))
async def test_example_templates_render_with_a_real_incident(ctx: Context, prefix: str) -> None:
    path = example(prefix)
    locale, keys = SEEDS[prefix]
    async with ctx.db.write() as session:
        await policies.apply(
            session, SYSTEM, path.read_text(encoding="utf-8"), clock=ctx.clock, source=path.name
        )
        policy = await policies.current_policy(session)
        severity = policy.severities[0].key
        data = schemas.DeclareIn(
            title="Login fails",
            severity=severity,
            components=[c.key for c in policy.components[:1]],
            impact=schemas.Impact(users_affected=120, business_impact="No sign-ups"),
        )
        ref = (await incidents.declare(session, SYSTEM, data, clock=ctx.clock)).ref
    update = {name: f"<{name}>" for name in UPDATE_FIELDS}
    for stage in ("investigating", "resolved"):
        if stage == "resolved":
            async with ctx.db.write() as session:
                await incidents.set_status(session, SYSTEM, ref, "resolved", clock=ctx.clock)
        async with ctx.db.read() as session:
            incident = await incidents.get(session, SYSTEM, ref)
            context = await incident_context(
                session, policy, incident, clock=ctx.clock, update=update
            )
            empty = await incident_context(session, policy, incident, clock=ctx.clock)
        for key in keys:
            full = render.render(policy, key, context)
            assert full.locale == locale
            assert full.subject and full.text.strip(), key
            assert "None" not in full.subject + full.text, (key, full.text)
            bare = render.render(policy, key, empty)
            assert "None" not in bare.subject + bare.text, (key, bare.text)
