"""Inside bubblewrap the host's layout is not visible (issue: autograder.__file__ named the course)."""
import os
import sys
from pathlib import Path

import nbformat
import pytest

import autograder
from autograder.engine.execute import execute
from autograder.sandbox import isolation as sandbox

pytestmark = pytest.mark.slow

SNOOP = r'''
import glob, os, sys, autograder, numpy
seen = [autograder.__file__, numpy.__file__, sys.executable, sys.prefix, sys.base_prefix, repr(sys.path),
        open("/proc/1/cmdline", "rb").read().decode("utf-8", "replace"),
        open("/proc/self/cmdline", "rb").read().decode("utf-8", "replace"), repr(dict(os.environ))]
for pattern in ("/opt/venv/lib/python*/site-packages/*.pth", "/opt/venv/lib/python*/site-packages/__editable__*",
                "/opt/venv/lib/python*/site-packages/*.dist-info/direct_url.json", "/opt/venv/pyvenv.cfg"):
    for f in glob.glob(pattern):
        seen.append(open(f, errors="replace").read())
print("SEEN", "\n".join(seen))
'''


def test_sandbox_shows_neutral_paths_only(tmp_path):
    isolation = sandbox.probe("auto")
    if isolation not in sandbox.FULL:
        pytest.skip(f"bubblewrap is not available here ({isolation})")
    data = tmp_path / "course-data"
    data.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SNOOP)])
    run = execute(nb, tmp_path / "scratch", 60, 120, isolation=isolation, limits=sandbox.Limits(), ro=[data])
    assert run.errors == [], run.errors
    text = "".join(o.get("text", "") for c in run.notebook.cells for o in c.outputs)
    assert "SEEN /opt/autograder/autograder/__init__.py" in text, text[:500]
    host = {str(Path(autograder.__file__).resolve().parents[1]), os.path.realpath(sys.prefix),
            os.path.realpath(sys.base_prefix), str(data)}
    host.discard("/usr")
    for path in host:
        assert path not in text, f"{path} is visible inside the sandbox"
    assert "--ro-bind" not in text  # bwrap's options are not in /proc/1/cmdline
