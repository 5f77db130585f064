"""Intake: links below the class folder are refused and never read (issue: symlinked hand-ins)."""
import json
import os
import shutil

import nbformat
import pytest

from autograder.classroom.batch import fingerprint, neighbours
from autograder.classroom.batch import grade_all
from autograder.classroom.policy import submission_time
from autograder.engine import intake
from autograder.engine.grade import discover


def _class_with_links(tmp_path, tiny):
    """alice: honest solution; mallory: links to the solution, to alice, a hard link."""
    a = tiny.assignments["a00_tiny"]
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    shutil.copy(a.solution, klass / "alice" / "a00_tiny.ipynb")
    (klass / "mallory").mkdir()
    os.symlink(a.solution, klass / "mallory" / "a00_tiny.ipynb")        # the instructor's solution
    os.symlink(klass / "alice", klass / "eve")                           # a second alice
    (klass / "trudy").mkdir()
    os.link(klass / "alice" / "a00_tiny.ipynb", klass / "trudy" / "a00_tiny.ipynb")  # hard link
    (klass / "oscar" / "work").mkdir(parents=True)
    os.symlink(klass / "alice", klass / "oscar" / "work" / "linked")      # a linked sub-folder
    os.symlink(a.solution, klass / "loose.ipynb")                        # a loose linked notebook
    return klass


def test_discover_refuses_every_link_below_the_class_folder(tiny, tmp_path):
    klass = _class_with_links(tmp_path, tiny)
    found = {(t.student, t.path.name): t.refused for t in discover([klass])}
    assert found[("mallory", "a00_tiny.ipynb")] == intake.SYMLINK
    assert found[("eve", "eve")] == intake.SYMLINK
    assert found[("oscar", "linked")] == intake.SYMLINK
    assert found[("loose", "loose.ipynb")] == intake.SYMLINK
    # alice's file and trudy's are the same inode: both names are refused, nobody gets it twice
    assert found[("trudy", "a00_tiny.ipynb")] == intake.HARDLINK
    assert found[("alice", "a00_tiny.ipynb")] == intake.HARDLINK
    assert not any(t.path.is_relative_to(klass / "eve") for t in discover([klass]) if t.path != klass / "eve")


def test_read_regular_never_follows_a_link_and_caps_the_size(tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("root-only")
    os.symlink(target, tmp_path / "link.txt")
    with pytest.raises(intake.Refused) as exc:
        intake.read_regular(tmp_path / "link.txt", 100)
    assert exc.value.reason == intake.SYMLINK
    os.link(target, tmp_path / "hard.txt")
    with pytest.raises(intake.Refused):
        intake.read_regular(tmp_path / "hard.txt", 100)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 1000)
    with pytest.raises(intake.Refused):
        intake.read_regular(big, 999)
    assert intake.read_regular(big, 1000) == b"x" * 1000


def test_links_beside_a_notebook_are_not_handed_in(tiny, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    shutil.copy(tiny.assignments["a00_tiny"].solution, folder / "a00_tiny.ipynb")
    (folder / "weights.pt").write_bytes(b"w")
    secret = tmp_path / "outside.pt"
    secret.write_bytes(b"secret")
    os.symlink(secret, folder / "stolen.pt")
    os.link(secret, folder / "hard.pt")
    os.symlink(secret, folder / "timestamp.txt")
    assert [f.name for f in neighbours(folder / "a00_tiny.ipynb")] == ["weights.pt"]
    when, source = submission_time(folder / "a00_tiny.ipynb")
    assert source == "mtime"  # the linked timestamp.txt is not read


def test_a_refused_target_is_never_opened(tiny, tmp_path):
    klass = _class_with_links(tmp_path, tiny)
    target = next(t for t in discover([klass]) if t.student == "mallory")
    before = fingerprint(target, None, {})
    # the link now points to something else: a refused target's fingerprint does not read it
    os.unlink(target.path)
    os.symlink(tmp_path / "nowhere", target.path)
    assert fingerprint(target, None, {}) == before


@pytest.mark.slow
def test_linked_submissions_score_zero_and_leak_nothing(tiny, tmp_path):
    klass = _class_with_links(tmp_path, tiny)
    os.unlink(klass / "trudy" / "a00_tiny.ipynb")  # keep alice gradable: drop the hard link ...
    nb = nbformat.read(klass / "alice" / "a00_tiny.ipynb", as_version=4)
    (klass / "alice" / "a00_tiny.ipynb").unlink()
    nbformat.write(nb, klass / "alice" / "a00_tiny.ipynb")
    os.link(klass / "alice" / "a00_tiny.ipynb", tmp_path / "elsewhere.ipynb")  # ... and make a new one
    shutil.copy(klass / "alice" / "a00_tiny.ipynb", klass / "trudy" / "a00_tiny.ipynb")
    (klass / "zed").mkdir()
    os.link(tmp_path / "elsewhere.ipynb", klass / "zed" / "a00_tiny.ipynb")
    out = tmp_path / "out"
    results = {r["student"]: r for r in grade_all(discover([klass]), tiny, out, jobs=2, progress=False)}
    assert results["trudy"]["score"] == results["trudy"]["max_score"] == 4.0  # a plain copy is fine
    for student in ("mallory", "eve", "oscar", "loose", "zed", "alice"):
        r = results[student]
        assert r["status"] == "ungraded" and r["score"] == 0.0, (student, r)
        assert any("refused" in e for e in r["errors"]), r["errors"]
    solution_text = tiny.assignments["a00_tiny"].solution.read_text(encoding="utf-8")
    body = "return 2 * np.asarray(x)"
    assert body in solution_text
    for student in ("mallory", "eve", "oscar", "loose", "zed"):
        for f in (out / student).rglob("*"):
            if f.is_file():
                assert body not in f.read_text(encoding="utf-8", errors="replace"), f
        assert not list((out / student).rglob("executed.ipynb"))
    assert json.loads((out / "mallory" / "a00_tiny" / "result.json").read_text())["tests"], "tests listed at zero"
