"""The grading path end to end on the tiny course: scores, bad input, limits, determinism."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.classroom.batch import grade_all
from autograder.cli import main
from autograder.engine.grade import Target, discover, grade_notebook

from .tiny import notebook

pytestmark = pytest.mark.slow


def _write(path, nb_or_text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_text, str):
        path.write_text(nb_or_text, encoding="utf-8")
    else:
        nbformat.write(nb_or_text, path)
    return path


def _by_name(result):
    return {t["name"]: t for t in result["tests"]}


def test_solution_full_marks_and_untouched_zero(tiny, tmp_path):
    a = tiny.assignments["a00_tiny"]
    sol = grade_notebook(Target("sol", a.solution), tiny, tmp_path)
    assert (sol["score"], sol["max_score"]) == (4.0, 4.0), sol
    stub = grade_notebook(Target("stub", a.student), tiny, tmp_path)
    assert (stub["score"], stub["max_score"]) == (0.0, 4.0)
    assert all("NotImplementedError" in t["output"] for t in stub["tests"]), stub["tests"]
    assert (tmp_path / "sol" / "a00_tiny" / "executed.ipynb").exists()


def test_failure_message_has_the_smallest_failing_input(tiny, tmp_path):
    nb = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    nb.cells[3].source = "def double(x):\n    return 2 * np.asarray(x)[:1]"
    result = grade_notebook(Target("bug", _write(tmp_path / "bug" / "a00_tiny.ipynb", nb)), tiny, tmp_path / "out")
    tests = _by_name(result)
    assert tests["test_double_value"]["status"] == "passed"
    msg = tests["test_double_shape"]["output"]
    assert "неверная форма" in msg and "Наименьший вход" in msg and "array(" in msg, msg
    assert result["score"] == 2.0


def test_bad_notebooks_get_a_clear_zero_and_others_are_still_graded(tiny, tmp_path):
    klass = tmp_path / "class"
    sol = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    _write(klass / "good" / "a00_tiny.ipynb", sol)
    _write(klass / "broken" / "a00_tiny.ipynb", '{"cells": [')
    _write(klass / "old" / "a00_tiny.ipynb", json.dumps({"nbformat": 3, "worksheets": []}))
    _write(klass / "stranger" / "homework.ipynb", notebook([("code", "x = 1")]))
    results = {r["student"]: r for r in grade_all(discover([klass]), tiny, tmp_path / "out", jobs=2, progress=False)}
    assert results["good"]["score"] == 4.0
    broken = results["broken"]
    assert broken["score"] == 0 and broken["max_score"] == 4.0 and broken["status"] == "ungraded"
    assert broken["errors"][0].startswith("Файл не является ноутбуком: скачайте его заново из Jupyter или Colab")
    assert len(broken["errors"]) == 2 and "JSON" in broken["errors"][1]  # the parser's words, once
    assert [(t["status"], t["output"]) for t in broken["tests"]] == [("not_run", "")] * 3
    assert broken["reason"]["key"] == "not_notebook"
    assert "nbformat" in results["old"]["errors"][1] and results["old"]["reason"]["key"] == "not_notebook"
    assert results["stranger"]["assignment"] is None and "задание" in results["stranger"]["errors"][-1]


def test_leftovers_sees_a_kernel_still_running(leftovers):
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ipykernel"])
    try:
        time.sleep(0.2)
        assert any(str(proc.pid) in p for p in leftovers(started))
    finally:
        proc.kill()
        proc.wait()
    assert leftovers(started) == []


def test_leftovers_counts_our_orphans_not_another_jobs_kernel(leftovers, spawn_orphan):
    started = time.time()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", "ipykernel"]
    ours = spawn_orphan(sleeper)                   # double-forked by our grading: adopted by us
    stranger = spawn_orphan(sleeper, adopt=False)  # a kernel of an unrelated job on the machine
    time.sleep(0.2)
    found = " ".join(leftovers(started))
    assert f"{ours}:" in found and f"{stranger}:" not in found, found


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids are leased only as root")
def test_leftovers_counts_processes_of_a_uid_we_leased(leftovers, spawn_orphan):
    from autograder.sandbox import isolation as sandbox

    started = time.time()
    lease = sandbox.UidLease.acquire()
    try:
        pid = spawn_orphan(["setpriv", f"--reuid={lease.uid}", f"--regid={lease.uid}", "--clear-groups",
                            "sleep", "60"], adopt=False)
        time.sleep(0.2)
        assert any(p.startswith(f"{pid} (uid {lease.uid})") for p in leftovers(started))
    finally:
        lease.release()  # kills every process of the uid
    assert not any(f"(uid {lease.uid})" in p for p in leftovers(started))


def test_infinite_loop_is_stopped_and_leaves_no_process(tiny, tmp_path, leftovers):
    nb = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    nb.cells[4].source = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    nb.cells[5].source += "\n        while True:\n            pass"  # a graded method that hangs
    nb.cells[5].source = nb.cells[5].source.replace("### BEGIN SOLUTION\n        return self.k * x\n", "")
    path = _write(tmp_path / "loop" / "a00_tiny.ipynb", nb)
    started = time.time()
    result = grade_notebook(Target("loop", path), tiny, tmp_path / "out")
    tests = _by_name(result)
    assert tests["test_double_value"]["status"] == "passed"
    assert tests["test_scale"]["status"] == "failed" and "время" in tests["test_scale"]["output"]
    stopped = [e for e in result["execution"]["errors"] if "остановлен" in e]
    # the stopped cell is named by its place among all cells and its first line: the loop (cell 5),
    # or, on a machine so loaded that importing took longer than the cell limit, an earlier cell
    named = re.match(r"ячейка (\d+) \(«(.+)»\) выполнялась дольше 5 с", stopped[0] if stopped else "")
    assert named, stopped
    assert nb.cells[int(named[1]) - 1].source.splitlines()[0] == named[2]
    assert leftovers(started) == []


def test_grading_twice_gives_identical_scores(tiny, tmp_path):
    nb = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    nb.cells[3].source = "def double(x):\n    x = np.asarray(x)\n    return 2 * x if x.shape[0] < 4 else x"
    path = _write(tmp_path / "s" / "a00_tiny.ipynb", nb)
    runs = [grade_notebook(Target("s", path), tiny, tmp_path / f"out{i}") for i in range(2)]
    assert runs[0]["tests"] == runs[1]["tests"] and runs[0]["score"] == runs[1]["score"] == 2.0


def test_cli_exit_codes_and_gradebook(tiny, tmp_path, capsys):
    sol = tiny.assignments["a00_tiny"].solution
    klass = tmp_path / "class"
    shutil.copy(sol, _write(klass / "ann" / "a00_tiny.ipynb", "").parent / "a00_tiny.ipynb")
    out = tmp_path / "out"
    assert main(["--course", str(tiny.root), "grade", str(klass), "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "gradebook:" in printed and "Points" not in printed  # a sum over a class means nothing
    header, row = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    assert header.startswith("student,assignment,score,max_score") and row.startswith("ann,a00_tiny,4,4")
    assert main(["--course", str(tiny.root), "grade", str(tmp_path / "nowhere")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["grade"])
    assert exc.value.code == 2


def test_name_error_on_a_notebook_value_says_graded_code_does_not_see_it(tiny, tmp_path):
    nb = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    nb.cells[3].source = "def double(x):\n    return twos[0] * np.asarray(x)"
    nb.cells[4].source = "twos = np.full(3, 2.0)"  # a data cell: not imported for the tests
    nb.cells[5].source = nb.cells[5].source.replace("return self.k * x", "return k * x")
    result = grade_notebook(Target("global", _write(tmp_path / "global" / "a00_tiny.ipynb", nb)), tiny, tmp_path / "out")
    tests = _by_name(result)
    msg = tests["test_double_value"]["output"]
    assert "NameError" in msg and "`twos`" in msg and "ячейке 5" in msg and "`self.twos`" in msg, msg
    assert "видит только определения ноутбука" in msg
    other = tests["test_scale"]["output"]  # `k` is nowhere in the notebook: the plain message
    assert "NameError" in other and "видит только" not in other, other


def test_the_cell_a_notebook_deadline_stopped_is_named(tmp_path):
    from autograder.sandbox import isolation as sandbox
    from autograder.engine.execute import execute

    nb = notebook([("markdown", "# Задание"), ("code", "x = 1"), ("markdown", "## 2"),
                   ("code", "# обучение\nwhile True:\n    pass"), ("code", "y = 2")])
    run = execute(nb, tmp_path / "work", 120, 20, isolation=sandbox.probe("auto"))
    assert run.timed_out
    assert run.errors[-1] == ("ноутбук выполнялся дольше 20 с и был остановлен на ячейке 4 («# обучение»); "
                              "следующие ячейки не выполнялись"), run.errors


def test_grading_writes_nothing_outside_its_output_folder(tiny, tmp_path, monkeypatch):
    """Hypothesis keeps its cache of the rubric's constants in a folder of the grading process
    (it would write ``.hypothesis/`` in the current folder), removed when the process exits."""
    from autograder.engine import scoring

    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    scoring.stop_grader_servers()  # the warm grader starts here, in this folder
    result = grade_notebook(Target("sol", tiny.assignments["a00_tiny"].solution), tiny, tmp_path / "out")
    assert result["score"] == result["max_score"]
    assert list(here.iterdir()) == []
    assert not list((tmp_path / "out").rglob(".hypothesis"))
    home = scoring._HYPOTHESIS_HOME[0]
    assert Path(home).is_dir() and not Path(home).is_relative_to(tmp_path)


def test_cells_tagged_skip_execution_are_not_run_and_the_feedback_says_so(tiny, tmp_path):
    """A ``skip-execution`` cell (training, downloads) is not run at grading: no outputs (a saved
    run's are dropped), no execution count, no error; the result names it and the feedback page
    shows it as a notice, not a problem."""
    from autograder.classroom.reports import feedback_html
    from autograder.core.course import Course

    root = tmp_path / "course"  # the tiny course with room for a loaded machine (60 s per cell)
    shutil.copytree(tiny.root, root)
    rubric = root / "tests" / "grading" / "a00_tiny.py"
    rubric.write_text(rubric.read_text().replace('"cell_timeout": 5, "notebook_timeout": 20',
                                                 '"cell_timeout": 60, "notebook_timeout": 120'))
    tiny = Course(root)
    nb = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    heavy = nbformat.v4.new_code_cell("# обучение\nraise RuntimeError('this cell ran')",
                                      metadata={"tags": ["skip-execution"]})
    heavy.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Epoch 0 (from Colab)\n")]
    nb.cells.insert(5, heavy)
    result = grade_notebook(Target("skip", _write(tmp_path / "skip" / "a00_tiny.ipynb", nb)), tiny, tmp_path / "out")
    assert result["score"] == result["max_score"] == 4.0
    assert result["execution"]["errors"] == [] and result["errors"] == []
    assert result["execution"]["skipped"] == ["ячейка 6 («# обучение»)"]
    executed = nbformat.read(tmp_path / "out" / "skip" / "a00_tiny" / "executed.ipynb", as_version=4)
    assert executed.cells[5].outputs == [] and executed.cells[5].execution_count is None
    assert executed.cells[6].execution_count is not None  # the cells after it ran
    page = feedback_html(result)
    notices = page.split('id="notices"', 1)[1].split("</section>", 1)[0]
    assert "skip-execution" in notices and "ячейка 6 («# обучение»)" in notices
    assert 'id="problems"' not in page
    assert "skip-execution" in feedback_html(result, lang="en").split('id="notices"', 1)[1]
