"""Doors of the console's oncall pages: parse, call a view or a service, render."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
