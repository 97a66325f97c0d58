"""Checks of the policy's message templates (``templates:``), run by ``tocsin policy check``.

Each part of a template (subject, text, html) must be valid Jinja2, may name only the
fields Tocsin provides (:mod:`tocsin.comms.fields`: the same declaration the renderer's
context is tested against, so the two cannot drift), and must render both with every
field filled in and with every field empty, since at send time any optional field may be.
Names a template binds itself (``{% set %}``, ``{% for %}``, macro arguments) are its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from jinja2 import TemplateSyntaxError, nodes

from tocsin.comms import fields
from tocsin.comms.render import environment, visible
from tocsin.policy.schema import Policy
from tocsin.policy.schema_comms import TemplateSpec

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
Path = list[str | int]

#: Nodes that reach other templates; a policy template stands alone.
_ELSEWHERE: tuple[type[nodes.Node], ...] = (
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
)

PARTS = ("subject", "text", "html")


def _bound_names(tree: nodes.Template) -> set[str]:
    """Names the template binds itself: assignments, loop targets, macro names and args."""
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    names |= {m.name for m in tree.find_all(nodes.Macro)}
    return names


def _paths(node: nodes.Node) -> Iterator[tuple[Path, int]]:
    """Every chain of field lookups rooted at a name (``incident.roles["ic"]``), longest
    first, with its line; a lookup by a computed key ends what can be known of the chain."""
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
        parts: Path = []
        others: list[nodes.Node] = []
        current: nodes.Node = node
        while isinstance(current, nodes.Getattr | nodes.Getitem):
            if isinstance(current, nodes.Getattr):
                parts.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str | int):
                parts.append(current.arg.value)
            else:
                parts.clear()  # what follows a computed key cannot be checked
                others.append(current.arg)
            current = current.node
        if isinstance(current, nodes.Name):
            if current.ctx == "load":
                yield [current.name, *reversed(parts)], node.lineno
        else:
            others.append(current)
        for other in others:
            yield from _paths(other)
        return
    for child in node.iter_child_nodes():
        yield from _paths(child)


def check_source(
    key: str,
    part: str,
    source: str,
    *,
    locale: str,
    keys: Mapping[str, Collection[str]],
) -> list[str]:
    """What is wrong with one part of template ``key``: syntax, unknown fields, and
    errors when rendered with example values and with every field empty."""
    html = part == "html"
    env = environment(html=html)
    where = f"template {key!r} {part}"
    try:
        tree = env.parse(source)
        env.from_string(source)  # unknown filters and tests are found when compiling
    except TemplateSyntaxError as exc:
        at_line = f", line {exc.lineno}" if exc.lineno and part != "subject" else ""
        return [f"Jinja2 syntax error in {where}{at_line}: {exc.message}"]
    if any(tree.find(kind) is not None for kind in _ELSEWHERE):
        return [f"{where}: a template cannot extend, include or import other templates"]
    bound = _bound_names(tree) | fields.JINJA_NAMES
    problems: list[str] = []
    for path, line in _paths(tree):
        if path[0] in bound:
            continue
        at = f", line {line}" if part != "subject" and "\n" in source.strip() else ""
        problem = fields.unknown(path, keys=keys, where=f" in template {key!r}{at}")
        if problem is not None and problem not in problems:
            problems.append(problem)
    if problems:
        return problems
    template = env.from_string(source)
    for empty, how in ((False, "with example values"), (True, "when its fields are empty")):
        try:
            template.render(visible(fields.sample(keys, empty=empty), locale))
        except Exception as exc:  # whatever a template raises is the template's problem
            problems.append(f"{where} cannot be rendered {how}: {exc}")
    return problems


def check_spec(
    spec: TemplateSpec, *, locale: str, keys: Mapping[str, Collection[str]]
) -> list[tuple[str, str]]:
    """``(part, message)`` for every problem of one template."""
    sources: dict[str, str | None] = {"subject": spec.subject, "text": spec.text, "html": spec.html}
    return [
        (part, message)
        for part in PARTS
        if (source := sources[part]) is not None
        for message in check_source(spec.key, part, source, locale=locale, keys=keys)
    ]


def policy_keys(policy: Policy) -> dict[str, list[str]]:
    """The policy's keys that keyed fields are looked up by (``incident.roles[...]``)."""
    return {"role": [r.key for r in policy.roles]}


def check_templates(policy: Policy) -> list[Problem]:
    """Every problem of the policy's ``templates:`` section."""
    problems: list[Problem] = []
    keys = policy_keys(policy)
    seen: dict[tuple[str, str], int] = {}
    for i, spec in enumerate(policy.templates):
        locale = spec.locale or policy.organization.locale
        first = seen.setdefault((spec.key.lower(), locale), i)
        if first != i:
            problems.append(
                (
                    ("templates", i, "key"),
                    f"duplicate template {spec.key!r} for locale {locale!r} "
                    f"(also templates[{first}]; a template without a locale is in the "
                    f"organisation's, {policy.organization.locale!r})",
                )
            )
        for part, message in check_spec(spec, locale=locale, keys=keys):
            problems.append((("templates", i, part), message))
    return problems
