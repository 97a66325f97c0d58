"""Every endpoint answers bad input with a 4xx in the one error shape, never a 5xx.

The endpoints are enumerated from the app's OpenAPI document, so a new endpoint is covered
by the generic tests below without being listed here. Bodies (valid samples and wrong-typed
ones) are generated from the request schemas.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

import tocsin
from tocsin.app import create_app
from tocsin.settings import Settings

Declare = Callable[..., Any]
ErrorOf = Callable[..., dict[str, Any]]
API = "/api/v1"
SEED_004 = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "policies"
    / "seed-004-incident-response.yaml"
)
LIMIT = Settings().max_body_bytes
UNKNOWN_REF = "INC-1999-01-01-999"
UNKNOWN_INT = 987_654
#: Endpoints that need no token.
PUBLIC = {("GET", f"{API}/health")}


# No connection is opened: the engine is created lazily and the schema needs none.
SPEC = create_app(Settings(database_url="sqlite+aiosqlite://")).openapi()


#: The web console's pages (``tocsin.web.routes`` and its page groups' ``routes``): HTML
#: forms for people, not the API.
WEB_PAGES = "tocsin.web."


def _router_routes() -> list[APIRoute]:
    """The routes of every ``APIRouter`` in a ``tocsin.*.routes`` module (the API's)."""
    found: list[APIRoute] = []
    for info in pkgutil.walk_packages(tocsin.__path__, "tocsin."):
        if not info.name.endswith(".routes") or info.name.startswith(WEB_PAGES):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, APIRouter):
                found += [r for r in value.routes if isinstance(r, APIRoute)]
    return found


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of ``X | None`` (anyOf with a null)."""
    schema = _resolve(schema)
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _resolve(options[0]) if options else schema


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    operation: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def body_schema(self) -> dict[str, Any] | None:
        body = self.operation.get("requestBody")
        if body is None:
            return None
        return _non_null(body["content"]["application/json"]["schema"])

    @property
    def body_optional(self) -> bool:
        """A body that may be left out (``null`` stands for none)."""
        return not self.operation.get("requestBody", {}).get("required", False)

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.operation.get("parameters", []) if p["in"] == where]

    def url(self, **values: Any) -> str:
        """The path with its parameters filled: ``values`` by name, else a harmless default."""
        out = self.path
        for param in self.params("path"):
            name = param["name"]
            default = UNKNOWN_INT if _non_null(param["schema"]).get("type") == "integer" else "x"
            out = out.replace("{" + name + "}", quote(str(values.get(name, default)), safe=""))
        return out


OPS = [
    Op(method.upper(), path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
]
PROTECTED = [op for op in OPS if (op.method, op.path) not in PUBLIC]
BODY_OPS = [op for op in OPS if op.body_schema is not None]
REQUIRED_OPS = [op for op in BODY_OPS if op.body_schema and op.body_schema.get("required")]
REF_OPS = [op for op in OPS if "{ref}" in op.path]
INT_PATH_OPS = [
    op
    for op in OPS
    if any(_non_null(p["schema"]).get("type") == "integer" for p in op.params("path"))
]
INT_QUERIES = [
    (op, p["name"], _non_null(p["schema"]))
    for op in OPS
    for p in op.params("query")
    if _non_null(p["schema"]).get("type") == "integer"
]


def ids(ops: list[Op]) -> list[str]:
    return [str(op) for op in ops]


#: Meaningful values for string fields of these names (so that a sample body passes the
#: services' checks too, and nasty values in other fields reach the database).
MEANINGFUL = {
    "severity": "SEV2",
    "status": "identified",
    "role": "on-call-engineer",
    "email": "admin@example.com",
    "title": "Sample",
    "text": "Sample note",
    "content": SEED_004.read_text(encoding="utf-8"),
}


def sample(schema: dict[str, Any], name: str | None = None) -> Any:
    """A minimal valid value: required fields only, meaningful where the name is known."""
    schema = _non_null(schema)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: sample(props[key], key) for key in schema.get("required", [])}
    if kind == "string":
        choices = schema.get("enum")
        if name in MEANINGFUL and (choices is None or MEANINGFUL[name] in choices):
            return MEANINGFUL[name]
        if choices:
            return choices[0]
        if schema.get("format") == "date-time":
            return "2026-01-15T08:00:00Z"
        return "x" * max(schema.get("minLength", 1), 1)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    raise AssertionError(f"no sample for {schema}")


#: A value of the wrong JSON type for each schema type (none coercible by Pydantic).
WRONG = {
    "string": [1, 2],
    "integer": "many",
    "number": "lots",
    "boolean": {"yes": 1},
    "array": "x",
    "object": 5,
}


def wrong_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        name: WRONG[_non_null(prop)["type"]] for name, prop in schema.get("properties", {}).items()
    }


def locations(error: dict[str, Any]) -> list[str]:
    assert isinstance(error["details"], list), error
    return [d["location"] for d in error["details"]]


# --- the inventory itself -------------------------------------------------------------


def test_every_route_is_in_the_openapi_document() -> None:
    """The generic tests walk the OpenAPI document: no route may be missing from it."""
    routes = _router_routes()
    assert len(routes) >= 25
    assert [r.path for r in routes if not r.include_in_schema] == []
    documented = {(op.method, op.path) for op in OPS}
    served = {(m, API + r.path) for r in routes for m in r.methods - {"HEAD"}}
    assert served - documented == set()
    # Documented, but not under /api/v1: the health check and Prometheus' door.
    assert documented - served == {("GET", f"{API}/health"), ("GET", "/metrics")}


def test_the_inventory_finds_the_known_endpoints() -> None:
    # A sanity check that the enumeration works (not an exhaustive list).
    names = {str(op) for op in OPS}
    assert {
        f"POST {API}/incidents",
        f"PATCH {API}/incidents/{{ref}}",
        f"POST {API}/incidents/{{ref}}/acknowledge",
        f"POST {API}/incidents/{{ref}}/notes",
        f"POST {API}/policy",
        f"POST {API}/users",
        f"DELETE {API}/tokens/{{token_id}}",
        f"GET {API}/audit",
    } <= names
    assert len(BODY_OPS) >= 10 and len(REF_OPS) >= 10 and INT_QUERIES


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize("op", PROTECTED, ids=ids(PROTECTED))
async def test_every_endpoint_needs_a_valid_token(
    op: Op, http_for: Any, client: httpx.AsyncClient, error: ErrorOf
) -> None:
    created = await client.post(f"{API}/tokens", json={"name": "doomed"})
    assert created.status_code == 201, created.text
    revoked = await client.delete(f"{API}/tokens/{created.json()['id']}")
    assert revoked.status_code == 200, revoked.text
    doomed = created.json()["token"]
    bodyless = http_for(None)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": f"Bearer {doomed}"},
    ):
        response = await bodyless.request(op.method, op.url(), headers=headers)
        error(response, 401, "unauthenticated")


async def test_health_needs_no_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# --- request bodies -------------------------------------------------------------------


@pytest.mark.parametrize("op", BODY_OPS, ids=ids(BODY_OPS))
async def test_body_that_is_not_an_object(
    op: Op, client: httpx.AsyncClient, error: ErrorOf
) -> None:
    for garbage in ([1, 2], "text", 42, *(() if op.body_optional else (None,))):
        response = await client.request(op.method, op.url(), json=garbage)
        err = error(response, 422, "invalid_input")
        assert any(loc.startswith("body") for loc in locations(err)), err


@pytest.mark.parametrize("op", BODY_OPS, ids=ids(BODY_OPS))
async def test_body_fields_of_the_wrong_type(
    op: Op, client: httpx.AsyncClient, error: ErrorOf
) -> None:
    assert op.body_schema is not None
    body = wrong_body(op.body_schema)
    assert body, f"{op} has a body without fields"
    response = await client.request(op.method, op.url(), json=body)
    err = error(response, 422, "invalid_input")
    named = locations(err)
    for field in body:
        assert any(loc.startswith(f"body.{field}") for loc in named), (field, err)


@pytest.mark.parametrize("op", REQUIRED_OPS, ids=ids(REQUIRED_OPS))
async def test_missing_required_fields(op: Op, client: httpx.AsyncClient, error: ErrorOf) -> None:
    assert op.body_schema is not None
    response = await client.request(op.method, op.url(), json={})
    err = error(response, 422, "invalid_input")
    missing = {d["location"] for d in err["details"] if d["type"] == "missing"}
    assert missing == {f"body.{name}" for name in op.body_schema["required"]}


@pytest.mark.parametrize("op", BODY_OPS, ids=ids(BODY_OPS))
async def test_unknown_fields_are_refused(
    op: Op, client: httpx.AsyncClient, error: ErrorOf
) -> None:
    assert op.body_schema is not None
    body = {**sample(op.body_schema), "bogus_field": 1}
    response = await client.request(op.method, op.url(), json=body)
    err = error(response, 422, "invalid_input")
    assert [(d["location"], d["type"]) for d in err["details"]] == [
        ("body.bogus_field", "extra_forbidden")
    ]


@pytest.mark.parametrize("op", BODY_OPS, ids=ids(BODY_OPS))
async def test_invalid_json(op: Op, client: httpx.AsyncClient, error: ErrorOf) -> None:
    for broken in (b'{"title": ', b"{'single': 'quotes'}", b"\xff\xfe", b'{"a": NaN'):
        response = await client.request(
            op.method, op.url(), content=broken, headers={"Content-Type": "application/json"}
        )
        err = error(response, 422, "invalid_input")
        assert err["details"], err


@pytest.mark.parametrize("op", BODY_OPS, ids=ids(BODY_OPS))
async def test_oversized_body(op: Op, client: httpx.AsyncClient, error: ErrorOf) -> None:
    padding = "x" * (LIMIT + 1 - len('{"title": ""}'))
    body = json.dumps({"title": padding}).encode()
    assert len(body) == LIMIT + 1
    response = await client.request(
        op.method, op.url(), content=body, headers={"Content-Type": "application/json"}
    )
    err = error(response, 413, "body_too_large")
    assert err["details"] == {"limit_bytes": LIMIT}


async def test_oversized_body_without_content_length(
    client: httpx.AsyncClient, error: ErrorOf
) -> None:
    async def chunks() -> Any:
        yield b'{"title": "'
        for _ in range(LIMIT // 65536 + 1):
            yield b"x" * 65536
        yield b'", "severity": "SEV1"}'

    response = await client.post(
        f"{API}/incidents", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    error(response, 413, "body_too_large")
    listed = await client.get(f"{API}/incidents")
    assert listed.json()["total"] == 0


async def test_a_body_at_the_limit_is_read(client: httpx.AsyncClient, error: ErrorOf) -> None:
    # Exactly the limit passes the size check and reaches validation (the title is too long).
    padding = "x" * (LIMIT - len('{"title": "", "severity": "SEV1"}'))
    body = json.dumps({"title": padding, "severity": "SEV1"}).encode()
    assert len(body) == LIMIT
    response = await client.post(
        f"{API}/incidents", content=body, headers={"Content-Type": "application/json"}
    )
    err = error(response, 422, "invalid_input")
    assert locations(err) == ["body.title"]


# --- path and query parameters --------------------------------------------------------


@pytest.mark.parametrize("op", REF_OPS, ids=ids(REF_OPS))
async def test_unknown_incident(op: Op, client: httpx.AsyncClient, error: ErrorOf) -> None:
    body = None if op.body_schema is None else sample(op.body_schema)
    response = await client.request(op.method, op.url(ref=UNKNOWN_REF), json=body)
    err = error(response, 404, "not_found")
    assert UNKNOWN_REF in err["message"]


@pytest.mark.parametrize("op", INT_PATH_OPS, ids=ids(INT_PATH_OPS))
async def test_integer_path_parameters(
    op: Op, client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    incident = await declare()
    body = None if op.body_schema is None else sample(op.body_schema)
    for name in [p["name"] for p in op.params("path")]:
        if name == "ref":
            continue
        for bad in ("abc", "1.5", "0x10"):
            url = op.url(ref=incident["id"], **{name: bad})
            err = error(await client.request(op.method, url, json=body), 422, "invalid_input")
            assert locations(err) == [f"path.{name}"], err
        url = op.url(ref=incident["id"], **{name: UNKNOWN_INT})
        error(await client.request(op.method, url, json=body), 404, "not_found")


@pytest.mark.parametrize(
    ("op", "name", "schema"),
    INT_QUERIES,
    ids=[f"{op} ?{name}" for op, name, _ in INT_QUERIES],
)
async def test_integer_query_parameters(
    op: Op, name: str, schema: dict[str, Any], client: httpx.AsyncClient, error: ErrorOf
) -> None:
    bad: list[Any] = ["abc", "", "1e3"]
    if "minimum" in schema:
        bad.append(schema["minimum"] - 1)
    if "maximum" in schema:
        bad.append(schema["maximum"] + 1)
    for value in bad:
        response = await client.request(op.method, op.url(), params={name: value})
        err = error(response, 422, "invalid_input")
        assert locations(err) == [f"query.{name}"], (value, err)


async def test_list_limit_zero_and_text(client: httpx.AsyncClient, error: ErrorOf) -> None:
    for value in ("0", "abc", "-1", "501"):
        err = error(await client.get(f"{API}/incidents?limit={value}"), 422, "invalid_input")
        assert locations(err) == ["query.limit"]
    err = error(await client.get(f"{API}/incidents?status=sleeping"), 422, "invalid_input")
    assert "investigating" in err["message"]
    assert err["details"] == {"field": "status", "unknown": ["sleeping"]}


async def test_bad_datetime_query(client: httpx.AsyncClient, error: ErrorOf) -> None:
    for path in (f"{API}/incidents", f"{API}/audit"):
        err = error(await client.get(path, params={"since": "yesterday"}), 422, "invalid_input")
        assert locations(err) == ["query.since"]


async def test_unknown_route_and_method(client: httpx.AsyncClient, error: ErrorOf) -> None:
    error(await client.get(f"{API}/nothing-here"), 404, "not_found")
    error(await client.put(f"{API}/incidents", json={}), 405, "method_not_allowed")
    error(await client.delete(f"{API}/policy"), 405, "method_not_allowed")


# --- never a 5xx ----------------------------------------------------------------------

#: Values that have broken web apps before: huge numbers, NUL bytes, odd text, odd times.
NASTY: list[Any] = [
    10**30,
    -(10**30),
    2**63,
    -1,
    0,
    1.5e308,
    "\x00",
    "a\x00b",
    "💥 \u202e",
    "\ud800",  # a lone surrogate: valid JSON (as an escape), not encodable as UTF-8
    "' OR 1=1 --",
    "%_%",
    "x" * 5000,
    "",
    " ",
    True,
    None,
    [],
    {},
    "2026-01-15T10:00:00",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59+00:00",
    "\x01\x7f\t\u2028",
]


@pytest.mark.parametrize("op", PROTECTED, ids=ids(PROTECTED))
async def test_nasty_input_never_gives_a_5xx(
    op: Op, client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    """Each nasty value in each path parameter, query parameter and body field in turn
    (the rest of the request valid): a 2xx or a 4xx in the error shape, never a 5xx."""
    incident = await declare()
    ref = incident["id"]
    body = None if op.body_schema is None else sample(op.body_schema)
    attempts: list[tuple[str, Any, dict[str, Any]]] = []
    for nasty in NASTY:
        # URLs carry scalars; a lone surrogate cannot be put into one at all.
        scalar = isinstance(nasty, int | float) or (
            isinstance(nasty, str) and nasty != "" and nasty != "\ud800"
        )
        for param in op.params("path") if scalar else []:
            attempts.append((op.url(**{"ref": ref, param["name"]: nasty}), body, {}))
        for param in op.params("query") if scalar else []:
            attempts.append((op.url(ref=ref), body, {param["name"]: str(nasty)}))
        if op.body_schema is not None:
            for field in op.body_schema.get("properties", {}):
                attempts.append((op.url(ref=ref), {**(body or {}), field: nasty}, {}))
            if "impact" in op.body_schema.get("properties", {}):
                for key in ("users_affected", "users_affected_pct", "business_impact"):
                    attempts.append((op.url(ref=ref), {**(body or {}), "impact": {key: nasty}}, {}))
    assert attempts or not (op.params("path") or op.params("query") or op.body_schema)
    failures: list[str] = []
    for url, payload, params in attempts:
        # json.dumps escapes non-ASCII, so a lone surrogate travels as a JSON escape.
        content = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        try:
            response = await client.request(
                op.method, url, content=content, params=params, headers=headers
            )
        except Exception as exc:  # the app's own exception, re-raised by the transport
            failures.append(f"{url} {params} {payload!r:.120}: {exc!r:.200}")
            continue
        if response.status_code >= 500:
            failures.append(f"{url} {params} {payload!r:.120}: {response.text:.200}")
        elif response.status_code >= 400:
            error(response, response.status_code)
    assert not failures, "5xx answers:\n" + "\n".join(failures)


# --- regressions found by the test above -------------------------------------------------


async def test_nul_characters_are_refused_everywhere(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    """PostgreSQL cannot store NUL (a 500 there once); SQLite could: both refuse it."""
    ref = (await declare())["id"]
    cases = [
        ("POST", f"{API}/incidents", {"title": "a\x00b", "severity": "SEV2"}, None, "body"),
        ("POST", f"{API}/incidents/{ref}/notes", {"text": "\x00"}, None, "body"),
        ("PATCH", f"{API}/incidents/{ref}", {"impact": {"business_impact": "\x00"}}, None, "body"),
        ("POST", f"{API}/tokens", {"name": "x\x00"}, None, "body"),
        ("GET", f"{API}/incidents/{ref}%00", None, None, "path"),
        ("GET", f"{API}/incidents", None, {"q": "a\x00"}, "query"),
        ("GET", f"{API}/audit", None, {"action": "\x00"}, "query"),
    ]
    for method, url, body, params, where in cases:
        response = await client.request(method, url, json=body, params=params)
        err = error(response, 422, "invalid_input")
        assert err["details"] == [
            {
                "location": where,
                "message": "NUL characters (\\u0000) are not accepted",
                "type": "nul_character",
            }
        ], (method, url)
    timeline = (await client.get(f"{API}/incidents/{ref}/timeline")).json()
    assert [e["kind"] for e in timeline if e["kind"] == "note"] == []
    # The six characters backslash-u-0-0-0-0 are plain text, not a NUL.
    note = await client.post(f"{API}/incidents/{ref}/notes", json={"text": "see \\u0000 here"})
    assert note.status_code == 201, note.text
    assert note.json()["summary"] == "see \\u0000 here"


async def test_out_of_range_numbers_are_refused(
    client: httpx.AsyncClient, declare: Declare, error: ErrorOf
) -> None:
    """Numbers beyond an INTEGER column once overflowed in the query (a 500)."""
    ref = (await declare(severity="SEV1"))["id"]
    big = 2**31
    for method, url, location in (
        ("GET", f"{API}/incidents?offset={big}", "query.offset"),
        ("GET", f"{API}/policy/versions/{big}", "path.number"),
        ("POST", f"{API}/incidents/{ref}/checklists/{big}", "path.item_id"),
        ("DELETE", f"{API}/tokens/{big}", "path.token_id"),
    ):
        body = {} if method == "POST" else None
        err = error(await client.request(method, url, json=body), 422, "invalid_input")
        assert [d["location"] for d in err["details"]] == [location], url
    err = error(
        await client.patch(f"{API}/incidents/{ref}", json={"impact": {"users_affected": big}}),
        422,
        "invalid_input",
    )
    assert [d["location"] for d in err["details"]] == ["body.impact.users_affected"]
    listed = await client.get(f"{API}/incidents", params={"offset": big - 1})
    assert listed.status_code == 200
    assert listed.json() == {"incidents": [], "total": 1, "maintenance": []}


async def test_times_without_a_zone_or_out_of_range_are_refused(
    client: httpx.AsyncClient, error: ErrorOf
) -> None:
    """A naive time, or one whose UTC instant leaves the calendar, was a 500 in a query."""
    for value in ("2026-01-15T09:00:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00-05:00"):
        for path, name in (
            ("/incidents", "since"),
            ("/incidents", "until"),
            ("/audit", "since"),
        ):
            err = error(await client.get(API + path, params={name: value}), 422, "invalid_input")
            assert [d["location"] for d in err["details"]] == [f"query.{name}"], (path, value)
    ok = await client.get(f"{API}/incidents", params={"since": "2026-01-15T10:00:00+01:00"})
    assert ok.status_code == 200


async def test_bodies_json_cannot_parse(client: httpx.AsyncClient, error: ErrorOf) -> None:
    """Bodies the JSON parser gives up on (not UTF-8, nested too deep) are a 400."""
    for content in (
        '{"title": "caf\xe9", "severity": "SEV2"}'.encode("latin-1"),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ):
        response = await client.post(
            f"{API}/incidents", content=content, headers={"Content-Type": "application/json"}
        )
        error(response, 400, "bad_request")
    # A body sent as another media type is not read as fields.
    response = await client.post(
        f"{API}/incidents",
        content=b'{"title": "x", "severity": "SEV2"}',
        headers={"Content-Type": "text/plain"},
    )
    err = error(response, 422, "invalid_input")
    assert [d["location"] for d in err["details"]] == ["body"]
    assert (await client.get(f"{API}/incidents")).json()["total"] == 0


async def test_the_served_document_is_the_one_walked(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["paths"] == SPEC["paths"]
