"""Engine tests: the small policy beside this file, declared incidents, the real worker."""

from __future__ import annotations

import pytest
from tests.conftest import apply_policy
from tests.escalation.harness import POLICY

from tocsin.context import Context
from tocsin.jobs.registry import load_handlers


@pytest.fixture
async def engine(ctx: Context) -> Context:
    load_handlers()
    await apply_policy(ctx, POLICY)
    return ctx
