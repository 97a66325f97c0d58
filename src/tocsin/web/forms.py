"""Form errors by field: a rejected form is shown again with each message next to its
field and what was typed kept. Pure."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tocsin.errors import TocsinError

#: Where a message without a field of its own goes (shown above the form).
GENERAL = "_form"


def field_errors(exc: ValidationError | TocsinError) -> dict[str, str]:
    """``{field: message}``: a validation error's locations (the last part of each:
    ``impact.users_affected`` is the form's ``users_affected``), else a service error's
    ``details.field``, else :data:`GENERAL`."""
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for error in exc.errors():
            names = [str(p) for p in error.get("loc", ()) if isinstance(p, str)]
            field = names[-1] if names else GENERAL
            out.setdefault(field, _sentence(error.get("msg", "invalid")))
        return out
    details: Any = exc.details
    where = details.get("field") if isinstance(details, dict) else None
    return {str(where) if where else GENERAL: exc.message}


def _sentence(message: str) -> str:
    """Pydantic's ``Value error, must not be blank`` reads as ``must not be blank``."""
    return message.removeprefix("Value error, ")
