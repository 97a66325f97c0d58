"""Render a message template: the policy's own version if it has one, else the built-in.

Templates are Jinja2 in a sandbox with strict undefined names, so a template that names
a field Tocsin does not have fails loudly (``tocsin policy check`` finds it first). A field
Tocsin has but the incident has not filled in yet renders as a visible placeholder such as
``[not known yet: impact]``, never as a silent blank; it is false in ``{% if %}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from tocsin.errors import InvalidInput, NotFound
from tocsin.policy.schema import Policy
from tocsin.policy.schema_comms import TemplateSpec

LOCALES = ("en", "nl")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_PLACEHOLDER = {"en": "not known yet", "nl": "nog onbekend"}


@dataclass(frozen=True)
class Rendered:
    template: str
    locale: str
    subject: str
    text: str
    html: str | None = None


class Missing:
    """An empty field, shown as ``[not known yet: <field>]`` (escaped in HTML).

    It is false (``{% if update.eta %}``, ``update.eta or "soon"``), iterates as nothing,
    and a field looked up on it is missing too, so ``page.reason`` of an absent page shows
    ``[not known yet: reason]`` rather than failing.
    """

    # Underscored: a template can name no attribute of it but the fields it stands for.
    def __init__(self, field: str, locale: str) -> None:
        self._field = field
        self._locale = locale

    def __str__(self) -> str:
        return f"[{_PLACEHOLDER.get(self._locale, _PLACEHOLDER['en'])}: {self._field}]"

    def __repr__(self) -> str:
        return f"Missing({self._field!r}, {self._locale!r})"

    def __html__(self) -> Markup:
        return escape(str(self))

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __getattr__(self, name: str) -> Missing:
        if name.startswith(("_", "jinja")):  # Python's and Jinja's own probes
            raise AttributeError(name)
        return Missing(_label(name), self._locale)

    def __getitem__(self, key: object) -> Missing:
        return Missing(_label(str(key)), self._locale)

    def __call__(self, *args: object, **kwargs: object) -> Missing:
        return self  # incident.roles.items() of an empty mapping


def _label(name: str) -> str:
    return name.replace("_", " ")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)


def visible(value: Any, locale: str, path: str = "") -> Any:
    """``value`` with every empty field (``None``, ``""``, ``[]``, ``{}``), at any depth and
    in lists too, a :class:`Missing` named after the field."""
    if isinstance(value, Mapping) and value:
        return {k: visible(v, locale, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple) and value:
        return [visible(item, locale, path) for item in value]
    if _empty(value):
        return Missing(_label(path.rsplit(".", 1)[-1]), locale)
    return value


@cache
def builtin_templates(locale: str) -> dict[str, TemplateSpec]:
    """The templates Tocsin ships for ``locale`` (``comms/templates/<locale>.yaml``)."""
    text = resources.files("tocsin.comms").joinpath("templates", f"{locale}.yaml").read_text()
    data = yaml.safe_load(text) or {}
    return {key: TemplateSpec(key=key, locale=locale, **spec) for key, spec in data.items()}


def find(policy: Policy, key: str, locale: str | None = None) -> TemplateSpec:
    """The template ``key`` in ``locale`` (default: the organisation's): the policy's own
    first, then the built-in; a policy template without a locale is in the organisation's
    locale and, where there is no built-in of its key, serves every locale."""
    wanted = locale or policy.organization.locale
    if wanted not in LOCALES:
        raise InvalidInput(
            f"unknown locale {wanted!r} (known: {', '.join(LOCALES)})",
            details={"field": "locale", "value": wanted},
        )
    own = [t for t in policy.templates if t.key == key]
    for spec in own:
        if (spec.locale or policy.organization.locale) == wanted:
            return spec
    builtin = builtin_templates(wanted).get(key)
    if builtin is not None:
        return builtin
    loose = next((t for t in own if t.locale is None), None)
    if loose is not None:
        return loose
    if own:
        has = ", ".join(sorted({t.locale or policy.organization.locale for t in own}))
        raise InvalidInput(
            f"template {key!r} has no {wanted!r} version (the policy has it in: {has})",
            details={"template": key, "locale": wanted},
        )
    known = sorted({t.key for t in policy.templates} | set(builtin_templates(wanted)))
    raise NotFound(f"no template {key!r} (known: {', '.join(known)})", details={"template": key})


def catalogue(policy: Policy) -> list[dict[str, str]]:
    """Every template per locale: ``key``, ``locale``, ``source`` (``builtin`` or
    ``policy``) and ``description``; the one :func:`find` would use for that key and locale."""
    keys = sorted(
        {t.key for t in policy.templates} | {k for loc in LOCALES for k in builtin_templates(loc)}
    )
    out = []
    for locale in LOCALES:
        for key in keys:
            try:
                spec = find(policy, key, locale)
            except (NotFound, InvalidInput):
                continue
            source = "builtin" if spec is builtin_templates(locale).get(key) else "policy"
            out.append(
                {"key": key, "locale": locale, "source": source, "description": spec.description}
            )
    return out


@cache
def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


#: What a template can raise while it renders: Jinja's own errors, and a filter or an
#: operator given a value it cannot take (``"%d" | format(incident.title)``).
_RENDER_ERRORS = (
    TemplateError,
    TypeError,
    ValueError,
    ArithmeticError,
    LookupError,
    AttributeError,
)


def environment(*, html: bool = False) -> SandboxedEnvironment:
    """The Jinja2 environment templates render in (HTML: with autoescaping)."""
    return _environment(html)


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Template:
    """A template's source compiled once: compiling costs far more than rendering."""
    return _environment(html).from_string(source)


def render_spec(spec: TemplateSpec, context: Mapping[str, Any], locale: str) -> Rendered:
    """Render one template with ``context`` (plain data: dicts, strings, numbers).

    The subject becomes one line; the text loses runs of blank lines that optional blocks
    left behind. An error names the template, the part (subject, text, html) and why.
    """
    shown = visible(dict(context), locale)
    parts: dict[str, str] = {}
    for part, source in (("subject", spec.subject), ("text", spec.text), ("html", spec.html)):
        if source is None:
            continue
        try:
            parts[part] = _compiled(source, part == "html").render(shown)
        except _RENDER_ERRORS as exc:
            where = f", line {exc.lineno}" if isinstance(exc, TemplateSyntaxError) else ""
            raise InvalidInput(
                f"template {spec.key!r} ({locale}) {part}{where} cannot be rendered: {exc}",
                details={"template": spec.key, "locale": locale, "part": part},
            ) from exc
    text = _BLANK_RUNS.sub("\n\n", parts["text"]).strip() + "\n"
    return Rendered(
        template=spec.key,
        locale=locale,
        subject=" ".join(parts["subject"].split()),
        text=text,
        html=parts.get("html"),
    )


def render(
    policy: Policy, key: str, context: Mapping[str, Any], *, locale: str | None = None
) -> Rendered:
    """Render template ``key`` for ``locale`` (default: the organisation's)."""
    chosen = locale or policy.organization.locale
    return render_spec(find(policy, key, chosen), context, chosen)
