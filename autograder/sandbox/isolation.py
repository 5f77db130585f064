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


# --------------------------------------------------------------------------- the sandbox's view
# Inside bubblewrap the grader's installation appears at neutral paths, so nothing of the host's
# layout (where the course repository, the venv or pyenv live) is visible to student code:
#   /opt/python      the base interpreter's prefix (when it is not under /usr)
#   /opt/venv        the venv: lib/, share/, etc/, a generated pyvenv.cfg and bin/python*
#   /opt/autograder  the folder holding the ``autograder`` package (on PYTHONPATH)
#   /opt/data        read-only data (``--data``), also in $AUTOGRADER_DATA
# Files of an editable install that name host paths are hidden (an empty file is bound over them).
VIEW_PYTHON, VIEW_VENV, VIEW_PACKAGE, VIEW_DATA = "/opt/python", "/opt/venv", "/opt/autograder", "/opt/data"


@dataclass(frozen=True)
class View:
    """How the host's installation is mapped into the sandbox (computed once per process)."""

    binds: tuple            # (host path, sandbox path) read-only binds, outermost first
    hidden: tuple           # sandbox paths covered with /dev/null
    symlinks: tuple         # (target, sandbox path)
    python: str             # the interpreter to run inside
    env: tuple              # (name, value) added to the sandbox's environment


def _python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@functools.lru_cache(maxsize=1)
def view() -> View:
    base = os.path.realpath(sys.base_prefix)
    venv = os.path.realpath(sys.prefix) if sys.prefix != sys.base_prefix else None
    package = os.path.dirname(os.path.realpath(os.path.dirname(autograder.__file__)))
    binds, hidden, symlinks = [], [], []
    under_usr = base == "/usr" or base.startswith("/usr/")
    py = f"python{_python_version()}"
    base_in = base if under_usr else VIEW_PYTHON
    if not under_usr:
        binds.append((base, VIEW_PYTHON))
    python = f"{base_in}/bin/{py}"
    if venv is not None:
        for sub in ("lib", "lib64", "share", "etc"):
            host = os.path.join(venv, sub)
            if os.path.isdir(host) and not os.path.islink(host):
                binds.append((host, f"{VIEW_VENV}/{sub}"))
        site = os.path.join(venv, "lib", py, "site-packages")
        for name in sorted(os.listdir(site)) if os.path.isdir(site) else []:
            if name.startswith("__editable__"):
                hidden.append(f"{VIEW_VENV}/lib/{py}/site-packages/{name}")
            elif name.endswith(".dist-info") and os.path.exists(os.path.join(site, name, "direct_url.json")):
                hidden.append(f"{VIEW_VENV}/lib/{py}/site-packages/{name}/direct_url.json")
        for name in ("python", "python3", py):
            symlinks.append((f"{base_in}/bin/{py}", f"{VIEW_VENV}/bin/{name}"))
        python = f"{VIEW_VENV}/bin/python3"
    binds.append((os.path.join(package, "autograder"), f"{VIEW_PACKAGE}/autograder"))
    return View(tuple(binds), tuple(hidden), tuple(symlinks), python,
                (("PYTHONPATH", VIEW_PACKAGE),))


@functools.lru_cache(maxsize=1)
def _view_files() -> str:
    """A folder with the view's generated files: ``pyvenv.cfg`` for the venv as seen inside
    (home = the base interpreter's view) and ``empty`` (what hidden files show)."""
    base = os.path.realpath(sys.base_prefix)
    home = f"{base}/bin" if base == "/usr" or base.startswith("/usr/") else f"{VIEW_PYTHON}/bin"
    folder = tempfile.mkdtemp(prefix="ag-view-")
    with open(os.path.join(folder, "pyvenv.cfg"), "w", encoding="utf-8") as fh:
        fh.write(f"home = {home}\ninclude-system-site-packages = false\n"
                 f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
    open(os.path.join(folder, "empty"), "wb").close()
    for name in ("pyvenv.cfg", "empty"):
        os.chmod(os.path.join(folder, name), 0o644)
    os.chmod(folder, 0o755)
    return folder


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
    v = view()
    for host, inside in v.binds:
        argv += _dirs_for(inside, made) + ["--ro-bind", host, inside]
    if sys.prefix != sys.base_prefix:
        cfg = os.path.join(_view_files(), "pyvenv.cfg")
        argv += _dirs_for(f"{VIEW_VENV}/pyvenv.cfg", made) + ["--ro-bind", cfg, f"{VIEW_VENV}/pyvenv.cfg"]
    for inside in v.hidden:
        argv += ["--ro-bind", os.path.join(_view_files(), "empty"), inside]
    for target, inside in v.symlinks:
        argv += _dirs_for(inside, made) + ["--symlink", target, inside]
    extra = [os.path.realpath(p) for p in ro if p and os.path.exists(p)]
    for k, host in enumerate(extra):
        inside = VIEW_DATA if k == 0 else f"{VIEW_DATA}{k}"
        argv += _dirs_for(inside, made) + ["--ro-bind", host, inside]
    s = os.path.realpath(scratch)
    argv += _dirs_for(s, made) + ["--bind", s, s, "--chdir", s]
    return argv


def _inside(argv: list[str]) -> list[str]:
    """``argv`` as run inside bubblewrap: the grader's interpreter by its neutral path."""
    if argv and argv[0] in (sys.executable, os.path.realpath(sys.executable)):
        return [view().python, *argv[1:]]
    return list(argv)


def setpriv_argv(uid: int) -> list[str]:
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs"]


def command(argv: list[str], isolation: str, scratch: Path, limits: Limits, uid: int | None,
            ro: list[Path] = ()) -> list[str]:
    """The full launch command for ``argv`` under ``isolation``."""
    if isolation == "bwrap+uid":
        return bwrap_argv(scratch, as_root=True, ro=ro) + ["--"] + limits.prlimit() + setpriv_argv(uid) + _inside(argv)
    if isolation == "bwrap":
        return bwrap_argv(scratch, as_root=False, ro=ro) + ["--"] + limits.prlimit() + _inside(argv)
    if isolation == "process+uid":
        return limits.prlimit() + setpriv_argv(uid) + argv
    return limits.prlimit() + argv


# --------------------------------------------------------------------------- probing

#: why each level the last probe tried did not work (shown by the CLI when it falls back)
PROBE_NOTES: dict[str, str] = {}
PROBE_CELL = "import numpy\nprint('probe-ok', numpy.ones(2).sum())"


def _preconditions(isolation: str) -> str | None:
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
    return None


@functools.lru_cache(maxsize=None)
def _works(isolation: str) -> str | None:
    """None if grading works under ``isolation`` here, else why not.

    Runs exactly what grading launches, as the sandbox uid: the submission's runner
    (``autograder.sandbox.runner``) executing a one-cell notebook, and a worker it forks
    (``autograder.sandbox.remote``) that imports a definition and answers a call.  A Python the
    sandbox uid cannot run (pyenv under a mode-700 home), a missing package or a kernel that does
    not start all show up here.
    """
    why = _preconditions(isolation)
    if why is not None:
        return why
    import nbformat

    from .remote import RemoteSubmission
    from .runner import Runner

    scratch = Path(tempfile.mkdtemp(prefix="ag-probe-"))
    runner = None
    try:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE_CELL),
                                             nbformat.v4.new_code_cell("def probe():\n    return 41 + 1")])
        try:
            runner = Runner(scratch, isolation, Limits(cpu_s=90), preload=["numpy"])
            if not runner.ready:
                return "notebook execution: the sandbox did not start"
            run = runner.execute(nb, 60, 90)
        except Exception as exc:  # noqa: BLE001
            return f"notebook execution: {type(exc).__name__}: {exc}"
        outputs = "".join(str(o.get("text", "")) for c in (run.notebook.cells if run.notebook else [])
                          for o in c.get("outputs", []))
        if "probe-ok 2.0" not in outputs:
            return "notebook execution: " + ("; ".join(run.errors) or "no output")[:300]
        sub = RemoteSubmission(nb, scratch, isolation, Limits(cpu_s=60), timeout=60, link=runner.link)
        try:
            answer = sub.probe()
        except Exception as exc:  # noqa: BLE001
            return f"worker: {type(exc).__name__}: {str(exc)[:300]}"
        finally:
            sub.close()
        return None if answer == 42 else f"worker: answered {answer!r}"
    finally:
        if runner is not None:
            runner.close()
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
        PROBE_NOTES[iso] = why
        reasons.append(f"{iso}: {why}")
    if mode == "required":
        raise SandboxUnavailable("the bubblewrap sandbox cannot start here (" + "; ".join(reasons) + ")")
    why = _works("process+uid")
    if why is None:
        return "process+uid"
    PROBE_NOTES["process+uid"] = why
    return "process"


# --------------------------------------------------------------------------- getting bubblewrap

INSTALL_COMMAND = "sudo apt-get install -y bubblewrap"


def ensure_bubblewrap(mode: str = "auto", *, say=print, run=subprocess.run) -> bool:
    """Make bubblewrap available before grading; True when ``bwrap`` is on PATH afterwards.

    As root on Debian/Ubuntu (``apt-get`` present) it is installed (``apt-get install -y
    bubblewrap``, with ``apt-get update`` first when the package lists are empty); as another user
    the one command that installs it is printed.  Nothing happens with ``--sandbox=off``, when
    bwrap is already there, or when ``AUTOGRADER_NO_INSTALL=1``.
    """
    if mode == "off" or shutil.which("bwrap") is not None or not sys.platform.startswith("linux"):
        return shutil.which("bwrap") is not None
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None or os.environ.get("AUTOGRADER_NO_INSTALL") == "1":
        how = INSTALL_COMMAND if apt is not None else "install the bubblewrap package of your system"
        say(f"autograder: bubblewrap is not installed, so student code would run with your permissions; "
            f"to grade in the sandbox run: {how}")
        return False
    say("autograder: bubblewrap is not installed; installing it so that student code runs sandboxed "
        "(apt-get install -y bubblewrap; set AUTOGRADER_NO_INSTALL=1 to skip)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    for attempt in ([apt, "install", "-y", "-qq", "bubblewrap"],
                    [apt, "update", "-qq"], [apt, "install", "-y", "-qq", "bubblewrap"]):
        try:
            done = run(attempt, **quiet).returncode == 0
        except OSError:
            done = False
        if done and attempt[1] == "install":
            break
    found = shutil.which("bwrap") is not None
    if found:
        _works.cache_clear()
        probe.cache_clear()
    else:
        say(f"autograder: could not install bubblewrap; install it by hand: {INSTALL_COMMAND}")
    return found


# --------------------------------------------------------------------------- running

def _args_through_fd(cmd: list[str]) -> tuple[list[str], int]:
    """``bwrap OPTIONS -- COMMAND`` as ``bwrap --args FD -- COMMAND`` with OPTIONS in a memfd."""
    split = cmd.index("--")
    fd = os.memfd_create("bwrap-args", 0)  # not close-on-exec: bwrap reads it
    data = b"".join(os.fsencode(a) + b"\0" for a in cmd[1:split])
    view_ = memoryview(data)
    while view_:
        view_ = view_[os.write(fd, view_):]
    os.lseek(fd, 0, os.SEEK_SET)
    return [cmd[0], "--args", str(fd), *cmd[split:]], fd


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
            env = dict(env or {})
            args_fd = None
            if isolation in FULL:  # make HOME inside the tmpfs before anything else
                cmd = cmd[:cmd.index("--")] + ["--perms", "0777", "--dir", home] + cmd[cmd.index("--"):]
                env.update(view().env)
                if any(p and os.path.exists(p) for p in ro):
                    env["AUTOGRADER_DATA"] = VIEW_DATA
                # bwrap's options travel through a memfd (--args), not argv: the sandbox's pid 1 is a
                # copy of bwrap, and its /proc/1/cmdline would show every host path bound
                cmd, args_fd = _args_through_fd(cmd)
                pass_fds = (*pass_fds, args_fd)
            try:
                self.proc = subprocess.Popen(cmd, cwd=scratch, env=sandbox_env(home, env), stdin=stdin,
                                             stdout=stdout, stderr=stderr, pass_fds=pass_fds,
                                             start_new_session=True)
            finally:
                if args_fd is not None:
                    os.close(args_fd)
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
