"""Convolution maths: output-size arithmetic, padding, Toeplitz forms and 2D convolution.

Read top to bottom:
  conv_output_size, pool_output_size, same_padding   the arithmetic (notebook 03)
  padding_amounts, pad_input, unpad_gradient, im2col, col2im   batches (N, C, H, W) for the layers
  convolve2d, cross_correlate2d                      one image, five methods (notebooks 01, 06)

Also importable from here: toeplitz_matrix, conv2d_matrix (convolution as a matrix,
notebook 02; in toeplitz.py) and separable_factors (rank-1 kernels = outer(column, row);
with the fast methods of convolve2d and the cost model of method="auto" in
convolve_methods.py).

Conventions: images are (H, W), batches (N, C, H, W); "convolution" flips the
kernel, "cross-correlation" (what CNN layers compute) does not.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._validation import finite_array, non_negative_int, pad_spec, positive_int

# the fast methods of convolve2d and the cost model of method="auto" live apart:
from .convolve_methods import (
    choose_method,
    convolve_direct,
    convolve_fft,
    convolve_separable,
    padded_region,
    rank_one_tol,
    separable_factors,
)
from .toeplitz import conv2d_matrix, toeplitz_matrix  # convolution as a matrix (notebook 02)

__all__ = [
    "col2im", "conv2d_matrix", "conv_output_size", "convolve2d", "cross_correlate2d", "im2col",
    "pad_input", "padding_amounts", "pool_output_size", "same_padding", "separable_factors",
    "toeplitz_matrix", "unfold_windows", "unpad_gradient",
]


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
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------
# Batches of images (N, C, H, W): padding and im2col for the layers
# ---------------------------------------------------------------------------

def padding_amounts(
    pad,
    height: int,
    width: int,
    kernel_height: int,
    kernel_width: int,
    v_stride: int = 1,
    h_stride: int = 1,
) -> tuple[int, int, int, int]:
    """Rows and columns (top, bottom, left, right) that `pad` adds to a height x width input.

    pad: "same" (TensorFlow/Keras: the output has ceil(H / v_stride) positions, the odd
    zero goes at the bottom/right, see same_padding), "circular" (as many as "same", but
    filled with the rows and columns from the opposite edge, see pad_input), "valid"
    (none), an int p (p on every side) or a pair (ph, pw) (ph above and below, pw left
    and right).
    The one place where a `pad` argument is turned into numbers (layers use it too).
    """
    pad = pad_spec(pad)
    if pad == "circular" and (kernel_height > height or kernel_width > width):
        # a wider kernel would wrap round the torus and see some pixels twice
        raise ValueError(
            f"kernel {kernel_height}x{kernel_width} is larger than the input "
            f'{height}x{width}, which pad="circular" cannot wrap; use a kernel no larger '
            "than the input."
        )
    if pad in ("same", "circular"):
        top, bottom = same_padding(height, kernel_height, v_stride)
        left, right = same_padding(width, kernel_width, h_stride)
        return top, bottom, left, right
    if pad == "valid":
        return 0, 0, 0, 0
    ph, pw = pad if isinstance(pad, tuple) else (pad, pad)
    return ph, ph, pw, pw


def pad_input(
    X: np.ndarray,
    pad: str | int | tuple[int, int],
    kernel_height: int,
    kernel_width: int,
    v_stride: int = 1,
    h_stride: int = 1,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Pad a batch of images for a convolution (zeros, or wrapped round for "circular").

    Parameters
    ----------
    X : ndarray, shape (N, C, H, W)
        Batch of images (batch, channels, height, width).
    pad : "same", "circular", "valid", int or (ph, pw)
        Names are lower case, as in Convolution2DLayer. "same": exactly what TensorFlow/Keras do, so that the output has
        ceil(H / v_stride) x ceil(W / h_stride) positions; when the total
        padding of an axis is odd, the extra zero goes at the bottom/right
        (see `same_padding`). "circular": the same amounts, but the image is
        treated as a torus (periodic boundaries): the rows added above are the
        last rows of the image, those below the first rows, likewise for columns.
        "valid": no padding. An int p adds p zeros on
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
    top, bottom, left, right = padding_amounts(
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
    mode = "wrap" if pad == "circular" else "constant"
    X_padded = np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode)
    return X_padded, (top, bottom, left, right)


def unpad_gradient(
    dX_padded: np.ndarray,
    pads: tuple[int, int, int, int],
    image_shape: tuple[int, int],
    circular: bool = False,
) -> np.ndarray:
    """Gradient w.r.t. the unpadded input, from the gradient w.r.t. the padded one.

    dX_padded: (N, C, >= top + H + bottom, >= left + W + right); extra rows or columns
    beyond the padding are ignored. pads: (top, bottom, left, right) from pad_input.
    image_shape: (H, W). Zeros are not inputs, so their gradient is dropped. A wrapped
    row or column is a copy of an input pixel, so its gradient is added onto that pixel
    (needs every pad <= the image size, which padding_amounts ensures for "circular").
    """
    top, bottom, left, right = pads
    height, width = image_shape
    if not circular:
        return dX_padded[:, :, top : top + height, left : left + width]
    # Fold the rows back first (over the whole padded width), then the columns: a corner
    # of the padding is wrapped along both axes, so its gradient travels both ways.
    rows = dX_padded[:, :, top : top + height, : left + width + right].copy()
    rows[:, :, height - top :, :] += dX_padded[:, :, :top, : left + width + right]
    rows[:, :, :bottom, :] += dX_padded[:, :, top + height : top + height + bottom, : left + width + right]
    dX = rows[:, :, :, left : left + width].copy()
    dX[:, :, :, width - left :] += rows[:, :, :, :left]
    dX[:, :, :, :right] += rows[:, :, :, left + width : left + width + right]
    return dX


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
    kernel_height, kernel_width, v_stride, h_stride, _, _ = _check_windows(
        X.shape, kernel_height, kernel_width, v_stride, h_stride
    )
    return unfold_windows(X, kernel_height, kernel_width, v_stride, h_stride)


def unfold_windows(X: np.ndarray, kh: int, kw: int, vs: int, hs: int) -> np.ndarray:
    """The work of `im2col` without its input checks, for callers that checked X already.

    (N, C, H, W) -> (N, C*kh*kw, out_h*out_w); the vectorised conv layer calls this on
    every mini-batch.
    """
    n_images, channels = X.shape[:2]
    # Why no loop: sliding_window_view returns a *view* of shape
    # (N, C, H-kh+1, W-kw+1, kh, kw) whose window axes reuse X's row/column
    # strides, so window (p, q) starts at X[..., p, q] without copying anything.
    # Stepping the position axes by the stride keeps every vs-th window;
    # moving (kh, kw) in front of (out_h, out_w) and reshaping makes the one copy.
    windows = sliding_window_view(X, (kh, kw), axis=(2, 3))[:, :, ::vs, ::hs]
    out_h, out_w = windows.shape[2:4]
    cols = windows.transpose(0, 1, 4, 5, 2, 3)
    return cols.reshape(n_images, channels * kh * kw, out_h * out_w)


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
    X_shape = tuple(positive_int(f"X_shape[{axis}]", size) for axis, size in enumerate(X_shape))
    n_images, channels, height, width = X_shape
    kernel_height, kernel_width, v_stride, h_stride, out_h, out_w = _check_windows(
        X_shape, kernel_height, kernel_width, v_stride, h_stride
    )
    expected = (n_images, channels * kernel_height * kernel_width, out_h * out_w)
    if cols.shape != expected:
        raise ValueError(
            f"cols must have shape {expected} for X_shape={X_shape}, kernel "
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


def _check_windows(
    shape: tuple, kernel_height, kernel_width, v_stride, h_stride
) -> tuple[int, int, int, int, int, int]:
    """Check the window arguments of im2col / col2im for a padded input of `shape` (N, C, H, W).

    Returns (kernel_height, kernel_width, v_stride, h_stride, out_h, out_w) as ints.
    """
    kernel_height = positive_int("kernel_height", kernel_height)
    kernel_width = positive_int("kernel_width", kernel_width)
    v_stride = positive_int("v_stride", v_stride)
    h_stride = positive_int("h_stride", h_stride)
    out_h = _positions("kernel_height", shape[2], kernel_height, v_stride, shape)
    out_w = _positions("kernel_width", shape[3], kernel_width, h_stride, shape)
    return kernel_height, kernel_width, v_stride, h_stride, out_h, out_w


def _positions(name: str, size: int, k: int, stride: int, shape: tuple) -> int:
    """Output positions along one axis of an already padded input, or a ValueError naming `name`."""
    if k > size:
        raise ValueError(
            f"{name}={k} is larger than the input size {size} (input shape {shape}); "
            "pad the input first (pad_input) or use a smaller kernel."
        )
    return (size - k) // stride + 1


# ---------------------------------------------------------------------------
# 2D convolution of one image
# ---------------------------------------------------------------------------

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "naive", "direct", "separable", "fft")

def convolve2d(
    image: np.ndarray, kernel: np.ndarray, mode: str = "same", method: str = "auto"
) -> np.ndarray:
    """True 2D convolution of one image: Y[i, j] = sum_m sum_n X[i - m, j - n] W[m, n].

    Gives what scipy.signal.convolve2d(image, kernel, mode) gives (zero boundary),
    with a choice of algorithm.

    Parameters
    ----------
    image : array_like, shape (H, W)
        One grey image X (for a batch (N, C, H, W) use pad_input + im2col).
    kernel : array_like, shape (kh, kw)
        Filter W. Convolution flips it: Y is the cross-correlation of X with
        W rotated by 180 degrees.
    mode : {"same", "valid", "full"}
        "full": every overlap, shape (H + kh - 1, W + kw - 1).
        "same": shape (H, W), the centre of "full" starting at row (kh - 1) // 2
        and column (kw - 1) // 2 (SciPy's convention; for even kernels the extra
        row/column is cut at the end).
        "valid": only positions where the kernel lies inside the image, shape
        (H - kh + 1, W - kw + 1); a kernel larger than the image raises
        ValueError (SciPy would silently swap image and kernel).
    method : {"auto", "naive", "direct", "separable", "fft"}
        "naive": a Python loop over output pixels (teaching text, slow).
        "direct": loop over the kh * kw kernel taps, each adding a shifted
        copy of the image times one weight: O(kh kw H W) but vectorised.
        "separable": for rank-1 kernels W = outer(column, row), one vertical
        and one horizontal 1D pass: O((kh + kw) H W). Raises ValueError otherwise.
        "fft": multiply zero-padded spectra (convolution theorem): O(HW log HW),
        independent of the kernel size.
        "auto": the cheapest by a cost model (convolve_methods.choose_method:
        separable if rank 1 and cheap, direct for small kernels, fft for large ones).

    Returns
    -------
    Y : ndarray
        float32 if image and kernel are float32, else float64.
    """
    image, kernel, mode, method, tol = _check_convolution_inputs(image, kernel, mode, method)
    window = _output_window(mode, image.shape, kernel.shape, same_start=lambda k: (k - 1) // 2)
    return _convolve_window(image, kernel, window, method, tol)


def cross_correlate2d(
    image: np.ndarray, kernel: np.ndarray, mode: str = "valid", method: str = "auto"
) -> np.ndarray:
    """2D cross-correlation (what CNN layers compute): Y[i, j] = sum_m sum_n X[i + m, j + n] W[m, n].

    Gives what scipy.signal.correlate2d(image, kernel, mode) gives. It is the
    convolution with the kernel rotated by 180 degrees; shapes and methods are
    as in `convolve2d`. In mode "same" the output is the centre of "full"
    starting at row kh // 2 and column kw // 2 (SciPy's convention).
    """
    image, kernel, mode, method, tol = _check_convolution_inputs(image, kernel, mode, method)
    window = _output_window(mode, image.shape, kernel.shape, same_start=lambda k: k // 2)
    return _convolve_window(image, kernel[::-1, ::-1], window, method, tol)


def _check_convolution_inputs(image, kernel, mode, method):
    """Validate the arguments of convolve2d / cross_correlate2d before any work.

    Returns image and kernel in their common dtype, mode, method and the rank-1
    tolerance of the kernel's own dtype (see _rank_one_tol).
    """
    image = finite_array("image", image, ndim=2, layout="(H, W): one grey image")
    kernel = finite_array("kernel", kernel, ndim=2, layout="(kernel_height, kernel_width)")
    _nonempty_shape("image", image)
    _nonempty_shape("kernel", kernel)
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}.")
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    tol = rank_one_tol(kernel)  # before a float32 kernel is promoted to float64
    dtype = np.result_type(image.dtype, kernel.dtype)  # float32 only if both are float32
    return image.astype(dtype, copy=False), kernel.astype(dtype, copy=False), mode, method, tol


def _nonempty_shape(name: str, array: np.ndarray) -> tuple[int, ...]:
    if array.size == 0:
        raise ValueError(
            f"{name} must have at least one row and one column, got shape {array.shape}."
        )
    return array.shape


def _output_window(mode, image_shape, kernel_shape, same_start):
    """Rows and columns of the "full" result that `mode` keeps: (top, left, out_h, out_w)."""
    (height, width), (kh, kw) = image_shape, kernel_shape
    if mode == "full":
        return 0, 0, height + kh - 1, width + kw - 1
    if mode == "same":
        return same_start(kh), same_start(kw), height, width
    if kh > height or kw > width:
        raise ValueError(
            f'mode="valid" needs a kernel no larger than the image, got kernel shape '
            f'{kernel_shape} for image shape {image_shape}; use mode="same" or "full", '
            "or swap image and kernel."
        )
    return kh - 1, kw - 1, height - kh + 1, width - kw + 1


def _convolve_window(image, kernel, window, method, tol):
    """Convolution of image and kernel, restricted to `window` of the "full" result.

    tol: rank-1 tolerance for the separable method (see separable_factors).
    """
    if method == "auto":
        method = choose_method(image.shape, kernel, window, tol)
    if method == "naive":
        return _convolve_naive(image, kernel, window)
    if method == "direct":
        return convolve_direct(image, kernel, window)
    if method == "fft":
        return convolve_fft(image, kernel, window)
    try:
        column, row = separable_factors(kernel, tol)
    except ValueError as error:
        raise ValueError(
            f'method="separable" needs a rank-1 kernel; {error} '
            'Use method="direct" or method="fft" (or "auto").'
        ) from None
    return convolve_separable(image, column, row, window)



def _convolve_naive(image, kernel, window):
    """One output pixel at a time: rotate the kernel by 180 degrees, lay it on the
    patch under output pixel (p, q), multiply entry by entry and add up.

    The patch is the full kh x kw block (the lecture's loop sliced one column short).
    """
    kh, kw = kernel.shape
    _, _, out_h, out_w = window
    padded = padded_region(image, kernel.shape, window)
    flipped = kernel[::-1, ::-1]
    out = np.zeros((out_h, out_w), dtype=image.dtype)
    for p in range(out_h):
        for q in range(out_w):
            patch = padded[p : p + kh, q : q + kw]  # kh rows and kw columns, no fewer
            out[p, q] = np.sum(patch * flipped)
    return out
