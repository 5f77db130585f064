"""bubblewrap is got where it can be, and the isolation of a run is shown wherever one looks."""
import subprocess

import pytest

from autograder.classroom.reports import class_report_html, feedback_html
from autograder.classroom.results import summary_table
from autograder.sandbox import isolation as sandbox


def _result(student, isolation):
    return {"student": student, "assignment": "a00_tiny", "notebook": f"/c/{student}/a00_tiny.ipynb",
            "score": 1.0, "max_score": 2.0, "status": "graded", "isolation": isolation, "errors": [],
            "execution": {"errors": []}, "import_errors": [],
            "tests": [{"name": "test_x", "task": "1", "description": "x", "score": 1.0, "max_score": 2.0,
                       "status": "failed", "output": "нет", "hidden": False}]}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_feedback_and_report_name_the_isolation_and_warn_when_weak(lang):
    good, weak = _result("alice", "bwrap+uid"), _result("bob", "process")
    assert "bwrap+uid" in feedback_html(good, lang)
    page = feedback_html(weak, lang)
    assert 'class="problems" id="isolation"' in page and "process" in page
    report = class_report_html([good, weak], lang)
    assert 'class="problems" id="isolation"' in report and "process" in report and "bwrap+uid" in report
    assert 'class="meta" id="isolation"' in class_report_html([good], lang)


def test_the_gradebook_summary_ends_with_the_isolation():
    assert summary_table([_result("alice", "bwrap+uid")], lang="en").splitlines()[-1] == \
        "Student code isolation: bwrap+uid — bubblewrap sandbox"
    last = summary_table([_result("alice", "bwrap+uid"), _result("bob", "process+uid")], lang="en").splitlines()[-1]
    assert last.startswith("!! Student code isolation: bwrap+uid, process+uid — NOT in the bubblewrap sandbox")
    assert "песочница bubblewrap" in summary_table([_result("alice", "bwrap+uid")], lang="ru").splitlines()[-1]


@pytest.fixture
def no_bwrap(monkeypatch):
    real = sandbox.shutil.which
    state = {"installed": False, "calls": []}

    def which(name):
        if name == "bwrap":
            return "/usr/bin/bwrap" if state["installed"] else None
        if name == "apt-get":
            return "/usr/bin/apt-get"
        return real(name)

    def run(argv, **kw):
        state["calls"].append(argv[1:])
        if argv[1] == "install" and len(state["calls"]) > 1:  # succeeds after an update
            state["installed"] = True
        return subprocess.CompletedProcess(argv, 0 if state["installed"] or argv[1] == "update" else 100)

    monkeypatch.setattr(sandbox.shutil, "which", which)
    monkeypatch.delenv("AUTOGRADER_NO_INSTALL", raising=False)
    state["run"] = run
    return state


def test_root_on_debian_installs_bubblewrap(no_bwrap, monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    said = []
    assert sandbox.ensure_bubblewrap("auto", say=said.append, run=no_bwrap["run"]) is True
    assert no_bwrap["calls"] == [["install", "-y", "-qq", "bubblewrap"], ["update", "-qq"],
                                 ["install", "-y", "-qq", "bubblewrap"]]
    assert "installing" in said[0]


def test_a_user_is_told_the_one_command(no_bwrap, monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    said = []
    assert sandbox.ensure_bubblewrap("auto", say=said.append, run=no_bwrap["run"]) is False
    assert no_bwrap["calls"] == [] and sandbox.INSTALL_COMMAND in said[0]


def test_nothing_is_installed_when_the_sandbox_is_off_or_opted_out(no_bwrap, monkeypatch):
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    assert sandbox.ensure_bubblewrap("off", say=lambda m: None, run=no_bwrap["run"]) is False
    monkeypatch.setenv("AUTOGRADER_NO_INSTALL", "1")
    assert sandbox.ensure_bubblewrap("auto", say=lambda m: None, run=no_bwrap["run"]) is False
    assert no_bwrap["calls"] == []
