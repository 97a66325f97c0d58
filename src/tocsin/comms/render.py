"""Render a message template: the policy's own version if it has one, else the built-in.

Templates are Jinja2 in a sandbox with strict undefined names, so a template that names
a field Tocsin does not have fails loudly (``tocsin policy check`` finds it first). A field
Tocsin has but the incident has not filled in yet renders as a visible placeholder such as
``[not known yet: impact]``, never as a silent blank; it is false in ``{% if %}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from tocsin.errors import InvalidInput, NotFound
from tocsin.policy.schema import Policy
from tocsin.policy.schema_comms import TemplateSpec

LOCALES = ("en", "nl")
_PLACEHOLDER = {"en": "not known yet", "nl": "nog onbekend"}


@dataclass(frozen=True)
class Rendered:
    template: str
    locale: str
    subject: str
    text: str
    html: str | None = None


class Missing:
    """An empty field, shown as ``[not known yet: <field>]``."""

    def __init__(self, field: str, locale: str) -> None:
        self.field = field
        self.locale = locale

    def __str__(self) -> str:
        return f"[{_PLACEHOLDER.get(self.locale, _PLACEHOLDER['en'])}: {self.field}]"

    def __html__(self) -> Markup:
        return escape(str(self))

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def visible(value: Any, locale: str, path: str = "") -> Any:
    """``value`` with every empty field (``None``, ``""``, ``[]``) a :class:`Missing`."""
    if isinstance(value, Mapping):
        return {k: visible(v, locale, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if value is None or value == "" or value == []:
        return Missing(path.rsplit(".", 1)[-1].replace("_", " "), locale)
    return value


@cache
def builtin_templates(locale: str) -> dict[str, TemplateSpec]:
    """The templates Tocsin ships for ``locale`` (``comms/templates/<locale>.yaml``)."""
    text = resources.files("tocsin.comms").joinpath("templates", f"{locale}.yaml").read_text()
    data = yaml.safe_load(text) or {}
    return {key: TemplateSpec(key=key, locale=locale, **spec) for key, spec in data.items()}


def find(policy: Policy, key: str, locale: str | None = None) -> TemplateSpec:
    """The template ``key`` in ``locale`` (default: the organisation's): the policy's own
    first, then the built-in; a policy template without a locale serves every locale."""
    wanted = locale or policy.organization.locale
    if wanted not in LOCALES:
        raise InvalidInput(f"unknown locale {wanted!r} (known: {', '.join(LOCALES)})")
    own = [t for t in policy.templates if t.key == key]
    for spec in own:
        if (spec.locale or policy.organization.locale) == wanted:
            return spec
    builtin = builtin_templates(wanted).get(key)
    if builtin is not None:
        return builtin
    if own:
        return own[0]
    known = sorted({t.key for t in policy.templates} | set(builtin_templates(wanted)))
    raise NotFound(f"no template {key!r} (known: {', '.join(known)})", details={"template": key})


@cache
def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_spec(spec: TemplateSpec, context: Mapping[str, Any], locale: str) -> Rendered:
    """Render one template with ``context`` (plain data: dicts, strings, numbers)."""
    shown = visible(dict(context), locale)
    try:
        subject = _environment(False).from_string(spec.subject).render(shown).strip()
        text = _environment(False).from_string(spec.text).render(shown).strip() + "\n"
        html = (
            _environment(True).from_string(spec.html).render(shown)
            if spec.html is not None
            else None
        )
    except TemplateError as exc:
        raise InvalidInput(
            f"template {spec.key!r} ({locale}) cannot be rendered: {exc}",
            details={"template": spec.key, "locale": locale},
        ) from exc
    return Rendered(template=spec.key, locale=locale, subject=subject, text=text, html=html)


def render(
    policy: Policy, key: str, context: Mapping[str, Any], *, locale: str | None = None
) -> Rendered:
    """Render template ``key`` for ``locale`` (default: the organisation's)."""
    chosen = locale or policy.organization.locale
    return render_spec(find(policy, key, chosen), context, chosen)
