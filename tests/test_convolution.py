"""Tests for course_utils.convolution: arithmetic, padding, im2col, Toeplitz forms, convolve2d."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import LECTURE_IMAGE, LECTURE_RESULT
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from course_utils import convolution
from course_utils.convolution import (
    _output_window,
    col2im,
    conv2d_matrix,
    conv_output_size,
    convolve2d,
    cross_correlate2d,
    im2col,
    pad_input,
    pool_output_size,
    same_padding,
    separable_factors,
    toeplitz_matrix,
)
from course_utils.convolve_methods import choose_method
from course_utils.layers import Convolution2DLayer

# derandomize + no database: every run draws the same examples (as in test_layers.py)
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)


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


@pytest.mark.parametrize(
    "pad, pattern",
    [
        ("SAME", r'pad must be "same", "valid".*got \'SAME\'. Did you mean "same"\?'),
        ("Valid", r'pad must be "same", "valid".*got \'Valid\'. Did you mean "valid"\?'),
    ],
)
def test_pad_input_names_are_lower_case_like_the_conv_layer(pad, pattern):
    X = np.zeros((1, 1, 5, 5))
    with pytest.raises(ValueError, match=pattern):
        pad_input(X, pad, 3, 3)
    with pytest.raises(ValueError, match=r"pad must be"):
        Convolution2DLayer(1, 1, 3, 3, pad=pad)  # the layer refuses the same names


def test_pad_input_keeps_float32():
    X = np.ones((1, 1, 4, 4), dtype=np.float32)
    assert pad_input(X, "same", 3, 3)[0].dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"pad": "full"}, r'pad must be "same", "valid".*\'full\''),
        ({"pad": -1}, r"pad must be .*-1"),
        ({"pad": 1.5}, r"pad must be .*1.5"),
        ({"pad": (1, 2, 3)}, r"pad .*pair"),
        ({"pad": (1, -2)}, r"pad must be .*pair .*\(1, -2\)"),
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


# ---------------------------------------------------------------------------
# convolve2d and cross_correlate2d against SciPy
# ---------------------------------------------------------------------------

MODES = ("full", "same", "valid")
METHODS = ("naive", "direct", "separable", "fft", "auto")


def _fits(mode, image_shape, kernel_shape):
    return mode != "valid" or all(k <= i for i, k in zip(image_shape, kernel_shape, strict=True))


@st.composite
def image_kernel(draw, rank_one=False):
    """Image 1..20 per side, kernel 1..7 per side (odd and even, may exceed the image)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = rng.normal(size=(draw(st.integers(1, 20)), draw(st.integers(1, 20))))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    if rank_one:
        kernel = np.outer(rng.normal(size=kh), rng.normal(size=kw))
    else:
        kernel = rng.normal(size=(kh, kw))
    return image, kernel


@FAST
@pytest.mark.parametrize("method", ["naive", "direct", "fft", "auto"])
@given(data=image_kernel())
def test_convolve2d_equals_scipy_for_every_method_and_mode(method, data):
    image, kernel = data
    for mode in MODES:
        if not _fits(mode, image.shape, kernel.shape):  # SciPy would swap the two: we refuse
            with pytest.raises(ValueError, match=r'mode="valid" needs a kernel no larger'):
                convolve2d(image, kernel, mode, method)
            continue
        expected = signal.convolve2d(image, kernel, mode)
        got = convolve2d(image, kernel, mode, method)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@FAST
@given(data=image_kernel(rank_one=True))
def test_convolve2d_separable_equals_scipy_for_rank_one_kernels(data):
    image, kernel = data
    for mode in MODES:
        if _fits(mode, image.shape, kernel.shape):
            expected = signal.convolve2d(image, kernel, mode)
            got = convolve2d(image, kernel, mode, "separable")
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@FAST
@pytest.mark.parametrize("method", METHODS)
@given(data=image_kernel(rank_one=True))
def test_cross_correlate2d_equals_scipy_correlate2d(method, data):
    image, kernel = data
    for mode in MODES:
        if _fits(mode, image.shape, kernel.shape):
            expected = signal.correlate2d(image, kernel, mode)
            got = cross_correlate2d(image, kernel, mode, method)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_cross_correlate2d_defaults_to_valid_and_is_convolution_with_rotated_kernel():
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(9, 8)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(
        cross_correlate2d(image, kernel), signal.correlate2d(image, kernel, "valid")
    )
    np.testing.assert_allclose(
        cross_correlate2d(image, kernel, "full"), convolve2d(image, kernel[::-1, ::-1], "full")
    )


def _gaussian(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return np.outer(g, g) / g.sum() ** 2


SOBEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


@pytest.mark.parametrize("kernel", [SOBEL, SOBEL.T, _gaussian(7, 1.5), _gaussian(24, 4.0)])
@pytest.mark.parametrize("method", ["separable", "direct", "fft", "auto"])
def test_filters_on_a_larger_image_equal_scipy(kernel, method):
    image = np.random.default_rng(4).uniform(0, 255, size=(61, 83))
    for mode in MODES:
        np.testing.assert_allclose(
            convolve2d(image, kernel, mode, method),
            signal.convolve2d(image, kernel, mode),
            rtol=1e-9,
            atol=1e-9,
        )


def test_lecture_6x6_worked_example_with_box_filter():
    image = LECTURE_IMAGE.astype(int)  # integers, as on the slide: promoted to float64
    kernel = np.ones((3, 3)) / 9
    for method in METHODS:
        np.testing.assert_array_equal(
            np.round(convolve2d(image, kernel, "valid", method), 2), LECTURE_RESULT
        )
        np.testing.assert_array_equal(
            np.round(cross_correlate2d(image, kernel, "valid", method), 2), LECTURE_RESULT
        )
    assert convolve2d(image, kernel, "same").shape == (6, 6)


@pytest.mark.parametrize("method", METHODS)
def test_convolve2d_keeps_float32_and_promotes_the_rest_to_float64(method):
    image = np.random.default_rng(5).uniform(0, 1, size=(12, 10))
    kernel = _gaussian(3, 1.0)
    reference = signal.convolve2d(image, kernel, "same")
    got32 = convolve2d(image.astype(np.float32), kernel.astype(np.float32), "same", method)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, reference, rtol=1e-5, atol=1e-6)
    assert convolve2d(image.astype(np.float32), kernel, "same", method).dtype == np.float64
    ints = convolve2d((image * 10).astype(int), np.ones((3, 3), dtype=int), "full", "direct")
    assert ints.dtype == np.float64
    np.testing.assert_array_equal(
        ints, signal.convolve2d((image * 10).astype(int), np.ones((3, 3), int))
    )


def test_separable_accepts_a_float32_rank_one_kernel_on_a_float64_image():
    # the kernel is rank 1 up to float32 rounding (s[1]/s[0] ~ 1e-8), far above float64 eps
    g = np.exp(-(np.linspace(-2, 2, 7) ** 2))
    kernel = np.outer(g, g).astype(np.float32)
    image = np.random.default_rng(0).random((20, 20))
    for mode in MODES:
        np.testing.assert_allclose(
            convolve2d(image, kernel, mode, "separable"),
            signal.convolve2d(image, kernel, mode),
            rtol=1e-6,
            atol=1e-7,
        )
        np.testing.assert_allclose(
            cross_correlate2d(image, kernel, mode, "separable"),
            signal.correlate2d(image, kernel, mode),
            rtol=1e-6,
            atol=1e-7,
        )
    with pytest.raises(ValueError, match="not separable"):  # float32 rank 2 is still refused
        convolve2d(image, np.eye(3, dtype=np.float32), method="separable")


def test_auto_uses_separable_passes_for_a_float32_rank_one_kernel_on_a_float64_image(
    monkeypatch,
):
    calls = []
    separable_passes = convolution.convolve_separable

    def spy(*args):
        calls.append(args)
        return separable_passes(*args)

    monkeypatch.setattr(convolution, "convolve_separable", spy)
    image = np.random.default_rng(1).uniform(0, 255, size=(427, 640))  # the photo's size
    kernel = _gaussian(11, 2.0).astype(np.float32)
    got = convolve2d(image, kernel, "same", "auto")
    assert len(calls) == 1, "auto did not pick the separable passes"
    np.testing.assert_allclose(got, signal.convolve2d(image, kernel, "same"), rtol=1e-6, atol=1e-6)


def test_auto_picks_separable_for_sobel_direct_for_small_and_fft_for_large_kernels():
    photo = (427, 640)
    window = _output_window("same", photo, (3, 3), lambda k: (k - 1) // 2)
    assert choose_method(photo, SOBEL, window) == "separable"  # 3 + 2 taps instead of 6
    window = _output_window("same", photo, (11, 11), lambda k: (k - 1) // 2)
    assert choose_method(photo, _gaussian(11, 2.0), window) == "separable"
    assert choose_method(photo, np.random.default_rng(0).normal(size=(3, 3)), window) == "direct"
    big = _gaussian(49, 6.0)
    window = _output_window("same", photo, big.shape, lambda k: (k - 1) // 2)
    assert choose_method(photo, big, window) == "fft"
    not_rank_one = np.arange(9.0).reshape(3, 3) ** 2
    assert choose_method(photo, not_rank_one, window) == "direct"


# ---------------------------------------------------------------------------
# separable_factors
# ---------------------------------------------------------------------------


def test_separable_factors_of_sobel_are_the_textbook_integers():
    column, row = separable_factors(SOBEL)
    np.testing.assert_array_equal(column, [1, 2, 1])
    np.testing.assert_array_equal(row, [1, 0, -1])
    np.testing.assert_array_equal(np.outer(column, row), SOBEL)


@FAST
@given(kh=st.integers(1, 9), kw=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_separable_factors_rebuild_any_rank_one_kernel(kh, kw, seed):
    rng = np.random.default_rng(seed)
    kernel = np.outer(rng.normal(size=kh), rng.normal(size=kw))
    column, row = separable_factors(kernel)
    assert column.shape == (kh,) and row.shape == (kw,)
    np.testing.assert_allclose(np.outer(column, row), kernel, rtol=1e-10, atol=1e-12)


def test_separable_factors_gaussian_zero_and_tolerance():
    gauss = _gaussian(9, 2.0)
    np.testing.assert_allclose(np.outer(*separable_factors(gauss)), gauss, rtol=1e-12)
    zero_column, zero_row = separable_factors(np.zeros((3, 4)))
    assert not zero_column.any() and not zero_row.any() and zero_row.shape == (4,)
    nearly = SOBEL + 1e-9 * np.eye(3)
    with pytest.raises(ValueError, match="not separable"):
        separable_factors(nearly)
    np.testing.assert_allclose(np.outer(*separable_factors(nearly, tol=1e-6)), nearly, atol=1e-8)


def test_separable_factors_rejects_rank_two_kernels():
    with pytest.raises(ValueError, match=r"kernel is not separable.*not rank 1"):
        separable_factors(np.eye(3))
    with pytest.raises(ValueError, match=r"kernel is not separable"):
        separable_factors(np.array([[1.0, 2.0], [3.0, 4.0]]))


# ---------------------------------------------------------------------------
# Toeplitz matrices
# ---------------------------------------------------------------------------


def test_toeplitz_matrix_is_the_lecture_polynomial_product():
    alpha = np.array([2.0, -1.0, 3.0])  # p(t) = 2 - t + 3t^2
    beta = np.array([1.0, 4.0, 0.0, -2.0])  # s(t) = 1 + 4t - 2t^3
    T = toeplitz_matrix(alpha, beta.size)
    assert T.shape == (6, 4)
    expected_first_columns = [[2, 0], [-1, 2], [3, -1], [0, 3], [0, 0], [0, 0]]
    np.testing.assert_array_equal(T[:, :2], expected_first_columns)
    np.testing.assert_allclose(T @ beta, np.convolve(alpha, beta))
    np.testing.assert_allclose(T @ beta, np.polymul(alpha, beta))
    # the commuted product of the lecture: a 6 x 3 matrix of beta times alpha
    np.testing.assert_allclose(toeplitz_matrix(beta, alpha.size) @ alpha, T @ beta)


@FAST
@given(m=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_toeplitz_matrix_times_x_is_np_convolve(m, n, seed):
    rng = np.random.default_rng(seed)
    w, x = rng.normal(size=m), rng.normal(size=n)
    T = toeplitz_matrix(w, n)
    assert T.shape == (n + m - 1, n)
    np.testing.assert_allclose(T @ x, np.convolve(w, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(T @ x, np.polymul(w, x), rtol=1e-12, atol=1e-12)
    for i in range(1, T.shape[0]):  # Toeplitz: constant along every descending diagonal
        for j in range(1, n):
            assert T[i, j] == T[i - 1, j - 1]


def test_conv2d_matrix_is_the_lecture_4x9_example():
    w00, w01, w10, w11 = 1.0, 2.0, 3.0, 4.0
    W_prime = conv2d_matrix(np.array([[w00, w01], [w10, w11]]), (3, 3))
    expected = [
        [w00, w01, 0, w10, w11, 0, 0, 0, 0],
        [0, w00, w01, 0, w10, w11, 0, 0, 0],
        [0, 0, 0, w00, w01, 0, w10, w11, 0],
        [0, 0, 0, 0, w00, w01, 0, w10, w11],
    ]
    np.testing.assert_array_equal(W_prime, expected)
    X = np.arange(9.0).reshape(3, 3)
    kernel = np.array([[w00, w01], [w10, w11]])
    np.testing.assert_allclose(W_prime @ X.ravel(), signal.correlate2d(X, kernel, "valid").ravel())


@FAST
@given(data=image_kernel())
def test_conv2d_matrix_times_flattened_image_is_valid_cross_correlation(data):
    image, kernel = data
    if not _fits("valid", image.shape, kernel.shape):
        with pytest.raises(ValueError, match="does not fit"):
            conv2d_matrix(kernel, image.shape)
        return
    W_prime = conv2d_matrix(kernel, image.shape)
    out_h, out_w = image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1
    assert W_prime.shape == (out_h * out_w, image.size)
    expected = signal.correlate2d(image, kernel, "valid").ravel()
    np.testing.assert_allclose(W_prime @ image.ravel(), expected, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------
# Bad input: a ValueError/TypeError that names the parameter
# ---------------------------------------------------------------------------

_IMG = np.ones((5, 6))
_K = np.ones((3, 3))
_NAN = np.where(np.eye(5, 6) > 0, np.nan, 1.0)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: convolve2d(np.ones((1, 5, 6)), _K), ValueError, r"image must have 2 dimensions"),
        (lambda: convolve2d(_IMG, np.ones(3)), ValueError, r"kernel must have 2 dimensions"),
        (lambda: convolve2d(_NAN, _K), ValueError, r"image contains 5 NaN"),
        (lambda: convolve2d(_IMG, _K * np.inf), ValueError, r"kernel contains 9 NaN or inf"),
        (lambda: convolve2d(np.array([["a"]]), _K), TypeError, r"image must be a numeric array"),
        (lambda: convolve2d(np.ones((0, 4)), _K), ValueError, r"image must have at least one row"),
        (lambda: convolve2d(_IMG, np.ones((2, 0))), ValueError, r"kernel must have at least one"),
        (
            lambda: convolve2d(_IMG, _K, mode="circular"),
            ValueError,
            r"mode must be one of .*'circular'",
        ),
        (
            lambda: convolve2d(_IMG, _K, method="winograd"),
            ValueError,
            r"method must be one of .*'winograd'",
        ),
        (lambda: cross_correlate2d(_IMG, _K, mode=None), ValueError, r"mode must be one of"),
        (
            lambda: convolve2d(_IMG, np.ones((6, 2)), "valid"),
            ValueError,
            r'mode="valid" needs a kernel no larger',
        ),
        (
            lambda: cross_correlate2d(_IMG, np.ones((2, 7))),
            ValueError,
            r'mode="valid" needs a kernel',
        ),
        (
            lambda: convolve2d(_IMG, np.eye(3), method="separable"),
            ValueError,
            r'method="separable" needs a rank-1 kernel.*not separable.*method="direct" or method="fft"',
        ),
        (lambda: separable_factors(np.ones(3)), ValueError, r"kernel must have 2 dimensions"),
        (
            lambda: separable_factors(_K, tol=-1),
            ValueError,
            r"tol must be a number in \[0, 1\), got -1",
        ),
        (lambda: separable_factors(_K, tol="big"), ValueError, r"tol must be"),
        (lambda: toeplitz_matrix(np.ones((2, 2)), 3), ValueError, r"w must have 1 dimensions"),
        (lambda: toeplitz_matrix([], 3), ValueError, r"w must hold at least one"),
        (lambda: toeplitz_matrix([1.0, np.nan], 3), ValueError, r"w contains 1 NaN"),
        (
            lambda: toeplitz_matrix([1.0, 2.0], 0),
            ValueError,
            r"n must be a positive integer, got 0",
        ),
        (lambda: conv2d_matrix(_K, (2, 5)), ValueError, r"kernel of shape \(3, 3\) does not fit"),
        (lambda: conv2d_matrix(_K, 5), ValueError, r"input_shape must be a pair"),
        (lambda: conv2d_matrix(_K, (5, -5)), ValueError, r"input_shape\[1\] must be a positive"),
    ],
)
def test_bad_input_raises_an_error_that_names_the_parameter(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------------------
# Keras: pad_input("same") + im2col give what a Conv2D layer gives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel_size, strides", [((4, 2), (2, 3)), ((3, 3), (2, 2)), ((2, 5), (1, 1))]
)
def test_pad_input_same_and_im2col_match_keras_conv2d(kernel_size, strides):
    from course_utils.keras_models import keras

    rng = np.random.default_rng(6)
    kh, kw = kernel_size
    X = rng.normal(size=(2, 3, 7, 9)).astype(np.float32)  # (N, C, H, W)
    kernel = rng.normal(size=(4, 3, kh, kw)).astype(np.float32)  # (F, C, kh, kw)
    layer = keras.layers.Conv2D(4, kernel_size, strides=strides, padding="same", use_bias=False)
    layer.build((None, 7, 9, 3))
    layer.set_weights([kernel.transpose(2, 3, 1, 0)])  # Keras: (kh, kw, C, F)
    expected = np.asarray(layer(X.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)

    X_padded, _ = pad_input(X, "same", kh, kw, *strides)
    out_h, out_w = (
        conv_output_size(X_padded.shape[2], kh, strides[0]),
        conv_output_size(X_padded.shape[3], kw, strides[1]),
    )
    got = (kernel.reshape(4, -1) @ im2col(X_padded, kh, kw, *strides)).reshape(2, 4, out_h, out_w)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
