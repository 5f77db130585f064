"""Command line: ``autograder grade``, ``autograder release``, ``autograder list``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .course import Course, CourseNotFound


def _cmd_grade(args) -> int:
    from .grade import discover, grade_all
    from .results import summary_table, write_all

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
    results = grade_all(targets, course, out, jobs=args.jobs, public_only=args.public_only,
                        data_dir=Path(args.data) if args.data else None, progress=not args.quiet)
    write_all(results, out)
    print(summary_table(results))
    total = sum(r["score"] for r in results)
    possible = sum(r["max_score"] for r in results)
    print(f"\nPoints {total:g}/{possible:g}  ·  gradebook: {out / 'gradebook.csv'}")
    internal = [r for r in results if r["status"] == "error"]
    return 1 if internal else 0


def _cmd_list(args) -> int:
    course = Course.locate(args.course)
    for a in course.assignments.values():
        print(f"{a.id:16} {a.title or ''}")
    return 0


def _cmd_release(args) -> int:
    from .release import release_command

    return release_command(Course.locate(args.course), check=args.check, bundle=args.bundle)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description="Grade neural-network notebooks.")
    parser.add_argument("--course", help="course folder (with tests/grading/); default: found from here")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grade", help="grade notebooks, folders of notebooks or a class folder")
    g.add_argument("paths", nargs="+", metavar="PATH")
    g.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    g.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="parallel submissions")
    g.add_argument("--public-only", action="store_true", help="run only the public tests (students' CI)")
    g.add_argument("--data", help="data folder for tests that need one (e.g. with cifar-10-batches-py)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_grade)

    r = sub.add_parser("release", help="generate assignments/ from solutions/")
    r.add_argument("--check", action="store_true", help="fail if assignments/ is not up to date")
    r.add_argument("--bundle", metavar="DIR", help="also write the student bundle to DIR")
    r.set_defaults(func=_cmd_release)

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
