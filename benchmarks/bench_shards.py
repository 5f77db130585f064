"""Benchmark: the benchmark class graded as N shards one after another, then merged.

    python benchmarks/bench_shards.py --n 100 --shards 4            # the course's assignments
    python benchmarks/bench_shards.py --tiny --n 100 --shards 4     # a trivial notebook

Each shard is ``autograder grade CLASS --shard K/N`` in a process of its own (what one machine of a
CI matrix or a Slurm array runs), timed alone; then ``autograder merge`` of all shard folders.
Prints the submissions per shard, each shard's wall time, the merge time, and checks that the
merged gradebook has one row per submission.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_class import ROOT, build_class, tiny_course  # noqa: E402


def _autograder(course: Path, *args: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "--course", str(course), *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="submissions in the class (default: %(default)s)")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2, help="-j of each shard (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true", help="a trivial one-function assignment instead")
    ap.add_argument("--sandbox", default="auto", choices=("off", "auto", "required"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ag-bench-shards-") as tmp:
        work = Path(tmp)
        course = tiny_course(work / "course") if args.tiny else ROOT
        kinds = build_class(course, args.n, work / "class")
        print(f"class: {args.n} submissions {kinds}, {args.shards} shards, -j {args.jobs}, --sandbox {args.sandbox}")
        total = 0.0
        for k in range(args.shards):
            out = work / f"shard-{k}"
            seconds = _autograder(course, "grade", str(work / "class"), "--shard", f"{k}/{args.shards}",
                                  "--out", str(out), "-q", "-j", str(args.jobs), "--sandbox", args.sandbox)
            count = len(list(out.glob("*/*/result.json")))
            total += seconds
            print(f"shard {k}/{args.shards}: {count} submissions in {seconds:.1f} s")
        merged = work / "merged"
        seconds = _autograder(course, "merge", *[str(work / f"shard-{k}") for k in range(args.shards)],
                              "--out", str(merged))
        with open(merged / "gradebook.csv", newline="", encoding="utf-8") as fh:
            rows = sum(1 for _ in csv.DictReader(fh))
        print(f"merge: {rows} gradebook rows in {seconds:.1f} s; shards in sequence {total:.1f} s, "
              f"longest shard is the wall time of a parallel run")
        return 0 if rows == args.n else 1


if __name__ == "__main__":
    sys.exit(main())
