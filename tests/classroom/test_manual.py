"""Manually graded items: the rubric's MANUAL list, the tagged answer cell, pending at grading,
the review page, and the TA's marks merged on every run (also after a regrade)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.release import MarkerError, public_rubric, student_notebook
from autograder.classroom.policy import PolicyError, apply_policy, mark_warnings, read_marks
from autograder.classroom.results import write_all
from autograder.classroom.review import write_review
from autograder.cli import main
from autograder.core.course import Course, ManualError, read_manual
from autograder.engine.answers import find_answer, manual_tests

from engine.tiny import RUBRIC, SOLUTION_CELLS, notebook

MANUAL = '''
MANUAL = [{"id": "why_double", "task": "3 Вопрос", "points": 2, "cell": "tiny-answer",
           "question": "Зачем удваивать?", "guide": "СЕКРЕТ-ДЛЯ-АССИСТЕНТА: потому что"}]
'''
ANSWER = "**Ответ** (вручную):\n\n### BEGIN SOLUTION\nЧтобы получить вдвое больше.\n### END SOLUTION"


@pytest.fixture
def course(tmp_path) -> Course:
    """The tiny course with one manual item whose answer cell ends the notebook."""
    from autograder.authoring.release import release

    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    (root / "solutions").mkdir()
    (root / "tests" / "grading" / "a00_tiny.py").write_text(RUBRIC + MANUAL, encoding="utf-8")
    nb = notebook(SOLUTION_CELLS)
    cell = nbformat.v4.new_markdown_cell(ANSWER)
    cell.id = "tiny-answer"
    nb.cells.append(cell)
    nbformat.write(nb, root / "solutions" / "a00_tiny.ipynb")
    (root / "pyproject.toml").write_text("[project]\nname='tiny'\nversion='0'\n", encoding="utf-8")
    assert release(Course(root)) == []
    return Course(root)


def _rubric(tmp_path, text: str) -> Path:
    path = tmp_path / "a09_x.py"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, says", [
    ('MANUAL = {"id": "x"}', "must be a list"),
    ('MANUAL = [{"id": "x", "task": "t", "points": 1, "cell": "c"}]', "missing key 'question'"),
    ('MANUAL = [{"id": "x", "task": "t", "points": 0, "cell": "c", "question": "q"}]', "positive number"),
    ('MANUAL = [{"id": "x", "task": "t", "points": "1", "cell": "c", "question": "q"}]', "'points' must be a number"),
    ('MANUAL = [{"id": "Test x", "task": "t", "points": 1, "cell": "c", "question": "q"}]', "lower-case name"),
    ('MANUAL = [{"id": "x", "task": "t", "points": 1, "cell": "c", "question": "q", "hint": ""}]',
     "unknown key 'hint'"),
    ('MANUAL = [' + '{"id": "x", "task": "t", "points": 1, "cell": "c", "question": "q"},' * 2 + ']', "used twice"),
    ('MANUAL = [dict(id="x")]', "literal list"),
])
def test_a_wrong_manual_list_is_one_line_naming_the_item(tmp_path, text, says):
    with pytest.raises(ManualError) as exc:
        read_manual(_rubric(tmp_path, text))
    assert says in str(exc.value) and "\n" not in str(exc.value) and "a09_x.py" in str(exc.value)


def test_manual_items_are_read_without_importing_the_rubric(course):
    (item,) = course.assignments["a00_tiny"].manual_items
    assert (item.id, item.points, item.cell, item.tag) == ("why_double", 2.0, "tiny-answer", "manual:why_double")


def test_release_tags_the_answer_cell_and_ships_no_guide(course):
    a = course.assignments["a00_tiny"]
    released = nbformat.read(a.student, as_version=4)
    answer = released.cells[-1]
    assert answer.id == "tiny-answer" and "manual:why_double" in answer.metadata["tags"]
    assert "Чтобы получить" not in answer.source and "Ваш ответ здесь" in answer.source
    shipped = public_rubric(a.rubric.read_text(encoding="utf-8"))
    assert "why_double" in shipped and "СЕКРЕТ" not in shipped and "guide" not in shipped


def test_release_refuses_an_answer_cell_that_is_missing_or_has_no_solution(course):
    a = course.assignments["a00_tiny"]
    sol = nbformat.read(a.solution, as_version=4)
    item = a.manual_items[0]
    sol.cells[-1].source = "Ответ:"
    with pytest.raises(MarkerError, match="no SOLUTION region"):
        student_notebook(sol, a.id, manual=[item])
    sol.cells[-1].id = "other"
    with pytest.raises(MarkerError, match="no cell with id or tag 'tiny-answer'"):
        student_notebook(sol, a.id, manual=[item])


def test_the_answer_is_found_by_tag_id_or_place_with_the_cells_the_student_added(course):
    a = course.assignments["a00_tiny"]
    released = nbformat.read(a.student, as_version=4)
    item = a.manual_items[0]
    assert find_answer(released, released, item).answered is False
    nb = nbformat.read(a.student, as_version=4)
    nb.cells[-1].source += "\n\nПотому что так в задании."
    plot = nbformat.v4.new_code_cell("plt.plot([1, 2])")
    nb.cells.append(plot)
    tagged = find_answer(nb, released, item)
    assert tagged.answered and len(tagged.cells) == 2 and tagged.digest
    for cell in nb.cells:  # an editor that drops ids and tags
        cell.metadata = {}
        cell.id = "x" + cell.id
    by_place = find_answer(nb, released, item)
    assert by_place.answered and by_place.digest == tagged.digest
    assert [t["status"] for t in manual_tests(a, nb)] == ["pending"]
    assert [t["status"] for t in manual_tests(a, released)] == ["failed"]
    assert [t["status"] for t in manual_tests(a, None, run=False)] == ["not_run"]


def _marks(path: Path, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "item", "points", "comment", "answer"])
        w.writerows(rows)
    return path


def _result(status="pending", answer="d1") -> dict:
    return {"student": "ann", "assignment": "a00_tiny", "notebook": "/nowhere/a00_tiny.ipynb", "score": 3.0,
            "max_score": 5.0, "status": "graded", "errors": [],
            "tests": [{"name": "test_double_value", "score": 3.0, "max_score": 3.0, "status": "passed", "output": ""},
                      {"name": "why_double", "manual": True, "answer": answer, "score": 0.0, "max_score": 2.0,
                       "status": status, "output": "", "task": "3 Вопрос", "description": "Зачем?"}]}


def test_a_mark_replaces_pending_and_is_undone_when_the_csv_no_longer_has_it(tmp_path):
    marks = read_marks([_marks(tmp_path / "m.csv", [("ann", "a00_tiny", "why_double", "1.5", "хорошо", "d1")])])
    marked = apply_policy(_result(), marks=marks)
    test = marked["tests"][1]
    assert (marked["score"], marked["raw_score"], test["status"], test["score"]) == (4.5, 3.0, "marked", 1.5)
    assert test["mark"]["comment"] == "хорошо" and not test["mark"]["stale"]
    again = apply_policy(marked, marks=marks)  # result.json holds the applied result: applying twice is the same
    assert again["score"] == 4.5 and again["tests"][1]["mark"]["before"]["status"] == "pending"
    dropped = apply_policy(marked)
    assert (dropped["score"], dropped["tests"][1]["status"]) == (3.0, "pending")


def test_marks_that_do_not_fit_are_reported_not_applied(tmp_path):
    marks = read_marks([_marks(tmp_path / "m.csv", [
        ("ann", "a00_tiny", "why_double", "3", "", ""),          # more than the item's 2 points
        ("ann", "a00_tiny", "nothing", "1", "", ""),             # no such item
        ("bob", "a00_tiny", "why_double", "1", "", ""),          # not graded
        ("cat", "a00_tiny", "why_double", "", "not yet", ""),    # empty points: not marked
    ])])
    result = apply_policy(_result(), marks=marks)
    assert result["score"] == 3.0 and result["tests"][1]["status"] == "pending"
    said = mark_warnings(marks, [result])
    assert len(said) == 3 and any("more than the item's 2" in s for s in said)
    assert any("no manually graded item 'nothing'" in s for s in said) and any("'bob'" in s for s in said)


def test_a_mark_on_an_answer_that_changed_is_applied_and_flagged(tmp_path):
    marks = read_marks([_marks(tmp_path / "m.csv", [("ann", "a00_tiny", "why_double", "2", "", "old")])])
    result = apply_policy(_result(answer="new"), marks=marks)
    assert result["tests"][1]["mark"]["stale"] and result["score"] == 5.0
    assert "changed since it was marked" in mark_warnings(marks, [result])[0]


@pytest.mark.parametrize("row, says", [(("ann", "a00_tiny", "why_double", "x", "", ""), "not a number"),
                                       (("ann", "a00_tiny", "why_double", "-1", "", ""), "at least 0"),
                                       (("", "a00_tiny", "why_double", "1", "", ""), "must not be empty")])
def test_bad_marks_files_are_one_line(tmp_path, row, says):
    with pytest.raises(PolicyError, match=says):
        read_marks([_marks(tmp_path / "m.csv", [row])])
    with pytest.raises(PolicyError, match="no such marks file"):
        read_marks([tmp_path / "missing.csv"])


def test_pending_is_pending_in_the_gradebook_junit_and_gradescope(tmp_path):
    write_all([apply_policy(_result())], tmp_path, lang="en")
    book = list(csv.DictReader(open(tmp_path / "gradebook.csv", encoding="utf-8")))
    assert book[0]["a00_tiny/why_double"] == "pending" and book[0]["score"] == "3"
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert 'failures="0"' in junit and "pending: graded by hand" in junit
    gradescope = json.loads((tmp_path / "ann" / "a00_tiny" / "results.json").read_text(encoding="utf-8"))
    manual = gradescope["tests"][1]
    assert "status" not in manual and "waits for the instructor" in manual["output"]
    page = (tmp_path / "ann" / "a00_tiny" / "feedback.html").read_text(encoding="utf-8")
    assert 'class="test pending"' in page and "waits for the instructor" in page


def test_review_page_escapes_the_answer_and_shows_only_real_images(course, tmp_path):
    a = course.assignments["a00_tiny"]
    nb = nbformat.read(a.student, as_version=4)
    nb.cells[-1].source += "\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>"
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    code = nbformat.v4.new_code_cell("plot()")
    code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png}),
                    nbformat.v4.new_output("display_data", data={"image/png": "PHN2Zz4=", "text/plain": "fake"}),
                    nbformat.v4.new_output("display_data", data={"text/html": "<b>html</b>", "text/plain": "<b>plain</b>"})]
    nb.cells.append(code)
    for student in ("ann", "<b>bob</b>"):
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(nb if student == "ann" else nbformat.read(a.student, as_version=4),
                       tmp_path / "class" / student / "a00_tiny.ipynb")
    marks = read_marks([_marks(tmp_path / "m.csv", [("ann", "a00_tiny", "why_double", "1", "<i>ok</i>", "old")])])
    (page,) = write_review(course, [tmp_path / "class"], tmp_path / "review", marks=marks)
    html = page.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html and "<img src=x" not in html
    assert html.count("data:image/png;base64,") == 1 and png in html  # the fake PNG is not shown
    assert "&lt;b&gt;plain&lt;/b&gt;" in html and "<b>html</b>" not in html and "<b>bob</b>" not in html
    assert "&lt;i&gt;ok&lt;/i&gt;" in html and "ответ изменился после оценки" in html
    assert "СЕКРЕТ-ДЛЯ-АССИСТЕНТА" in html  # the guide is for the TA
    (anonymous,) = write_review(course, [tmp_path / "class"], tmp_path / "anonymous", anonymise=True)
    text = anonymous.read_text(encoding="utf-8").split('<main id="answers">')[1]
    assert "Студент 1" in text and "Студент 2" in text and ">ann<" not in text


@pytest.mark.slow
def test_pending_then_marked_then_regraded_keeps_the_mark(course, tmp_path, monkeypatch, capsys):
    """The whole loop with the CLI: grade (pending) -> review page -> the TA's CSV -> grade again
    (merged without regrading) -> --regrade (the mark stays)."""
    a = course.assignments["a00_tiny"]
    sol = nbformat.read(a.solution, as_version=4)
    for student in ("ann", "bob"):
        nb = student_notebook(sol, a.id, a.rubric.read_text(encoding="utf-8"), manual=a.manual_items)
        solved = {c.id: c.source for c in sol.cells if c.cell_type == "code"}
        for cell in nb.cells:
            cell.source = solved.get(cell.get("id"), cell.source)
        nb.cells[-1].source += f"\n\nОтвет {student}: вдвое больше."
        (tmp_path / "class" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "class" / student / "a00_tiny.ipynb")
    monkeypatch.chdir(course.root)
    out, args = tmp_path / "results", ["grade", str(tmp_path / "class"), "--out", str(tmp_path / "results"), "-q"]
    assert main(args) == 0
    first = json.loads((out / "ann" / "a00_tiny" / "result.json").read_text(encoding="utf-8"))
    manual = [t for t in first["tests"] if t.get("manual")]
    assert [t["status"] for t in manual] == ["pending"] and first["score"] == first["max_score"] - 2

    assert main(["review", str(out), "--out", str(tmp_path / "review")]) == 0
    page = (tmp_path / "review" / "a00_tiny-why_double.html").read_text(encoding="utf-8")
    assert "Ответ ann" in page and "Ответ bob" in page
    digest = manual[0]["answer"]
    marks = _marks(tmp_path / "marks.csv", [("ann", "a00_tiny", "why_double", "2", "верно", digest)])
    capsys.readouterr()
    assert main([*args, "--marks", str(marks)]) == 0
    assert "graded 0, reused 2" in capsys.readouterr().out  # merged without regrading
    book = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    assert book["ann"]["a00_tiny/why_double"] == "2" and book["bob"]["a00_tiny/why_double"] == "pending"
    assert book["ann"]["score"] == book["ann"]["max_score"]

    assert main([*args, "--marks", str(marks), "--regrade"]) == 0
    assert "graded 2, reused 0" in capsys.readouterr().out
    book = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    assert book["ann"]["a00_tiny/why_double"] == "2" and book["ann"]["comment"] == "why_double: верно"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'data-item="why_double"' in report


def test_the_self_check_says_who_grades_a_manual_item(course):
    from autograder.authoring.selfcheck import manual_note

    a = course.assignments["a00_tiny"]
    said = " ".join(manual_note(a))
    assert "Зачем удваивать?" in said and "вручную" in said and "(баллов: 2)" in said
    assert manual_note(a, ("3",)) and manual_note(a, ("1 double",)) == []
