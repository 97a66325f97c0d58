"""A postmortem as Markdown, and an edited Markdown document read back. Pure: no I/O.

The document is ``# title``, then one ``**Label:** value`` line per header field, then
each section as a heading (``##``, ``###`` ...) and its text. Reading matches headings
to the postmortem's sections by level and text; any other heading is text of the section
it stands in. Written → read gives back exactly the same title, fields and sections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.errors import InvalidInput
from tocsin.postmortems.document import clean, one_line

_FIELD = re.compile(r"^(?:- )?\*\*(?P<label>[^*]+?)(?::\*\*|\*\*:)(?: (?P<value>.*))?$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6}) (?P<text>.+?)\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Parsed:
    title: str
    #: Header values by field key (live fields included, as written).
    fields: dict[str, str]
    #: Section bodies by section key (the action items section left out).
    sections: dict[str, str]


def write(
    title: str,
    field_format: str,
    fields: Sequence[Mapping[str, Any]],
    sections: Sequence[Mapping[str, Any]],
    *,
    live: Mapping[str, str],
    generated: Mapping[str, str],
) -> str:
    """``live``: values of live header fields by key; ``generated``: bodies of sections
    rendered from data (the action items) by fill."""
    lines = [f"# {title}", ""]
    for f in fields:
        value = live.get(f["key"], f["value"]) if f["key"] in live else f["value"]
        lines.append(field_format.format(label=f["label"], value=value).rstrip())
    if fields:
        lines.append("")
    for s in sections:
        body = generated.get(s["fill"], s["body"]) if s["fill"] in generated else s["body"]
        lines.append(f"{'#' * s['level']} {s['heading']}")
        lines.append("")
        if body:
            lines += [body, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _problem(line: int, message: str) -> InvalidInput:
    return InvalidInput(f"line {line}: {message}", details={"line": line})


def read(
    text: str,
    fields: Sequence[Mapping[str, Any]],
    sections: Sequence[Mapping[str, Any]],
) -> Parsed:
    """Read an edited document back into this postmortem's fields and sections.

    Raises :class:`InvalidInput` naming the line for a missing title, an unknown header
    line, a section that appears twice, and the sections that are missing.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    number = next((i for i, line in enumerate(lines) if line.strip()), None)
    if number is None:
        raise InvalidInput("the document is empty", details={"line": 1})
    first = _HEADING.match(lines[number])
    if first is None or len(first["hashes"]) != 1:
        raise _problem(number + 1, "the document must start with a '# ' title")
    title = one_line(first["text"])
    by_label = {str(f["label"]).strip().lower(): str(f["key"]) for f in fields}
    wanted = {(int(s["level"]), str(s["heading"]).strip().lower()): s for s in sections}
    values: dict[str, str] = {}
    bodies: dict[str, list[str]] = {}
    current: str | None = None
    fenced = False
    for i in range(number + 1, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is not None:
            spec = wanted.get((len(heading["hashes"]), heading["text"].strip().lower()))
            if spec is not None:
                current = str(spec["key"])
                if current in bodies:
                    raise _problem(i + 1, f"section {spec['heading']!r} appears twice")
                bodies[current] = []
                continue
        if current is not None:
            bodies[current].append(line)
        elif line.strip():
            found = _FIELD.match(line.strip())
            key = by_label.get(found["label"].strip().lower()) if found else None
            if found is None or key is None:
                known = ", ".join(str(f["label"]) for f in fields) or "none"
                raise _problem(
                    i + 1,
                    f"expected a header field (**Label:** value; known: {known}) or a section "
                    f"heading, found {line.strip()[:60]!r}",
                )
            values[key] = one_line(found["value"] or "")
    missing = [str(s["heading"]) for s in sections if str(s["key"]) not in bodies]
    if missing:
        raise InvalidInput(
            f"the document lacks the section(s) {', '.join(map(repr, missing))}; keep each "
            "heading (an empty section clears it)",
            details={"missing": missing},
        )
    generated = {str(s["key"]) for s in sections if s["fill"] == "action_items"}
    return Parsed(
        title=title,
        fields=values,
        sections={k: clean("\n".join(v)) for k, v in bodies.items() if k not in generated},
    )
