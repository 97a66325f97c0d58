"""Passwords are argon2 hashes; sign-in checks them (the web console uses this)."""

from __future__ import annotations

import pytest

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.context import Context
from tocsin.errors import InvalidInput, Unauthenticated


async def test_password_is_stored_as_argon2_and_checked(seeded: Context) -> None:
    async with seeded.db.write() as session:
        await auth.create_user(
            session, SYSTEM, "dana@example.com", clock=seeded.clock, password="correct horse"
        )
    async with seeded.db.read() as session:
        user = await auth.get_user(session, "dana@example.com")
        assert user.password_hash is not None and user.password_hash.startswith("$argon2")
        assert "correct horse" not in user.password_hash
        assert (
            await auth.check_password(session, "DANA@example.com", "correct horse")
        ).email == "dana@example.com"
        with pytest.raises(Unauthenticated):
            await auth.check_password(session, "dana@example.com", "wrong")
        with pytest.raises(Unauthenticated):
            await auth.check_password(session, "nobody@example.com", "correct horse")


async def test_changing_a_password(seeded: Context) -> None:
    async with seeded.db.write() as session:
        user = await auth.create_user(session, SYSTEM, "dana@example.com", clock=seeded.clock)
        dana = auth.actor_for(user)
        with pytest.raises(InvalidInput):
            await auth.set_password(session, dana, "dana@example.com", "short", clock=seeded.clock)
        await auth.set_password(
            session, dana, "dana@example.com", "a much longer one", clock=seeded.clock
        )
    async with seeded.db.read() as session:
        assert await auth.check_password(session, "dana@example.com", "a much longer one")
