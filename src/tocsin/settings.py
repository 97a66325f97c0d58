"""Runtime settings, read from the environment with the ``TOCSIN_`` prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/tocsin.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    #: PostgreSQL connections each process keeps, may add under load, and how long a request
    #: waits for one before it is answered ``503`` (busy: nothing stored, try again).
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_timeout: float = 30.0
    #: Largest request body the API accepts, in bytes.
    max_body_bytes: int = 1_048_576
    #: Seconds SQLite waits for a lock before giving up.
    sqlite_busy_timeout: float = 30.0
    #: SQLite's durability: NORMAL (the default: WAL, no fsync per commit) or FULL; OFF only
    #: for throwaway databases such as ``tocsin simulate``'s.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"
    #: Extra modules whose job handlers workers load (``tocsin.handlers`` always is):
    #: ``TOCSIN_HANDLER_MODULES=a.b,c.d`` or a JSON list.
    handler_modules: Annotated[list[str], NoDecode] = []
    #: The address people reach this Tocsin at; acknowledge links in pages start with it.
    public_url: str = "http://127.0.0.1:8080"
    #: How often (seconds) each server process asks whether the public status page
    #: changed; between two asks it serves what it rendered. 0: on every request.
    statuspage_recheck_seconds: float = 1.0
    #: Benchmarks only (``bench/ingest.py``): mount ``POST /bench/bare``, which parses a JSON
    #: body and answers 202, as the baseline of ``/v2/enqueue``. Never set in production.
    bench_bare_endpoint: bool = False

    @field_validator("handler_modules", mode="before")
    @classmethod
    def _module_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    def sqlite_path(self) -> Path | None:
        """The database file when the URL names a SQLite file, else ``None``."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url[len(prefix) :].split("?", 1)[0]
        return None if rest in ("", ":memory:") else Path(rest)
