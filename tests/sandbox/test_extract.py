"""Importing a submission's definitions from its code cells."""
import nbformat

from autograder.sandbox.extract import definitions, load_module
from autograder.sandbox.submission import MissingDefinition, Submission

from engine.tiny import notebook


def _load(*sources):
    nb = notebook([("code", s) for s in sources])
    defs = definitions(nb)
    return load_module(defs), defs


def test_keeps_definitions_and_constants_skips_demo_code():
    module, defs = _load(
        "import numpy as np\nEPOCHS = 40\nALIAS = np.float64\nx = np.ones(3)\nprint('demo')",
        "def f(a):\n    return a + 1\nresult = f(1)\nwhile True:\n    pass",
    )
    assert module.EPOCHS == 40 and module.ALIAS is module.np.float64
    assert module.f(1) == 2
    assert not hasattr(module, "x") and not hasattr(module, "result")
    assert defs.errors == []


def test_magics_and_shell_lines_are_ignored():
    module, defs = _load("%matplotlib inline\n!pip install numpy\nimport math", "%%time\nraise SystemExit")
    assert module.math.pi > 3 and defs.errors == []


def test_failing_cell_is_reported_with_its_number_and_the_rest_imports():
    module, defs = _load("def ok():\n    return 1", "import no_such_module_xyz", "def f(:\n  pass", "def later():\n    return 2")
    assert module.ok() == 1 and module.later() == 2
    messages = [str(e) for e in defs.errors]
    assert messages[0].startswith("ячейка 2 («import no_such_module_xyz»): ModuleNotFoundError"), messages
    assert messages[1].startswith("ячейка 3 («def f(:»): SyntaxError"), messages


def test_cells_are_named_as_the_student_sees_them_markdown_included():
    nb = notebook([("markdown", "# Задание"), ("code", "import numpy as np"), ("markdown", "## 1. Linear"),
                   ("markdown", "Текст"), ("code", "\n\nclass Linear:\n    x = undefined_name"),
                   ("code", "def f(:\n  pass")])
    defs = definitions(nb)
    load_module(defs)
    messages = [str(e) for e in defs.errors]
    assert messages == ["ячейка 5 («class Linear:»): NameError: name 'undefined_name' is not defined строка 4",
                        "ячейка 6 («def f(:»): SyntaxError: invalid syntax (строка 1)"], messages


def test_reordered_cells_import_the_same():
    module, defs = _load("class B(A):\n    pass", "class A:\n    k = 7")
    assert module.B.k == 7 and defs.errors == []


def test_sys_exit_in_a_definition_cell_is_an_error_not_an_exit():
    module, defs = _load("import sys\nclass A:\n    sys.exit(3)", "def f():\n    return 1")
    assert module.f() == 1 and "SystemExit" in str(defs.errors[0])


def test_missing_definition_message_names_it():
    sub = Submission.from_notebook(notebook([("code", "def f():\n    return 1")]))
    try:
        sub.Linear
    except MissingDefinition as exc:
        assert "`Linear`" in str(exc)
    else:
        raise AssertionError("MissingDefinition not raised")
    assert sub.source_of("f").startswith("def f")
    assert sub.has("f") and not sub.has("Linear")


def test_values_computed_by_skipped_cells_are_recorded_with_their_cell():
    nb = notebook([
        ("code", "import numpy as np\nN = 3"),
        ("code", "layer = Linear(4, 3)\nbiases = np.array([3.14, 2.71])\nfor i in range(2):\n    total = i\n"
                 "def helper(z):\n    inner = z\n    return inner"),
        ("code", "weights, (a, b) = np.ones(3), (1, 2)\nN = N + 1"),
    ])
    defs = definitions(nb)
    assert defs.computed == {"layer": 2, "biases": 2, "i": 2, "total": 2, "weights": 3, "a": 3, "b": 3}
