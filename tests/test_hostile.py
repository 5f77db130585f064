"""A hostile corpus: notebooks that attack the grader, each graded the normal way.

The notebooks live in ``tests/hostile/`` (one per row of CASES; regenerate them with
``python tests/test_hostile.py``).  Each is a notebook for ``a01_neurons`` built on a stub (nothing
implemented: the score must be 0) or on a correct solution (the attack must not cost or win
points), graded with ``batch.grade_all`` against a small test-only rubric with tight limits.
For every notebook: the grader survives, the score is the expected one, the control student in
the same batch keeps full marks, nothing is written outside the scratch folder, no secret of the
course leaks into the results, and no process is left running.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "hostile"
SECRET = "SECRET-HIDDEN-TEST-7f3a"      # appears only in the rubric and the solution
MARK = "HOSTILE_OWNED"                   # files the attacks try to create
SLEEP = "7777"                           # every process an attack starts has this in its command line

RUBRIC = f'''
import numpy as np, pytest
from autograder.testing import assert_close, rel_error

ASSIGNMENT = {{"title": "hostile corpus", "cell_timeout": 4, "notebook_timeout": 20, "test_timeout": 8,
              "rubric_timeout": 60, "memory_mb": 1024, "max_processes": 64, "file_size_mb": 16}}
EXPECTED = "{SECRET}"

@pytest.mark.points(1)
def test_neuron(submission):
    """Neuron.forward на примере семинара даёт 4.84."""
    n = submission.Neuron(np.array([-0.2, 0.3, -0.5, 0.7]), 3.14)
    assert_close(n.forward(np.array([1.0, 2.0, 3.0, 4.0])), 4.84, "Neuron.forward")

@pytest.mark.points(1)
def test_relu(submission):
    """relu обнуляет отрицательные значения."""
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    assert_close(submission.relu(x), np.maximum(x, 0), "relu(x)")

@pytest.mark.hidden
@pytest.mark.points(1)
def test_check_gradient(submission):
    """check_gradient с функцией проверяющего."""
    X = np.arange(6.0).reshape(2, 3)
    num = submission.check_gradient(lambda Z: (float(np.sum(Z ** 2)), 2 * Z), X)
    assert rel_error(num, 2 * X) < 1e-6
'''

GOOD = [
    "import numpy as np",
    '''class Neuron:
    def __init__(self, weights, bias):
        self.weights, self.bias = np.asarray(weights, dtype=float), bias

    def forward(self, inputs):
        return float(np.dot(self.weights, inputs) + self.bias)''',
    "def relu(x):\n    return np.maximum(x, 0)",
    '''def check_gradient(func, X, h=1e-5):
    X = np.array(X, dtype=float)
    g = np.zeros_like(X)
    for i in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[i] += h
        Xm[i] -= h
        g[i] = (func(Xp)[0] - func(Xm)[0]) / (2 * h)
    return g''',
]
STUB = [
    "import numpy as np",
    '''class Neuron:
    def __init__(self, weights, bias):
        self.weights, self.bias = weights, bias

    def forward(self, inputs):
        # YOUR CODE HERE
        raise NotImplementedError()''',
    "def relu(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
    "def check_gradient(func, X):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
]


def _in_class(code: str) -> str:
    """Code that runs when the worker imports the definitions (a class body runs at import)."""
    return "class _Attack:\n" + textwrap.indent(textwrap.dedent(code).strip(), "    ")


def _neuron_forward(body: str) -> str:
    return ("class Neuron:\n    def __init__(self, weights, bias):\n        pass\n\n"
            "    def forward(self, inputs):\n" + textwrap.indent(textwrap.dedent(body).strip(), "        "))


WRITE_EVERYWHERE = f'''
import os, glob
targets = ["/work/main", os.path.expanduser("~"), "/root", "/tmp", "/home", "/etc", "/usr",
           os.path.dirname(os.getcwd())]
targets += [os.path.dirname(p) for p in glob.glob("/tmp/*/") + glob.glob("/tmp/*/*/")]
for t in targets:
    try:
        open(os.path.join(t, "{MARK}"), "w").write("owned")
    except Exception as exc:
        print("write", t, type(exc).__name__)
'''

STEAL = f'''
import glob, os
found = []
for root in ["/work", "/root", "/home", "/tmp", "/srv", "/opt", os.path.dirname(os.getcwd())]:
    for pattern in ("**/solutions/*.ipynb", "**/tests/grading/*.py", "**/a01_neurons*"):
        try:
            found += glob.glob(os.path.join(root, pattern), recursive=True)[:20]
        except Exception:
            pass
for path in found:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
        print(text[:200000])
        exec(compile(text if path.endswith(".py") else "", path, "exec"), globals())
    except BaseException as exc:
        print("steal", path, type(exc).__name__)
print("stolen:", found)
'''

FAKE_LINES = "\n".join(json.dumps({"kind": "test", "name": n, "score": 100.0, "max_score": 1.0, "status": "passed",
                                   "output": ""}) for n in ("test_neuron", "test_relu", "test_check_gradient"))

FAKE_RESULTS = f'''
import os, sys
fake = {FAKE_LINES!r}
print(fake); print(fake, file=sys.stderr)
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        args = open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\\0")
        for i, a in enumerate(args):
            if a in (b"--ag-results", b"--out") and i + 1 < len(args):
                open(args[i + 1].decode(), "a").write(fake + "\\n")
        cwd = os.readlink(f"/proc/{{pid}}/cwd")
        for name in ("_results.jsonl", "result.json"):
            open(os.path.join(cwd, name), "a").write(fake + "\\n")
    except Exception as exc:
        pass
for name in ("_results.jsonl", "result.json", "results.json", "../_results.jsonl"):
    try:
        open(name, "a").write(fake + "\\n")
    except Exception:
        pass
'''

#: the student's name is the notebook's file name: it starts a row of gradebook.csv and grades.csv
FORMULA_STUDENT = "=1+2<b>html"
FORGE = r'''
import json, os, struct, sys, time

def _forge(header, blobs):
    """A raw frame on the worker's own output fd (argv[2]) in place of its reply."""
    head = json.dumps(header).encode()
    data = [struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
    for b in blobs:
        data += [struct.pack("<Q", len(b)), b]
    view = memoryview(b"".join(data))
    while view:
        view = view[os.write(int(sys.argv[2]), view):]
    time.sleep(60)

def _block():
    """One 4 MB array in blob 0."""
    return {"~": "nd", "dt": "|u1", "sh": [4 * 2**20], "b": 0}
'''
FORGED_REPLY = _neuron_forward('_forge({"k": "ok", "v": [_block()] * 24}, [bytes(4 * 2**20)])')
FORGED_CALLBACK = '''def check_gradient(func, X, h=1e-5):
    cid = int(func.__name__.rsplit("_", 1)[1])
    _forge({"k": "cb", "id": cid, "a": [_block()], "kw": {"~": "dict", "k": ["h"], "v": [_block()]}},
           [bytes(4 * 2**20)])'''

#: name -> (base, extra cells, expected score, what it does)
CASES: dict[str, tuple[str, list[str], float, str]] = {
    "loop_top_level": ("stub", ["while True:\n    pass"], 0, "infinite loop in a top-level cell"),
    "loop_in_method": ("stub", [_neuron_forward("while True:\n    pass")], 0, "infinite loop in a graded method"),
    "loop_good_elsewhere": ("good", [_neuron_forward("while True:\n    pass")], 2,
                            "a hanging method does not cost the other tasks (worker restarted)"),
    "ignore_signals_top": ("stub", ["import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"], 0,
                           "ignores SIGINT/SIGTERM, then loops (notebook)"),
    "ignore_signals_method": ("stub", [_neuron_forward(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass")], 0,
        "ignores SIGINT/SIGTERM, then loops (graded method)"),
    "spinning_thread": ("good", [_in_class(
        "import threading\nthreading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()"),
        "import threading\nthreading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()"], 3,
        "a non-daemon thread spinning forever (import and notebook)"),
    "fork_bomb": ("stub", [_neuron_forward("import os\nwhile True:\n    os.fork()"),
                           "import os\nfor _ in range(10000):\n    try:\n        os.fork()\n    except OSError:\n        pass"],
                  0, "fork bombs in the notebook and in a graded method"),
    "subprocess_bomb": ("stub", [f"import subprocess\nfor _ in range(500):\n    subprocess.Popen(['sleep', '{SLEEP}'])",
                                 _in_class(f"import subprocess\nfor _ in range(200):\n    subprocess.Popen(['sleep', '{SLEEP}'])")],
                        0, "hundreds of background processes"),
    "new_session_child": ("good", [f"import subprocess\nsubprocess.Popen(['sleep', '{SLEEP}'], start_new_session=True)",
                                   _in_class("import subprocess, os\n"
                                             f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep {SLEEP} & sleep {SLEEP}'], "
                                             "start_new_session=True)")],
                          3, "children in their own session (double fork)"),
    "memory_hog_top": ("stub", ["blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))"], 0,
                       "allocates until the memory limit"),
    "memory_hog_method": ("stub", [_neuron_forward("import numpy as np\nreturn np.ones((2**17, 2**17)).sum()")], 0,
                          "a graded method asks for 128 GiB"),
    "huge_output": ("good", ["for i in range(200000):\n    print('x' * 200)",
                             "import sys\nsys.stderr.write('y' * 50_000_000)"], 3,
                    "floods stdout/stderr (the output is capped, the grade unaffected)"),
    "fill_disk": ("stub", ["with open('big.bin', 'wb') as f:\n    f.write(b'0' * 200 * 2**20)"], 0,
                  "writes a file over the size limit"),
    "deep_recursion": ("stub", ["import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nf(0)",
                                _in_class("import sys\nsys.setrecursionlimit(10**7)\n"
                                          "def f(n):\n    return f(n + 1) + 1\nf(0)")],
                       0, "recursion deep enough to crash the interpreter"),
    "sys_exit_import": ("stub", [_in_class("import sys\nsys.exit(0)"), "import sys\nsys.exit(0)"], 0,
                        "sys.exit while the definitions are imported"),
    "os_exit_import": ("good", [_in_class("import os\nos._exit(0)")], 0,
                       "os._exit while the definitions are imported (even a correct solution scores 0)"),
    "os_exit_method": ("stub", [_neuron_forward("import os\nos._exit(0)")], 0, "os._exit in a graded method"),
    "kill_everything": ("stub", [_neuron_forward("import os, signal\nos.kill(os.getppid(), 9)\n"
                                                 "os.kill(-1, signal.SIGKILL)"),
                                 "import os\nos.kill(os.getppid(), 9)\nos.kill(-1, 9)"], 0,
                        "kills its parent and every process it may signal"),
    "patch_numpy": ("stub", [_in_class(
        "import numpy as np, numpy.testing\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\nnp.array_equal = lambda *a, **k: True"),
        _neuron_forward("return 0.0")], 0, "replaces numpy's comparisons"),
    "patch_builtins": ("stub", [_in_class(
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.abs = lambda x: 0\n"
        "builtins.float = lambda *a: 4.84\nbuiltins.AssertionError = type('A', (Exception,), {})")], 0,
        "replaces builtins"),
    "patch_pytest": ("stub", [_in_class(
        "import sys, types\nfake = types.ModuleType('pytest')\nfake.fail = lambda *a, **k: None\n"
        "sys.modules['pytest'] = fake\ntry:\n    import _pytest.outcomes as o\n    o.fail = lambda *a, **k: None\n"
        "    o.Failed = type('F', (Exception,), {})\nexcept Exception:\n    pass\n"
        "try:\n    import autograder.testing as t\n    t.assert_close = lambda *a, **k: None\nexcept Exception:\n    pass"),
        _neuron_forward("import pytest\npytest.skip('nothing to grade')")], 0,
        "patches pytest/autograder internals and raises pytest's Skipped"),
    "equal_to_everything": ("stub", ['''class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __array__(self, *a, **k):
        raise RuntimeError("no")
    __hash__ = float.__hash__''', _neuron_forward("return Anything(0.0)"),
        '''class AnythingArray:
    def __eq__(self, other): return True
    def __array__(self, *a, **k): return self
    def __float__(self): return 4.84
def relu(x):
    return AnythingArray()'''], 0, "returns objects equal to everything"),
    "fake_results": ("stub", [FAKE_RESULTS, _in_class(FAKE_RESULTS)], 0,
                     "prints fake results and writes them where /proc says the grader writes"),
    "read_solutions": ("stub", [STEAL, _in_class(STEAL)], 0,
                       "searches for the solution notebook and hidden tests to define their code"),
    "write_everywhere": ("stub", [WRITE_EVERYWHERE, _in_class(WRITE_EVERYWHERE)], 0,
                         "writes into the repository, home, /tmp, /etc, /usr"),
    "network": ("stub", ["import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
                         "    print('NETWORK-OPEN')\nexcept OSError as exc:\n    print('network:', exc)",
                         _neuron_forward("import urllib.request\n"
                                         "return urllib.request.urlopen('http://example.com', timeout=2).read()")],
                0, "opens network connections"),
    "symlink_scratch": ("good", ["import os\nfor name in ('_executed.ipynb', '_submission.ipynb', 'result.json'):\n"
                                 "    try:\n        os.symlink('/etc/shadow', name)\n    except OSError as exc:\n"
                                 "        print(exc)"], 3,
                        "plants symlinks where the grader reads and writes"),
    "forged_frames": ("good", [FORGE, FORGED_REPLY, FORGED_CALLBACK], 1,
                      "the worker's code writes raw frames to the grader: a reply and a callback that "
                      "reference one 4 MB block 24 times"),
    "not_json": ("raw", ["this is not a notebook {"], 0, "a file that is not JSON"),
    "ten_thousand_cells": ("stub", ["x = 1"] * 10_000, 0, "10,000 cells"),
    FORMULA_STUDENT: ("good", [], 3, "a student named like a spreadsheet formula with HTML (CSV injection)"),
}
CONTROL = "control_good"


def build(name: str) -> nbformat.NotebookNode | str:
    base, extra, _, what = CASES[name]
    if base == "raw":
        return extra[0]
    cells = [nbformat.v4.new_markdown_cell(f"Hostile: {what}")]
    cells += [nbformat.v4.new_code_cell(c) for c in (GOOD if base == "good" else STUB) + extra]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["autograder"] = {"assignment": "a01_neurons"}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_corpus(folder: Path = CORPUS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in list(CASES) + [CONTROL]:
        nb = build(name) if name != CONTROL else _control()
        path = folder / f"{name}.ipynb"
        if isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        else:
            nbformat.write(nb, path)


def _control():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in GOOD])
    nb.metadata["autograder"] = {"assignment": "a01_neurons"}
    return nb


# --------------------------------------------------------------------------- fast checks

def test_corpus_is_generated_from_the_table():
    names = sorted(p.stem for p in CORPUS.glob("*.ipynb"))
    assert names == sorted(list(CASES) + [CONTROL]), "run: python tests/test_hostile.py"
    assert len(CASES) >= 25


def test_wire_round_trip_plain_data_only():
    from autograder.sandbox.wire import Decoder, Encoder, ProtocolError

    value = [None, True, 3, 2.5, "s", (1, 2), {"a": np.arange(6.0).reshape(2, 3), 1: np.float32(2)},
             np.array([1, 2], dtype=np.int8), {1, 2}, slice(1, None)]
    enc = Encoder(lambda o: (_ for _ in ()).throw(TypeError(type(o).__name__)))
    out = Decoder(enc.blobs, None, None).dec(json.loads(json.dumps(enc.enc(value))))
    assert out[:6] == value[:6] and out[8] == {1, 2} and out[9] == slice(1, None)
    assert np.array_equal(out[6]["a"], value[6]["a"]) and type(out[6][1]) is np.float32
    with pytest.raises(TypeError):
        Encoder(lambda o: (_ for _ in ()).throw(TypeError("x"))).enc(object())
    with pytest.raises(ProtocolError):  # a pickle-bearing array never loads
        import io
        buf = io.BytesIO()
        np.save(buf, np.array([object()]), allow_pickle=True)
        Decoder([buf.getvalue()], None, None).dec({"~": "npy", "b": 0})
    with pytest.raises(ProtocolError):  # size lies are caught
        Decoder([b"1234"], None, None).dec({"~": "nd", "dt": "<f8", "sh": [10], "b": 0})


def test_remote_submission_forwards_calls_and_callbacks(tmp_path):
    from autograder.sandbox import isolation as sandbox
    from autograder.sandbox.remote import RemoteError, RemoteSubmission, WorkerFailure

    nb = _control()
    nb.cells.append(nbformat.v4.new_code_cell(_neuron_forward("import os\nos._exit(3)").replace("Neuron", "Bad")))
    nb.cells.append(nbformat.v4.new_code_cell("def boom():\n    raise ValueError('нет')"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sub = RemoteSubmission(nb, scratch, sandbox.probe("auto"), sandbox.Limits(memory_mb=1024), timeout=20)
    sub.start()
    try:
        assert sub.import_errors == []
        n = sub.Neuron(np.array([-0.2, 0.3, -0.5, 0.7]), 3.14)
        assert abs(n.forward(np.array([1.0, 2.0, 3.0, 4.0])) - 4.84) < 1e-9
        assert abs(n.forward(np.array([1.0, 2.0, 3.0, 4.0])) - 4.84) < 1e-9  # by name, one round trip
        n.bias = 0.0
        assert abs(n.bias) == 0.0 and np.asarray(n.weights).shape == (4,)
        g = sub.check_gradient(lambda Z: (float(np.sum(Z ** 2)), 2 * Z), np.ones((2, 2)))
        assert np.allclose(g, 2.0)
        assert "np.maximum" in sub.source_of("relu")
        with pytest.raises(ValueError) as info:
            sub.boom()
        assert isinstance(info.value, RemoteError) and info.value.frames[-1][0] == "<ячейка 6>"
        with pytest.raises(AttributeError):
            sub.Missing
        with pytest.raises(WorkerFailure, match="завершился"):
            sub.Bad(1, 2).forward(1)
        assert np.allclose(sub.relu(np.array([-1.0, 1.0])), [0, 1])  # restarted
        assert sub._channel.starts == 2
    finally:
        sub.close()


def test_remote_handles_survive_duplicates_and_tests_start_from_seed_zero(tmp_path):
    """``model.eval()`` returning self, ``n = train(n)``: dropping one proxy keeps the object."""
    from autograder.sandbox import isolation as sandbox
    from autograder.sandbox.remote import RemoteSubmission

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\n"
        "class Box:\n    def __init__(self):\n        self.v = 1.0\n"
        "    def same(self):\n        return self\n"
        "def draw():\n    return float(np.random.rand())")]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sub = RemoteSubmission(nb, scratch, sandbox.probe("auto"), sandbox.Limits(memory_mb=1024), timeout=20)
    sub.start()
    try:
        box = sub.Box()
        for _ in range(3):
            other = box.same()
            assert other == box
            del other
            gc.collect()
        assert box.v == 1.0  # the worker still has it
        assert sub.has("Box") and not sub.has("Missing")
        sub._reseed(0)
        first = sub.draw()
        sub.draw()
        sub._reseed(0)
        assert sub.draw() == first == float(np.random.RandomState(0).rand())
    finally:
        sub.close()


# --------------------------------------------------------------------------- the corpus

def _outputs(executed: Path) -> str:
    """The text the notebook printed (not its source)."""
    nb = nbformat.read(executed, as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            texts.append(str(o.get("text", "")) + str(o.get("evalue", "")) + json.dumps(o.get("data", {})))
    return "\n".join(texts)


def _leftovers() -> list[str]:
    import psutil

    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if f"sleep {SLEEP}" in cmd:
            found.append(f"{p.info['pid']}: {cmd[:80]}")
    return found


def _csv_problems(results: list[dict], out: Path) -> list[str]:
    """The CSVs and pages written for the corpus: no cell a spreadsheet would run as a formula."""
    import csv

    from autograder.classroom.results import write_all

    write_all(results, out)
    problems = []
    for name in ("gradebook.csv", "grades.csv"):
        with open(out / name, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        formulas = [c for row in rows for c in row if c.startswith(("=", "+", "@", "\t", "\r"))]
        if formulas:
            problems.append(f"{name}: cells a spreadsheet runs as formulas: {formulas[:3]}")
        if "'" + FORMULA_STUDENT not in {row[0] for row in rows}:
            problems.append(f"{name}: no row for {FORMULA_STUDENT!r} (neutralised with a leading ')")
    if "<b>html" in (out / "report.html").read_text(encoding="utf-8"):
        problems.append("report.html: a student's name was not escaped")
    return problems


#: link attacks added to the corpus class (autograder.engine.intake): each must be refused, zero
LINK_ATTACKS = ("linked_solution", "linked_folder", "hardlinked_solution")
#: the grader's own processes (not the sandboxed student code) stay under this resident size
GRADER_RSS_LIMIT = 1536 * 2**20


def _class_with_link_attacks(klass: Path, solution: Path) -> Path:
    """The corpus as a class of loose notebooks, plus hand-ins that are links to the solution
    (a notebook symlink, a student folder symlinked to a folder holding it, a hard link)."""
    shutil.copytree(CORPUS, klass)
    os.symlink(solution, klass / "linked_solution.ipynb")
    hidden = klass.parent / "elsewhere"
    hidden.mkdir()
    shutil.copy(solution, hidden / "a01_neurons.ipynb")
    os.symlink(hidden, klass / "linked_folder")
    os.link(hidden / "a01_neurons.ipynb", klass / "hardlinked_solution.ipynb")
    return klass


class _GraderMemory:
    """Samples the resident memory of this process and its descendants that are not sandboxed
    student code (uids of the sandbox excluded) while grading runs; ``peak`` in bytes.  Each
    process counts its proportional share (PSS): the forks of the warm grader and of the zygote
    share their parent's pages, which RSS would count once per fork.  This process counts by what
    it grew while grading (under xdist it may hold earlier tests' imports and data)."""

    def __enter__(self):
        import threading

        import psutil

        self.peak, self._stop = 0, threading.Event()
        self.base = self._size(psutil.Process())
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        import psutil

        from autograder.sandbox.isolation import UID_BASE

        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = max(0, self._size(me) - self.base)
            for p in me.children(recursive=True):
                try:
                    if p.uids().real < UID_BASE and p.name() not in ("bwrap", "prlimit", "setpriv"):
                        total += self._size(p)
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    @staticmethod
    def _size(p) -> int:
        return getattr(p.memory_full_info(), "pss", None) or p.memory_info().rss

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_hostile_corpus(tmp_path):
    from autograder.sandbox import isolation as sandbox
    from autograder.core.course import Course
    from autograder.classroom.batch import grade_all
    from autograder.engine.grade import discover

    course_root = tmp_path / "course"
    (course_root / "tests" / "grading").mkdir(parents=True)
    (course_root / "tests" / "grading" / "a01_neurons.py").write_text(RUBRIC, encoding="utf-8")
    (course_root / "solutions").mkdir()
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {SECRET}\n" + c) for c in GOOD])
    nbformat.write(solution, course_root / "solutions" / "a01_neurons.ipynb")
    before = sorted(str(p) for p in course_root.rglob("*"))
    out = tmp_path / "out"
    klass = _class_with_link_attacks(tmp_path / "class", course_root / "solutions" / "a01_neurons.ipynb")
    targets = discover([klass])
    start = time.monotonic()
    with _GraderMemory() as memory:
        results = {r["student"]: r for r in grade_all(targets, Course(course_root), out, jobs=2, progress=False)}
    seconds = time.monotonic() - start
    isolation = sandbox.probe("auto")

    problems = []
    for name, (_, _, expected, what) in list(CASES.items()) + [(CONTROL, (None, None, 3, "control"))]:
        r = results.get(name)
        if r is None:
            problems.append(f"{name}: no result")
            continue
        if r["status"] not in ("graded", "ungraded"):
            problems.append(f"{name}: status {r['status']}: {r['errors'][:2]}")
        if r["score"] != expected:
            fails = {t["name"]: t["output"][:120] for t in r["tests"] if t["status"] != "passed"}
            problems.append(f"{name} ({what}): score {r['score']} != {expected}; {fails}")
        if name != "not_json" and r.get("isolation") != isolation:
            problems.append(f"{name}: isolation {r.get('isolation')} != {isolation}")
        saved = json.loads((out / name / "a01_neurons" / "result.json").read_text(encoding="utf-8")) \
            if name != "not_json" else r
        if saved.get("score") != r["score"]:
            problems.append(f"{name}: result.json was changed: {saved.get('score')}")
        blob = json.dumps(r, ensure_ascii=False)
        executed = out / name / "a01_neurons" / "executed.ipynb"
        if executed.exists():
            blob += _outputs(executed)
        if SECRET in blob or "def test_check_gradient" in blob:
            problems.append(f"{name}: hidden tests or the solution leaked into its results")
        if "root:" in blob and "/bin/" in blob:
            problems.append(f"{name}: /etc/shadow or /etc/passwd leaked")
        if "NETWORK-OPEN" in blob:
            problems.append(f"{name}: network reachable")
    problems += _csv_problems(list(results.values()), out)
    for name in LINK_ATTACKS:
        r = results.get(name)
        if r is None or r["score"] != 0 or not any("refused" in e for e in r["errors"]):
            problems.append(f"{name}: a linked submission was not refused: {r and (r['score'], r['errors'][:2])}")
        for f in (out / name).rglob("*"):
            if f.is_file() and SECRET in f.read_text(encoding="utf-8", errors="replace"):
                problems.append(f"{name}: the solution reached {f}")
    if isolation.endswith("+uid") and memory.peak > GRADER_RSS_LIMIT:  # else student code is ours
        problems.append(f"the grader's processes reached {memory.peak / 2**20:.0f} MB resident")
    if isolation in sandbox.FULL:
        net = _outputs(out / "network" / "a01_neurons" / "executed.ipynb")
        if "network:" not in net:
            problems.append(f"network: the connection attempt did not fail as expected: {net[:300]}")
    assert not problems, "\n".join(problems)
    assert sorted(str(p) for p in course_root.rglob("*")) == before, "files appeared in the course folder"
    owned = [p for p in [Path("/work/main"), Path.home(), Path("/tmp"), Path("/etc"), Path("/usr"), HERE.parent, tmp_path,
                         out] if (p / MARK).exists()]
    owned += [str(p) for p in Path("/tmp").glob(f"*/{MARK}")] + [str(p) for p in out.rglob(MARK)]
    assert not owned, f"attack files written outside the scratch folder: {owned}"
    for _ in range(20):
        left = _leftovers()
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"processes left running: {left[:5]}"
    assert not problems, "\n".join(problems)
    print(f"hostile corpus: {len(results)} notebooks in {seconds:.0f} s under {isolation}, "
          f"grader peak {memory.peak / 2**20:.0f} MB resident")


if __name__ == "__main__":
    write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
    print(f"wrote {len(CASES) + 1} notebooks to {CORPUS}")
