"""Command line: ``autograder grade``, ``autograder ci``, ``autograder release``, ``autograder audit``,
``autograder list``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import Course, CourseNotFound


def _policy(args):
    """(LatePolicy or None, overrides) from the grade options; PolicyError on bad input."""
    from .policy import LatePolicy, PolicyError, read_overrides

    late = None
    if args.deadline or (args.late_policy and args.late_policy != "none"):
        if not args.deadline:
            raise PolicyError("--late-policy needs --deadline")
        late = LatePolicy.parse(args.deadline, args.late_policy)
    overrides = []
    if args.overrides:
        if not Path(args.overrides).is_file():
            raise PolicyError(f"no such overrides file: {args.overrides}")
        overrides = read_overrides(Path(args.overrides))
    return late, overrides


def _grade_and_report(args, course, targets, out: Path, *, public_only: bool) -> tuple[int, list[dict]]:
    """Grade, apply the late rule and overrides, write every output; (exit code, results)."""
    from . import sandbox
    from .batch import grade_all
    from .policy import PolicyError, apply_policy, unmatched_overrides
    from .results import summary_table, write_all

    try:
        late, overrides = _policy(args)
    except PolicyError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2, []
    sandbox.ensure_bubblewrap(args.sandbox, say=lambda msg: print(msg, file=sys.stderr))
    try:
        isolation = sandbox.probe(args.sandbox)
    except sandbox.SandboxUnavailable as exc:
        print(f"autograder: --sandbox={args.sandbox}: {exc}", file=sys.stderr)
        return 2, []
    for level, why in sandbox.PROBE_NOTES.items():
        if args.sandbox != "off" and isolation not in sandbox.FULL:
            print(f"autograder: isolation {level} does not work here: {why}", file=sys.stderr)
    stats: dict = {}
    try:
        raw = grade_all(targets, course, out, jobs=args.jobs, public_only=public_only,
                        data_dir=Path(args.data) if args.data else None, progress=not args.quiet,
                        resume=not args.regrade, stats=stats, sandbox=args.sandbox)
    except KeyboardInterrupt:
        print(f"\nautograder: interrupted; finished results are kept in {out}: run the same command "
              "again to grade only what is missing", file=sys.stderr)
        return 130, []
    results = [apply_policy(r, late, overrides) for r in raw]
    for o in unmatched_overrides(overrides, results):
        print(f"autograder: warning: overrides line {o.line}: no graded submission of {o.student!r} "
              f"for {o.assignment!r}", file=sys.stderr)
    titles = {a.id: a.title for a in course.assignments.values() if a.title}
    write_all(results, out, lang=args.lang, feedback=not args.no_feedback, report=not args.no_feedback,
              titles=titles)
    print(summary_table(results))
    weak = sorted({r.get("isolation") for r in results if r.get("isolation") not in (None, *sandbox.FULL)})
    if weak:
        banner = "!" * 78
        print(f"\n{banner}\n{sandbox.WARNING.format(iso=', '.join(weak))}\n{banner}", file=sys.stderr)
    if stats:
        print(f"graded {stats['graded']}, reused {stats['cached']} up-to-date result(s) "
              f"in {stats['seconds']:.1f} s")
    internal = [r for r in results if r["status"] == "error"]
    return (1 if internal else 0), results


def _points_line(results: list[dict], out: Path) -> str:
    total = sum(r["score"] for r in results)
    possible = sum(r["max_score"] for r in results)
    return f"Points {total:g}/{possible:g}  ·  gradebook: {out / 'gradebook.csv'}"


def _cmd_grade(args) -> int:
    from .grade import discover

    course = Course.locate(args.course)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"autograder: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    targets = discover([Path(p) for p in args.paths])
    if not targets:
        print("autograder: no notebooks (.ipynb) found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    out = Path(args.out)
    code, results = _grade_and_report(args, course, targets, out, public_only=args.public_only)
    if results:
        print(f"\n{_points_line(results, out)}  ·  report: {out / 'report.html'}")
    return code


def ci_targets(root: Path, course: Course, student: str, out: Path):
    """The notebooks of a student's repository that belong to an assignment of the course."""
    from .grade import read_notebook, recognise
    from .intake import notebooks_below

    found = []
    out = out.resolve()
    for t in notebooks_below(student, root):
        nb = t.path
        if out == nb.resolve().parent or out in nb.resolve().parents:
            continue
        if t.refused:
            if recognise(None, nb, course) is not None:
                found.append(t)  # graded as refused: the student sees why
            continue
        parsed, _ = read_notebook(nb)
        if recognise(parsed, nb, course) is not None:
            found.append(t)
    return found


def _cmd_ci(args) -> int:
    """Grade a student's repository with the public tests (what the CI workflow runs)."""
    course = Course.locate(args.course)
    root = Path(args.path)
    if not root.is_dir():
        print(f"autograder: no such folder: {root}", file=sys.stderr)
        return 2
    out = Path(args.out)
    student = args.student or os.environ.get("GITHUB_ACTOR") or "student"
    targets = ci_targets(root, course, student, out)
    if not targets:
        print(f"autograder: no assignment notebooks found in {root} (expected one of: "
              f"{', '.join(a + '.ipynb' for a in course.assignments)})", file=sys.stderr)
        return 2
    code, results = _grade_and_report(args, course, targets, out, public_only=not args.all_tests)
    if not results:
        return code
    total = sum(r["score"] for r in results)
    possible = sum(r["max_score"] for r in results)
    print(f"\nPoints {total:g}/{possible:g}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        lines = ["| assignment | points | failed tests |", "|---|---|---|"]
        for r in results:
            failed = ", ".join(t["name"] for t in r["tests"] if t["status"] == "failed") or "—"
            lines.append(f"| {r['assignment']} | {r['score']:g}/{r['max_score']:g} | {failed} |")
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(f"## Points {total:g}/{possible:g}\n\n" + "\n".join(lines) + "\n")
    return code


def _cmd_list(args) -> int:
    course = Course.locate(args.course)
    for a in course.assignments.values():
        print(f"{a.id:16} {a.title or ''}")
    return 0


def _cmd_release(args) -> int:
    from .release import release_command

    return release_command(Course.locate(args.course), check=args.check, bundle=args.bundle)


def _cmd_audit(args) -> int:
    from .audit import audit_command

    return audit_command(Course.locate(args.course), args.assignments, args.out, limit=args.limit,
                         sample=args.sample, seed=args.seed, jobs=args.jobs, sandbox=args.sandbox,
                         resume=not args.regrade, progress=not args.quiet)


def _common(g) -> None:
    """Options shared by ``grade`` and ``ci``."""
    g.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                   help="submissions graded in parallel (default: the machine's cores, %(default)s)")
    g.add_argument("--data", help="data folder for tests that need one (e.g. with cifar-10-batches-py)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    g.add_argument("--sandbox", choices=("off", "auto", "required"), default="auto",
                   help="run student code in the bubblewrap sandbox: auto (if it can start here, else "
                        "process isolation with a warning), required (fail without it), off")
    g.add_argument("--regrade", action="store_true",
                   help="grade everything again (default: reuse results whose notebook, files, rubric "
                        "and grader are unchanged)")
    g.add_argument("--deadline", help="deadline, ISO 8601 local time (2026-12-01T23:59) or with offset")
    g.add_argument("--late-policy", default="none",
                   help="none (record only), zero, or per-day:P (P%% of the maximum per started day); "
                        "submission time: timestamp.txt beside the notebook, else its mtime")
    g.add_argument("--overrides", metavar="CSV",
                   help="manual adjustments: student,assignment,test|total,points,comment "
                        "(points '3' sets, '+1'/'-1' adds)")
    g.add_argument("--lang", choices=("ru", "en"), default="ru", help="language of the HTML pages")
    g.add_argument("--no-feedback", action="store_true", help="skip feedback pages and the class report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Grade neural-network notebooks.")
    parser.add_argument("--course", help="course folder (with tests/grading/); default: found from here")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade notebooks, folders of notebooks or a class folder")
    g.add_argument("paths", nargs="+", metavar="PATH")
    g.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    g.add_argument("--public-only", action="store_true", help="run only the public tests (students' CI)")
    _common(g)
    g.set_defaults(func=_cmd_grade)

    c = sub.add_parser("ci", help="grade a student's repository with the public tests (CI); "
                       "exits non-zero only when grading itself failed")
    c.add_argument("path", nargs="?", default=".", help="repository folder (default: .)")
    c.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    c.add_argument("--student", help="student name in the results (default: $GITHUB_ACTOR or 'student')")
    c.add_argument("--all-tests", action="store_true", help="also the hidden tests (instructor's copy)")
    _common(c)
    c.set_defaults(func=_cmd_ci)

    r = sub.add_parser("release", help="generate assignments/ from solutions/")
    r.add_argument("--check", action="store_true", help="fail if assignments/ is not up to date")
    r.add_argument("--bundle", metavar="DIR", help="also write the student bundle to DIR")
    r.set_defaults(func=_cmd_release)

    au = sub.add_parser("audit", help="grade mutants of the solutions: would the rubric notice a wrong solution?")
    au.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all with a solution)")
    au.add_argument("--out", default="audit-results", help="mutants, results and audit.html (default: %(default)s)")
    au.add_argument("--limit", type=int, metavar="N", help="grade only the first N mutants (of the sample)")
    au.add_argument("--sample", type=int, metavar="N", help="grade N mutants drawn at random with --seed")
    au.add_argument("--seed", type=int, default=0, help="seed of --sample (default: %(default)s)")
    au.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="notebooks graded in parallel")
    au.add_argument("--sandbox", choices=("off", "auto", "required"), default="auto", help="as for grade")
    au.add_argument("--regrade", action="store_true", help="grade again what was already graded")
    au.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    au.set_defaults(func=_cmd_audit)

    ls = sub.add_parser("list", help="list the course's assignments")
    ls.set_defaults(func=_cmd_list)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseNotFound as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
