"""The pytest plugin that turns grading tests into a scored rubric.

Markers (next to each test, so the rubric is readable in the test module):
- ``@pytest.mark.points(2)``: the test is worth 2 points (required on every grading test);
- ``@pytest.mark.hidden``: only the instructor's grading run has it (default: public);
- ``@pytest.mark.task("1.2 Linear")``: the task it belongs to (for ``check("Linear")``).

A passing test may say what it measured with pytest's ``record_property("ag_note", "accuracy 0.63 на
...")``: the note becomes the test's output, shown under it in the self-check and the feedback page.

The ``submission`` fixture gives the student's definitions (see ``autograder.sandbox.submission``).
Each finished test is appended as one JSON line to ``--ag-results`` with Gradescope's
test fields (name, score, max_score, status, output) and a few of our own.

PYTEST_DONT_REWRITE: the warm grader imports this module before pytest starts
(``autograder.scoring.grader_server``), and it has no asserts to rewrite.
"""
from __future__ import annotations

import json
import re
import traceback

import pytest
from hypothesis import HealthCheck, Phase, settings

SUBMISSION_KEY = pytest.StashKey[object]()
#: how many Hypothesis examples a grading test tries (enough to catch shape bugs, grades in seconds)
MAX_EXAMPLES = 10

settings.register_profile(
    "grading",
    derandomize=True,
    database=None,
    max_examples=MAX_EXAMPLES,
    deadline=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
    # one bug, one message: no ExceptionGroup of every distinct failure a student has
    report_multiple_bugs=False,
    # no Phase.explain: it re-runs student code to annotate lines, slow and not for students
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


def pytest_addoption(parser):
    group = parser.getgroup("autograder")
    group.addoption("--submission", help="notebook (.ipynb) whose definitions are graded")
    group.addoption("--ag-results", help="write one JSON line per graded test here")
    group.addoption("--ag-public-only", action="store_true", help="deselect @hidden tests")
    group.addoption("--ag-data", help="folder with the data sets the grading tests read (e.g. CIFAR-10)")
    group.addoption("--ag-sandbox", default="auto", help="off|auto|required: isolation of the submission's worker")
    group.addoption("--ag-isolation", help="isolation already resolved by the grader (skips probing)")
    group.addoption("--ag-limits", help="JSON of autograder.sandbox.isolation.Limits for the worker")
    group.addoption("--ag-scratch", help="the submission's scratch folder (the worker's writable folder)")
    group.addoption("--ag-files", help="the files handed in beside the notebook: a grader-private copy "
                                       "(default: the notebook's folder); read by the submitted_file fixture")
    group.addoption("--ag-runner-fd", type=int,
                    help="control socket of the submission's sandbox (autograder.sandbox.runner): workers are "
                         "forked there")
    group.addoption("--ag-inprocess", action="store_true",
                    help="import the submission into this process (no sandbox; for debugging only)")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points the grading test is worth")
    config.addinivalue_line("markers", "hidden: only in the instructor's grading run")
    config.addinivalue_line("markers", "task(name): the assignment task the test belongs to")
    settings.load_profile("grading")
    config._ag_out = None
    path = config.getoption("--ag-results", None)
    if path:
        config._ag_out = open(path, "a", encoding="utf-8")


def pytest_unconfigure(config):
    if getattr(config, "_ag_out", None):
        config._ag_out.close()


def _emit(config, record: dict) -> None:
    out = getattr(config, "_ag_out", None)
    if out is not None:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()


def points_of(item) -> float:
    marker = item.get_closest_marker("points")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: a grading test needs @pytest.mark.points(n)")
    return float(marker.args[0])


def test_info(item) -> dict:
    """Rubric fields of a collected test: name, task, description, points, visibility."""
    task = item.get_closest_marker("task")
    doc = (getattr(item, "function", None).__doc__ or "").strip() if hasattr(item, "function") else ""
    hidden = item.get_closest_marker("hidden") is not None
    return {
        "name": item.name,
        "task": task.args[0] if task and task.args else "",
        "description": doc.splitlines()[0] if doc else "",
        "max_score": points_of(item),
        "hidden": hidden,
        "visibility": "after_published" if hidden else "visible",
    }


def pytest_collection_modifyitems(session, config, items):
    if config.getoption("--ag-public-only", False):
        kept = [i for i in items if i.get_closest_marker("hidden") is None]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
    for item in items:
        info = test_info(item)
        item.stash[_INFO] = info
        _emit(config, {"kind": "collected", **info})


_INFO = pytest.StashKey[dict]()
_STUDENT_FILE = re.compile(r"^<ячейка \d+>$")


@pytest.fixture(scope="session")
def submission(request):
    """The student's definitions; built once per grading run.

    By default they live in a sandboxed worker process (``autograder.sandbox.remote``) and the object
    forwards calls to it; ``--ag-inprocess`` imports them into this process (debugging only).
    """
    config = request.config
    if SUBMISSION_KEY in config.stash:
        return config.stash[SUBMISSION_KEY]
    path = config.getoption("--submission")
    if not path:
        raise pytest.UsageError("no submission: pass --submission NOTEBOOK")
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if config.getoption("--ag-inprocess", False):
        from ..sandbox.submission import Submission

        sub = Submission.from_notebook(nb)
    else:
        sub = _remote_submission(request, nb)
    _emit(config, {"kind": "import_errors", "errors": [str(e) for e in sub.import_errors],
                   "isolation": getattr(sub, "isolation", "none")})
    config.stash[SUBMISSION_KEY] = sub
    return sub


def _remote_submission(request, nb):
    import shutil
    import tempfile
    from pathlib import Path

    from ..sandbox import isolation as sandbox
    from ..sandbox.remote import RemoteSubmission

    config = request.config
    isolation = config.getoption("--ag-isolation") or sandbox.probe(config.getoption("--ag-sandbox") or "auto")
    limits = sandbox.Limits(**json.loads(config.getoption("--ag-limits") or "{}"))
    scratch = config.getoption("--ag-scratch")
    if not scratch:
        scratch = tempfile.mkdtemp(prefix="ag-scratch-")
        request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    try:
        timeout = float(config.getini("timeout") or 0) or 60.0
    except (ValueError, KeyError):
        timeout = 60.0
    data = config.getoption("--ag-data", None)
    link = None
    if config.getoption("--ag-runner-fd", None) is not None:
        import socket

        from ..sandbox.runner import RunnerLink

        link = RunnerLink(socket.socket(fileno=config.getoption("--ag-runner-fd")))
    sub = RemoteSubmission(nb, Path(scratch), isolation, limits, timeout, ro=[Path(data)] if data else [],
                           link=link)
    request.addfinalizer(sub.close)
    sub.start()
    return sub


@pytest.fixture(autouse=True)
def _reseed_submission(request):
    """Every test that uses the submission starts from ``seed_generators(0)`` in the submission's
    process, so a grade does not depend on which tests ran before it (``-k``, self-check)."""
    if "submission" in request.fixturenames:
        reseed = getattr(request.getfixturevalue("submission"), "_reseed", None)
        if reseed is not None:
            reseed(0)


@pytest.fixture(scope="session")
def submitted_file(request):
    """``submitted_file(name, *, max_mb=50) -> bytes``: a file the student handed in beside the
    notebook, by bare name (``autograder.testing.files.read_submitted``).

    The folder is ``--ag-files`` (grading: a grader-private copy taken before the notebook ran;
    self-check: the kernel's current folder), else the notebook's folder; never the sandbox's
    scratch folder, and never a path the student chose."""
    from functools import partial
    from pathlib import Path

    from ..testing.files import read_submitted

    folder = request.config.getoption("--ag-files", None)
    if not folder:
        path = request.config.getoption("--submission")
        folder = Path(path).resolve().parent if path else None
    return partial(read_submitted, Path(folder) if folder else None)


@pytest.fixture(scope="session")
def data_dir(request):
    """The instructor's data folder (``autograder grade --data DIR``), or None when not given."""
    from pathlib import Path

    path = request.config.getoption("--ag-data")
    return Path(path) if path else None


_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def notebook_global_hint(message: str, computed: dict[str, int]) -> str:
    """For ``NameError: name 'x' is not defined`` where ``x`` is a value the notebook computes in
    a cell the grader does not run: why the name is missing and how to fix it ('' otherwise)."""
    m = _UNDEFINED.search(message)
    if not m or m.group(1) not in computed:
        return ""
    name, cell = m.group(1), computed[m.group(1)]
    return (f"\nПеременная `{name}` есть в вашем ноутбуке (её значение вычисляется в ячейке {cell}), но "
            "проверяемый код видит только определения ноутбука (импорты, функции, классы, константы), "
            "а не значения, вычисленные при выполнении его ячеек. Не обращайтесь из функций и методов "
            f"к переменным ноутбука: используйте атрибут объекта (`self.{name}`) или передайте значение "
            "аргументом.")


def _from_worker(exc: BaseException) -> bool:
    from ..sandbox.remote import RemoteError

    return isinstance(exc, RemoteError)


def out_of_memory() -> str:
    """The message of a test during which the grader's own process ran out of memory
    (its limit: ``autograder.engine.scoring.GRADER_MEMORY_MB``)."""
    import resource

    limit = resource.getrlimit(resource.RLIMIT_DATA)[0]
    size = f" ({limit // 2**20} МБ)" if limit != resource.RLIM_INFINITY else ""
    return (f"Процессу проверки не хватило памяти{size}: ваш код вернул или передал проверяющему "
            "слишком большие данные. Этот тест не засчитан, остальные проверяются как обычно.")


def explain(excinfo, computed: dict[str, int] | None = None) -> str:
    """A failure message a student understands: our assertion text, or their own exception.

    computed: global names the notebook computes in cells that are not imported -> cell number
    (``extract.Definitions.computed``), to explain a NameError on one of them."""
    exc = excinfo.value
    notes = [n for n in getattr(exc, "__notes__", []) if n.strip()]
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip() or "Проверка не пройдена."
    elif excinfo.typename == "Failed" and "Timeout" in str(exc):
        text = ("Превышено время выполнения теста: возможно, в вашем коде бесконечный цикл "
                "или слишком медленная реализация.")
    elif isinstance(exc, MemoryError) and not _from_worker(exc):
        text = out_of_memory()
    else:
        from ..sandbox.remote import RemoteError

        if isinstance(exc, RemoteError):  # raised in the sandboxed worker: its frames came as data
            frames = [traceback.FrameSummary(f[0], f[1], f[2], line=f[3]) for f in exc.frames
                      if _STUDENT_FILE.match(str(f[0]))]
            name = exc.remote_type
        else:
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if _STUDENT_FILE.match(f.filename)]
            name = type(exc).__name__
        where = ""
        if frames:
            f = frames[-1]
            where = f" ({f.filename.strip('<>')}, строка {f.lineno}, в {f.name}: «{(f.line or '').strip()}»)"
        if isinstance(exc, NotImplementedError):
            text = f"Задание не выполнено: ваш код вызывает NotImplementedError{where}."
        else:
            text = f"Ваш код завершился с ошибкой {name}: {exc}{where}"
            if isinstance(exc, NameError) and computed:
                text += notebook_global_hint(str(exc), computed)
    example = [n for n in notes if n.startswith(("Falsifying", "Failing test case"))]
    if example:
        lines = example[-1].splitlines()[1:-1]
        body = "\n".join(line for line in lines if not line.strip().startswith("submission="))
        text += "\nНаименьший вход, на котором проверка не проходит:\n" + body
    return text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and report.failed:
        sub = item.config.stash.get(SUBMISSION_KEY, None)
        computed = getattr(sub, "_computed", None) if sub is not None else None
        report.user_properties.append(("ag_message", explain(call.excinfo, computed)))


class _Recorder:
    """Collects the three phase reports of a test and emits one record at teardown."""

    def __init__(self, config):
        self.config = config
        self.state: dict[str, dict] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report):
        rec = self.state.setdefault(report.nodeid, {"status": "passed", "output": ""})
        message = dict(report.user_properties).get("ag_message")
        note = dict(report.user_properties).get("ag_note")  # record_property("ag_note", ...)
        if report.when == "call" and report.passed and note and not rec["output"]:
            rec["output"] = str(note)[:2000]  # what a passing test measured, shown under it
        if report.failed and rec["status"] != "failed":
            rec["status"] = "failed"
            rec["output"] = message or report.longreprtext[-2000:]
        elif report.skipped and rec["status"] == "passed":
            rec["status"] = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            rec["output"] = reason.removeprefix("Skipped: ")
        if report.when == "teardown":
            self.finish(report.nodeid)

    def finish(self, nodeid):
        rec = self.state.pop(nodeid)
        item = self.items.get(nodeid)
        info = dict(item.stash[_INFO]) if item is not None else {"name": nodeid, "max_score": 0}
        score = info["max_score"] if rec["status"] == "passed" else 0.0
        _emit(self.config, {"kind": "test", **info, "score": score, **rec})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        self.items = {i.nodeid: i for i in items}


def pytest_sessionstart(session):
    session.config.pluginmanager.register(_Recorder(session.config), "autograder-recorder")
