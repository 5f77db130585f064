"""Autograder for the course "neural networks from scratch".

Students: ``from autograder import check; check()`` runs the public tests in the notebook.
Instructors: ``autograder grade CLASS_FOLDER`` (see README).
"""

__version__ = "0.1.0"


def check(task=None, assignment=None):
    """Run the public tests on the definitions in this kernel and print a table (see selfcheck)."""
    from .selfcheck import check as _check

    return _check(task, assignment)


__all__ = ["check", "__version__"]
