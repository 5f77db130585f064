"""The submission's sandbox: one process that executes the notebook and serves its definitions.

One sandbox per submission (``autograder.sandbox.isolation``: its own uid, its own scratch folder, limits),
holding one process, the runner, started as ``python -m autograder.sandbox.runner FD PRELOAD``.  The
runner imports the assignment's libraries once (numpy, scikit-learn, matplotlib, torch: what the
solution notebook imports), and never runs student code itself; it forks:

- the **executor** (``autograder.sandbox.cells``): runs the notebook's cells once, as Jupyter would, and
  writes the executed notebook (shown to the student; it does not decide the grade);
- a **worker** (``autograder.sandbox.worker``) per request of the grading tests: a fresh fork that imports
  the notebook's definitions and answers calls over its own socket; one that hangs or dies is
  killed and the next test gets a new fork, with the libraries already imported.

The grader talks to the runner over a ``SOCK_SEQPACKET`` socket (``RunnerLink``): one JSON message
per request and reply, a worker's socket passed with ``SCM_RIGHTS``.  Nothing the runner says is
trusted: a student's code runs with the same uid and may replace the runner, so every reply is
checked, a received descriptor must be a socket, and every wait has a deadline.
"""
from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import stat
import sys
import time
from pathlib import Path

#: one control message is at most this long
MAX_MESSAGE = 1 << 16
#: the executed notebook's file name in the scratch folder
EXECUTED = "_executed.ipynb"
SOURCE = "_input.ipynb"


class RunnerFailure(RuntimeError):
    """The runner did not answer as it should (gone, hung, forged a reply)."""


# --------------------------------------------------------------------------- the grader's side

class RunnerLink:
    """Requests to a runner over its control socket (the pipeline and the grading tests use one)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def _ask(self, msg: dict, timeout: float, want_fd: bool = False) -> tuple[dict, socket.socket | None]:
        try:
            self.sock.settimeout(timeout)
            self.sock.send(json.dumps(msg).encode())
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 1)
        except socket.timeout:
            raise RunnerFailure("the runner did not answer in time") from None
        except OSError as exc:
            raise RunnerFailure(f"the runner is gone ({exc.strerror or exc})") from None
        got = None
        for fd in fds:
            if want_fd and got is None and stat.S_ISSOCK(os.fstat(fd).st_mode):
                got = socket.socket(fileno=fd)
            else:
                os.close(fd)
        try:
            reply = json.loads(data) if data else None
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            if got is not None:
                got.close()
            raise RunnerFailure("the runner is gone" if not data else "the runner sent a malformed reply")
        return reply, got

    def worker(self, timeout: float = 30.0, cpu_s: int | None = None) -> tuple[socket.socket, int]:
        """A new worker process (at most ``cpu_s`` CPU seconds): (its socket, its pid in the sandbox)."""
        reply, sock = self._ask({"op": "worker", "cpu_s": cpu_s}, timeout, want_fd=True)
        pid = reply.get("pid")
        if sock is None or type(pid) is not int:
            if sock is not None:
                sock.close()
            raise RunnerFailure("the runner did not start a worker")
        return sock, pid

    def kill(self, pid: int, timeout: float = 10.0) -> None:
        """Kill a worker (and what it started); never raises."""
        try:
            self._ask({"op": "kill", "pid": int(pid)}, timeout)
        except RunnerFailure:
            pass

    def wait(self, pid: int, timeout: float = 2.0) -> int | None:
        """How a worker ended (``Popen.returncode``: negative for a signal), None if unknown."""
        try:
            reply, _ = self._ask({"op": "wait", "pid": int(pid), "timeout": float(timeout)}, timeout + 5)
        except RunnerFailure:
            return None
        rc = reply.get("status")
        return rc if type(rc) is int else None

    def execute(self, cell_timeout: int, notebook_timeout: int) -> dict:
        """Run the notebook the scratch folder holds (``SOURCE``); {"exit", "timed_out"}."""
        reply, _ = self._ask({"op": "execute", "cell_timeout": int(cell_timeout),
                              "timeout": float(notebook_timeout)}, notebook_timeout + 30)
        return {"exit": reply.get("exit") if type(reply.get("exit")) is int else None,
                "timed_out": reply.get("timed_out") is True}

    def close(self) -> None:
        self.sock.close()


class Runner:
    """A submission's sandbox with its runner, started by the pipeline (``autograder.engine.grade``)."""

    def __init__(self, scratch: Path, isolation: str, limits, *, ro: list[Path] = (),
                 preload: list[str] = (), start_timeout: float = 60.0, zygote=None):
        """zygote: an ``autograder.sandbox.zygote.Zygote`` to fork the sandbox from (its scratch folder
        comes from ``zygote.scratch()``), else a fresh sandbox and interpreter are started."""
        from . import isolation as sandbox

        self.scratch, self.isolation = Path(scratch), isolation
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-m", "autograder.sandbox.runner", str(theirs.fileno()),
                json.dumps(list(preload)), "1" if isolation in sandbox.FULL else "0"]
        try:
            if zygote is not None:
                self.box = _Forked(zygote, self.scratch, limits, theirs.fileno())
            else:
                self.box = sandbox.Sandboxed(argv, self.scratch, limits, isolation, ro=ro,
                                             pass_fds=(theirs.fileno(),))
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.link = RunnerLink(mine)
        self.ready = False
        try:
            mine.settimeout(start_timeout)
            hello = json.loads(mine.recv(MAX_MESSAGE) or b"null")
            self.ready = isinstance(hello, dict) and hello.get("ready") is True
        except (OSError, ValueError):
            self.ready = False

    @property
    def fd(self) -> int:
        return self.link.sock.fileno()

    def execute(self, nb, cell_timeout: int, notebook_timeout: int):
        """Run ``nb``'s cells in the sandbox; an ``autograder.engine.execute.Execution``."""
        from ..engine.execute import read_executed

        start = time.monotonic()
        for name in (SOURCE, EXECUTED):
            (self.scratch / name).unlink(missing_ok=True)
        import nbformat

        nbformat.write(nb, self.scratch / SOURCE)
        from . import isolation as sandbox

        sandbox.give_scratch(self.scratch / SOURCE, self.box.lease.uid)
        if not self.ready:
            status = {"exit": None, "timed_out": False, "why": "the sandbox did not start"}
        else:
            try:
                status = self.link.execute(cell_timeout, notebook_timeout)
            except RunnerFailure as exc:
                status = {"exit": None, "timed_out": False, "why": str(exc)}
        run = read_executed(self.scratch, nb, status, notebook_timeout, cell_timeout)
        run.seconds = time.monotonic() - start
        return run

    def close(self) -> None:
        """Stop the sandbox: the runner ends its children and exits when its socket closes (a
        few milliseconds); whatever is still running after a second is killed."""
        self.link.close()
        try:
            self.box.wait(1.0)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: killed below
            pass
        self.box.kill()


#: what every runner imports before it forks (the executor's and the worker's machinery)
RUNNER_PRELOAD = ["numpy", "nbformat", "IPython.core.interactiveshell", "IPython.core.displayhook",
                  "IPython.core.displaypub", "autograder.sandbox.cells", "autograder.sandbox.worker",
                  "autograder.sandbox.extract", "autograder.sandbox.wire", "autograder.sandbox.submission",
                  "autograder.sandbox.extract:warm_nbformat="]


def notebook_imports(path: Path) -> list[str]:
    """The modules a notebook imports at the top level of its code cells (``import x.y``,
    ``from x.y import z``): what the runner imports for the assignment."""
    import nbformat

    from .extract import top_level_imports

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001
        return []
    names = []
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            source = "\n".join(line for line in cell.get("source", "").splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            names += top_level_imports(source)
    return list(dict.fromkeys(names))


def preload_for(assignment) -> list[str]:
    """What the runner of ``assignment``'s submissions imports: RUNNER_PRELOAD and the imports of
    the assignment's solution (else its student notebook)."""
    path = assignment.solution or assignment.student
    extra = notebook_imports(path) if path is not None else []
    return list(dict.fromkeys(RUNNER_PRELOAD + extra))


class _Forked:
    """A submission's sandbox forked from a zygote, with what ``Runner`` uses of
    ``sandbox.Sandboxed``: ``lease``, ``wait``, ``kill``.  Everything in it runs as the leased
    uid, so releasing the lease (``kill -1`` as that uid) ends it all."""

    def __init__(self, zygote, scratch: Path, limits, ctl_fd: int):
        from . import isolation as sandbox

        self.lease = sandbox.UidLease.acquire()
        try:
            sandbox.give_scratch(scratch, self.lease.uid)
            self.job = zygote.start(scratch, self.lease.uid, limits, ctl_fd)
        except BaseException:
            self.lease.release()
            raise

    def wait(self, timeout: float | None = None):
        return self.job.wait(timeout)

    def kill(self) -> None:
        self.lease.release()
        self.job.conn.close()


# --------------------------------------------------------------------------- inside the sandbox

def _wait(pid: int, timeout: float) -> int | None:
    """Wait for a child with a deadline (a pidfd: no polling); its returncode, None if running."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        fd = None
    try:
        if fd is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
            if not ready:
                return None
        got, status = os.waitpid(pid, 0 if fd is not None else os.WNOHANG)
        if got == 0:
            return None
        return os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        return None
    finally:
        if fd is not None:
            os.close(fd)


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass


def _kill_others(keep: set[int]) -> None:
    """Kill every process of the sandbox's pid namespace but ``keep`` (what the executed notebook
    left running: background processes, a ``multiprocessing`` pool)."""
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in keep:
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


class Serve:
    """The runner's loop: one request at a time, until the grader closes the socket."""

    def __init__(self, sock: socket.socket, own_pid_namespace: bool):
        self.sock = sock
        self.own_ns = own_pid_namespace
        self.children: set[int] = set()

    def reply(self, msg: dict, fds: list[int] = ()) -> None:
        socket.send_fds(self.sock, [json.dumps(msg).encode()], list(fds))

    def loop(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            try:
                msg = json.loads(data)
                getattr(self, "op_" + str(msg.get("op")))(msg)
            except Exception as exc:  # noqa: BLE001 - a bad request: say so, keep serving
                self.reply({"error": f"{type(exc).__name__}: {exc}"[:500]})
        for pid in self.children:
            _kill_group(pid)
        os._exit(0)

    def _fork(self, run, cpu_s: int | None = None) -> int:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setpgid(0, 0)
                self.sock.close()
                if cpu_s:
                    import resource

                    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
                    cap = cpu_s if hard == resource.RLIM_INFINITY else min(cpu_s, hard)
                    resource.setrlimit(resource.RLIMIT_CPU, (cap, hard))
                code = run()
            except BaseException:  # noqa: BLE001
                pass
            finally:
                os._exit(code or 0)
        self.children.add(pid)
        return pid

    def op_execute(self, msg: dict) -> None:
        from .cells import run_notebook

        cell_timeout, timeout = int(msg["cell_timeout"]), float(msg["timeout"])
        pid = self._fork(lambda: run_notebook(Path(SOURCE), Path(EXECUTED), cell_timeout), cpu_s=int(timeout) + 5)
        rc = _wait(pid, timeout)
        timed_out = rc is None
        if timed_out:
            _kill_group(pid)
            _wait(pid, 5)
        self.children.discard(pid)
        if self.own_ns:
            _kill_others({os.getpid(), 1})
        self.reply({"exit": rc, "timed_out": timed_out})

    def op_worker(self, msg: dict) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

        def serve_worker():
            from .worker import main as worker_main

            mine.close()
            fd = theirs.detach()
            return worker_main([str(fd), str(fd)])

        cpu_s = msg.get("cpu_s")
        pid = self._fork(serve_worker, cpu_s=int(cpu_s) if isinstance(cpu_s, int) and cpu_s > 0 else None)
        theirs.close()
        try:
            self.reply({"pid": pid}, [mine.fileno()])
        finally:
            mine.close()

    def op_kill(self, msg: dict) -> None:
        pid = int(msg["pid"])
        if pid in self.children:
            _kill_group(pid)
            _wait(pid, 5)
            self.children.discard(pid)
        self.reply({"killed": pid})

    def op_wait(self, msg: dict) -> None:
        pid = int(msg["pid"])
        rc = _wait(pid, min(float(msg.get("timeout", 2)), 10.0)) if pid in self.children else None
        if rc is not None:
            self.children.discard(pid)
        self.reply({"status": rc})


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    from ..engine.warm import preload

    preload(json.loads(argv[1]) if len(argv) > 1 else [])
    gc.collect()
    gc.freeze()  # as the fork servers do (autograder.engine.warm.serve): forks never rescan the preload
    own_ns = len(argv) > 2 and argv[2] == "1"
    sock.send(json.dumps({"ready": True}).encode())
    Serve(sock, own_ns).loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
