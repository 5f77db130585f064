"""The grader's side of the submission: a sandboxed worker process and proxies to its objects.

``RemoteSubmission`` has the interface of ``autograder.sandbox.submission.Submission`` (the fixture
contract), but the student's definitions live in a worker process (``autograder.sandbox.worker``) started
in the sandbox.  ``submission.Linear(3, 4)`` sends a request and gets back a ``Remote`` handle;
``layer.forward(x)`` sends ``x`` as a plain array and gets the result back as a plain array.
Only plain data crosses (``autograder.sandbox.wire``); a grader-side function passed to student code stays
here and is called back over the same channel.  All comparisons happen in the grader's process.

Failures of the worker become test failures (``AssertionError`` with a message for the student):
a call that runs past its deadline, a worker that dies or exits, a malformed reply.  The worker
is then killed with everything it started and restarted for the next test.
"""
from __future__ import annotations

import builtins
import os
import select
import sys
import time
import weakref
from pathlib import Path

import numpy as np

from . import isolation as sandbox
from .extract import CellError, definitions
from .submission import MissingDefinition
from .wire import MAX_STR, Closed, Decoder, Encoder, ProtocolError, Reader, check_size, write_message

HUNG = ("Превышено время выполнения теста ({seconds:g} с): возможно, в вашем коде бесконечный цикл "
        "или слишком медленная реализация.")
DIED = ("Процесс с вашим решением завершился во время проверки ({why}): sys.exit, os._exit, "
        "нехватка памяти или слишком глубокая рекурсия.")
BROKEN = "Процесс с вашим решением прислал некорректный ответ ({why}); проверка прервана."
IMPORT_FAILED = ("Не удалось импортировать определения из ноутбука ({why}): проверьте, что ячейки с "
                 "классами и функциями не запускают вычислений и не завершают процесс.")
STALE = "Объект решения создан до перезапуска процесса с решением и больше недоступен."

_SAFE_DUNDERS = {"__name__", "__qualname__", "__doc__"}
_LOCAL_PREFIXES = ("__", "_pytest", "_hypothesis", "_repr_", "_ipython")


class WorkerFailure(AssertionError):
    """The worker hung, died or misbehaved: the running test fails with this message."""


class RemoteError(Exception):
    """An exception raised by student code in the worker (type, message and traceback frames)."""

    remote_type = "Exception"
    frames: list = []

    def __init__(self, message: str = ""):
        Exception.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_EXC_CACHE: dict[str, type] = {}


def remote_exception(msg: dict) -> RemoteError:
    """An exception instance for an ``err`` reply: a RemoteError that is also the builtin base
    (``ValueError``, ``NotImplementedError``...) so ``pytest.raises(ValueError)`` still works."""
    name = str(msg.get("type", "Exception"))[:100]
    base_name = str(msg.get("base", "Exception"))
    base = getattr(builtins, base_name, None)
    ok = (isinstance(base, type) and issubclass(base, Exception) and base is not AssertionError
          and not issubclass(base, (StopIteration, StopAsyncIteration)))
    key = f"{name}/{base_name if ok else ''}"
    cls = _EXC_CACHE.get(key)
    if cls is None:
        try:
            cls = type(name if name.isidentifier() else "StudentError", (RemoteError, base) if ok else (RemoteError,), {})
        except TypeError:
            cls = type("StudentError", (RemoteError,), {})
        _EXC_CACHE[key] = cls
    exc = cls(str(msg.get("msg", "")))
    exc.remote_type = name
    frames = msg.get("frames") if isinstance(msg.get("frames"), list) else []
    exc.frames = [f for f in frames if isinstance(f, list) and len(f) == 4]
    return exc


class Remote:
    """A handle to an object that lives in the worker; operations are forwarded to it.

    ``==`` and ``hash`` are identity (the student's ``__eq__`` is never asked); ``<``, ``>`` and
    ``np.asarray(obj)`` compare/convert the value as a plain array in this process.
    """

    __slots__ = ("_ch", "_gen", "_id", "_type", "_method", "__weakref__")

    def __init__(self, ch: "Channel", gen: int, rid: int, type_name: str, method: bool):
        object.__setattr__(self, "_ch", ch)
        object.__setattr__(self, "_gen", gen)
        object.__setattr__(self, "_id", rid)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_method", method)

    def _req(self, op, *args):
        return self._ch.request(op, self, *args)

    def __getattr__(self, name):
        if (name.startswith(_LOCAL_PREFIXES) and name not in _SAFE_DUNDERS) or name in Remote.__slots__:
            raise AttributeError(name)
        if (self._type, name) in self._ch.methods:
            return RemoteMethod(self, name)  # known to be a method: call it by name, one round trip
        value = self._req("getattr", name)
        if isinstance(value, Remote) and value._method:
            self._ch.methods.add((self._type, name))
        return value

    def __setattr__(self, name, value):
        self._req("setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._req("call", list(args), dict(kwargs))

    def __getitem__(self, key):
        return self._req("getitem", key)

    def __setitem__(self, key, value):
        self._req("setitem", key, value)

    def __len__(self):
        n = self._req("len")
        if type(n) is not int or n < 0:
            raise self._ch.broken("len")
        return n

    def __iter__(self):
        items = self._req("iter")
        if type(items) is not list:
            raise self._ch.broken("iter")
        return iter(items)

    def __contains__(self, item):
        return self._req("contains", item) is True

    def __array__(self, dtype=None, copy=None):
        arr = self._req("array")
        if not isinstance(arr, np.ndarray):
            raise self._ch.broken("array")
        if dtype is None:
            return arr
        check_size(arr.shape, dtype, f"np.asarray({self._type})")
        return arr.astype(dtype)

    def _scalar(self, kind, types):
        value = self._req("scalar", kind)
        if type(value) not in types:
            raise TypeError(f"{self._type}: ожидалось значение типа {types[0].__name__}")
        if type(value) is str and len(value) > MAX_STR:  # the worker cuts str() and repr() to MAX_STR
            raise self._ch.broken("str")
        return value

    def __float__(self):
        return self._scalar("float", (float,))

    def __int__(self):
        return self._scalar("int", (int,))

    def __index__(self):
        return self._scalar("index", (int,))

    def __bool__(self):
        return self._scalar("bool", (bool,))

    def __complex__(self):
        return self._scalar("complex", (complex,))

    def __str__(self):
        return self._scalar("str", (str,))

    def __repr__(self):
        return f"<{self._type} из решения>"

    def __eq__(self, other):
        return isinstance(other, Remote) and (other._ch, other._gen, other._id) == (self._ch, self._gen, self._id)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((id(self._ch), self._gen, self._id))

    def __lt__(self, other):
        return np.asarray(self, dtype=np.float64) < np.asarray(other, dtype=np.float64)

    def __le__(self, other):
        return np.asarray(self, dtype=np.float64) <= np.asarray(other, dtype=np.float64)

    def __gt__(self, other):
        return np.asarray(self, dtype=np.float64) > np.asarray(other, dtype=np.float64)

    def __ge__(self, other):
        return np.asarray(self, dtype=np.float64) >= np.asarray(other, dtype=np.float64)

    def __copy__(self):
        return self._req("copy", False)

    def __deepcopy__(self, memo):
        return self._req("copy", True)

    def __dir__(self):
        names = self._req("dir")
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def __neg__(self):
        return self._req("unop", "neg")

    def __pos__(self):
        return self._req("unop", "pos")

    def __abs__(self):
        return self._req("unop", "abs")

    def __del__(self):
        try:
            self._ch.release(self._gen, self._id)
        except Exception:  # noqa: BLE001
            pass


class RemoteMethod:
    """``obj.name`` where ``name`` was a method before: calling it is one request (callmethod)."""

    __slots__ = ("_obj", "_name")

    def __init__(self, obj: Remote, name: str):
        self._obj, self._name = obj, name

    def __call__(self, *args, **kwargs):
        return self._obj._req("callmethod", self._name, list(args), dict(kwargs))

    def _resolve(self):
        return self._obj._req("getattr", self._name)

    def __getattr__(self, name):
        if name.startswith("__") and name not in _SAFE_DUNDERS:
            raise AttributeError(name)
        return getattr(self._resolve(), name)

    def __repr__(self):
        return f"<метод {self._name} объекта {self._obj._type} из решения>"


#: points sent per sweep request (at most SWEEP_POINT_BYTES of them); the worker may answer fewer
SWEEP_POINTS = 4096
SWEEP_POINT_BYTES = 16 * 2**20
_SWEEP_ARGS = (np.ndarray, np.generic, bool, int, float, str, type(None))


def sweep(fn, args: tuple, slot, points, pick: str | None = None):
    """Evaluate a student's callable at many points in few round trips; None if ``fn`` is not one.

    fn: a ``Remote`` (called) or a ``RemoteMethod`` (called by name on its object).
    args: its positional arguments: arrays, numbers, strings, None or the submission's objects
      (anything else: None is returned and the caller loops).
    slot: int: the argument replaced by each point; ``(owner, name)``: the attribute of a submission
      object set to each point (and to a float64 copy of its value before, at the end); None: points
      is a number of calls with the same arguments.
    points: float64 array of shape (K, *S) (or an int, slot None).  pick: read this attribute of
      every result.  Returns the K results in order, as ``fn(*args)`` would have returned them.
    """
    if isinstance(fn, RemoteMethod):
        target, method = fn._obj, fn._name
    elif isinstance(fn, Remote):
        target, method = fn, None
    else:
        return None
    if not all(isinstance(a, (*_SWEEP_ARGS, Remote, RemoteMethod)) for a in args):
        return None
    restore = None
    if slot is not None and type(slot) is not int:
        owner, name = slot
        if not isinstance(owner, Remote):
            return None
        restore = np.array(getattr(owner, name), dtype=np.float64)
        slot = [owner, name]
    ch = target._ch
    total = int(points) if slot is None else len(points)
    per = SWEEP_POINTS if slot is None else max(1, min(SWEEP_POINTS, SWEEP_POINT_BYTES // max(1, points[0].nbytes)))
    out: list = []
    while len(out) < total:
        chunk = min(per, total - len(out)) if slot is None else points[len(out):len(out) + per]
        got = ch.request("sweep", target, method, list(args), slot, chunk, pick, restore)
        asked = chunk if slot is None else len(chunk)
        if type(got) is not list or not 1 <= len(got) <= asked:
            raise ch.broken("sweep")
        out += got
    return out


def _binop(name, reflected):
    def op(self, other):
        return self._req("binop", name, other, reflected)
    op.__name__ = f"__{'r' if reflected else ''}{name}__"
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    setattr(Remote, f"__{_name}__", _binop(_name, False))
    setattr(Remote, f"__r{_name}__", _binop(_name, True))


class Channel:
    """One worker process and the framed pipe pair to it; restarted after a crash or hang."""

    def __init__(self, cells: list, scratch: Path, isolation: str, limits: sandbox.Limits,
                 timeout: float, import_timeout: float | None = None, ro: list[Path] = (), link=None):
        self.cells, self.scratch, self.isolation, self.limits = cells, Path(scratch), isolation, limits
        self.link = link                   # the submission's sandbox (autograder.sandbox.runner), or None
        self.sock = None
        self.wpid: int | None = None
        self.timeout = float(timeout)
        self.import_timeout = float(import_timeout or max(timeout, 10))
        self.ro = list(ro)
        self.box = None
        self.gen = 0
        self.depth = 0
        self.deadline = 0.0
        self.import_errors: list = []      # CellError (or text) per cell that failed to import
        self.first_lines: dict[int, str] = {}  # cell number -> first line, to name cells
        self.fatal: str | None = None      # the import itself failed: every test fails fast
        self.callbacks: dict[int, object] = {}
        self.callback_ids: dict[int, int] = {}
        self.released: list[int] = []
        self.refs: dict[int, int] = {}     # live proxies per worker id (the worker reuses ids)
        self.methods: set = set()
        self.starts = 0
        self.requests = 0                  # round trips asked by the grader (benchmarks, tests)

    # ---- lifecycle
    def start(self) -> None:
        self.gen += 1
        self.starts += 1
        self.released, self.refs = [], {}
        if self.link is not None:
            self._fork_worker()
        else:
            self._launch_worker()
        os.set_blocking(self.wfd, False)
        self.reader = Reader(self.rfd, self._wait_readable)
        self.depth, self.deadline = 1, time.monotonic() + self.import_timeout
        self._init_worker()

    def _launch_worker(self) -> None:
        """A worker in a sandbox of its own (``python -m autograder.sandbox.worker``)."""
        r_child, w_parent = os.pipe()
        r_parent, w_child = os.pipe()
        try:
            argv = [sys.executable, "-m", "autograder.sandbox.worker", str(r_child), str(w_child)]
            self.box = sandbox.Sandboxed(argv, self.scratch, self.limits, self.isolation, ro=self.ro,
                                         pass_fds=(r_child, w_child))
        except BaseException:
            for fd in (r_child, w_parent, r_parent, w_child):
                os.close(fd)
            raise
        os.close(r_child)
        os.close(w_child)
        self.rfd, self.wfd = r_parent, w_parent

    def _fork_worker(self) -> None:
        """A worker forked by the submission's runner (its libraries already imported)."""
        from .runner import RunnerFailure

        try:
            self.sock, self.wpid = self.link.worker(timeout=self.import_timeout, cpu_s=self.limits.cpu_s)
        except RunnerFailure as exc:
            self.fatal = IMPORT_FAILED.format(why=str(exc))
            raise WorkerFailure(self.fatal) from None
        self.box = _Forked(self.link, self.wpid, self.sock)
        self.rfd = self.wfd = self.sock.fileno()

    def _init_worker(self) -> None:
        try:
            errors = self._roundtrip({"k": "req", "op": "init"}, [list(self.cells)])
        except WorkerFailure as exc:
            self.fatal = IMPORT_FAILED.format(why=str(exc).split(":")[0])
            self.close()
            raise WorkerFailure(self.fatal) from None
        except RemoteError as exc:
            self.fatal = IMPORT_FAILED.format(why=f"{exc.remote_type}: {str(exc)[:200]}")
            self.close()
            raise WorkerFailure(self.fatal) from None
        except BaseException:
            self.fatal = IMPORT_FAILED.format(why="превышено время")
            self.close()
            raise
        finally:
            self.depth = 0
        if self.starts == 1:
            self.import_errors = [self._cell_error(e) for e in (errors if isinstance(errors, list) else [])]

    def _cell_error(self, entry) -> CellError | str:
        """A worker's ``[cell number, error]`` (anything else is shown as text)."""
        if isinstance(entry, list) and len(entry) == 2 and type(entry[0]) is int and isinstance(entry[1], str):
            return CellError(entry[0], entry[1][:500], self.first_lines.get(entry[0], ""))
        return str(entry)[:500]

    def close(self) -> None:
        box, self.box = self.box, None
        if box is not None:
            box.kill()
            if isinstance(box, _Forked):
                return  # its socket is closed by kill()
            for fd in (self.rfd, self.wfd):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def broken(self, why: str) -> WorkerFailure:
        """A reply the worker's own code never sends (forged by student code): stop the worker,
        which may still be answering, and fail the test with this."""
        self.close()
        return WorkerFailure(BROKEN.format(why=why))

    def alive(self) -> bool:
        return self.box is not None and self.box.proc.poll() is None

    def release(self, gen: int, rid: int) -> None:
        """A proxy of ``rid`` was dropped; the worker forgets the object once none is left."""
        if gen != self.gen or self.box is None:
            return
        left = self.refs.get(rid, 1) - 1
        if left > 0:
            self.refs[rid] = left
        else:
            self.refs.pop(rid, None)
            self.released.append(rid)

    # ---- transport
    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _hung(self):
        return WorkerFailure(HUNG.format(seconds=self.timeout if self.starts and self.fatal is None else self.import_timeout))

    def _wait_readable(self):
        while True:
            left = self._left()
            if left <= 0:
                raise self._hung()
            r, _, _ = select.select([self.rfd], [], [], min(left, 1.0))
            if r:
                return

    def _send(self, header: dict, blobs: list) -> None:
        import struct
        import json

        head = json.dumps(header, ensure_ascii=False).encode("utf-8")
        parts = [struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
        for b in blobs:
            parts += [struct.pack("<Q", len(b)), b]
        view = memoryview(b"".join(parts))
        while view:
            left = self._left()
            if left <= 0:
                raise self._hung()
            _, w, _ = select.select([], [self.wfd], [], min(left, 1.0))
            if w:
                try:
                    n = os.write(self.wfd, view[: 1 << 16])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError):
                    raise Closed("worker closed the channel") from None
                view = view[n:]

    # ---- encoding
    def _enc_other(self, obj):
        if isinstance(obj, RemoteMethod):
            obj = obj._resolve()
        if isinstance(obj, Remote):
            if obj._ch is not self or obj._gen != self.gen:
                raise WorkerFailure(STALE)
            return {"~": "ref", "id": obj._id}
        if callable(obj) and not isinstance(obj, type):
            key = id(obj)
            cid = self.callback_ids.get(key)
            if cid is None or self.callbacks.get(cid) is not obj:
                cid = len(self.callbacks) + 1
                self.callbacks[cid], self.callback_ids[key] = obj, cid
            return {"~": "cb", "id": cid}
        raise TypeError(f"в решение можно передавать только простые данные (массивы numpy, числа, строки, "
                        f"списки, словари) и объекты решения, а не {type(obj).__name__}")

    def _dec_ref(self, v):
        rid = v.get("id")
        if type(rid) is not int:
            raise ProtocolError("bad ref")
        if rid in self.released:        # dropped, not yet forgotten by the worker: alive again
            self.released.remove(rid)
        self.refs[rid] = self.refs.get(rid, 0) + 1
        return Remote(self, self.gen, rid, str(v.get("type", "object"))[:80], v.get("method") is True)

    def _dec_cb(self, v):
        fn = self.callbacks.get(v.get("id"))
        if fn is None:
            raise ProtocolError("unknown callback")
        return fn

    def _decode(self, v, blobs):
        return Decoder(blobs, self._dec_ref, self._dec_cb).dec(v)

    # ---- requests
    def request(self, op: str, target, *args):
        if self.fatal:
            raise WorkerFailure(self.fatal)
        if isinstance(target, Remote) and (target._ch is not self or target._gen != self.gen):
            raise WorkerFailure(STALE)
        if self.box is None:
            self.start()
        self.requests += 1
        enc = Encoder(self._enc_other, grad_tensors_as_values=True)
        payload = enc.enc([target if target is not None else None, *args])
        header = {"k": "req", "op": op, "a": payload}
        if self.released and self.depth == 0:
            header["rel"], self.released = self.released, []
        outer = self.depth == 0
        if outer:
            self.deadline = time.monotonic() + self.timeout
        self.depth += 1
        try:
            return self._roundtrip(header, enc.blobs, encoded=True)
        finally:
            self.depth -= 1

    def _roundtrip(self, header, args_or_blobs, encoded=False):
        if not encoded:
            enc = Encoder(self._enc_other)
            header["a"] = enc.enc(args_or_blobs)
            blobs = enc.blobs
        else:
            blobs = args_or_blobs
        try:
            self._send(header, blobs)
            while True:
                msg, mblobs = self.reader.read()
                k = msg.get("k")
                if k == "ok":
                    return self._decode(msg.get("v"), mblobs)
                if k == "err":
                    raise remote_exception(msg)
                if k == "missing":
                    raise _missing(str(msg.get("name", ""))[:100], self.import_errors)
                if k == "cb":
                    self._serve_callback(msg, mblobs)
                    continue
                raise ProtocolError(f"unexpected message {str(k)[:20]!r}")
        except (RemoteError, MissingDefinition):
            raise
        except WorkerFailure:
            self.close()
            raise
        except Closed:
            why = self._exit_reason()
            self.close()
            raise WorkerFailure(DIED.format(why=why)) from None
        except ProtocolError as exc:
            self.close()
            raise WorkerFailure(BROKEN.format(why=str(exc)[:100])) from None
        except BaseException:
            self.close()  # interrupted mid-request (test timeout): the channel is out of step
            raise

    def _exit_reason(self) -> str:
        box = self.box
        if box is None:
            return "процесс остановлен"
        try:
            rc = box.proc.wait(2)
        except Exception:  # noqa: BLE001
            return "канал закрыт"
        if rc is not None and rc < 0:
            return f"сигнал {-rc}"
        return f"код выхода {rc}"

    def _serve_callback(self, msg, blobs):
        fn = self.callbacks.get(msg.get("id"))
        if fn is None:
            raise ProtocolError("unknown callback")
        args, kwargs = self._decode([msg.get("a", []), msg.get("kw", {})], blobs)  # one Decoder: blobs once
        if type(args) is not list or type(kwargs) is not dict or not all(type(k) is str for k in kwargs):
            raise ProtocolError("bad callback arguments")
        try:
            result = fn(*args, **kwargs)
            enc = Encoder(self._enc_other, grad_tensors_as_values=True)
            reply, out = {"k": "ok", "v": enc.enc(result)}, enc.blobs
        except Exception as exc:  # noqa: BLE001 - the grader's function failed: tell the student's code
            reply, out = {"k": "err", "msg": f"{type(exc).__name__}: {exc}"[:2000]}, []
        self._send(reply, out)


class _Forked:
    """A worker forked by the runner, with the interface of ``sandbox.Sandboxed`` that the
    channel uses (``proc.poll``, ``proc.wait``, ``kill``)."""

    def __init__(self, link, pid: int, sock):
        self.link, self.pid, self.sock = link, pid, sock
        self.proc = self
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            self.returncode = self.link.wait(self.pid, timeout if timeout is not None else 2.0)
        return self.returncode

    def kill(self) -> None:
        self.sock.close()
        if self.returncode is None:
            self.link.kill(self.pid)


def _missing(name: str, errors: list) -> MissingDefinition:
    cells = "; ".join(str(e) for e in errors)
    hint = f" Ошибки при импорте ячеек: {cells}." if cells else ""
    return MissingDefinition(
        f"В решении нет определения `{name}`: проверьте, что ячейка с ним есть в ноутбуке "
        f"и имя не изменено (оно должно быть таким же, как в задании).{hint}")


class RemoteSubmission:
    """The submission as the fixture gives it to tests, its definitions living in the worker."""

    def __init__(self, nb, scratch: Path, isolation: str, limits: sandbox.Limits, timeout: float,
                 ro: list[Path] = (), link=None):
        defs = definitions(nb)
        self._syntax = list(defs.errors)
        self._sources = dict(defs.sources)
        self._computed = dict(defs.computed)  # values only cells compute (for NameError messages)
        object.__setattr__(self, "_channel", Channel(defs.cells, scratch, isolation, limits, timeout, ro=ro,
                                                               link=link))
        self._channel.first_lines = dict(defs.first_lines)

    @property
    def isolation(self) -> str:
        return self._channel.isolation

    def start(self) -> None:
        """Start the worker now (import the definitions); a failed import is kept for the tests."""
        try:
            self._channel.start()
        except WorkerFailure:
            pass

    @property
    def import_errors(self) -> list:
        return list(self._syntax) + [e for e in self._channel.import_errors]

    def has(self, name: str) -> bool:
        return self._channel.request("has", None, name) is True

    def _reseed(self, seed: int = 0) -> None:
        """Reset the worker's random generators (``submission.seed_generators``); a worker that
        cannot be reached is left alone: the test that follows reports why."""
        try:
            self._channel.request("seed", None, int(seed))
        except (WorkerFailure, RemoteError, MissingDefinition):
            pass

    def source_of(self, name: str) -> str:
        if name in self._sources:
            return self._sources[name]
        raise MissingDefinition(f"В решении нет определения `{name}`: исходный код не найден.")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._channel.request("getattr", None, name)

    def __dir__(self):
        names = self._channel.request("dir", None)
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def close(self) -> None:
        self._channel.close()


__all__ = ["RemoteSubmission", "Remote", "RemoteError", "WorkerFailure", "CellError", "weakref"]
