"""Doors of the console's reports pages: parse, call a view or a service, render."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
