"""Signed, URL-safe tokens: HMAC-SHA256 with a key this installation makes for itself.

The key is 32 random bytes kept in ``instance_keys`` (name ``signing``), created on first
use with an insert that does nothing on conflict, so concurrent processes of one database
all end up with the same key and nothing needs setting up. A token is
``<payload>.<mac>``, both URL-safe base64 without padding; the MAC covers a *purpose*
(``ack``, ``unsubscribe``, ...) and the payload, so a token made for one purpose is never
valid for another. Verification compares in constant time.

Tokens are authenticated, not encrypted: the payload is readable by whoever holds the
token, so put ids in it, never secrets.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from tocsin.auth.models import InstanceKey
from tocsin.clock import Clock

#: The ``instance_keys`` row that signs tokens.
KEY_NAME = "signing"
KEY_BYTES = 32


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes | None:
    """The bytes of URL-safe base64 with or without padding; ``None`` if it is not that."""
    if not text or any(c not in _ALPHABET for c in text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


async def _stored(session: AsyncSession, name: str) -> bytes | None:
    value = await session.scalar(select(InstanceKey.value).where(InstanceKey.name == name))
    return b64decode(value) if value is not None else None


async def instance_key(
    session: AsyncSession, *, clock: Clock, name: str = KEY_NAME, create: bool = True
) -> bytes | None:
    """The installation's key ``name``; made (once, for every process) when missing and
    ``create`` is true. Needs a write transaction to create; flushes, never commits."""
    key = await _stored(session, name)
    if key is not None or not create:
        return key
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    fresh = b64encode(secrets.token_bytes(KEY_BYTES))
    await session.execute(
        insert(InstanceKey)
        .values(name=name, value=fresh, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=[InstanceKey.name])
    )
    # Another process may have won the race: whatever is stored now is the key.
    key = await _stored(session, name)
    assert key is not None
    return key


def mac(key: bytes, purpose: str, payload: str) -> str:
    """The URL-safe MAC of ``payload`` for ``purpose`` (HMAC-SHA256)."""
    message = purpose.encode() + b"\x00" + payload.encode()
    return b64encode(hmac.new(key, message, hashlib.sha256).digest())


def sign_with(key: bytes, purpose: str, payload: str) -> str:
    """``<payload>.<mac>``, both URL-safe base64 (pure: for a key already at hand)."""
    return f"{b64encode(payload.encode())}.{mac(key, purpose, payload)}"


def verify_with(key: bytes, purpose: str, token: str) -> str | None:
    """The payload of a token signed with ``key`` for ``purpose``, else ``None``."""
    encoded, dot, given = token.partition(".")
    if not dot or "." in given:
        return None
    raw = b64decode(encoded)
    if raw is None:
        return None
    try:
        payload = raw.decode()
    except UnicodeDecodeError:
        return None
    if not hmac.compare_digest(
        mac(key, purpose, payload).encode(), given.encode("ascii", "replace")
    ):
        return None
    return payload


async def sign(session: AsyncSession, purpose: str, payload: str, *, clock: Clock) -> str:
    """A URL-safe token carrying ``payload``, signed for ``purpose``; makes the key on
    first use (so it needs a write transaction the first time)."""
    key = await instance_key(session, clock=clock)
    assert key is not None
    return sign_with(key, purpose, payload)


async def verify(session: AsyncSession, purpose: str, token: str) -> str | None:
    """The payload if ``token`` was signed here for ``purpose``, else ``None`` (forged,
    tampered with, made for another purpose, or no key yet). Read-only."""
    key = await _stored(session, KEY_NAME)
    if key is None:
        return None
    return verify_with(key, purpose, token)
