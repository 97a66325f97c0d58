"""One error shape for every door: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class TocsinError(Exception):
    """An error a user can act on. ``status`` is the HTTP status the API answers with."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(TocsinError):
    status = 422
    code = "invalid_input"


class NotFound(TocsinError):
    status = 404
    code = "not_found"


class Conflict(TocsinError):
    status = 409
    code = "conflict"


class Unauthenticated(TocsinError):
    status = 401
    code = "unauthenticated"


class Forbidden(TocsinError):
    status = 403
    code = "forbidden"


class PolicyInvalid(TocsinError):
    """A policy file with problems; ``details`` lists each with its location."""

    status = 422
    code = "policy_invalid"


class _ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: _ErrorDetail


#: For routers: lists the error shape in the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 413, 422)
}
