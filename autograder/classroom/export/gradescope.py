"""Gradescope: the autograder zip (``autograder export gradescope ASSIGNMENT --out autograder.zip``)
and the runner it calls there, so that the same rubric grades on Gradescope.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when it builds the
image, and ``run_autograder`` once per submission with the student's files in
``/autograder/submission``; the grade is ``/autograder/results/results.json``.  The zip holds::

    setup.sh               a venv (/autograder/venv) with requirements.txt; bubblewrap, when apt has it
    run_autograder         python -m autograder.classroom.export.gradescope ASSIGNMENT
    requirements.txt       the package's dependencies (torch's CPU build when the assignment uses torch)
    package/autograder/    this package, put on PYTHONPATH by run_autograder
    course/                the course, this assignment only: tests/grading/<id>.py (public and hidden
                           tests; its conftest.py), solutions/<id>.ipynb, assignments/<id>.ipynb,
                           data/, autograder.toml, and .autograder-secret when the course has one

The runner grades every notebook below the submission folder as ``autograder grade`` does (the
sandbox it can have there, the course's language), and writes that assignment's result in
Gradescope's format (``results.gradescope``: every test with its points and visibility, hidden
tests ``after_published``).  Gradescope applies its own late policy, so no late rule is applied.
``AUTOGRADER_ROOT`` (default ``/autograder``) moves the whole layout: the tests run it in a
temporary folder.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

from ...core.course import PACKAGE, Course

ROOT_VARIABLE = "AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
#: the course's secret file (``autograder.core.secret``): part of the grade's inputs when present
SECRET_FILE = ".autograder-secret"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    # the sandbox for student code; where the container forbids it, grading says so and goes on
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null || true
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
"$ROOT/venv/bin/pip" install -q -r "$ROOT/source/requirements.txt"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this once per submission: grades $ROOT/submission, writes $ROOT/results/results.json.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="$ROOT/venv/bin/python"
[ -x "$PY" ] || PY="${{AUTOGRADER_PYTHON:-python3}}"
export PYTHONPATH="$ROOT/source/package${{PYTHONPATH:+:$PYTHONPATH}}"
export AUTOGRADER_NO_INSTALL=1 AUTOGRADER_ROOT="$ROOT"
exec "$PY" -m autograder.classroom.export.gradescope {assignment}
"""


class GradescopeError(ValueError):
    """An autograder zip that cannot be built (the message says why)."""


def _package_files() -> list[tuple[str, Path]]:
    """(name in the zip, file) of this package's source: no caches, no bundled course."""
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if (not path.is_file() or path.is_symlink() or "__pycache__" in rel.parts or rel.parts[0] == "_course"
                or any(p.startswith(".") for p in rel.parts) or path.suffix in (".pyc", ".pyo")):
            continue
        found.append((f"package/autograder/{rel.as_posix()}", path))
    return found


def _course_files(course: Course, aid: str) -> list[tuple[str, Path]]:
    a = course.assignments[aid]
    found = [(f"course/tests/grading/{aid}.py", a.rubric)]
    for extra in (a.rubric.parent / "conftest.py", a.solution, a.student, course.root / "autograder.toml"):
        if extra is not None and extra.is_file():
            found.append((f"course/{extra.relative_to(course.root).as_posix()}", extra))
    data = course.data_dir()
    if data is not None:
        for path in sorted(data.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found.append((f"course/data/{path.relative_to(data).as_posix()}", path))
    secret = course.root / SECRET_FILE
    if secret.is_file() and not secret.is_symlink():
        found.append((f"course/{SECRET_FILE}", secret))
    return found


def uses_torch(course: Course, aid: str) -> bool:
    """Whether the assignment's rubric or solution imports torch (then requirements.txt has it)."""
    a = course.assignments[aid]
    pattern = re.compile(r'^\s*"?(?:import torch\b|from torch\b)', re.M)  # a .py line or a notebook's JSON line
    for path in (a.rubric, a.solution):
        if path is not None and path.is_file() and pattern.search(path.read_text(encoding="utf-8")):
            return True
    return False


def requirements(torch: bool) -> str:
    """requirements.txt: the installed package's dependencies (extras: torch only when needed)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("nn-autograder") or []
    except PackageNotFoundError:
        raise GradescopeError("the nn-autograder package is not installed (pip install -e .): its "
                              "dependencies make requirements.txt") from None
    lines = [f"--extra-index-url {TORCH_INDEX}"] if torch else []
    for req in declared:
        spec, _, marker = req.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra is None:
            lines.append(req.strip())
        elif extra.group(1) == "torch" and torch:
            lines.append(spec.strip())
    return "\n".join(lines) + "\n"


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same course, the same zip
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(course: Course, aid: str, out: Path) -> list[str]:
    """Write the autograder zip of assignment ``aid`` to ``out`` (module docstring); its entries."""
    if aid not in course.assignments:
        raise GradescopeError(f"no assignment {aid!r} in {course.root} (known: {', '.join(course.assignments)})")
    if not re.fullmatch(r"[A-Za-z0-9_]+", aid):
        raise GradescopeError(f"assignment id {aid!r}: letters, digits and _ only")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    names = []
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), 0o755)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(assignment=aid).encode(), 0o755)
        _add(zf, "requirements.txt", requirements(uses_torch(course, aid)).encode())
        for name, path in [*_package_files(), *_course_files(course, aid)]:
            _add(zf, name, path.read_bytes())
        names = zf.namelist()
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return names


# ------------------------------------------------------------------ inside Gradescope

def _no_result(aid: str, found: list[str], why: str) -> dict:
    return {"score": 0.0, "execution_time": 0, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": [],
            "output": (f"{why}. Сдайте ноутбук задания {aid} ({aid}.ipynb) / Upload the notebook of "
                       f"{aid} ({aid}.ipynb). Найдено / found: {', '.join(found) or '—'}")}


def run(root: Path, aid: str) -> dict:
    """Grade the submission in ``root/submission`` with the course in ``root/source/course`` and
    write ``root/results/results.json``; returns what was written."""
    from ...core.config import load
    from ...core.files import atomic_write_text
    from ...engine.intake import notebooks_below
    from ..batch import grade_all
    from ..policy import apply_policy
    from ..results import gradescope

    root = Path(root)
    course = Course.locate(root / "source" / "course")
    lang = load(course.root).lang
    submission = root / "submission"
    targets = notebooks_below("student", submission) if submission.is_dir() else []
    found = [str(t.path.relative_to(submission)) for t in targets]
    if not targets:
        data = _no_result(aid, found, "Ноутбук не найден / No notebook found")
    else:
        with tempfile.TemporaryDirectory(prefix="autograder-") as work:
            results = grade_all(targets, course, Path(work) / "results", jobs=1, progress=False, resume=False,
                                sandbox="auto")
        mine = [apply_policy(r) for r in results if r.get("assignment") == aid]
        data = gradescope(mine[-1], lang) if mine else _no_result(
            aid, found, "Это не ноутбук этого задания / Not a notebook of this assignment")
    atomic_write_text(root / "results" / "results.json", json.dumps(data, ensure_ascii=False, indent=2),
                      mode=0o644)
    return data


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m autograder.classroom.export.gradescope ASSIGNMENT  (root: $AUTOGRADER_ROOT, "
              f"default {DEFAULT_ROOT})", file=sys.stderr)
        return 2
    print(f"package {Path(__file__).resolve().parents[2]}")
    data = run(Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT), args[0])
    print(f"score {data['score']:g}: {len(data['tests'])} test(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
