"""Notebook 01 (convolution maths): 1D and 2D convolution and cross-correlation."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
)


def _pairs_2d(rng):
    """(image, kernel) pairs: hand-picked small ones, then random shapes."""
    cases = list(_SMALL_2D)
    for _ in range(8):
        h, w = rng.integers(3, 9, size=2)
        kh, kw = rng.integers(1, min(h, w) + 1, size=2)
        cases.append((rng.normal(size=(h, w)).round(3), rng.normal(size=(kh, kw)).round(3)))
    return cases


_SMALL_2D = (
    (np.arange(9.0).reshape(3, 3), np.array([[1.0, 0.0], [0.0, -1.0]])),
    (np.arange(12.0).reshape(3, 4), np.array([[1.0, 2.0, 3.0]])),
    (np.arange(1.0, 7.0).reshape(2, 3), np.array([[2.0]])),
    (np.arange(16.0).reshape(4, 4), np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])),
    (np.arange(6.0).reshape(2, 3), np.arange(1.0, 7.0).reshape(2, 3)),
)


def _convolve1d_cases(rng):
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])),
        (np.array([2.0, 0.0, 1.0]), np.array([1.0, -1.0, 3.0, 2.0])),  # w longer than x
        (np.array([4.0]), np.array([1.0, 2.0])),
    ]
    for _ in range(8):
        n, m = rng.integers(1, 10, size=2)
        cases.append((rng.normal(size=n).round(3), rng.normal(size=m).round(3)))
    return cases


def _valid_convolve2d(image, kernel):
    from course_utils.convolution import convolve2d

    return convolve2d(image, kernel, mode="valid")


def _valid_cross_correlate2d(image, kernel):
    from course_utils.convolution import cross_correlate2d

    return cross_correlate2d(image, kernel, mode="valid")


EXERCISES = (
    Exercise("convolve1d", _convolve1d_cases, np.convolve, same_array(), ("x", "w"),
             references=("convolve", "fftconvolve", "oaconvolve", "toeplitz_matrix")),
    Exercise("convolve2d", _pairs_2d, _valid_convolve2d, same_array(), ("image", "kernel"),
             references=("convolve2d", "fftconvolve", "oaconvolve", "correlate2d",
                         "cross_correlate2d", "convolve")),
    Exercise("cross_correlate2d", _pairs_2d, _valid_cross_correlate2d, same_array(),
             ("image", "kernel"),
             references=("cross_correlate2d", "correlate2d", "convolve2d", "correlate")),
)
