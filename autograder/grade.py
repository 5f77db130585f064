"""The grading path: read -> recognise -> execute -> import -> score -> result.

``grade_notebook`` grades one submission and never raises for what the submission is or does;
``grade_all`` grades many in parallel and writes every result as soon as it is ready.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from . import sandbox as sb
from .course import Assignment, Course
from .execute import execute
from .intake import (HARDLINK, MAX_NOTEBOOK_BYTES, SKIP_DIRS, SYMLINK, Refused, Target,  # noqa: F401
                     copy_regular, discover, neighbour_files, read_regular)
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


def recognise(nb: nbformat.NotebookNode | None, path: Path, course: Course) -> Assignment | None:
    """The assignment from notebook metadata, else from the file name."""
    ids = course.assignments
    if nb is not None:
        meta = nb.metadata.get("autograder", {})
        aid = meta.get("assignment") if isinstance(meta, dict) else None
        if aid in ids:
            return ids[aid]
    stem = path.stem.lower()
    if stem in ids:
        return ids[stem]
    matches = [a for a in ids if stem.startswith(a) or a.split("_", 1)[0] == stem.split("_", 1)[0]]
    return ids[matches[0]] if len(matches) == 1 else None


def _zero_tests(assignment: Assignment, reason: str, cache: dict) -> list[dict]:
    """Every rubric test at zero, with the reason (used when the notebook cannot be graded)."""
    if assignment.id not in cache:
        with tempfile.TemporaryDirectory(prefix="ag-collect-") as tmp:
            cache[assignment.id] = run_rubric(assignment, None, Path(tmp), collect_only=True).tests
    return [{**t, "score": 0.0, "status": "failed", "output": reason} for t in cache[assignment.id]]


def grade_notebook(target: Target, course: Course, out_dir: Path, *, public_only: bool = False,
                   data_dir: Path | None = None, _collect_cache: dict | None = None,
                   sandbox: str = "auto") -> dict:
    """Grade one submission; writes ``out_dir/<student>/<assignment>/`` and returns the result.

    sandbox: off|auto|required (``autograder.sandbox``); ``result["isolation"]`` says what ran.
    """
    cache = _collect_cache if _collect_cache is not None else {}
    if target.refused:  # a link: never opened (autograder.intake)
        nb, problems = None, [REFUSED.get(target.refused, target.refused)]
    else:
        nb, problems = read_notebook(target.path)
    assignment = recognise(nb, target.path, course)
    result = {
        "student": target.student,
        "assignment": assignment.id if assignment else None,
        "notebook": str(target.path),
        "score": 0.0,
        "max_score": 0.0,
        "status": "graded",
        "isolation": None,
        "errors": list(problems),
        "execution": {},
        "import_errors": [],
        "tests": [],
    }
    dest = out_dir / target.student / (assignment.id if assignment else target.path.stem)
    dest.mkdir(parents=True, exist_ok=True)
    if assignment is None:
        result["status"] = "ungraded"
        result["errors"].append(
            "не удалось определить задание: в метаданных ноутбука нет autograder.assignment и имя файла "
            f"не совпадает ни с одним заданием ({', '.join(course.assignments)})")
        return _finish(result, dest)
    if nb is None:
        result["status"] = "ungraded"
        result["tests"] = _zero_tests(assignment, "Ноутбук не оценён: " + problems[0], cache)
        return _finish(result, dest)

    try:
        isolation = result["isolation"] = sb.probe(sandbox)
    except sb.SandboxUnavailable as exc:
        result["status"] = "error"
        result["errors"].append(f"--sandbox={sandbox}: {exc}")
        return _finish(result, dest)
    nb, notes = restore_protected(nb, assignment)
    result["errors"] += notes
    work = Path(tempfile.mkdtemp(prefix="ag-"))            # the sandbox's scratch folder
    private = Path(tempfile.mkdtemp(prefix="ag-grader-"))  # the grader's: the sandbox never sees it
    try:
        _copy_neighbours(target.path, work)
        handed_in = private / "files"  # what the rubric reads (submitted_file): taken before anything ran
        handed_in.mkdir()
        _copy_neighbours(target.path, handed_in)
        data = data_dir or course.data_dir()
        run = execute(nb, work, assignment.cell_timeout, assignment.notebook_timeout, isolation=isolation,
                      limits=sb.Limits.of(assignment, cpu_s=assignment.notebook_timeout),
                      ro=[data] if data else [])
        result["execution"] = {"seconds": round(run.seconds, 2), "errors": run.errors, "timed_out": run.timed_out}
        if run.notebook is not None:
            nbformat.write(run.notebook, dest / "executed.ipynb")
        graded = private / "_submission.ipynb"
        nbformat.write(nb, graded)
        rubric = run_rubric(assignment, graded, private, public_only=public_only, data_dir=data,
                            scratch=work, isolation=isolation, files=handed_in)
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
    return _finish(result, dest)


def _copy_neighbours(notebook: Path, work: Path) -> None:
    """Copy the files beside the notebook (saved weights, data the student ships) into scratch,
    never through a link (``autograder.intake``)."""
    for f in neighbour_files(notebook):
        copy_regular(f, work / f.name)


def _finish(result: dict, dest: Path) -> dict:
    tests = result["tests"]
    result["max_score"] = float(sum(t["max_score"] for t in tests if t["status"] != "skipped"))
    result["score"] = float(sum(t["score"] for t in tests))
    from .batch import write_json

    write_json(dest / "result.json", result)  # atomic: a crash leaves the old file or the new one
    return result


def grade_all(targets: list[Target], course: Course, out_dir: Path, **options) -> list[dict]:
    """Grade many submissions in parallel, resumably: see ``autograder.batch.grade_all``."""
    from .batch import grade_all as batch_grade_all

    return batch_grade_all(targets, course, out_dir, **options)
