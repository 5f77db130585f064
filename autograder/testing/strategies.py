"""Hypothesis strategies for shapes and well-conditioned float arrays.

Arrays are drawn as (shape, seed) and filled from ``np.random.default_rng(seed)``: the
values are well conditioned (no NaN or inf, no huge magnitudes) and Hypothesis shrinks the
*shape*, so the smallest failing example it reports is the smallest input.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

#: batch sizes N: 1 is included on purpose (it catches squeeze and broadcasting bugs)
batch_sizes = st.integers(min_value=1, max_value=8)
#: feature counts D (or neurons): 1 is included on purpose
feature_counts = st.integers(min_value=1, max_value=6)
#: seeds for ``np.random.default_rng``
seeds = st.integers(min_value=0, max_value=2**16)


def _make(shape, seed, scale, offset_from_zero):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    if offset_from_zero:
        x = np.where(x >= 0, x + offset_from_zero, x - offset_from_zero)
    return x


def arrays(*shape, scale: float = 1.0, away_from_zero: float = 0.0):
    """Strategy for float64 arrays of the given shape.

    shape: ints or integer strategies, e.g. ``arrays(batch_sizes, 3)`` draws (N, 3) arrays.
    scale: standard deviation of the entries.
    away_from_zero: every entry has |x| >= this (use it for ReLU kinks in gradient checks).
    The failing example Hypothesis reports shows the array itself.
    """
    dims = [d if isinstance(d, st.SearchStrategy) else st.just(int(d)) for d in shape]

    @st.composite
    def draw_array(draw):
        shp = draw(st.tuples(*dims))
        return _make(shp, draw(seeds), scale, away_from_zero)

    return draw_array()


def well_conditioned(*shape, scale: float = 1.0):
    """Arrays for gradient checks: entries at least 0.1 away from zero (ReLU's kink)."""
    return arrays(*shape, scale=scale, away_from_zero=0.1)
