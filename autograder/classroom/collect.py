"""Intake of what instructors download: ``autograder collect SOURCE... --out CLASS``.

Turns an LMS's download into the class layout grading reads, one folder per submission with the
submission's own time::

    CLASS/<student>/<assignment>/<assignment>.ipynb     the notebook (and the files handed in beside it)
    CLASS/<student>/<assignment>/timestamp.txt          its time, and where the time came from
    CLASS/students.csv                                  id,name,email,lms,lms_id of every student seen

Sources (the kind is told from the content, never from a name the student chose):

- **Moodle** "Download all submissions" zip: ``Full Name_12345_assignsubmission_file_/a01.ipynb``
  (or, without "download in folders", ``Full Name_12345_assignsubmission_file_a01.ipynb``).  12345 is
  Moodle's participant id (its "Identifier" in the grading worksheet).  Moodle's zip holds no
  submission time (an entry's date is a file time): with ``--worksheet`` (the assignment's
  "Download grading worksheet" CSV) the time is the worksheet's "Last modified (submission)" and
  its e-mail addresses go to ``students.csv``; without it the time is ``unknown`` (never charged).
- **Canvas** submissions zip: ``smithjohn_12345_67890_a01_neurons.ipynb`` (sortable name, user id,
  file id, the file's name), ``smithjohn_late_12345_...`` (or ``LATE``) when Canvas marked it late.
  Canvas's zip holds no submission time either: the time is ``unknown`` and the note says whether
  Canvas marked it late (Canvas applies its own late policy to the grades imported).
- **GitHub Classroom**: a folder of clones (``gh classroom clone student-repos``), or one clone.
  The student is the repository's name without the assignment's prefix (``a01-neurons-anna`` ->
  ``anna``); each notebook is read from git's objects at ``HEAD`` (or, with ``--until``, at the last
  commit before that time), and its time is the committer time of the last commit that changed it.

A student's id is the one the LMS uses (Canvas's user id, the GitHub login; Moodle identifies a
student across assignments only by name: ``roster.name_id``), or, with ``--roster``, the roster's id
of the matching student (by id, else by name).

Nothing the student controls chooses a path: every written name is made here (``safe_name``);
archive entries that are links, directories, encrypted, absolute or with ``..`` are skipped; every
size is checked against a cap before anything is decompressed or read (the entry's declared size,
then a bounded read); the archive and the worksheet are opened without following links
(``engine.intake.read_regular``'s rules); git runs with no hooks, pager or system/global config.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..engine.intake import MAX_NOTEBOOK_BYTES, NEIGHBOUR_LIMIT, SKIP_DIRS, read_regular
from .policy import TIMESTAMP_FILE, UNKNOWN, PolicyError, parse_time
from .roster import Student, find, name_id, name_key

#: an archive larger than this is not opened (a class of 300 with a05's weights is ~2 GB)
MAX_ARCHIVE_BYTES = 16 * 2**30
#: more entries than this and the archive is refused (its directory alone would be a bomb)
MAX_ENTRIES = 200_000
#: the files of one submission beside its notebooks, in all (as grading hands them in)
MAX_SUBMISSION_BYTES = NEIGHBOUR_LIMIT
#: the worksheet CSV
MAX_WORKSHEET_BYTES = 64 * 2**20
#: seconds one git command may run
GIT_TIMEOUT = 60

STUDENTS_FILE = "students.csv"
STUDENTS_COLUMNS = ["id", "name", "email", "lms", "lms_id"]


class CollectError(ValueError):
    """A source that cannot be collected (the message says which and why)."""


@dataclass
class Submission:
    """What one student handed in for one assignment, as the LMS gave it.

    files: (name as handed in, content); time: None when the LMS gives none; note: where the
    time came from, or why there is none (written to the timestamp file, shown in the gradebook)."""

    lms: str
    lms_id: str
    name: str
    files: list[tuple[str, bytes]]
    time: datetime | None
    note: str
    email: str = ""
    student: str = ""            # the class folder's name (``_assign_students``)


@dataclass
class Collected:
    """What ``collect`` wrote: one row per (student, assignment), what it skipped and why."""

    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ safe names and archives

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_name(name: str, default: str = "file") -> str:
    """A file name made from one the student chose: its last path part, without control or path
    characters, never hidden, ``.`` or ``..``, at most 150 characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".")
    if len(base) > 150:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 140] + dot + ext[-9:]) if dot and len(ext) < 10 else base[:150]
    return base or default


def open_archive(path: Path) -> zipfile.ZipFile:
    """The zip at ``path``: a regular file (not through a link), at most ``MAX_ARCHIVE_BYTES``,
    with at most ``MAX_ENTRIES`` entries.  CollectError otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(path):
            raise CollectError(f"{path}: a symbolic link: give the archive itself") from None
        raise CollectError(f"{path}: cannot open: {exc.strerror or exc}") from None
    fh = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ARCHIVE_BYTES:
        fh.close()
        raise CollectError(f"{path}: not a regular file of at most {MAX_ARCHIVE_BYTES // 2**30} GB")
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        fh.close()
        raise CollectError(f"{path}: not a zip archive ({exc})") from None
    if len(zf.infolist()) > MAX_ENTRIES:
        zf.close()
        raise CollectError(f"{path}: more than {MAX_ENTRIES} entries")
    return zf


def refusal(info: zipfile.ZipInfo) -> str:
    """Why an archive entry is never taken ('' when it may be): a link or another non-regular
    file, an encrypted entry, an absolute name, ``..``, a NUL, macOS's metadata."""
    name = info.filename
    mode = info.external_attr >> 16
    if mode and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "a link or special file, refused"
    if info.flag_bits & 0x1:
        return "encrypted, refused"
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path, refused"
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return "a path with '..', refused"
    if parts[0] == "__MACOSX":
        return "macOS metadata"
    return ""


def _entry_parts(info: zipfile.ZipInfo) -> list[str] | None:
    """The path parts of a file entry, or None for a directory or what ``refusal`` refuses."""
    if info.is_dir() or refusal(info):
        return None
    return [p for p in re.split(r"[/\\]", info.filename) if p not in ("", ".")] or None


def _skip(info: zipfile.ZipInfo, lms: str) -> str:
    return f"{info.filename}: {refusal(info) or f'not a {lms} submission file'}"


def read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """An entry's bytes, refused (CollectError) when its declared size is over ``limit`` (before any
    decompression) or when it inflates to more than it declared."""
    if info.file_size > limit:
        raise CollectError(f"{info.filename}: {info.file_size} bytes, more than {limit // 2**20} MB")
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CollectError(f"{info.filename}: cannot be read ({exc})") from None
    if len(data) > limit or len(data) != info.file_size:
        raise CollectError(f"{info.filename}: not the size its directory entry declares")
    return data


def _zip_time(info: zipfile.ZipInfo) -> str:
    try:
        return datetime(*info.date_time).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "?"


def _submission_files(zf, infos, limit: int = MAX_SUBMISSION_BYTES) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(files, skipped) of one submission's entries: notebooks up to ``MAX_NOTEBOOK_BYTES`` each,
    every file within ``limit`` bytes in all."""
    files, skipped, total = [], [], 0
    for info, name in infos:
        cap = MAX_NOTEBOOK_BYTES if name.lower().endswith(".ipynb") else limit
        if total + info.file_size > limit:
            skipped.append(f"{info.filename}: the submission's files exceed {limit // 2**20} MB")
            continue
        try:
            files.append((name, read_entry(zf, info, cap)))
        except CollectError as exc:
            skipped.append(str(exc))
            continue
        total += info.file_size
    return files, skipped


# ------------------------------------------------------------------ Moodle

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$")


def _moodle_key(parts: list[str]) -> tuple[str, str, str, str] | None:
    """(name, participant id, plugin, file name) of a Moodle entry, or None."""
    if len(parts) >= 2:
        m = MOODLE.match(parts[0])
        if m and not m.group("rest"):
            return m.group("name"), m.group("pid"), m.group("plugin"), parts[-1]
    if len(parts) == 1:
        m = MOODLE.match(parts[0])
        if m and m.group("rest"):
            return m.group("name"), m.group("pid"), m.group("plugin"), m.group("rest")
    return None


def moodle_submissions(zf: zipfile.ZipFile, worksheet: dict | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions of a Moodle "Download all submissions" zip (module docstring).

    worksheet: ``read_worksheet``'s ``{participant id: (time, name, email)}``."""
    groups: dict[tuple[str, str], list] = {}
    skipped = []
    for info in zf.infolist():
        parts = _entry_parts(info)
        key = _moodle_key(parts) if parts else None
        if key is None:
            if not info.is_dir() and refusal(info) != "macOS metadata":
                skipped.append(_skip(info, "Moodle"))
            continue
        name, pid, plugin, filename = key
        if plugin != "file":
            continue  # online text, comments: nothing to grade
        groups.setdefault((name, pid), []).append((info, filename))
    subs = []
    for (name, pid), infos in sorted(groups.items()):
        files, bad = _submission_files(zf, infos)
        skipped += bad
        latest = max(_zip_time(i) for i, _ in infos)
        entry = (worksheet or {}).get(pid)
        where = f"moodle: participant {pid}"
        if entry and entry[0] is not None:
            when, note = entry[0], f"{where}; time: the grading worksheet's Last modified (submission)"
        else:
            why = "not in the grading worksheet" if worksheet is not None else "no grading worksheet given"
            when, note = None, (f"{where}; time unknown ({why}); the zip's file time {latest} is not "
                                "the submission time")
        subs.append(Submission("moodle", pid, (entry[1] if entry and entry[1] else name), files, when, note,
                               email=entry[2] if entry else ""))
    return subs, skipped


_MONTHS = {m: i for i, names in enumerate([
    ("january", "jan", "января", "январь", "янв"), ("february", "feb", "февраля", "февраль", "фев"),
    ("march", "mar", "марта", "март", "мар"), ("april", "apr", "апреля", "апрель", "апр"),
    ("may", "мая", "май"), ("june", "jun", "июня", "июнь", "июн"), ("july", "jul", "июля", "июль", "июл"),
    ("august", "aug", "августа", "август", "авг"), ("september", "sep", "sept", "сентября", "сентябрь", "сен"),
    ("october", "oct", "октября", "октябрь", "окт"), ("november", "nov", "ноября", "ноябрь", "ноя"),
    ("december", "dec", "декабря", "декабрь", "дек")], start=1) for m in names}
_MOODLE_DATE = re.compile(r"(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?")


def parse_moodle_date(text: str) -> datetime | None:
    """A date as Moodle prints it (``Tuesday, 1 December 2026, 11:59 PM``, ``вторник, 1 декабря
    2026, 23:59``) or ISO 8601, as local time; None for ``-`` or what is not a date."""
    text = text.strip()
    m = _MOODLE_DATE.search(text)
    if m:
        day, month, year, hour, minute, second, half = m.groups()
        month_no = _MONTHS.get(month.casefold())
        if month_no:
            hour_no = int(hour) % 12 + (12 if half and half.lower() == "pm" else 0) if half else int(hour)
            try:
                return datetime(int(year), month_no, int(day), hour_no, int(minute), int(second or 0)).astimezone()
            except ValueError:
                return None
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        try:
            return parse_time(text)
        except PolicyError:
            return None
    return None


def _column(fields: list[str], *words: str, without: str = "") -> str | None:
    for f in fields:
        low = f.casefold()
        if any(w in low for w in words) and not (without and without in low):
            return f
    return None


def read_worksheet(path: Path) -> dict[str, tuple[datetime | None, str, str]]:
    """Moodle's grading worksheet (English or Russian headers): ``{participant id: (time of the
    last change of the submission, full name, e-mail)}``."""
    try:
        text = read_regular(Path(path), MAX_WORKSHEET_BYTES).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise CollectError(f"{path}: cannot read the grading worksheet: {exc}") from None
    try:
        return _worksheet_rows(csv.DictReader(io.StringIO(text)), path)
    except csv.Error as exc:
        raise CollectError(f"{path}: not a CSV file ({exc})") from None


def _worksheet_rows(reader: csv.DictReader, path: Path) -> dict[str, tuple[datetime | None, str, str]]:
    fields = [f or "" for f in reader.fieldnames or []]
    ident = _column(fields, "identifier", "идентификатор")
    when = _column(fields, "(submission)", "(ответ)", "(представленный ответ)")
    if when is None:
        when = _column(fields, "изменен", without="оцен")
    name, email = _column(fields, "full name", "полное имя"), _column(fields, "email", "почт")
    if ident is None or when is None:
        raise CollectError(f"{path}: not a Moodle grading worksheet (needs the columns Identifier and "
                           "Last modified (submission))")
    found = {}
    for row in reader:
        pid = re.search(r"\d+", row.get(ident) or "")
        if pid:
            found[pid.group(0)] = (parse_moodle_date(row.get(when) or ""), (row.get(name) or "").strip(),
                                   (row.get(email) or "").strip())
    return found


# ------------------------------------------------------------------ Canvas

CANVAS = re.compile(r"^(?:(?P<name>[^_]*?)_)?(?:(?P<late>late)_)?(?P<user>\d+)_(?P<file>\d+)_(?P<orig>.+)$",
                    re.IGNORECASE)


def canvas_submissions(zf: zipfile.ZipFile) -> tuple[list[Submission], list[str]]:
    """The submissions of a Canvas "Download Submissions" zip (module docstring)."""
    groups: dict[str, list] = {}
    meta: dict[str, tuple[str, bool, list[str]]] = {}
    skipped = []
    for info in zf.infolist():
        parts = _entry_parts(info)
        m = CANVAS.match(parts[-1]) if parts and len(parts) == 1 else None
        if m is None:
            if not info.is_dir() and refusal(info) != "macOS metadata":
                skipped.append(_skip(info, "Canvas"))
            continue
        user = m.group("user")
        groups.setdefault(user, []).append((info, m.group("orig")))
        name, late, ids = meta.get(user, (m.group("name") or "", False, []))
        meta[user] = (name or m.group("name") or "", late or bool(m.group("late")), [*ids, m.group("file")])
    subs = []
    for user, infos in sorted(groups.items()):
        files, bad = _submission_files(zf, infos)
        skipped += bad
        name, late, ids = meta[user]
        note = (f"canvas: {'marked LATE' if late else 'not marked late'} by Canvas; user {user}, file "
                f"{', '.join(ids)}; time unknown (Canvas's zip holds none)")
        subs.append(Submission("canvas", user, name, files, None, note))
    return subs, skipped


# ------------------------------------------------------------------ GitHub Classroom

def _git(repo: Path, *args: str, limit: int = 16 * 2**20) -> bytes:
    """``git args`` in ``repo`` with no hooks, pager, replace refs, or system/global config; its
    stdout (at most ``limit`` bytes).  CollectError on failure."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1",
           "GIT_OPTIONAL_LOCKS": "0", "HOME": os.devnull, "LC_ALL": "C"}
    cmd = ["git", "--no-pager", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
           "-c", f"safe.directory={repo}", "--git-dir", str(repo / ".git"), *args]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CollectError(f"{repo}: git {args[0]}: {exc}") from None
    if done.returncode != 0:
        raise CollectError(f"{repo}: git {args[0]}: {done.stderr.decode(errors='replace').strip()[:300]}")
    if len(done.stdout) > limit:
        raise CollectError(f"{repo}: git {args[0]}: more output than {limit // 2**20} MB")
    return done.stdout


def is_repository(folder: Path) -> bool:
    """A clone: ``.git`` is a real folder (a ``.git`` file or link could point anywhere)."""
    try:
        st = os.lstat(folder / ".git")
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode)


def _prefix(names: list[str], course) -> str:
    """The part of GitHub Classroom's repository names before the student's login: the names'
    common prefix up to a ``-``, or an assignment's id (``a01-neurons-``, ``a01_neurons-``)."""
    if len(names) >= 2:
        common = os.path.commonprefix(names)
        cut = common.rfind("-")
        if cut > 0:
            return common[: cut + 1]
    for name in names:
        for aid in (course.assignments if course else ()):
            for form in (aid, aid.replace("_", "-")):
                if name.lower().startswith(form.lower() + "-"):
                    return name[: len(form) + 1]
    return ""


def github_submissions(source: Path, course, until: datetime | None = None,
                       ) -> tuple[list[Submission], list[str]]:
    """The notebooks of a folder of GitHub Classroom clones (or of one clone), each at ``HEAD``
    or at the last commit before ``until``, timed by the last commit that changed it."""
    source = Path(source)
    repos = [source] if is_repository(source) else sorted(
        p for p in source.iterdir() if not p.name.startswith(".") and not p.is_symlink() and is_repository(p))
    if not repos:
        raise CollectError(f"{source}: no git clones in it (GitHub Classroom: a folder of clones; an "
                           "unpacked Moodle or Canvas download: give the zip itself)")
    prefix = _prefix([r.resolve().name for r in repos], course) if len(repos) > 1 or course else ""
    subs, skipped = [], []
    for repo in repos:
        login = repo.resolve().name
        login = login[len(prefix):] if prefix and login.startswith(prefix) and len(login) > len(prefix) else login
        try:
            subs += _repository(repo, login, until, skipped)
        except CollectError as exc:
            skipped.append(str(exc))
    return subs, skipped


def _repository(repo: Path, login: str, until: datetime | None, skipped: list[str]) -> list[Submission]:
    args = ["rev-list", "-1"] + ([f"--before={until.astimezone(timezone.utc).isoformat()}"] if until else []) + ["HEAD"]
    commit = _git(repo, *args).decode().strip()
    if not commit:
        skipped.append(f"{repo}: no commit before {until.isoformat(timespec='minutes')}" if until
                       else f"{repo}: no commits")
        return []
    tree = _git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", commit).split(b"\0")
    blobs: dict[str, list[tuple[str, str, int]]] = {}
    for entry in tree:
        if not entry:
            continue
        head, _, path_b = entry.partition(b"\t")
        mode, kind, obj, size = head.decode().split()
        path = path_b.decode("utf-8", errors="replace")
        parts = path.split("/")
        if any(p.startswith(".") or p in SKIP_DIRS for p in parts):
            continue
        if kind != "blob" or mode not in ("100644", "100755"):
            if path.endswith(".ipynb"):
                skipped.append(f"{repo.name}/{path}: a link or submodule, not taken")
            continue
        blobs.setdefault(os.path.dirname(path), []).append((path, obj, int(size)))
    subs = []
    for folder, entries in sorted(blobs.items()):
        for path, obj, size in entries:
            if not path.endswith(".ipynb"):
                continue
            if size > MAX_NOTEBOOK_BYTES:
                skipped.append(f"{repo.name}/{path}: larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
                continue
            files = [(os.path.basename(path), _git(repo, "cat-file", "blob", obj, limit=MAX_NOTEBOOK_BYTES))]
            total = 0
            for other, other_obj, other_size in entries:
                if other.endswith(".ipynb") or total + other_size > MAX_SUBMISSION_BYTES:
                    continue
                total += other_size
                files.append((os.path.basename(other), _git(repo, "cat-file", "blob", other_obj,
                                                             limit=MAX_SUBMISSION_BYTES)))
            line = _git(repo, "log", "-1", "--format=%H %cI", commit, "--", path).decode().split()
            when = parse_time(line[1]) if len(line) == 2 else None
            note = (f"github: {repo.name}, commit {line[0][:10]} (its committer time)" if when
                    else f"github: {repo.name}; no commit found for {path}")
            subs.append(Submission("github", login, login, files, when, note))
    return subs


# ------------------------------------------------------------------ the class layout

def _notebook_node(data: bytes):
    """The notebook's metadata and cells (enough to recognise it), or None."""
    import nbformat

    try:
        nb = json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        return None
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    cells = [c for c in nb["cells"] if isinstance(c, dict)]
    return nbformat.from_dict({"metadata": meta, "cells": cells})


def _assignment_of(name: str, data: bytes, course, assignment: str | None) -> str | None:
    from ..engine.grade import recognise

    if assignment:
        return assignment
    if course is None:
        return None
    found = recognise(None, Path(name), course) or recognise(_notebook_node(data), Path(name), course)
    return found.id if found else None


def _assign_students(subs: list[Submission], roster: list[Student] | None) -> list[str]:
    """Set each submission's class folder name: the roster's id of the matching student (by the
    LMS id, else by name), else the LMS's (Moodle: the name).  Returns those not on the roster."""
    outside = []
    for s in subs:
        default = name_id(s.name) if s.lms == "moodle" else s.lms_id
        who = None
        if roster is not None:
            who = find(roster, s.lms_id) if s.lms != "moodle" else None
            if who is None and s.lms == "github":
                who = next((r for r in roster if r.get("github", "github_username", "github username").casefold()
                            == s.lms_id.casefold()), None)
            if who is None and s.email:
                who = next((r for r in roster if r.email and r.email.casefold() == s.email.casefold()), None)
            if who is None and s.name:
                who = find(roster, name_id(s.name)) or next(
                    (r for r in roster if r.name and name_key(r.name) == name_key(s.name)), None)
            if who is None:
                outside.append(default)
        s.student = safe_name(who.id if who else default, "student")
    return sorted(set(outside))


def _stamp_text(s: Submission) -> str:
    first = s.time.isoformat(timespec="seconds") if s.time else UNKNOWN
    return f"{first}\n# {s.note}\n"


def _replace_folder(dest: Path, files: dict[str, bytes]) -> bool:
    """Write ``files`` as the folder ``dest`` (whatever it held before is replaced as a whole);
    True when there was one."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".collect-", dir=dest.parent))
    for name, data in files.items():
        (work / name).write_bytes(data)
    existed = dest.exists() or dest.is_symlink()
    if existed:
        trash = Path(tempfile.mkdtemp(prefix=".replaced-", dir=dest.parent))
        os.replace(dest, trash / "old")
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(work, dest)
    return existed


def write_class(subs: list[Submission], out: Path, course=None, assignment: str | None = None) -> list[dict]:
    """Write the submissions as ``out/<student>/<assignment>/`` (module docstring); one row per
    folder written: student, assignment, notebook, time, note, replaced."""
    rows = []
    by_folder: dict[tuple[str, str], dict] = {}
    for s in subs:
        notebooks = [(n, d) for n, d in s.files if n.lower().endswith(".ipynb")]
        others = [(n, d) for n, d in s.files if not n.lower().endswith(".ipynb")]
        for name, data in notebooks:
            aid = _assignment_of(name, data, course, assignment)
            folder = aid or safe_name(Path(name).stem, "notebook")
            entry = by_folder.setdefault((s.student, folder), {"sub": s, "notebooks": [], "others": others,
                                                               "known": aid is not None})
            entry["notebooks"].append((name, data))
    for (student, folder), entry in sorted(by_folder.items()):
        s, notebooks = entry["sub"], entry["notebooks"]
        files: dict[str, bytes] = {}
        for name, data in entry["others"]:
            files.setdefault(safe_name(name), data)
        if len(notebooks) == 1 and entry["known"]:
            files[f"{folder}.ipynb"] = notebooks[0][1]
        else:
            for name, data in notebooks:
                files[safe_name(name, "notebook.ipynb")] = data
        for name in [n for n in files if n == TIMESTAMP_FILE or n.endswith(".timestamp.txt")]:
            files[safe_name("handed-in-" + name)] = files.pop(name)  # the student's own time is not ours
        files[TIMESTAMP_FILE] = _stamp_text(s).encode()
        replaced = _replace_folder(Path(out) / student / folder, files)
        rows.append({"student": student, "assignment": folder if entry["known"] else "?",
                     "notebook": ", ".join(sorted(n for n in files if n.endswith(".ipynb"))),
                     "time": s.time.isoformat(timespec="minutes") if s.time else UNKNOWN,
                     "note": s.note, "replaced": replaced, "lms": s.lms, "lms_id": s.lms_id,
                     "name": s.name, "email": s.email})
    return rows


def update_students(out: Path, rows: list[dict]) -> Path:
    """Add the collected students to ``out/students.csv`` (a roster: id,name,email,lms,lms_id), keeping
    the rows already there and what they say (a name or e-mail added by hand stays)."""
    path = Path(out) / STUDENTS_FILE
    known: dict[str, dict] = {}
    if path.is_file():
        try:
            text = read_regular(path, MAX_WORKSHEET_BYTES).decode("utf-8-sig", errors="replace")
            for row in csv.DictReader(io.StringIO(text)):
                if row.get("id"):
                    known[row["id"]] = {c: row.get(c) or "" for c in STUDENTS_COLUMNS}
        except OSError:
            pass
    for r in rows:
        entry = known.setdefault(r["student"], {c: "" for c in STUDENTS_COLUMNS} | {"id": r["student"]})
        for c in ("name", "email", "lms", "lms_id"):
            if not entry[c] and r.get(c):
                entry[c] = r[c] if c != "lms_id" or r["lms"] != "moodle" else ""  # Moodle's id is per assignment
    from ..core.files import atomic_write_text
    from .results import SHARED_MODE, _CsvWriter

    buf = io.StringIO()
    w = _CsvWriter(buf)
    w.writerow(STUDENTS_COLUMNS)
    for sid in sorted(known):
        w.writerow([known[sid][c] for c in STUDENTS_COLUMNS])
    atomic_write_text(path, buf.getvalue(), mode=SHARED_MODE)
    return path


def sniff(zf: zipfile.ZipFile) -> str | None:
    """``moodle`` or ``canvas`` by the entries' names (most of them must fit), or None."""
    parts = [p for p in (_entry_parts(i) for i in zf.infolist()) if p]
    if not parts:
        return None
    moodle = sum(_moodle_key(p) is not None for p in parts)
    canvas = sum(len(p) == 1 and CANVAS.match(p[0]) is not None for p in parts)
    best = max(moodle, canvas)
    if best * 2 < len(parts):
        return None
    return "moodle" if moodle >= canvas else "canvas"


def collect(sources: list[Path], out: Path, course=None, *, assignment: str | None = None,
            worksheet: Path | None = None, roster: list[Student] | None = None,
            until: datetime | None = None) -> Collected:
    """Collect every source (a Moodle or Canvas zip, a folder of GitHub Classroom clones) into the
    class folder ``out`` (module docstring).  CollectError for a source that is none of these."""
    sheet = read_worksheet(worksheet) if worksheet else None
    done = Collected()
    subs: list[Submission] = []
    for source in map(Path, sources):
        if source.is_dir() and not source.is_symlink():
            found, skipped = github_submissions(source, course, until)
        else:
            zf = open_archive(source)
            with zf:
                kind = sniff(zf)
                if kind == "moodle":
                    found, skipped = moodle_submissions(zf, sheet)
                elif kind == "canvas":
                    found, skipped = canvas_submissions(zf)
                else:
                    raise CollectError(f"{source}: neither a Moodle nor a Canvas submissions zip (Moodle: "
                                       "'Name_12345_assignsubmission_file_/…'; Canvas: 'name_12345_67890_file')")
        subs += found
        done.skipped += [f"{source.name}: {s}" for s in skipped]
    done.not_on_roster = _assign_students(subs, roster)
    done.rows = write_class(subs, Path(out), course, assignment)
    if done.rows:
        update_students(Path(out), done.rows)
    return done
