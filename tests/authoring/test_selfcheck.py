"""The students' self-check: task selection, the table, the generated notebook cells, and that
they run in a kernel under "Run All" but never inside the grader."""
from __future__ import annotations

import copy
import shutil
import sys
import types

import nbformat
import pytest

from autograder.authoring.release import release, student_notebook
from autograder.authoring.selfcheck import GRADING_ENV, check, format_table, run_check, selects
from autograder.core.course import Course
from autograder.engine.checkcells import is_generated, public_tasks
from autograder.engine.grade import Target, grade_notebook
from autograder.engine.protect import restore_protected
from autograder.sandbox import isolation as sandbox
from autograder.sandbox.submission import Submission

from engine.tiny import RUBRIC, make_course

TASKS = {"1. Linear", "1. Linear.dumb_forward", "2.1 ReLU", "2.1.1 ReLU.backward", "2.10 ELU", "4. NLLLoss"}


@pytest.mark.parametrize("query, task, selected", [
    ("1. Linear", "1. Linear", True),
    ("1. Linear", "1. Linear.dumb_forward", False),   # a full name is exact, not a prefix
    ("2.1", "2.1 ReLU", True),
    ("2.1", "2.1.1 ReLU.backward", True),             # a number takes its subtasks
    ("2.1", "2.10 ELU", False),
    ("4", "4. NLLLoss", True),
    ("4.", "4. NLLLoss", True),
    ("relu", "2.1.1 ReLU.backward", True),            # other text: any task mentioning it
    ("relu", "4. NLLLoss", False),
])
def test_selects(query, task, selected):
    assert selects(query, task, "test_x", TASKS) is selected


def test_selects_by_test_name():
    assert selects("shape", "4. NLLLoss", "test_nll_shape", TASKS)


def _record(task, name, status="passed", score=1.0, max_score=1.0, output="", description="описание"):
    return {"task": task, "name": name, "status": status, "score": score, "max_score": max_score,
            "output": output, "description": description}


UNFINISHED = ("Задание не выполнено: ваш код вызывает NotImplementedError (<ячейка 3>, строка 4, в double).\n"
              "Наименьший вход, на котором проверка не проходит:\n    x=array([[0.]])")
WRONG = ("double(x): значения не совпадают с эталоном.\nНаименьший вход, на котором проверка не проходит:\n"
         "    x=array([[0.5]])")


def test_table_names_a_task_once_and_says_unfinished_once_without_an_input():
    table = format_table([_record("1 double", "test_a", "failed", 0.0, output=UNFINISHED),
                          _record("1 double", "test_b", "failed", 0.0, 2.0, output=UNFINISHED),
                          _record("2 Scale", "test_c")])
    lines = table.splitlines()
    assert sum("1 double" in line for line in lines) == 1 and sum("2 Scale" in line for line in lines) == 1
    assert lines[0].startswith("1 double") and lines[0].endswith("0/3")
    assert table.count("Задание не выполнено") == 1 and "Наименьший вход" not in table
    assert lines[-1] == "Итого по открытым тестам: 1/4"


def test_table_keeps_the_smallest_input_of_a_real_failure():
    table = format_table([_record("1 double", "test_a", "failed", 0.0, output=WRONG)])
    assert "значения не совпадают" in table and "Наименьший вход" in table and "x=array([[0.5]])" in table


def test_table_shows_what_a_passing_test_measured():
    table = format_table([_record("4 metrics", "test_acc", output="accuracy 0.6312 на тестовой части CIFAR-10"),
                          _record("4 metrics", "test_rec")])
    lines = table.splitlines()
    assert lines[1].lstrip().startswith("✔ 1/1") and lines[2].strip() == "accuracy 0.6312 на тестовой части CIFAR-10"
    assert lines[3].lstrip().startswith("✔ 1/1") and len(lines) == 5


def test_table_wraps_long_task_names_and_descriptions_within_its_width():
    long_task = "4.2.2 Neuron (батч): инициализация весов, прямой и обратный проход на пакете примеров"
    table = format_table([_record(long_task, "test_a", description="очень длинное описание " * 8)], width=50)
    lines = table.splitlines()
    assert all(len(line) <= 50 for line in lines), lines
    assert lines[0].endswith("1/1") and "инициализация" in table and "примеров" in table
    assert " ".join(line.strip() for line in lines[:3]).count("4.2.2") == 1


@pytest.fixture
def kernel_main(tiny, monkeypatch):
    """``__main__`` of a kernel that ran the tiny notebook ``which`` (solutions or assignments)."""
    def make(which: str) -> dict:
        nb = nbformat.read(tiny.root / which / "a00_tiny.ipynb", as_version=4)
        module = types.ModuleType("__main__")
        module.__dict__.update(Submission.from_notebook(nb)._module.__dict__)
        module.In = [""] + [c.source for c in nb.cells if c.cell_type == "code"]
        monkeypatch.setitem(sys.modules, "__main__", module)
        monkeypatch.setenv("AUTOGRADER_COURSE", str(tiny.root))
        return module.__dict__
    return make


def test_check_prints_the_table_and_returns_none(kernel_main, capsys):
    kernel_main("solutions")
    assert check("1") is None
    out = capsys.readouterr().out
    assert "1 double" in out and "Итого по открытым тестам: 3/3" in out and "Scale" not in out


def test_check_does_nothing_inside_the_grader(kernel_main, capsys, monkeypatch):
    kernel_main("solutions")
    monkeypatch.setenv(GRADING_ENV, "1")
    assert check() is None and check(assignment="no_such_assignment") is None
    assert capsys.readouterr().out == ""
    assert sandbox.sandbox_env("/tmp/x")[GRADING_ENV] == "1"  # what the sandboxed kernel sees


def test_check_never_raises(kernel_main, capsys):
    kernel_main("solutions")
    assert check(assignment="no_such_assignment") is None
    assert "Самопроверка не запустилась" in capsys.readouterr().out


def test_run_check_selects_tasks_by_number(tiny, kernel_main):
    namespace = kernel_main("assignments")
    records = run_check(namespace, task=("1",), assignment="a00_tiny", course=tiny)
    assert [r["name"] for r in records] == ["test_double_value", "test_double_shape"]


# ---- the generated cells ----------------------------------------------------------------------

def test_public_tasks_and_their_names_come_from_the_rubric():
    extra = ('\n@pytest.fixture\ndef made(submission):\n    return getattr(submission, "make")()\n\n'
             '@pytest.mark.task("3 make")\n@pytest.mark.points(1)\ndef test_make(made):\n    assert made\n')
    assert public_tasks(RUBRIC + extra) == {"1 double": {"double"}, "3 make": {"make"}}  # 2 Scale: hidden


def test_a_task_that_reads_a_handed_in_file_is_checked_at_the_end_of_the_notebook():
    """The weights file a training cell saves exists only after the last cells: the check cell of a
    task whose public tests read it (``submitted_file``, here through a fixture) ends the notebook."""
    from autograder.engine.checkcells import file_tasks, placements

    extra = ('\n@pytest.fixture\ndef weights(submission, submitted_file):\n'
             '    return submitted_file(submission.WEIGHTS)\n\n'
             '@pytest.mark.task("3 weights")\n@pytest.mark.points(1)\ndef test_weights(weights):\n    assert weights\n')
    assert public_tasks(RUBRIC + extra)["3 weights"] == {"WEIGHTS"}
    assert file_tasks(RUBRIC + extra) == {"3 weights"}
    cells = [nbformat.v4.new_code_cell(src) for src in
             ("def double(x):\n    pass", 'WEIGHTS = "w.pt"', "train_and_save()", "plot()")]
    where = placements(cells, [True, False, False, False], public_tasks(RUBRIC + extra), file_tasks(RUBRIC + extra))
    assert where == {0: ["1 double"], 3: ["3 weights"]}


def test_release_adds_a_setup_cell_and_a_check_cell_after_each_task(tiny):
    nb = nbformat.read(tiny.assignments["a00_tiny"].student, as_version=4)
    ids = [c.get("id") for c in nb.cells]
    assert ids == ["autograder-setup", "tiny-00", "tiny-01", "tiny-02", "tiny-03", "autograder-check-1",
                   "tiny-04", "tiny-05"]   # after double's cell; no cell for the hidden-only task
    setup, checker = nb.cells[0], nb.cells[5]
    assert checker.source.startswith('check("1 double")')
    assert "start('a00_tiny')" in setup.source and "except ImportError" in setup.source
    assert "pip install" in setup.source and "run_line_magic" not in setup.source  # no URL: says how
    for cell in (setup, checker):
        assert is_generated(cell) and "protected" in cell.metadata["tags"] and cell.metadata["editable"] is False
    assert len([line for line in setup.source.splitlines() if not line.startswith("#")]) <= 2


def test_a_bundle_url_in_the_course_file_is_installed_where_autograder_is_missing(tiny, tmp_path):
    root = tmp_path / "course"
    shutil.copytree(tiny.root, root)
    (root / "autograder.toml").write_text('[release]\nbundle_url = "https://example.org/nn course.zip"\n')
    assert release(Course(root)) == []
    setup = nbformat.read(root / "assignments" / "a00_tiny.ipynb", as_version=4).cells[0]
    code = [line for line in setup.source.splitlines() if not line.startswith("#")]
    assert len(code) == 1   # one line for the student
    assert 'find_spec("autograder") or get_ipython().run_line_magic("pip", "install -q ' \
           "'https://example.org/nn course.zip'\")" in code[0]
    assert release(Course(root), check=True) == []


def test_solution_notebooks_stay_the_single_source(tiny):
    sol = nbformat.read(tiny.assignments["a00_tiny"].solution, as_version=4)
    assert not any(is_generated(c) for c in sol.cells)
    plain = student_notebook(sol, "a00_tiny")
    assert [c.id for c in plain.cells] == [c.id for c in sol.cells]   # without a rubric: no cells added


def test_generated_cells_are_restored_but_not_reinserted_or_guessed(tiny):
    a = tiny.assignments["a00_tiny"]
    released = nbformat.read(a.student, as_version=4)
    edited = copy.deepcopy(released)
    edited.cells[5].source = "print('я поменял проверку')"
    restored, notes = restore_protected(edited, a)
    assert restored.cells[5].source == released.cells[5].source and len(notes) == 1
    # a notebook without the generated cells (older, or deleted): nothing put back, nothing said,
    # and a student's short cell is never taken for the missing check cell
    old = copy.deepcopy(released)
    old.cells = [c for c in old.cells if not is_generated(c)]
    old.cells.insert(4, nbformat.v4.new_code_cell('check("1 dbl")'))
    for c in old.cells:
        c.pop("id", None)
    restored, notes = restore_protected(old, a)
    assert notes == [] and [c.source for c in restored.cells] == [c.source for c in old.cells]


# ---- in a kernel -------------------------------------------------------------------------------

def _execute(nb, path, monkeypatch, env=None, allow_errors=False):
    """Execute like Jupyter's "Run All": stop at the first cell whose execution fails (unless
    ``allow_errors``, as the grader does)."""
    from nbclient import NotebookClient

    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(path)}}).execute()
    return nb


def _solved(released, solution):
    """The released notebook with every solution cell filled in (what a finished student hands in)."""
    nb = copy.deepcopy(released)
    sources = {c.id: c.source for c in solution.cells}
    for c in nb.cells:
        if c.get("id") in sources:
            c.source = sources[c.id]
    return nb


def _outputs(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.mark.slow
def test_run_all_reaches_every_check_cell_of_the_untouched_and_the_solved_notebook(tiny, monkeypatch):
    a = tiny.assignments["a00_tiny"]
    released = nbformat.read(a.student, as_version=4)
    nb = _execute(copy.deepcopy(released), a.student.parent, monkeypatch)
    by_id = {c.id: c for c in nb.cells}
    assert "Итого по открытым тестам: 0/3" in _outputs(by_id["autograder-check-1"])
    assert "Наименьший вход" not in _outputs(by_id["autograder-check-1"])
    # the demo cell that calls the stub says so and "Run All" goes on to the next cell
    assert "Задание ещё не выполнено: double" in _outputs(by_id["tiny-04"])
    assert by_id["tiny-05"].execution_count is not None
    assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # no Out[] echo under the table
    assert not any(o.output_type == "execute_result" for o in by_id["autograder-check-1"].outputs)

    solved = _execute(_solved(released, nbformat.read(a.solution, as_version=4)), a.student.parent, monkeypatch)
    assert "Итого по открытым тестам: 3/3" in _outputs({c.id: c for c in solved.cells}["autograder-check-1"])


@pytest.mark.slow
def test_check_cells_do_nothing_in_a_grading_kernel(tiny, monkeypatch):
    a = tiny.assignments["a00_tiny"]
    nb = _execute(nbformat.read(a.student, as_version=4), a.student.parent, monkeypatch, {GRADING_ENV: "1"},
                  allow_errors=True)
    cells = {c.id: c for c in nb.cells}
    assert cells["autograder-check-1"].outputs == [] and cells["autograder-setup"].outputs == []
    # and the demo cell's error is the plain one the grader records (no Run All hooks installed)
    assert [o.ename for o in cells["tiny-04"].outputs if o.output_type == "error"] == ["NotImplementedError"]


@pytest.mark.slow
def test_the_grader_runs_the_released_notebook_without_self_check(tiny, tmp_path):
    root = tmp_path / "course"  # the tiny course with room for a loaded machine (5 s per cell)
    shutil.copytree(tiny.root, root)
    rubric = root / "tests" / "grading" / "a00_tiny.py"
    rubric.write_text(rubric.read_text().replace('"cell_timeout": 5, "notebook_timeout": 20',
                                                 '"cell_timeout": 60, "notebook_timeout": 120'))
    course = Course(root)
    a = course.assignments["a00_tiny"]
    result = grade_notebook(Target("stub", a.student), course, tmp_path)
    assert (result["score"], result["max_score"]) == (0.0, 4.0)
    executed = nbformat.read(tmp_path / "stub" / "a00_tiny" / "executed.ipynb", as_version=4)
    cells = {c.get("id"): c for c in executed.cells}
    assert cells["autograder-setup"].outputs == [] and cells["autograder-check-1"].outputs == []
    assert cells["autograder-check-1"].execution_count is not None   # it ran, and did nothing
    assert not any("Защищённая" in e for e in result["errors"])   # nothing to restore


RUN_ALL_SCRIPT = r'''
from IPython.core.interactiveshell import InteractiveShell
from autograder.authoring.selfcheck import RunAllPastUnfinished
shell = InteractiveShell.instance()
RunAllPastUnfinished().install(shell)
RunAllPastUnfinished().install(shell)  # the first cell run twice: hooks not doubled
print("CALLBACKS", len(shell.events.callbacks["post_run_cell"]))
for code in ["print(missing)", "def f():\n    raise NotImplementedError()\nf()", "print(missing)", "1 / 0"]:
    print("SUCCESS", shell.run_cell(code).success)
'''


def test_run_all_continues_past_unfinished_tasks_only():
    import subprocess

    out = subprocess.run([sys.executable, "-c", RUN_ALL_SCRIPT], capture_output=True, text=True, timeout=120).stdout
    assert "CALLBACKS 1" in out
    # a NameError before any unfinished task is a real error; NotImplementedError and the NameError
    # after it let Run All go on; any other error stops it
    assert [line.split()[1] for line in out.splitlines() if line.startswith("SUCCESS")] == \
        ["False", "True", "True", "False"]
    assert "Задание ещё не выполнено: f вызывает NotImplementedError" in out
