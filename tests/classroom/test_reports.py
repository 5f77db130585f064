"""Feedback pages, the class report, Gradescope results.json and JUnit XML."""
from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import pytest

from autograder.classroom.reports import class_report_html, feedback_html
from autograder.classroom.results import GRADESCOPE_VISIBILITY, gradescope, junit_xml, write_all

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


class Checker(HTMLParser):
    """Balanced tags, no script, and the text, test ids and images of the page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text, self.tags = [], [], [], []
        self.data_tests, self.images, self.doctype = [], [], False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "data-test" in attrs:
            self.data_tests.append(attrs["data-test"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if any(k.startswith("on") for k in attrs):
            self.errors.append(f"event handler attribute on <{tag}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check(page: str) -> Checker:
    c = Checker()
    c.feed(page)
    c.close()
    assert c.doctype, "no <!DOCTYPE html>"
    assert not c.errors, c.errors
    assert not c.stack, f"unclosed: {c.stack}"
    assert "script" not in c.tags
    assert c.tags[:3] == ["html", "head", "meta"]
    return c


def result(student="ann", score_add=1.0, status="graded") -> dict:
    tests = [
        {"name": "test_add", "task": "1.1 Сложение", "description": "add(2, 3) == 5", "max_score": 1.0,
         "hidden": False, "visibility": "visible", "score": score_add,
         "status": "passed" if score_add else "failed", "output": "" if score_add else "add(2, 3) должно быть 5"},
        {"name": "test_shape", "task": "1.2 Форма", "description": "форма выхода (N, 3)", "max_score": 2.0,
         "hidden": True, "visibility": "after_published", "score": 0.0, "status": "failed",
         "output": "Форма выхода (4, 2), ожидалась (4, 3)\nНаименьший вход, на котором проверка не проходит:\n"
                   "    x=array([[0., 0.]])" + HOSTILE},
        {"name": "test_big", "task": "", "description": "", "max_score": 1.0, "hidden": False,
         "visibility": "visible", "score": 0.0, "status": "skipped", "output": "нужен CIFAR-10"},
    ]
    return {"student": student, "assignment": "a01_neurons", "notebook": f"class/{student}/a01_neurons.ipynb",
            "score": score_add, "max_score": 4.0, "status": status, "raw_score": score_add,
            "errors": ["ноутбук не прошёл проверку формата " + HOSTILE],
            "execution": {"seconds": 3.2, "errors": ["ячейка 4: ZeroDivisionError: division by zero"],
                          "timed_out": False},
            "import_errors": ["ячейка 2: NameError: name 'np' is not defined строка 3"],
            "timings": {"execute": 3.2, "tests": 2.1, "total": 5.5},
            "tests": tests}


@pytest.mark.parametrize("lang, word", [("ru", "Проверки"), ("en", "Tests")])
def test_feedback_page_is_valid_and_complete(lang, word):
    r = result(score_add=0.0)
    r["late"] = {"deadline": "2026-12-01T23:59+00:00", "rule": "per-day", "submitted": "2026-12-03T10:00:00+00:00",
                 "source": "timestamp.txt", "days_late": 2, "penalty": 0.8}
    r["adjustments"] = [{"test": "test_add", "before": 0.0, "after": 1.0, "comment": "проверено " + HOSTILE,
                         "applied": True}]
    page = feedback_html(r, lang)
    c = check(page)
    text = "".join(c.text)
    assert c.data_tests == ["test_add", "test_shape", "test_big"]  # every test of the submission
    assert word in text
    assert "Наименьший вход" in text and "x=array([[0., 0.]])" in text   # Hypothesis' example
    assert "ZeroDivisionError" in text and "NameError" in text          # execution and import errors
    assert "timestamp.txt" in text and "−0.8" in text
    assert HOSTILE in text                          # shown as text ...
    assert "<script>" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")  # ... never as markup
    assert page.count("&lt;script&gt;") >= 3


def test_feedback_language_is_checked():
    with pytest.raises(ValueError):
        feedback_html(result(), "de")


def test_class_report_has_plots_and_tables():
    results = [result("ann"), result("bob", 0.0), result("cid", status="error"),
               {**result("dan"), "assignment": None, "status": "ungraded", "tests": []}]
    page = class_report_html(results, "ru", {"a01_neurons": "Нейроны"})
    c = check(page)
    assert len(c.images) == 2  # histogram and pass rate of the one assignment
    for src in c.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.data_tests == ["test_add", "test_shape", "test_big"]
    text = "".join(c.text)
    assert "Нейроны" in text and "67%" in text     # test_add passes for 2 of 3 submissions
    for section in ("assignments", "failing", "slowest", "students"):
        assert f'id="{section}"' in page
    assert 'href="ann/a01_neurons/feedback.html"' in page and 'href="cid/a01_neurons/feedback.html"' in page


def test_gradescope_results_json_fields():
    r = result(score_add=1.0)
    r["score"] = 0.5
    r["late"] = {"days_late": 1, "penalty": 0.5, "rule": "per-day"}
    data = json.loads(json.dumps(gradescope(r)))
    assert set(data) <= {"score", "execution_time", "output", "output_format", "test_output_format",
                         "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
                         "leaderboard"}
    assert isinstance(data["score"], float) and data["score"] == 0.5
    assert isinstance(data["execution_time"], int) and data["execution_time"] == 6
    assert data["visibility"] in GRADESCOPE_VISIBILITY and data["stdout_visibility"] in GRADESCOPE_VISIBILITY
    assert data["output_format"] in ("text", "html", "simple_format", "md", "ansi")
    assert "late by 1 day" in data["output"]
    assert len(data["tests"]) == 3
    for i, t in enumerate(data["tests"], start=1):
        assert set(t) <= {"score", "max_score", "status", "name", "name_format", "number", "output",
                          "output_format", "tags", "visibility", "extra_data"}
        assert isinstance(t["score"], float) and isinstance(t["max_score"], float)
        assert t["status"] in ("passed", "failed")
        assert t["number"] == str(i) and isinstance(t["name"], str) and t["name"]
        assert isinstance(t["tags"], list) and t["visibility"] in GRADESCOPE_VISIBILITY
    assert data["tests"][1]["visibility"] == "after_published"    # hidden test
    assert data["tests"][0]["tags"] == ["1.1 Сложение"]


def test_junit_xml():
    xml = junit_xml([result("ann"), result("bob", 0.0, status="error")])
    root = ET.fromstring(xml.encode())
    assert root.tag == "testsuites" and root.get("failures") == "3" and root.get("errors") == "1"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["ann/a01_neurons", "bob/a01_neurons"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == ["test_add", "test_shape", "test_big"]
    assert cases[1].find("failure") is not None and "Наименьший вход" in cases[1].find("failure").text
    assert cases[2].find("skipped") is not None
    assert suites[1].find("testcase[@name='grading']/error") is not None


def test_write_all_outputs(tmp_path):
    results = [result("ann"), result("bob", 0.0)]
    write_all(results, tmp_path, lang="en")
    for f in ("gradebook.csv", "grades.csv", "junit.xml", "report.html", "ann/a01_neurons/feedback.html",
              "bob/a01_neurons/results.json", "bob/a01_neurons/result.json"):
        assert (tmp_path / f).is_file(), f
    assert (tmp_path / "grades.csv").read_text().splitlines() == ["student,a01_neurons,total", "ann,1,1", "bob,0,0"]
    check((tmp_path / "ann/a01_neurons/feedback.html").read_text(encoding="utf-8"))
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_summary_table_says_what_went_wrong():
    from autograder.classroom.results import summary_table

    hung = result("bob")
    hung["execution"] = {"seconds": 20.0, "errors": ["ячейка 3 остановлена"], "timed_out": True}
    lines = summary_table([result("ann"), hung], lang="en").splitlines()
    assert lines[0].split()[:3] == ["student", "assignment", "score"]
    ann, bob = lines[2], lines[3]
    assert "1/4" in ann and "1 test(s) failed" in ann and "1 not graded" in ann
    assert "1 error(s) running the notebook" in ann
    assert "notebook timed out" in bob and "error(s) running" not in bob


def not_a_notebook(n_tests: int = 32) -> dict:
    """What grading gives a file that is not valid JSON (``grade_notebook``)."""
    tests = [{"name": f"test_{k}", "task": f"{k} Задача", "description": f"проверка {k}", "max_score": 1.0,
              "hidden": False, "visibility": "visible", "score": 0.0, "status": "not_run", "output": ""}
             for k in range(n_tests)]
    return {"student": "ann", "assignment": "a01_neurons", "notebook": "class/ann/a01_neurons.ipynb",
            "score": 0.0, "max_score": float(n_tests), "status": "ungraded",
            "reason": {"key": "not_notebook", "args": {}},
            "errors": ["Файл не является ноутбуком: скачайте его заново из Jupyter или Colab "
                       "(File → Download → .ipynb) и сдайте ещё раз.",
                       "файл не является корректным JSON-ноутбуком (.ipynb): Expecting value"],
            "execution": {}, "import_errors": [], "tests": tests}


@pytest.mark.parametrize("lang, said", [("ru", "Файл не является ноутбуком: скачайте его заново"),
                                        ("en", "The file is not a notebook: download it again")])
def test_a_file_that_is_not_a_notebook_is_said_once_and_its_tests_listed_as_not_run(lang, said):
    page = feedback_html(not_a_notebook(), lang)
    c = check(page)
    text = "".join(c.text)
    assert text.count(said) == 1
    assert text.count("Expecting value") == 1              # the parser's words, once, as details
    assert c.data_tests == []                              # no card per test
    assert 'class="test failed"' not in page and "not-run" in page
    assert all(f"test_{k}" in text for k in range(32))     # but every test is listed
    assert "Файл не является ноутбуком" not in text or lang == "ru"


def test_not_run_tests_are_skipped_in_junit_and_zero_in_gradescope():
    r = not_a_notebook(3)
    suite = ET.fromstring(junit_xml([r])).find("testsuite")
    assert suite.get("skipped") == "3" and suite.get("failures") == "0"
    g = gradescope(r, "en")
    assert [t["score"] for t in g["tests"]] == [0.0] * 3 and g["output"].startswith("The file is not a notebook")
    assert gradescope(r)["output"].startswith("Файл не является ноутбуком")


def test_notices_are_notices_in_the_language_of_the_run():
    from autograder.core.messages import notice

    r = result()
    r["notices"] = [notice("duplicates", graded="a01_neurons.ipynb", others="old.ipynb")]
    for lang, heading, words, other in (("en", "Notices", "several notebooks of this assignment", "несколько"),
                                        ("ru", "Замечания", "найдено несколько ноутбуков", "several")):
        page = feedback_html(r, lang)
        text = "".join(check(page).text)
        assert heading in text and words in text and other not in text
        notices = page[page.index('id="notices"'):]
        assert words in notices[: notices.index("</section>")]     # in the notices section
        problems = page[page.index('id="problems"'):]
        assert words not in problems[: problems.index("</section>")]  # not under the errors
    assert "several notebooks" in gradescope(r, "en")["output"]


def test_summary_notes_are_cut_at_a_word_and_in_one_language():
    from autograder.classroom.results import summary_table

    broken = not_a_notebook(3)
    for lang, expected, foreign in (("en", "ungraded: The file is not a notebook", "Файл"),
                                    ("ru", "не оценено: Файл не является ноутбуком", "ungraded")):
        full = summary_table([broken], lang=lang, width=1000).splitlines()[2].split("0/3", 1)[1].strip()
        notes = summary_table([broken], lang=lang, width=60).splitlines()[2].split("0/3", 1)[1].strip()
        assert full.startswith(expected) and foreign not in full, full
        assert notes.endswith("…") and len(notes) <= 60, notes
        assert full.startswith(notes[:-1]) and full[len(notes) - 1] == " ", (notes, full)  # a whole word
