"""The ``tocsin`` command against a running server (``--server URL --token T``).

A real uvicorn process serves ``tocsin.app:create_app`` on a free port of 127.0.0.1 over a
migrated SQLite file with seed 004's policy applied; the CLI talks HTTP to it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from tocsin.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
SEED_004 = ROOT / "examples" / "policies" / "seed-004-incident-response.yaml"
INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{2}-\d{2}-\d{3}$")
#: With --server the CLI must not open a database; if it tried, this would fail loudly.
NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/no_such_database"
ENV_UNSET: dict[str, str | None] = {
    "TOCSIN_USER": None,
    "TOCSIN_SERVER": None,
    "TOCSIN_TOKEN": None,
}


@dataclass(frozen=True)
class Server:
    url: str
    admin_token: str
    viewer_token: str
    revoked_token: str


def _local(database_url: str, *args: str) -> Result:
    """Prepare the database with the CLI's direct access (as the system actor)."""
    result = CliRunner().invoke(
        app, list(args), env={**ENV_UNSET, "TOCSIN_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer within 30s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Server]:
    where = tmp_path_factory.mktemp("remote")
    path = where / "tocsin.db"
    shutil.copy(sqlite_template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    _local(database_url, "policy", "apply", str(SEED_004))
    _local(database_url, "user", "add", "admin@example.com", "--name", "Ada Admin", "--admin")
    _local(database_url, "user", "add", "viewer@example.com")

    def token(email: str) -> tuple[int, str]:
        created = json.loads(_local(database_url, "token", "create", email, "--json").stdout)
        return int(created["id"]), str(created["token"])

    _, admin_token = token("admin@example.com")
    _, viewer_token = token("viewer@example.com")
    revoked_id, revoked_token = token("admin@example.com")
    _local(database_url, "token", "revoke", str(revoked_id))

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ENV_UNSET}
    env["TOCSIN_DATABASE_URL"] = database_url
    log = where / "server.log"
    options = f"--host 127.0.0.1 --port {port} --log-level warning".split()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tocsin.app:create_app", "--factory", *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield Server(url, admin_token, viewer_token, revoked_token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode is not None
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/api/v1/health", timeout=1)


def remote(server: Server, *args: str, token: str | None = None, code: int = 0) -> Result:
    prefix = ["--server", server.url]
    if token != "":
        prefix += ["--token", token or server.admin_token]
    env = {**ENV_UNSET, "TOCSIN_DATABASE_URL": NO_DATABASE}
    result = CliRunner().invoke(app, [*prefix, *args], env=env)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    if code == 1:
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    return result


def test_declare_list_show_over_http(server: Server) -> None:
    declared = json.loads(
        remote(server, "incident", "declare", "Checkout fails", "-s", "SEV1", "--json").stdout
    )
    ref = declared["id"]
    assert INCIDENT_ID.match(ref), ref
    assert declared["declared_by"] == "admin@example.com"  # the token's owner acts

    plain = remote(server, "incident", "declare", "Search is slow", "-s", "SEV3").stdout
    assert re.fullmatch(r"Declared INC-\S+ \(SEV3\): Search is slow\n", plain)

    listed = json.loads(remote(server, "incident", "list", "--json").stdout)
    assert ref in [i["id"] for i in listed["incidents"]]
    assert listed["total"] >= 2
    only = json.loads(remote(server, "incident", "list", "-s", "SEV1", "--json").stdout)
    assert [i["id"] for i in only["incidents"]] == [ref]
    table = remote(server, "incident", "list").stdout
    assert ref in table and "Checkout fails" in table and "incident(s)" in table

    shown = json.loads(remote(server, "incident", "show", ref, "--json").stdout)
    assert shown["title"] == "Checkout fails"
    assert shown["severity"] == "SEV1" and shown["status"] == "investigating"
    assert shown["checklists"]
    assert re.search(rf"^ID\s+{ref}$", remote(server, "incident", "show", ref).stdout, re.M)

    assert remote(server, "incident", "ack", ref).stdout.strip() == f"{ref} acknowledged"
    timeline = json.loads(remote(server, "incident", "timeline", ref, "--json").stdout)
    assert [e["actor"] for e in timeline if e["kind"] == "acknowledged"] == ["admin@example.com"]
    markdown = remote(server, "incident", "timeline", ref, "--markdown").stdout
    assert markdown.startswith(f"# {ref}: Checkout fails")

    missing = remote(server, "incident", "show", "INC-1999-01-01-001", code=1)
    assert "no incident 'INC-1999-01-01-001' (HTTP 404)" in missing.stderr


def test_wrong_token_is_refused_with_401(server: Server) -> None:
    wrong = remote(server, "incident", "list", token="tcs_not-a-real-token", code=1)
    assert "the API token is unknown or revoked (HTTP 401)" in wrong.stderr
    assert wrong.stdout == ""
    revoked = remote(server, "incident", "list", token=server.revoked_token, code=1)
    assert "(HTTP 401)" in revoked.stderr
    none = remote(server, "incident", "list", token="", code=1)
    assert "Authorization: Bearer" in none.stderr and "(HTTP 401)" in none.stderr


def test_permissions_apply_over_http(server: Server) -> None:
    ref = json.loads(
        remote(server, "incident", "declare", "Mail delayed", "-s", "SEV2", "--json").stdout
    )["id"]
    denied = remote(server, "incident", "ack", ref, token=server.viewer_token, code=1)
    assert "viewer@example.com lacks the permission 'acknowledge' (HTTP 403)" in denied.stderr
    audit = remote(server, "audit", token=server.viewer_token, code=1)
    assert "(HTTP 403)" in audit.stderr
    bad = remote(server, "incident", "declare", "x", "-s", "SEV9", code=1)
    assert "unknown severity 'SEV9'" in bad.stderr and "(HTTP 422)" in bad.stderr


def test_unreachable_server_is_reported() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(
        app, ["--server", url, "--token", "t", "incident", "list"], env=ENV_UNSET
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach {url}")
    assert "Traceback" not in result.output
