"""The course file autograder.toml: every key, errors, flags overriding it, per-assignment deadlines."""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.classroom import batch
from autograder.classroom.policy import LateRules, PolicyError, apply_policy
from autograder.core.config import AssignmentSettings, Config, ConfigError, load
from autograder.engine import grade

ROOT = Path(__file__).resolve().parents[2]

RUBRIC = '''import pytest

@pytest.mark.points(1)
def test_add(submission):
    """add(2, 3) == 5"""
    assert submission.add(2, 3) == 5
'''

FULL = '''
[grading]
jobs = 3
sandbox = "required"
lang = "en"
data = "datasets"
deadline = 2026-12-01T23:59:00+00:00
late_policy = "per-day:10"
overrides = "adjust/overrides.csv"
roster = "roster.csv"

[assignments.a01_one]
deadline = "2026-10-01T23:59+00:00"
late_policy = "zero"

[assignments.a02_two]
late_policy = "none"

[release]
bundle_url = "https://example.org/course.zip"
'''


@pytest.fixture
def course_root(tmp_path) -> Path:
    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    for aid in ("a01_one", "a02_two"):
        (root / "tests" / "grading" / f"{aid}.py").write_text(RUBRIC, encoding="utf-8")
    return root


def write(root: Path, text: str) -> None:
    (root / "autograder.toml").write_text(text, encoding="utf-8")


def test_no_file_gives_the_defaults(course_root):
    cfg = load(course_root)
    assert cfg == Config(root=course_root.resolve())
    assert (cfg.jobs, cfg.sandbox, cfg.lang, cfg.data, cfg.deadline, cfg.late_policy, cfg.overrides,
            cfg.roster, cfg.bundle_url, cfg.assignments) == (None, "auto", "ru", None, None, "none", None,
                                                            None, None, {})


def test_every_key_is_read_and_paths_are_relative_to_the_course_root(course_root, monkeypatch, tmp_path):
    write(course_root, FULL)
    monkeypatch.chdir(tmp_path)  # not the course root: relative paths must not follow the cwd
    cfg = load(course_root)
    root = course_root.resolve()
    assert (cfg.jobs, cfg.sandbox, cfg.lang) == (3, "required", "en")
    assert cfg.data == root / "datasets" and cfg.overrides == root / "adjust" / "overrides.csv"
    assert cfg.roster == root / "roster.csv"
    assert cfg.deadline == "2026-12-01T23:59:00+00:00" and cfg.late_policy == "per-day:10"
    assert cfg.bundle_url == "https://example.org/course.zip"
    assert cfg.assignments == {"a01_one": AssignmentSettings("2026-10-01T23:59+00:00", "zero"),
                               "a02_two": AssignmentSettings(None, "none")}
    assert cfg.source == root / "autograder.toml"


@pytest.mark.parametrize("text, message", [
    ("[grading]\njbos = 2\n", "unknown key grading.jbos"),
    ("[grading]\njobs = 2\n[grade]\nx = 1\n", "unknown table or key 'grade'"),
    ("deadline = 2026-12-01T23:59:00\n", "unknown table or key 'deadline'"),
    ("[assignments.a09_nope]\ndeadline = 2026-12-01T23:59:00\n", "[assignments.a09_nope]: no such assignment"),
    ("[assignments.a01_one]\ndeadlin = 2026-12-01T23:59:00\n", "unknown key assignments.a01_one.deadlin"),
    ("[release]\nurl = 'x'\n", "unknown key release.url"),
    ("[grading]\nsandbox = 'maybe'\n", "grading.sandbox: expected one of off, auto, required"),
    ("[grading]\njobs = 0\n", "grading.jobs: expected a whole number"),
    ("[grading]\nlate_policy = 'weekly'\n", "grading.late_policy: unknown late policy"),
    ("[grading]\ndeadline = 2026-12-01\n", "grading.deadline: give a date and a time"),
    ("[grading]\ndeadline = 'first of december'\n", "grading.deadline: cannot read the time"),
    ("[grading\n", "not valid TOML"),
])
def test_bad_files_are_one_line_errors_naming_the_key(course_root, text, message):
    write(course_root, text)
    with pytest.raises(ConfigError) as info:
        load(course_root)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(course_root / "autograder.toml") in str(info.value)


def test_flags_override_the_file(course_root):
    write(course_root, FULL)
    cfg = load(course_root).override(jobs=1, sandbox=None, lang="ru", data="elsewhere", deadline=None,
                                     late_policy=None, overrides=None, roster=None)
    assert (cfg.jobs, cfg.sandbox, cfg.lang, cfg.data) == (1, "required", "ru", Path("elsewhere"))
    assert cfg.assignments["a01_one"].late_policy == "zero"  # not given: the file's values stay
    # a deadline or late-policy flag holds for every assignment
    flagged = load(course_root).override(deadline="2027-01-01T00:00+00:00", late_policy="none")
    assert flagged.assignments == {"a01_one": AssignmentSettings(), "a02_two": AssignmentSettings()}
    rules = flagged.late_rules()
    assert rules.get("a01_one") == rules.get("a02_two") == rules.default
    assert rules.default.deadline.year == 2027 and rules.default.rule == "none"


def _result(tmp_path, assignment: str, stamp: str) -> dict:
    nb = tmp_path / assignment / "s" / f"{assignment}.ipynb"
    nb.parent.mkdir(parents=True)
    nb.write_text("{}")
    (nb.parent / "timestamp.txt").write_text(stamp + "\n")
    return {"student": "s", "assignment": assignment, "notebook": str(nb), "score": 4.0, "max_score": 10.0,
            "status": "graded", "tests": [{"name": "test_add", "score": 4.0, "max_score": 10.0}]}


def test_each_assignment_is_late_against_its_own_deadline(course_root, tmp_path):
    write(course_root, FULL)
    rules = load(course_root).late_rules()
    assert isinstance(rules, LateRules)
    # submitted 2026-11-15: a01_one (due 1 Oct, zero) is late, a02_two (due 1 Dec) is not
    one = apply_policy(_result(tmp_path, "a01_one", "2026-11-15 12:00:00 UTC"), rules)
    two = apply_policy(_result(tmp_path, "a02_two", "2026-11-15 12:00:00 UTC"), rules)
    assert one["late"]["rule"] == "zero" and one["late"]["days_late"] == 45 and one["score"] == 0.0
    assert two["late"]["days_late"] == 0 and two["score"] == 4.0
    # a02_two late by 2 days: its own rule (none) records it without a penalty; the default is per-day:10
    two = apply_policy(_result(tmp_path / "x", "a02_two", "2026-12-03 10:00:00 UTC"), rules)
    assert two["late"]["days_late"] == 2 and two["score"] == 4.0
    other = apply_policy(_result(tmp_path / "y", "a03_other", "2026-12-03 10:00:00 UTC"), rules)
    assert other["late"]["rule"] == "per-day" and other["score"] == 2.0


def test_a_late_policy_without_any_deadline_is_refused(course_root):
    write(course_root, "[assignments.a01_one]\nlate_policy = 'zero'\n")
    with pytest.raises(PolicyError, match=r"\[assignments.a01_one\] late_policy 'zero' needs a deadline"):
        load(course_root).late_rules()


# ---- through the command line (the engine replaced by a fake that scores from the text) ----------

def fake_grade_notebook(target, course, out_dir, **kw):
    ok = "a + b" in target.path.read_text(encoding="utf-8")
    aid = target.path.stem
    result = {"student": target.student, "assignment": aid, "notebook": str(target.path), "score": 0.0,
              "max_score": 0.0, "status": "graded", "errors": [], "execution": {"seconds": 0.1},
              "import_errors": [], "tests": [{"name": "test_add", "task": "", "description": "", "hidden": False,
                                              "visibility": "visible", "max_score": 1.0, "score": float(ok),
                                              "status": "passed" if ok else "failed", "output": ""}]}
    dest = out_dir / target.student / aid
    dest.mkdir(parents=True, exist_ok=True)
    return grade._finish(result, dest)


@pytest.fixture
def klass(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(batch, "grade_notebook", fake_grade_notebook)
    cls = tmp_path / "class"
    for aid in ("a01_one", "a02_two"):
        nb = nbformat.v4.new_notebook()
        nb.metadata["autograder"] = {"assignment": aid}
        nb.cells = [nbformat.v4.new_code_cell("def add(a, b):\n    return a + b\n")]
        (cls / "ann" / aid).mkdir(parents=True)
        nbformat.write(nb, cls / "ann" / aid / f"{aid}.ipynb")
        (cls / "ann" / aid / "timestamp.txt").write_text("2026-11-15 12:00:00 UTC\n")
    return cls


def _gradebook(out: Path) -> dict:
    return {r["assignment"]: r for r in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}


def test_cli_reads_the_course_file_and_flags_override_it(course_root, klass, tmp_path, capsys):
    (course_root / "adjust").mkdir()
    (course_root / "adjust" / "overrides.csv").write_text(
        "student,assignment,test,points,comment\nann,a02_two,total,+1,бонус\n", encoding="utf-8")
    (course_root / "roster.csv").write_text("id,name,email\nann,Ann,ann@example.org\n", encoding="utf-8")
    write(course_root, FULL.replace('sandbox = "required"', 'sandbox = "off"'))
    base = ["--course", str(course_root), "grade", str(klass), "-q"]
    assert cli.main(base + ["--out", str(tmp_path / "o1")]) == 0
    rows = _gradebook(tmp_path / "o1")
    assert rows["a01_one"]["days_late"] == "45" and rows["a01_one"]["score"] == "0"   # its own deadline, zero
    assert rows["a02_two"]["days_late"] == "0" and rows["a02_two"]["score"] == "2"    # on time, +1 override
    assert "late" in (tmp_path / "o1" / "ann" / "a01_one" / "feedback.html").read_text(encoding="utf-8")
    # flags win: one deadline for both, no penalty
    assert cli.main(base + ["--out", str(tmp_path / "o2"), "--deadline", "2026-11-14T00:00+00:00",
                            "--late-policy", "none"]) == 0
    rows = _gradebook(tmp_path / "o2")
    assert rows["a01_one"]["days_late"] == rows["a02_two"]["days_late"] == "2"
    assert rows["a01_one"]["score"] == "1"


def test_cli_reports_a_bad_course_file_in_one_line(course_root, klass, tmp_path, capsys):
    write(course_root, "[grading]\nlang = 'de'\n")
    assert cli.main(["--course", str(course_root), "grade", str(klass), "-q", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("autograder: ") and "grading.lang" in err and "\n" not in err
    assert not (tmp_path / "o").exists()


def test_the_example_course_file_keeps_the_quickstart_defaults():
    """autograder.toml at the repository root documents every key but changes no default."""
    text = (ROOT / "autograder.toml").read_text(encoding="utf-8")
    cfg = load(ROOT)
    assert cfg.source == ROOT / "autograder.toml"
    defaults = Config(root=ROOT)
    for key in ("jobs", "sandbox", "lang", "deadline", "late_policy", "overrides", "roster", "assignments"):
        assert getattr(cfg, key) == getattr(defaults, key), key
    assert cfg.data in (None, ROOT / "data")  # what grading uses without --data anyway
    assert cfg.late_rules() == LateRules()
    for key in ("jobs", "sandbox", "lang", "data", "deadline", "late_policy", "overrides", "roster",
                "[assignments.", "bundle_url"):
        assert key in text, key


# ---- date-times without seconds, released assignments, weights ----------------------------------

def test_minutes_only_date_times_are_read_as_written(course_root):
    """`deadline = 2026-10-01T23:59` is not TOML 1.0 (it needs seconds): read as the text it means."""
    write(course_root, "[grading]\ndeadline = 2026-12-01T23:59   # minutes only\n"
                       "[assignments.a01_one]\ndeadline = 2026-10-01 23:59+03:00\n"
                       "[assignments.a02_two]\ndeadline = \"2026-10-02T10:00\"\n")
    cfg = load(course_root)
    assert cfg.deadline == "2026-12-01T23:59"
    assert cfg.assignments["a01_one"].deadline == "2026-10-01 23:59+03:00"
    rules = cfg.late_rules()
    assert rules.get("a01_one").deadline.utcoffset().total_seconds() == 3 * 3600
    assert (rules.get("a01_one").deadline.hour, rules.get("a02_two").deadline.hour) == (23, 10)


@pytest.mark.parametrize("text", ["[grading]\ndeadline = 2026-12-01T23:5\n",
                                  "[grading]\ndeadline = 2026-13-01T23:59:00\n"])
def test_an_unreadable_date_says_how_to_write_one(course_root, text):
    write(course_root, text)
    with pytest.raises(ConfigError) as info:
        load(course_root)
    message = str(info.value)
    assert "not valid TOML" in message and "(2026-12-01T23:59:00)" in message and '"2026-12-01T23:59"' in message
    assert "\n" not in message


def test_the_shipped_course_file_and_the_readme_examples_are_valid(tmp_path):
    """The repository's autograder.toml, and the README's example with its comments removed."""
    assert load(ROOT).source == ROOT / "autograder.toml"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("### The course file", 1)[1].split("| key |", 1)[0]
    block = "\n".join(line[4:] for line in example.splitlines() if line.startswith("    "))
    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    for aid in ("a01_neurons", "a02_backprop"):
        (root / "tests" / "grading" / f"{aid}.py").write_text(RUBRIC, encoding="utf-8")
    (root / "autograder.toml").write_text(block, encoding="utf-8")
    import tomllib

    tomllib.loads(block)  # valid TOML 1.0 as written, not only through the lenient reader
    cfg = load(root)
    assert cfg.deadline and cfg.assignments["a01_neurons"].deadline and cfg.released


def test_released_and_weights(course_root):
    write(course_root, "[grading]\nreleased = ['a01_one']\n[assignments.a01_one]\nweight = 30\n"
                       "[assignments.a02_two]\nweight = 0.5\n")
    cfg = load(course_root)
    assert cfg.released == ("a01_one",) and cfg.weights() == {"a01_one": 30.0, "a02_two": 0.5}
    assert load(course_root.parent / "nowhere").released is None
    for text, words in [("[grading]\nreleased = ['a09_nope']\n", "grading.released: no such assignment 'a09_nope'"),
                        ("[grading]\nreleased = 'a01_one'\n", "grading.released: expected a list"),
                        ("[assignments.a01_one]\nweight = -1\n", "assignments.a01_one.weight: expected a number"),
                        ("[assignments.a01_one]\nweight = 'x'\n", "assignments.a01_one.weight: expected a number")]:
        write(course_root, text)
        with pytest.raises(ConfigError, match=words.replace(".", r"\.").replace("(", r"\(")):
            load(course_root)
