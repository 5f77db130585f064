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
