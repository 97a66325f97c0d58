"""The reports pages' words in English and Dutch (merged into the console's table)."""

from __future__ import annotations

from typing import Final

EN: Final[dict[str, str]] = {}

NL: Final[dict[str, str]] = {}
