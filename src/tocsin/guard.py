"""The door's own checks, before any route: body size and NUL characters.

The body is read once (bounded by the limit), checked, then replayed to the app.
PostgreSQL cannot store NUL in text (SQLite can): refusing it here makes both databases
answer alike, and no such value reaches a query.
"""

from __future__ import annotations

import re

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.errors import InvalidInput, TocsinError

#: JSON's escape for NUL, itself not escaped (``\\u0000`` is a backslash and text).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NUL = "NUL characters (\\u0000) are not accepted"


def _too_large(limit: int) -> TocsinError:
    return TocsinError(
        f"the request body is larger than {limit} bytes",
        code="body_too_large",
        status=413,
        details={"limit_bytes": limit},
    )


def _nul(where: str) -> TocsinError:
    details = [{"location": where, "message": _NUL, "type": "nul_character"}]
    return InvalidInput(f"{where}: {_NUL}", details=details)


class RequestGuard:
    """Refuse bodies over ``limit`` (413) and NUL in path, query or body (422)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._checked_body(scope, receive)
        except TocsinError as error:
            await JSONResponse(error.to_dict(), status_code=error.status)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> bytes:
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"]:
            raise _nul("path")
        if b"%00" in query or b"\x00" in query:
            raise _nul("query")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            raise _too_large(self.limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise _too_large(self.limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or _NUL_ESCAPE.search(body):
            raise _nul("body")
        return body
