"""The sandbox probe runs what grading launches (issue: process+uid graded with empty logs)."""
import os
import shutil
import sys

import pytest

from autograder.engine.grade import Target, grade_notebook
from autograder.sandbox import isolation as sandbox

pytestmark = pytest.mark.slow
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the +uid levels need root")


@pytest.fixture
def fresh_probe():
    sandbox._works.cache_clear()
    sandbox.probe.cache_clear()
    yield
    sandbox._works.cache_clear()
    sandbox.probe.cache_clear()


@root_only
def test_probe_fails_a_level_whose_interpreter_the_sandbox_uid_cannot_run(fresh_probe, tmp_path, monkeypatch):
    """pyenv under a mode-700 home: the uid cannot start Python, so process+uid must not be chosen."""
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    os.symlink(sys.prefix, private / "venv")  # the same venv, reached through the private folder
    monkeypatch.setattr(sys, "executable", str(private / "venv" / "bin" / os.path.basename(sys.executable)))
    why = sandbox._works("process+uid")
    assert why is not None and "execution" in why, why
    assert sandbox._works("process") is None  # the grader's own user can run it


@root_only
def test_without_bubblewrap_the_probe_picks_a_level_that_really_executes(fresh_probe, tiny, tmp_path, monkeypatch):
    """bwrap missing: auto falls back to process+uid only when a notebook really runs under it."""
    real_which = shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    monkeypatch.delenv("AUTOGRADER_ISOLATION", raising=False)
    level = sandbox.probe("auto")
    assert level in ("process+uid", "process")
    assert sandbox.PROBE_NOTES["bwrap+uid"] == "bwrap not installed"
    if level == "process":  # on a machine where the uid cannot run this Python, the reason is kept
        assert "process+uid" in sandbox.PROBE_NOTES
    result = grade_notebook(Target("s", tiny.assignments["a00_tiny"].solution), tiny, tmp_path)
    assert result["isolation"] == level
    assert result["execution"]["errors"] == [], result["execution"]
    assert (tmp_path / "s" / "a00_tiny" / "executed.ipynb").exists()
    assert result["score"] == result["max_score"] == 4.0
