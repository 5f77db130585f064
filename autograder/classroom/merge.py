"""Class-wide files from every result in a results folder; merging the folders of shards.

``publish`` is the one way the gradebook, grades.csv, junit.xml, report.html and the feedback
pages are written: from *all* results in the folder, not only those of the current run.  So a
run that grades some students (``--student``, a new submission) updates their rows and keeps
everyone else's, and a merge is: copy each shard's per-submission results into one folder, then
``publish`` it, which gives the same files as one machine grading the whole class.

``merge_shards`` checks the shards' manifests (``autograder.classroom.shard``) before copying anything:
shards 0..N-1 each exactly once with the same N, every shard finished, the same grading inputs
(engine, rubrics, options) and the same class, no key graded twice.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .policy import apply_policy
from .results import NOT_MERGED, RESULT_FILE, load_results, write_all
from .shard import ShardError, read_manifest, shard_of


class MergeError(ValueError):
    """Shards that cannot be merged (the message says why)."""


@dataclass
class Published:
    """What ``publish`` wrote: the final results, placeholder rows, roster outsiders."""

    results: list[dict]
    absent: list[dict] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)


def publish(out_dir: Path, *, late=None, overrides=(), roster=None, assignments=None, absent=(),
            lang: str = "ru", feedback: bool = True, titles: dict | None = None, marks=(),
            possible: dict | None = None, weights: dict | None = None) -> Published:
    """Write the class-wide files of ``out_dir`` from every result in it (``load_results``),
    with the TA's marks (``policy.Mark``), the late rule and overrides applied.

    ``roster``: ``roster.Student`` list: placeholder rows for each roster student and assignment
    id of ``assignments`` (the released ones; default: those in the results) without a result;
    ``possible``: points possible of assignments without results (the rubrics').  ``absent``:
    further placeholder rows (missing shards).  ``weights``: the total of grades.csv.
    """
    from .roster import missing_rows, not_on_roster

    results = [apply_policy(r, late, overrides, marks) for r in load_results(out_dir)]
    have = {(r["student"], r.get("assignment")) for r in results}
    rows = [a for a in absent if (a["student"], a["assignment"]) not in have]
    outsiders: list[str] = []
    if roster is not None:
        ids = assignments if assignments is not None else {r["assignment"] for r in results if r.get("assignment")}
        rows += missing_rows(results + rows, roster, sorted(ids), possible)
        outsiders = not_on_roster(results, roster)
    rows.sort(key=lambda r: (r["student"], r["assignment"] or ""))
    write_all(results, out_dir, lang=lang, feedback=feedback, report=feedback, titles=titles,
              absent=rows, roster=roster, weights=weights)
    return Published(results, rows, outsiders)


@dataclass
class Shards:
    """Checked shard folders: ``folders[K]`` holds shard K; ``missing`` the keys not there."""

    count: int
    folders: dict[int, Path]
    manifests: dict[int, dict]
    missing_shards: list[int]
    missing: list[tuple[str, str]]


def _inputs_differ(a: dict, b: dict) -> str:
    parts = []
    for key in ("engine", "options"):
        if a.get(key) != b.get(key):
            parts.append(key)
    ra, rb = a.get("rubrics") or {}, b.get("rubrics") or {}
    parts += [f"rubric {aid}" for aid in sorted(set(ra) | set(rb)) if ra.get(aid) != rb.get(aid)]
    return ", ".join(parts)


def check_shards(folders: list[Path], *, allow_missing: bool = False) -> Shards:
    """Read and check the manifests; MergeError says what is wrong.  With ``allow_missing``, missing
    and unfinished shards are allowed: their keys (known from the class list of a finished shard)
    and keys a finished shard has no result for are listed in ``missing``."""
    manifests: dict[int, dict] = {}
    where: dict[int, Path] = {}
    for folder in map(Path, folders):
        try:
            m = read_manifest(folder)
        except ShardError as exc:
            raise MergeError(str(exc)) from None
        k = m["shard"]
        if k in where:
            raise MergeError(f"shard {k} is given twice: {where[k]} and {folder}")
        manifests[k], where[k] = m, folder
    counts = {m["count"] for m in manifests.values()}
    if len(counts) != 1:
        raise MergeError("the shards split the class differently: "
                         + ", ".join(f"{where[k]} is {k}/{m['count']}" for k, m in sorted(manifests.items())))
    count = counts.pop()
    unfinished = sorted(k for k, m in manifests.items() if not m.get("complete"))
    absent = sorted(set(range(count)) - set(manifests))
    if absent and not allow_missing:
        raise MergeError(f"shard(s) {', '.join(map(str, absent))} of {count} missing "
                         "(grade them, or merge with --allow-missing for a partial gradebook)")
    if unfinished and not allow_missing:
        raise MergeError("shard(s) did not finish: " + ", ".join(f"{k} ({where[k]})" for k in unfinished)
                         + ": run the same 'autograder grade ... --shard K/N' again to complete them")
    finished = {k: m for k, m in manifests.items() if m.get("complete")}
    if not finished:
        raise MergeError("no shard finished: nothing to merge")
    ref = min(finished)
    for k, m in sorted(finished.items()):
        diff = _inputs_differ(finished[ref].get("inputs") or {}, m.get("inputs") or {})
        if diff:
            raise MergeError(f"shards {ref} ({where[ref]}) and {k} ({where[k]}) were graded with "
                             f"different {diff}: regrade one of them with the same course and options")
        if (m.get("class") or {}).get("hash") != (finished[ref].get("class") or {}).get("hash"):
            raise MergeError(f"shards {ref} ({where[ref]}) and {k} ({where[k]}) were graded from different "
                             "classes (submissions added or removed in between): regrade the older shard")
    owner: dict[tuple, int] = {}
    missing = []
    for k, m in sorted(finished.items()):
        for key in map(tuple, m.get("keys") or []):
            if key in owner:
                raise MergeError(f"{key[0]}/{key[1]} was graded by shard {owner[key]} and by shard {k}")
            if shard_of(key[0], key[1], count) != k:
                raise MergeError(f"{where[k]}: {key[0]}/{key[1]} does not belong to shard {k}/{count}")
            owner[key] = k
            if not (where[k] / key[0] / key[1] / RESULT_FILE).is_file():
                if not allow_missing:
                    raise MergeError(f"{where[k]}: no result for {key[0]}/{key[1]} although the shard "
                                     "finished: run the shard again")
                missing.append(key)
    missing += [tuple(key) for key in (finished[ref].get("class") or {}).get("keys") or []
                if shard_of(key[0], key[1], count) not in finished]
    return Shards(count, {k: where[k] for k in finished}, finished, sorted([*absent, *unfinished]),
                  sorted(missing))


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy the regular files of a submission's folder (no links), replacing what ``dst`` had."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in sorted(src.rglob("*")):
        if f.is_symlink() or not f.is_file():
            continue
        target = dst / f.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def copy_results(shards: Shards, out_dir: Path) -> int:
    """Copy the folder of every key a shard graded into ``out_dir``; how many were copied."""
    n = 0
    for k, folder in sorted(shards.folders.items()):
        for student, assignment in map(tuple, shards.manifests[k].get("keys") or []):
            src = folder / student / assignment
            if (src / RESULT_FILE).is_file():
                _copy_tree(src, Path(out_dir) / student / assignment)
                n += 1
    return n


def not_merged_rows(shards: Shards) -> list[dict]:
    """Placeholder rows (status ``shard-missing``) for the keys that are not merged."""
    return [{"student": s, "assignment": a, "notebook": None, "score": 0.0, "max_score": 0.0,
             "status": NOT_MERGED, "errors": [], "tests": []} for s, a in shards.missing]
