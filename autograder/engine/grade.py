"""The grading path: read -> recognise -> execute -> import -> score -> result.

``grade_notebook`` grades one submission and never raises for what the submission is or does;
``grade_all`` grades many in parallel and writes every result as soon as it is ready.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..core.course import Assignment, Course
from ..core.files import RESULT_FILE, write_json
from ..core.messages import notice, render
from ..sandbox import isolation as sb
from ..sandbox import zygote
from ..sandbox.runner import Runner, preload_for
from .intake import (HARDLINK, MAX_NOTEBOOK_BYTES, SKIP_DIRS, SYMLINK, Refused, Target,  # noqa: F401
                     copy_regular, discover, neighbour_files, read_regular)
from .answers import manual_tests
from .protect import restore_protected
from .scoring import run_rubric

REFUSED = {
    SYMLINK: ("не оценено: символическая ссылка отклонена (ungraded: symlink refused): сдайте сам "
              "ноутбук, а не ссылку на него; ссылки на файлы и папки проверка не открывает"),
    HARDLINK: ("не оценено: жёсткая ссылка отклонена (ungraded: hard link refused): у файла ноутбука "
               "больше одного имени; сдайте отдельную копию файла"),
}


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, list[str]]:
    """Parse and validate; returns (notebook or None, problems for the student)."""
    try:
        raw = read_regular(path, MAX_NOTEBOOK_BYTES)
    except Refused as exc:
        return None, [REFUSED.get(exc.reason) or f"файл не принят: {exc.reason}"]
    except OSError as exc:
        return None, [f"файл не читается: {exc.strerror or exc}"]
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except (json.JSONDecodeError, RecursionError) as exc:
        return None, [f"файл не является корректным JSON-ноутбуком (.ipynb): {exc}"]
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        version = data.get("nbformat") if isinstance(data, dict) else None
        return None, [f"неподдерживаемая версия формата ноутбука nbformat={version!r}: нужен nbformat 4 "
                      "(сохраните ноутбук в Jupyter или Colab)"]
    try:
        _, data = nbformat.validator.normalize(data, strip_invalid_metadata=True)
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
    except Exception as exc:
        if not isinstance(data.get("cells"), list):
            return None, [f"ноутбук повреждён: {str(exc)[:300]}"]
        nb = nbformat.from_dict(data)  # lenient: grade what can be read, report the problem
        return nb, [f"ноутбук не прошёл проверку формата (оценён как есть): {str(exc).splitlines()[0][:200]}"]
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb, []


#: how Colab, Jupyter and browsers name a copy of ``X.ipynb`` (applied repeatedly: "Copy of X (1)")
COPY_NAMES = [
    re.compile(r"^copy[ _]of[ _](.+)$", re.I),                                 # Colab: Copy of X
    re.compile(r"^копия[ _]блокнота[ _][\"'«„“]?(.+?)[\"'»“”]?$", re.I),         # Colab (ru)
    re.compile(r"^(.+?)[ _]?\(\d+\)$"),                                        # a second download: X (1)
    re.compile(r"^(.+?)-copy\d*$", re.I),                                      # Jupyter: X-Copy1
]
#: a notebook is taken for an assignment when it defines at least this share of the solution's
#: top-level classes and functions (the course's assignments share at most a third)
DEFINITIONS_SHARE = 0.5


@dataclass(frozen=True)
class Recognition:
    """Which assignment a notebook is, and how that was decided.

    how: metadata | name | copy_name | definitions | ambiguous | unknown; candidates: the
    assignment ids that fit when ambiguous; names: the definitions that decided it."""

    assignment: Assignment | None
    how: str
    candidates: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def base_name(stem: str) -> str:
    """The name a Colab/Jupyter copy was made from: ``Copy of a01_neurons (1)`` -> ``a01_neurons``."""
    name = stem.strip()
    while True:
        for pattern in COPY_NAMES:
            m = pattern.match(name)
            if m:
                name = m.group(1).strip()
                if name.lower().endswith(".ipynb"):
                    name = name[: -len(".ipynb")]
                break
        else:
            return name


def _by_name(stem: str, ids: dict[str, Assignment]) -> list[str]:
    stem = stem.lower()
    if stem in ids:
        return [stem]
    number = re.match(r"^(a\d+)(?:[-_ .]|$)", stem)
    return [a for a in ids if stem.startswith(a) or (number and a.split("_", 1)[0] == number.group(1))]


def _reference_names(assignment: Assignment) -> frozenset[str]:
    """Top-level classes and functions of the assignment's solution, else of its student notebook
    (``assignments/<id>.ipynb``, or ``<id>.ipynb`` beside the rubrics' course in a student bundle)."""
    bundled = assignment.rubric.parents[2] / f"{assignment.id}.ipynb"
    path = assignment.solution or assignment.student or (bundled if bundled.is_file() else None)
    if path is None:
        return frozenset()
    try:
        return _names_of(path, path.stat().st_mtime_ns)
    except OSError:
        return frozenset()


@functools.lru_cache(maxsize=64)
def _names_of(path: Path, _mtime: int) -> frozenset[str]:
    from ..sandbox.extract import top_level_names

    return frozenset(top_level_names(nbformat.read(path, as_version=4)))


def _by_definitions(nb, ids: dict[str, Assignment], among: list[str]) -> tuple[list[str], set[str]]:
    """The assignments (of ``among``) whose solution's definitions the notebook mostly has."""
    from ..sandbox.extract import top_level_names

    mine = top_level_names(nb)
    fits, used = [], set()
    for aid in among:
        ref = _reference_names(ids[aid])
        if ref and len(mine & ref) / len(ref) >= DEFINITIONS_SHARE:
            fits.append(aid)
            used |= mine & ref
    return fits, used


def identify(nb: nbformat.NotebookNode | None, path: Path, course: Course) -> Recognition:
    """The assignment of a notebook: ``metadata.autograder.assignment``, else the file name (also
    as Colab/Jupyter name a copy), else the top-level definitions matched against each
    assignment's solution."""
    ids = course.assignments
    if nb is not None:
        meta = nb.get("metadata", {}).get("autograder", {})
        aid = meta.get("assignment") if isinstance(meta, dict) else None
        if isinstance(aid, str) and aid in ids:
            return Recognition(ids[aid], "metadata")
    matches = _by_name(path.stem, ids)
    how = "name"
    if not matches:
        matches, how = _by_name(base_name(path.stem), ids), "copy_name"
    if len(matches) == 1:
        return Recognition(ids[matches[0]], how)
    if nb is not None and nb.get("cells"):
        fits, used = _by_definitions(nb, ids, matches or list(ids))
        if len(fits) == 1:
            return Recognition(ids[fits[0]], "definitions", names=tuple(sorted(used)))
        if fits:
            return Recognition(None, "ambiguous", candidates=tuple(fits))
    if matches:
        return Recognition(None, "ambiguous", candidates=tuple(matches))
    return Recognition(None, "unknown")


def recognise(nb: nbformat.NotebookNode | None, path: Path, course: Course) -> Assignment | None:
    """The assignment of a notebook, or None (see ``identify``)."""
    return identify(nb, path, course).assignment


def _zero_tests(assignment: Assignment, cache: dict) -> list[dict]:
    """Every rubric test as not run, at zero (the notebook could not be graded: the reason is the
    result's, said once, not repeated in every test)."""
    if assignment.id not in cache:
        with tempfile.TemporaryDirectory(prefix="ag-collect-") as tmp:
            cache[assignment.id] = run_rubric(assignment, None, Path(tmp), collect_only=True).tests
    return [{**t, "score": 0.0, "status": "not_run", "output": ""} for t in cache[assignment.id]]


def grade_notebook(target: Target, course: Course, out_dir: Path, *, public_only: bool = False,
                   data_dir: Path | None = None, _collect_cache: dict | None = None,
                   sandbox: str = "auto") -> dict:
    """Grade one submission; writes ``out_dir/<student>/<assignment>/`` and returns the result.

    sandbox: off|auto|required (``autograder.sandbox.isolation``); ``result["isolation"]`` says what ran.
    """
    cache = _collect_cache if _collect_cache is not None else {}
    if target.refused:  # a link: never opened (autograder.engine.intake)
        nb, problems = None, [REFUSED.get(target.refused, target.refused)]
    else:
        nb, problems = read_notebook(target.path)
    found = identify(nb, target.path, course)
    assignment = found.assignment
    result = {
        "student": target.student,
        "assignment": assignment.id if assignment else None,
        "notebook": str(target.path),
        "score": 0.0,
        "max_score": 0.0,
        "status": "graded",
        "isolation": None,
        "errors": list(problems),
        "notices": _notices(found, target.path),
        "execution": {},
        "import_errors": [],
        "tests": [],
    }
    dest = out_dir / target.student / (assignment.id if assignment else target.path.stem)
    dest.mkdir(parents=True, exist_ok=True)
    if nb is None:
        result["status"] = "ungraded"
        result["reason"] = notice("not_notebook")
        result["errors"] = [render(result["reason"]), *problems]  # the reason, then the parser's words
        result["tests"] = [*_zero_tests(assignment, cache), *manual_tests(assignment, None, run=False)] \
            if assignment else []
        return _finish(result, dest)
    if assignment is None:
        result["status"] = "ungraded"
        ids = list(course.assignments)
        if found.how == "ambiguous":
            result["reason"] = notice("ambiguous_assignment", candidates=", ".join(found.candidates),
                                      example=found.candidates[0])
        else:
            result["reason"] = notice("unknown_assignment", ids=", ".join(ids), example=ids[0] if ids else "a01")
        result["errors"].append(render(result["reason"]))
        return _finish(result, dest)

    try:
        isolation = result["isolation"] = sb.probe(sandbox)
    except sb.SandboxUnavailable as exc:
        result["status"] = "error"
        result["errors"].append(f"--sandbox={sandbox}: {exc}")
        return _finish(result, dest)
    nb, notes = restore_protected(nb, assignment)
    result["errors"] += notes
    data = data_dir or course.data_dir()
    preload, ro = preload_for(assignment), [data] if data else []
    zyg = zygote.acquire(preload, ro) if zygote.enabled(isolation) else None
    try:
        _grade_in_sandbox(result, dest, target, nb, assignment, zyg, isolation, ro, preload, data,
                          public_only=public_only)
    finally:
        zygote.release(zyg)
    if result["status"] != "error":  # the manually graded items: pending until a TA marks them
        result["tests"] += manual_tests(assignment, nb)
    return _finish(result, dest)


def _grade_in_sandbox(result, dest, target, nb, assignment, zyg, isolation, ro, preload, data, *,
                      public_only) -> None:
    """Execute the submission in its sandbox (forked from ``zyg`` when there is one) and score it
    into ``result``."""
    # the sandbox's scratch folder
    work = zyg.scratch() if zyg is not None else Path(tempfile.mkdtemp(prefix="ag-"))
    private = Path(tempfile.mkdtemp(prefix="ag-grader-"))  # the grader's: the sandbox never sees it
    try:
        _copy_neighbours(target.path, work)
        handed_in = private / "files"  # what the rubric reads (submitted_file): taken before anything ran
        handed_in.mkdir()
        _copy_neighbours(target.path, handed_in)
        # one sandbox for the submission: it executes the notebook, then serves the tests' workers
        limits = sb.Limits.of(assignment, cpu_s=assignment.notebook_timeout + assignment.rubric_timeout)
        runner = Runner(work, isolation, limits, ro=ro, preload=preload, zygote=zyg)
        try:
            run = runner.execute(nb, assignment.cell_timeout, assignment.notebook_timeout)
            result["execution"] = {"seconds": round(run.seconds, 2), "errors": run.errors, "timed_out": run.timed_out,
                                   "skipped": run.skipped}
            if run.skipped:
                result["notices"].append(notice("skipped_cells", cells="; ".join(run.skipped)))
            if run.notebook is not None:
                nbformat.write(run.notebook, dest / "executed.ipynb")
            graded = private / "_submission.ipynb"
            nbformat.write(nb, graded)
            rubric = run_rubric(assignment, graded, private, public_only=public_only, data_dir=data,
                                scratch=work, isolation=isolation, files=handed_in, runner_fd=runner.fd)
        finally:
            runner.close()
        result["import_errors"] = rubric.import_errors
        result["rubric_seconds"] = round(rubric.seconds, 2)
        if rubric.error:
            result["status"] = "error"
            result["errors"].append(rubric.error)
            result["tests"] = []
        else:
            result["tests"] = rubric.tests
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def _notices(found: Recognition, path: Path) -> list[dict]:
    """What the student should know about how the notebook was recognised (not errors)."""
    if found.how == "copy_name":
        return [notice("recognised_by_name", assignment=found.assignment.id, name=path.name)]
    if found.how == "definitions":
        shown = ", ".join(found.names[:5]) + (", …" if len(found.names) > 5 else "")
        return [notice("recognised_by_definitions", assignment=found.assignment.id, names=shown)]
    return []


def _copy_neighbours(notebook: Path, work: Path) -> None:
    """Copy the files beside the notebook (saved weights, data the student ships) into scratch,
    never through a link (``autograder.engine.intake``)."""
    for f in neighbour_files(notebook):
        copy_regular(f, work / f.name)


def _finish(result: dict, dest: Path) -> dict:
    tests = result["tests"]
    result["max_score"] = float(sum(t["max_score"] for t in tests if t["status"] != "skipped"))
    result["score"] = float(sum(t["score"] for t in tests))
    write_json(dest / RESULT_FILE, result)  # atomic: a crash leaves the old file or the new one
    return result

