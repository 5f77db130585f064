"""Benchmark: grade a class of N submissions and say where the time goes.

    python benchmarks/bench_class.py --n 100 --jobs 1 2            # the course's assignments
    python benchmarks/bench_class.py --tiny --n 100 --jobs 1 2     # a trivial notebook (nbgrader's ~1.9 s)
    python benchmarks/bench_class.py --tiny --n 20 --baseline      # the engine before the cuts

The class mixes, for each assignment, correct notebooks (solutions/), untouched ones
(assignments/: every task raises NotImplementedError), buggy ones (demo/class/) and broken ones
(invalid JSON, a syntax error).  For a sample of notebooks it splits the time per notebook into
kernel start, execution, submission import, pytest start-up and tests; then it grades the whole
class with each ``--jobs`` value from scratch and reports throughput, wall and CPU seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TINY_RUBRIC = '''import numpy as np, pytest

@pytest.mark.points(1)
def test_add(submission):
    """add(2, 3) == 5"""
    assert submission.add(2, 3) == 5, "add(2, 3) должно быть 5"

@pytest.mark.points(1)
def test_vector(submission):
    """add works on arrays"""
    np.testing.assert_allclose(submission.add(np.ones(3), np.ones(3)), 2 * np.ones(3))
'''


def _nb(code: str, aid: str) -> dict:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"assignment": aid}
    nb.cells = [nbformat.v4.new_markdown_cell("# Задание"), nbformat.v4.new_code_cell(code)]
    return nb


def tiny_course(root: Path) -> Path:
    """A course with one trivial assignment (one function, two tests)."""
    import nbformat

    (root / "tests" / "grading").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "grading" / "a00_tiny.py").write_text(TINY_RUBRIC, encoding="utf-8")
    (root / "solutions").mkdir(exist_ok=True)
    (root / "assignments").mkdir(exist_ok=True)
    nbformat.write(_nb("def add(a, b):\n    return a + b\n", "a00_tiny"), root / "solutions" / "a00_tiny.ipynb")
    nbformat.write(_nb("def add(a, b):\n    raise NotImplementedError\n", "a00_tiny"),
                   root / "assignments" / "a00_tiny.ipynb")
    demo = root / "demo" / "class" / "a00-minus"
    demo.mkdir(parents=True, exist_ok=True)
    nbformat.write(_nb("def add(a, b):\n    return a - b\n", "a00_tiny"), demo / "a00_tiny.ipynb")
    return root


def pool(course: Path) -> list[tuple[str, str, bytes]]:
    """(kind, assignment, notebook bytes) to build submissions from."""
    items = []
    for sol in sorted((course / "solutions").glob("a*.ipynb")):
        aid = sol.stem
        if not (course / "tests" / "grading" / f"{aid}.py").exists():
            continue
        items.append(("correct", aid, sol.read_bytes()))
        stub = course / "assignments" / sol.name
        if stub.exists():
            items.append(("untouched", aid, stub.read_bytes()))
        for nb in sorted((course / "demo" / "class").glob(f"*/{aid}*.ipynb")):
            items.append(("buggy", aid, nb.read_bytes()))
        text = sol.read_text(encoding="utf-8")
        items.append(("broken", aid, text[: len(text) // 2].encode()))  # cut in half: invalid JSON
        data = json.loads(text)
        for cell in data["cells"]:
            if cell["cell_type"] == "code":
                cell["source"] = "def broken(:\n" + "".join(cell["source"])
                break
        items.append(("broken", aid, json.dumps(data).encode()))
    return items


def build_class(course: Path, n: int, dest: Path) -> dict[str, int]:
    """N students, each with one notebook: the pool repeated in a fixed order."""
    items = pool(course)
    if not items:
        raise SystemExit(f"no solutions/*.ipynb with a rubric in {course}")
    shutil.rmtree(dest, ignore_errors=True)
    kinds: dict[str, int] = {}
    for i in range(n):
        kind, aid, data = items[i % len(items)]
        folder = dest / f"s{i:03d}"
        folder.mkdir(parents=True)
        (folder / f"{aid}.ipynb").write_bytes(data)
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def use_baseline_engine() -> None:
    """The pytest command line as it was before the cuts (for before/after figures)."""
    from autograder.engine import scoring

    original = scoring.pytest_command

    def old(*args, **kwargs):
        cmd = original(*args, **kwargs)
        out, skip = [], 0
        for i, part in enumerate(cmd):
            if skip:
                skip -= 1
                continue
            if part == "--disable-plugin-autoload":
                continue
            if part == "-p" and cmd[i + 1] in ("pytest_timeout", "_hypothesis_pytestplugin"):
                skip = 1
                continue
            if part.startswith("python_files="):
                part = "python_files=*.py"
            out.append(part)
        return out

    scoring.pytest_command = old


def kernel_start_seconds(repeat: int = 3) -> float:
    """Start a python3 kernel until it answers, then stop it (median wall seconds)."""
    code = ("import time; t=time.perf_counter()\n"
            "from jupyter_client.manager import start_new_kernel\n"
            "km, kc = start_new_kernel(kernel_name='python3', startup_timeout=120)\n"
            "d=time.perf_counter()-t; kc.stop_channels(); km.shutdown_kernel(now=True); print(d)")
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def import_seconds(notebook: Path) -> float:
    """A fresh interpreter imports the submission's definitions (as the grading worker does)."""
    code = ("import sys, time, nbformat\nfrom autograder.sandbox.submission import Submission\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\n"
            "t = time.perf_counter(); Submission.from_notebook(nb); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code, str(notebook)], capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


def pytest_startup_seconds(course, assignment) -> float:
    """pytest start-up with our plugins and the rubric collected, no test run."""
    from autograder.engine.scoring import run_rubric

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_rubric(assignment, None, Path(tmp), collect_only=True)
        return time.perf_counter() - t


def split(course, class_dir: Path, sample: int, sandbox: str) -> dict:
    """Per-notebook seconds by phase, for the first ``sample`` gradable notebooks of each kind."""
    from autograder.classroom.batch import grade_all
    from autograder.engine.grade import discover

    targets = [t for t in discover([class_dir])]
    seen, chosen = {}, []
    for t in targets:
        key = t.path.parent.name
        if len(chosen) < sample and key not in seen:
            seen[key] = 1
            chosen.append(t)
    kernel = kernel_start_seconds()
    rows = []
    with tempfile.TemporaryDirectory() as out:
        results = grade_all(chosen, course, Path(out), jobs=1, progress=False, resume=False, sandbox=sandbox)
    startup = {}
    for t, r in zip(chosen, results):
        if not r.get("assignment"):
            continue
        a = course.assignments[r["assignment"]]
        if a.id not in startup:
            startup[a.id] = pytest_startup_seconds(course, a)
        tim = r.get("timings", {})
        imp = import_seconds(t.path)
        rows.append({
            "kernel_start": kernel,
            "execute": max(0.0, tim.get("execute", 0) - kernel),
            "import": imp,
            "pytest_startup": startup[a.id],
            "tests": max(0.0, tim.get("tests", 0) - startup[a.id] - imp),
            "total": tim.get("total", 0),
        })
    if not rows:
        return {}
    return {k: round(statistics.mean(r[k] for r in rows), 2) for k in rows[0]} | {"sample": len(rows)}


def throughput(course, class_dir: Path, jobs: int, sandbox: str) -> dict:
    from autograder.classroom.batch import grade_all
    from autograder.engine.grade import discover

    targets = discover([class_dir])
    with tempfile.TemporaryDirectory() as out:
        c0, s0, t0 = _cpu_children(), _cpu_self(), time.perf_counter()
        results = grade_all(targets, course, Path(out), jobs=jobs, progress=False, resume=False, sandbox=sandbox)
        wall = time.perf_counter() - t0
        cpu = _cpu_children() - c0 + _cpu_self() - s0
    n = len(results)
    return {"jobs": jobs, "notebooks": n, "wall_s": round(wall, 1), "s_per_notebook": round(wall / n, 2),
            "notebooks_per_min": round(60 * n / wall, 1), "cpu_s_per_notebook": round(cpu / n, 2),
            "graded": sum(r["status"] == "graded" for r in results),
            "ungraded": sum(r["status"] == "ungraded" for r in results),
            "errors": sum(r["status"] == "error" for r in results)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="submissions in the class (default: %(default)s)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--course", default=str(ROOT), help="course folder (default: this repository)")
    ap.add_argument("--tiny", action="store_true", help="a trivial one-function assignment instead")
    ap.add_argument("--sample", type=int, default=3, help="notebooks timed phase by phase (0: skip)")
    ap.add_argument("--baseline", action="store_true", help="the engine before the cuts")
    ap.add_argument("--sandbox", default="auto", choices=("off", "auto", "required"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)

    from autograder.core.course import Course

    if args.baseline:
        use_baseline_engine()
    work = Path(tempfile.mkdtemp(prefix="ag-bench-"))
    try:
        course_dir = tiny_course(work / "course") if args.tiny else Path(args.course)
        course = Course.locate(course_dir)
        class_dir = work / "class"
        kinds = build_class(course_dir, args.n, class_dir)
        report = {"n": args.n, "kinds": kinds, "cpus": os.cpu_count(), "baseline": args.baseline,
                  "tiny": args.tiny, "load_avg_1min": round(os.getloadavg()[0], 2)}
        print(f"class of {args.n}: {kinds}", flush=True)
        if args.sample:
            report["split"] = split(course, class_dir, args.sample, args.sandbox)
            print("seconds per notebook by phase:", report["split"], flush=True)
        report["runs"] = []
        for jobs in args.jobs:
            run = throughput(course, class_dir, jobs, args.sandbox)
            report["runs"].append(run)
            print(json.dumps(run), flush=True)
        report["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
