"""Convolution maths: output-size arithmetic, padding, Toeplitz forms and 2D convolution.

Notebooks 01 (convolution), 02 (Toeplitz matrices), 03 (arithmetic) and 05 (fast
convolution) explain what is here.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import finite_array, non_negative_int, positive_int


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0) -> int:
    """Number of kernel positions along one axis.

    i: input size, k: kernel size, s: stride, p: zeros added on each side.
    Returns floor((i + 2p - k) / s) + 1  (Dumoulin & Visin, relationship 6).
    """
    i, k, s = positive_int("i", i), positive_int("k", k), positive_int("s", s)
    p = non_negative_int("p", p)
    if k > i + 2 * p:
        raise ValueError(
            f"kernel size k={k} is larger than the padded input i + 2p = {i + 2 * p}; "
            "use a smaller kernel or more padding."
        )
    return (i + 2 * p - k) // s + 1


def pool_output_size(i: int, k: int, s: int) -> int:
    """Number of pooling windows along one axis (no padding).

    i: input size, k: pooling window size, s: stride.
    Returns floor((i - k) / s) + 1  (Dumoulin & Visin, relationship 7).
    """
    return conv_output_size(i, k, s, 0)


def same_padding(i: int, k: int, s: int = 1) -> tuple[int, int]:
    """Zeros (before, after) that TensorFlow/Keras add along one axis for padding="same".

    The output has ceil(i / s) positions. The total padding needed is
    max((ceil(i/s) - 1) * s + k - i, 0); when it is odd, the extra zero goes
    *after* the input (bottom/right). This asymmetry is why an even kernel or a
    stride > 1 shifts the result by one pixel compared with symmetric padding.
    """
    i, k, s = positive_int("i", i), positive_int("k", k), positive_int("s", s)
    out = -(-i // s)  # ceil(i / s)
    total = max((out - 1) * s + k - i, 0)
    return total - total // 2, total // 2


# ---------------------------------------------------------------------------
# Batches of images (N, C, H, W): padding and im2col for the layers
# ---------------------------------------------------------------------------

_PAD_NAMES = ("same", "valid")


def _padding_amounts(pad, height: int, width: int, kernel_height: int, kernel_width: int,
                     v_stride: int, h_stride: int) -> tuple[int, int, int, int]:
    """Translate `pad` into zeros (top, bottom, left, right); see pad_input."""
    if isinstance(pad, str):
        name = pad.lower()
        if name == "same":
            top, bottom = same_padding(height, kernel_height, v_stride)
            left, right = same_padding(width, kernel_width, h_stride)
            return top, bottom, left, right
        if name == "valid":
            return 0, 0, 0, 0
        raise ValueError(
            f"pad must be one of {_PAD_NAMES}, an int or a pair (ph, pw), got {pad!r}."
        )
    if isinstance(pad, (tuple, list)):
        if len(pad) != 2:
            raise ValueError(
                f"pad as a sequence must be a pair (ph, pw) of zeros per side, got {pad!r}."
            )
        ph, pw = non_negative_int("pad[0]", pad[0]), non_negative_int("pad[1]", pad[1])
        return ph, ph, pw, pw
    try:
        p = non_negative_int("pad", pad)
    except ValueError:
        raise ValueError(
            f"pad must be one of {_PAD_NAMES}, an int >= 0 or a pair (ph, pw), got {pad!r}."
        ) from None
    return p, p, p, p


def pad_input(
    X: np.ndarray,
    pad: str | int | tuple[int, int],
    kernel_height: int,
    kernel_width: int,
    v_stride: int = 1,
    h_stride: int = 1,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Zero-pad a batch of images for a convolution or its backward pass.

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
        Batch of images (batch, channels, height, width).
    pad : "same", "valid", int or (ph, pw)
        "same": exactly what TensorFlow/Keras do, so that the output has
        ceil(H / v_stride) x ceil(W / h_stride) positions; when the total
        padding of an axis is odd, the extra zero goes at the bottom/right
        (see `same_padding`). "valid": no padding. An int p adds p zeros on
        every side; a pair (ph, pw) adds ph above and below, pw left and right.
    kernel_height, kernel_width : int
        Kernel size (needed by "same" and to check that the kernel fits).
    v_stride, h_stride : int
        Vertical and horizontal strides (needed by "same").

    Returns
    -------
    X_padded : ndarray, shape (N, C, H + top + bottom, W + left + right)
        Same dtype as X. It is X itself (no copy) when no padding is needed.
    (top, bottom, left, right) : tuple of int
        Zeros added on each side, so a backward pass can cut them off again.
    """
    X = finite_array("X", X, ndim=4, layout="(N, C, H, W)")
    kernel_height = positive_int("kernel_height", kernel_height)
    kernel_width = positive_int("kernel_width", kernel_width)
    v_stride = positive_int("v_stride", v_stride)
    h_stride = positive_int("h_stride", h_stride)
    _, _, height, width = X.shape
    if height < 1 or width < 1:
        raise ValueError(f"X must have H >= 1 and W >= 1, got shape {X.shape} (N, C, H, W).")
    top, bottom, left, right = _padding_amounts(
        pad, height, width, kernel_height, kernel_width, v_stride, h_stride
    )
    padded_h, padded_w = height + top + bottom, width + left + right
    if kernel_height > padded_h or kernel_width > padded_w:
        raise ValueError(
            f"kernel {kernel_height}x{kernel_width} is larger than the padded input "
            f"{padded_h}x{padded_w} (X shape {X.shape}, pad={pad!r}); "
            'use a smaller kernel, pad="same" or more padding.'
        )
    if top == bottom == left == right == 0:
        return X, (0, 0, 0, 0)
    X_padded = np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)))
    return X_padded, (top, bottom, left, right)


def im2col(
    X: np.ndarray,
    kernel_height: int,
    kernel_width: int,
    v_stride: int = 1,
    h_stride: int = 1,
) -> np.ndarray:
    """Unfold every kernel-sized window of an (already padded) batch into a column.

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
        Padded batch (see `pad_input`).
    kernel_height, kernel_width : int
        Window size kh x kw.
    v_stride, h_stride : int
        Step between windows.

    Returns
    -------
    cols : ndarray, shape (N, C * kh * kw, out_h * out_w)
        cols[n, (c * kh + a) * kw + b, p * out_w + q] = X[n, c, p * v_stride + a, q * h_stride + b]
        with out_h = floor((H - kh) / v_stride) + 1 and out_w likewise. A kernel
        of shape (F, C, kh, kw) reshaped to (F, C * kh * kw) then gives the
        cross-correlation of all feature maps as one matrix product:
        kernel.reshape(F, -1) @ cols has shape (N, F, out_h * out_w).
    """
    X = finite_array("X", X, ndim=4, layout="(N, C, H, W)")
    kernel_height = positive_int("kernel_height", kernel_height)
    kernel_width = positive_int("kernel_width", kernel_width)
    v_stride = positive_int("v_stride", v_stride)
    h_stride = positive_int("h_stride", h_stride)
    n_images, channels, height, width = X.shape
    out_h = _positions("kernel_height", height, kernel_height, v_stride, X.shape)
    out_w = _positions("kernel_width", width, kernel_width, h_stride, X.shape)
    # Why no loop: sliding_window_view returns a *view* of shape
    # (N, C, H-kh+1, W-kw+1, kh, kw) whose window axes reuse X's row/column
    # strides, so window (p, q) starts at X[..., p, q] without copying anything.
    # Stepping the position axes by the stride keeps every v_stride-th window;
    # moving (kh, kw) in front of (out_h, out_w) and reshaping makes the one copy.
    windows = sliding_window_view(X, (kernel_height, kernel_width), axis=(2, 3))
    windows = windows[:, :, ::v_stride, ::h_stride]
    cols = windows.transpose(0, 1, 4, 5, 2, 3)
    return cols.reshape(n_images, channels * kernel_height * kernel_width, out_h * out_w)


def col2im(
    cols: np.ndarray,
    X_shape: tuple[int, int, int, int],
    kernel_height: int,
    kernel_width: int,
    v_stride: int = 1,
    h_stride: int = 1,
) -> np.ndarray:
    """Fold columns back into an image batch, adding overlapping windows (adjoint of im2col).

    Parameters
    ----------
    cols : ndarray, shape (N, C * kh * kw, out_h * out_w)
        E.g. the gradient of the loss with respect to `im2col(X, ...)`.
    X_shape : (N, C, H, W)
        Shape of the padded input that was given to `im2col`.
    kernel_height, kernel_width, v_stride, h_stride : int
        The same values as for `im2col`.

    Returns
    -------
    dX : ndarray, shape X_shape
        dX[n, c, i, j] = sum of cols over every window position that covers
        pixel (i, j), so that <im2col(X), cols> == <X, col2im(cols)> for any X.
        This is exactly the gradient with respect to X in the backward pass.
    """
    cols = finite_array("cols", cols, ndim=3, layout="(N, C * kh * kw, out_h * out_w)")
    if not isinstance(X_shape, (tuple, list)) or len(X_shape) != 4:
        raise ValueError(f"X_shape must be a tuple (N, C, H, W), got {X_shape!r}.")
    n_images, channels, height, width = (
        positive_int(f"X_shape[{axis}]", size) for axis, size in enumerate(X_shape)
    )
    kernel_height = positive_int("kernel_height", kernel_height)
    kernel_width = positive_int("kernel_width", kernel_width)
    v_stride = positive_int("v_stride", v_stride)
    h_stride = positive_int("h_stride", h_stride)
    out_h = _positions("kernel_height", height, kernel_height, v_stride, tuple(X_shape))
    out_w = _positions("kernel_width", width, kernel_width, h_stride, tuple(X_shape))
    expected = (n_images, channels * kernel_height * kernel_width, out_h * out_w)
    if cols.shape != expected:
        raise ValueError(
            f"cols must have shape {expected} for X_shape={tuple(X_shape)}, kernel "
            f"{kernel_height}x{kernel_width} and strides ({v_stride}, {h_stride}), "
            f"got {cols.shape}; pass the values used in im2col."
        )
    cols = cols.reshape(n_images, channels, kernel_height, kernel_width, out_h, out_w)
    dX = np.zeros((n_images, channels, height, width), dtype=cols.dtype)
    # One vectorised scatter-add per kernel offset (a, b): every window adds its
    # (a, b) entry to the pixels p * v_stride + a, q * h_stride + b.
    for a in range(kernel_height):
        rows = slice(a, a + v_stride * (out_h - 1) + 1, v_stride)
        for b in range(kernel_width):
            columns = slice(b, b + h_stride * (out_w - 1) + 1, h_stride)
            dX[:, :, rows, columns] += cols[:, :, a, b]
    return dX


def _positions(name: str, size: int, k: int, stride: int, shape: tuple) -> int:
    """Output positions along one axis of an already padded input, or a ValueError naming `name`."""
    if k > size:
        raise ValueError(
            f"{name}={k} is larger than the input size {size} (input shape {shape}); "
            "pad the input first (pad_input) or use a smaller kernel."
        )
    return (size - k) // stride + 1
