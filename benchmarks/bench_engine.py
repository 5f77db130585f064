"""Benchmark: the grading engine against its floor, nbgrader and the previous engine, in one run.

    python benchmarks/bench_engine.py                                        # N = 100 / 100 / 100
    python benchmarks/bench_engine.py --n-a01 4 --n-course 6 --n-tiny 4      # a smoke run
    python benchmarks/bench_engine.py --only tiny --no-compare --json tiny.json

Classes (built in a temporary folder):
  a01     N notebooks of a01_neurons: half solutions/ (correct), half assignments/ (untouched)
  course  bench_class.build_class: the five assignments mixed (correct, untouched, buggy, broken)
  tiny    bench_class.tiny_course's one-function assignment, half correct, half untouched

For each class it prints
  1. the floor: each distinct notebook's code cells run once in a fresh plain ``python`` (IPython
     lines dropped, every cell in try/except so the rest runs, the course's cell and notebook
     timeouts), wall and CPU seconds per notebook;
  2. our grader: ``autograder grade`` from scratch for each ``--jobs``: wall, wall and CPU seconds
     per notebook (the CPU of everything it started), load average before and after, CPU-busy share;
  3. nbgrader (tiny only): ``nbgrader autograde`` of the same notebooks, serial, in a venv of its
     own, and whether its gradebook gives the correct notebooks full marks and the others 0;
  4. the ratios against their targets (PASS/MISS);
  5. whether the scores equal the previous engine's (a git ref): each student's score and tests
     against the previous engine's grade of the same submission.
Exit code 1 when the scores differ from the previous engine's.

CPU seconds are those of a cgroup each command is put in (cgroup v1 cpuacct, else v2), so they
include every process it started; children's rusage is the fallback and then a lower bound (it
misses processes reaped by the kernel, such as the jobs of the engine's fork server, which ignores
SIGCHLD).  The previous engine is ``git archive``d once to ~/.cache/autograder-bench/engine-<commit>.
Grades depend only on what a student hands in, and the classes repeat few submissions (a01: 2,
course: the pool's ~52, tiny: 2), so the previous engine grades each distinct one once (a student
folder's files, by sha256 of their bytes), in a class of one student per distinct submission, and
every student of the big class is compared with the grade of its submission.  Those grades are
cached there per ref and distinct submissions (baseline-<commit>-<hash>.json, cell ids aside): the
first full run grades ~56 notebooks with it, minutes; later runs reuse them.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_class import ROOT, build_class, pool, tiny_course  # noqa: E402

CACHE = Path.home() / ".cache" / "autograder-bench"
NBGRADER_VERSION = "0.9.6"
CLASSES = ("a01", "course", "tiny")
#: what the floor's python and nbgrader run with (the grader's sandbox sets the same);
#: AUTOGRADER_GRADING=1 as in the sandbox, so released notebooks' self-check cells do nothing
#: in the floor either (otherwise the floor would run the public tests the grader never runs)
RUN_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "AUTOGRADER_GRADING": "1"}
#: targets: CPU per notebook over the floor's; nbgrader's wall per notebook over ours (tiny,
#: --jobs 1); wall seconds of a class of 100 with --jobs 2 (scaled to the class's N)
TARGET_CPU_RATIO = 1.5
TARGET_NBGRADER_RATIO = 3.0
TARGET_WALL_PER_100 = {"a01": 60.0, "course": 200.0}
TARGET_JOBS = 2
DEFAULT_TIMEOUTS = (60, 300)  # cell, notebook: the course's defaults (autograder/course.py)
ORPHAN_GRACE_S = 30.0         # how long processes left behind by a timed command may take to end


# --------------------------------------------------------------------------- classes

@dataclass(frozen=True)
class Member:
    """One student's notebook in a class."""
    student: str
    kind: str
    assignment: str
    sha: str


@dataclass
class Klass:
    """A class to grade: its course, its folder, who is in it and the --jobs to grade it with."""
    name: str
    course: Path
    folder: Path
    members: list
    jobs: list

    def kinds(self) -> dict:
        counts: dict = {}
        for m in self.members:
            counts[m.kind] = counts.get(m.kind, 0) + 1
        return counts


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_half(course: Path, assignment: str, n: int, dest: Path) -> list:
    """N students of one assignment, alternately correct (solutions/) and untouched (assignments/)."""
    items = {kind: data for kind, aid, data in pool(course)
             if aid == assignment and kind in ("correct", "untouched")}
    if len(items) != 2:
        raise SystemExit(f"{course}: no solutions/ and assignments/ notebook of {assignment}")
    shutil.rmtree(dest, ignore_errors=True)
    members = []
    for i in range(n):
        kind = ("correct", "untouched")[i % 2]
        folder = dest / f"s{i:03d}"
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_bytes(items[kind])
        members.append(Member(folder.name, kind, assignment, _sha(items[kind])))
    return members


def build_mixed(course: Path, n: int, dest: Path) -> list:
    """bench_class.build_class, with each student's kind and assignment (its pool, in order)."""
    counts = build_class(course, n, dest)
    items = pool(course)
    members = []
    for i in range(n):
        kind, aid, data = items[i % len(items)]
        members.append(Member(f"s{i:03d}", kind, aid, _sha(data)))
    assert {k: sum(m.kind == k for m in members) for k in counts} == counts
    return members


def build_classes(work: Path, args) -> list:
    """The classes chosen with --only, built under ``work``."""
    jobs = args.jobs
    classes = []
    for name in args.only:
        folder = work / "classes" / name
        if name == "a01":
            classes.append(Klass(name, ROOT, folder, build_half(ROOT, "a01_neurons", args.n_a01, folder), jobs))
        elif name == "course":
            classes.append(Klass(name, ROOT, folder, build_mixed(ROOT, args.n_course, folder), jobs))
        else:
            course = tiny_course(work / "tiny-course")
            classes.append(Klass(name, course, folder, build_half(course, "a00_tiny", args.n_tiny, folder),
                                 args.tiny_jobs))
    return classes


# --------------------------------------------------------------------------- timing

def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cgroup_candidates() -> list:
    """(kind, folder) of this process's cgroup in a cgroup-v1 cpuacct hierarchy and in cgroup v2."""
    try:
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except (OSError, ValueError):
        return []
    found = []
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, (fstype, opts) = left.split(), right.split()[0:3:2]
        root, point = fields[3], Path(fields[4])
        if fstype == "cgroup" and "cpuacct" in opts.split(","):
            path = next((v for k, v in own.items() if "cpuacct" in k.split(",")), None)
            kind = "v1"
        elif fstype == "cgroup2":
            path, kind = own.get(""), "v2"
        else:
            continue
        if path is None:
            continue
        if root != "/" and path.startswith(root):
            path = path[len(root):]
        found.append((kind, point / path.lstrip("/")))
    return sorted(found)  # v1 first: its cpuacct counts without enabling a controller


class CpuMeter:
    """CPU seconds of a command and of every process it starts, by putting it in a cgroup of its own.

    Children's rusage misses processes that are never waited for: a server that ignores SIGCHLD
    (the new engine's fork server does) has its children reaped by the kernel, and their CPU is
    added to nobody's RUSAGE_CHILDREN.  A cgroup counts every descendant.  Falls back to rusage
    (a lower bound then) when no cgroup can be made here."""

    def __init__(self):
        self.kind, self.base, self._count = "rusage", None, 0
        for kind, folder in _cgroup_candidates():
            self.kind, self.base = kind, folder
            probe = self.run([sys.executable, "-c", "sum(range(10**6))"], Path.cwd())
            if probe["cpu_s"] > 0 and probe["method"] != "rusage":
                return
        self.kind, self.base = "rusage", None

    def _group(self) -> Path | None:
        if self.base is None:
            return None
        self._count += 1
        group = self.base / f"ag-bench-{os.getpid()}-{self._count}"
        try:
            group.mkdir()
            return group
        except OSError:
            return None

    def _usage(self, group: Path) -> float:
        if self.kind == "v1":
            return int((group / "cpuacct.usage").read_text()) / 1e9
        stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e6

    @staticmethod
    def _members(group: Path) -> int:
        try:
            return len((group / "cgroup.procs").read_text().split())
        except OSError:
            return 0

    def run(self, cmd: list, cwd: Path, env: dict | None = None, out=subprocess.DEVNULL,
            timeout: float | None = None) -> dict:
        group = self._group()
        procs = str(group / "cgroup.procs") if group else None

        def enter():  # in the child, before exec: everything it starts is in the group too
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))

        cpu0, t0 = _children_cpu(), time.perf_counter()
        try:
            rc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                timeout=timeout, preexec_fn=enter if group else None).returncode
            timed_out = False
        except subprocess.TimeoutExpired:  # run() killed and reaped it
            rc, timed_out = -9, True
        except subprocess.SubprocessError:  # the group could not be entered: rusage instead
            group = None
            cpu0, t0 = _children_cpu(), time.perf_counter()
            rc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
            timed_out = False
        wall = time.perf_counter() - t0
        rusage = _children_cpu() - cpu0
        left = 0
        if group:
            deadline = time.monotonic() + ORPHAN_GRACE_S
            while self._members(group) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = self._members(group)
            cpu = self._usage(group)
            if not left:
                group.rmdir()
        return {"rc": rc, "timed_out": timed_out, "wall_s": wall, "cpu_s": cpu if group else rusage,
                "cpu_rusage_s": rusage, "method": f"cgroup {self.kind}" if group else "rusage", "left_running": left}


METER: CpuMeter | None = None


def timed(cmd: list, cwd: Path, env: dict | None = None, log: Path | None = None,
          timeout: float | None = None) -> dict:
    """Run ``cmd`` to the end: rc, wall seconds (the command's) and CPU seconds of it and of every
    process it started (``CpuMeter``)."""
    global METER
    METER = METER or CpuMeter()
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        run = METER.run(cmd, cwd, env, out, timeout)
    finally:
        if log:
            out.close()
    if run["left_running"]:
        print(f"  ! {run['left_running']} process(es) started by {' '.join(map(str, cmd[:4]))} still ran "
              f"{ORPHAN_GRACE_S:.0f} s after it ended (their CPU after that is not counted)", flush=True)
    return run


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _env(extra: dict | None = None) -> dict:
    env = {**os.environ, **RUN_ENV}
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------- 1. the floor

FLOOR_RUNNER = '''\
import linecache as __floor_lc, signal as __floor_signal, sys as __floor_sys, traceback as __floor_tb


def __floor_timeout(signum, frame):
    raise TimeoutError("cell ran longer than {cell_timeout} s")


__floor_signal.signal(__floor_signal.SIGALRM, __floor_timeout)
__floor_failed = 0
for __floor_i, __floor_src in enumerate({cells!r}, 1):
    __floor_name = f"<cell {{__floor_i}}>"
    __floor_lc.cache[__floor_name] = (len(__floor_src), None, __floor_src.splitlines(True), __floor_name)
    __floor_signal.setitimer(__floor_signal.ITIMER_REAL, {cell_timeout})
    try:
        exec(compile(__floor_src, __floor_name, "exec"), globals())
    except BaseException:  # as a notebook: the error is shown and the next cell runs
        __floor_failed += 1
        __floor_tb.print_exc(limit=2)
    finally:
        __floor_signal.setitimer(__floor_signal.ITIMER_REAL, 0)
print(f"FLOOR failing cells: {{__floor_failed}}", file=__floor_sys.__stderr__)
'''


def code_cells(notebook: bytes) -> list:
    """The notebook's code cells without IPython-only lines (magics, shell escapes); [] if unreadable."""
    try:
        cells = json.loads(notebook.decode("utf-8", errors="replace"))["cells"]
    except (ValueError, KeyError, TypeError):
        return []
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        sources.append("".join(line for line in src.splitlines(True) if not line.lstrip().startswith(("%", "!"))))
    return sources


def floor_script(notebook: bytes, cell_timeout: int) -> str:
    return FLOOR_RUNNER.format(cells=code_cells(notebook), cell_timeout=cell_timeout)


def course_timeouts(course: Path, assignment: str) -> tuple:
    """(cell, notebook) timeout seconds of the assignment (the course's defaults if unreadable)."""
    try:
        from autograder.core.course import Course

        a = Course.locate(course).assignments[assignment]
        return int(a.cell_timeout), int(a.notebook_timeout)
    except Exception:  # the engine is being rewritten: the benchmark must not depend on its API
        return DEFAULT_TIMEOUTS


def run_floor(klass: Klass, member: Member, work: Path) -> dict:
    """One notebook's code cells in a fresh python, cwd a copy of the notebook's folder."""
    cell_timeout, notebook_timeout = course_timeouts(klass.course, member.assignment)
    source = klass.folder / member.student
    notebook = (source / f"{member.assignment}.ipynb").read_bytes()
    tmp = Path(tempfile.mkdtemp(prefix="floor-", dir=work))
    try:
        cwd = tmp / member.student
        shutil.copytree(source, cwd)
        script = tmp / "floor_script.py"
        script.write_text(floor_script(notebook, cell_timeout), encoding="utf-8")
        log = tmp / "log.txt"
        run = timed([sys.executable, script], cwd, _env(), log, timeout=notebook_timeout + 5)
        failing = None
        for line in reversed(_tail(log, 3).splitlines()):
            if line.startswith("FLOOR failing cells: "):
                failing = int(line.rsplit(" ", 1)[1])
                break
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"student": member.student, "kind": member.kind, "assignment": member.assignment,
            "sha": member.sha, "wall_s": round(run["wall_s"], 3), "cpu_s": round(run["cpu_s"], 3),
            "failing_cells": failing, "timed_out": run["timed_out"]}


def floor_sample(members: list, k: int) -> list:
    """Up to ``k`` students spread over kinds and assignments: one of each distinct notebook first.

    Strata are (assignment, kind), visited diagonally (each round covers every assignment once
    with a different kind), then again; each visit of a stratum takes its next distinct notebook,
    then repeats of them."""
    aids = list(dict.fromkeys(m.assignment for m in members))
    kinds = list(dict.fromkeys(m.kind for m in members))
    strata: dict = {}
    for m in members:
        strata.setdefault((m.assignment, m.kind), {}).setdefault(m.sha, []).append(m)
    order = sorted(strata, key=lambda s: ((kinds.index(s[1]) - aids.index(s[0])) % len(kinds), aids.index(s[0])))
    queues = {}
    for s in order:
        groups = list(strata[s].values())
        queues[s] = [g[i] for i in range(max(map(len, groups))) for g in groups if i < len(g)]
    picks, seen = [], set()
    for distinct_first in (True, False):  # one run of every distinct notebook (while k allows), then repeats
        for visit in range(max(map(len, queues.values()))):
            for s in order:
                if visit < len(queues[s]) and len(picks) < k:
                    m = queues[s][visit]
                    if (m.sha not in seen) == distinct_first and m not in picks:
                        picks.append(m)
                        seen.add(m.sha)
    return picks


def floor_estimate(members: list, runs: list) -> dict:
    """Floor per notebook over the whole class: each student costs the mean of the runs of the same
    notebook, else of its (assignment, kind), else of its assignment, else of all runs."""
    def mean_by(key):
        groups: dict = {}
        for r in runs:
            groups.setdefault(key(r), []).append(r)
        return {g: (statistics.mean(x["wall_s"] for x in rs), statistics.mean(x["cpu_s"] for x in rs))
                for g, rs in groups.items()}

    by_sha = mean_by(lambda r: r["sha"])
    by_stratum = mean_by(lambda r: (r["assignment"], r["kind"]))
    by_aid = mean_by(lambda r: r["assignment"])
    overall = mean_by(lambda r: None)[None]
    costs, exact = [], 0
    for m in members:
        cost = by_sha.get(m.sha) or by_stratum.get((m.assignment, m.kind)) or by_aid.get(m.assignment) or overall
        exact += m.sha in by_sha
        costs.append(cost)
    return {"wall_s_per_notebook": round(statistics.mean(c[0] for c in costs), 3),
            "cpu_s_per_notebook": round(statistics.mean(c[1] for c in costs), 3),
            "sampled": len(runs), "distinct_sampled": len(by_sha),
            "distinct": len({m.sha for m in members}), "students_measured_notebook": exact}


def floor(klass: Klass, sample: int, work: Path) -> dict:
    """Run the floor for every distinct notebook of the class (and repeats up to ``sample`` runs)
    and estimate it per notebook for the whole class.  Every distinct notebook is run: an estimate
    from its stratum missed what one notebook costs alone (the infinite loop: 60 s)."""
    runs = []
    distinct = len({m.sha for m in klass.members})
    for member in floor_sample(klass.members, max(sample, distinct)):
        r = run_floor(klass, member, work)
        runs.append(r)
        note = " (timed out)" if r["timed_out"] else ""
        print(f"  floor {r['student']} {r['assignment']:<12} {r['kind']:<9} {r['wall_s']:7.2f} s wall "
              f"{r['cpu_s']:7.2f} s CPU, failing cells: {r['failing_cells']}{note}", flush=True)
    est = floor_estimate(klass.members, runs)
    print(f"  floor per notebook: {est['cpu_s_per_notebook']:.2f} s CPU, {est['wall_s_per_notebook']:.2f} s wall "
          f"({est['sampled']} runs, {est['distinct_sampled']} of {est['distinct']} distinct notebooks; "
          f"{est['students_measured_notebook']} of {len(klass.members)} students have a measured notebook, "
          "the rest are estimated from the same assignment and kind)", flush=True)
    return {"runs": runs, **est}


# --------------------------------------------------------------------------- results

def read_results(out: Path) -> dict:
    """{"student/assignment": {score, max_score, status, tests: {name: [score, status]}}} of --out."""
    results = {}
    for path in sorted(out.glob("*/*/result.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        key = f"{r.get('student') or path.parent.parent.name}/{r.get('assignment') or path.parent.name}"
        results[key] = {"score": r.get("score"), "max_score": r.get("max_score"), "status": r.get("status"),
                        "isolation": r.get("isolation"),
                        "tests": {t["name"]: [t.get("score"), t.get("status")] for t in r.get("tests", [])}}
    return results


def grade_command(python: str, course: Path, klass: Klass, out: Path, jobs: int, sandbox: str) -> list:
    return [python, "-m", "autograder", "--course", course, "grade", klass.folder, "--out", out,
            "--jobs", jobs, "--sandbox", sandbox, "--regrade", "--quiet"]


# --------------------------------------------------------------------------- 2. our grader

def grade_ours(klass: Klass, jobs: int, sandbox: str, work: Path) -> tuple:
    """``autograder grade`` of the whole class from scratch (a fresh --out and --regrade):
    (figures, results)."""
    out = Path(tempfile.mkdtemp(prefix=f"ours-{klass.name}-j{jobs}-", dir=work))
    log = out.with_suffix(".log")
    load_before = os.getloadavg()
    run = timed(grade_command(sys.executable, klass.course, klass, out, jobs, sandbox), ROOT, _env(), log)
    load_after = os.getloadavg()
    results = read_results(out)
    n = len(klass.members)
    cores = os.cpu_count() or 1
    figures = {"jobs": jobs, "notebooks": n, "results": len(results), "rc": run["rc"],
               "wall_s": round(run["wall_s"], 2), "wall_s_per_notebook": round(run["wall_s"] / n, 3),
               "cpu_s": round(run["cpu_s"], 2), "cpu_s_per_notebook": round(run["cpu_s"] / n, 3),
               "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
               "busy_share": round(run["cpu_s"] / (run["wall_s"] * cores), 3), "cores": cores,
               "isolation": sorted({str(r["isolation"]) for r in results.values()}),
               "left_running": run["left_running"], "cpu_method": run["method"],
               "cpu_rusage_s_per_notebook": round(run["cpu_rusage_s"] / n, 3),
               "statuses": _count(r["status"] for r in results.values())}
    print(f"  ours --jobs {jobs}: {figures['wall_s']:.1f} s wall, {figures['wall_s_per_notebook']:.2f} s/nb wall, "
          f"{figures['cpu_s_per_notebook']:.2f} s/nb CPU ({run['method']}; children's rusage says "
          f"{figures['cpu_rusage_s_per_notebook']:.2f}), load {load_before[0]:.1f} -> {load_after[0]:.1f}, "
          f"busy {100 * figures['busy_share']:.0f} %, {figures['statuses']}, isolation {figures['isolation']}",
          flush=True)
    if run["rc"] != 0 or len(results) != n:
        print(f"  ! autograder grade exited {run['rc']} with {len(results)} of {n} results:\n{_tail(log)}", flush=True)
    return figures, results


def _count(values) -> dict:
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def check_marks(klass: Klass, scores: dict) -> dict:
    """Do correct notebooks get full marks and untouched ones 0?  ``scores``: student -> (score, max)."""
    good = bad = 0
    wrong = []
    for m in klass.members:
        score, top = scores.get(m.student, (None, None))
        ok = score is not None and (score == top if m.kind == "correct" else score == 0)
        good += ok
        if not ok:
            bad += 1
            wrong.append(f"{m.student} ({m.kind}): {score}/{top}")
    return {"ok": bad == 0, "right": good, "wrong": wrong}


# --------------------------------------------------------------------------- 3. nbgrader

NBGRADER_CONFIG = '''c = get_config()
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.root = {root!r}
c.ExecutePreprocessor.timeout = 60
'''


def nbgrader_python(venv: Path) -> Path:
    """The nbgrader venv's python; the venv is created (pip install nbgrader, numpy) when missing."""
    python = venv / "bin" / "python"
    ready = venv / ".bench-ready"
    if ready.exists() and python.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"creating {venv}: pip install nbgrader=={NBGRADER_VERSION} numpy (minutes the first time)", flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", f"nbgrader=={NBGRADER_VERSION}", "numpy"],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        raise SystemExit(f"pip install nbgrader failed ({pip.returncode}):\n{pip.stdout[-2000:]}{pip.stderr[-4000:]}")
    ready.write_text(f"nbgrader=={NBGRADER_VERSION}\n", encoding="utf-8")
    return python


def _nbgrader_notebook() -> dict:
    """ps1.ipynb: one autograded answer (add) and one autograder-tests cell (our tiny rubric's asserts)."""
    import nbformat

    def meta(grade_id, **kw):
        return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, **kw}}

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("Write `add(a, b)`."),
        nbformat.v4.new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
                                  metadata=meta("add", solution=True, grade=False, locked=False)),
        nbformat.v4.new_code_cell("import numpy as np\n"
                                  "assert add(2, 3) == 5\n"
                                  "np.testing.assert_allclose(add(np.ones(3), np.ones(3)), 2 * np.ones(3))\n",
                                  metadata=meta("test_add", solution=False, grade=True, locked=True, points=2)),
    ]
    return nb


def nbgrader_course(root: Path, members: list, python: Path) -> None:
    """A minimal nbgrader course with ps1 generated once and one submission per member."""
    import nbformat

    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)), encoding="utf-8")
    (root / "source" / "ps1").mkdir(parents=True)
    nbformat.write(_nbgrader_notebook(), root / "source" / "ps1" / "ps1.ipynb")
    gen = subprocess.run([str(python), "-m", "nbgrader", "generate_assignment", "ps1"], cwd=root,
                         capture_output=True, text=True, env=_nbgrader_env(python))
    release = root / "release" / "ps1" / "ps1.ipynb"
    if gen.returncode != 0 or not release.exists():
        raise SystemExit(f"nbgrader generate_assignment failed:\n{gen.stdout[-2000:]}{gen.stderr[-4000:]}")
    released = nbformat.read(release, as_version=4)
    for m in members:
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        if m.kind == "correct":
            for cell in nb.cells:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "add":
                    cell.source = "def add(a, b):\n    return a + b\n"
        dest = root / "submitted" / m.student / "ps1"
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / "ps1.ipynb")


def _nbgrader_env(python: Path) -> dict:
    """Our run environment with the nbgrader venv first on PATH (nbgrader runs ``alembic`` from it)."""
    env = _env({"PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    for name in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def nbgrader_scores(root: Path, python: Path) -> dict:
    """student -> (score, max_score), from ``nbgrader export`` (CSV of the gradebook)."""
    dest = root / "export.csv"
    subprocess.run([str(python), "-m", "nbgrader", "export", "--to", str(dest)], cwd=root, check=True,
                   capture_output=True, env=_nbgrader_env(python))
    with open(dest, newline="", encoding="utf-8") as fh:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(fh)}


def grade_nbgrader(klass: Klass, venv: Path, work: Path) -> dict:
    """``nbgrader autograde ps1`` of the tiny class (serial: nbgrader has no parallel mode)."""
    python = nbgrader_python(venv)
    root = work / "nbgrader-course"
    nbgrader_course(root, klass.members, python)
    log = work / "nbgrader-autograde.log"
    load_before = os.getloadavg()
    run = timed([python, "-m", "nbgrader", "autograde", "ps1"], root, _nbgrader_env(python), log)
    load_after = os.getloadavg()
    n = len(klass.members)
    if run["rc"] != 0:
        print(f"  ! nbgrader autograde exited {run['rc']}:\n{_tail(log)}", flush=True)
    marks = check_marks(klass, nbgrader_scores(root, python))
    figures = {"notebooks": n, "rc": run["rc"], "wall_s": round(run["wall_s"], 2),
               "wall_s_per_notebook": round(run["wall_s"] / n, 3), "cpu_s_per_notebook": round(run["cpu_s"] / n, 3),
               "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
               "marks": marks}
    print(f"  nbgrader autograde (serial): {figures['wall_s']:.1f} s wall, {figures['wall_s_per_notebook']:.2f} s/nb "
          f"wall, {figures['cpu_s_per_notebook']:.2f} s/nb CPU, load {load_before[0]:.1f} -> {load_after[0]:.1f}",
          flush=True)
    print(f"  nbgrader gradebook: correct notebooks full marks, untouched 0: {'yes' if marks['ok'] else 'NO'} "
          f"({marks['right']} of {n} right){''.join(chr(10) + '    ' + w for w in marks['wrong'])}", flush=True)
    return figures


# --------------------------------------------------------------------------- 5. the previous engine

def resolve_ref(ref: str) -> str:
    """The short commit id of a git ref of this repository."""
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", f"{ref}^{{commit}}"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"--baseline-ref {ref}: not a commit of {ROOT}: {out.stderr.strip()}")
    return out.stdout.strip()


def baseline_tree(commit: str) -> Path:
    """The repository at ``commit`` under the cache (git archive, extracted once)."""
    tree = CACHE / f"engine-{commit}"
    if (tree / ".bench-ready").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"engine-{commit}-", dir=CACHE))
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(tmp)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"git archive {commit} failed")
    (tmp / ".bench-ready").write_text(commit + "\n", encoding="utf-8")
    tmp.rename(tree)
    return tree


def _content_sha(path: Path) -> str:
    """sha256 of a file; of a notebook without its cells' random ids (nbformat makes new ones for
    the tiny course on every run)."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(data)
            for cell in nb.get("cells", []):
                cell.pop("id", None)
            data = json.dumps(nb, sort_keys=True).encode()
        except (ValueError, AttributeError, TypeError):
            pass
    return _sha(data)


def _folder_digest(folder: Path, file_sha) -> str:
    """sha256 of a folder's files: each one's relative path and ``file_sha`` (a link: its target)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            h.update(f"{path.relative_to(folder).as_posix()}\0link:{os.readlink(path)}\0".encode())
        elif path.is_file():
            h.update(f"{path.relative_to(folder).as_posix()}\0{file_sha(path)}\0".encode())
    return h.hexdigest()


def course_hash(course: Path) -> str:
    """sha256 of a course's files (cell ids aside); '' for the repository (the ref fixes it)."""
    return "" if course == ROOT else _folder_digest(course, _content_sha)


@dataclass
class Content:
    """One distinct submission of a class: what its student folder holds (the notebook and the
    files beside it), the students who handed it in, and its key in the cache (cell ids aside)."""
    key: str
    students: list


def distinct_contents(klass: Klass) -> list:
    """The class's distinct student folders (sha256 of their files' bytes), in class order."""
    groups: dict = {}
    for m in klass.members:
        folder = klass.folder / m.student
        digest = _folder_digest(folder, lambda p: _sha(p.read_bytes()))
        if digest not in groups:
            groups[digest] = Content(_folder_digest(folder, _content_sha), [])
        groups[digest].students.append(m.student)
    return list(groups.values())


def _by_student(results: dict) -> dict:
    """{"student/assignment": r} -> {student: {assignment: r}}."""
    out: dict = {}
    for key, r in results.items():
        student, _, rest = key.partition("/")
        out.setdefault(student, {})[rest] = r
    return out


def baseline_results(klass: Klass, ref: str, jobs: int, sandbox: str, work: Path) -> tuple:
    """The previous engine's results for every student of the class: (cache data, results).

    Grades are a function of what a student hands in, so the previous engine grades each distinct
    submission once, in a class of one student per distinct content (built under ``work``); each
    student of the class then gets the result of its content.  Cached per ref and distinct contents."""
    commit = resolve_ref(ref)
    CACHE.mkdir(parents=True, exist_ok=True)
    contents = distinct_contents(klass)
    h = hashlib.sha256(f"distinct-v1\0{course_hash(klass.course)}\0".encode())
    for key in sorted({c.key for c in contents}):
        h.update(f"{key}\n".encode())
    cache = CACHE / f"baseline-{commit}-{h.hexdigest()[:16]}.json"
    n, d = len(klass.members), len(contents)
    data = json.loads(cache.read_text(encoding="utf-8")) if cache.exists() else None
    if data is not None and all(c.key in data.get("contents", {}) for c in contents):
        print(f"  previous engine {commit}: cached ({cache.name}: {data['distinct']} distinct notebooks "
              f"graded in {data['wall_s']:.1f} s)", flush=True)
    else:
        tree = baseline_tree(commit)
        course = tree if klass.course == ROOT else klass.course
        small = Path(tempfile.mkdtemp(prefix=f"baseline-{klass.name}-class-", dir=work))
        for c in contents:  # one student per content, named as its first student in the class
            shutil.copytree(klass.folder / c.students[0], small / c.students[0], symlinks=True)
        one_each = Klass(klass.name, klass.course, small,
                         [m for m in klass.members if m.student in {c.students[0] for c in contents}], [jobs])
        out = Path(tempfile.mkdtemp(prefix=f"baseline-{klass.name}-", dir=work))
        log = out.with_suffix(".log")
        env = _env({"PYTHONPATH": str(tree)})
        env.pop("AUTOGRADER_COURSE", None)
        print(f"  previous engine {commit}: grading {d} distinct notebooks (of {n} students) "
              f"with --jobs {jobs} ...", flush=True)
        run = timed(grade_command(sys.executable, course, one_each, out, jobs, sandbox), tree, env, log)
        graded = _by_student(read_results(out))
        missing = [c.students[0] for c in contents if not graded.get(c.students[0])]
        if missing:
            raise SystemExit(f"previous engine: no result for {len(missing)} of {d} distinct notebooks "
                             f"({', '.join(missing[:5])}; exit {run['rc']}):\n{_tail(log)}")
        by_key: dict = {}
        for c in contents:
            r = graded[c.students[0]]
            if by_key.setdefault(c.key, r) != r:  # notebooks that differ in their cells' ids only
                print(f"  ! previous engine: {c.students[0]} and a notebook that differs from it in cell ids "
                      "only were graded differently; the cache keeps the first", flush=True)
        data = {"ref": ref, "commit": commit, "class": klass.name, "jobs": jobs, "sandbox": sandbox,
                "students": n, "distinct": d, "wall_s": round(run["wall_s"], 2), "cpu_s": round(run["cpu_s"], 2),
                "contents": {key: {"student": next(c.students[0] for c in contents if c.key == key), "results": r}
                             for key, r in by_key.items()}}
        cache.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"  previous engine {commit}: {d} distinct notebooks graded in {run['wall_s']:.1f} s wall, "
              f"cached as {cache.name}", flush=True)
    results = {}
    for c in contents:
        for student in c.students:
            for rest, r in data["contents"][c.key]["results"].items():
                results[f"{student}/{rest}"] = r
    return data, results


def compare(old: dict, new: dict) -> list:
    """(student, test, old, new) for every score or status that differs; 'result' for a missing one."""
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            diffs.append((key, "result", "missing" if a is None else "present", "missing" if b is None else "present"))
            continue
        for field in ("score", "status"):
            if a[field] != b[field]:
                diffs.append((key, field, a[field], b[field]))
        for test in sorted(set(a["tests"]) | set(b["tests"])):
            ta, tb = a["tests"].get(test), b["tests"].get(test)
            if ta != tb:
                diffs.append((key, test, " ".join(map(str, ta or ["missing"])), " ".join(map(str, tb or ["missing"]))))
    return diffs


# --------------------------------------------------------------------------- 4. ratios and the report

def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(report: dict) -> list:
    """(what, figure, target, PASS/MISS/n/a) for every target that the run can say something about."""
    rows = []
    for name, c in report["classes"].items():
        floor_cpu = c.get("floor", {}).get("cpu_s_per_notebook")
        for run in c["ours"]:
            ratio = run["cpu_s_per_notebook"] / floor_cpu if floor_cpu else None
            run["cpu_over_floor"] = round(ratio, 2) if ratio is not None else None
            rows.append((f"{name}: CPU/nb ÷ floor CPU/nb, --jobs {run['jobs']}",
                         "-" if ratio is None else f"{ratio:.2f}", f"≤ {TARGET_CPU_RATIO}",
                         verdict(None if ratio is None else ratio <= TARGET_CPU_RATIO)))
        if name in TARGET_WALL_PER_100:
            limit = TARGET_WALL_PER_100[name] * c["n"] / 100
            run = next((r for r in c["ours"] if r["jobs"] == TARGET_JOBS), None)
            rows.append((f"{name}: wall, --jobs {TARGET_JOBS}, N={c['n']} ({TARGET_WALL_PER_100[name]:.0f} s per 100)",
                         "-" if run is None else f"{run['wall_s']:.1f} s", f"≤ {limit:.1f} s",
                         verdict(None if run is None else run["wall_s"] <= limit)))
        nbg = c.get("nbgrader")
        if nbg:
            run = next((r for r in c["ours"] if r["jobs"] == 1), None)
            ratio = nbg["wall_s_per_notebook"] / run["wall_s_per_notebook"] if run else None
            c["nbgrader_over_ours"] = round(ratio, 2) if ratio else None
            rows.append((f"{name}: nbgrader wall/nb ÷ ours --jobs 1", "-" if ratio is None else f"{ratio:.2f}×",
                         f"≥ {TARGET_NBGRADER_RATIO}", verdict(None if ratio is None else ratio >= TARGET_NBGRADER_RATIO)))
    return rows


def print_table(report: dict) -> None:
    print("\nclass   N    floor CPU/nb  ours -j  wall      wall/nb  CPU/nb  CPU÷floor  load before/after  busy")
    for name, c in report["classes"].items():
        floor_cpu = c.get("floor", {}).get("cpu_s_per_notebook")
        for run in c["ours"]:
            ratio = run.get("cpu_over_floor")
            wall = f"{run['wall_s']:.1f} s"
            print(f"{name:<7} {c['n']:<4} {'-' if floor_cpu is None else f'{floor_cpu:.2f}':<13} {run['jobs']:<8} "
                  f"{wall:<9} {run['wall_s_per_notebook']:<8.2f} {run['cpu_s_per_notebook']:<7.2f} "
                  f"{'-' if ratio is None else f'{ratio:.2f}':<10} "
                  f"{run['load_before'][0]:.1f}/{run['load_after'][0]:<15.1f} {100 * run['busy_share']:.0f} %")
        nbg = c.get("nbgrader")
        ours1 = next((r for r in c["ours"] if r["jobs"] == 1), None)
        if nbg and ours1:
            ratio = c.get("nbgrader_over_ours")
            print(f"nbgrader ({name}, serial): {nbg['wall_s_per_notebook']:.2f} s/nb  ours --jobs 1: "
                  f"{ours1['wall_s_per_notebook']:.2f} s/nb  ratio {ratio:.1f}×  "
                  f"{verdict(ratio >= TARGET_NBGRADER_RATIO)}")
    print("\ntargets:")
    for what, figure, target, result in report["targets"]:
        print(f"  {result:<4}  {what}: {figure} (target {target})")
    if "identical" in report:
        print(f"\nscores identical: {'yes' if report['identical'] else 'no'}")


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(CLASSES), help="classes, comma-separated (default: %(default)s)")
    ap.add_argument("--n-a01", type=int, default=100, help="notebooks in the a01 class (default: %(default)s)")
    ap.add_argument("--n-course", type=int, default=100, help="notebooks in the course class (default: %(default)s)")
    ap.add_argument("--n-tiny", type=int, default=100, help="notebooks in the tiny class (default: %(default)s)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[2], help="--jobs for a01 and course (default: 2)")
    ap.add_argument("--tiny-jobs", type=int, nargs="+", default=[1], help="--jobs for tiny (default: 1)")
    ap.add_argument("--floor-sample", type=int, default=10,
                    help="floor runs per class, at least one per distinct notebook (default: %(default)s)")
    ap.add_argument("--sandbox", default="auto", choices=("off", "auto", "required"),
                    help="passed to autograder grade (default: %(default)s)")
    ap.add_argument("--baseline-ref", default="72ac6e1", help="the previous engine (default: %(default)s)")
    ap.add_argument("--baseline-jobs", type=int, default=2, help="--jobs of the previous engine (default: 2)")
    ap.add_argument("--no-compare", action="store_true", help="skip the comparison with the previous engine")
    ap.add_argument("--nbgrader-venv", default=str(CACHE / "nbgrader-venv"),
                    help="nbgrader's venv, created when missing (default: %(default)s)")
    ap.add_argument("--json", help="also write every figure here")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (classes, results, logs)")
    args = ap.parse_args(argv)
    args.only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = set(args.only) - set(CLASSES)
    if unknown:
        ap.error(f"--only: unknown class(es) {', '.join(sorted(unknown))} (known: {', '.join(CLASSES)})")
    return args


def bench_class(klass: Klass, args, work: Path, report: dict) -> list:
    """Floor, our grader (each --jobs), nbgrader (tiny) and the previous engine for one class;
    returns the score differences."""
    print(f"\n== {klass.name}: {len(klass.members)} notebooks {klass.kinds()}", flush=True)
    c = report["classes"][klass.name] = {"n": len(klass.members), "kinds": klass.kinds()}
    if args.floor_sample > 0:
        c["floor"] = floor(klass, args.floor_sample, work)
    c["ours"], ours = [], None
    for jobs in klass.jobs:
        figures, ours = grade_ours(klass, jobs, args.sandbox, work)
        c["ours"].append(figures)
    if klass.name == "tiny" and ours is not None:
        c["ours_marks"] = check_marks(klass, {k.split("/")[0]: (r["score"], r["max_score"]) for k, r in ours.items()})
        print(f"  ours: correct notebooks full marks, untouched 0: {'yes' if c['ours_marks']['ok'] else 'NO'}")
        c["nbgrader"] = grade_nbgrader(klass, Path(args.nbgrader_venv).expanduser(), work)
    if args.no_compare or ours is None:
        return []
    old, old_results = baseline_results(klass, args.baseline_ref, args.baseline_jobs, args.sandbox, work)
    diffs = compare(old_results, ours)
    c["baseline"] = {"commit": old["commit"], "wall_s": old["wall_s"], "distinct": old["distinct"],
                     "differences": [list(d) for d in diffs]}
    print(f"  scores identical to {old['commit']}: {'yes' if not diffs else f'no, {len(diffs)} difference(s)'}")
    for student, test, a, b in diffs:
        print(f"    {student}  {test}: {a} -> {b}")
    return diffs


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ag-bench-engine-"))
    global METER
    METER = CpuMeter()
    report = {"cpus": os.cpu_count(), "sandbox": args.sandbox, "args": vars(args), "classes": {},
              "cpu_method": f"cgroup {METER.kind}" if METER.base else "rusage"}
    if METER.base is None:
        print("! no cgroup could be made here: CPU seconds are children's rusage, which misses processes "
              "reaped by the kernel (the engine's fork server): a lower bound", flush=True)
    else:
        print(f"CPU seconds: cgroup {METER.kind} under {METER.base}", flush=True)
    diffs = []
    try:
        classes = build_classes(work, args)
        for klass in classes:
            diffs += bench_class(klass, args, work, report)
        report["targets"] = targets(report)
        if not args.no_compare:
            report["identical"] = not diffs
        print_table(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str),
                                       encoding="utf-8")
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
