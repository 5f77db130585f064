"""Feedback and report pages rendered by a real browser (headless Chromium): what a person sees.

Each page is loaded into an iframe of a probe page at a laptop's width (1024 px); the probe's
script measures the page (is the score shown, is the isolation line shown, does anything stick
out sideways) and writes its findings into the DOM, which ``chromium --dump-dom`` prints.  The
pages themselves carry no script.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest

from autograder.classroom.results import write_all

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
LONG_TASK = "3.2 Обратное распространение через два слоя с нелинейностью ReLU и проверкой градиента " * 2
LONG_LINE = "x" * 400  # an unbroken line in a failure message (a printed array, a path)

PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" src="%s" style="width:1024px;height:800px;border:0"></iframe>
<script>
document.getElementById("page").onload = function () {
  var d = this.contentDocument, out = {};
  function seen(sel) {
    var e = d.querySelector(sel);
    if (!e) return null;
    var r = e.getBoundingClientRect(), s = d.defaultView.getComputedStyle(e);
    return {width: r.width, height: r.height, hidden: s.display === "none" || s.visibility === "hidden",
            text: e.innerText};
  }
  out.score = seen("#score");
  out.isolation = seen("#isolation");
  out.sideways = d.documentElement.scrollWidth - d.documentElement.clientWidth;
  out.wide = Array.prototype.filter.call(d.querySelectorAll("body *"), function (e) {
    return e.getBoundingClientRect().right > d.documentElement.clientWidth + 1;
  }).map(function (e) { return e.tagName + "." + e.className; }).slice(0, 5);
  out.text = d.body.innerText;
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
};
</script></body></html>"""


def _result(student: str) -> dict:
    tests = [{"name": "test_two_layer_backward", "task": LONG_TASK, "description": "градиенты по весам",
              "score": 0.0, "max_score": 2.0, "status": "failed", "hidden": False,
              "output": "градиент не совпадает с численным:\n" + LONG_LINE},
             {"name": "test_forward", "task": "1.1 Linear", "description": "forward", "score": 1.0,
              "max_score": 1.0, "status": "passed", "hidden": False, "output": ""}]
    return {"student": student, "assignment": "a01_neurons", "notebook": f"/class/{student}/a01_neurons.ipynb",
            "score": 1.0, "max_score": 3.0, "status": "graded", "isolation": "bwrap+uid", "errors": [],
            "execution": {"errors": [], "seconds": 1.0}, "import_errors": [], "tests": tests,
            "timings": {"total": 2.0}}


def _look(page) -> dict:
    probe = page.parent / f"probe-{page.stem}.html"
    probe.write_text(PROBE % page.name, encoding="utf-8")
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={page.parent / 'chromium-profile'}", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--window-size=1100,900", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the probe page did not report (rc {run.returncode}): {run.stderr[-800:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    out = tmp_path_factory.mktemp("pages")
    write_all([_result("ann"), _result("<b>bob</b>")], out, lang="ru")
    return out


def test_feedback_page_shows_score_and_isolation_and_nothing_sticks_out(pages):
    seen = _look(pages / "ann" / "a01_neurons" / "feedback.html")
    assert seen["score"] and not seen["score"]["hidden"] and seen["score"]["height"] > 0
    assert re.search(r"1\s*/\s*3", seen["score"]["text"]), seen["score"]["text"]
    assert seen["isolation"] and not seen["isolation"]["hidden"] and "bwrap+uid" in seen["isolation"]["text"]
    assert "Обратное распространение" in seen["text"] and LONG_LINE[:50] in seen["text"]
    assert seen["sideways"] <= 0 and seen["wide"] == [], seen  # long names and lines wrap


def test_report_page_shows_isolation_escapes_names_and_fits(pages):
    seen = _look(pages / "report.html")
    assert seen["isolation"] and not seen["isolation"]["hidden"] and "bwrap+uid" in seen["isolation"]["text"]
    assert "<b>bob</b>" in seen["text"]  # shown as text, not markup
    assert seen["sideways"] <= 0 and seen["wide"] == [], seen


# ---- the review page (manually graded items) and the similarity pages ------------------------------

REVIEW_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" src="%s" style="width:1024px;height:800px;border:0"></iframe>
<script>
document.getElementById("page").onload = function () {
  var w = this.contentWindow, d = this.contentDocument, out = {};
  var cards = d.querySelectorAll("section.card");
  out.cards = cards.length;
  out.labels = Array.prototype.map.call(cards, function (c) { return c.querySelector("h3").innerText; });
  out.images = d.querySelectorAll("section.card img").length;
  out.prefilled = Array.prototype.map.call(cards, function (c) { return c.querySelector("input.points").value; });
  function type(card, points, comment) {
    var p = card.querySelector("input.points"), t = card.querySelector("textarea.comment");
    p.value = points; p.dispatchEvent(new Event("input"));
    t.value = comment; t.dispatchEvent(new Event("input"));
  }
  type(cards[0], "0,5", 'half, "saturation" only');
  type(cards[cards.length - 1], "7", "too many");
  cards[1].querySelector("button.quick[data-value='0']").click();
  out.csv = w.reviewCsv();
  out.shown = d.getElementById("csv-text").value;
  out.marked = d.getElementById("marked-count").innerText;
  out.invalid = d.getElementById("invalid").hidden ? 0 : d.getElementById("invalid-count").innerText;
  out.sideways = d.documentElement.scrollWidth - d.documentElement.clientWidth;
  out.stored = Object.keys(JSON.parse(w.localStorage.getItem("autograder-review:" + d.body.dataset.token) || "{}")).length;
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
};
</script></body></html>"""


def _run_probe(page, probe_html: str) -> dict:
    probe = page.parent / f"probe-{page.stem}.html"
    probe.write_text(probe_html % page.name, encoding="utf-8")
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={page.parent / 'chromium-profile'}", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--window-size=1100,900", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the probe page did not report (rc {run.returncode}): {run.stderr[-800:]}"
    return json.loads(html.unescape(found.group(1)))


def test_review_page_turns_the_marks_typed_into_a_csv(tmp_path):
    """The demo class's a03 question: answers (perfect's with its plot), the demo mark filled in;
    typing points and comments gives the CSV the gradebook reads back."""
    from pathlib import Path

    from autograder.classroom.policy import read_marks
    from autograder.classroom.review import write_review
    from autograder.core.course import Course

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed")
    root = Path(__file__).resolve().parents[2]
    (page,) = write_review(Course(root), [root / "demo" / "class"], tmp_path, assignment="a03_modules",
                           marks=read_marks([root / "demo" / "marks"]))
    seen = _run_probe(page, REVIEW_PROBE)
    assert seen["cards"] == 6 and seen["images"] == 1 and seen["sideways"] <= 0, seen
    assert seen["labels"][:2] == ["a03-extra-epoch", "perfect"] and seen["prefilled"][1] == "1"
    assert seen["marked"] == "2" and seen["invalid"] == "1" and seen["stored"] == 6
    assert seen["csv"].replace("\r\n", "\n") == seen["shown"].replace("\r\n", "\n")
    (tmp_path / "marks.csv").write_text(seen["csv"], encoding="utf-8")
    marks = {m.student: m for m in read_marks([tmp_path / "marks.csv"])}
    assert set(marks) == {"a03-extra-epoch", "perfect"}  # the invalid 7 points are left out
    assert (marks["a03-extra-epoch"].points, marks["a03-extra-epoch"].comment) == (0.5, 'half, "saturation" only')
    assert marks["perfect"].points == 0 and len(marks["perfect"].answer) == 12


SIMILARITY_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="page" src="%s" style="width:1024px;height:800px;border:0"></iframe>
<script>
document.getElementById("page").onload = function () {
  var d = this.contentDocument, out = {};
  out.flagged = d.querySelectorAll("tr.flagged").length;
  out.rows = d.querySelectorAll("table.pairs tbody tr").length;
  var a = d.getElementById("side-a"), b = d.getElementById("side-b");
  if (a && b) {
    var ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
    out.side_by_side = ra.right <= rb.left + 1 && ra.width > 300 && rb.width > 300;
    out.marks = [a.querySelectorAll("mark").length, b.querySelectorAll("mark").length];
    var m = a.querySelector("mark");
    out.colour = m ? d.defaultView.getComputedStyle(m).backgroundColor : null;
  }
  out.sideways = d.documentElement.scrollWidth - d.documentElement.clientWidth;
  out.text = d.body.innerText;
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
};
</script></body></html>"""


def test_similarity_pages_rank_the_copies_and_show_them_side_by_side(tmp_path):
    from pathlib import Path

    from autograder.classroom.similarity import run
    from autograder.core.course import Course

    from classroom.similar_class import make_class

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed")
    course = Course(Path(__file__).resolve().parents[2])
    make_class(tmp_path / "class", course.assignments["a01_neurons"].student, "a01_neurons", independent=6,
               copies=((0, "all"), (1, "rename")))
    report = run(course, [tmp_path / "class"], tmp_path / "out", jobs=1, lang="en")
    seen = _run_probe(tmp_path / "out" / "index.html", SIMILARITY_PROBE)
    assert seen["flagged"] == 2 and seen["rows"] >= 2 and seen["sideways"] <= 0, seen
    top = report.pairs["a01_neurons"][0]
    pair = _run_probe(tmp_path / "out" / top.page, SIMILARITY_PROBE)
    assert pair["side_by_side"] and min(pair["marks"]) >= 1 and pair["colour"] not in (None, "rgba(0, 0, 0, 0)")
    assert top.a.label in pair["text"] and top.b.label in pair["text"] and pair["sideways"] <= 0
