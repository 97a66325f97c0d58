"""Runtime settings, read from the environment with the ``TOCSIN_`` prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/tocsin.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    #: Largest request body the API accepts, in bytes.
    max_body_bytes: int = 1_048_576
    #: Seconds SQLite waits for a lock before giving up.
    sqlite_busy_timeout: float = 30.0

    def sqlite_path(self) -> Path | None:
        """The database file when the URL names a SQLite file, else ``None``."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url[len(prefix) :].split("?", 1)[0]
        return None if rest in ("", ":memory:") else Path(rest)
