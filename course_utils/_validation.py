"""Small shared checks that turn a student's mistake into a ValueError that says what to fix.

Every public function of the package validates its inputs with these before doing
any work, so a bad call never leaves a half-updated model behind.
"""

from __future__ import annotations

import numbers

import numpy as np


def positive_int(name: str, value, hint: str = "") -> int:
    """Return `value` as int if it is a positive integer, else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be a positive integer, got {value!r}.{extra}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Return `value` as int if it is an integer >= 0, else raise ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}.")
    return int(value)


def finite_array(name: str, value, ndim: int | None = None, layout: str = "") -> np.ndarray:
    """Return `value` as a float ndarray after checking its rank and that it holds no NaN/inf.

    Integer input is converted to float64; float32 and float64 are kept as they are, so
    a float32 run stays cheap and a float64 run can be gradient-checked.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}.")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    if ndim is not None and array.ndim != ndim:
        where = f" {layout}" if layout else ""
        raise ValueError(f"{name} must have {ndim} dimensions{where}, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); clean or impute the data first."
        )
    return array
