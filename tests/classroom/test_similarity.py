"""autograder similarity: disguised copies come first; given code, the reference solution and
independent solutions are not flagged; archives; the pages escape what students wrote."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.classroom.similarity import kgram_hashes, run, student_code
from autograder.cli import main
from autograder.core.course import Course

from classroom.similar_class import make_class

ROOT = Path(__file__).resolve().parents[2]
A01 = "a01_neurons"


@pytest.fixture(scope="module")
def course() -> Course:
    return Course(ROOT)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, course):
    """12 independent students of a01 and 4 disguised copies, compared once."""
    base = tmp_path_factory.mktemp("similar")
    copies = make_class(base / "class", course.assignments[A01].student, A01)
    report = run(course, [base / "class"], base / "out", jobs=1)
    return base, copies, report


def test_disguised_copies_are_the_top_pairs_and_nothing_else_is_flagged(synthetic):
    _, copies, report = synthetic
    pairs = report.pairs[A01]
    expected = {frozenset(p) for p in copies.items()}  # renamed, reordered, recommented, all three
    assert {frozenset((p.a.label, p.b.label)) for p in pairs[:4]} == expected
    assert all(p.flagged and p.share > 0.9 for p in pairs[:4])
    assert not any(p.flagged for p in pairs[4:])
    assert report.counts[A01]["submissions"] == 16


def test_outputs_list_the_pairs_and_the_pages_show_matching_passages(synthetic):
    base, copies, report = synthetic
    rows = list(csv.DictReader(open(base / "out" / "pairs.csv", encoding="utf-8")))
    assert [r["rank"] for r in rows[:4]] == ["1", "2", "3", "4"] and rows[0]["flagged"] == "True"
    data = json.loads((base / "out" / "pairs.json").read_text(encoding="utf-8"))
    assert data["counts"][A01]["flagged"] == 4 and data["settings"]["k"] == 25
    page = (base / "out" / rows[0]["page"]).read_text(encoding="utf-8")
    left, right = page.split('id="side-b"')
    import re

    passages = [set(re.findall(r'data-passage="(\d+)"', side)) for side in (left, right)]
    assert passages[0] and passages[0] == passages[1]  # each passage has its counterpart, same colour
    index = (base / "out" / "index.html").read_text(encoding="utf-8")
    assert rows[0]["page"] in index and "YOUR CODE HERE" not in page


def test_only_student_written_code_is_compared(course):
    a = course.assignments[A01]
    released = nbformat.read(a.student, as_version=4)
    assert student_code(released, released) == ""
    nb = nbformat.read(a.student, as_version=4)
    for cell in nb.cells:  # an editor that drops ids: cells are matched by their lines
        cell.id = "x" + cell.id
        cell.metadata = {}
    k = next(i for i, c in enumerate(nb.cells) if "raise NotImplementedError()" in c.source)
    nb.cells[k].source = nb.cells[k].source.replace("raise NotImplementedError()", "return q_value * 17", 1)
    code = student_code(nb, released)
    assert [line.strip() for line in code.splitlines()] == [f"# cell {k + 1}", "return q_value * 17"]


def test_the_hash_is_the_same_in_another_process():
    text = "V=V.V(V,V=1)forVinV(10):V+=V*2returnV"
    here = kgram_hashes(text, 25).tolist()
    there = subprocess.run([sys.executable, "-c", "import json; from autograder.classroom.similarity import "
                            f"kgram_hashes; print(json.dumps(kgram_hashes({text!r}, 25).tolist()))"],
                           capture_output=True, text=True, check=True).stdout
    assert here == json.loads(there) and len(here) == len(text) - 24


def test_demo_class_and_the_audit_alternatives_are_not_flagged(course, tmp_path):
    """Correct solutions (the demo's perfect student, its one-bug students, the audit's alternatives)
    are the reference solution with a line or two of their own: nothing to flag."""
    alternatives = tmp_path / "alternatives"
    for path in sorted((ROOT / "tests" / "grading" / "alternatives").glob("*/*.ipynb")):
        dest = alternatives / f"alt-{path.parent.name}-{path.stem}" / f"{path.parent.name}.ipynb"
        dest.parent.mkdir(parents=True)
        shutil.copy(path, dest)
    report = run(course, [ROOT / "demo" / "class", alternatives], tmp_path / "out", jobs=1)
    assert set(report.pairs) == set(course.assignments)
    flagged = [(p.assignment, p.a.label, p.b.label, round(p.share, 2)) for ps in report.pairs.values()
               for p in ps if p.flagged]
    assert flagged == []
    assert report.counts[A01]["submissions"] >= 8


def test_archive_submissions_are_compared_with_the_class_only(course, tmp_path):
    make_class(tmp_path / "last-term", course.assignments[A01].student, A01, independent=4, copies=((0, "all"),))
    now = tmp_path / "class"
    (now / "zed").mkdir(parents=True)
    shutil.copy(tmp_path / "last-term" / "copy-all-of-s000" / f"{A01}.ipynb", now / "zed" / f"{A01}.ipynb")
    shutil.copytree(tmp_path / "last-term" / "s002", now / "s002")
    report = run(course, [now], tmp_path / "out", archives=[tmp_path / "last-term"], jobs=1)
    pairs = report.pairs[A01]
    labels = [(p.a.label, p.b.label) for p in pairs if p.flagged]
    assert ("last-term/s000", "zed") in labels or ("zed", "last-term/s000") in labels
    assert not any(p.a.origin and p.b.origin for p in pairs)  # last term's copy of its own student: not ours


def test_cli_writes_the_outputs_and_escapes_student_names(course, tmp_path, monkeypatch, capsys):
    make_class(tmp_path / "class", course.assignments[A01].student, A01, independent=3, copies=((1, "rename"),))
    (tmp_path / "class" / "copy-rename-of-s001").rename(tmp_path / "class" / "=1+2<b>eve")
    monkeypatch.chdir(ROOT)
    assert main(["similarity", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--lang", "en",
                 "--assignment", A01, "-j", "1"]) == 0
    assert "1 flagged" in capsys.readouterr().out
    page = next((tmp_path / "out" / "pairs" / A01).glob("*.html")).read_text(encoding="utf-8")
    assert "=1+2&lt;b&gt;eve" in page and "<b>eve" not in page
    assert "'=1+2<b>eve" in (tmp_path / "out" / "pairs.csv").read_text(encoding="utf-8")  # no formula
    assert main(["similarity", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o2")]) == 2
