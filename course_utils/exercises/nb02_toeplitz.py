"""Notebook 02 (Toeplitz matrices): the matrix of a 1D convolution and of a 2D cross-correlation."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
)


def _toeplitz_cases(rng):
    cases = [
        (np.array([1.0, 2.0]), 3),
        (np.array([1.0, 2.0, 3.0]), 2),
        (np.array([5.0]), 4),
        (np.array([1.0, -1.0, 2.0]), 1),
    ]
    for _ in range(6):
        m, n = rng.integers(1, 7, size=2)
        cases.append((rng.normal(size=m).round(3), int(n)))
    return cases


def _toeplitz_reference(w, n):
    from course_utils.convolution import toeplitz_matrix

    return toeplitz_matrix(w, n)


def _conv2d_matrix_cases(rng):
    cases = [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), (3, 3)),  # the lecture's 4 x 9 example
        (np.array([[1.0, -1.0]]), (2, 3)),
        (np.array([[2.0]]), (2, 2)),
        (np.array([[1.0], [2.0], [3.0]]), (3, 2)),
    ]
    for _ in range(6):
        h, w = rng.integers(2, 6, size=2)
        kh, kw = rng.integers(1, min(h, w) + 1, size=2)
        cases.append((rng.normal(size=(kh, kw)).round(3), (int(h), int(w))))
    return cases


def _conv2d_matrix_reference(kernel, input_shape):
    from course_utils.convolution import conv2d_matrix

    return conv2d_matrix(kernel, input_shape)


EXERCISES = (
    Exercise("toeplitz", _toeplitz_cases, _toeplitz_reference, same_array(), ("w", "n"),
             references=("toeplitz_matrix", "toeplitz", "convolution_matrix")),
    Exercise("conv2d_matrix", _conv2d_matrix_cases, _conv2d_matrix_reference, same_array(),
             ("kernel", "input_shape"), references=("conv2d_matrix",)),
)
