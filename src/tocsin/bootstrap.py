"""First start: migrate, apply the default policy, create the first admin.

Each step happens only when needed, so running it on every start is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tocsin.auth import service as auth
from tocsin.auth.actor import SYSTEM
from tocsin.auth.secrets import new_password
from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.migrate import upgrade
from tocsin.policy import service as policies


def default_policy_text() -> str:
    return resources.files("tocsin.policy").joinpath("default.yaml").read_text(encoding="utf-8")


@dataclass
class FirstAdmin:
    email: str
    password: str
    token: str


@dataclass
class Bootstrap:
    policy_version: int
    policy_applied: bool
    admin: FirstAdmin | None


async def bootstrap(
    db: Database, *, clock: Clock, admin_email: str, policy_file: Path | None = None
) -> Bootstrap:
    await upgrade(db.write_engine)
    async with db.write() as session:
        applied = False
        if not await policies.versions(session):
            text = policy_file.read_text(encoding="utf-8") if policy_file else default_policy_text()
            source = str(policy_file) if policy_file else "default.yaml"
            await policies.apply(session, SYSTEM, text, clock=clock, source=source)
            applied = True
        version = await policies.current_version(session)
        admin = None
        if await auth.count_admins(session) == 0:
            password = new_password()
            await auth.create_user(
                session,
                SYSTEM,
                admin_email,
                clock=clock,
                name="Administrator",
                is_admin=True,
                password=password,
            )
            _, token = await auth.create_token(
                session, SYSTEM, admin_email, clock=clock, name="first admin"
            )
            admin = FirstAdmin(email=admin_email, password=password, token=token)
        return Bootstrap(policy_version=version.version, policy_applied=applied, admin=admin)
