"""Jinja2 expressions over a webhook's JSON body (``body.title``, ``body.state == 'ok'``),
for generic webhooks' mappings. Pure: no I/O.

They run in Jinja's sandbox: a policy author can read the body, not reach Python. A JSON
key wins over a method of the same name (``body.values`` is the field, not ``dict.values``),
and a missing key is nothing (``None``) however deep (``body.a.b.c``), so an expression
reads like the JSON it looks at. ``tocsin policy check`` reports each expression that does
not compile or names anything but ``body`` (:func:`problem`).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

#: The one name an expression can use: the decoded JSON body.
NAMES = frozenset({"body"})


class _JsonSandbox(SandboxedEnvironment):
    """The sandbox, with JSON keys found before attributes."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@cache
def environment() -> SandboxedEnvironment:
    return _JsonSandbox(undefined=ChainableUndefined)


def problem(source: str) -> str | None:
    """What is wrong with an expression (syntax, a name other than ``body``), else
    ``None``."""
    env = environment()
    try:
        parser = Parser(env, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            return f"unexpected {token.value!r} after the expression"
        compiled(source)  # unknown filters and tests are found when compiling
    except TemplateError as exc:
        message = (exc.message or str(exc)).replace("'end of template'", "end of expression")
        return f"not a valid expression: {message}"
    unknown = sorted({n.name for n in tree.find_all(nodes.Name) if n.name not in NAMES})
    if unknown:
        return f"unknown name {unknown[0]!r}: an expression reads the JSON body as 'body'"
    return None


@lru_cache(maxsize=1024)
def compiled(source: str) -> TemplateExpression:
    """The expression compiled once (compiling costs far more than evaluating)."""
    return environment().compile_expression(source)


def evaluate(source: str, body: Any) -> Any:
    """The expression's value for ``body`` (``None`` for nothing); raises what a bad
    expression raises (``TemplateError``, ``TypeError``...)."""
    return compiled(source)(body=body)
