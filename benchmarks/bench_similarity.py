"""How long ``autograder similarity`` takes on a class of N submissions of one assignment.

    python benchmarks/bench_similarity.py                 # 500 submissions of a01 (496 + 4 copies)
    python benchmarks/bench_similarity.py --n 100 --assignment a03_modules

Builds a synthetic class (``tests/classroom/similar_class.py``: every student fills each stub of
the released notebook with random numpy code of their own and adds three helper functions;
four students are disguised copies of others), runs the comparison, and prints the wall time per
phase, the CPU time of this process, and whether the four copies are the four top-ranked pairs.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "classroom"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="submissions in all (default: %(default)s)")
    ap.add_argument("--assignment", default="a01_neurons")
    ap.add_argument("--keep", metavar="DIR", help="write the class and the output here (default: a temp folder)")
    args = ap.parse_args()

    from similar_class import make_class

    from autograder.classroom.similarity import run
    from autograder.core.course import Course

    course = Course(ROOT)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    made = time.monotonic()
    copies = make_class(base / "class", course.assignments[args.assignment].student, args.assignment,
                        independent=args.n - 4)
    print(f"class of {args.n} written in {time.monotonic() - made:.1f} s: {base / 'class'}")
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, wall = time.process_time(), time.monotonic()
    report = run(course, [base / "class"], base / "out", assignment=args.assignment)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    pairs = report.pairs[args.assignment]
    top = {(p.a.label, p.b.label) for p in pairs[:len(copies)]}
    expected = {tuple(sorted((c, o))) for c, o in copies.items()}
    print(f"submissions {args.n}, pairs with shared code {len(pairs)}, flagged {sum(p.flagged for p in pairs)}")
    print("phases (wall, s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.phases.items()))
    print(f"total: wall {wall:.1f} s, CPU {cpu:.1f} s (with the fingerprinting processes), load average {os.getloadavg()[0]:.1f}")
    print(f"the {len(copies)} copies are the top pairs: {top == {tuple(sorted(p)) for p in expected}}")
    return 0 if top == {tuple(sorted(p)) for p in expected} else 1


if __name__ == "__main__":
    sys.exit(main())
