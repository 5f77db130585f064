"""Command line: ``autograder collect``, ``grade``, ``merge``, ``submissions``, ``export``, ``ci``, ``release``,
``audit``, ``list``, ``new``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .core.course import Course, CourseNotFound, ManualError


def _configure(args, course) -> None:
    """Settle every grading option: ``autograder.toml`` of the course, overridden by the flags given.

    Afterwards ``args.jobs``, ``sandbox``, ``lang``, ``data`` and ``overrides`` hold the effective
    values and ``args.config`` the whole ``config.Config``.  Raises ``config.ConfigError``.
    """
    from .core.config import load

    cfg = load(course.root).override(
        jobs=args.jobs, sandbox=args.sandbox, lang=args.lang, data=args.data, deadline=args.deadline,
        late_policy=args.late_policy, overrides=args.overrides, roster=getattr(args, "roster", None),
        marks=getattr(args, "marks", None))
    args.config = cfg
    args.marks = [str(m) for m in cfg.marks]
    args.jobs = cfg.jobs or os.cpu_count() or 1
    args.sandbox, args.lang = cfg.sandbox, cfg.lang
    args.data = str(cfg.data) if cfg.data else None
    args.overrides = str(cfg.overrides) if cfg.overrides else None
    args.roster = str(cfg.roster) if cfg.roster else None


def _configure_report(args, course) -> None:
    """``_configure`` for commands that only write reports (``merge``): the course file when there
    is a course, the flags over it."""
    from .core.config import Config, load

    base = load(course.root) if course is not None else Config(root=Path.cwd())
    cfg = base.override(lang=args.lang, deadline=args.deadline, late_policy=args.late_policy,
                        overrides=args.overrides, roster=getattr(args, "roster", None),
                        marks=getattr(args, "marks", None))
    args.config, args.lang = cfg, cfg.lang
    args.marks = [str(m) for m in cfg.marks]
    args.overrides = str(cfg.overrides) if cfg.overrides else None
    args.roster = str(cfg.roster) if cfg.roster else None


def _policy(args, course=None, students=None):
    """(LateRules, overrides) from the settled options; PolicyError on bad input, also for an
    override naming a student (of ``students``, when given), assignment or test (of ``course``,
    when given) that does not exist."""
    from .classroom.policy import PolicyError, check_overrides, read_overrides
    from .classroom.rubric import course_tests

    late = args.config.late_rules()
    overrides = []
    if args.overrides:
        if not Path(args.overrides).is_file():
            raise PolicyError(f"no such overrides file: {args.overrides}")
        overrides = read_overrides(Path(args.overrides))
        if course is not None:
            check_overrides(overrides, students=students, tests=course_tests(course))
    return late, overrides


def _marks(args):
    """The TA's marks (``--marks``, ``grading.marks``); PolicyError on bad input."""
    from .classroom.policy import read_marks

    return read_marks(args.marks) if getattr(args, "marks", None) else []


def _known_students(out: Path, roster, *more) -> set[str]:
    """Who an override may name: the students of the class, of the results folder and of the roster."""
    from .classroom.results import load_results

    return {*(r["student"] for r in load_results(out)), *(s.id for s in roster or ()), *more}


def _roster(args):
    """The roster (``--roster``) or None; RosterError on bad input."""
    from .classroom.roster import read_roster

    path = getattr(args, "roster", None)
    return read_roster(Path(path)) if path else None


def _publish(args, course, out: Path, late, overrides, roster, absent=(), marks=()):
    """Write the class-wide files of ``out`` from every result in it; warn about what does not fit."""
    from .classroom.merge import publish
    from .classroom.policy import mark_warnings, unmatched_overrides

    from .classroom.rubric import course_points

    titles = {a.id: a.title for a in course.assignments.values() if a.title} if course else {}
    released = args.config.released
    done = publish(out, late=late, overrides=overrides, roster=roster,
                   assignments=list(released) if released is not None else None, absent=absent,
                   lang=args.lang, feedback=not args.no_feedback, titles=titles, marks=marks,
                   possible=course_points(course) if course else None, weights=args.config.weights())
    for line in mark_warnings(marks, done.results):
        print(f"autograder: warning: marks: {line}", file=sys.stderr)
    for o in unmatched_overrides(overrides, done.results):
        print(f"autograder: warning: overrides line {o.line}: no graded submission of {o.student!r} "
              f"for {o.assignment!r}", file=sys.stderr)
    if done.not_on_roster:
        print(f"autograder: warning: not on the roster, graded anyway: {', '.join(done.not_on_roster)}",
              file=sys.stderr)
    return done


def _grade_and_report(args, course, targets, out: Path, *, public_only: bool) -> tuple[int, list[dict]]:
    """Grade, apply the late rule and overrides, write every output; (exit code, results).

    The class-wide files cover every result in ``out`` (``merge.publish``); the results returned
    are this run's.  With ``--shard K/N`` only that shard is graded and only its per-submission
    results and manifest are written (``autograder merge`` writes the rest)."""
    from .sandbox import isolation as sandbox
    from .classroom import shard as shards
    from .classroom.batch import grade_all
    from .core.config import ConfigError
    from .classroom.policy import PolicyError, apply_policy
    from .classroom.results import summary_table
    from .classroom.roster import RosterError

    try:
        _configure(args, course)
        roster = _roster(args)
        students = _known_students(out, roster, *(t.student for t in targets)) if args.overrides else None
        late, overrides = _policy(args, course, students)
        marks = _marks(args)
        for a in course.assignments.values():
            a.manual_items  # a broken MANUAL list stops here, not in every submission
    except (ConfigError, PolicyError, RosterError, ManualError) as exc:
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
    shard = getattr(args, "shard", None)
    if shard is not None:
        shards.start(out, shard)
    stats: dict = {}
    try:
        raw = grade_all(targets, course, out, jobs=args.jobs, public_only=public_only,
                        data_dir=Path(args.data) if args.data else None, progress=not args.quiet,
                        resume=not args.regrade, stats=stats, sandbox=args.sandbox, select=shard)
    except KeyboardInterrupt:
        print(f"\nautograder: interrupted; finished results are kept in {out}: run the same command "
              "again to grade only what is missing", file=sys.stderr)
        return 130, []
    if shard is not None:
        shards.finish(out, shard, shards.grading_inputs(course, stats["options"]), stats["keys"],
                      stats["selected"])
        results = raw
    else:
        results = [apply_policy(r, late, overrides, marks) for r in raw]
        _publish(args, course, out, late, overrides, roster, marks=marks)
    print(summary_table(results, lang=args.lang))
    weak = sorted({r.get("isolation") for r in results if r.get("isolation") not in (None, *sandbox.FULL)})
    if weak:
        banner = "!" * 78
        print(f"\n{banner}\n{sandbox.WARNING.format(iso=', '.join(weak))}\n{banner}", file=sys.stderr)
    if stats:
        print(f"graded {stats['graded']}, reused {stats['cached']} up-to-date result(s) "
              f"in {stats['seconds']:.1f} s")
    if shard is not None:
        print(f"shard {shard}: {len(results)} of {len(stats['keys'])} submission(s) of the class; "
              f"merge the {shard.count} shard folders with: autograder merge DIR... --out DIR")
    internal = [r for r in results if r["status"] == "error"]
    return (1 if internal else 0), results


def _cmd_grade(args) -> int:
    from .engine.grade import discover

    course = Course.locate(args.course)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"autograder: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    from .classroom.selection import only_students, student_folder

    targets = [t for p in args.paths for t in student_folder(Path(p), discover([Path(p)]), course)]
    if not targets:
        print("autograder: no notebooks (.ipynb) found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    if args.student:
        targets, unknown = only_students(targets, args.student)
        if unknown:
            print(f"autograder: --student: no notebooks of {', '.join(unknown)} in {', '.join(args.paths)}",
                  file=sys.stderr)
            return 2
    out = Path(args.out)
    code, results = _grade_and_report(args, course, targets, out, public_only=args.public_only)
    if results and args.shard is None:  # no class-wide "Points X/Y": a sum over students means nothing (``ci`` prints one)
        print(f"\ngradebook: {out / 'gradebook.csv'}  ·  report: {out / 'report.html'}")
    return code


def _cmd_merge(args) -> int:
    """Combine the results folders of shards into one, and write the class-wide files."""
    from .core.config import ConfigError
    from .classroom.merge import MergeError, check_shards, copy_results, not_merged_rows
    from .classroom.policy import PolicyError
    from .classroom.results import summary_table
    from .classroom.roster import RosterError

    try:
        course = Course.locate(args.course)
    except CourseNotFound:
        if args.course:
            raise
        course = None  # then no assignment titles; the roster's assignments: those in the results
    out = Path(args.out)
    if any(Path(d).resolve() == out.resolve() for d in args.dirs):
        print("autograder merge: --out must be a folder of its own, not one of the shards", file=sys.stderr)
        return 2
    try:
        _configure_report(args, course)
        marks = _marks(args)
        roster = _roster(args)
        shards = check_shards([Path(d) for d in args.dirs], allow_missing=args.allow_missing)
        students = {key[0] for m in shards.manifests.values()
                    for key in [*(m.get("keys") or []), *((m.get("class") or {}).get("keys") or [])]}
        late, overrides = _policy(args, course, _known_students(out, roster, *students))
    except (ConfigError, PolicyError, RosterError, MergeError) as exc:
        print(f"autograder merge: {exc}", file=sys.stderr)
        return 2
    copied = copy_results(shards, out)
    done = _publish(args, course, out, late, overrides, roster, absent=not_merged_rows(shards), marks=marks)
    print(summary_table(done.results))
    print(f"merged {copied} result(s) of {len(shards.folders)} shard(s) of {shards.count}")
    if shards.missing:
        students = sorted({s for s, _ in shards.missing})
        print(f"autograder merge: warning: partial gradebook: shard(s) "
              f"{', '.join(map(str, shards.missing_shards)) or 'none'} missing, {len(shards.missing)} "
              f"submission(s) not merged (status shard-missing), of: {', '.join(students)}", file=sys.stderr)
    print(f"\ngradebook: {out / 'gradebook.csv'}  ·  report: {out / 'report.html'}")
    return 1 if any(r["status"] == "error" for r in done.results) else 0


def _cmd_submissions(args) -> int:
    """Per student and assignment: submitted / graded / missing / late."""
    from .classroom.batch import grading_options, plan
    from .core.config import ConfigError
    from .engine.grade import discover
    from .classroom.policy import PolicyError
    from .classroom.results import _CsvWriter, load_results
    from .classroom.roster import LISTING_COLUMNS, RosterError, listing
    from .classroom.selection import student_folder

    course = Course.locate(args.course)
    try:
        settings = argparse.Namespace(lang=None, deadline=args.deadline, late_policy=None, overrides=None,
                                      roster=args.roster)
        _configure_report(settings, course)
        late, _ = _policy(settings)
        if late.default is None and not late.assignments:
            late = None
        roster = _roster(settings)
    except (ConfigError, PolicyError, RosterError) as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"autograder: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    out = Path(args.out)
    targets = [t for p in args.paths for t in student_folder(Path(p), discover([Path(p)]), course)]
    data = Path(args.data) if args.data else course.data_dir()
    planned = plan(targets, course, out, grading_options(args.public_only, data))
    results = load_results(out)
    released = settings.config.released
    expected = list(released) if released is not None else sorted(
        {p.dest.name for p in planned if p.dest.name in course.assignments}
        | {r["assignment"] for r in results if r.get("assignment")})
    rows = listing(planned, results, expected, roster, late)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = _CsvWriter(fh)  # student names are the students' folder names: no formula cells
            w.writerow(LISTING_COLUMNS)
            for r in rows:
                w.writerow([r[c] for c in LISTING_COLUMNS])
    shown = [c for c in LISTING_COLUMNS if c != "notebook" and (c != "on_roster" or roster is not None)
             and (c not in ("days_late", "note") or late is not None) and (c != "name" or roster is not None)]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in shown}
    print("  ".join(c.ljust(widths[c]) for c in shown))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in shown))
    counts = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    return 0


def _cmd_similarity(args) -> int:
    """Rank the pairs of submissions by the share of student-written code they have in common."""
    from .classroom.similarity import run

    course = Course.locate(args.course)
    missing = [p for p in [*args.paths, *(args.archive or [])] if not Path(p).is_dir()]
    if missing:
        print(f"autograder similarity: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.assignment and args.assignment not in course.assignments:
        print(f"autograder similarity: no assignment {args.assignment!r} (known: {', '.join(course.assignments)})",
              file=sys.stderr)
        return 2
    if not 0 < args.threshold <= 1:
        print("autograder similarity: --threshold is a share between 0 and 1 (e.g. 0.5)", file=sys.stderr)
        return 2
    from .core.config import load

    lang = args.lang or load(course.root).lang
    report = run(course, [Path(p) for p in args.paths], Path(args.out), archives=[Path(a) for a in args.archive or []],
                 assignment=args.assignment, common=args.common, flag_share=args.threshold, pages=args.pages,
                 lang=lang, jobs=args.jobs)
    if not report.pairs:
        print("autograder similarity: no submissions of the course's assignments found in "
              + ", ".join(args.paths), file=sys.stderr)
        return 2
    for aid, pairs in report.pairs.items():
        c = report.counts[aid]
        print(f"{aid}: {c['submissions']} submissions, {c['pairs']} pairs with shared code, {c['flagged']} flagged")
        for p in [p for p in pairs if p.flagged][:10]:
            print(f"  {p.rank:4d}  {p.a.label}  {p.b.label}  {100 * p.share_a:.0f}% / {100 * p.share_b:.0f}%  "
                  f"({p.matched} chars)")
    print(f"compared in {report.seconds:.1f} s; ranked pairs: {Path(args.out) / 'index.html'} "
          f"(and pairs.csv, pairs.json)")
    return 0


def _cmd_review(args) -> int:
    """Review pages for the manually graded items (a points and a comment box per student)."""
    from .classroom.policy import PolicyError
    from .classroom.review import write_review
    from .core.config import ConfigError

    course = Course.locate(args.course)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"autograder review: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    items = {(a.id, i.id) for a in course.assignments.values() for i in a.manual_items}
    if args.assignment and args.assignment not in course.assignments:
        print(f"autograder review: no assignment {args.assignment!r} (known: {', '.join(course.assignments)})",
              file=sys.stderr)
        return 2
    if args.item and not any(i == args.item and (not args.assignment or a == args.assignment) for a, i in items):
        print(f"autograder review: no manually graded item {args.item!r} (known: "
              f"{', '.join(sorted(f'{a}/{i}' for a, i in items)) or 'none'})", file=sys.stderr)
        return 2
    try:
        settings = argparse.Namespace(lang=args.lang, deadline=None, late_policy=None, overrides=None,
                                      roster=None, marks=args.marks)
        _configure_report(settings, course)
        marks = _marks(settings)
    except (ConfigError, PolicyError) as exc:
        print(f"autograder review: {exc}", file=sys.stderr)
        return 2
    pages = write_review(course, [Path(p) for p in args.paths], Path(args.out), assignment=args.assignment,
                         item=args.item, marks=marks, anonymise=args.anonymise, lang=settings.lang)
    for page in pages:
        print(f"wrote {page}")
    if not pages:
        print("autograder review: no manually graded items (MANUAL in tests/grading/<id>.py) to review",
              file=sys.stderr)
        return 2
    print(f"index: {Path(args.out) / 'index.html'}; save the marks from each page and pass them to "
          "autograder grade --marks FILE|DIR (or set grading.marks in autograder.toml)")
    return 0


def _cmd_collect(args) -> int:
    """An LMS's download (Moodle or Canvas zip, GitHub Classroom clones) -> the class layout."""
    from .classroom.collect import CollectError, collect
    from .classroom.policy import PolicyError, parse_time
    from .classroom.roster import RosterError
    from .core.config import ConfigError, load

    try:
        course = Course.locate(args.course)
    except CourseNotFound:
        if args.course:
            raise
        course = None  # then assignments are told by --assignment, or not at all
    try:
        if args.assignment and course is not None and args.assignment not in course.assignments:
            raise CollectError(f"--assignment {args.assignment}: no such assignment (known: "
                               f"{', '.join(course.assignments)})")
        cfg = load(course.root) if course is not None else None
        roster_path = args.roster or (str(cfg.roster) if cfg is not None and cfg.roster else None)
        settings = argparse.Namespace(roster=roster_path)
        roster = _roster(settings)
        until = parse_time(args.until) if args.until else None
        missing = [p for p in args.sources if not Path(p).exists() and not Path(p).is_symlink()]
        if missing:
            raise CollectError(f"no such file or folder: {', '.join(missing)}")
        done = collect([Path(p) for p in args.sources], Path(args.out), course, assignment=args.assignment,
                       worksheet=Path(args.worksheet) if args.worksheet else None, roster=roster, until=until)
    except (CollectError, ConfigError, PolicyError, RosterError) as exc:
        print(f"autograder collect: {exc}", file=sys.stderr)
        return 2
    columns = ["student", "assignment", "notebook", "time", "note"]
    rows = [{c: str(r[c]) for c in columns} for r in done.rows]
    widths = {c: min(40, max([len(c), *(len(r[c]) for r in rows)])) for c in columns[:-1]}
    print("  ".join(c.ljust(widths.get(c, 0)) for c in columns).rstrip())
    for r in rows:
        print("  ".join(r[c][:40].ljust(widths[c]) for c in columns[:-1]) + "  " + r["note"])
    for line in done.skipped:
        print(f"autograder collect: skipped {line}", file=sys.stderr)
    if done.not_on_roster:
        print(f"autograder collect: warning: not on the roster (folders named by the LMS's id): "
              f"{', '.join(done.not_on_roster)}", file=sys.stderr)
    unknown = sum(1 for r in done.rows if r["time"] == "unknown")
    students = len({r["student"] for r in done.rows})
    print(f"\nwrote {len(done.rows)} submission(s) of {students} student(s) to {args.out} "
          f"({sum(r['replaced'] for r in done.rows)} replaced); submission time unknown for {unknown} "
          "(never charged late)")
    if any(r["lms"] == "moodle" and r["time"] == "unknown" for r in done.rows):
        print("Moodle's zip holds no submission times: add --worksheet (the assignment's grading worksheet CSV)")
    if not done.rows:
        print("autograder collect: no notebooks found", file=sys.stderr)
        return 1
    return 0


def _cmd_export(args) -> int:
    """Grades to an LMS's import file, or the assignment's Gradescope autograder."""
    from .classroom.export.gradescope import GradescopeError, build
    from .classroom.export.lms import ExportError, export
    from .classroom.results import load_results
    from .classroom.roster import RosterError
    from .classroom.rubric import course_points
    from .core.config import ConfigError, load

    if args.kind == "gradescope":
        try:
            names = build(Course.locate(args.course), args.assignment, Path(args.out))
        except GradescopeError as exc:
            print(f"autograder export: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.out}: {len(names)} file(s) (setup.sh, run_autograder, requirements.txt, the package, "
              f"the course's {args.assignment}{' and its secret' if any(n.endswith('.autograder-secret') for n in names) else ''}); "
              "upload it as the assignment's autograder on Gradescope (Configure Autograder → zip)")
        return 0
    try:
        course = Course.locate(args.course)
    except CourseNotFound:
        if args.course:
            raise
        course = None
    results_dir = Path(args.results)
    try:
        cfg = load(course.root) if course is not None else None
        roster_path = args.roster or (str(cfg.roster) if cfg is not None and cfg.roster else None)
        roster = _roster(argparse.Namespace(roster=roster_path))
        if not results_dir.is_dir():
            raise ExportError(f"no such results folder: {results_dir}")
        results = load_results(results_dir)
        if not results:
            raise ExportError(f"{results_dir}: no results (grade the class first: autograder grade CLASS --out "
                              f"{results_dir})")
        done = export(args.kind, results, Path(args.out), roster=roster,
                      released=cfg.released if cfg is not None else None,
                      rubric_points=course_points(course) if course is not None else None,
                      weights=cfg.weights() if cfg is not None else None, percent=args.percent,
                      total=args.total, key=args.key, bom=args.bom, delimiter=args.delimiter)
    except (ConfigError, ExportError, RosterError) as exc:
        print(f"autograder export: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {done.path}: {done.rows} student(s)")
    if done.failed:
        print(f"autograder export: warning: grading failed, left empty (regrade them): {', '.join(done.failed)}",
              file=sys.stderr)
    if done.left_out:
        need = {"canvas": "a Canvas ID (a numeric folder name, or the roster's ID / SIS User ID / SIS Login ID)",
                "moodle": f"the roster's {'e-mail' if args.key == 'email' else 'ID number'}"}[args.kind]
        print(f"autograder export: left out, no {need}: {', '.join(done.left_out)}", file=sys.stderr)
        return 1
    return 0


def ci_targets(root: Path, course: Course, student: str, out: Path):
    """The notebooks of a student's repository that belong to an assignment of the course."""
    from .engine.grade import read_notebook, recognise
    from .engine.intake import notebooks_below

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
    from .authoring.release import NoCourseHere, release_command, working_course

    try:
        course = working_course(args.course)
    except NoCourseHere as exc:
        print(f"autograder release: {exc}", file=sys.stderr)
        return 2
    return release_command(course, check=args.check, bundle=args.bundle, dry_run=args.dry_run)


def _cmd_new(args) -> int:
    from .authoring.release import NoCourseHere, working_course
    from .authoring.scaffold import ScaffoldError, new_assignment

    try:
        course = working_course(args.course)
        written = new_assignment(course.root, args.assignment_id, title=args.title)
    except (NoCourseHere, ScaffoldError) as exc:
        print(f"autograder new: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"next: edit them, then run `autograder release` in {course.root}")
    return 0


def _cmd_audit(args) -> int:
    from .authoring.audit import audit_command

    return audit_command(Course.locate(args.course), args.assignments, args.out, limit=args.limit,
                         sample=args.sample, seed=args.seed, jobs=args.jobs, sandbox=args.sandbox,
                         resume=not args.regrade, progress=not args.quiet)


def _common(g) -> None:
    """Options shared by ``grade`` and ``ci`` (flags override the course's ``autograder.toml``)."""
    # every default here is None: the value then comes from autograder.toml, else config.Config
    g.add_argument("--jobs", "-j", type=int,
                   help="submissions graded in parallel (default: the machine's cores)")
    g.add_argument("--data", help="data folder for tests that need one (e.g. with cifar-10-batches-py)")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    g.add_argument("--sandbox", choices=("off", "auto", "required"),
                   help="run student code in the bubblewrap sandbox: auto (default: if it can start here, "
                        "else process isolation with a warning), required (fail without it), off")
    g.add_argument("--regrade", action="store_true",
                   help="grade everything again (default: reuse results whose notebook, files, rubric "
                        "and grader are unchanged)")
    _report_options(g)


def _report_options(g) -> None:
    """Options of the class-wide files: shared by ``grade``, ``ci`` and ``merge``."""
    g.add_argument("--deadline", help="deadline of every assignment, ISO 8601 local time (2026-12-01T23:59) "
                                      "or with offset (default: autograder.toml)")
    g.add_argument("--late-policy",
                   help="none (default: record only), zero, or per-day:P (P%% of the maximum per started day); "
                        "submission time: timestamp.txt beside the notebook, else its mtime")
    g.add_argument("--overrides", metavar="CSV",
                   help="manual adjustments: student,assignment,test|total,points,comment "
                        "(points '3' sets, '+1'/'-1' adds)")
    g.add_argument("--marks", action="append", metavar="CSV|DIR",
                   help="the TA's marks of manually graded items (CSVs saved from 'autograder review', or "
                        "a folder of them; repeatable): merged on every run, without regrading")
    g.add_argument("--lang", choices=("ru", "en"),
                   help="language of the feedback pages, the class report and the printed notes "
                        "(default: ru, or autograder.toml)")
    g.add_argument("--no-feedback", action="store_true", help="skip feedback pages and the class report")


def _shard(text: str):
    from .classroom.shard import Shard, ShardError

    try:
        return Shard.parse(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


PATHS_HELP = ("a notebook (the student is its folder's name), a folder of <student>.ipynb files, or a "
              "class folder CLASS/<student>/<assignment>.ipynb; several may be given")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograder", description="Grade neural-network notebooks: a class, a student's repository, "
        "or one notebook; release student notebooks from solutions.",
        epilog="The course (a folder with tests/grading/<id>.py and solutions/<id>.ipynb): for grade, ci and "
        "list --course DIR, else $AUTOGRADER_COURSE, else the nearest such folder from the current one "
        "upwards, else the course installed with the package; release and new write, so they use only "
        "--course DIR or the nearest such folder.")
    parser.add_argument("--course", metavar="DIR",
                        help="course folder (with tests/grading/); default: found from the current folder")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    co = sub.add_parser("collect", help="turn an LMS's download into a class folder (one time per submission)",
                        description="Write CLASS/<student>/<assignment>/<assignment>.ipynb and its timestamp.txt "
                        "from a Moodle 'Download all submissions' zip, a Canvas submissions zip, or a folder of "
                        "GitHub Classroom clones; students keep the LMS's id (CLASS/students.csv lists them).")
    co.add_argument("sources", nargs="+", metavar="SOURCE", help="a Moodle or Canvas zip, or a folder of git clones")
    co.add_argument("--out", required=True, metavar="CLASS", help="the class folder to write (added to)")
    co.add_argument("--assignment", metavar="ID", help="the assignment of every notebook (default: recognised "
                    "from each notebook's metadata, name or definitions)")
    co.add_argument("--worksheet", metavar="CSV", help="Moodle: the assignment's grading worksheet, for the "
                    "submission times and e-mail addresses")
    co.add_argument("--roster", metavar="CSV", help="name the folders by this roster's ids (default: "
                    "autograder.toml's roster)")
    co.add_argument("--until", metavar="TIME", help="GitHub: take each repository as at its last commit "
                    "before TIME (ISO 8601; default: HEAD)")
    co.set_defaults(func=_cmd_collect)

    g = sub.add_parser("grade", help="grade notebooks, folders of notebooks or a class folder",
                       description="Grade submissions with every test (public and hidden), in parallel and "
                       "resumably; writes the gradebook, feedback pages and the class report to --out.")
    g.add_argument("paths", nargs="+", metavar="PATH", help=PATHS_HELP)
    g.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    g.add_argument("--public-only", action="store_true", help="run only the public tests (students' CI)")
    g.add_argument("--student", action="append", metavar="NAME",
                   help="grade only this student (repeatable); everyone else's results in --out are kept")
    g.add_argument("--shard", type=_shard, metavar="K/N",
                   help="grade only part K of N (0 <= K < N) and write its manifest; the late rule, "
                        "overrides, roster and class-wide files are applied by 'autograder merge'")
    g.add_argument("--roster", metavar="CSV", help="class roster (id,name,email): every student on it "
                   "gets a row per assignment, 0 and 'missing' when absent")
    _common(g)
    g.set_defaults(func=_cmd_grade)

    m = sub.add_parser("merge", help="combine the results folders of 'grade --shard K/N' into one gradebook")
    m.add_argument("dirs", nargs="+", metavar="DIR", help="the shards' results folders (all N of them)")
    m.add_argument("--out", required=True, help="the merged results folder")
    m.add_argument("--allow-missing", action="store_true",
                   help="merge what is there: the gradebook lists the submissions of missing or "
                        "unfinished shards as shard-missing")
    m.add_argument("--roster", metavar="CSV", help="class roster (id,name,email), as for grade")
    _report_options(m)
    m.set_defaults(func=_cmd_merge)

    s = sub.add_parser("submissions", help="per student and assignment: submitted, graded, missing, late")
    s.add_argument("paths", nargs="+", metavar="PATH", help="the class folder (as for grade)")
    s.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    s.add_argument("--roster", metavar="CSV", help="class roster (id,name,email)")
    s.add_argument("--deadline", help="deadline (as for grade): adds the days late")
    s.add_argument("--data", help="the --data folder the class was graded with")
    s.add_argument("--public-only", action="store_true", help="the class was graded with --public-only")
    s.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    s.set_defaults(func=_cmd_submissions)

    ex = sub.add_parser("export", help="grades to an LMS's import file; the assignment's Gradescope autograder",
                        description="canvas|moodle|csv RESULTS --out FILE: the file the LMS imports, from a results "
                        "folder (final scores, 0 for released work a roster student did not hand in). "
                        "gradescope ASSIGNMENT --out autograder.zip: the autograder Gradescope runs.")
    kinds = ex.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, what in (("canvas", "Canvas's gradebook CSV (identity columns, a Points Possible row)"),
                       ("moodle", "Moodle's grade import CSV, keyed by e-mail or ID number"),
                       ("csv", "a spreadsheet: student, name, email, assignments, total; points possible first")):
        k = kinds.add_parser(kind, help=what, description=what)
        k.add_argument("results", metavar="RESULTS", help="the results folder of autograder grade")
        k.add_argument("--out", required=True, metavar="FILE", help="the CSV file to write")
        k.add_argument("--roster", metavar="CSV", help="the class roster, or the LMS's own gradebook export "
                       "(default: autograder.toml's roster)")
        k.add_argument("--percent", action="store_true", help="scores in percent of each assignment's points")
        k.add_argument("--bom", action="store_true", help="Excel-safe UTF-8: a byte order mark first")
        k.add_argument("--delimiter", default=",", help="the separator (Excel in locales with a decimal comma: ';')")
        k.add_argument("--total", action="store_true", default=kind == "csv",
                       help="a total column (weights: [assignments.<id>] weight in autograder.toml)")
        if kind == "moodle":
            k.add_argument("--key", choices=("email", "idnumber"), default="email",
                           help="the column Moodle matches students by: Email address or ID number "
                                "(default: %(default)s)")
        k.set_defaults(func=_cmd_export, key="email")
    gs = kinds.add_parser("gradescope", help="the Gradescope autograder zip of one assignment",
                          description="setup.sh, run_autograder, requirements.txt, the package and the course's "
                          "assignment (rubric with its hidden tests, solution, data, secret): the same rubric "
                          "grades on Gradescope and writes /autograder/results/results.json.")
    gs.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id, e.g. a01_neurons")
    gs.add_argument("--out", default="autograder.zip", help="the zip to write (default: %(default)s)")
    gs.set_defaults(func=_cmd_export)

    c = sub.add_parser("ci", help="grade a student's repository with the public tests (CI)",
                       description="Grade the assignment notebooks of a student's repository with the public "
                       "tests (what ci-templates/student-repo.yml runs); prints 'Points X/Y'. Exits 1 only when "
                       "grading itself failed and 2 when there was nothing to grade, never because a test failed.")
    c.add_argument("path", nargs="?", default=".", metavar="PATH", help="repository folder (default: .)")
    c.add_argument("--out", default="autograder-results", help="results folder (default: %(default)s)")
    c.add_argument("--student", help="student name in the results (default: $GITHUB_ACTOR or 'student')")
    c.add_argument("--all-tests", action="store_true", help="also the hidden tests (instructor's copy)")
    _common(c)
    c.set_defaults(func=_cmd_ci)

    r = sub.add_parser("release", help="generate assignments/ from solutions/",
                       description="Write assignments/<id>.ipynb (the student notebooks) from "
                       "solutions/<id>.ipynb of the course of the current folder (or --course DIR).")
    r.add_argument("--check", action="store_true", help="fail if assignments/ is not up to date (writes nothing)")
    r.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
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

    sm = sub.add_parser("similarity", help="rank pairs of submissions by shared student-written code (MOSS-style)",
                        description="Compare the code each student wrote (what differs from the released "
                        "notebook; given code, stubs, check cells and the reference solution never match), "
                        "normalised and winnowed (copydetect), for every pair of submissions of an assignment; "
                        "write the ranked pairs (index.html, pairs.csv, pairs.json) and a side-by-side page "
                        "per top pair.")
    sm.add_argument("paths", nargs="+", metavar="CLASS", help="the class folder(s), as for grade")
    sm.add_argument("--out", default="similarity", help="output folder (default: %(default)s)")
    sm.add_argument("--assignment", metavar="ID", help="only this assignment (default: every one found)")
    sm.add_argument("--archive", action="append", metavar="DIR",
                    help="an earlier term's class folder to compare against (repeatable)")
    sm.add_argument("--threshold", type=float, default=0.5,
                    help="flag a pair when one of the two has this share of its code matched (default: %(default)s)")
    sm.add_argument("--common", type=int, default=10,
                    help="ignore passages found in more than N submissions (0: never; default: %(default)s)")
    sm.add_argument("--pages", type=int, default=100, help="side-by-side pages per assignment (default: %(default)s)")
    sm.add_argument("--jobs", "-j", type=int, help="processes that fingerprint (default: the machine's cores)")
    sm.add_argument("--lang", choices=("ru", "en"), help="language of the pages (default: ru, or autograder.toml)")
    sm.set_defaults(func=_cmd_similarity)

    rv = sub.add_parser("review", help="review pages for manually graded items: answers, points and comments",
                        description="Write one self-contained page per manually graded item (the rubric's "
                        "MANUAL list): every student's answer with its plots, a points box and a comment box; "
                        "the page saves the marks as a CSV that 'autograder grade --marks' merges.")
    rv.add_argument("paths", nargs="+", metavar="PATH",
                    help="a results folder of 'autograder grade' (the executed notebooks, with their plots) "
                         "or the class folder (the notebooks as handed in)")
    rv.add_argument("--out", default="review", help="folder of the pages (default: %(default)s)")
    rv.add_argument("--assignment", metavar="ID", help="only this assignment's items")
    rv.add_argument("--item", metavar="ID", help="only this item")
    rv.add_argument("--anonymise", "--anonymize", action="store_true",
                    help="show students as 'Student N' in a shuffled order (blind marking)")
    rv.add_argument("--marks", action="append", metavar="CSV|DIR",
                    help="marks already given (filled in; default: grading.marks of autograder.toml)")
    rv.add_argument("--lang", choices=("ru", "en"), help="language of the pages (default: ru, or autograder.toml)")
    rv.set_defaults(func=_cmd_review)

    ls = sub.add_parser("list", help="list the course's assignments",
                        description="Print each assignment's id and title (from tests/grading/<id>.py).")
    ls.set_defaults(func=_cmd_list)

    n = sub.add_parser("new", help="create a new assignment: a solution notebook and a rubric",
                       description="Create solutions/<id>.ipynb (a title, an imports cell, one example task "
                       "with a SOLUTION region) and tests/grading/<id>.py (ASSIGNMENT and one example test) "
                       "in the course of the current folder (or --course DIR).")
    n.add_argument("assignment_id", metavar="ASSIGNMENT_ID", help="aNN_slug, e.g. a06_conv")
    n.add_argument("--title", default="", help="the assignment's title (Russian); default: the id")
    n.set_defaults(func=_cmd_new)
    return parser


def main(argv=None) -> int:
    from .core.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CourseNotFound, ConfigError, ManualError) as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
