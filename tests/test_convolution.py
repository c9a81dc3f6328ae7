"""Tests for course_utils.convolution: arithmetic, padding, im2col, Toeplitz forms, convolve2d."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from course_utils.convolution import (
    col2im,
    conv_output_size,
    im2col,
    pad_input,
    pool_output_size,
    same_padding,
)

FAST = settings(max_examples=60, deadline=None)


def _tf_same_padding(i: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's rule, as written in tensorflow/python/ops/nn_ops.py (conv "SAME")."""
    if i % s == 0:
        total = max(k - s, 0)
    else:
        total = max(k - (i % s), 0)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------
# Output-size arithmetic and "same" padding
# ---------------------------------------------------------------------------


def _count_positions(i: int, k: int, s: int, p: int) -> int:
    """Slide a kernel over a padded axis and count where it fits (brute force)."""
    return sum(1 for start in range(0, i + 2 * p, s) if start + k <= i + 2 * p)


def test_conv_output_size_matches_counting_kernel_positions():
    for i in range(1, 13):
        for k in range(1, 8):
            for s in range(1, 5):
                for p in range(4):
                    if k > i + 2 * p:
                        with pytest.raises(ValueError, match="k="):
                            conv_output_size(i, k, s, p)
                    else:
                        assert conv_output_size(i, k, s, p) == _count_positions(i, k, s, p)


def test_pool_output_size_matches_counting_windows():
    for i in range(1, 13):
        for k in range(1, i + 1):
            for s in range(1, 5):
                assert pool_output_size(i, k, s) == _count_positions(i, k, s, 0)


@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
def test_same_padding_matches_tensorflow_formula_for_even_and_odd_kernels(k, s):
    for i in range(1, 20):
        before, after = same_padding(i, k, s)
        assert (before, after) == _tf_same_padding(i, k, s)
        assert after - before in (0, 1)  # the extra zero goes after (bottom/right)
        assert conv_output_size(i + before + after, k, s) == -(-i // s)  # ceil(i / s)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: conv_output_size(0, 3), "i"),
        (lambda: conv_output_size(5, -1), "k"),
        (lambda: conv_output_size(5, 3, 0), "s"),
        (lambda: conv_output_size(5, 3, 1, -1), "p"),
        (lambda: conv_output_size(5.0, 3), "i"),
        (lambda: pool_output_size(4, 2, 0), "s"),
        (lambda: same_padding(4, 0), "k"),
    ],
)
def test_output_size_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"\b{name} must be"):
        call()


# ---------------------------------------------------------------------------
# pad_input
# ---------------------------------------------------------------------------


def test_pad_input_same_is_tensorflow_padding_with_extra_zero_bottom_right():
    X = np.arange(2 * 3 * 6 * 7, dtype=float).reshape(2, 3, 6, 7) + 1
    Xp, (top, bottom, left, right) = pad_input(X, "same", 4, 2, v_stride=1, h_stride=2)
    assert (top, bottom) == same_padding(6, 4, 1) == (1, 2)
    assert (left, right) == same_padding(7, 2, 2) == (0, 1)
    assert Xp.shape == (2, 3, 6 + 3, 7 + 1)
    np.testing.assert_array_equal(Xp[:, :, top : top + 6, left : left + 7], X)
    assert Xp.sum() == X.sum()  # only zeros were added
    assert conv_output_size(Xp.shape[2], 4, 1) == 6
    assert conv_output_size(Xp.shape[3], 2, 2) == 4


@pytest.mark.parametrize(
    "pad, expected",
    [
        ("valid", (0, 0, 0, 0)),
        ("VALID", (0, 0, 0, 0)),
        (0, (0, 0, 0, 0)),
        (2, (2, 2, 2, 2)),
        ((1, 3), (1, 1, 3, 3)),
        ([0, 2], (0, 0, 2, 2)),
        (np.int64(1), (1, 1, 1, 1)),
    ],
)
def test_pad_input_valid_int_and_pair(pad, expected):
    X = np.random.default_rng(0).normal(size=(1, 2, 5, 4))
    Xp, amounts = pad_input(X, pad, 3, 3)
    assert amounts == expected
    top, bottom, left, right = expected
    assert Xp.shape == (1, 2, 5 + top + bottom, 4 + left + right)
    np.testing.assert_array_equal(Xp[:, :, top : top + 5, left : left + 4], X)


def test_pad_input_keeps_float32():
    X = np.ones((1, 1, 4, 4), dtype=np.float32)
    assert pad_input(X, "same", 3, 3)[0].dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"pad": "full"}, r"pad must be one of \('same', 'valid'\).*'full'"),
        ({"pad": -1}, r"pad must be .*-1"),
        ({"pad": 1.5}, r"pad must be .*1.5"),
        ({"pad": (1, 2, 3)}, r"pad .*pair"),
        ({"pad": (1, -2)}, r"pad\[1\] must be"),
        ({"pad": "valid", "kernel_height": 7}, r"kernel 7x3 is larger than the padded input 5x5"),
        ({"pad": (1, 0), "kernel_width": 6}, r"kernel 3x6 is larger than the padded input 7x5"),
        ({"kernel_width": 0}, r"kernel_width must be a positive integer, got 0"),
        ({"v_stride": 0}, r"v_stride must be a positive integer"),
        ({"h_stride": -2}, r"h_stride must be a positive integer"),
    ],
)
def test_pad_input_bad_input_names_the_parameter(kwargs, pattern):
    args = {"X": np.zeros((1, 1, 5, 5)), "pad": "same", "kernel_height": 3, "kernel_width": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        pad_input(**args)


def test_pad_input_rejects_wrong_rank_and_nan():
    with pytest.raises(ValueError, match=r"X must have 4 dimensions \(N, C, H, W\)"):
        pad_input(np.zeros((5, 5)), "same", 3, 3)
    X = np.zeros((1, 1, 5, 5))
    X[0, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        pad_input(X, "same", 3, 3)


# ---------------------------------------------------------------------------
# im2col / col2im
# ---------------------------------------------------------------------------


def _correlate_batch(X, kernel, v_stride, h_stride):
    """Reference: kernel (F, C, kh, kw), X (N, C, H, W) -> (N, F, out_h, out_w) with scipy."""
    N, C = X.shape[:2]
    F = kernel.shape[0]
    maps = [
        [
            sum(signal.correlate2d(X[n, c], kernel[f, c], "valid") for c in range(C))
            for f in range(F)
        ]
        for n in range(N)
    ]
    return np.array(maps)[:, :, ::v_stride, ::h_stride]


batch_shapes = st.tuples(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 3),
).filter(lambda t: t[4] <= t[2] and t[5] <= t[3])


@FAST
@given(shape=batch_shapes, seed=st.integers(0, 2**32 - 1))
def test_im2col_matmul_equals_correlate2d(shape, seed):
    N, C, H, W, kh, kw, vs, hs = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, C, H, W))
    kernel = rng.normal(size=(2, C, kh, kw))
    cols = im2col(X, kh, kw, vs, hs)
    out_h, out_w = conv_output_size(H, kh, vs), conv_output_size(W, kw, hs)
    assert cols.shape == (N, C * kh * kw, out_h * out_w)
    Z = (kernel.reshape(2, -1) @ cols).reshape(N, 2, out_h, out_w)
    np.testing.assert_allclose(Z, _correlate_batch(X, kernel, vs, hs), rtol=1e-10, atol=1e-10)


def test_im2col_small_hand_example():
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    cols = im2col(X, 2, 2)
    # each column is one 2x2 window read row by row; windows in row-major order
    expected = np.array([[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]).T
    np.testing.assert_array_equal(cols[0], expected)
    np.testing.assert_array_equal(im2col(X, 2, 2, 2, 2)[0], [[0], [1], [3], [4]])


@FAST
@given(shape=batch_shapes, seed=st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col(shape, seed):
    N, C, H, W, kh, kw, vs, hs = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, C, H, W))
    cols = im2col(X, kh, kw, vs, hs)
    G = rng.normal(size=cols.shape)
    lhs = np.sum(cols * G)
    rhs = np.sum(X * col2im(G, X.shape, kh, kw, vs, hs))
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10)


def test_col2im_counts_window_overlaps():
    ones = np.ones((1, 1, 4, 4))
    counts = col2im(im2col(ones, 3, 3) * 0 + 1, ones.shape, 3, 3)[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])
    # stride 2 on a 5x5 input: pixels of the last row/col that no window covers get 0
    X = np.ones((1, 1, 6, 6))
    covered = col2im(np.ones((1, 4, 4)), X.shape, 2, 2, 3, 3)[0, 0]
    np.testing.assert_array_equal(covered[2], 0)


def test_im2col_col2im_keep_float32():
    X = np.ones((2, 3, 6, 6), dtype=np.float32)
    cols = im2col(X, 3, 3)
    assert cols.dtype == np.float32
    assert col2im(cols, X.shape, 3, 3).dtype == np.float32


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: im2col(np.zeros((4, 4)), 2, 2), r"X must have 4 dimensions"),
        (lambda: im2col(np.zeros((1, 1, 4, 4)), 5, 2), r"kernel_height=5 is larger than the input"),
        (lambda: im2col(np.zeros((1, 1, 4, 4)), 2, 5), r"kernel_width=5 is larger than the input"),
        (lambda: im2col(np.zeros((1, 1, 4, 4)), 2, 2, 0), r"v_stride must be a positive"),
        (lambda: im2col(np.full((1, 1, 4, 4), np.inf), 2, 2), r"X contains 16 NaN or inf"),
        (
            lambda: col2im(np.zeros((1, 4, 9)), (1, 1, 4, 4), 2, 2, 2, 2),
            r"cols must have shape \(1, 4, 4\)",
        ),
        (lambda: col2im(np.zeros((1, 4, 9)), (1, 4, 4), 2, 2), r"X_shape must be a tuple"),
        (
            lambda: col2im(np.zeros((1, 4, 9)), (1, 1, 0, 4), 2, 2),
            r"X_shape\[2\] must be a positive",
        ),
        (lambda: col2im(np.zeros((4, 9)), (1, 1, 4, 4), 2, 2), r"cols must have 3 dimensions"),
    ],
)
def test_im2col_col2im_bad_input_names_the_parameter(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
