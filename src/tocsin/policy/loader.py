"""Read a policy file and report every problem with its file, line and path.

Pure apart from reading the file: YAML is composed into nodes (which know their line), the
data is validated by the schema, then cross-references are checked. All problems are
collected, not just the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tocsin.errors import PolicyInvalid
from tocsin.policy.checks import Loc, check_references
from tocsin.policy.schema import Policy

_YAML11_ONLY = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top)'}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "path": self.path, "message": self.message}


#: libyaml's parser when PyYAML was built with it (several times faster), else pure Python.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc]
    """SafeLoader with YAML 1.2 scalars: ``18:00`` stays text, ``no`` is not ``False``."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists.

    A mapping entry is located at its key: a block value (``checklists:`` followed by its
    items) starts on the next line, but the problem is with the key's line.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                return line
            key, node = pair
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> list[tuple[Loc, int, str]]:
    found: list[tuple[Loc, int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(getattr(key, "value", ""))
            if name in seen:
                found.append(((*loc, name), key.start_mark.line + 1, f"duplicate key {name!r}"))
            seen.add(name)
            found.extend(_duplicate_keys(value, (*loc, name)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, (*loc, i)))
    return found


def _message(error: Any) -> str:
    msg = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see docs/policy.md)"
    if error["type"] == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # Pydantic adds union/tag names (e.g. 'Target') to a location; keep real keys only.
    return tuple(p for p in loc if isinstance(p, int) or not str(p)[:1].isupper())


def parse_policy(
    text: str, filename: str = "<policy>"
) -> tuple[Policy | None, list[PolicyProblem]]:
    """Parse policy text; returns the policy (or ``None``) and every problem found."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        return None, [PolicyProblem(filename, line, "", f"YAML syntax: {exc.problem}")]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"character U+{code:04X} is not allowed in YAML"
        return None, [PolicyProblem(filename, line, "", message)]
    problems = [
        PolicyProblem(filename, line, _path(loc), msg) for loc, line, msg in _duplicate_keys(root)
    ]
    data = yaml.load(text, Loader=_Loader) if root is not None else None
    if not isinstance(data, dict):
        problems.append(PolicyProblem(filename, 1, "", "a policy is a mapping of sections"))
        return None, problems
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = _clean_loc(error["loc"])
            problems.append(
                PolicyProblem(filename, _line_of(root, loc), _path(loc), _message(error))
            )
        return None, problems
    for loc, msg in check_references(policy):
        problems.append(PolicyProblem(filename, _line_of(root, loc), _path(loc), msg))
    return (policy if not problems else None), problems


def load_policy_text(text: str, filename: str = "<policy>") -> Policy:
    """Parse policy text or raise :class:`PolicyInvalid` listing every problem."""
    policy, problems = parse_policy(text, filename)
    if policy is None:
        raise PolicyInvalid(
            f"{filename}: the policy has {len(problems)} problem(s)",
            details=[p.to_dict() for p in problems],
        )
    return policy


def load_policy_file(path: Path) -> tuple[str, Policy]:
    text = path.read_text(encoding="utf-8")
    return text, load_policy_text(text, str(path))
