"""The vectorised layers the CNN trains with, and every trick that only speed needs.

Same signatures and the same results as the readable layers of layers.py (tested equal,
tests/test_layers.py), computed without Python loops over images, channels or pixels:

  Convolution2DLayerOPT   im2col: the whole convolution as one matrix product
  Pooling2DLayerOPT       loops over the kh*kw offsets of a window, not its out_h*out_w positions

Read layers.py first; this file is about how to make the same numbers fast
(notebook 06 measures both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._layer_base import Convolution2DBase, Pooling2DBase, activation_backward
from .activations import LRELU, LRELU_SLOPE
from .convolution import conv_output_size, pad_input, unfold_windows

__all__ = ["Convolution2DLayerOPT", "Pooling2DLayerOPT"]


def _activate_fast(act_func: Callable, Z: np.ndarray) -> np.ndarray:
    """act_func(Z) for the vectorised layers, with LRELU in one pass.

    For 0 < slope < 1, max(z, slope * z) is z where z > 0 and slope * z elsewhere: the
    same numbers as LRELU's np.where, without its comparison mask (the activation is a
    noticeable part of a conv layer's time).
    """
    if act_func is LRELU:
        A = Z.dtype.type(LRELU_SLOPE) * Z
        return np.maximum(A, Z, out=A)  # out=: no second temporary of Z's size
    return np.asarray(act_func(Z), dtype=Z.dtype)


def _activation_backward_fast(act_func: Callable, Z: np.ndarray, dA: np.ndarray) -> np.ndarray:
    """activation_backward for the vectorised layers, with LRELU's f'(Z) * dA branch-free.

    (Z > 0) * (1 - slope) + slope is 1 where Z > 0 and slope elsewhere: exactly f'(Z) (for
    LRELU_SLOPE = 0.001, (1 - slope) + slope rounds to exactly 1 in float32 and float64; the
    tests compare with LRELU's derivative). np.where (and any masked copy) branches on every element, and
    the signs of Z are as good as random, so the CPU mispredicts half of those branches: the
    arithmetic form is several times faster. Each step is a plain float loop over Z's
    dtype (np.maximum(Z > 0, slope) would first cast the booleans element by element).
    """
    if act_func is LRELU:
        slope = Z.dtype.type(LRELU_SLOPE)
        dZ = (Z > 0).astype(Z.dtype)
        dZ *= Z.dtype.type(1) - slope
        dZ += slope
        dZ *= dA
        return dZ
    return activation_backward(act_func, Z, dA)


class Convolution2DLayerOPT(Convolution2DBase):
    """Convolutional layer, vectorised: same signature and results as Convolution2DLayer.

    im2col unrolls every kh x kw window of the padded batch into a column,
    cols (N, C*kh*kw, out_h*out_w), so the whole convolution becomes one matrix product
        Z = kernel_matrix @ cols,   kernel_matrix (F, C*kh*kw)
    Backward is more products: dkernel = sum_n dZ_n @ cols_n^T, and for dX one
    (C, F) @ dZ product per kernel tap (a, b), added onto the pixels that tap read (col2im
    fused with the product, which adds up the pixels shared by overlapping windows).
    No Python loop runs over images, channels or pixels; only over the kh*kw taps.
    Notebook 06 explains im2col and measures this layer against the loop version.
    """

    def _kernel_matrix(self, kernel: np.ndarray) -> np.ndarray:
        # (C, F, kh, kw) -> (F, C, kh, kw) -> (F, C*kh*kw): the row order (c, a, b)
        # matches the row order of im2col's columns.
        return kernel.transpose(1, 0, 2, 3).reshape(self.feature_maps, -1)

    def _pad(self, X: np.ndarray) -> np.ndarray:
        """X with the layer's padding around it (X itself if there is none); sets _pads."""
        n_images, channels, height, width = X.shape
        top, bottom, left, right = self._pads = self.padding(height, width)
        if top == bottom == left == right == 0:
            return X
        if self.pad == "circular":
            kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
            return pad_input(X, self.pad, kh, kw, vs, hs)[0]
        # np.zeros + one slice assignment: several times cheaper than np.pad on small batches
        X_padded = np.zeros(
            (n_images, channels, height + top + bottom, width + left + right), dtype=X.dtype
        )
        X_padded[:, :, top : top + height, left : left + width] = X
        return X_padded

    def _forward(self, X: np.ndarray) -> np.ndarray:
        kernel, bias = self._weights(X.dtype)
        kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        # Let go of the previous batch's columns before building new ones: otherwise both
        # buffers, the largest arrays of a training step, are alive at once.
        self._cols = self._Z = None
        X_padded = self._pad(X)
        cols = unfold_windows(X_padded, kh, kw, vs, hs)  # (N, C*kh*kw, P), P = out_h*out_w
        n_images, _, padded_h, padded_w = X_padded.shape
        out_h, out_w = conv_output_size(padded_h, kh, vs), conv_output_size(padded_w, kw, hs)
        # (F, C*kh*kw) @ (N, C*kh*kw, P) -> (N, F, P): already in (N, F, ...) order, so
        # no transpose of the output is needed
        Z = np.matmul(self._kernel_matrix(kernel), cols)
        Z += bias[:, None]  # in place: no second array of Z's size
        Z = Z.reshape(n_images, self.feature_maps, out_h, out_w)
        self._X_shape, self._padded_shape, self._cols, self._Z = X.shape, X_padded.shape, cols, Z
        return _activate_fast(self.act_func, Z)

    def _backward(self, dA: np.ndarray, input_gradient: bool = True) -> np.ndarray | None:
        """As Convolution2DLayer._backward. input_gradient=False skips dX (returns None):
        the CNN's first layer has nothing below it that needs dX."""
        kernel, _ = self._weights(dA.dtype)
        kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        n_images, _, out_h, out_w = dA.shape
        dZ = _activation_backward_fast(self.act_func, self._Z, dA)
        dZ_flat = dZ.reshape(n_images, self.feature_maps, out_h * out_w)  # (N, F, P)
        # dkernel_matrix[f, k] = sum_n sum_p dZ[n, f, p] * cols[n, k, p]: one small product per
        # image (cols transposed as a view, BLAS reads it as is), then a sum over images.
        # (tensordot would first copy cols into a (C*kh*kw, N*P) matrix.)
        dkernel_matrix = np.matmul(dZ_flat, self._cols.transpose(0, 2, 1)).sum(axis=0)
        dkernel = dkernel_matrix.reshape(
            self.feature_maps, self.input_channels, kh, kw
        ).transpose(1, 0, 2, 3)
        self.grads = {"kernel": np.ascontiguousarray(dkernel), "bias": dZ.sum(axis=(0, 2, 3))}
        if not input_gradient:
            return None
        # dX: kernel tap (a, b) sent X_pad[n, c, i*vs + a, j*hs + b] * kernel[c, f, a, b] to
        # Z[n, f, i, j], so it sends back kernel[:, :, a, b] @ dZ[n, :, i, j] to that pixel.
        # One (C, F) @ (N, F, P) product per tap, added onto the pixels the tap touched
        # (col2im fused with the product): the (N, C*kh*kw, P) buffer of dcols = kernel^T @ dZ
        # is never built, which keeps a training step's peak memory down.
        n_images, channels, padded_h, padded_w = self._padded_shape
        if vs == hs == 1:
            # Stride 1, "whole rows": lay dZ into rows as wide as the padded input (zeros in
            # the extra columns). Then the pixels tap (a, b) read for all outputs form ONE
            # contiguous run of the flattened padded image, starting at a*padded_w + b, and
            # each tap's scatter-add is one long add instead of out_h short ones (several
            # times faster). The extra columns carry zeros, so they add nothing; one spare
            # row at the bottom lets the last tap's run go past the image's end.
            dZ_rows = np.zeros((n_images, self.feature_maps, out_h, padded_w), dtype=dA.dtype)
            dZ_rows[..., :out_w] = dZ
            dZ_rows = dZ_rows.reshape(n_images, self.feature_maps, out_h * padded_w)
            dX_flat = np.zeros((n_images, channels, (padded_h + 1) * padded_w), dtype=dA.dtype)
            length = out_h * padded_w
            for a in range(kh):
                for b in range(kw):
                    start = a * padded_w + b
                    dX_flat[:, :, start : start + length] += np.matmul(kernel[:, :, a, b], dZ_rows)
            dX_padded = dX_flat.reshape(n_images, channels, padded_h + 1, padded_w)
        else:
            dX_padded = np.zeros(self._padded_shape, dtype=dA.dtype)
            for a in range(kh):
                rows = slice(a, a + vs * (out_h - 1) + 1, vs)
                for b in range(kw):
                    columns = slice(b, b + hs * (out_w - 1) + 1, hs)
                    tap = np.matmul(kernel[:, :, a, b], dZ_flat)  # (N, C, P)
                    dX_padded[:, :, rows, columns] += tap.reshape(
                        n_images, channels, out_h, out_w
                    )
        return self._unpad(dX_padded)


class Pooling2DLayerOPT(Pooling2DBase):
    """Pooling, vectorised: same signature and results as Pooling2DLayer.

    Loops over the kh*kw offsets (a, b) of a window instead of its out_h*out_w positions:
    offset (a, b) of every window at once is one strided view of X. Max pooling keeps the
    offset of each window's maximum (argmax) in the smallest integer type that holds it.
    """

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX (N, C, H, W) from dA (N, C, out_h, out_w)."""
        self._require_forward("_output_shape")
        return self._backward(self._check_dA(dA, self._output_shape, self._X_shape_dtype[1]))

    def _offsets(self, out_h: int, out_w: int):
        """For each kernel offset (a, b): its number and the pixels it touches in all windows.

        Window (i, j) covers rows i*v_stride + a, columns j*h_stride + b. Looping over
        the kh*kw offsets (instead of the out_h*out_w windows) touches every window at once.
        """
        for a in range(self.kernel_height):
            rows = slice(a, a + self.v_stride * (out_h - 1) + 1, self.v_stride)
            for b in range(self.kernel_width):
                cols = slice(b, b + self.h_stride * (out_w - 1) + 1, self.h_stride)
                yield a * self.kernel_width + b, rows, cols

    def _forward(self, X: np.ndarray) -> np.ndarray:
        _, out_h, out_w = self.output_shape(X.shape[1:])
        self._X = None  # the readable layer's backward reads X; this one needs only argmax
        offsets = self._offsets(out_h, out_w)
        _, rows, cols = next(offsets)
        result = X[:, :, rows, cols].copy()  # entry (0, 0) of every window
        # argmax: the offset a*kw + b of each window's maximum, in the smallest integer type
        # that holds kh*kw - 1 (a uint8 for every usual window: less memory to write and compare)
        index_type = np.min_scalar_type(self.kernel_height * self.kernel_width - 1)
        argmax = np.zeros(result.shape, dtype=index_type)
        for offset, rows, cols in offsets:
            values = X[:, :, rows, cols]  # entry (a, b) of every window, a strided view
            if self.pooling == "max":
                # Strictly greater: on ties the earlier offset keeps the gradient. Offsets come
                # in increasing order, so "argmax = offset where larger" is a maximum of
                # argmax and larger * offset: plain element-wise ufuncs, several times faster
                # than boolean indexing or np.copyto(where=) on these strided views.
                larger = values > result
                np.maximum(argmax, larger * index_type.type(offset), out=argmax)
                np.maximum(result, values, out=result)
            else:
                result += values
        if self.pooling == "average":
            result /= X.dtype.type(self.kernel_height * self.kernel_width)
        self._argmax = argmax if self.pooling == "max" else None
        self._X_shape_dtype = (X.shape, X.dtype)
        self._output_shape = result.shape
        return result

    def _backward(self, dA: np.ndarray) -> np.ndarray:
        X_shape, dtype = self._X_shape_dtype
        dX = np.zeros(X_shape, dtype=dtype)
        _, _, out_h, out_w = dA.shape
        # Windows that do not overlap (stride >= window) never share a pixel: each offset's
        # pixels receive exactly one value, dA where the offset was the maximum, else 0,
        # written straight into dX by multiply(out=) (no temporary, no masked copy).
        disjoint = self.v_stride >= self.kernel_height and self.h_stride >= self.kernel_width
        if self.pooling == "average":
            share = dA / dtype.type(self.kernel_height * self.kernel_width)
        for offset, rows, cols in self._offsets(out_h, out_w):
            if self.pooling == "average":
                dX[:, :, rows, cols] += share
            elif disjoint:
                np.multiply(dA, self._argmax == offset, out=dX[:, :, rows, cols])
            else:
                # += because with overlapping windows one pixel can be the max of several
                dX[:, :, rows, cols] += np.where(self._argmax == offset, dA, 0)
        return dX
