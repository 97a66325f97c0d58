"""The README's first command, `make run`, in a fresh copy of the repository.

It must create the virtualenv, migrate a new SQLite file under ./var/, apply the default
policy, print the first admin's login and token and the URL, and serve: we then declare an
incident with that token. (The second command, `make test`, is what CI itself runs on a
fresh clone.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _repo_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [f for f in listed.split("\0") if f and (ROOT / f).exists()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(
    shutil.which("make") is None or not (ROOT / ".git").exists(),
    reason="needs make and a git checkout",
)
def test_make_run_in_a_fresh_copy(tmp_path: Path) -> None:
    repo = tmp_path / "tocsin"
    for name in _repo_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOCSIN_", "VIRTUAL_ENV"))}
    port = _free_port()
    proc = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Tocsin is running at" in line:
                break
        text = "".join(output)
        assert f"Tocsin is running at http://127.0.0.1:{port}" in text, text
        token = re.search(r"API token: (\S+)", text)
        assert token, text
        assert re.search(r"login:\s+admin@example.com", text)
        assert (repo / "var" / "tocsin.db").exists()
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        answer = httpx.post(
            f"{base}/incidents", json={"title": "First", "severity": "SEV2"}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        assert re.fullmatch(r"INC-\d{4}-\d{2}-\d{2}-001", answer.json()["id"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
