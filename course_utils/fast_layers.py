"""The maths of layers.py, vectorised: the pairs the CNN trains with, and every speed trick.

The same pairs as layers.py, with the same signatures and the same results (tested
equal, tests/test_layers.py), computed without Python loops over images, channels or
pixels:

    conv_forward(X, kernel, bias, v_stride, h_stride, pad) -> (Z, cache)      im2col
    conv_backward(dZ, cache, input_gradient=True) -> (dX, dkernel, dbias)
    max_pool_forward / average_pool_forward(X, kh, kw, v_stride, h_stride) -> (A, cache)
    max_pool_backward / average_pool_backward(dA, cache) -> dX
    activation_forward(Z, act_func) -> (A, cache), activation_backward(dA, cache) -> dZ

and the layers built on them, Convolution2DLayerOPT and Pooling2DLayerOPT (same
signatures as the readable layers). Read layers.py first; this file is about how to
make the same numbers fast (notebook 06 measures both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from . import _layer_base
from ._layer_base import Convolution2DBase, Pooling2DBase
from .activations import LRELU, LRELU_SLOPE
from .convolution import conv_output_size, padding_amounts, unfold_windows, unpad_gradient

__all__ = [
    "Convolution2DLayerOPT", "Pooling2DLayerOPT", "activation_backward", "activation_forward",
    "average_pool_backward", "average_pool_forward", "conv_backward", "conv_forward",
    "max_pool_backward", "max_pool_forward",
]


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def activation_forward(Z: np.ndarray, act_func: Callable) -> tuple[np.ndarray, tuple]:
    """As _layer_base.activation_forward, with LRELU in one pass.

    For 0 < slope < 1, max(z, slope * z) is z where z > 0 and slope * z elsewhere: the
    same numbers as LRELU's np.where, without its comparison mask (the activation is a
    noticeable part of a conv layer's time).
    """
    if act_func is LRELU:
        A = Z.dtype.type(LRELU_SLOPE) * Z
        return np.maximum(A, Z, out=A), (Z, act_func)  # out=: no second temporary
    return _layer_base.activation_forward(Z, act_func)


def activation_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """As _layer_base.activation_backward, with LRELU's f'(Z) * dA branch-free.

    (Z > 0) * (1 - slope) + slope is 1 where Z > 0 and slope elsewhere: exactly f'(Z) (for
    LRELU_SLOPE = 0.001, (1 - slope) + slope rounds to exactly 1 in float32 and float64).
    np.where branches on every element, and the signs of Z are as good as random, so the
    CPU mispredicts half of those branches: the arithmetic form is several times faster.
    """
    Z, act_func = cache
    if act_func is LRELU:
        slope = Z.dtype.type(LRELU_SLOPE)
        dZ = (Z > 0).astype(Z.dtype)
        dZ *= Z.dtype.type(1) - slope
        dZ += slope
        dZ *= dA
        return dZ
    return _layer_base.activation_backward(dA, cache)


# ---------------------------------------------------------------------------
# Convolution: im2col
# ---------------------------------------------------------------------------


def pad_images(X: np.ndarray, pads: tuple[int, int, int, int], circular: bool) -> np.ndarray:
    """X (N, C, H, W) with (top, bottom, left, right) rows/columns around it: zeros, or
    the opposite edge's pixels if circular. X itself if there is nothing to add."""
    top, bottom, left, right = pads
    if top == bottom == left == right == 0:
        return X
    if circular:
        return np.pad(X, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="wrap")
    # np.zeros + one slice assignment: several times cheaper than np.pad on small batches
    n_images, channels, height, width = X.shape
    X_padded = np.zeros(
        (n_images, channels, height + top + bottom, width + left + right), dtype=X.dtype
    )
    X_padded[:, :, top : top + height, left : left + width] = X
    return X_padded


def conv_forward(
    X: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    v_stride: int = 1,
    h_stride: int = 1,
    pad: str | int | tuple[int, int] = "same",
) -> tuple[np.ndarray, tuple]:
    """Z = cross_correlate(X, kernel) + bias as one matrix product (im2col).

    X (N, C, H, W), kernel (C, F, kh, kw), bias (F,) -> Z (N, F, out_h, out_w), as
    layers.conv_forward. im2col unrolls every kh x kw window of the padded batch into a
    column, cols (N, C*kh*kw, out_h*out_w), and Z = kernel_matrix @ cols with
    kernel_matrix (F, C*kh*kw).
    """
    feature_maps, kh, kw = kernel.shape[1:]
    n_images, _, height, width = X.shape
    pads = padding_amounts(pad, height, width, kh, kw, v_stride, h_stride)
    X_padded = pad_images(X, pads, circular=pad == "circular")
    cols = unfold_windows(X_padded, kh, kw, v_stride, h_stride)  # (N, C*kh*kw, P)
    padded_h, padded_w = X_padded.shape[2:]
    out_h, out_w = conv_output_size(padded_h, kh, v_stride), conv_output_size(padded_w, kw, h_stride)
    # (C, F, kh, kw) -> (F, C*kh*kw): the row order (c, a, b) matches im2col's columns.
    kernel_matrix = kernel.transpose(1, 0, 2, 3).reshape(feature_maps, -1)
    # (F, C*kh*kw) @ (N, C*kh*kw, P) -> (N, F, P): already in (N, F, ...) order
    Z = np.matmul(kernel_matrix, cols)
    Z += bias[:, None]  # in place: no second array of Z's size
    Z = Z.reshape(n_images, feature_maps, out_h, out_w)
    cache = (cols, kernel, v_stride, h_stride, pads, X.shape, X_padded.shape, pad == "circular")
    return Z, cache


def conv_backward(
    dZ: np.ndarray, cache: tuple, input_gradient: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dX, dkernel, dbias) from dZ (N, F, out_h, out_w), as layers.conv_backward.

    dkernel = sum_n dZ_n @ cols_n^T; dX is one (C, F) @ dZ product per kernel tap (a, b),
    added onto the pixels that tap read (col2im fused with the product, which adds up the
    pixels shared by overlapping windows). input_gradient=False skips dX (None).
    """
    cols, kernel, vs, hs, pads, X_shape, padded_shape, circular = cache
    channels, feature_maps, kh, kw = kernel.shape
    n_images, _, out_h, out_w = dZ.shape
    dZ_flat = dZ.reshape(n_images, feature_maps, out_h * out_w)  # (N, F, P)
    # dkernel_matrix[f, k] = sum_n sum_p dZ[n, f, p] * cols[n, k, p]: one small product per
    # image (cols transposed as a view, BLAS reads it as is), then a sum over images.
    # (tensordot would first copy cols into a (C*kh*kw, N*P) matrix.)
    dkernel_matrix = np.matmul(dZ_flat, cols.transpose(0, 2, 1)).sum(axis=0)
    dkernel = dkernel_matrix.reshape(feature_maps, channels, kh, kw).transpose(1, 0, 2, 3)
    dkernel, dbias = np.ascontiguousarray(dkernel), dZ.sum(axis=(0, 2, 3))
    if not input_gradient:
        return None, dkernel, dbias
    # dX: tap (a, b) sent X_pad[n, c, i*vs + a, j*hs + b] * kernel[c, f, a, b] to
    # Z[n, f, i, j], so it sends back kernel[:, :, a, b] @ dZ[n, :, i, j] to that pixel.
    # The (N, C*kh*kw, P) buffer of dcols = kernel^T @ dZ is never built, which keeps a
    # training step's peak memory down.
    _, _, padded_h, padded_w = padded_shape
    if vs == hs == 1:
        # Stride 1, "whole rows": lay dZ into rows as wide as the padded input (zeros in
        # the extra columns). Then the pixels tap (a, b) read for all outputs form ONE
        # contiguous run of the flattened padded image, starting at a*padded_w + b, and
        # each tap's scatter-add is one long add instead of out_h short ones (several
        # times faster). The extra columns carry zeros, so they add nothing; one spare
        # row at the bottom lets the last tap's run go past the image's end.
        dZ_rows = np.zeros((n_images, feature_maps, out_h, padded_w), dtype=dZ.dtype)
        dZ_rows[..., :out_w] = dZ
        dZ_rows = dZ_rows.reshape(n_images, feature_maps, out_h * padded_w)
        dX_flat = np.zeros((n_images, channels, (padded_h + 1) * padded_w), dtype=dZ.dtype)
        length = out_h * padded_w
        for a in range(kh):
            for b in range(kw):
                start = a * padded_w + b
                dX_flat[:, :, start : start + length] += np.matmul(kernel[:, :, a, b], dZ_rows)
        dX_padded = dX_flat.reshape(n_images, channels, padded_h + 1, padded_w)
    else:
        dX_padded = np.zeros(padded_shape, dtype=dZ.dtype)
        for a in range(kh):
            rows = slice(a, a + vs * (out_h - 1) + 1, vs)
            for b in range(kw):
                columns = slice(b, b + hs * (out_w - 1) + 1, hs)
                tap = np.matmul(kernel[:, :, a, b], dZ_flat)  # (N, C, P)
                dX_padded[:, :, rows, columns] += tap.reshape(n_images, channels, out_h, out_w)
    return unpad_gradient(dX_padded, pads, X_shape[2:], circular), dkernel, dbias


# ---------------------------------------------------------------------------
# Pooling: a loop over the kh*kw offsets of a window, not its out_h*out_w positions
# ---------------------------------------------------------------------------


def _offsets(kh: int, kw: int, vs: int, hs: int, out_h: int, out_w: int):
    """For each kernel offset (a, b): its number a*kw + b and the pixels it touches in all
    windows (window (i, j) covers rows i*vs + a, columns j*hs + b): one strided view."""
    for a in range(kh):
        rows = slice(a, a + vs * (out_h - 1) + 1, vs)
        for b in range(kw):
            yield a * kw + b, rows, slice(b, b + hs * (out_w - 1) + 1, hs)


def _pool_geometry(X_shape, kh, kw, vs, hs):
    return (X_shape[2] - kh) // vs + 1, (X_shape[3] - kw) // hs + 1


def max_pool_forward(
    X: np.ndarray, kernel_height: int, kernel_width: int, v_stride: int = 1, h_stride: int = 1
) -> tuple[np.ndarray, tuple]:
    """Maximum of every window, as layers.max_pool_forward. The cache keeps only the offset
    of each window's maximum (argmax), in the smallest integer type that holds it."""
    kh, kw, vs, hs = kernel_height, kernel_width, v_stride, h_stride
    out_h, out_w = _pool_geometry(X.shape, kh, kw, vs, hs)
    offsets = _offsets(kh, kw, vs, hs, out_h, out_w)
    _, rows, cols = next(offsets)
    result = X[:, :, rows, cols].copy()  # entry (0, 0) of every window
    # a uint8 for every usual window: less memory to write and compare
    index_type = np.min_scalar_type(kh * kw - 1)
    argmax = np.zeros(result.shape, dtype=index_type)
    for offset, rows, cols in offsets:
        values = X[:, :, rows, cols]  # entry (a, b) of every window, a strided view
        # Strictly greater: on ties the earlier offset keeps the gradient. Offsets come in
        # increasing order, so "argmax = offset where larger" is a maximum of argmax and
        # larger * offset: plain element-wise ufuncs, several times faster than boolean
        # indexing or np.copyto(where=) on these strided views.
        larger = values > result
        np.maximum(argmax, larger * index_type.type(offset), out=argmax)
        np.maximum(result, values, out=result)
    return result, (argmax, X.shape, X.dtype, kh, kw, vs, hs)


def max_pool_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """dX (N, C, H, W): each window's gradient goes to its (first) maximum."""
    argmax, X_shape, dtype, kh, kw, vs, hs = cache
    dX = np.zeros(X_shape, dtype=dtype)
    # Windows that do not overlap (stride >= window) never share a pixel: each offset's
    # pixels receive exactly one value, dA where the offset was the maximum, else 0,
    # written straight into dX by multiply(out=) (no temporary, no masked copy).
    disjoint = vs >= kh and hs >= kw
    for offset, rows, cols in _offsets(kh, kw, vs, hs, *dA.shape[2:]):
        if disjoint:
            np.multiply(dA, argmax == offset, out=dX[:, :, rows, cols])
        else:
            # += because with overlapping windows one pixel can be the max of several
            dX[:, :, rows, cols] += np.where(argmax == offset, dA, 0)
    return dX


def average_pool_forward(
    X: np.ndarray, kernel_height: int, kernel_width: int, v_stride: int = 1, h_stride: int = 1
) -> tuple[np.ndarray, tuple]:
    """Mean of every window, as layers.average_pool_forward."""
    kh, kw, vs, hs = kernel_height, kernel_width, v_stride, h_stride
    out_h, out_w = _pool_geometry(X.shape, kh, kw, vs, hs)
    offsets = _offsets(kh, kw, vs, hs, out_h, out_w)
    _, rows, cols = next(offsets)
    result = X[:, :, rows, cols].copy()
    for _, rows, cols in offsets:
        result += X[:, :, rows, cols]
    result /= X.dtype.type(kh * kw)
    return result, (X.shape, X.dtype, kh, kw, vs, hs)


def average_pool_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """dX (N, C, H, W): 1/(kh*kw) of each window's gradient to each of its pixels."""
    X_shape, dtype, kh, kw, vs, hs = cache
    dX = np.zeros(X_shape, dtype=dtype)
    share = dA / dtype.type(kh * kw)
    for _, rows, cols in _offsets(kh, kw, vs, hs, *dA.shape[2:]):
        dX[:, :, rows, cols] += share
    return dX


# ---------------------------------------------------------------------------
# The layers: the shells of _layer_base with these pairs
# ---------------------------------------------------------------------------


class Convolution2DLayerOPT(Convolution2DBase):
    """Convolutional layer, vectorised: same signature and results as
    layers.Convolution2DLayer, computed by this module's conv_forward/conv_backward
    (im2col). Notebook 06 explains im2col and measures this layer against the loop version.
    """

    conv_forward = staticmethod(conv_forward)
    conv_backward = staticmethod(conv_backward)
    activation_forward = staticmethod(activation_forward)
    activation_backward = staticmethod(activation_backward)


class Pooling2DLayerOPT(Pooling2DBase):
    """Pooling, vectorised: same signature and results as layers.Pooling2DLayer, computed
    by this module's max_pool_* / average_pool_* pairs."""

    pairs: ClassVar[dict[str, tuple[Callable, Callable]]] = {
        "max": (max_pool_forward, max_pool_backward),
        "average": (average_pool_forward, average_pool_backward),
    }
