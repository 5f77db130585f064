"""Run untrusted code (a student's notebook, kernel, worker) in a sandbox with limits.

Isolation levels, best first (``probe`` picks the best that works on this machine):

- ``bwrap+uid``: root runs bubblewrap with new pid/net/ipc/uts namespaces and a whitelist
  read-only root (``/usr``, the Python installation, the venv, the ``autograder`` package), a
  tmpfs ``/tmp``, one writable scratch folder, all capabilities dropped; inside, ``prlimit`` sets
  the limits and ``setpriv`` switches to a dedicated unprivileged uid (one per running sandbox).
- ``bwrap``: not root; bubblewrap in an unprivileged user namespace, same view, own uid kept.
- ``process+uid``: no bubblewrap; a dedicated uid, limits, own session.  Sees the file system.
- ``process``: limits and own session only (the student's code runs with our permissions).

Every level has a wall-clock deadline (the caller kills the tree); the ``+uid`` levels also kill
every process of the leased uid, so nothing the student started survives.
"""
from __future__ import annotations

import fcntl
import functools
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import autograder

FULL = ("bwrap+uid", "bwrap")
MODES = ("off", "auto", "required")
UID_BASE = int(os.environ.get("AUTOGRADER_UID_BASE", "61000"))
UID_COUNT = 1000
_LOCK_DIR = Path(tempfile.gettempdir()) / "autograder-uids"

WARNING = ("WARNING: student code ran WITHOUT the bubblewrap sandbox (isolation={iso}): it could read and "
           "write what the grader can. Install bubblewrap (apt-get install -y bubblewrap) or grade with "
           "--sandbox=required.")


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed process tree."""

    memory_mb: int = 2048     # address space per process (RLIMIT_AS): MemoryError beyond
    cpu_s: int = 600          # CPU seconds per process (RLIMIT_CPU): killed beyond
    nproc: int = 256          # processes + threads of the sandbox uid (RLIMIT_NPROC)
    fsize_mb: int = 512       # largest file it may write (RLIMIT_FSIZE): EFBIG beyond
    nofile: int = 1024        # open files

    @classmethod
    def of(cls, assignment, cpu_s: int | None = None) -> "Limits":
        cfg = assignment.config if hasattr(assignment, "config") else dict(assignment)
        get = (lambda k, d: cfg.get(k, d))
        return cls(memory_mb=int(get("memory_mb", cls.memory_mb)),
                   cpu_s=int(cpu_s if cpu_s is not None else get("cpu_s", cls.cpu_s)),
                   nproc=int(get("max_processes", cls.nproc)),
                   fsize_mb=int(get("file_size_mb", cls.fsize_mb)))

    def prlimit(self) -> list[str]:
        mb = 2**20
        return ["prlimit", f"--as={self.memory_mb * mb}", f"--cpu={self.cpu_s}",
                f"--fsize={self.fsize_mb * mb}", f"--nproc={self.nproc}", f"--nofile={self.nofile}",
                "--core=0", "--"]

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- uids

class UidLease:
    """A dedicated uid held (by an flock) while a sandbox runs; None when not root."""

    def __init__(self, uid: int | None, fd: int | None):
        self.uid, self._fd = uid, fd

    @classmethod
    def acquire(cls) -> "UidLease":
        if os.geteuid() != 0:
            return cls(None, None)
        _LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(_LOCK_DIR)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
            raise SandboxUnavailable(f"{_LOCK_DIR} is not a root-owned folder")
        start = (os.getpid() * 7) % UID_COUNT
        for k in range(UID_COUNT):
            uid = UID_BASE + (start + k) % UID_COUNT
            fd = os.open(_LOCK_DIR / str(uid), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            kill_uid(uid)  # a leftover of a crashed grader
            return cls(uid, fd)
        raise SandboxUnavailable("no free sandbox uid")

    def release(self) -> None:
        if self.uid is not None:
            kill_uid(self.uid)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (kill(-1) as that uid: atomic against forks)."""
    if uid is None or os.geteuid() != 0:
        return
    for _ in range(2):
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        "kill", "-KILL", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_tree(pid: int) -> None:
    """Kill a process and all its descendants."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=5)


def give_scratch(path: Path, uid: int | None) -> None:
    """Hand the scratch folder (recursively, never following links) to the sandbox uid."""
    if uid is None:
        return
    os.chown(path, uid, uid)
    os.chmod(path, 0o711)  # root inside bwrap (no capabilities) must be able to enter it
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    continue  # a hard link to someone else's file: leave it alone
                os.chown(p, uid, uid, follow_symlinks=False)
            except OSError:
                pass


# --------------------------------------------------------------------------- commands

def sandbox_env(home: str, extra: dict | None = None) -> dict:
    """A clean environment (nothing of the instructor's leaks in): quiet, deterministic, 1 thread."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp" if home.startswith("/tmp") else home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(home, ".mpl"),
        "IPYTHONDIR": os.path.join(home, ".ipython"),
        "JUPYTER_RUNTIME_DIR": os.path.join(home, ".jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "TORCH_CPP_LOG_LEVEL": "ERROR",
        "AUTOGRADER_GRADING": "1",  # the notebook's self-check cells do nothing (selfcheck.grading)
    }
    env.update(extra or {})
    return env


def _ro_paths(extra: list[Path]) -> list[str]:
    """What the sandbox sees read-only besides /usr: Python, the venv, our package, extras."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.realpath(os.path.dirname(autograder.__file__))}
    paths.update(os.path.realpath(p) for p in extra if p and os.path.exists(p))
    paths = {p for p in paths if not p.startswith(("/usr/", "/proc", "/dev")) and p not in ("/", "/usr")}
    # drop paths inside other kept paths
    return sorted(p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths))


def _dirs_for(dest: str, made: set) -> list[str]:
    out = []
    parts = Path(dest).parts[1:-1]
    cur = ""
    for part in parts:
        cur += "/" + part
        if cur not in made and cur not in ("/usr", "/tmp"):
            made.add(cur)
            out += ["--perms", "0755", "--dir", cur]
    return out


def bwrap_argv(scratch: Path, *, as_root: bool, ro: list[Path] = ()) -> list[str]:
    argv = ["bwrap", "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if as_root:
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_SETPCAP"]
    else:
        argv += ["--unshare-all"]
    argv += ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
             "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
    for f in ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/mime.types"):
        if os.path.exists(f):
            argv += ["--ro-bind", f, f]
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    made: set = set()
    for p in _ro_paths(list(ro)):
        argv += _dirs_for(p, made) + ["--ro-bind", p, p]
    s = os.path.realpath(scratch)
    argv += _dirs_for(s, made) + ["--bind", s, s, "--chdir", s]
    return argv


def setpriv_argv(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs"]


def command(argv: list[str], isolation: str, scratch: Path, limits: Limits, uid: int | None,
            ro: list[Path] = ()) -> list[str]:
    """The full launch command for ``argv`` under ``isolation``."""
    if isolation == "bwrap+uid":
        return bwrap_argv(scratch, as_root=True, ro=ro) + ["--"] + limits.prlimit() + setpriv_argv(uid) + argv
    if isolation == "bwrap":
        return bwrap_argv(scratch, as_root=False, ro=ro) + ["--"] + limits.prlimit() + argv
    if isolation == "process+uid":
        return limits.prlimit() + setpriv_argv(uid) + argv
    return limits.prlimit() + argv


# --------------------------------------------------------------------------- probing

@functools.lru_cache(maxsize=None)
def _works(isolation: str) -> str | None:
    """None if a trivial Python runs under ``isolation`` here, else why not."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if isolation in FULL and shutil.which("bwrap") is None:
        return "bwrap not installed"
    if isolation.endswith("+uid") and os.geteuid() != 0:
        return "not root"
    if isolation in ("bwrap",) and os.geteuid() == 0:
        return "root uses bwrap+uid"
    for tool in ("prlimit",) + (("setpriv",) if isolation.endswith("+uid") else ()):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    lease = UidLease.acquire()
    scratch = Path(tempfile.mkdtemp(prefix="ag-probe-"))
    try:
        give_scratch(scratch, lease.uid)
        code = "import numpy, autograder.worker; open('probe', 'w').write('ok')"
        cmd = command([sys.executable, "-c", code], isolation, scratch, Limits(), lease.uid)
        try:
            proc = subprocess.run(cmd, cwd=scratch, env=sandbox_env(str(scratch)), stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode != 0 or not (scratch / "probe").exists():
            return (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [f"rc={proc.returncode}"])[-1]
        return None
    finally:
        lease.release()
        shutil.rmtree(scratch, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def probe(mode: str = "auto") -> str:
    """The isolation to use for ``mode`` (off|auto|required); raises SandboxUnavailable."""
    if mode not in MODES:
        raise ValueError(f"--sandbox must be one of {MODES}, not {mode!r}")
    env_iso = os.environ.get("AUTOGRADER_ISOLATION")  # resolved once by the parent process
    if env_iso and mode == "auto":
        return env_iso
    if mode == "off":
        return "process"
    reasons = []
    for iso in FULL:
        why = _works(iso)
        if why is None:
            return iso
        reasons.append(f"{iso}: {why}")
    if mode == "required":
        raise SandboxUnavailable("the bubblewrap sandbox cannot start here (" + "; ".join(reasons) + ")")
    return "process+uid" if _works("process+uid") is None else "process"


# --------------------------------------------------------------------------- running

class Sandboxed:
    """One sandboxed process tree: started with a uid lease, killed entirely by ``kill()``."""

    def __init__(self, argv: list[str], scratch: Path, limits: Limits, isolation: str, *,
                 ro: list[Path] = (), pass_fds: tuple = (), stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env: dict | None = None):
        self.isolation = isolation
        self.lease = UidLease.acquire() if isolation.endswith("+uid") else UidLease(None, None)
        self.home = None
        try:
            give_scratch(scratch, self.lease.uid)
            if isolation in FULL:
                home = "/tmp/home"
            else:
                self.home = tempfile.mkdtemp(prefix="ag-home-")
                give_scratch(Path(self.home), self.lease.uid)
                home = self.home
            cmd = command(argv, isolation, scratch, limits, self.lease.uid, ro)
            if isolation in FULL:  # make HOME inside the tmpfs before anything else
                cmd = cmd[:cmd.index("--")] + ["--perms", "0777", "--dir", home] + cmd[cmd.index("--"):]
            self.proc = subprocess.Popen(cmd, cwd=scratch, env=sandbox_env(home, env), stdin=stdin,
                                         stdout=stdout, stderr=stderr, pass_fds=pass_fds,
                                         start_new_session=True)
        except BaseException:
            self._cleanup()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        """Kill every process the sandbox started (idempotent)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            kill_tree(self.proc.pid)
        self._cleanup()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def _cleanup(self) -> None:
        self.lease.release()  # kills every process of the uid (children that left the session)
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None


def run(argv: list[str], scratch: Path, limits: Limits, isolation: str, *, timeout: float,
        ro: list[Path] = (), env: dict | None = None) -> tuple[int | None, bool, bytes]:
    """Run to completion or deadline; returns (returncode, timed_out, stderr tail)."""
    with tempfile.TemporaryFile() as err:
        box = Sandboxed(argv, scratch, limits, isolation, ro=ro, stderr=err, env=env)
        timed_out = False
        try:
            box.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            rc = box.proc.poll()
            box.kill()
        err.seek(0, 2)
        size = err.tell()
        err.seek(max(0, size - 4000))
        return rc, timed_out, err.read()


def read_file_safely(path: Path, limit: int) -> bytes | None:
    """Read a file the sandbox wrote: never through a link, never more than ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)[:limit]
    finally:
        os.close(fd)
