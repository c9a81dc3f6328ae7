"""What the readable layers (layers.py) and the vectorised ones (fast_layers.py) share.

The maths of every operation is a pair of plain functions, written once in layers.py
(loops, read beside the lecture) and once in fast_layers.py (im2col, tested equal):

    out, cache = <op>_forward(x, params...)
    grads      = <op>_backward(dout, cache)

The classes here are the shells around those pairs: they hold the arguments, the
parameters and gradients, check the input before any work, and keep the cache of the
last forward pass for backward. A concrete layer names its pairs as class attributes
(layers.Convolution2DLayer: the readable ones; fast_layers.Convolution2DLayerOPT: the
vectorised ones), so the two share everything but the maths.

The activations' pair is here too, below both modules: activation_forward/backward
handle every function (element-wise ones by derivate, any other by autograd);
fast_layers adds a branch-free LRELU in front of it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from autograd import make_vjp as _autograd_make_vjp

from . import _validation as check
from ._validation import finite_array, positive_int
from .activations import LRELU, RELU, derivate, identity, sigmoid
from .convolution import conv_output_size, padding_amounts, pool_output_size

__all__ = [
    "Convolution2DBase", "Layer", "Pooling2DBase", "activation_backward", "activation_forward",
    "init_scale",
]

Shape = tuple[int, ...]

# Activations applied element by element, whose derivative derivate() gives in closed form.
_ELEMENTWISE = (identity, sigmoid, RELU, LRELU)


def activation_forward(Z: np.ndarray, act_func: Callable) -> tuple[np.ndarray, tuple]:
    """A = act_func(Z), any shape, in Z's dtype. cache = (Z, act_func) for the backward."""
    return np.asarray(act_func(Z), dtype=Z.dtype), (Z, act_func)


def activation_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """dZ = dLoss/dZ from dA = dLoss/dA, where A = act_func(Z); cache from activation_forward.

    For an element-wise activation this is f'(Z) * dA, with f' evaluated at the
    pre-activation Z (never at dA: one of the lecture code's bugs). Any other function
    (softmax, or your own) goes through autograd's vector-Jacobian product, exact for
    every function.
    """
    Z, act_func = cache
    if act_func in _ELEMENTWISE:
        dZ = derivate(act_func)(Z) * dA
    else:
        vjp, _ = _autograd_make_vjp(act_func)(Z)
        dZ = vjp(dA)
    return np.asarray(dZ, dtype=Z.dtype)


def init_scale(act_func: Callable, fan_in: int, fan_out: int) -> float:
    """Standard deviation of the random initial weights.

    He et al. (2015), sqrt(2 / fan_in), for the ReLU family (keeps the variance of the
    activations constant through the layers); Glorot & Bengio (2010),
    sqrt(2 / (fan_in + fan_out)), for every other activation (sigmoid, identity, ...).
    """
    if act_func in (RELU, LRELU):
        return float(np.sqrt(2.0 / fan_in))
    return float(np.sqrt(2.0 / (fan_in + fan_out)))


def random_kernel_and_bias(rng: np.random.Generator, act_func: Callable,
                           kernel_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Initial params of a convolution: a random normal kernel (input_channels, feature_maps,
    *kernel extent) with init_scale's standard deviation, and a zero bias, in float64.

    fan_in = input_channels x taps, fan_out = feature_maps x taps (taps: the kernel's weights
    per channel pair), for the 2D layers and the 1D ones alike.
    """
    check.generator(rng)
    taps = int(np.prod(kernel_shape[2:]))
    fan_in, fan_out = kernel_shape[0] * taps, kernel_shape[1] * taps
    return {
        "kernel": rng.normal(0.0, init_scale(act_func, fan_in, fan_out), size=kernel_shape),
        "bias": np.zeros(kernel_shape[1]),
    }


class Layer:
    """Common interface of all layers.

    params, grads : dict[str, ndarray]   trainable arrays and their gradients (same keys)
    output_shape(input_shape) -> shape   shape of one sample after this layer (checks it fits)
    initialise(input_shape, rng)         create the weights for that input (no-op if none)
    forward(X) -> A                      output of the layer; keeps what backward needs
    backward(dA, input_gradient=True)    dX = dLoss/dX from dA = dLoss/dA; fills grads.
                                         input_gradient=False may skip dX (returns None):
                                         the CNN's first layer has nothing below it.
    Both check their input first (a ValueError saying what to fix); check_input=False
    skips that, for a caller that checked already (CNN.fit checks its data once).
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.cache = None  # what the last forward pass kept for backward

    def output_shape(self, input_shape: Shape) -> Shape:
        raise NotImplementedError

    def initialise(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Create the parameters for inputs of shape input_shape (one sample); return the
        output shape. Layers without parameters only check the shape."""
        check.generator(rng)
        return self.output_shape(input_shape)

    @property
    def n_parameters(self) -> int:
        """Number of trainable numbers in this layer."""
        return int(sum(p.size for p in self.params.values()))

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(
        self, dA: np.ndarray, input_gradient: bool = True, *, check_input: bool = True
    ) -> np.ndarray | None:
        raise NotImplementedError

    def _check_dA(self, dA, expected_shape: Shape, dtype) -> np.ndarray:
        dA = finite_array("dA", dA)
        if dA.shape != tuple(expected_shape):
            raise ValueError(
                f"dA must have the shape of this layer's last output {tuple(expected_shape)}, "
                f"got {dA.shape}; call forward(X) first and pass dLoss/dA of that output."
            )
        return dA.astype(dtype, copy=False)

    def _require_forward(self) -> None:
        if self.cache is None:
            raise ValueError(
                f"{type(self).__name__}.backward() called before forward(); "
                "run forward(X) first (backward needs what forward saw)."
            )


class Convolution2DBase(Layer):
    """The shell of a convolutional layer: arguments, shapes, weights, checks, and
    forward/backward through the pairs its subclass names (see layers.Convolution2DLayer
    for the parameters and the maths).

    conv_forward(X, kernel, bias, v_stride, h_stride, pad) -> (Z, cache)
    conv_backward(dZ, cache, input_gradient) -> (dX, dkernel, dbias)
    activation_forward(Z, act_func) -> (A, cache), activation_backward(dA, cache) -> dZ
    """

    conv_forward: Callable
    conv_backward: Callable
    activation_forward = staticmethod(activation_forward)
    activation_backward = staticmethod(activation_backward)

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
        self.pad = check.pad_spec(pad)
        self.act_func = check.function("act_func", act_func)
        self.seed = check.seed_or_none(seed)
        if reset_weights_independently:
            self.initialise_weights(np.random.default_rng(self.seed))

    # -- shapes and weights -------------------------------------------------

    def padding(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Zeros (top, bottom, left, right) added to an input of size height x width."""
        return padding_amounts(
            self.pad, height, width, self.kernel_height, self.kernel_width,
            self.v_stride, self.h_stride,
        )

    def output_shape(self, input_shape: Shape) -> Shape:
        """(F, out_h, out_w) for one input of shape (C, H, W); ValueError if it cannot fit."""
        channels, height, width = check.image_shape(input_shape, type(self).__name__)
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
        out_h = conv_output_size(padded_h, self.kernel_height, self.v_stride)
        out_w = conv_output_size(padded_w, self.kernel_width, self.h_stride)
        return self.feature_maps, out_h, out_w

    def initialise_weights(self, rng: np.random.Generator) -> None:
        """Random kernel (He or Glorot normal, see init_scale) and zero bias, in float64."""
        shape = (self.input_channels, self.feature_maps, self.kernel_height, self.kernel_width)
        self.params = random_kernel_and_bias(rng, self.act_func, shape)
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

    # -- forward and backward: the pairs ----------------------------------------

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        """A = act_func(cross_correlate(X, kernel) + bias); X (N, C, H, W) -> (N, F, out_h, out_w)."""
        if check_input:
            X = check.images(X, self.input_channels)
            self.output_shape(X.shape[1:])
        kernel, bias = self._weights(X.dtype)
        # let go of the previous batch's cache first: otherwise two im2col buffers, the
        # largest arrays of a training step, are alive at once
        self.cache = None
        Z, conv_cache = self.conv_forward(X, kernel, bias, self.v_stride, self.h_stride, self.pad)
        A, activation_cache = self.activation_forward(Z, self.act_func)
        self.cache = (conv_cache, activation_cache, A.shape)
        return A

    def backward(
        self, dA: np.ndarray, input_gradient: bool = True, *, check_input: bool = True
    ) -> np.ndarray | None:
        """dX (N, C, H, W) from dA (N, F, out_h, out_w); fills grads["kernel"], grads["bias"].
        input_gradient=False skips dX (returns None)."""
        self._require_forward()
        conv_cache, activation_cache, output_shape = self.cache
        if check_input:
            dA = self._check_dA(dA, output_shape, activation_cache[0].dtype)
        dZ = self.activation_backward(dA, activation_cache)
        dX, dkernel, dbias = self.conv_backward(dZ, conv_cache, input_gradient)
        self.grads = {"kernel": dkernel, "bias": dbias}
        return dX

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_channels={self.input_channels}, "
            f"feature_maps={self.feature_maps}, kernel_height={self.kernel_height}, "
            f"kernel_width={self.kernel_width}, v_stride={self.v_stride}, "
            f"h_stride={self.h_stride}, pad={self.pad!r}, act_func={self.act_func.__name__})"
        )


class Pooling2DBase(Layer):
    """The shell of a pooling layer: arguments, shapes, checks, and forward/backward
    through the pairs its subclass names in `pairs` (see layers.Pooling2DLayer):

    pairs[pooling] = (forward(X, kernel_height, kernel_width, v_stride, h_stride) -> (A, cache),
                      backward(dA, cache) -> dX)       for pooling "max" and "average"
    """

    pairs: dict[str, tuple[Callable, Callable]]

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
        """(C, out_h, out_w) for one input (C, H, W); ValueError if the window does not fit."""
        channels, height, width = check.image_shape(input_shape, "Pooling2DLayer")
        if self.kernel_height > height or self.kernel_width > width:
            raise ValueError(
                f"pooling kernel_height x kernel_width = {self.kernel_height}x{self.kernel_width}"
                f" is larger than the input {height}x{width} (pooling does not pad); "
                "use a smaller pooling window or pool earlier."
            )
        out_h = pool_output_size(height, self.kernel_height, self.v_stride)
        out_w = pool_output_size(width, self.kernel_width, self.h_stride)
        return channels, out_h, out_w

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        """Pool every window: X (N, C, H, W) -> (N, C, out_h, out_w)."""
        if check_input:
            X = check.images(X)
            self.output_shape(X.shape[1:])
        pool_forward, _ = self.pairs[self.pooling]
        self.cache = None
        A, pool_cache = pool_forward(
            X, self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        )
        self.cache = (pool_cache, A.shape, X.dtype)
        return A

    def backward(
        self, dA: np.ndarray, input_gradient: bool = True, *, check_input: bool = True
    ) -> np.ndarray | None:
        """dX (N, C, H, W) from dA (N, C, out_h, out_w). input_gradient=False returns None
        (pooling has no parameters: nothing else to compute)."""
        self._require_forward()
        pool_cache, output_shape, dtype = self.cache
        if check_input:
            dA = self._check_dA(dA, output_shape, dtype)
        if not input_gradient:
            return None
        _, pool_backward = self.pairs[self.pooling]
        return pool_backward(dA, pool_cache)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kernel_height={self.kernel_height}, "
            f"kernel_width={self.kernel_width}, v_stride={self.v_stride}, "
            f"h_stride={self.h_stride}, pooling={self.pooling!r})"
        )
