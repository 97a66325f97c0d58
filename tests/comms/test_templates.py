"""Message templates: the built-ins in English and Dutch, the field schema the policy
check uses (held equal to what ``incident_context`` builds), placeholders for empty fields,
and the check of a policy's own templates with its messages and line numbers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup

from tocsin.auth.actor import SYSTEM
from tocsin.comms import fields, render
from tocsin.comms.context import UPDATE_FIELDS, incident_context
from tocsin.comms.render import Missing, builtin_templates, render_spec, visible
from tocsin.context import Context
from tocsin.errors import InvalidInput, NotFound
from tocsin.incidents import schemas
from tocsin.incidents import service as incidents
from tocsin.policy import service as policies
from tocsin.policy.checks_templates import check_spec, check_templates, policy_keys
from tocsin.policy.loader import parse_policy
from tocsin.policy.schema import Policy
from tocsin.policy.schema_comms import TemplateSpec

KEYS = (
    "page",
    "incident-declared",
    "incident-update",
    "incident-resolved",
    "acknowledged",
    "mitigation-proposed",
    "status-investigating",
    "status-identified",
    "status-monitoring",
    "status-resolved",
    "customer-email",
    "subscriber-notification",
    "vendor-escalation",
    "support-faq",
    "executive-summary",
    "reminder",
)
E_MAILS = ("customer-email", "subscriber-notification", "vendor-escalation", "executive-summary")
PLACEHOLDER = {"en": "[not known yet: ", "nl": "[nog onbekend: "}

BASE = """\
tocsin: 1
organization: {name: Example Shop, locale: LOCALE, timezone: Europe/Amsterdam}
severities:
  - {key: SEV1, name: Critical, update_every: 30m}
  - {key: SEV2, name: Major}
roles:
  - {key: incident-commander, name: Incident Commander, exclusive: true,
     permissions: [acknowledge, update-status, assign-roles]}
  - {key: scribe, name: Scribe}
people:
  - {email: dana@example.com, name: Dana Lead, roles: [incident-commander]}
"""


def policy_text(templates: str = "", locale: str = "en") -> str:
    return BASE.replace("LOCALE", locale) + templates


def parsed(templates: str, locale: str = "en") -> tuple[Policy | None, list[Any]]:
    return parse_policy(policy_text(templates, locale), "shop.yaml")


def keys_of(value: Mapping[str, Any]) -> set[str]:
    return set(value)


# --- the built-ins --------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_every_builtin_exists_in_both_locales(locale: str) -> None:
    builtins = builtin_templates(locale)
    assert set(builtins) == set(KEYS)
    for key, spec in builtins.items():
        assert spec.locale == locale and spec.key == key
        assert spec.description.strip(), key
        assert spec.subject.strip(), key
    for key in E_MAILS:
        assert builtins[key].subject


#: What the built-in page says, per locale: the link, the SMS reply code, the code in a call.
PAGE_LINES = {
    "en": (
        "Acknowledge: https://t.example/ack/x1",
        "Reply 483920 to this SMS to acknowledge.",
        "To acknowledge, text the code 4 8 3 9 2 0 to this number.",
    ),
    "nl": (
        "Bevestigen: https://t.example/ack/x1",
        "Antwoord 483920 op deze sms om te bevestigen.",
        "Bevestigen: sms de code 4 8 3 9 2 0 naar dit nummer.",
    ),
}


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize(
    "channel", ["sms", "voice", "email", "slack", "slack_webhook", "teams", "webhook", "apprise"]
)
def test_page_shows_the_code_in_texts_and_calls_and_the_link_elsewhere(
    locale: str, channel: str
) -> None:
    context = {
        "incident": {"severity_name": "Critical", "ref": "INC-1", "title": "Checkout down"},
        "page": {
            "reason": "You are on call.",
            "ack_url": "https://t.example/ack/x1",
            "ack_code": "483920",
            "channel": channel,
        },
    }
    page = render_spec(builtin_templates(locale)["page"], context, locale)
    link, sms, call = PAGE_LINES[locale]
    expected = {"sms": sms, "voice": call}.get(channel, link)
    assert page.text == f"Critical INC-1: Checkout down\nYou are on call.\n{expected}\n"
    # A link is no use read out or in a text; a reply code is no use in an e-mail or chat.
    assert ("/ack/" in page.text) == (channel not in ("sms", "voice"))
    assert ("483920" in page.text or "4 8 3 9 2 0" in page.text) == (channel in ("sms", "voice"))


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("key", KEYS)
def test_builtins_pass_the_policy_check(locale: str, key: str) -> None:
    spec = builtin_templates(locale)[key]
    assert check_spec(spec, locale=locale, keys={"role": ["incident-commander"]}) == []


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("key", KEYS)
def test_builtins_render_with_the_declared_fields(locale: str, key: str) -> None:
    spec = builtin_templates(locale)[key]
    full = render_spec(spec, fields.sample({"role": ["incident-commander"]}), locale)
    assert PLACEHOLDER[locale] not in full.text + full.subject, full.text
    assert "None" not in full.text
    assert "\n\n\n" not in full.text
    empty = render_spec(spec, fields.sample({"role": []}, empty=True), locale)
    assert "None" not in empty.text and empty.text.strip()


def test_dutch_builtins_are_dutch() -> None:
    nl = builtin_templates("nl")
    assert nl["customer-email"].text.startswith('Beste {{ update.recipient_name or "klant" }}')
    assert "Met vriendelijke groet" in nl["customer-email"].text
    assert nl["status-resolved"].subject.startswith("Opgelost")
    assert "Managementsamenvatting" in nl["executive-summary"].subject
    assert "V: " in nl["support-faq"].text and "A: " in nl["support-faq"].text
    assert "[SPOED]" in nl["vendor-escalation"].subject


# --- the field schema and incident_context cannot drift --------------------------------


async def _incident(ctx: Context, policy_yaml: str) -> tuple[Policy, Any]:
    async with ctx.db.write() as session:
        await policies.apply(session, SYSTEM, policy_yaml, clock=ctx.clock, source="shop.yaml")
        data = schemas.DeclareIn(
            title="Checkout <returns> 500",
            severity="SEV1",
            summary="Payments fail for everyone",
        )
        incident = await incidents.declare(session, SYSTEM, data, clock=ctx.clock)
        await incidents.assign_role(
            session, SYSTEM, incident.ref, "incident-commander", "dana@example.com", clock=ctx.clock
        )
        _, policy = await policies.current(session)
        return policy, incident.ref


async def test_schema_equals_what_incident_context_builds(ctx: Context) -> None:
    policy, ref = await _incident(ctx, policy_text())
    async with ctx.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
        plain = await incident_context(session, policy, incident, clock=ctx.clock)
        full = await incident_context(
            session,
            policy,
            incident,
            clock=ctx.clock,
            public_url="https://tocsin.example.com",
            page={"reason": "on call"},
            notice={"reason": "post an update"},
        )
    assert keys_of(plain) == set(fields.ROOTS)
    assert keys_of(full) == set(fields.FIELDS)
    for root, spec in fields.FIELDS.items():
        if spec.is_record:
            assert keys_of(full[root]) == set(spec.fields), root
    assert keys_of(full["incident"]["roles"]) == set(policy_keys(policy)["role"])
    assert tuple(full["update"]) == UPDATE_FIELDS == tuple(fields.UPDATE_FIELDS)
    # Every leaf is plain data a template can print.
    for name, spec in fields.flatten():
        root, *rest = name.split(".")
        value: Any = full[root]
        for part in rest:
            value = value[part]
        if spec.keyed_by is None:
            assert value is None or isinstance(value, str | int | float), name
    assert full["incident"]["commander"] == "Dana Lead"
    assert full["incident"]["roles"] == {"incident-commander": "Dana Lead", "scribe": None}
    assert full["incident"]["update_every"] == "30 min"
    assert full["incident"]["next_update_at"] == "2026-01-15 10:30 CET"
    assert full["incident"]["url"] == f"https://tocsin.example.com/incidents/{ref}"


@pytest.mark.parametrize("locale", ["en", "nl"])
async def test_every_builtin_renders_with_a_real_incident(ctx: Context, locale: str) -> None:
    policy, ref = await _incident(ctx, policy_text(locale=locale))
    async with ctx.db.read() as session:
        incident = await incidents.get(session, SYSTEM, ref)
        context = await incident_context(
            session,
            policy,
            incident,
            clock=ctx.clock,
            update={"progress": "Rolled back", "eta": "11:00"},
            page={"reason": "on call", "ack_url": "https://t.example/ack/1", "ack_code": "42"},
            notice={"reason": "Post an update"},
        )
    for key in KEYS:
        out = render.render(policy, key, context)
        assert out.locale == locale and out.template == key
        assert "None" not in out.text + out.subject
        if key not in ("status-investigating", "status-monitoring", "status-resolved"):
            assert ref in out.subject + out.text or "Checkout" in out.subject, key
        if out.html is not None:
            assert "Checkout &lt;returns&gt; 500" in out.html  # escaped in HTML
            assert "<returns>" not in out.html
    update = render.render(policy, "incident-update", context)
    assert "Rolled back" in update.text and "11:00" in update.text
    empty_summary = {**context, "update": dict.fromkeys(UPDATE_FIELDS)}
    resolved = render.render(policy, "incident-resolved", empty_summary)
    word = {"en": "Root cause", "nl": "Oorzaak"}[locale]
    assert f"{word}: {PLACEHOLDER[locale]}root cause]" in resolved.text


# --- placeholders ----------------------------------------------------------------------


def spec(text: str, html: str | None = None, subject: str = "") -> TemplateSpec:
    return TemplateSpec(key="t", text=text, html=html, subject=subject)


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("en", "[not known yet: impact]"), ("nl", "[nog onbekend: impact]")],
)
def test_an_empty_field_is_a_visible_placeholder(locale: str, shown: str) -> None:
    context = {"incident": {"impact": None, "title": "Down"}}
    assert render_spec(spec("Impact: {{ incident.impact }}"), context, locale).text == (
        f"Impact: {shown}\n"
    )


def test_placeholders_at_any_depth_and_of_any_emptiness() -> None:
    context = {
        "a": {"b": {"c": {"d": None}}, "empty": "", "none": [], "nothing": {}},
        "rows": [{"name": None}, {"name": "x"}],
    }
    text = (
        "{{ a.b.c.d }}|{{ a.empty }}|{{ a.none }}|{{ a.nothing }}|"
        "{{ a.nothing.deeper.still }}|{{ rows[0].name }}|{{ rows[1].name }}"
    )
    out = render_spec(spec(text), context, "en").text
    assert out == (
        "[not known yet: d]|[not known yet: empty]|[not known yet: none]|"
        "[not known yet: nothing]|[not known yet: still]|[not known yet: name]|x\n"
    )


def test_a_placeholder_is_false_in_if_and_or() -> None:
    context = {"update": {"eta": None, "progress": "ok"}}
    text = (
        "{% if update.eta %}ETA {{ update.eta }}{% else %}no eta{% endif %}|"
        "{{ update.eta or 'soon' }}|{{ 'yes' if update.eta else 'no' }}|"
        "{{ update.eta | length }}|{% for x in update.eta %}{{ x }}{% endfor %}|"
        "{{ update.eta is defined }}|{{ update.progress }}"
    )
    assert render_spec(spec(text), context, "en").text == "no eta|soon|no|0||True|ok\n"


def test_placeholders_are_escaped_in_html_and_values_too() -> None:
    context = {"x": {"<b>": None, "v": "<script>alert(1)</script>"}}
    out = render_spec(spec("{{ x['<b>'] }}", html="<p>{{ x['<b>'] }} {{ x.v }}</p>"), context, "en")
    assert out.text == "[not known yet: <b>]\n"  # plain text is not HTML
    assert out.html == "<p>[not known yet: &lt;b&gt;] &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert Markup(Missing("a&b", "en").__html__()) == "[not known yet: a&amp;b]"


def test_visible_keeps_real_values() -> None:
    shown = visible({"n": 0, "f": 0.0, "flag": False, "s": "x", "l": [1]}, "en")
    assert shown == {"n": 0, "f": 0.0, "flag": False, "s": "x", "l": [1]}


def test_subject_is_one_line_and_blank_runs_collapse() -> None:
    context = {"update": {"status": "a\nb", "x": None}}
    out = render_spec(
        spec("one\n{% if update.x %}\nx\n{% endif %}\n\n\n\ntwo", subject="S: {{ update.status }}"),
        context,
        "en",
    )
    assert out.subject == "S: a b"
    assert out.text == "one\n\ntwo\n"


def test_a_render_error_says_which_template_and_part() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_spec(spec("{{ '%d' | format(update.eta) }}"), {"update": {"eta": None}}, "en")
    assert "template 't' (en) text cannot be rendered" in caught.value.message


# --- finding templates -----------------------------------------------------------------


def test_policy_templates_replace_builtins_per_locale() -> None:
    own = """\
templates:
  - {key: incident-update, text: "ours {{ incident.ref }}"}
  - {key: incident-update, locale: en, text: "ours in English"}
  - {key: shop-only, locale: nl, text: "alleen nl"}
  - {key: anywhere, text: "any locale"}
"""
    policy, problems = parsed(own, locale="nl")
    assert problems == [] and policy is not None
    assert render.find(policy, "incident-update").text == "ours {{ incident.ref }}"
    assert render.find(policy, "incident-update", "en").text == "ours in English"
    assert (
        render.find(policy, "incident-declared", "en")
        is builtin_templates("en")["incident-declared"]
    )
    assert render.find(policy, "anywhere", "en").text == "any locale"
    with pytest.raises(InvalidInput, match=r"template 'shop-only' has no 'en' version"):
        render.find(policy, "shop-only", "en")
    with pytest.raises(InvalidInput, match=r"unknown locale 'fr' \(known: en, nl\)"):
        render.find(policy, "incident-update", "fr")
    with pytest.raises(NotFound, match=r"no template 'nope' \(known: .*anywhere"):
        render.find(policy, "nope")
    listed = {(t["key"], t["locale"]): t["source"] for t in render.catalogue(policy)}
    assert listed[("incident-update", "nl")] == "policy"
    assert listed[("incident-update", "en")] == "policy"
    assert listed[("incident-declared", "en")] == "builtin"
    assert listed[("shop-only", "nl")] == "policy"
    assert ("shop-only", "en") not in listed
    assert len(listed) == 2 * len(KEYS) + 3


# --- the policy check ------------------------------------------------------------------


def messages(problems: list[Any]) -> list[str]:
    return [str(p) for p in problems]


def test_an_unknown_field_fails_the_check_with_its_location() -> None:
    own = """\
templates:
  - key: incident-declared
    subject: "{{ incident.ref }}"
    text: |
      Hello
      {{ incident.titel }}
"""
    policy, problems = parsed(own)
    assert policy is None
    assert messages(problems) == [
        "shop.yaml:15: templates[0].text: unknown field 'incident.titel' in template "
        "'incident-declared', line 2 (known incident fields: acknowledged_at, acknowledged_by, "
        "commander, components, declared_at, declared_by, detected_at, duration, "
        "duration_minutes, identified_at, impact, mitigated_at, next_update_at, ref, "
        "resolved_at, roles, severity, severity_definition, severity_name, status, summary, "
        "title, type, type_name, update_every, url, users_affected, users_affected_pct)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{{ incidnt.ref }}",
            "unknown field 'incidnt' in template 'x' (known fields: incident, notice, now, org, page, update)",
        ),
        (
            "{{ update.progres }}",
            "unknown field 'update.progres' in template 'x' (known update fields: account_id,",
        ),
        ("{{ org.name.upper() }}", None),  # a method of a value is the value's business
        (
            "{{ org.name.first }}",
            "template 'x' text cannot be rendered with example values: 'str object' has no attribute 'first'",
        ),
        ("{{ incident.roles['scribe'] }}", None),
        (
            "{{ incident.roles['cook'] }}",
            "unknown role 'cook' in incident.roles in template 'x' (known: incident-commander, scribe)",
        ),
        ("{% for k, v in incident.roles.items() %}{{ k }}={{ v }}{% endfor %}", None),
        ("{% set who = incident.commander %}{{ who }}", None),
        ("{% set ns = namespace(n=0) %}{% set ns.n = 1 %}{{ ns.n }}", None),
        (
            "{% macro line(label, value) %}{{ label }}: {{ value }}{% endmacro %}{{ line('ETA', update.eta) }}",
            None,
        ),
        ("{% for c in [incident.title] %}{{ c }}{{ loop.index }}{% endfor %}", None),
        # Bound later in the template: not an unknown field, but undefined when printed.
        (
            "{{ who }}{% set who = 1 %}",
            "template 'x' text cannot be rendered with example values: 'who' is undefined",
        ),
        ("{{ page.ack_url }} {{ notice.reason }}", None),
        (
            "{{ page.ack }}",
            "unknown field 'page.ack' in template 'x' (known page fields: ack_code, ack_url, channel, reason)",
        ),
        ("{% for k in ['title', 'ref'] %}{{ incident[k] }}{% endfor %}", None),
        (
            "{{ incident[update.eta] }}",
            "template 'x' text cannot be rendered with example values: 'dict object' has no attribute 'within the hour'",
        ),
        ("{{ incident['title'] }}{{ incident.severity }}", None),
        (
            "{% include 'other' %}",
            "template 'x' text: a template cannot extend, include or import other templates",
        ),
        (
            "{{ incident.title | nosuchfilter }}",
            "Jinja2 syntax error in template 'x' text, line 1: No filter named 'nosuchfilter'.",
        ),
        (
            "{{ '%d' | format(incident.users_affected) }}",
            "template 'x' text cannot be rendered when its fields are empty: %d format: a real number is required, not Missing",
        ),
    ],
)
def test_check_of_one_template(text: str, message: str | None) -> None:
    problems = check_spec(
        TemplateSpec(key="x", text=text),
        locale="en",
        keys={"role": ["incident-commander", "scribe"]},
    )
    if message is None:
        assert problems == []
    else:
        assert problems, text
        assert {part for part, _ in problems} == {"text"}
        assert problems[0][1].startswith(message), problems[0][1]


def test_a_syntax_error_names_its_line_and_part() -> None:
    own = """\
templates:
  - key: status-investigating
    subject: "{{ incident.title"
    text: |
      fine
      {% if incident.impact %}
      no end
    html: "<p>{{ org.name }}</p>"
"""
    policy, problems = parsed(own)
    assert policy is None
    assert messages(problems) == [
        "shop.yaml:14: templates[0].subject: Jinja2 syntax error in template "
        "'status-investigating' subject: unexpected end of template, expected 'end of print "
        "statement'.",
        "shop.yaml:15: templates[0].text: Jinja2 syntax error in template "
        "'status-investigating' text, line 3: Unexpected end of template. Jinja was looking "
        "for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs "
        "to be closed is 'if'.",
    ]


def test_the_same_key_and_locale_twice_is_a_problem() -> None:
    own = """\
templates:
  - {key: incident-update, text: "a"}
  - {key: incident-update, locale: en, text: "b"}
  - {key: incident-update, locale: nl, text: "c"}
  - {key: Incident-Update, locale: nl, text: "d"}
"""
    policy, problems = parsed(own)
    assert policy is None
    assert messages(problems) == [
        "shop.yaml:14: templates[1].key: duplicate template 'incident-update' for locale 'en' "
        "(also templates[0]; a template without a locale is in the organisation's, 'en')",
        "shop.yaml:16: templates[3].key: duplicate template 'Incident-Update' for locale 'nl' "
        "(also templates[2]; a template without a locale is in the organisation's, 'en')",
    ]


def test_html_parts_are_checked_too() -> None:
    own = """\
templates:
  - key: customer-email
    text: "{{ incident.title }}"
    html: "<p>{{ incident.nope }}</p>"
"""
    policy, problems = parsed(own)
    assert policy is None and len(problems) == 1
    assert problems[0].path == "templates[0].html"
    assert "unknown field 'incident.nope' in template 'customer-email'" in problems[0].message


def test_a_valid_policy_template_passes(tmp_path: Any) -> None:
    own = """\
templates:
  - key: incident-declared
    description: ours
    subject: "[{{ incident.severity }}] {{ incident.title }}"
    text: |
      {% set ic = incident.roles["incident-commander"] %}
      {{ incident.ref }} led by {{ ic }}
      {% if update.eta %}ETA {{ update.eta }}{% endif %}
    html: "<b>{{ incident.title }}</b>"
"""
    policy, problems = parsed(own)
    assert problems == [] and policy is not None
    assert check_templates(policy) == []


def test_docs_list_every_field_and_builtin() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "comms.md").read_text(encoding="utf-8")
    for name, spec in fields.flatten():
        shown = f'`{name}["KEY"]`' if spec.keyed_by else f"`{name}`"
        assert f"| {shown} |" in docs, name
    for key in KEYS:
        assert f"| `{key}` |" in docs, key
    assert docs.rsplit("\n## ", 1)[1].startswith("Routes\n")  # the last section
