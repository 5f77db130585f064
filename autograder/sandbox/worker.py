"""The worker: a sandboxed process that holds the submission's definitions and answers requests.

Started by ``autograder.sandbox.remote.Channel`` as ``python -m autograder.sandbox.worker IN_FD
OUT_FD``.  The first message gives the cells to import (``extract.load_module``); each later one
asks for one operation on a top-level name or on an object the worker holds (``getattr``, ``call``,
``setattr``, ...).  Replies carry only plain data (see ``autograder.sandbox.wire``) or handles to
objects kept here.  While a request runs, student code may call a grader-side callable: the worker
sends a ``cb`` message and serves nested requests until the grader answers.

Nothing here is trusted by the grader: student code runs in this process and may replace any of it.
"""
from __future__ import annotations

import builtins
import copy
import operator
import os
import sys
import traceback

import numpy as np

from .wire import MAX_STR, Closed, Decoder, Encoder, Reader, write_message

MAX_ITEMS = 1_000_000
SWEEP_BYTES = 32 * 2**20  # a sweep stops early (the grader sends the rest) past this many output bytes
BINOPS = {name: getattr(operator, name) for name in
          ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")}
UNOPS = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs}


def run_sweep(get_fn, args, slot, points, pick=None, restore=None, max_bytes=None) -> list:
    """``get_fn()(*args)`` once per point, in order (the worker's ``sweep`` and the grader's loop
    for its own functions, ``testing.gradcheck``).

    slot: int: ``args[slot]`` is replaced by ``points[k]``; ``(owner, name)``: ``owner.name`` is set
    to ``points[k]`` (and to ``restore`` at the end, whatever happens); None: ``points`` is a number
    of calls with the same arguments.  Array arguments are copied for every call (as if each call
    had crossed the wire).  pick: an attribute read from each result, or None.
    Returns the results; fewer than asked once they pass ``max_bytes`` (None: no limit).
    """
    count = points if slot is None else len(points)
    out, size = [], 0
    try:
        for k in range(int(count)):
            call = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            if type(slot) is int:
                call[slot] = points[k].copy()
            elif slot is not None:
                setattr(slot[0], slot[1], points[k].copy())
            result = get_fn()(*call)
            if pick is not None:
                result = getattr(result, pick)
            out.append(result)
            size += int(getattr(result, "nbytes", 0) or 0) + 64
            if max_bytes is not None and size > max_bytes:
                break
    finally:
        if slot is not None and type(slot) is not int:
            setattr(slot[0], slot[1], restore)
    return out


class GraderCallbackError(RuntimeError):
    """The grader's function that your code called failed."""


class _Missing(Exception):
    pass


class Worker:
    def __init__(self, fd_in: int, fd_out: int):
        self.reader = Reader(fd_in)
        self.fd_out = fd_out
        self.objs: dict[int, object] = {}
        self.ids: dict[int, int] = {}
        self.next_id = 1
        self.module = None

    # ---- encoding
    def ref(self, obj) -> dict:
        key = id(obj)
        rid = self.ids.get(key)
        if rid is None or self.objs.get(rid) is not obj:
            rid = self.next_id
            self.next_id += 1
            self.objs[rid], self.ids[key] = obj, rid
        try:
            name = type(obj).__name__
        except Exception:  # noqa: BLE001
            name = "object"
        method = type(obj).__name__ == "method"  # a bound method: the grader may call it by name next time
        return {"~": "ref", "id": rid, "type": str(name)[:80], "method": method}

    def encode(self, value):
        enc = Encoder(self.ref)
        return enc.enc(value), enc.blobs

    def decode(self, v, blobs):
        return Decoder(blobs, self._from_ref, self._callback).dec(v)

    def _from_ref(self, v):
        rid = v.get("id")
        if rid not in self.objs:
            raise ValueError("объект больше не существует")
        return self.objs[rid]

    def _callback(self, v):
        cid = v.get("id")
        worker = self

        def grader_function(*args, **kwargs):
            enc = Encoder(worker.ref)
            header = {"k": "cb", "id": cid, "a": enc.enc(list(args)), "kw": enc.enc(dict(kwargs))}
            write_message(worker.fd_out, header, enc.blobs)
            return worker.serve(until_reply=True)

        grader_function.__name__ = grader_function.__qualname__ = f"grader_function_{cid}"
        return grader_function

    # ---- requests
    def handle(self, msg: dict, blobs: list) -> None:
        for rid in msg.get("rel", ()):
            obj = self.objs.pop(rid, None)
            if obj is not None and self.ids.get(id(obj)) == rid:
                del self.ids[id(obj)]
        try:
            op = msg.get("op")
            args = self.decode(msg.get("a", []), blobs)
            result = getattr(self, "op_" + str(op))(*args)
        except _Missing as exc:
            write_message(self.fd_out, {"k": "missing", "name": str(exc)}, [])
            return
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from student code too
            write_message(self.fd_out, self.error(exc), [])
            return
        try:
            value, out = self.encode(result)
        except BaseException as exc:  # noqa: BLE001
            write_message(self.fd_out, self.error(exc), [])
            return
        write_message(self.fd_out, {"k": "ok", "v": value}, out)

    @staticmethod
    def error(exc: BaseException) -> dict:
        def safe(f, default=""):
            try:
                return str(f())[:2000]
            except BaseException:  # noqa: BLE001
                return default

        base = next((c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"), "Exception")
        frames = []
        try:
            for f in traceback.extract_tb(exc.__traceback__)[-30:]:
                frames.append([str(f.filename)[:200], int(f.lineno or 0), str(f.name)[:100], str(f.line or "")[:300]])
        except BaseException:  # noqa: BLE001
            pass
        return {"k": "err", "type": safe(lambda: type(exc).__name__, "Exception")[:100], "base": base,
                "msg": safe(lambda: exc), "frames": frames}

    def serve(self, until_reply: bool = False):
        while True:
            msg, blobs = self.reader.read()
            k = msg.get("k")
            if k == "req":
                self.handle(msg, blobs)
            elif until_reply and k == "ok":
                return self.decode(msg.get("v"), blobs)
            elif until_reply and k == "err":
                raise GraderCallbackError(str(msg.get("msg", ""))[:2000])
            elif k == "bye":
                os._exit(0)

    # ---- operations (names are the protocol)
    def op_init(self, cells):
        from .extract import Definitions, load_module

        defs = Definitions(cells=[(int(n), str(src)) for n, src in cells])
        self.module = load_module(defs)
        return [[e.cell, e.error] for e in defs.errors]

    def _target(self, target):
        return self.module if target is None else target

    def op_getattr(self, target, name):
        if target is None:
            try:
                return self.module.__dict__[name]
            except KeyError:
                raise _Missing(name) from None
        return getattr(target, name)

    def op_seed(self, target, seed):
        from .submission import seed_generators

        seed_generators(int(seed))

    def op_has(self, target, name):
        return name in self.module.__dict__

    def op_dir(self, target):
        if target is None:
            return sorted(k for k in self.module.__dict__ if not k.startswith("_"))
        return [str(x) for x in dir(target)]

    def op_setattr(self, target, name, value):
        setattr(target, name, value)

    def op_call(self, target, args, kwargs):
        return target(*args, **kwargs)

    def op_callmethod(self, target, name, args, kwargs):
        return getattr(target, name)(*args, **kwargs)

    def op_sweep(self, target, method, args, slot, points, pick, restore):
        """``target.method(*args)`` (``target(*args)`` when method is None) at every point: see
        ``run_sweep``; the reply stops early past SWEEP_BYTES (the grader asks for the rest)."""
        return run_sweep(lambda: target if method is None else getattr(target, method), args, slot, points,
                         pick, restore, SWEEP_BYTES)

    def op_getitem(self, target, key):
        return target[key]

    def op_setitem(self, target, key, value):
        target[key] = value

    def op_len(self, target):
        return int(len(target))

    def op_iter(self, target):
        out = []
        for item in target:
            out.append(item)
            if len(out) > MAX_ITEMS:
                raise ValueError("слишком много элементов")
        return out

    def op_contains(self, target, item):
        return bool(item in target)

    def op_array(self, target):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(target, torch.Tensor):
            target = target.detach().cpu().numpy()
        arr = np.array(np.asarray(target), copy=True)
        if arr.dtype.hasobject:
            raise TypeError(f"значение типа {type(target).__name__} не является числовым массивом")
        return arr

    def op_scalar(self, target, kind):
        conv = {"float": float, "int": int, "bool": bool, "index": operator.index, "str": str,
                "repr": repr, "complex": complex}[kind]
        value = conv(target)
        return value[:MAX_STR] if isinstance(value, str) else value

    def op_binop(self, target, name, other, reflected):
        fn = BINOPS[name]
        return fn(other, target) if reflected else fn(target, other)

    def op_unop(self, target, name):
        return UNOPS[name](target)

    def op_copy(self, target, deep):
        return copy.deepcopy(target) if deep else copy.copy(target)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fd_in, fd_out = int(argv[0]), int(argv[1])
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    builtins.input = lambda *a, **k: ""  # a notebook's input() must not block
    from .submission import seed_generators

    seed_generators(0)  # grades do not depend on when the worker started
    worker = Worker(fd_in, fd_out)
    try:
        worker.serve()
    except Closed:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
