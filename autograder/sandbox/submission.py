"""The object grading tests receive from the ``submission`` fixture.

Contract for test authors (it lets the submission later live in another process):
- read a top-level definition as an attribute: ``submission.Linear``, ``submission.train``;
- call it, call methods of what it returns, read and set their attributes;
- pass only plain data (numpy arrays, numbers, strings, lists, dicts) or the submission's
  own objects; compare results in the test with ``np.asarray`` and ``autograder.testing``;
- ``submission.source_of(name)`` gives a definition's source text (for "no loops" checks).
Never monkeypatch the submission, never ``isinstance`` against its classes, never trust
what it prints.
"""
from __future__ import annotations

import types

import nbformat

from .extract import CellError, Definitions, definitions, load_module


def seed_generators(seed: int = 0) -> None:
    """Seed the generators student code draws from: ``random``, numpy's global one, and torch's
    when the submission imported torch.  Every grading test starts from ``seed_generators(0)``."""
    import random
    import sys

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


class MissingDefinition(AssertionError, AttributeError):
    """A name the tests need is not defined by the submission (renamed, deleted, failed cell)."""


class Submission:
    """A student's definitions, imported from the code cells of a notebook."""

    def __init__(self, module: types.ModuleType, defs: Definitions):
        self._module = module
        self._defs = defs

    @classmethod
    def from_notebook(cls, nb: nbformat.NotebookNode) -> "Submission":
        defs = definitions(nb)
        return cls(load_module(defs), defs)

    @classmethod
    def from_namespace(cls, namespace: dict, sources: dict[str, str] | None = None) -> "Submission":
        """Wrap live definitions (the self-check grades what is in the student's kernel)."""
        module = types.ModuleType("submission")
        module.__dict__.update({k: v for k, v in namespace.items() if not k.startswith("_")})
        return cls(module, Definitions(sources=dict(sources or {})))

    @property
    def import_errors(self) -> list[CellError]:
        return list(self._defs.errors)

    def has(self, name: str) -> bool:
        return name in self._module.__dict__

    @property
    def _computed(self) -> dict[str, int]:
        """Global names only the notebook's skipped cells assign -> cell number."""
        return dict(self._defs.computed)

    def _reseed(self, seed: int = 0) -> None:
        """Reset the random generators the submission uses (private: a student's ``seed`` wins)."""
        seed_generators(seed)

    def source_of(self, name: str) -> str:
        """Source text of a top-level definition, as the student wrote it."""
        if name in self._defs.sources:
            return self._defs.sources[name]
        raise MissingDefinition(f"В решении нет определения `{name}`: исходный код не найден.")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._module.__dict__[name]
        except KeyError:
            cells = "; ".join(str(e) for e in self._defs.errors)
            hint = f" Ошибки при импорте ячеек: {cells}." if cells else ""
            raise MissingDefinition(
                f"В решении нет определения `{name}`: проверьте, что ячейка с ним есть в ноутбуке "
                f"и имя не изменено (оно должно быть таким же, как в задании).{hint}"
            ) from None

    def __dir__(self):
        return sorted(k for k in self._module.__dict__ if not k.startswith("_"))
