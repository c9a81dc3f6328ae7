"""Layers for signals in one dimension: (N, C, L) arrays (batch, channels, length).

A signal of length L is an image of height 1 and width L, and a 1D kernel of size k is a
2D kernel of height 1. So these layers add no new maths: each one holds its own parameters
and hands the work to the 2D layer of the same kind (fast_layers), on X[:, :, None, :].
Notebook 09 uses them.

Dilation d spreads the k kernel taps d samples apart: tap j reads sample i*stride + j*d.
That is a convolution with a zero-inserted kernel of extent d*(k - 1) + 1 (taps 0, d, 2d,
... hold the weights, the rest are zeros that are never trained), so
    forward:  the 2D layer with kernel_dilated[..., ::d] = kernel, zeros elsewhere;
    backward: grads["kernel"] = the 2D layer's kernel gradient at every d-th tap.
The receptive field grows with d, the parameter count does not (notebook 09, section 5).
Padding "same" and "valid" are exactly Keras' Conv1D padding, dilation included (Keras
pads for the dilated extent), and an int p adds p zeros at both ends.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from . import _validation as check
from ._layer_base import Layer, random_kernel_and_bias
from ._validation import positive_int
from .activations import identity
from .fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT

__all__ = ["Convolution1DLayer", "Pooling1DLayer", "dilated_extent"]

Shape = tuple[int, ...]


def dilated_extent(kernel_size: int, dilation: int = 1) -> int:
    """Samples one dilated kernel spans: d*(k - 1) + 1 (k taps, d - 1 gaps between each)."""
    return dilation * (kernel_size - 1) + 1


def _pad_1d(pad):
    """A 1D pad ("same", "valid" or an int >= 0) as the 2D pad of a height-1 image."""
    if isinstance(pad, str) and pad in ("same", "valid"):
        return pad
    if check.is_non_negative_int(pad):
        return (0, int(pad))  # no rows above and below, pad zeros at both ends
    raise ValueError(
        f'pad must be "same", "valid" or an int >= 0 (zeros at both ends of the signal), '
        f"got {pad!r}."
    )


class Convolution1DLayer(Layer):
    """One-dimensional convolutional layer: A = act_func(cross_correlate(X, kernel) + bias).

    X (N, C, L) -> A (N, F, out_L), out_L = floor((L + pads - d*(k-1) - 1) / stride) + 1
        (Keras' Conv1D: "same" gives ceil(L / stride), "valid" pads nothing).
    Z[n, f, i] = bias[f] + sum_c sum_j X_pad[n, c, i*stride + j*dilation] * kernel[c, f, j]
    params: kernel (input_channels, feature_maps, kernel_size), bias (feature_maps,).
    The 2D layer (height 1) does the work; see the module docstring for dilation.
    """

    def __init__(
        self,
        input_channels: int,
        feature_maps: int,
        kernel_size: int,
        stride: int = 1,
        pad: str | int = "same",
        dilation: int = 1,
        act_func: Callable = identity,
        seed: int | None = None,
        reset_weights_independently: bool = True,
    ) -> None:
        super().__init__()
        self.input_channels = positive_int("input_channels", input_channels)
        self.feature_maps = positive_int("feature_maps", feature_maps)
        self.kernel_size = positive_int("kernel_size", kernel_size)
        self.stride = positive_int("stride", stride)
        self.dilation = positive_int(
            "dilation", dilation, "Use dilation=1 for an ordinary convolution, 2 to read every "
            "second sample, ..."
        )
        pad_2d = _pad_1d(pad)
        self.pad = pad if isinstance(pad, str) else int(pad)
        self.act_func = check.function("act_func", act_func)
        self.seed = check.seed_or_none(seed)
        self._conv2d = Convolution2DLayerOPT(
            self.input_channels, self.feature_maps, 1, dilated_extent(self.kernel_size, self.dilation),
            1, self.stride, pad_2d, self.act_func, reset_weights_independently=False,
        )
        if reset_weights_independently:
            self.initialise_weights(np.random.default_rng(self.seed))

    # -- shapes and weights -------------------------------------------------

    def output_shape(self, input_shape: Shape) -> Shape:
        """(F, out_L) for one signal (C, L); ValueError if it does not fit."""
        channels, length = check.signal_shape(input_shape, type(self).__name__)
        if channels != self.input_channels:
            raise ValueError(
                f"the input has {channels} channel(s) (shape (C, L) = {tuple(input_shape)}) "
                f"but input_channels={self.input_channels}; make them equal."
            )
        _, _, left, right = self._conv2d.padding(1, length)
        extent = dilated_extent(self.kernel_size, self.dilation)
        if extent > length + left + right:
            raise ValueError(
                f"kernel_size={self.kernel_size} with dilation={self.dilation} spans {extent} "
                f"samples, more than the padded signal's {length + left + right} (length "
                f'{length}, pad={self.pad!r}); use a smaller kernel_size or dilation, or pad="same".'
            )
        return (self.feature_maps, self._conv2d.output_shape((channels, 1, length))[2])

    def initialise_weights(self, rng: np.random.Generator) -> None:
        """Random kernel (He or Glorot normal, see init_scale) and zero bias, in float64."""
        # fans count the k taps, not the zeros that dilation inserts between them
        shape = (self.input_channels, self.feature_maps, self.kernel_size)
        self.params = random_kernel_and_bias(rng, self.act_func, shape)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def initialise(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        output_shape = self.output_shape(input_shape)
        self.initialise_weights(rng)
        return output_shape

    def dilated_kernel(self) -> np.ndarray:
        """The kernel with dilation - 1 zeros between its taps: (C, F, d*(k-1) + 1)."""
        if "kernel" not in self.params:
            raise ValueError(
                "Convolution1DLayer has no weights yet: it was made with "
                "reset_weights_independently=False; call initialise(input_shape, rng) first."
            )
        kernel = self.params["kernel"]
        dilated = np.zeros((*kernel.shape[:2], dilated_extent(self.kernel_size, self.dilation)))
        dilated[:, :, :: self.dilation] = kernel
        return dilated

    # -- forward and backward ---------------------------------------------------

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        """A = act_func(cross_correlate(X, kernel) + bias); X (N, C, L) -> (N, F, out_L).
        check_input=False skips the checks (the caller checked X already)."""
        if check_input:
            X = check.signals(X, self.input_channels)
            self.output_shape(X.shape[1:])
        # the 2D layer gets this layer's current weights at every call: the model replaces
        # params["kernel"] after every step
        self._conv2d.params = {"kernel": self.dilated_kernel()[:, :, None, :],
                               "bias": self.params["bias"]}
        A = self._conv2d.forward(X[:, :, None, :], check_input=False)[:, :, 0, :]
        self.cache = (A.shape, A.dtype)
        return A

    def backward(
        self, dA: np.ndarray, input_gradient: bool = True, *, check_input: bool = True
    ) -> np.ndarray | None:
        """dX (N, C, L) from dA (N, F, out_L); fills grads["kernel"], grads["bias"].
        input_gradient=False skips dX (returns None): the model's first layer."""
        self._require_forward()
        if check_input:
            dA = self._check_dA(dA, *self.cache)
        dX = self._conv2d.backward(dA[:, :, None, :], input_gradient, check_input=False)
        dkernel = self._conv2d.grads["kernel"][:, :, 0, :: self.dilation]
        # a zero between taps is not a weight: only the taps' gradients are kept
        self.grads = {"kernel": np.ascontiguousarray(dkernel), "bias": self._conv2d.grads["bias"]}
        return None if dX is None else dX[:, :, 0, :]

    def __copy__(self):
        # a copy (the model's two-thread split) needs its own 2D layer: it saves what
        # backward needs, and two threads must not overwrite each other's
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._conv2d = copy.copy(self._conv2d)
        return twin

    def __repr__(self) -> str:
        return (
            f"Convolution1DLayer(input_channels={self.input_channels}, "
            f"feature_maps={self.feature_maps}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, pad={self.pad!r}, dilation={self.dilation}, "
            f"act_func={self.act_func.__name__})"
        )


class Pooling1DLayer(Layer):
    """One-dimensional pooling, no padding: X (N, C, L) -> (N, C, floor((L - k) / stride) + 1).

    Each window of kernel_size samples, stride apart, gives its maximum ("max") or its
    mean ("average"): Keras' MaxPooling1D / AveragePooling1D with padding="valid".
    (Keras' default stride is the window size; ours is 1, as for Pooling2DLayer.)
    """

    def __init__(self, kernel_size: int, stride: int = 1, pooling: str = "max") -> None:
        super().__init__()
        self.kernel_size = positive_int("kernel_size", kernel_size)
        self.stride = positive_int("stride", stride)
        self._pool2d = Pooling2DLayerOPT(1, self.kernel_size, 1, self.stride, pooling)
        self.pooling = pooling

    def output_shape(self, input_shape: Shape) -> Shape:
        """(C, out_L) for one signal (C, L); ValueError if the window does not fit."""
        channels, length = check.signal_shape(input_shape, type(self).__name__)
        if self.kernel_size > length:
            raise ValueError(
                f"pooling kernel_size={self.kernel_size} is longer than the signal "
                f"({length} samples; pooling does not pad); use a smaller kernel_size or "
                "pool earlier."
            )
        return (channels, self._pool2d.output_shape((channels, 1, length))[2])

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        """Pool every window: X (N, C, L) -> (N, C, out_L). check_input=False skips the
        checks (the caller checked X already)."""
        if check_input:
            X = check.signals(X)
            self.output_shape(X.shape[1:])
        A = self._pool2d.forward(X[:, :, None, :], check_input=False)[:, :, 0, :]
        self.cache = (A.shape, A.dtype)
        return A

    def backward(
        self, dA: np.ndarray, input_gradient: bool = True, *, check_input: bool = True
    ) -> np.ndarray | None:
        """dX (N, C, L) from dA (N, C, out_L); input_gradient=False returns None (no
        parameters: nothing else to compute)."""
        self._require_forward()
        if check_input:
            dA = self._check_dA(dA, *self.cache)
        dX = self._pool2d.backward(dA[:, :, None, :], input_gradient, check_input=False)
        return None if dX is None else dX[:, :, 0, :]

    def __copy__(self):
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._pool2d = copy.copy(self._pool2d)
        return twin

    def __repr__(self) -> str:
        return (
            f"Pooling1DLayer(kernel_size={self.kernel_size}, stride={self.stride}, "
            f"pooling={self.pooling!r})"
        )
