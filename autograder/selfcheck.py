"""Kept for released notebooks: their generated first cell runs ``from autograder.selfcheck import
start`` (``autograder.engine.checkcells.setup_cell``).  The code is ``autograder.authoring.selfcheck``."""
from .authoring.selfcheck import check, start

__all__ = ["check", "start"]
