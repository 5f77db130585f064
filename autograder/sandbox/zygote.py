"""Warm sandboxes: a zygote that has imported the scientific stack forks each submission's runner.

Starting a submission's sandbox costs little (bubblewrap: milliseconds), but the runner in it
then imports numpy, scikit-learn, matplotlib (torch for a05): about a CPU second per
submission, more than the student's code takes.  The zygote pays that once per grading run.

- The **zygote** is a fork server (``autograder.engine.warm``) started once in a bubblewrap sandbox
  with the neutral view of the installation (``sandbox.bwrap_argv``: ``/opt/venv``, a tmpfs
  ``/tmp``, no network), whose only writable folder is the zygote's scratch root.  It runs as
  root in that sandbox, keeping just the capabilities needed to build the next level
  (``CAP_SYS_ADMIN``, ``CAP_SETUID``, ``CAP_SETGID``, ``CAP_SETPCAP``); it never runs student code.
- For each submission it forks; the child (``enter``) makes the submission's own sandbox
  before anything of the student's runs, as browsers do for their renderers:
  new mount, pid, network and IPC namespaces; a fresh ``/tmp`` (which hides the scratch root,
  so no other student's folder), ``/dev/shm`` and ``/proc``; the submission's scratch folder
  moved to ``/tmp/<name>``; resource limits; every capability dropped from the bounding set;
  the submission's own uid; ``no_new_privs``.  The first process of the new pid namespace reaps
  and, when the runner exits, ends everything the student left behind.
- Then it runs the runner's loop (``runner.Serve``) exactly as a freshly started runner would.

The isolation is the same as ``bwrap+uid`` (one uid, one scratch folder, own pid/net/ipc
namespaces per submission, the view of bubblewrap), and the verdict stays outside.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
#: where the zygote's view holds a submission's scratch folder for a moment (an empty folder)
HOLD = "/opt/hold"
#: the capabilities the zygote keeps in its sandbox (to build each submission's)
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return _libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: None if s is None else os.fsencode(s))
    _check(_c().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


# --------------------------------------------------------------------------- inside the zygote

def _limits(limits: dict) -> None:
    import resource

    mb = 2**20
    for res, value in ((resource.RLIMIT_AS, int(limits["memory_mb"]) * mb),
                       (resource.RLIMIT_CPU, int(limits["cpu_s"])),
                       (resource.RLIMIT_FSIZE, int(limits["fsize_mb"]) * mb),
                       (resource.RLIMIT_NPROC, int(limits["nproc"])),
                       (resource.RLIMIT_NOFILE, int(limits["nofile"])),
                       (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))


def _narrow(scratch: str, uid: int, limits: dict) -> str:
    """Build the submission's sandbox around this process (pid 1 of a new pid namespace):
    mounts, limits, capabilities, uid.  Returns the scratch folder's path inside."""
    inside = f"/tmp/{os.path.basename(scratch.rstrip('/'))}"
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(scratch, HOLD, None, MS_BIND)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")  # hides every other scratch
    os.mkdir(inside, 0o755)
    _mount(HOLD, inside, None, MS_MOVE)
    os.mkdir("/tmp/home", 0o777)
    os.chmod("/tmp/home", 0o777)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _limits(limits)
    libc = _c()
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(-1, f"drop capability {cap}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("the uid did not change")
    return inside


def _init(runner_pid: int) -> int:
    """pid 1 of the submission's namespace: reap every process until the runner exits."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        if pid == runner_pid:
            return os.waitstatus_to_exitcode(status)


def enter(conn, fds: list[int], args: dict) -> int:
    """A zygote job (``autograder.engine.warm``): the submission's sandbox and runner.  fds[0] is the
    runner's control socket; args: scratch (path in the zygote's view), uid, limits."""
    from .runner import Serve

    libc = _c()
    ctl = fds[0]
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    first = os.fork()
    if first != 0:  # the zygote's child: waits for the namespace to end
        os.close(ctl)
        try:
            _, status = os.waitpid(first, 0)
            return os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            return 1
    code = 1
    try:
        conn.close()
        inside = _narrow(str(args["scratch"]), int(args["uid"]), args["limits"])
        os.chdir(inside)
        os.environ["PWD"] = inside
        sys.path.insert(0, inside)  # as ``python -m autograder.sandbox.runner`` started in the folder has it
        runner = os.fork()
        if runner == 0:
            try:
                sock = socket.socket(fileno=ctl)
                sock.send(json.dumps({"ready": True}).encode())
                Serve(sock, own_pid_namespace=True).loop()
            finally:
                os._exit(1)
        os.close(ctl)
        code = _init(runner)
    except BaseException:  # noqa: BLE001 - the sandbox could not be made: never run the student's code
        import traceback

        traceback.print_exc()
    os._exit(code)


# --------------------------------------------------------------------------- the grader's side

class Zygote:
    """A warm zygote for one set of preloaded modules and read-only folders (see the module)."""

    def __init__(self, preload: list[str], ro: list[Path] = ()):
        from . import isolation as sandbox
        from ..engine.warm import ForkServer

        #: submissions using this zygote now (``acquire``/``release``), and whether it is to stop
        #: when the last of them ends (it was evicted while in use)
        self.users, self.retired = 0, False
        self.root = Path(tempfile.mkdtemp(prefix="ag-zygote-"))
        os.chmod(self.root, 0o711)
        argv = sandbox.bwrap_argv(self.root, as_root=True, ro=list(ro))
        argv = _with_caps(argv) + ["--perms", "0700", "--dir", HOLD]
        env = dict(sandbox.view().env)
        if any(p and os.path.exists(p) for p in ro):
            env["AUTOGRADER_DATA"] = sandbox.VIEW_DATA
        argv += ["--perms", "0777", "--dir", "/tmp/home"]

        def start(cmd, fds):
            import subprocess

            n = len(argv)  # bwrap and its options, then the zygote's command
            full, args_fd = sandbox._args_through_fd(cmd[:n] + ["--"] + cmd[n:])
            try:
                return subprocess.Popen(full, env=sandbox.sandbox_env("/tmp/home", env), cwd=self.root,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, pass_fds=(*fds, args_fd),
                                        start_new_session=True)
            finally:
                os.close(args_fd)

        self.server = ForkServer(preload, launcher=argv, python=sandbox.view().python, popen=start)

    def scratch(self) -> Path:
        """A new scratch folder for a submission (under the zygote's root)."""
        return Path(tempfile.mkdtemp(prefix="ag-", dir=self.root))

    def start(self, scratch: Path, uid: int, limits, ctl_fd: int):
        """Fork the submission's sandbox with its runner; a ``warm.Job``."""
        return self.server.start("autograder.sandbox.zygote:enter", {
            "scratch": str(scratch), "uid": int(uid), "limits": limits.as_dict()}, [ctl_fd])

    def alive(self) -> bool:
        return self.server.alive()

    def close(self, remove_root: bool = True) -> None:
        """Stop the zygote; its root goes too (remove_root=False: only if no submission is
        still using a scratch folder in it)."""
        try:
            self.server.close()
        finally:
            if remove_root:
                shutil.rmtree(self.root, ignore_errors=True)
            else:
                try:
                    os.rmdir(self.root)
                except OSError:
                    pass


def _with_caps(argv: list[str]) -> list[str]:
    out, skip = [], 0
    for i, part in enumerate(argv):
        if skip:
            skip -= 1
            continue
        if part == "--cap-add":
            skip = 1
            continue
        out.append(part)
    for cap in ZYGOTE_CAPS:
        out += ["--cap-add", cap]
    return out


_ZYGOTES: dict = {}
_LOCK = threading.Lock()
#: zygotes kept at once (a long-lived process grading many courses would pile them up)
MAX_WARM = 4


def enabled(isolation: str) -> bool:
    """Zygotes serve the ``bwrap+uid`` level (root: namespaces and uids are ours to make);
    ``AUTOGRADER_ZYGOTE=0`` turns them off (a fresh runner per submission)."""
    return isolation == "bwrap+uid" and os.environ.get("AUTOGRADER_ZYGOTE", "1") != "0"


#: why zygotes were turned off in this process (the first one did not work), or None
BROKEN: list[str] = []


def acquire(preload: list[str], ro: list[Path]) -> Zygote | None:
    """The running zygote for these modules and folders, for one submission (give it back with
    ``release``); started (and tried: a runner forked from it must answer) on first use; None
    when zygotes do not work here (then each submission's runner is started fresh, as without
    them).  At most MAX_WARM are kept: the least recently used is stopped, or, while a
    submission still uses it, retired and stopped when that submission ends (stopping a
    zygote ends every sandbox forked from it)."""
    if BROKEN:
        return None
    key = (tuple(preload), tuple(str(p) for p in ro))
    with _LOCK:
        z = _ZYGOTES.pop(key, None)
        if z is None or not z.alive():
            if z is not None:
                _retire(z)
            try:
                z = Zygote(list(preload), list(ro))
                why = _try(z)
            except Exception as exc:  # noqa: BLE001
                z, why = None, f"{type(exc).__name__}: {exc}"
            if why is not None:
                BROKEN.append(why)
                if z is not None:
                    z.close()
                return None
        _ZYGOTES[key] = z  # the most recently used last
        z.users += 1
        while len(_ZYGOTES) > MAX_WARM:
            _retire(_ZYGOTES.pop(next(iter(_ZYGOTES))))
        return z


def release(z: Zygote | None) -> None:
    """The submission that ``acquire`` gave ``z`` to has ended (its sandbox is gone)."""
    if z is None:
        return
    with _LOCK:
        z.users -= 1
        if z.retired and z.users <= 0:
            z.close(remove_root=False)


def _retire(z: Zygote) -> None:
    """No longer handed out: stopped now if unused, else when its last submission ends."""
    z.retired = True
    if z.users <= 0:
        z.close(remove_root=False)


def _try(z: Zygote) -> str | None:
    """None if a runner forked from ``z`` starts and answers, else why not."""
    from .runner import Runner
    from .isolation import Limits

    scratch = z.scratch()
    runner = Runner(scratch, "bwrap+uid", Limits(cpu_s=60), zygote=z, start_timeout=60)
    try:
        if not runner.ready:
            return "a runner forked from the zygote did not start"
        sock, pid = runner.link.worker(timeout=30)
        sock.close()
        runner.link.kill(pid)
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    finally:
        runner.close()
        shutil.rmtree(scratch, ignore_errors=True)


def stop_all() -> None:
    with _LOCK:
        for z in _ZYGOTES.values():
            try:
                z.close()
            except Exception:  # noqa: BLE001
                pass
        _ZYGOTES.clear()


import atexit  # noqa: E402

atexit.register(stop_all)
__all__ = ["Zygote", "acquire", "release", "enabled", "enter", "json", "signal"]
