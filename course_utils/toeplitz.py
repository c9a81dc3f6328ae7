"""Convolution as a matrix product (notebook 02): the Toeplitz matrix of 1D convolution
and the doubly block-Toeplitz matrix of 2D cross-correlation. Also importable from
course_utils.convolution.
"""

from __future__ import annotations

import numpy as np

from ._validation import finite_array, positive_int

__all__ = ["conv2d_matrix", "toeplitz_matrix"]


def toeplitz_matrix(w: np.ndarray, n: int) -> np.ndarray:
    """Matrix T of the full 1D convolution with `w`, so that T @ x == np.convolve(w, x).

    Parameters
    ----------
    w : array_like, shape (m,)
        Filter (for polynomials: the coefficients alpha_0 ... alpha_{m-1}).
    n : int
        Length of the vectors x it will multiply.

    Returns
    -------
    T : ndarray, shape (n + m - 1, n)
        T[i, j] = w[i - j] when 0 <= i - j < m, else 0: every column is w shifted
        down by one more row, so each descending diagonal is constant (Toeplitz).
        With x the coefficients of a second polynomial, T @ x holds the
        coefficients of the product: delta_i = sum_k w_k x_{i-k}.
    """
    w = finite_array("w", w, ndim=1, layout="(a 1D filter)")
    if w.size == 0:
        raise ValueError("w must hold at least one coefficient, got an empty array.")
    n = positive_int("n", n)
    m = w.size
    T = np.zeros((n + m - 1, n), dtype=w.dtype)
    for j in range(n):
        T[j : j + m, j] = w
    return T


def conv2d_matrix(kernel: np.ndarray, input_shape: tuple[int, int]) -> np.ndarray:
    """Matrix W' of the valid 2D cross-correlation: W' @ X.ravel() == correlate(X, kernel).ravel().

    Parameters
    ----------
    kernel : array_like, shape (kh, kw)
    input_shape : (H, W)
        Shape of the images X the matrix will act on (kh <= H, kw <= W).

    Returns
    -------
    W_prime : ndarray, shape (out_h * out_w, H * W), out_h = H - kh + 1, out_w = W - kw + 1
        Row p * out_w + q holds the kernel at the place of window (p, q) in the
        row-major flattened image and zeros elsewhere; for a 2x2 kernel on a 3x3
        image this is the 4 x 9 matrix of the lecture. Seen as an out_h x H grid of
        (out_w x W) blocks, block (p, r) is the Toeplitz band of kernel row r - p
        (zero unless 0 <= r - p < kh): the matrix is doubly block-Toeplitz. It is
        mostly zeros, which is why no library computes a convolution this way.
    """
    kernel = finite_array("kernel", kernel, ndim=2, layout="(kernel_height, kernel_width)")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 2:
        raise ValueError(f"input_shape must be a pair (H, W), got {input_shape!r}.")
    height = positive_int("input_shape[0]", input_shape[0])
    width = positive_int("input_shape[1]", input_shape[1])
    kh, kw = kernel.shape
    if kernel.size == 0:
        raise ValueError(f"kernel must have at least one row and one column, got shape {kernel.shape}.")
    if kh > height or kw > width:
        raise ValueError(
            f"kernel of shape {kernel.shape} does not fit in input_shape {(height, width)}; "
            "the valid cross-correlation needs kh <= H and kw <= W."
        )
    out_h, out_w = height - kh + 1, width - kw + 1
    W_prime = np.zeros((out_h * out_w, height * width), dtype=kernel.dtype)
    for p in range(out_h):
        for q in range(out_w):
            row = W_prime[p * out_w + q].reshape(height, width)  # a view: writes go to W'
            row[p : p + kh, q : q + kw] = kernel
    return W_prime
