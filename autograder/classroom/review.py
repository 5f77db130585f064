"""Review pages for manually graded items: every student's answer on one page, with a points box
and a comment box per student, saved by the TA as a marks CSV that grading merges
(``policy.read_marks``, ``autograder grade --marks``).

    autograder review CLASS --out review            # the handed-in notebooks (with the students' plots)
    autograder review results --out review          # the notebooks a results folder was graded from

One self-contained page per (assignment, item), ``OUT/<assignment>-<item>.html``, and
``OUT/index.html``.  The page works offline (no network, no server): what the TA types is kept in
the browser's storage, and "Save marks" downloads ``marks-<assignment>-<item>.csv`` (the CSV is
also shown in the page, to copy).  Marks given with ``--marks`` (and ``grading.marks``) are filled
in, so a page written again continues where the TA left off; a mark on an answer that changed
since is flagged.  ``anonymise``: students appear as "Студент N" in a shuffled order (blind
marking on screen; the CSV carries the ids, so the page's source does too).

Everything from a submission is escaped (Jinja2's autoescape); outputs are shown as text, and
images only as PNG or JPEG that decode as such (at most ``MAX_IMAGES`` per answer).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core.course import Assignment, Course, ManualItem
from ..core.files import RESULT_FILE

MAX_TEXT = 20_000        # characters of one cell's source or output shown
MAX_IMAGES = 12          # images shown per answer
MAX_CELLS = 40           # cells shown per answer (the answer cell and the cells added around it)
MAX_IMAGE_BYTES = 4 << 20
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

STRINGS = {
    "ru": {"review": "Ручная проверка", "question": "Вопрос", "guide": "Что должно быть в хорошем ответе",
           "points": "Баллы", "comment": "Комментарий", "of": "из", "save": "Сохранить оценки (CSV)",
           "marked": "оценено", "no_answer": "Ответ не найден: ячейка ответа не заполнена",
           "no_notebook": "Ноутбук не прочитан", "stale": "ответ изменился после оценки",
           "student": "Студент", "csv_note": "Файл сохраняется в папку загрузок браузера; передайте его "
           "в autograder grade --marks ФАЙЛ (или положите в папку оценок курса). Тот же CSV:",
           "invalid": "неверные баллы (пропущены)", "items": "Вопросы с ручной проверкой",
           "answers": "ответов", "assignment": "Задание", "none": "В рубриках нет вопросов с ручной проверкой (MANUAL).",
           "task": "Задача", "all": "всех", "zero": "0", "full": "макс."},
    "en": {"review": "Manual grading", "question": "Question", "guide": "What a good answer contains",
           "points": "Points", "comment": "Comment", "of": "of", "save": "Save marks (CSV)",
           "marked": "marked", "no_answer": "No answer found: the answer cell was left as released",
           "no_notebook": "The notebook could not be read", "stale": "the answer changed since it was marked",
           "student": "Student", "csv_note": "The file goes to the browser's downloads folder; pass it to "
           "autograder grade --marks FILE (or put it in the course's marks folder). The same CSV:",
           "invalid": "invalid points (left out)", "items": "Manually graded items",
           "answers": "answers", "assignment": "Assignment", "none": "No rubric declares manually graded items (MANUAL).",
           "task": "Task", "all": "all", "zero": "0", "full": "max"},
}


@dataclass
class Entry:
    """One student's answer to one item, as the review page shows it."""

    student: str
    label: str                      # what the page shows: the id, or "Студент N"
    answered: bool
    digest: str | None
    cells: list = field(default_factory=list)   # [{"type", "source", "outputs": [...]}]
    problem: str = ""
    points: str = ""                # an existing mark, as text
    comment: str = ""
    stale: bool = False


def _text(value) -> str:
    text = "".join(value) if isinstance(value, list) else str(value or "")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n…"


def _image(mime: str, data) -> str | None:
    """The base64 text of an image that really is a PNG or JPEG of at most MAX_IMAGE_BYTES."""
    if mime not in IMAGE_MAGIC:
        return None
    text = "".join(data) if isinstance(data, list) else data
    if not isinstance(text, str) or len(text) > MAX_IMAGE_BYTES * 4 // 3 + 16:
        return None
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(IMAGE_MAGIC[mime]) or len(raw) > MAX_IMAGE_BYTES:
        return None
    return base64.b64encode(raw).decode("ascii")


def _outputs(cell, budget: list[int]) -> list[dict]:
    """A code cell's outputs as text and images (no HTML, no script, nothing else)."""
    shown = []
    for out in cell.get("outputs") or []:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            shown.append({"kind": "text", "text": _text(out.get("text"))})
        elif kind == "error":
            trace = "\n".join(_ANSI.sub("", str(x)) for x in out.get("traceback") or [])
            shown.append({"kind": "error", "text": _text(trace or f"{out.get('ename')}: {out.get('evalue')}")})
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") or {}
            image = next(((m, _image(m, data[m])) for m in IMAGE_MAGIC if m in data), None)
            if image and image[1] and budget[0] > 0:
                budget[0] -= 1
                shown.append({"kind": "image", "mime": image[0], "data": image[1]})
            elif "text/plain" in data:
                shown.append({"kind": "text", "text": _text(data["text/plain"])})
    return shown


def _cells(cells) -> list[dict]:
    budget = [MAX_IMAGES]
    shown = []
    for cell in cells[:MAX_CELLS]:
        entry = {"type": cell.get("cell_type"), "source": _text(cell.get("source")), "outputs": []}
        if entry["type"] == "code":
            entry["outputs"] = _outputs(cell, budget)
        for name, bundle in (cell.get("attachments") or {}).items():  # pasted images in markdown
            for mime, data in (bundle or {}).items() if isinstance(bundle, dict) else ():
                image = _image(mime, data)
                if image and budget[0] > 0:
                    budget[0] -= 1
                    entry["outputs"].append({"kind": "image", "mime": mime, "data": image})
        shown.append(entry)
    return shown


@dataclass
class Source:
    """A submission to review: who, which assignment, the notebook to read."""

    student: str
    assignment: str
    notebook: Path | None


def is_results_folder(path: Path) -> bool:
    return any(Path(path).glob(f"*/*/{RESULT_FILE}"))


def sources(paths: list[Path], course: Course) -> list[Source]:
    """The submissions under ``paths``: a class folder gives the latest notebook of each
    (student, assignment), as grading picks it; a results folder the notebook each result was
    graded from (with the outputs and plots the student saved), else its ``executed.ipynb`` (the
    outputs of grading, which draws no figures) when the class is not on this machine."""
    found = []
    for path in map(Path, paths):
        if is_results_folder(path):
            from .reports import submission_dir
            from .results import load_results

            for r in load_results(path):
                if r.get("assignment"):
                    handed_in = Path(r["notebook"]) if r.get("notebook") else None
                    executed = path / submission_dir(r) / "executed.ipynb"
                    notebook = handed_in if handed_in is not None and handed_in.is_file() else (
                        executed if executed.is_file() else None)
                    found.append(Source(r["student"], r["assignment"], notebook))
            continue
        import tempfile

        from ..engine.grade import discover
        from .batch import grading_options, plan
        from .selection import student_folder

        targets = student_folder(path, discover([path]), course)
        with tempfile.TemporaryDirectory(prefix="ag-review-") as tmp:
            for p in plan(targets, course, Path(tmp), grading_options(False, None), resume=False):
                if p.dest.name in course.assignments:
                    found.append(Source(p.target.student, p.dest.name, None if p.target.refused else p.target.path))
    return found


def entries(assignment: Assignment, item: ManualItem, subs: list[Source], marks=(), *,
            anonymise: bool = False, lang: str = "ru") -> list[Entry]:
    """Every submission's answer to ``item``, with the marks already given (``policy.Mark``)."""
    from ..engine.answers import find_answer, released_notebook
    from ..engine.grade import read_notebook

    released = released_notebook(assignment)
    given = {m.student: m for m in marks if m.assignment == assignment.id and m.item == item.id}
    rows = []
    for s in sorted((s for s in subs if s.assignment == assignment.id), key=lambda s: s.student):
        nb, problems = read_notebook(s.notebook) if s.notebook is not None else (None, ["no notebook"])
        if nb is None:
            e = Entry(s.student, s.student, False, None, problem=STRINGS[lang]["no_notebook"])
        else:
            answer = find_answer(nb, released, item)
            e = Entry(s.student, s.student, answer.answered, answer.digest, _cells(answer.cells))
            if not answer.answered:
                e.problem = STRINGS[lang]["no_answer"]
        m = given.get(s.student)
        if m is not None:
            e.points, e.comment = f"{m.points:g}", m.comment
            e.stale = bool(m.answer and e.digest and m.answer != e.digest)
        rows.append(e)
    if anonymise:
        random.Random(f"{assignment.id}/{item.id}").shuffle(rows)
        for n, e in enumerate(rows, 1):
            e.label = f"{STRINGS[lang]['student']} {n}"
    # answers first, then the students without one (nothing to read there)
    return sorted(rows, key=lambda e: not e.answered)


def review_html(assignment: Assignment, item: ManualItem, rows: list[Entry], lang: str = "ru") -> str:
    """The self-contained review page of one item."""
    from .reports import _css, _env

    t = STRINGS[lang]
    token = hashlib.sha256(json.dumps([assignment.id, item.id, [(e.student, e.digest, e.points, e.comment)
                                                                for e in rows]]).encode()).hexdigest()[:12]
    return _env().get_template("review.html.j2").render(
        t=t, lang=lang, css=_css(), a=assignment, item=item, rows=rows, token=token,
        answered=sum(e.answered for e in rows), filename=f"marks-{assignment.id}-{item.id}.csv")


def write_review(course: Course, paths: list[Path], out: Path, *, assignment: str | None = None,
                 item: str | None = None, marks=(), anonymise: bool = False, lang: str = "ru") -> list[Path]:
    """Write a review page per manual item (of ``assignment`` / ``item`` when given) and an index;
    returns the pages written."""
    from ..core.files import atomic_write_text
    from .reports import _css, _env

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    subs = sources(paths, course)
    pages, index = [], []
    for a in course.assignments.values():
        if assignment and a.id != assignment:
            continue
        for it in a.manual_items:
            if item and it.id != item:
                continue
            rows = entries(a, it, subs, marks, anonymise=anonymise, lang=lang)
            page = out / f"{a.id}-{it.id}.html"
            atomic_write_text(page, review_html(a, it, rows, lang))
            pages.append(page)
            index.append({"assignment": a, "item": it, "href": page.name, "count": len(rows),
                          "answered": sum(e.answered for e in rows),
                          "marked": sum(bool(e.points) for e in rows)})
    atomic_write_text(out / "index.html", _env().get_template("review_index.html.j2").render(
        t=STRINGS[lang], lang=lang, css=_css(), items=index))
    return pages
