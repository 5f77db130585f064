"""The wire protocol's caps and the grader's conversions: what a forged reply may cost the grader.

Memory is measured with ``tracemalloc`` (numpy reports its buffers to it), so a conversion or a
copy that should not happen shows up as a peak even when the machine could afford it.
"""
from __future__ import annotations

import io
import json
import os
import struct
import threading
import tracemalloc

import nbformat
import numpy as np
import pytest

from autograder.sandbox import wire
from autograder.sandbox.wire import Decoder, Encoder, ProtocolError, Reader
from autograder.testing import as_array, assert_close, assert_shape

MB = 2**20


def _nd(i: int, nbytes: int) -> dict:
    return {"~": "nd", "dt": "|u1", "sh": [nbytes], "b": i}


def _peak(fn) -> tuple[int, object]:
    """(peak bytes allocated while fn ran, what it raised or returned)."""
    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - the caller looks at it
            out = exc
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def _frame(header: dict, blobs: list[bytes]) -> bytes:
    head = json.dumps(header).encode()
    out = [struct.pack("<I", len(head)), head, struct.pack("<I", len(blobs))]
    for b in blobs:
        out += [struct.pack("<Q", len(b)), b]
    return b"".join(out)


def _read(frame: bytes):
    """The message a Reader reads from a pipe that carries ``frame`` and then closes."""
    r, w = os.pipe()

    def write():
        with os.fdopen(w, "wb") as f:
            try:
                f.write(frame)
            except BrokenPipeError:  # the Reader refused the message before its end
                pass

    writer = threading.Thread(target=write)
    writer.start()
    try:
        return Reader(r).read()
    finally:
        os.close(r)
        writer.join()


# --------------------------------------------------------------------------- the Decoder

def test_a_blob_referenced_twice_is_refused():
    blob = bytes(1000)
    with pytest.raises(ProtocolError, match="twice"):
        Decoder([blob], None, None).dec([_nd(0, 1000)] * 24)
    with pytest.raises(ProtocolError, match="twice"):
        Decoder([blob], None, None).dec([{"~": "bytes", "b": 0}, _nd(0, 1000)])


def test_a_message_decoding_to_more_than_its_budget_is_refused():
    blobs = [bytes(600), bytes(600)]
    assert [len(a) for a in Decoder(blobs, None, None, budget=1200).dec([_nd(0, 600), _nd(1, 600)])] == [600, 600]
    with pytest.raises(ProtocolError, match="too much"):
        Decoder(blobs, None, None, budget=1000).dec([_nd(0, 600), _nd(1, 600)])
    with pytest.raises(ProtocolError, match="too much"):
        Decoder(blobs, None, None, budget=1000).dec([{"~": "bytes", "b": 0}, {"~": "bytes", "b": 1}])


def test_a_forged_npy_header_is_refused_before_allocating():
    """An np.save blob whose header claims 2 GB and carries 8 bytes: np.load would allocate first."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (2**28,)})
    data = buf.getvalue() + bytes(8)
    peak, out = _peak(lambda: Decoder([data], None, None).dec({"~": "npy", "b": 0}))
    assert isinstance(out, ProtocolError) and "mismatch" in str(out), out
    assert peak < MB, f"{peak / MB:.0f} MB allocated for a refused array"


def test_a_forged_shape_cannot_overflow_the_size_check():
    with pytest.raises(ProtocolError, match="mismatch"):  # 2**32 * 2**32 wraps to 0 in int64
        Decoder([b""], None, None).dec({"~": "nd", "dt": "<f8", "sh": [2**32, 2**32], "b": 0})
    with pytest.raises(ProtocolError, match="shape"):
        Decoder([bytes(8)], None, None).dec({"~": "nd", "dt": "<f8", "sh": [1.0], "b": 0})


def test_malformed_containers_are_protocol_errors():
    for tag in ({"~": "tuple", "v": "x" * 1000}, {"~": "dict", "k": []}, {"~": "set"},
                {"~": "slice", "v": [1, 2]}, {"~": "dict", "k": [[1]], "v": [1]}):
        with pytest.raises(ProtocolError):
            Decoder([], None, None).dec(tag)


def test_legitimate_arrays_and_bytes_still_round_trip():
    value = [np.arange(12.0).reshape(3, 4), np.float32(2.5), b"raw", np.array([(1, 2.0)], dtype="i4,f8"),
             np.array(["ab", "c"]), np.zeros((0, 3))]
    enc = Encoder(lambda o: (_ for _ in ()).throw(TypeError(type(o).__name__)))
    header = enc.enc(value)
    out = Decoder(enc.blobs, None, None).dec(json.loads(json.dumps(header)))
    assert np.array_equal(out[0], value[0]) and type(out[1]) is np.float32 and out[2] == b"raw"
    assert out[3].dtype == value[3].dtype and out[3].tolist() == value[3].tolist()
    assert out[4].tolist() == ["ab", "c"] and out[5].shape == (0, 3)
    out[0][0, 0] = -1.0  # writable, as before


# --------------------------------------------------------------------------- the Reader

def test_a_reply_decodes_into_the_blob_it_was_read_into():
    """8 MB read from the pipe become the array: no second copy in the grader."""
    arr = np.arange(MB, dtype=np.float64)
    enc = Encoder(None)
    frame = _frame({"k": "ok", "v": enc.enc(arr)}, enc.blobs)
    header, blobs = _read(frame)
    peak, out = _peak(lambda: Decoder(blobs, None, None).dec(header["v"]))
    assert np.array_equal(out, arr) and out.flags.writeable
    assert peak < MB, f"decoding copied {peak / MB:.0f} MB"


def test_a_declared_blob_over_the_cap_is_refused_before_it_is_read():
    frame = _frame({"k": "ok", "v": None}, [])[:-4] + struct.pack("<I", 1) + struct.pack("<Q", wire.MAX_MESSAGE + 1)
    with pytest.raises(ProtocolError, match="too large") as info:
        _read(frame)  # nothing follows: a Reader that waited for the data would see the pipe close
    assert not isinstance(info.value, wire.Closed)
    header = json.dumps({"k": "ok", "v": "x"}).encode()
    with pytest.raises(ProtocolError, match="header too large"):
        _read(struct.pack("<I", wire.MAX_HEADER + 1) + header)


# --------------------------------------------------------------------------- conversions in the grader

def _oversized():
    """uint8 values that would be more than MAX_CONVERTED bytes as float64 (8.4 MB here)."""
    return np.ones(wire.MAX_CONVERTED // 8 + 1, dtype=np.uint8)


def test_as_array_refuses_an_oversized_value_before_converting_it():
    x = _oversized()
    peak, out = _peak(lambda: as_array(x, "f(x)"))
    assert isinstance(out, AssertionError) and "слишком большое" in str(out), out
    assert peak < MB, f"{peak / MB:.0f} MB converted before refusing"
    assert as_array(np.ones(10, np.uint8), "f(x)").dtype == np.float64


def test_assert_shape_and_scalar_comparisons_check_the_shape_before_converting():
    x = _oversized()
    for check in (lambda: assert_shape(x, (3,), "f(x)"), lambda: assert_close(x, 4.84, "f(x)")):
        peak, out = _peak(check)
        assert isinstance(out, AssertionError) and "неверная форма" in str(out), out
        assert peak < MB, f"{peak / MB:.0f} MB converted before the shape was checked"
    with pytest.raises(AssertionError, match="ожидался числовой массив, получено значение типа str"):
        assert_close("abc", 4.84, "f(x)")
    assert_close(np.float32(4.84), 4.84, "f(x)")


# --------------------------------------------------------------------------- forged frames from the worker

FORGE = r'''
import json, os, struct, sys, time
import numpy as np

def _forge(header, blobs=(), sizes=None):
    """Write a frame to the grader on the worker's own output fd, then never reply for real."""
    head = json.dumps(header).encode()
    data = [struct.pack("<I", len(head)), head, struct.pack("<I", len(sizes or blobs))]
    for b in blobs:
        data += [struct.pack("<Q", len(b)), b]
    for n in sizes or ():
        data.append(struct.pack("<Q", n))
    view = memoryview(b"".join(data))
    while view:
        view = view[os.write(int(sys.argv[2]), view):]
    time.sleep(60)

def ok():
    return 1

def reuse():
    _forge({"k": "ok", "v": [{"~": "nd", "dt": "|u1", "sh": [2**20], "b": 0}] * 24}, [bytes(2**20)])

def callback_reuse(f):
    cid = int(f.__name__.rsplit("_", 1)[1])
    nd = {"~": "nd", "dt": "|u1", "sh": [2**20], "b": 0}
    _forge({"k": "cb", "id": cid, "a": [nd], "kw": {"~": "dict", "k": ["x"], "v": [nd]}}, [bytes(2**20)])

def declared():
    _forge({"k": "ok", "v": None}, sizes=[2**40])

class LongStr:
    def __str__(self):
        _forge({"k": "ok", "v": "x" * 1_000_000})

class Big:
    def __array__(self, dtype=None, copy=None):
        return np.ones(%d, dtype=np.uint8)
''' % (wire.MAX_CONVERTED // 8 + 1)


@pytest.mark.slow
def test_forged_replies_fail_the_call_and_the_worker_is_restarted(tmp_path):
    from autograder.sandbox import isolation as sandbox
    from autograder.sandbox.remote import RemoteSubmission, WorkerFailure

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FORGE)])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sub = RemoteSubmission(nb, scratch, sandbox.probe("auto"), sandbox.Limits(memory_mb=1024), timeout=20)
    sub.start()
    try:
        assert sub.import_errors == []
        for call, why in ((lambda: sub.reuse(), "twice"), (lambda: sub.callback_reuse(lambda *a, **k: 0), "twice"),
                          (lambda: sub.declared(), "too large"), (lambda: str(sub.LongStr()), "str")):
            with pytest.raises(WorkerFailure, match="некорректный ответ") as info:
                call()
            assert why in str(info.value)
            assert sub.ok() == 1  # a fresh worker answers the next call
        big = sub.Big()
        peak, out = _peak(lambda: np.asarray(big, dtype=np.float64))
        assert isinstance(out, AssertionError) and "слишком большое" in str(out), out
        assert peak < 4 * wire.MAX_CONVERTED // 8, f"{peak / MB:.0f} MB for a refused conversion"
        with pytest.raises(AssertionError, match="слишком большое"):
            as_array(big, "Big()")
        assert sub._channel.starts == 5
    finally:
        sub.close()
