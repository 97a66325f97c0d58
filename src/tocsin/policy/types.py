"""Small types shared by every section of the policy schema."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    WithJsonSchema,
)

from tocsin.policy.spans import Span, parse_span

Duration = Annotated[
    Span,
    PlainValidator(parse_span),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["15m", "1h30m", "3bd"]}),
]
Slug = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
#: The stages an incident reaches, in order.
Stage = Literal["detected", "declared", "acknowledged", "identified", "mitigated", "resolved"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: true or false, nothing else (no "yes", "on", 1).
Flag = StrictBool
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Strict(BaseModel):
    """Every policy section refuses unknown keys, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
