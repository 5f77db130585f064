"""Marking the grader's reference implementations so that they never reach students.

A rubric may compute expected values with its own code (a reference softmax, a reference
training loop).  Such a helper is decorated with ``@reference``::

    from autograder.testing import reference

    @reference
    def reference_softmax(z):
        ...

``autograder release --bundle`` leaves every ``@reference`` function out of the student bundle,
and ``autograder release --check`` fails when a public test still needs one (or when any line of a
solution region appears in the bundle).  A public test that needs reference values compares with
literals (computed once, written into the rubric) or becomes ``@pytest.mark.hidden``.
"""
from __future__ import annotations

REFERENCE_ATTR = "__autograder_reference__"


def reference(fn):
    """Mark ``fn`` as a reference implementation: instructor-only, never in the student bundle."""
    setattr(fn, REFERENCE_ATTR, True)
    return fn


def is_reference(fn) -> bool:
    return getattr(fn, REFERENCE_ATTR, False) is True
