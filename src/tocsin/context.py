"""What a boundary (request, command, job) needs: the database and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.settings import Settings


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
