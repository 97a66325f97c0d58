"""The API app for a test, built once per test process for each set of settings.

Building the app's routes costs a few tenths of a second (FastAPI prepares each route on
its first request), which a server pays once and a test suite would pay per test. A test
gets the process's app for its settings, pointed at its own database and clock, with the
app's request-time state (rate limiters, the alert intake) fresh.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import State

from tocsin.app import create_app
from tocsin.clock import Clock
from tocsin.context import Context
from tocsin.db import Database
from tocsin.settings import Settings

_APPS: dict[str, FastAPI] = {}


def app_for(settings: Settings, *, clock: Clock, database: Database) -> FastAPI:
    """One test's app: only one test at a time may use it (tests in a process run in turn)."""
    key = settings.model_dump_json(exclude={"database_url"})
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings, clock=clock, database=database)
    app.state = State({"context": Context(settings=settings, db=database, clock=clock)})
    return app
