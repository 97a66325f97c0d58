"""The repository must not name paths of the machine it was written on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home)/[\w.-]+")


def test_no_machine_paths_in_tracked_files() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    offenders = []
    for name in filter(None, listed.split("\0")):
        path = ROOT / name
        if not path.is_file() or path.is_symlink() or name == "tests/test_repo_hygiene.py":
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [f"{name}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert offenders == []


def test_test_modules_have_unique_names() -> None:
    # tests/ has no packages: pytest imports each test module by its file name, so two
    # of the same name in different folders stop the whole run with an import error.
    names: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
