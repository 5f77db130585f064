"""Code similarity across a class (MOSS-style), on what each student wrote.

    autograder similarity CLASS [--assignment ID] [--archive DIR ...] --out DIR

**What is compared.**  Per submission, only the code the student wrote: the lines of its code
cells that differ from the released notebook (``assignments/<id>.ipynb``: given code, stubs,
generated check cells), found with ``difflib`` per cell (``student_code``).  On top of that, every
fingerprint of the released notebook and of the reference solution (``solutions/<id>.ipynb``) is
*baseline* and never matches: code that is given, or that is what a correct answer looks like,
is no evidence that two students shared work.  A passage found in more than ``common``
submissions is ignored too (MOSS's ``-m``): everybody's idiom.

**How.**  copydetect (MIT; Lingenfelter) does the MOSS part: Pygments tokens with names, function
and class names and strings replaced by one letter, comments and blank lines dropped
(``filter_code``), so renamed identifiers, added comments and reordered functions do not hide
anything; k-grams of the normalised code winnowed (Schleimer et al. 2003) and compared, with the
matched slices mapped back to the source (``compare_files``).  Its k-gram hash is Python's
``hash``, which changes from one process to the next; ``kgram_hashes`` is a fixed polynomial
hash instead, so the same class gives the same ranking on every run.  Candidate pairs are those
that share at least ``MIN_SHARED`` of the smaller one's fingerprints (an inverted index), so a
class of 500 is not 124,750 comparisons; fingerprinting runs in one process per core.

**Output** (``--out``): ``index.html`` (the ranked pairs per assignment, flagged ones first),
``pairs.csv`` and ``pairs.json`` (every pair with a match), and ``pairs/<assignment>/<rank>.html``
for the top pairs: the two students' code side by side, each matching passage in the same colour
on both sides (click one to jump to its counterpart).  Everything from a submission is escaped.
"""
from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.course import Assignment, Course

#: copydetect's defaults: k-grams of 25 characters of normalised code are fingerprinted, and any
#: match of 30 or more is guaranteed to be seen (window 30 - 25 + 1)
NOISE = 25
GUARANTEE = 30
#: a passage in more than this many submissions is common code (MOSS's -m default)
COMMON = 10
#: a pair is flagged when one of the two has at least this share of its code matched...
FLAG_SHARE = 0.5
#: ...and the match is at least this long (characters of normalised code)
MIN_MATCH = 60
#: pairs sharing less than this share of the smaller one's fingerprints are not compared
MIN_SHARED = 0.05
#: characters of a submission's own code compared at most (tokenising is the cost)
MAX_CODE = 200_000
#: side-by-side pages written per assignment (the top of the ranking)
PAGES = 100


def kgram_hashes(text: str, k: int) -> np.ndarray:
    """A hash of every k-character substring of ``text`` (a polynomial hash mod 2**64, cut to 53
    bits: copydetect's winnowing compares them as floats).  The same on every run."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    base = np.uint64(1_000_003)
    for j in range(k):
        h = h * base + codes[j:j + n]
    return (h >> np.uint64(11)).astype(np.int64)


@dataclass
class Fingerprint:
    """What copydetect's ``compare_files`` reads (the attributes of its ``CodeFingerprint``)."""

    raw_code: str
    filtered_code: str
    offsets: np.ndarray
    hashes: set
    hash_idx: dict
    k: int = NOISE
    token_coverage: float = 0.0

    def drop(self, hashes) -> None:
        """Forget ``hashes`` (common code) and recount the coverage."""
        from copydetect.utils import get_token_coverage

        gone = self.hashes & set(hashes)
        if gone:
            self.hashes -= gone
            for h in gone:
                self.hash_idx.pop(h, None)
        self.token_coverage = get_token_coverage(self.hash_idx, self.k, len(self.filtered_code))


def normalise(code: str) -> tuple[str, np.ndarray]:
    """copydetect's normalised code and the offsets that map it back to ``code``."""
    from copydetect.utils import filter_code

    return filter_code(code, "submission.py", language="python")


def _per_line(code: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(normalised code, each normalised character's position in ``code``, its line number, the
    lines' start positions), from one tokenisation."""
    filtered, offsets = normalise(code)
    at = np.arange(len(filtered))
    if len(offsets) and len(filtered):
        at = at + offsets[:, 1][np.clip(np.searchsorted(offsets[:, 0], at), 0, offsets.shape[0] - 1)]
    at = np.clip(at, 0, max(0, len(code) - 1))
    starts = np.array([0] + [i + 1 for i, ch in enumerate(code) if ch == "\n"], dtype=np.int64)
    return filtered, at, np.searchsorted(starts, at, side="right") - 1, starts


def normalised_lines(code: str) -> list[str]:
    """Each line of ``code`` as copydetect normalises it (names ``V``, functions ``F``, strings
    ``S``; no spaces nor comments)."""
    filtered, _, line_of, starts = _per_line(code)
    parts: dict[int, list[str]] = defaultdict(list)
    for ch, n in zip(filtered, line_of.tolist()):
        parts[n].append(ch)
    return ["".join(parts.get(n, ())) for n in range(len(starts))]


def prepare(code: str, baseline: set[str]) -> tuple[str, str, np.ndarray]:
    """``code`` without the lines whose normalised form is a line of the baseline (the solution,
    the release; what is left is what the student wrote differently, renamed or not), with its
    normalised form and copydetect's offsets (one row per normalised character), from one
    tokenisation.  The ``# cell N`` headers stay, unless their cell lost every line."""
    filtered, at, line_of, starts = _per_line(code)
    raw = code.split("\n")
    parts: dict[int, list[str]] = defaultdict(list)
    for ch, n in zip(filtered, line_of.tolist()):
        parts[n].append(ch)
    norms = ["".join(parts.get(n, ())) for n in range(len(raw))]
    keep = [n for n, line in enumerate(raw) if line.startswith("# cell ") or (norms[n] and norms[n] not in baseline)]
    keep = [n for k, n in enumerate(keep) if not (raw[n].startswith("# cell ") and (
        k + 1 == len(keep) or raw[keep[k + 1]].startswith("# cell ")))]
    new_start, pos = {}, 0
    for n in keep:
        new_start[n] = pos
        pos += len(raw[n]) + 1
    kept = np.isin(line_of, np.array(keep, dtype=np.int64)) if len(filtered) else np.zeros(0, dtype=bool)
    chars = np.flatnonzero(kept)
    lines = line_of[chars]
    new_pos = np.array([new_start[n] for n in lines.tolist()], dtype=np.int64) + (at[chars] - starts[lines])
    new_filtered = "".join(filtered[i] for i in chars.tolist())
    offsets = np.stack([np.arange(len(chars)), new_pos - np.arange(len(chars))], axis=1) if len(chars) \
        else np.zeros((0, 2), dtype=np.int64)
    return "".join(raw[n] + "\n" for n in keep), new_filtered, offsets


def baseline_hashes(code: str) -> np.ndarray:
    """Every k-gram hash of ``code`` (no winnowing): what never matches."""
    filtered, _ = normalise(code)
    return np.unique(kgram_hashes(filtered, NOISE))


def fingerprint(code: str, baseline: np.ndarray, lines: set[str] = frozenset()) -> Fingerprint:
    """Winnowed fingerprints of ``code`` without its ``lines`` baseline lines (``prepare``) and
    without the ``baseline`` hashes (copydetect's ``get_document_fingerprints`` with a stable hash).
    The fingerprint's ``raw_code`` is what is left of ``code``."""
    from copydetect.utils import get_token_coverage, winnow

    raw, filtered, offsets = prepare(code, lines)
    hashes = kgram_hashes(filtered, NOISE)
    if len(hashes):
        hashes, idx = winnow(hashes, GUARANTEE - NOISE + 1, remove_duplicates=False)
    else:
        idx = np.zeros(0, dtype=np.int64)
    keep = ~np.isin(hashes, baseline)
    index: dict[int, list[int]] = defaultdict(list)
    for h, i in zip(hashes[keep].tolist(), idx[keep].tolist()):
        index[h].append(i)
    fp = Fingerprint(raw, filtered, offsets, set(index), dict(index))
    fp.token_coverage = get_token_coverage(fp.hash_idx, NOISE, len(filtered))
    return fp


# ------------------------------------------------------------------ what the student wrote

def _norm(line: str) -> str:
    return " ".join(line.split())


def _code_cells(nb) -> list:
    return [c for c in nb.get("cells") or [] if c.get("cell_type") == "code"]


def student_code(nb, released) -> str:
    """The code of ``nb`` that is not in the released notebook: per code cell, the lines that
    differ from its released version (matched by id, else the most similar released cell), or
    every line of a cell the student added.  Each cell's part starts with ``# cell N`` (its
    number among all cells, markdown included; comments never match)."""
    import difflib

    from ..engine.checkcells import is_generated

    rel_cells = _code_cells(released) if released is not None else []
    by_id = {c.get("id"): c for c in rel_cells if c.get("id")}
    rel_lines = [{_norm(x) for x in str(c.get("source") or "").splitlines()} - {""} for c in rel_cells]
    given = set().union(*rel_lines) if rel_lines else set()
    parts, size = [], 0
    for number, cell in enumerate(nb.get("cells") or [], 1):
        if cell.get("cell_type") != "code" or is_generated(cell):
            continue
        lines = str(cell.get("source") or "").splitlines()
        base = by_id.get(cell.get("id"))
        if base is None and rel_cells:  # no id (Colab, VS Code): the released cell sharing most lines
            mine = {_norm(x) for x in lines} - {""}
            score, k = max(((len(mine & r) / max(1, len(mine | r)), k) for k, r in enumerate(rel_lines)),
                           default=(0.0, -1))
            base = rel_cells[k] if score >= 0.3 else None
        if base is not None:
            ours = [_norm(x) for x in lines]
            theirs = [_norm(x) for x in str(base.get("source") or "").splitlines()]
            kept = []
            for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, ours, theirs, autojunk=False).get_opcodes():
                if tag in ("replace", "delete"):  # lines of ours that the release does not have there
                    kept += lines[i1:i2]
            lines = kept
        lines = [x for x in lines if _norm(x) and _norm(x) not in given]
        if lines:
            parts.append(f"# cell {number}\n" + "\n".join(lines))
            size += len(parts[-1])
            if size > MAX_CODE:  # a flood of code (hostile or generated): its beginning is enough
                break
    return "\n".join(parts)[:MAX_CODE] + ("\n" if parts else "")


def solution_code(assignment: Assignment) -> str:
    """The reference solution's code (markers dropped), or ''."""
    import nbformat

    if assignment.solution is None:
        return ""
    nb = nbformat.read(assignment.solution, as_version=4)
    return "\n".join("\n".join(x for x in c.source.splitlines() if "SOLUTION" not in x)
                     for c in _code_cells(nb))


# ------------------------------------------------------------------ comparing

@dataclass
class Doc:
    """One submission's code: who, where from (the class or an archive), its fingerprint."""

    label: str          # the student, or "<archive>/<student>"
    student: str
    origin: str         # "" for the class, else the archive's folder name
    code: str
    fp: Fingerprint | None = None


@dataclass
class Pair:
    assignment: str
    a: Doc
    b: Doc
    share_a: float
    share_b: float
    matched: int                      # characters of normalised code matched (in a)
    slices: tuple = ()                # (a's slices, b's slices), 2 x n arrays of source positions
    rank: int = 0
    page: str = ""
    flagged: bool = False

    @property
    def share(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class Report:
    """What ``compare`` found, per assignment."""

    pairs: dict[str, list[Pair]] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)   # seconds: read, fingerprint, compare, write


def compare(docs: list[Doc], *, common: int = COMMON, flag_share: float = FLAG_SHARE,
            min_match: int = MIN_MATCH, assignment: str = "") -> tuple[list[Pair], dict]:
    """Every pair of ``docs`` that shares code, best first (archives only against the class)."""
    from copydetect.detector import compare_files

    total = len(docs)
    docs = [d for d in docs if d.fp is not None and d.fp.hashes]
    holders: dict[int, list[int]] = defaultdict(list)
    for n, d in enumerate(docs):
        for h in d.fp.hashes:
            holders[h].append(n)
    frequent = {h for h, ns in holders.items() if common and len({docs[n].label for n in ns}) > common}
    if frequent:
        for d in docs:
            d.fp.drop(frequent)
    shared: Counter = Counter()
    for h, ns in holders.items():
        if h in frequent or len(ns) < 2:
            continue
        for x in range(len(ns)):
            for y in range(x + 1, len(ns)):
                i, j = ns[x], ns[y]
                if docs[i].origin and docs[j].origin:
                    continue  # two archived submissions: not this class's business
                shared[i, j] += 1
    pairs = []
    for (i, j), n in shared.items():
        if n < MIN_SHARED * min(len(docs[i].fp.hashes), len(docs[j].fp.hashes)):
            continue  # too little in common to matter: not compared (nor listed)
        overlap, (sim_i, sim_j), slices = compare_files(docs[i].fp, docs[j].fp)
        if not overlap:
            continue
        a, b = docs[i], docs[j]
        p = Pair(assignment, a, b, float(sim_i), float(sim_j), int(overlap), slices)
        p.flagged = p.share >= flag_share and p.matched >= min_match
        pairs.append(p)
    pairs.sort(key=lambda p: (-p.flagged, -round(p.share, 6), -p.matched, p.a.label, p.b.label))
    for rank, p in enumerate(pairs, 1):
        p.rank = rank
    return pairs, {"submissions": total, "with_own_code": len(docs), "common_passages": len(frequent), "candidates": len(shared),
                   "pairs": len(pairs), "flagged": sum(p.flagged for p in pairs)}


# ------------------------------------------------------------------ reading a class

def collect(course: Course, paths: list[Path], archives: list[Path] = (), assignment: str | None = None
            ) -> dict[str, list[Doc]]:
    """{assignment id: its submissions' code}: the latest notebook of each (student, assignment)
    of the class folders, and of each archive (an earlier term's class folder)."""
    import tempfile

    from ..engine.answers import released_notebook
    from ..engine.grade import discover, read_notebook
    from .batch import grading_options, plan
    from .selection import student_folder

    released = {aid: released_notebook(a) for aid, a in course.assignments.items()}
    found: dict[str, list[Doc]] = defaultdict(list)
    sources = [(Path(p), "") for p in paths] + [(Path(p), Path(p).resolve().name) for p in archives]
    with tempfile.TemporaryDirectory(prefix="ag-similarity-") as tmp:
        for path, origin in sources:
            targets = student_folder(path, discover([path]), course)
            for p in plan(targets, course, Path(tmp), grading_options(False, None), resume=False):
                aid = p.dest.name
                if aid not in course.assignments or (assignment and aid != assignment) or p.target.refused:
                    continue
                nb, _ = read_notebook(p.target.path)
                if nb is None:
                    continue
                student = p.target.student
                found[aid].append(Doc(f"{origin}/{student}" if origin else student, student, origin,
                                      student_code(nb, released[aid])))
    return dict(found)


def _fingerprints(codes: list[str], baseline: np.ndarray, lines: set[str], jobs: int) -> list[Fingerprint]:
    """``fingerprint`` of every code, ``jobs`` processes at a time (tokenising is most of the work)."""
    if jobs <= 1 or len(codes) < 2 * jobs:
        return [fingerprint(c, baseline, lines) for c in codes]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(partial(fingerprint, baseline=baseline, lines=lines), codes,
                             chunksize=max(1, len(codes) // (4 * jobs))))


def run(course: Course, paths: list[Path], out: Path, *, archives: list[Path] = (), assignment: str | None = None,
        common: int = COMMON, flag_share: float = FLAG_SHARE, pages: int = PAGES, lang: str = "ru",
        jobs: int | None = None) -> Report:
    """Compare, and write ``index.html``, ``pairs.csv``, ``pairs.json`` and the pair pages to ``out``.
    ``jobs``: processes that fingerprint (default: the machine's cores)."""
    import os

    jobs = jobs or os.cpu_count() or 1
    start = time.monotonic()
    report = Report()
    found = collect(course, paths, archives, assignment)
    report.phases["read"] = round(time.monotonic() - start, 2)
    for aid, docs in sorted(found.items()):
        a = course.assignments[aid]
        given = "\n".join(str(c.get("source") or "") for c in _code_cells(_released(a))) + "\n" + solution_code(a)
        baseline = baseline_hashes(given)
        lines = set(normalised_lines(given)) - {""}
        at = time.monotonic()
        for d, fp in zip(docs, _fingerprints([d.code for d in docs], baseline, lines, jobs)):
            d.fp, d.code = fp, fp.raw_code
        report.phases["fingerprint"] = report.phases.get("fingerprint", 0) + round(time.monotonic() - at, 2)
        at = time.monotonic()
        report.pairs[aid], report.counts[aid] = compare(docs, common=common, flag_share=flag_share, assignment=aid)
        report.phases["compare"] = report.phases.get("compare", 0) + round(time.monotonic() - at, 2)
    at = time.monotonic()
    report.seconds = round(at - start, 2)  # the comparison's time, shown on the page
    write(report, Path(out), pages=pages, lang=lang, settings={"k": NOISE, "window": GUARANTEE - NOISE + 1,
                                                               "common": common, "flag_share": flag_share,
                                                               "min_match": MIN_MATCH})
    report.phases["write"] = round(time.monotonic() - at, 2)
    report.seconds = round(time.monotonic() - start, 2)
    return report


def _released(a: Assignment):
    from ..engine.answers import released_notebook

    return released_notebook(a) or {"cells": []}


# ------------------------------------------------------------------ output

COLUMNS = ("assignment", "rank", "student_a", "student_b", "share_a", "share_b", "matched", "flagged", "page")


def _row(p: Pair) -> dict:
    return {"assignment": p.assignment, "rank": p.rank, "student_a": p.a.label, "student_b": p.b.label,
            "share_a": round(p.share_a, 4), "share_b": round(p.share_b, 4), "matched": p.matched,
            "flagged": p.flagged, "page": p.page}


def segments(code: str, slices, numbers: list[int]) -> list[tuple[str, int | None]]:
    """``code`` cut into (text, passage number or None) at the matched ``slices`` (2 x n)."""
    out, at = [], 0
    spans = sorted(zip(np.asarray(slices[0]).tolist(), np.asarray(slices[1]).tolist(), numbers))
    for start, end, number in spans:
        start, end = max(start, at), min(end, len(code))
        if start >= end:
            continue
        if start > at:
            out.append((code[at:start], None))
        out.append((code[start:end], number))
        at = end
    if at < len(code):
        out.append((code[at:], None))
    return out


def _to_source(fp: Fingerprint, positions: np.ndarray) -> np.ndarray:
    """Positions in the normalised code -> positions in the source (as ``compare_files`` maps)."""
    if len(fp.offsets) == 0:
        return positions
    where = np.clip(np.searchsorted(fp.offsets[:, 0], positions), 0, fp.offsets.shape[0] - 1)
    return positions + fp.offsets[:, 1][where]


def passage_numbers(p: Pair) -> tuple[list[int], list[int]]:
    """Passage numbers of a's and b's matched slices: a's are 1..n in order; each of b's takes the
    number of the slice of a it shares most fingerprints with (so a passage has one colour)."""
    sa, sb = (np.asarray(s) for s in p.slices)
    na = list(range(1, sa.shape[1] + 1)) if sa.ndim == 2 else []
    if sb.ndim != 2 or not na:
        return na, []
    votes: dict[int, Counter] = defaultdict(Counter)
    for h in p.a.fp.hashes & p.b.fp.hashes:
        for x in _to_source(p.a.fp, np.asarray(p.a.fp.hash_idx[h])):
            ia = int(np.searchsorted(sa[1], x, side="right"))
            for y in _to_source(p.b.fp, np.asarray(p.b.fp.hash_idx[h])):
                ib = int(np.searchsorted(sb[1], y, side="right"))
                if ia < sa.shape[1] and ib < sb.shape[1]:
                    votes[ib][ia] += 1
    nb = [votes[i].most_common(1)[0][0] + 1 if votes[i] else len(na) + i + 1 for i in range(sb.shape[1])]
    return na, nb


STRINGS = {
    "ru": {"title": "Похожий код", "pairs": "Пары", "share": "Доля совпавшего кода", "matched": "Совпало, симв.",
           "flagged": "подозрительно", "student": "Студент", "assignment": "Задание", "rank": "№",
           "page": "сравнение", "submissions": "работ", "none": "Совпадений нет.", "only_top": "показаны первые",
           "settings": "Сравнивается только код, написанный студентом: строки, которых нет в выданном "
                       "ноутбуке; код задания, заготовки, ячейки самопроверки и эталонное решение не "
                       "совпадают никогда; фрагменты, встречающиеся больше чем в {common} работах, "
                       "считаются общими. Нормализация: имена, строки и комментарии не учитываются "
                       "(copydetect, winnowing: k = {k}, окно {window}). «Подозрительно»: у одного из двух "
                       "совпало не меньше {flag}% кода и не меньше {min_match} символов.",
           "back": "к списку пар", "passages": "совпавших фрагментов", "time": "время", "read": "из них чтение",
           "archive": "архив", "common": "общих фрагментов"},
    "en": {"title": "Similar code", "pairs": "Pairs", "share": "Share of matched code", "matched": "Matched, chars",
           "flagged": "suspicious", "student": "Student", "assignment": "Assignment", "rank": "#",
           "page": "compare", "submissions": "submissions", "none": "No matches.", "only_top": "showing the first",
           "settings": "Only the code a student wrote is compared: lines that are not in the released "
                       "notebook; given code, stubs, self-check cells and the reference solution never "
                       "match; passages found in more than {common} submissions are common code. "
                       "Normalised: names, strings and comments do not count (copydetect, winnowing: "
                       "k = {k}, window {window}). Suspicious: one of the two has at least {flag}% of its "
                       "code matched, and at least {min_match} characters.",
           "back": "back to the pairs", "passages": "matched passages", "time": "time", "read": "reading",
           "archive": "archive", "common": "common passages"},
}


def write(report: Report, out: Path, *, pages: int = PAGES, lang: str = "ru", settings: dict | None = None) -> None:
    """``index.html``, ``pairs.csv``, ``pairs.json`` and the pages of the top ``pages`` pairs."""
    from ..core.files import atomic_write_text
    from .reports import _css, _env
    from .results import _CsvWriter

    out.mkdir(parents=True, exist_ok=True)
    t = STRINGS[lang]
    env = _env()
    settings = settings or {}
    for aid, pairs in report.pairs.items():
        for p in pairs[:pages]:
            p.page = f"pairs/{aid}/{p.rank:04d}.html"
            na, nb = passage_numbers(p)
            html = env.get_template("similarity_pair.html.j2").render(
                t=t, lang=lang, css=_css(), p=p, passages=len(na),
                left=segments(p.a.code, p.slices[0], na), right=segments(p.b.code, p.slices[1], nb))
            atomic_write_text(out / p.page, html)
    rows = [_row(p) for aid in sorted(report.pairs) for p in report.pairs[aid]]
    buf = io.StringIO()
    w = _CsvWriter(buf)
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r[c] for c in COLUMNS])
    atomic_write_text(out / "pairs.csv", buf.getvalue())
    atomic_write_text(out / "pairs.json", json.dumps({"settings": settings, "counts": report.counts,
                                                      "seconds": report.seconds, "pairs": rows},
                                                     ensure_ascii=False, indent=1) + "\n")
    text = t["settings"].format(common=settings.get("common", COMMON), k=settings.get("k", NOISE),
                                window=settings.get("window", GUARANTEE - NOISE + 1),
                                flag=round(100 * settings.get("flag_share", FLAG_SHARE)),
                                min_match=settings.get("min_match", MIN_MATCH))
    atomic_write_text(out / "index.html", env.get_template("similarity.html.j2").render(
        t=t, lang=lang, css=_css(), report=report, pages=pages, settings_text=text))


def read_csv(path: Path) -> list[dict]:
    """``pairs.csv`` as dicts (for tests and scripts)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
