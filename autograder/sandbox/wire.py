"""The wire format between the grader and the sandboxed worker: plain data only, never pickle.

A message is ``<u32 header length><JSON header><u32 blob count>(<u64 length><bytes>)*``.
Values inside the header are JSON with tagged objects:

- ``null``/bools/ints/floats/strings and JSON lists are themselves;
- ``{"~": "tuple"|"dict"|"set", ...}``; ``{"~": "nd", "dt": "<f8", "sh": [3, 4], "b": i}`` a numeric
  numpy array or scalar as raw bytes in blob ``i`` (dtype checked: never object), other dtypes as
  ``{"~": "npy", "b": i}`` saved with ``np.save(allow_pickle=False)``; ``"torch": true, "rg": bool``
  marks a tensor (rebuilt as a tensor where torch is importable, else an array);
- ``{"~": "ref", "id": n, "type": "Name"}`` an object that lives in the worker;
- ``{"~": "cb", "id": n}`` a callable that lives in the grader (the worker calls back);
- ``{"~": "slice"|"ellipsis"|"dtype"|"type"|"bytes", ...}``.

Whatever arrives is decoded defensively: sizes, nesting depth and types are checked, arrays are
loaded with ``allow_pickle=False``.  Each blob is used at most once, and the bytes a message decodes
to are counted from its headers (dtype itemsize x shape) before anything is allocated, up to
``MAX_DECODED``.  A malformed or oversized message raises ``ProtocolError``.
"""
from __future__ import annotations

import io
import json
import math
import os
import struct
import sys

import numpy as np

# Caps on what one message may make the grader read and allocate.  Largest legitimate messages of
# the five rubrics (solutions graded with a counter, synthetic CIFAR-10): header 180 KB (a04),
# blob bytes 3.0 MB sent (a05: a batch of 250 CIFAR images, 3x32x32 float32; the same with the
# real data set) and 0.8 MB received (a04); the largest float64 array made from a student's value
# 0.8 MB.  The caps leave a margin of 40x or more, and together bound what one reply can cost the
# grader to about MAX_MESSAGE + 20 x MAX_HEADER (JSON objects) + MAX_CONVERTED.
MAX_HEADER = 8 * 2**20        # JSON header bytes
MAX_MESSAGE = 256 * 2**20     # blob bytes read per message
MAX_DECODED = 256 * 2**20     # bytes the Decoder allocates per message (arrays, bytes), counted first
MAX_CONVERTED = 64 * 2**20    # the largest array the grader converts a student's value to (as_array)
MAX_STR = 100_000             # characters of str()/repr() of a student's object
MAX_BLOBS = 100_000
MAX_DEPTH = 64
TOO_LARGE = ("{what}: значение слишком большое для проверки (форма {shape}, {mb:.0f} МБ как {dtype}; "
             "допускается не больше {limit} МБ): проверьте форму результата.")
PLAIN_SCALARS = (type(None), bool, int, float, str)


class ProtocolError(Exception):
    pass


class Closed(ProtocolError):
    pass


class TooLarge(AssertionError):
    """A student's value is too large to convert in the grader (the test fails with this)."""


def check_size(shape, dtype, what: str) -> None:
    """Refuse, before converting, an array of ``shape`` that would exceed MAX_CONVERTED bytes as
    ``dtype``.  shape: tuple of ints; what: the call that produced the value (the message)."""
    dt = np.dtype(dtype)
    nbytes = math.prod(shape) * dt.itemsize
    if nbytes > MAX_CONVERTED:
        raise TooLarge(TOO_LARGE.format(what=what, shape=tuple(shape), mb=nbytes / 2**20, dtype=dt.name,
                                        limit=MAX_CONVERTED // 2**20))


def _torch():
    return sys.modules.get("torch")


def array_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def load_array(data: bytes):
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise ProtocolError(f"bad array: {exc}") from None


def array_tag(enc: "Encoder", arr: np.ndarray, **extra) -> dict:
    """A numeric array as raw bytes plus dtype/shape in the header (the fast path of np.save)."""
    arr = arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
    if arr.dtype.hasobject or arr.dtype.fields is not None or arr.dtype.kind not in "biufcSUMm":
        return {"~": "npy", "b": enc.blob(array_bytes(arr)), **extra}  # np.save, allow_pickle=False
    return {"~": "nd", "dt": arr.dtype.str, "sh": list(arr.shape), "b": enc.blob(arr.tobytes()), **extra}


def _nd_layout(tag: dict) -> tuple[np.dtype, tuple]:
    """dtype and shape of an ``nd`` tag, checked (numeric, non-negative int dimensions)."""
    try:
        dt = np.dtype(str(tag.get("dt")))
    except Exception:  # noqa: BLE001 - whatever np.dtype refuses
        raise ProtocolError("bad array header") from None
    shape = tag.get("sh")
    if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("bad array shape")
    if dt.hasobject or dt.kind not in "biufcSUMm":
        raise ProtocolError("bad array dtype")
    return dt, tuple(shape)


def _npy_layout(data) -> tuple[np.dtype, tuple, int]:
    """dtype, shape and data offset of an ``np.save`` blob, read from its header alone."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}[version]
        shape, _, dt = read(fp)
    except Exception:  # noqa: BLE001 - a malformed header, whatever numpy raises
        raise ProtocolError("bad array header") from None
    if dt.hasobject or len(shape) > 32:
        raise ProtocolError("bad array dtype/shape")
    return dt, shape, fp.tell()


def array_from(tag: dict, data, charge=None) -> np.ndarray:
    """The array of an ``nd``/``npy`` tag; its size is checked against the blob and passed to
    ``charge(nbytes)`` (which may refuse) before anything is allocated.  An ``nd`` array takes
    over a ``bytearray`` blob without copying it (each blob is decoded once)."""
    npy = tag.get("~") == "npy"
    dt, shape, offset = _npy_layout(data) if npy else (*_nd_layout(tag), 0)
    nbytes = math.prod(shape) * dt.itemsize  # Python ints: a forged shape cannot overflow
    if dt.itemsize == 0 or nbytes != len(data) - offset:
        raise ProtocolError("array size mismatch")
    if charge is not None:
        charge(nbytes)
    if npy:
        return load_array(data)
    buf = data if type(data) is bytearray else bytearray(data)
    return np.frombuffer(buf, dtype=dt).reshape(shape)


class Encoder:
    """Encodes a value; ``on_other(obj)`` returns the tag dict for what is not plain data."""

    def __init__(self, on_other, grad_tensors_as_values: bool = False):
        self.blobs: list[bytes] = []
        self.on_other = on_other
        self.grad_values = grad_tensors_as_values

    def blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def enc(self, v, depth: int = 0):
        if depth > MAX_DEPTH:
            raise TypeError("структура данных слишком глубоко вложена")
        t = type(v)
        if t in PLAIN_SCALARS:
            return v
        if t is list:
            return [self.enc(x, depth + 1) for x in v]
        if t is tuple:
            return {"~": "tuple", "v": [self.enc(x, depth + 1) for x in v]}
        if t is dict:
            return {"~": "dict", "k": [self.enc(k, depth + 1) for k in v], "v": [self.enc(x, depth + 1) for x in v.values()]}
        if t in (set, frozenset):
            return {"~": "set", "v": [self.enc(x, depth + 1) for x in v]}
        if t is np.ndarray or (isinstance(v, np.generic) and t.__module__ == "numpy"):
            if isinstance(v, np.ndarray) and v.dtype.hasobject:
                return self.on_other(v)
            return array_tag(self, np.asarray(v), scalar=not isinstance(v, np.ndarray))
        if t is slice:
            return {"~": "slice", "v": [self.enc(v.start, depth + 1), self.enc(v.stop, depth + 1), self.enc(v.step, depth + 1)]}
        if v is Ellipsis:
            return {"~": "ellipsis"}
        if t is bytes:
            return {"~": "bytes", "b": self.blob(v)}
        if t is np.dtype or (isinstance(v, type) and issubclass(v, np.generic) and v.__module__ == "numpy"):
            return {"~": "dtype", "v": np.dtype(v).str}
        if v in (float, int, bool, complex, str):
            return {"~": "type", "v": v.__name__}
        torch = _torch()
        if torch is not None and t in (torch.Tensor, torch.nn.Parameter) and (self.grad_values or not v.requires_grad):
            data = v.detach().cpu()
            return array_tag(self, data.numpy(), torch=True, rg=bool(v.requires_grad))
        return self.on_other(v)


def _items(tag: dict, key: str, length: int | None = None) -> list:
    """``tag[key]``, which must be a JSON list (of ``length`` items when given)."""
    items = tag.get(key)
    if type(items) is not list or (length is not None and len(items) != length):
        raise ProtocolError(f"bad {tag.get('~')} tag")
    return items


class Decoder:
    """Decodes one message's values; ``budget``: the bytes it may allocate for them in all.

    Decode everything of one message with one Decoder: it remembers which blobs were used."""

    def __init__(self, blobs: list[bytes], on_ref, on_cb, budget: int = MAX_DECODED):
        self.blobs = blobs
        self.on_ref, self.on_cb = on_ref, on_cb
        self.used: set[int] = set()
        self.left = budget

    def _blob(self, i):
        if type(i) is not int or not 0 <= i < len(self.blobs):
            raise ProtocolError("bad blob index")
        if i in self.used:
            raise ProtocolError("blob used twice")
        self.used.add(i)
        return self.blobs[i]

    def _charge(self, nbytes: int) -> None:
        if nbytes > self.left:
            raise ProtocolError("message decodes to too much data")
        self.left -= nbytes

    def dec(self, v, depth: int = 0):
        if depth > MAX_DEPTH + 2:
            raise ProtocolError("too deep")
        t = type(v)
        if t in PLAIN_SCALARS:
            return v
        if t is list:
            return [self.dec(x, depth + 1) for x in v]
        if t is not dict:
            raise ProtocolError(f"unexpected {t.__name__}")
        tag = v.get("~")
        if tag == "tuple":
            return tuple(self.dec(x, depth + 1) for x in _items(v, "v"))
        if tag == "dict":
            keys = [self.dec(k, depth + 1) for k in _items(v, "k")]
            vals = [self.dec(x, depth + 1) for x in _items(v, "v")]
            try:
                return dict(zip(keys, vals))
            except TypeError:
                raise ProtocolError("unhashable key") from None
        if tag == "set":
            try:
                return set(self.dec(x, depth + 1) for x in _items(v, "v"))
            except TypeError:
                raise ProtocolError("unhashable item") from None
        if tag in ("nd", "npy"):
            arr = array_from(v, self._blob(v.get("b")), self._charge)
            if v.get("torch") is not True:
                return arr[()] if v.get("scalar") is True and arr.ndim == 0 else arr
            torch = _torch()
            if torch is None:
                return arr
            try:
                tensor = torch.from_numpy(arr)  # arr is writable and shared with nothing
            except TypeError:
                raise ProtocolError("bad tensor dtype") from None
            if v.get("rg") is True and tensor.is_floating_point():
                tensor.requires_grad_(True)
            return tensor
        if tag == "slice":
            a, b, c = (self.dec(x, depth + 1) for x in _items(v, "v", 3))
            return slice(a, b, c)
        if tag == "ellipsis":
            return Ellipsis
        if tag == "bytes":
            data = self._blob(v.get("b"))
            self._charge(len(data))
            return bytes(data)
        if tag == "dtype":
            try:
                dt = np.dtype(str(v["v"]))
            except TypeError:
                raise ProtocolError("bad dtype") from None
            if dt.hasobject:
                raise ProtocolError("object dtype")
            return dt
        if tag == "type":
            name = v.get("v")
            if name not in ("float", "int", "bool", "complex", "str"):
                raise ProtocolError("bad type")
            return {"float": float, "int": int, "bool": bool, "complex": complex, "str": str}[name]
        if tag == "ref":
            return self.on_ref(v)
        if tag == "cb":
            return self.on_cb(v)
        raise ProtocolError(f"unknown tag {tag!r}")


# --------------------------------------------------------------------------- framing

def write_message(fd: int, header: dict, blobs: list[bytes]) -> None:
    head = json.dumps(header, ensure_ascii=False, allow_nan=True).encode("utf-8")
    parts = [struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
    for b in blobs:
        parts += [struct.pack("<Q", len(b)), b]
    data = b"".join(parts)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class Reader:
    """Reads framed messages from a file descriptor; ``wait(deadline)`` is given by the caller.

    Small parts are read ahead in chunks of ``CHUNK`` bytes (one system call for a whole small
    message, not one per part); a large blob is read straight into its own buffer."""

    CHUNK = 1 << 16

    def __init__(self, fd: int, wait=None):
        self.fd = fd
        self.wait = wait  # callable(): blocks until readable or raises
        self.ahead = bytearray()

    def _exact(self, n: int) -> bytearray:
        """n bytes, in one buffer (a blob's array takes it over without a copy)."""
        ahead = self.ahead
        if n <= len(ahead):
            out = ahead[:n]
            del ahead[:n]
            return out
        buf = bytearray(n)
        view, got = memoryview(buf), len(ahead)
        view[:got] = ahead
        ahead.clear()
        while got < n:
            if self.wait is not None:
                self.wait()
            if n - got < self.CHUNK:
                data = os.read(self.fd, self.CHUNK)
                if not data:
                    raise Closed("channel closed")
                take = min(len(data), n - got)
                view[got:got + take] = data[:take]
                ahead += data[take:]
                got += take
                continue
            k = os.readv(self.fd, [view[got:got + (1 << 20)]])
            if not k:
                raise Closed("channel closed")
            got += k
        return buf

    def read(self) -> tuple[dict, list[bytearray]]:
        """One message: its header and blobs; sizes are checked before each part is read."""
        (n,) = struct.unpack("<I", self._exact(4))
        if n > MAX_HEADER:
            raise ProtocolError("header too large")
        try:
            header = json.loads(self._exact(n).decode("utf-8"))
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"bad header: {type(exc).__name__}") from None
        if type(header) is not dict:
            raise ProtocolError("header is not an object")
        (count,) = struct.unpack("<I", self._exact(4))
        if count > MAX_BLOBS:
            raise ProtocolError("too many blobs")
        blobs, total = [], 0
        for _ in range(count):
            (size,) = struct.unpack("<Q", self._exact(8))
            total += size
            if total > MAX_MESSAGE:
                raise ProtocolError("message too large")
            blobs.append(self._exact(size))
        return header, blobs
