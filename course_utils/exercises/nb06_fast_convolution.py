"""Notebook 06 (fast convolution): im2col and its adjoint col2im."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
)


def _im2col_reference(image, kernel_height, kernel_width):
    """One row per kernel position (row-major), each row the window read row by row.

    course_utils.convolution.im2col on a batch of one single-channel image, transposed:
    it returns (N, C * kh * kw, out_h * out_w), one column per position.
    """
    from course_utils.convolution import im2col

    return im2col(np.asarray(image, dtype=float)[None, None], kernel_height, kernel_width)[0].T


def _col2im_reference(cols, image_shape, kernel_height, kernel_width):
    """The adjoint of _im2col_reference: every row (one window) added back onto its pixels."""
    from course_utils.convolution import col2im

    columns = np.asarray(cols, dtype=float).T[None]
    return col2im(columns, (1, 1, *image_shape), kernel_height, kernel_width)[0, 0]



def _im2col_cases(rng):
    cases = [
        (np.arange(9.0).reshape(3, 3), 2, 2),
        (np.arange(12.0).reshape(3, 4), 1, 3),
        (np.arange(6.0).reshape(2, 3), 2, 3),
        (np.arange(4.0).reshape(2, 2), 1, 1),
    ]
    for _ in range(6):
        h, w = (int(v) for v in rng.integers(2, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        cases.append((rng.normal(size=(h, w)).round(3), kh, kw))
    return cases


def _col2im_cases(rng):
    cases = [
        (np.ones((4, 4)), (3, 3), 2, 2),           # how many windows hold each pixel
        (np.arange(24.0).reshape(6, 4), (3, 4), 2, 2),
        (np.arange(6.0).reshape(6, 1), (2, 3), 1, 1),
        (np.arange(12.0).reshape(2, 6), (3, 3), 2, 3),
        (np.arange(9.0).reshape(1, 9), (3, 3), 3, 3),
    ]
    for _ in range(6):
        h, w = (int(v) for v in rng.integers(2, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        cases.append((rng.normal(size=((h - kh + 1) * (w - kw + 1), kh * kw)).round(3),
                      (h, w), kh, kw))
    return cases


EXERCISES = (
    Exercise("im2col", _im2col_cases, _im2col_reference, same_array(),
             ("image", "kernel_height", "kernel_width"),
             references=("im2col", "unfold_windows", "sliding_window_view")),
    Exercise("col2im", _col2im_cases, _col2im_reference, same_array(),
             ("cols", "image_shape", "kernel_height", "kernel_width"), references=("col2im",)),
)
