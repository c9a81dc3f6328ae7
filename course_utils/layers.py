"""The layers of our CNN: each computes forward(X) and, right beside it, backward(dA).

Images are batches of shape (N, C, H, W): N images, C channels, height H, width W.
Every layer follows one small interface (notebook 04 builds a CNN from them):

    A  = layer.forward(X)     output of the layer
    dX = layer.backward(dA)   gradient of the loss w.r.t. X, given dA = dLoss/dA;
                              also fills layer.grads (same keys and shapes as layer.params)

A layer never updates its own weights: the model (course_utils.cnn.CNN) hands each
gradient to that parameter's own scheduler. Computation happens in the dtype of the
data: float32 in gives float32 out (the stored float64 parameters are cast), float64
in gives float64 out, which is what the gradient checks in tests/test_layers.py use.

Differences from the lecture code (bugs fixed, see DESIGN.md):
  - no division of the convolution by kernel_height or by the number of channels;
  - the activation derivative is evaluated at the pre-activation z, then multiplied
    by the incoming gradient (never applied to the gradient itself);
  - the kernel gradient sums over every image and every output position;
  - pad="same" pads exactly as TensorFlow/Keras (extra zero at the bottom/right);
  - pooling backward walks every window, and overlapping windows add up;
  - the flatten layer only reshapes (no activation derivative), and dense layers
    have a proper bias vector instead of an input column of 0.01.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
from autograd import grad as _autograd_grad
from autograd import make_vjp as _autograd_make_vjp

from ._validation import finite_array, positive_int
from .activations import LRELU, LRELU_SLOPE, RELU, derivate, identity, sigmoid, softmax
from .convolution import pad_input, same_padding, unfold_windows

__all__ = [
    "Convolution2DLayer",
    "Convolution2DLayerOPT",
    "FlattenLayer",
    "FullyConnectedLayer",
    "Layer",
    "OutputLayer",
    "Pooling2DLayer",
]

Shape = tuple[int, ...]

# Activations applied element by element, whose derivative derivate() gives in closed form.
_ELEMENTWISE = (identity, sigmoid, RELU, LRELU)


# ---------------------------------------------------------------------------
# Small shared helpers
# ---------------------------------------------------------------------------


def _check_function(name: str, func) -> Callable:
    if not callable(func):
        raise TypeError(
            f"{name} must be a function such as LRELU, sigmoid or identity "
            f"(from course_utils.activations), got {func!r}."
        )
    return func


def _activation_backward(act_func: Callable, Z: np.ndarray, dA: np.ndarray) -> np.ndarray:
    """dZ = dLoss/dZ from dA = dLoss/dA, where A = act_func(Z).

    For an element-wise activation this is f'(Z) * dA, with f' evaluated at the
    pre-activation Z. Any other function (softmax, or your own) goes through
    autograd's vector-Jacobian product, which is exact for every function.
    """
    if act_func in _ELEMENTWISE:
        dZ = derivate(act_func)(Z) * dA
    else:
        vjp, _ = _autograd_make_vjp(act_func)(Z)
        dZ = vjp(dA)
    return np.asarray(dZ, dtype=Z.dtype)


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
    """_activation_backward for the vectorised layers, with LRELU's f'(Z) * dA branch-free.

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
    return _activation_backward(act_func, Z, dA)


def _init_scale(act_func: Callable, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the random initial weights.

    He et al. (2015), sqrt(2 / fan_in), for the ReLU family (keeps the variance of the
    activations constant through the layers); Glorot & Bengio (2010),
    sqrt(2 / (fan_in + fan_out)), for every other activation (sigmoid, identity, ...).
    """
    if act_func in (RELU, LRELU):
        return float(np.sqrt(2.0 / fan_in))
    return float(np.sqrt(2.0 / (fan_in + fan_out)))


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator, e.g. np.random.default_rng(2023), got {rng!r}."
        )
    return rng


def _check_seed(seed):
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(f"seed must be None or an integer >= 0, got {seed!r}.")
    return seed


def _check_pad(pad):
    """Validate pad = "same" | "valid" | int >= 0 | (ph, pw) at construction time."""
    message = (
        f'pad must be "same", "valid", an int >= 0 or a pair (ph, pw) of ints >= 0, '
        f"got {pad!r}."
    )
    if isinstance(pad, str):
        if pad not in ("same", "valid"):
            raise ValueError(message)
        return pad
    if isinstance(pad, (tuple, list)):
        if len(pad) != 2 or not all(_is_non_negative_int(p) for p in pad):
            raise ValueError(message)
        return (int(pad[0]), int(pad[1]))
    if not _is_non_negative_int(pad):
        raise ValueError(message)
    return int(pad)


def _is_non_negative_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= 0


def check_images(
    X, input_channels: int | None = None, name: str = "X", owner: str = "this layer"
) -> np.ndarray:
    """X as a finite float array of shape (N, C, H, W), with C == input_channels if given.

    owner names what fixes the channels in the error message ("this layer", or the CNN's
    "the first convolutional layer"). The CNN checks its data with this function too.
    """
    X = finite_array(name, X, ndim=4, layout="(N, C, H, W): images, channels, height, width")
    if X.shape[0] == 0:
        raise ValueError(f"{name} holds no images (shape {X.shape}); give at least one.")
    if input_channels is not None and X.shape[1] != input_channels:
        hint = f"give images with {input_channels} channel(s) on axis 1"
        if X.shape[3] == input_channels:
            hint = channels_last_hint(X.shape, name)
        raise ValueError(
            f"{name} has {X.shape[1]} channel(s) on axis 1 (shape {X.shape}) but {owner} has "
            f"input_channels={input_channels}; {hint}."
        )
    return X


def channels_last_hint(shape: tuple[int, ...], name: str) -> str:
    """The fix for images stored channels last (Keras' layout) where (N, C, H, W) is expected."""
    return (
        f"{name} looks like (N, H, W, C) = {shape}, channels last as in Keras; "
        f"course_utils expects (N, C, H, W): use {name}.transpose(0, 3, 1, 2)"
    )


def _check_image_shape(input_shape, layer: str) -> Shape:
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or not all(_is_non_negative_int(s) and s > 0 for s in input_shape)
    ):
        raise ValueError(
            f"{layer} needs images: input_shape must be (C, H, W) with positive sizes, "
            f"got {input_shape!r}."
        )
    return tuple(int(s) for s in input_shape)


class Layer:
    """Common interface of all layers.

    params, grads : dict[str, ndarray]   trainable arrays and their gradients (same keys)
    output_shape(input_shape) -> shape   shape of one sample after this layer (checks it fits)
    initialise(input_shape, rng)         create the weights for that input (no-op if none)
    forward(X) -> A, backward(dA) -> dX  see the module docstring
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def initialise(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Create the parameters for inputs of shape input_shape (one sample); return the
        output shape. Layers without parameters only check the shape."""
        _check_rng(rng)
        return self.output_shape(input_shape)

    @property
    def n_parameters(self) -> int:
        """Number of trainable numbers in this layer."""
        return int(sum(p.size for p in self.params.values()))

    def forward(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dA: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_dA(self, dA, expected_shape: Shape, dtype) -> np.ndarray:
        dA = finite_array("dA", dA)
        if dA.shape != tuple(expected_shape):
            raise ValueError(
                f"dA must have the shape of this layer's last output {tuple(expected_shape)}, "
                f"got {dA.shape}; call forward(X) first and pass dLoss/dA of that output."
            )
        return dA.astype(dtype, copy=False)

    def _require_forward(self, attribute: str) -> None:
        if getattr(self, attribute, None) is None:
            raise ValueError(
                f"{type(self).__name__}.backward() called before forward(); "
                "run forward(X) first (backward needs what forward saw)."
            )


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


class Convolution2DLayer(Layer):
    """Convolutional layer, readable version: slides the kernel over every output position.

    Parameters
    ----------
    input_channels, feature_maps : int
        C channels in, F feature maps out.
    kernel_height, kernel_width : int
        Kernel size kh x kw (any shape: 3x3, 7x1, 2x3, even sizes too).
    v_stride, h_stride : int
        Steps of the kernel down and across.
    pad : "same" | "valid" | int | (ph, pw)
        "same" and "valid" exactly as TensorFlow/Keras (for "same" the odd zero goes
        at the bottom/right, see convolution.same_padding); an int p or a pair
        (ph, pw) adds explicit zeros on each side.
    act_func : activation function (default identity).
    seed : int or None
        Seed of the initial weights when the layer creates them itself.
    reset_weights_independently : bool
        True (default): create the kernel now, so the layer can be used on its own.
        False: wait for initialise(input_shape, rng), which the CNN calls.

    params: kernel (C, F, kh, kw), bias (F,).
    forward: X (N, C, H, W) -> A (N, F, out_h, out_w) with
        Z[n, f, i, j] = bias[f] + sum_{c, a, b} X_pad[n, c, i*v_stride + a, j*h_stride + b]
                                                * kernel[c, f, a, b]
        A = act_func(Z),  out_h = floor((H + top + bottom - kh) / v_stride) + 1
    (cross-correlation, as in every deep-learning library: the kernel is not flipped).
    """

    def __init__(
        self,
        input_channels: int,
        feature_maps: int,
        kernel_height: int,
        kernel_width: int,
        v_stride: int = 1,
        h_stride: int = 1,
        pad: str | int | tuple[int, int] = "same",
        act_func: Callable = identity,
        seed: int | None = None,
        reset_weights_independently: bool = True,
    ) -> None:
        super().__init__()
        self.input_channels = positive_int("input_channels", input_channels)
        self.feature_maps = positive_int("feature_maps", feature_maps)
        self.kernel_height = positive_int("kernel_height", kernel_height)
        self.kernel_width = positive_int("kernel_width", kernel_width)
        self.v_stride = positive_int("v_stride", v_stride)
        self.h_stride = positive_int("h_stride", h_stride)
        self.pad = _check_pad(pad)
        self.act_func = _check_function("act_func", act_func)
        self.seed = _check_seed(seed)
        if reset_weights_independently:
            self.initialise_weights(np.random.default_rng(self.seed))

    # -- shapes and weights -------------------------------------------------

    def padding(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Zeros (top, bottom, left, right) added to an input of size height x width."""
        if self.pad == "same":
            top, bottom = same_padding(height, self.kernel_height, self.v_stride)
            left, right = same_padding(width, self.kernel_width, self.h_stride)
            return top, bottom, left, right
        if self.pad == "valid":
            return 0, 0, 0, 0
        ph, pw = self.pad if isinstance(self.pad, tuple) else (self.pad, self.pad)
        return ph, ph, pw, pw

    def output_shape(self, input_shape: Shape) -> Shape:
        """(F, out_h, out_w) for one input of shape (C, H, W); ValueError if it cannot fit."""
        channels, height, width = _check_image_shape(input_shape, type(self).__name__)
        if channels != self.input_channels:
            raise ValueError(
                f"the input has {channels} channel(s) (shape (C, H, W) = {tuple(input_shape)}) "
                f"but input_channels={self.input_channels}; make them equal."
            )
        top, bottom, left, right = self.padding(height, width)
        padded_h, padded_w = height + top + bottom, width + left + right
        if self.kernel_height > padded_h or self.kernel_width > padded_w:
            raise ValueError(
                f"kernel_height x kernel_width = {self.kernel_height}x{self.kernel_width} is "
                f"larger than the padded input {padded_h}x{padded_w} (input {height}x{width}, "
                f'pad={self.pad!r}); use a smaller kernel or pad="same".'
            )
        out_h = (padded_h - self.kernel_height) // self.v_stride + 1
        out_w = (padded_w - self.kernel_width) // self.h_stride + 1
        return self.feature_maps, out_h, out_w

    def initialise_weights(self, rng: np.random.Generator) -> None:
        """Random kernel (He or Glorot normal, see _init_scale) and zero bias, in float64."""
        _check_rng(rng)
        fan_in = self.input_channels * self.kernel_height * self.kernel_width
        fan_out = self.feature_maps * self.kernel_height * self.kernel_width
        shape = (self.input_channels, self.feature_maps, self.kernel_height, self.kernel_width)
        self.params = {
            "kernel": rng.normal(0.0, _init_scale(self.act_func, fan_in, fan_out), size=shape),
            "bias": np.zeros(self.feature_maps),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def initialise(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        output_shape = self.output_shape(input_shape)
        self.initialise_weights(rng)
        return output_shape

    def _weights(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        if "kernel" not in self.params:
            raise ValueError(
                f"{type(self).__name__} has no weights yet: it was made with "
                "reset_weights_independently=False; call initialise(input_shape, rng) first."
            )
        return (
            self.params["kernel"].astype(dtype, copy=False),
            self.params["bias"].astype(dtype, copy=False),
        )

    # -- forward and backward ---------------------------------------------------

    def forward(self, X: np.ndarray) -> np.ndarray:
        """A = act_func(cross_correlate(X, kernel) + bias); X (N, C, H, W) -> (N, F, out_h, out_w)."""
        X = check_images(X, self.input_channels)
        self.output_shape(X.shape[1:])
        self._weights(X.dtype)
        return self._forward(X)

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX (N, C, H, W) from dA (N, F, out_h, out_w); fills grads["kernel"], grads["bias"]."""
        self._require_forward("_Z")
        return self._backward(self._check_dA(dA, self._Z.shape, self._Z.dtype))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        kernel, bias = self._weights(X.dtype)
        X_padded, self._pads = pad_input(
            X, self.pad, self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        )
        n_images, _, padded_h, padded_w = X_padded.shape
        kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        out_h = (padded_h - kh) // vs + 1
        out_w = (padded_w - kw) // hs + 1
        Z = np.empty((n_images, self.feature_maps, out_h, out_w), dtype=X.dtype)
        for i in range(out_h):
            for j in range(out_w):
                # the window under the kernel at output position (i, j): (N, C, kh, kw)
                window = X_padded[:, :, i * vs : i * vs + kh, j * hs : j * hs + kw]
                # multiply with each feature map's kernel and sum over c, a, b -> (N, F)
                Z[:, :, i, j] = np.einsum("ncab,cfab->nf", window, kernel)
        Z += bias[None, :, None, None]
        self._X_shape, self._X_padded, self._Z = X.shape, X_padded, Z
        return np.asarray(self.act_func(Z), dtype=X.dtype)

    def _backward(self, dA: np.ndarray) -> np.ndarray:
        kernel, _ = self._weights(dA.dtype)
        X_padded = self._X_padded
        kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        dZ = _activation_backward(self.act_func, self._Z, dA)  # f'(z) * dA
        dX_padded = np.zeros_like(X_padded)
        dkernel = np.zeros_like(kernel)
        for i in range(dZ.shape[2]):
            for j in range(dZ.shape[3]):
                rows = slice(i * vs, i * vs + kh)
                cols = slice(j * hs, j * hs + kw)
                # Z[:, :, i, j] used the window X_pad[:, :, rows, cols] and the whole kernel,
                # so its gradient flows back to both (chain rule, summed over n and (i, j)).
                dkernel += np.einsum("ncab,nf->cfab", X_padded[:, :, rows, cols], dZ[:, :, i, j])
                dX_padded[:, :, rows, cols] += np.einsum("cfab,nf->ncab", kernel, dZ[:, :, i, j])
        self.grads = {"kernel": dkernel, "bias": dZ.sum(axis=(0, 2, 3))}
        return self._unpad(dX_padded)

    def _unpad(self, dX_padded: np.ndarray) -> np.ndarray:
        """Cut the padding off again: the zeros are not inputs, so they get no gradient."""
        top, _, left, _ = self._pads
        _, _, height, width = self._X_shape
        return dX_padded[:, :, top : top + height, left : left + width]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_channels={self.input_channels}, "
            f"feature_maps={self.feature_maps}, kernel_height={self.kernel_height}, "
            f"kernel_width={self.kernel_width}, v_stride={self.v_stride}, "
            f"h_stride={self.h_stride}, pad={self.pad!r}, act_func={self.act_func.__name__})"
        )


class Convolution2DLayerOPT(Convolution2DLayer):
    """Convolutional layer, vectorised: same signature and results as Convolution2DLayer.

    im2col unrolls every kh x kw window of the padded batch into a column,
    cols (N, C*kh*kw, out_h*out_w), so the whole convolution becomes one matrix product
        Z = kernel_matrix @ cols,   kernel_matrix (F, C*kh*kw)
    Backward is more products: dkernel = sum_n dZ_n @ cols_n^T, and for dX one
    (C, F) @ dZ product per kernel tap (a, b), added onto the pixels that tap read (col2im
    fused with the product, which adds up the pixels shared by overlapping windows).
    No Python loop runs over images, channels or pixels; only over the kh*kw taps.
    Notebook 05 explains im2col and measures this layer against the loop version.
    """

    def _kernel_matrix(self, kernel: np.ndarray) -> np.ndarray:
        # (C, F, kh, kw) -> (F, C, kh, kw) -> (F, C*kh*kw): the row order (c, a, b)
        # matches the row order of im2col's columns.
        return kernel.transpose(1, 0, 2, 3).reshape(self.feature_maps, -1)

    def _pad(self, X: np.ndarray) -> np.ndarray:
        """X with the layer's zeros around it (X itself if there are none); sets _pads."""
        n_images, channels, height, width = X.shape
        top, bottom, left, right = self._pads = self.padding(height, width)
        if top == bottom == left == right == 0:
            return X
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
        out_h, out_w = (padded_h - kh) // vs + 1, (padded_w - kw) // hs + 1
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


# ---------------------------------------------------------------------------
# Pooling and flattening
# ---------------------------------------------------------------------------


class Pooling2DLayer(Layer):
    """Max or average pooling over kh x kw windows, without padding.

    X (N, C, H, W) -> A (N, C, out_h, out_w), out_h = floor((H - kh) / v_stride) + 1.
    Windows may overlap (stride < kernel). Backward: "max" sends each window's gradient
    to the position of its maximum (the first one, row by row, if several are equal);
    "average" spreads it evenly, 1/(kh*kw) to every pixel of the window. A pixel that
    belongs to several windows receives the SUM of their contributions.
    """

    def __init__(
        self,
        kernel_height: int,
        kernel_width: int,
        v_stride: int = 1,
        h_stride: int = 1,
        pooling: str = "max",
    ) -> None:
        super().__init__()
        self.kernel_height = positive_int("kernel_height", kernel_height)
        self.kernel_width = positive_int("kernel_width", kernel_width)
        self.v_stride = positive_int("v_stride", v_stride)
        self.h_stride = positive_int("h_stride", h_stride)
        if pooling not in ("max", "average"):
            raise ValueError(f'pooling must be "max" or "average", got {pooling!r}.')
        self.pooling = pooling

    def output_shape(self, input_shape: Shape) -> Shape:
        channels, height, width = _check_image_shape(input_shape, "Pooling2DLayer")
        if self.kernel_height > height or self.kernel_width > width:
            raise ValueError(
                f"pooling kernel_height x kernel_width = {self.kernel_height}x{self.kernel_width}"
                f" is larger than the input {height}x{width} (pooling does not pad); "
                "use a smaller pooling window or pool earlier."
            )
        out_h = (height - self.kernel_height) // self.v_stride + 1
        out_w = (width - self.kernel_width) // self.h_stride + 1
        return channels, out_h, out_w

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Pool every window: X (N, C, H, W) -> (N, C, out_h, out_w)."""
        X = check_images(X)
        self.output_shape(X.shape[1:])
        return self._forward(X)

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

    def __repr__(self) -> str:
        return (
            f"Pooling2DLayer(kernel_height={self.kernel_height}, kernel_width={self.kernel_width}"
            f", v_stride={self.v_stride}, h_stride={self.h_stride}, pooling={self.pooling!r})"
        )


class FlattenLayer(Layer):
    """Reshape (N, C, H, W) feature maps into (N, C*H*W) rows for the dense layers.

    backward only reshapes the gradient back: flattening is not an activation, so no
    derivative is applied (the lecture's version wrongly multiplied by LRELU').
    """

    def output_shape(self, input_shape: Shape) -> Shape:
        if (
            not isinstance(input_shape, (tuple, list))
            or len(input_shape) == 0
            or not all(_is_non_negative_int(s) and s > 0 for s in input_shape)
        ):
            raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
        return (int(np.prod(input_shape)),)

    def forward(self, X: np.ndarray) -> np.ndarray:
        X = finite_array("X", X)
        if X.ndim < 2:
            raise ValueError(f"X must have a batch axis first, shape (N, ...), got {X.shape}.")
        return self._forward(X)

    def backward(self, dA: np.ndarray) -> np.ndarray:
        self._require_forward("_X_shape")
        expected = (self._X_shape[0], int(np.prod(self._X_shape[1:])))
        return self._backward(self._check_dA(dA, expected, self._dtype))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        self._X_shape, self._dtype = X.shape, X.dtype
        return X.reshape(X.shape[0], -1)

    def _backward(self, dA: np.ndarray) -> np.ndarray:
        return dA.reshape(self._X_shape)

    def __repr__(self) -> str:
        return "FlattenLayer()"


# ---------------------------------------------------------------------------
# Dense layers
# ---------------------------------------------------------------------------


class FullyConnectedLayer(Layer):
    """Dense (fully connected) hidden layer: A = act_func(X @ weights + bias).

    X (N, n_in) -> A (N, nodes). params: weights (n_in, nodes), bias (nodes,).
    The weights are created from the first input's n_in (seeded by `seed`), or by
    initialise((n_in,), rng), which the CNN calls. `scheduler` is only stored: the CNN
    gives each of this layer's parameter arrays its own copy of it.
    """

    def __init__(
        self,
        nodes: int,
        act_func: Callable = LRELU,
        scheduler=None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.nodes = positive_int("nodes", nodes)
        self.act_func = _check_function("act_func", act_func)
        self.scheduler = scheduler
        self.seed = _check_seed(seed)

    def output_shape(self, input_shape: Shape) -> Shape:
        if (
            not isinstance(input_shape, (tuple, list))
            or len(input_shape) != 1
            or not _is_non_negative_int(input_shape[0])
            or input_shape[0] < 1
        ):
            raise ValueError(
                f"{type(self).__name__} needs flat inputs: input_shape must be (n_in,), got "
                f"{input_shape!r}; add a FlattenLayer (CNN.add_FlattenLayer()) before it."
            )
        if "weights" in self.params and self.params["weights"].shape[0] != input_shape[0]:
            raise ValueError(
                f"the input has {input_shape[0]} features but this layer's weights expect "
                f"{self.params['weights'].shape[0]} (weights shape {self.params['weights'].shape})."
            )
        return (self.nodes,)

    def initialise(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        _check_rng(rng)
        self.params = {}
        output_shape = self.output_shape(input_shape)
        n_in = int(input_shape[0])
        scale = _init_scale(self.act_func, n_in, self.nodes)
        self.params = {
            "weights": rng.normal(0.0, scale, size=(n_in, self.nodes)),
            "bias": np.zeros(self.nodes),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def forward(self, X: np.ndarray) -> np.ndarray:
        """A = act_func(X @ weights + bias): X (N, n_in) -> (N, nodes)."""
        X = finite_array("X", X)
        if X.ndim != 2:
            raise ValueError(
                f"X must be a matrix (N, n_in) for {type(self).__name__}, got shape {X.shape}; "
                "flatten images first (FlattenLayer or X.reshape(len(X), -1))."
            )
        if "weights" not in self.params:
            self.initialise((X.shape[1],), np.random.default_rng(self.seed))
        self.output_shape((X.shape[1],))
        return self._forward(X)

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX (N, n_in) from dA (N, nodes); fills grads["weights"], grads["bias"]."""
        self._require_forward("_Z")
        return self._backward(self._check_dA(dA, self._Z.shape, self._Z.dtype))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        weights = self.params["weights"].astype(X.dtype, copy=False)
        bias = self.params["bias"].astype(X.dtype, copy=False)
        self._X = X
        self._Z = X @ weights + bias
        self._A = np.asarray(self.act_func(self._Z), dtype=X.dtype)
        return self._A

    def _backward(self, dA: np.ndarray) -> np.ndarray:
        return self._backward_from_dZ(_activation_backward(self.act_func, self._Z, dA))

    def _backward_from_dZ(self, dZ: np.ndarray) -> np.ndarray:
        weights = self.params["weights"].astype(dZ.dtype, copy=False)
        # Z = X W + b: dW = X^T dZ (summed over the batch), db = sum_n dZ_n, dX = dZ W^T
        self.grads = {"weights": self._X.T @ dZ, "bias": dZ.sum(axis=0)}
        return dZ @ weights.T

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nodes={self.nodes}, act_func={self.act_func.__name__})"


class OutputLayer(FullyConnectedLayer):
    """Last dense layer: prediction = output_func(X @ weights + bias), trained from the cost.

    X (N, n_in) -> prediction (N, nodes). Its backward takes the TARGET (N, nodes), not a
    gradient: it starts backpropagation from the cost C = cost_func(target)(prediction):

        softmax + CostCrossEntropy, sigmoid + CostLogReg:  dZ = (prediction - target) / N
        any other pair:  dZ = dC/dZ by autograd through cost_func(target)(output_func(Z))
                         (for an element-wise output_func this is C'(prediction) * f'(Z))

    cost_func must be given (e.g. course_utils.costs.CostCrossEntropy) before backward.
    pred_format: "multi-class" (softmax), "binary" (sigmoid) or "regression" (anything else).
    """

    def __init__(
        self,
        nodes: int,
        output_func: Callable = sigmoid,
        cost_func: Callable | None = None,
        scheduler=None,
        seed: int | None = None,
    ) -> None:
        super().__init__(nodes, _check_function("output_func", output_func), scheduler, seed)
        if cost_func is not None:
            _check_function("cost_func", cost_func)
        self.cost_func = cost_func

    @property
    def output_func(self) -> Callable:
        return self.act_func

    @property
    def pred_format(self) -> str:
        if self.output_func is softmax:
            return "multi-class"
        if self.output_func is sigmoid:
            return "binary"
        return "regression"

    def _closed_form(self) -> bool:
        """True for the two pairs whose dC/dZ simplifies to (prediction - target) / N."""
        name = getattr(self.cost_func, "__name__", "")
        module = getattr(self.cost_func, "__module__", "")
        if module != "course_utils.costs":
            return False
        return (self.output_func is softmax and name == "CostCrossEntropy") or (
            self.output_func is sigmoid and name == "CostLogReg"
        )

    def backward(self, target: np.ndarray) -> np.ndarray:
        """dX (N, n_in) from the target (N, nodes) of the last forward; fills grads."""
        self._require_forward("_Z")
        if self.cost_func is None:
            raise ValueError(
                "OutputLayer needs cost_func to start backpropagation, e.g. "
                "OutputLayer(10, softmax, cost_func=CostCrossEntropy)."
            )
        target = finite_array("target", target)
        if target.shape != self._Z.shape:
            raise ValueError(
                f"target must have the shape of the prediction {self._Z.shape}, got "
                f"{target.shape}; one-hot encode labels with course_utils.data.onehot."
            )
        return self._backward(target.astype(self._Z.dtype, copy=False))

    def _backward(self, target: np.ndarray) -> np.ndarray:
        Z = self._Z
        if self._closed_form():
            dZ = (self._A - target) / Z.dtype.type(target.shape[0])
        else:
            cost = self.cost_func(target)
            dZ = _autograd_grad(lambda z: cost(self.output_func(z)))(Z)
        return self._backward_from_dZ(np.asarray(dZ, dtype=Z.dtype))

    def __repr__(self) -> str:
        return f"OutputLayer(nodes={self.nodes}, output_func={self.output_func.__name__})"
