"""A warm process that forks: imports paid once, every job in a fresh fork of it.

``ForkServer(preload)`` starts ``python -m autograder.engine.warm FD`` (optionally under a launcher such
as bubblewrap), which imports the ``preload`` modules once and then waits for jobs.  Each job is
a function named ``"module:function"`` with JSON arguments and file descriptors; the server forks,
and the child (its own session, default signals) runs ``function(conn, fds, args)`` and exits
with its return value.  The parent never runs job code, so nothing a job does reaches the next
one: each job starts from the same warm, clean state.

The client side talks to the server over a socketpair: a job request carries a fresh socket of
its own (``socket.send_fds``); the child reports ``{"pid": ...}`` on it at start and
``{"exit": code}`` at the end, and its closing is how the client knows the job is over (even if
it was killed).  This is the pattern of Python's multiprocessing forkserver and of the zygote of
browsers and Android, reduced to what grading needs.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

#: a request: one JSON message (with the fds beside it) of at most this many bytes
MAX_REQUEST = 1 << 20
MAX_FDS = 8


class ForkServerError(RuntimeError):
    pass


def _recv_line(sock: socket.socket, limit: int = 65536) -> dict | None:
    """One JSON line from ``sock`` (None at EOF)."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            return None
        buf += chunk
        if len(buf) > limit:
            raise ForkServerError("message too long")
    return json.loads(buf)


def _send_line(sock: socket.socket, msg: dict) -> None:
    sock.sendall(json.dumps(msg).encode() + b"\n")


class Job:
    """One forked job: its pid (in the server's pid namespace) and the socket to it."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.exit: int | None = None
        hello = _recv_line(conn)
        if not hello or "pid" not in hello:
            conn.close()
            raise ForkServerError("the job did not start")
        self.pid = int(hello["pid"])

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the job ends (its socket closes); returns its exit code, None when it was
        killed or did not say.  Raises TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            self.conn.settimeout(left)
            try:
                msg = _recv_line(self.conn)
            except socket.timeout:
                raise TimeoutError from None
            except (OSError, ValueError):
                msg = None
            if msg is None:
                self.conn.close()
                return self.exit
            if "exit" in msg:
                self.exit = int(msg["exit"])

    def kill(self) -> None:
        """SIGKILL the job's session (its own and everything it started)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        self.conn.close()


class ForkServer:
    """The client of a warm fork server (see the module's docstring); thread-safe."""

    def __init__(self, preload: list[str], *, env: dict | None = None, launcher: list[str] | None = None,
                 python: str | None = None, popen=None, cwd: str = "/"):
        self.preload = list(preload)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one request, one message
        self._lock = threading.Lock()
        # -P: the current folder is not put on sys.path (nothing in it is imported by mistake)
        argv = [python or sys.executable, "-P", "-m", "autograder.engine.warm", str(child.fileno()),
                json.dumps(self.preload)]
        start = popen or (lambda cmd, fds: subprocess.Popen(
            cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, pass_fds=fds, start_new_session=True))
        try:
            self.proc = start([*(launcher or []), *argv], (child.fileno(),))
        finally:
            child.close()
        self.sock = parent
        try:
            ready = json.loads(self.sock.recv(MAX_REQUEST) or b"null")
        except (OSError, ValueError):
            ready = None
        if not isinstance(ready, dict) or not ready or not ready.get("ready"):
            self.close()
            raise ForkServerError("the fork server did not start")
        self.loaded = ready.get("loaded", [])

    def start(self, target: str, args: dict, fds: list[int] = ()) -> Job:
        """Fork a job running ``target`` ("module:function") with ``args`` and ``fds``."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            data = json.dumps({"target": target, "args": args}).encode()
            with self._lock:
                socket.send_fds(self.sock, [data], [theirs.fileno(), *fds])
        except OSError as exc:
            mine.close()
            raise ForkServerError(f"the fork server is gone: {exc}") from None
        finally:
            theirs.close()
        return Job(mine)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --------------------------------------------------------------------------- the server

def preload(modules: list[str]) -> list[str]:
    """Import each module; an entry ``module:function=argument`` calls ``function(argument)``
    instead (a warm-up that is more than an import).  Returns the entries that worked; a module
    that is not installed, or broken, is left out (the code that needs it will say)."""
    loaded = []
    for name in modules:
        try:
            if "=" in name:
                target, _, arg = name.partition("=")
                module, _, func = target.partition(":")
                getattr(importlib.import_module(module), func)(arg)
            else:
                importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - a module that is not installed is simply not warm
            pass
    return loaded


def _child(conn: socket.socket, fds: list[int], request: dict) -> int:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _send_line(conn, {"pid": os.getpid()})
    module, _, name = str(request["target"]).partition(":")
    func = getattr(importlib.import_module(module), name)
    return int(func(conn, fds, request.get("args") or {}) or 0)


def serve(fd: int, modules: list[str]) -> None:
    """The server's loop: fork one child per request until the client closes the socket."""
    sock = socket.socket(fileno=fd)
    loaded = preload(modules)
    # what the preload made is never scanned again by a fork's garbage collections (pytest and
    # Hypothesis collect several times per run: ~0.1 s each in a process this size) and its
    # memory pages stay shared with the forks (a collection writes to every object it scans)
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sock.send(json.dumps({"ready": True, "loaded": loaded}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, MAX_FDS)
        except OSError:
            return
        if not data:
            return
        if not fds:
            continue
        conn = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sock.close()
                code = _child(conn, list(fds[1:]), json.loads(data))
            except BaseException:  # noqa: BLE001 - a failed job must not return into the server loop
                import traceback

                traceback.print_exc()
            finally:
                try:
                    _send_line(conn, {"exit": code})
                except BaseException:  # noqa: BLE001
                    pass
                os._exit(code)
        conn.close()
        for f in fds[1:]:
            os.close(f)


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]) if len(sys.argv) > 2 else [])
