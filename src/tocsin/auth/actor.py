"""Who is acting. Every service call takes one; the audit log and timeline name it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    email: str
    name: str
    is_admin: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return self.email


#: The CLI with direct database access and no ``--as``: whoever can open the database
#: file already has everything, so this actor is an admin. The audit log names it.
SYSTEM = Actor(user_id=None, email="system", name="System", is_admin=True)

#: The escalation engine and other timed jobs: the timeline names it as the one who acted.
ENGINE = Actor(user_id=None, email="engine", name="Tocsin", is_admin=True)
