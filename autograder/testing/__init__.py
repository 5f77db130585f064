"""The small library that grading tests are written with.

Grading tests (``tests/grading/<assignment>.py``) import everything from here::

    from autograder.testing import assert_close, assert_gradient, numeric_gradient, arrays, batch_sizes

Nothing here imports or touches student code: a test passes plain data (arrays, numbers,
lists) to the objects it gets from the ``submission`` fixture and compares what comes back.
Files the student handed in are read with the ``submitted_file`` fixture (``files``).
"""
from .asserts import as_array, assert_close, assert_shape, assert_finite, assert_no_loops
from .files import check_checkpoint, load_state_dict, read_submitted
from .gradcheck import GRADIENT_ATOL, GRADIENT_RTOL, assert_gradient, numeric_gradient, rel_error, repeat_calls
from .reference import reference
from .strategies import arrays, batch_sizes, feature_counts, seeds, well_conditioned

__all__ = [
    "as_array",
    "assert_close",
    "assert_shape",
    "assert_finite",
    "assert_no_loops",
    "check_checkpoint",
    "load_state_dict",
    "read_submitted",
    "assert_gradient",
    "GRADIENT_RTOL",
    "GRADIENT_ATOL",
    "numeric_gradient",
    "rel_error",
    "repeat_calls",
    "reference",
    "arrays",
    "batch_sizes",
    "feature_counts",
    "seeds",
    "well_conditioned",
]
