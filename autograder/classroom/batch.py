"""Grading a whole class: parallel, resumable, one result per (student, assignment).

Every submission's result is written to ``OUT/<student>/<assignment>/result.json`` (atomically:
temp file + rename) as soon as it is graded, with a ``fingerprint``: a hash of the notebook,
the files beside it, the assignment's rubric, the grading engine's source and the options.
A later run over the same class reuses every result whose fingerprint still matches and grades
only what is missing or changed, so a run interrupted by Ctrl-C, ``kill -9`` or a power cut
is simply started again.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..core.course import Course
from ..core.files import RESULT_FILE, write_json
from ..core.messages import notice
from ..engine.grade import Target, grade_notebook, recognise
from ..engine.intake import MAX_NOTEBOOK_BYTES, neighbour_files, read_regular

RESULT = RESULT_FILE


class _TimestampFiles:
    """The names of files beside a notebook that never change its grade: the submission times
    (``timestamp.txt``, ``<notebook>.timestamp.txt``; ``policy.is_timestamp_file``)."""

    def __contains__(self, name) -> bool:
        from .policy import is_timestamp_file

        return isinstance(name, str) and is_timestamp_file(name)


NOT_GRADED_FILES = _TimestampFiles()
#: what computes grades, by package layout (folders and files under ``autograder/``): a change
#: there makes old grades stale.  Everything else only presents or organises results
#: (``classroom/``, ``cli.py``, ``authoring/`` but the pytest plugin, ``templates/``).
ENGINE = ("core", "engine", "sandbox", "testing", "authoring/plugin.py")


def _is_engine(relative: Path) -> bool:
    path = relative.as_posix()
    return any(path == part or path.startswith(part + "/") for part in ENGINE)


@lru_cache(maxsize=1)
def engine_version() -> str:
    """Hash of the grading engine's source (the ``*.py`` files of ``ENGINE``): a new engine
    regrades."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if "_course" in rel.parts or "__pycache__" in rel.parts or not _is_engine(rel):
            continue
        h.update(str(rel).encode())
        h.update(f.read_bytes())
    try:
        from importlib.metadata import version

        h.update(version("nn-autograder").encode())
    except Exception:
        pass
    return h.hexdigest()[:16]


def _file_hash(h, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def neighbours(notebook: Path) -> list[Path]:
    """The files beside a notebook that grading copies with it and that change its grade."""
    return neighbour_files(notebook, skip=NOT_GRADED_FILES)


def fingerprint(target: Target, rubric: Path | None, options: dict) -> str:
    """What a result depends on: notebook, neighbour files, rubric (and conftest), engine, options."""
    h = hashlib.sha256()
    h.update(json.dumps({"engine": engine_version(), "student": target.student,
                         "options": options}, sort_keys=True).encode())
    if target.refused:  # never opened
        h.update(f"refused:{target.refused}".encode())
        return h.hexdigest()
    try:
        h.update(read_regular(target.path, MAX_NOTEBOOK_BYTES))
    except OSError as exc:
        h.update(f"unreadable:{exc}".encode())
    for f in neighbours(target.path):
        h.update(b"\0file:" + f.name.encode())
        try:
            h.update(read_regular(f, 2**31))
        except OSError:
            h.update(b"unreadable")
    if rubric is not None:
        for f in (rubric, rubric.parent / "conftest.py"):
            if f.is_file():
                h.update(b"\0rubric:" + f.name.encode())
                _file_hash(h, f)
    return h.hexdigest()


@dataclass
class Planned:
    """One submission to report: where its result lives and whether it must be graded."""

    index: int
    target: Target
    dest: Path
    fingerprint: str
    cached: dict | None = None
    duplicates: tuple[str, ...] = ()


def _submission_time(target: Target) -> dict:
    """The submission's time as the late rule reads it (``policy.read_stamp``), recorded in the
    result: ``{"time": ISO or None, "source", "note"}``."""
    from .policy import read_stamp

    if target.refused:
        return {"time": None, "source": ""}
    stamp = read_stamp(target.path)
    recorded = {"time": stamp.time.isoformat(timespec="microseconds") if stamp.time else None,
                "source": stamp.source}
    if stamp.note:
        recorded["note"] = stamp.note
    return recorded


def _timestamp(target: Target) -> float:
    from .policy import read_stamp

    if target.refused:
        return 0.0
    when = read_stamp(target.path).time
    return when.timestamp() if when else 0.0


def plan(targets: list[Target], course: Course, out_dir: Path, options: dict, *,
         resume: bool = True, select=None, keys: list | None = None) -> list[Planned]:
    """One entry per (student, assignment): the latest notebook when a student has several.

    ``select(student, assignment)`` (optional) keeps only the entries it is true for (a shard);
    ``keys`` (optional) receives every (student, assignment) key of the class, selected or not.
    The assignment of a key is the id, or the notebook's stem when it is not recognised.
    """
    by_dest: dict[Path, list[tuple[Target, str | None]]] = {}
    for t in targets:
        a = recognise(None if t.refused else _for_recognition(t.path), t.path, course)
        dest = out_dir / t.student / (a.id if a else t.path.stem)
        by_dest.setdefault(dest, []).append((t, a.rubric if a else None))
    if keys is not None:
        keys.extend((group[0][0].student, dest.name) for dest, group in by_dest.items())
    planned = []
    for dest, group in by_dest.items():
        if select is not None and not select(group[0][0].student, dest.name):
            continue
        group.sort(key=lambda tr: (_timestamp(tr[0]), str(tr[0].path)))
        target, rubric = group[-1]
        p = Planned(len(planned), target, dest, fingerprint(target, rubric, options),
                    duplicates=tuple(str(t.path) for t, _ in group[:-1]))
        if resume:
            p.cached = load_cached(dest, p.fingerprint)
        planned.append(p)
    return planned


def grading_options(public_only: bool, data_dir: Path | None) -> dict:
    """The options a grade depends on (part of every fingerprint and of a shard's manifest)."""
    return {"public_only": bool(public_only), "data_dir": str(data_dir) if data_dir else None}


def _for_recognition(path: Path):
    """The notebook's metadata and cells as a notebook node (enough to recognise it, no
    validation; as ``grade.read_notebook`` would give them), or None."""
    import nbformat

    try:
        data = json.loads(read_regular(Path(path), MAX_NOTEBOOK_BYTES).decode("utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        return None
    meta = data.get("metadata")
    cells = [c for c in data.get("cells") or [] if isinstance(c, dict)] if isinstance(data.get("cells"), list) else []
    return nbformat.from_dict({"metadata": meta if isinstance(meta, dict) else {}, "cells": cells})


def load_cached(dest: Path, fp: str) -> dict | None:
    try:
        data = json.loads((dest / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("fingerprint") == fp and isinstance(data.get("tests"), list):
        return data
    return None


def _internal_error(target: Target, exc: BaseException) -> dict:
    return {"student": target.student, "assignment": None, "notebook": str(target.path),
            "score": 0.0, "max_score": 0.0, "status": "error",
            "errors": [f"internal grader error: {type(exc).__name__}: {exc}"],
            "execution": {}, "import_errors": [], "tests": []}


def _grade_one(p: Planned, course: Course, out_dir: Path, public_only: bool, data_dir: Path | None,
               cache: dict, sandbox: str | None) -> dict:
    start = time.monotonic()
    extra = {"sandbox": sandbox} if sandbox is not None else {}
    try:
        result = grade_notebook(p.target, course, out_dir, public_only=public_only,
                                data_dir=data_dir, _collect_cache=cache, **extra)
    except Exception as exc:  # a bug of ours: never lose the other students
        result = _internal_error(p.target, exc)
    timings = dict(result.get("timings") or {})
    timings.setdefault("execute", result.get("execution", {}).get("seconds"))
    timings.setdefault("tests", result.get("rubric_seconds"))
    timings["total"] = round(time.monotonic() - start, 2)
    result["timings"] = {k: v for k, v in timings.items() if v is not None}
    if p.duplicates:
        result.setdefault("notices", []).append(notice(
            "duplicates", graded=Path(result["notebook"]).name,
            others=", ".join(Path(d).name for d in p.duplicates)))
    result["submitted"] = _submission_time(p.target)  # for the late rule where the class is not
    if result["status"] != "error":  # an internal error is retried on the next run
        result["fingerprint"] = p.fingerprint
    write_json(p.dest / RESULT, result)
    return result


def stop_warm_processes() -> None:
    """Stop the warm grader and the zygotes of this run (``scoring.grader_server``,
    ``zygote.acquire``): they live for one class, and the next run starts them afresh."""
    from ..engine import scoring
    from ..sandbox import zygote

    scoring.stop_grader_servers()
    zygote.stop_all()


def _kill_children() -> None:
    """Stop the notebook and pytest processes this process started (their own sessions)."""
    try:
        import psutil

        from ..engine.execute import kill_tree

        for child in psutil.Process().children():
            kill_tree(child.pid)
    except Exception:
        pass


def grade_all(targets: list[Target], course: Course, out_dir: Path, *, jobs: int = 1,
              public_only: bool = False, data_dir: Path | None = None, progress: bool = True,
              resume: bool = True, stats: dict | None = None, sandbox: str | None = None,
              select=None) -> list[dict]:
    """Grade every target, ``jobs`` at a time, reusing up-to-date results in ``out_dir``.

    Returns one result per (student, assignment) in the order of the targets.
    ``stats`` (optional) receives counts: graded, cached, failed, seconds.
    ``sandbox``: passed to ``grade_notebook`` (off|auto|required); None: its default.
    ``select(student, assignment)``: grade only the submissions it is true for (``plan``);
    ``stats["keys"]`` then lists every key of the class and ``stats["selected"]`` the graded ones.
    """
    from tqdm import tqdm

    out_dir = Path(out_dir)
    data_dir = data_dir or course.data_dir()
    options = grading_options(public_only, data_dir)
    keys: list = []
    planned = plan(targets, course, out_dir, options, resume=resume, select=select, keys=keys)
    todo = [p for p in planned if p.cached is None]
    results: dict[int, dict] = {p.index: p.cached for p in planned if p.cached is not None}
    failed = sum(1 for r in results.values() if r["status"] != "graded")
    bar = tqdm(total=len(planned), initial=len(results), unit="nb", disable=not progress,
               desc="grading", dynamic_ncols=True, smoothing=0.1)
    bar.set_postfix(failed=failed, cached=len(results))
    cache: dict = {}
    lock = threading.Lock()
    start = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        pending = {pool.submit(_grade_one, p, course, out_dir, public_only, data_dir, cache, sandbox): p for p in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                p = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # writing the result failed (disk full?)
                    result = _internal_error(p.target, exc)
                with lock:
                    results[p.index] = result
                    if result["status"] != "graded":
                        failed += 1
                bar.set_postfix(failed=failed, cached=len(planned) - len(todo))
                bar.update()
    except BaseException:  # Ctrl-C: stop the children; what is written stays for the next run
        pool.shutdown(wait=False, cancel_futures=True)
        stop_warm_processes()
        _kill_children()
        bar.close()
        raise
    pool.shutdown(wait=True)
    bar.close()
    stop_warm_processes()
    if stats is not None:
        stats.update(graded=len(todo), cached=len(planned) - len(todo), failed=failed,
                     seconds=round(time.monotonic() - start, 2), keys=keys, options=options,
                     selected=[(p.target.student, p.dest.name) for p in planned])
    return [results[p.index] for p in planned]
