"""The layers of our CNN, readable: each operation's maths as a pair of plain functions.

    out, cache = <op>_forward(x, params...)     the lecture's formula, loops you can follow
    grads      = <op>_backward(dout, cache)     its chain rule, right below it

    conv_forward(X, kernel, bias, v_stride, h_stride, pad) -> (Z, cache)
    conv_backward(dZ, cache, input_gradient=True) -> (dX, dkernel, dbias)
    max_pool_forward / average_pool_forward(X, kh, kw, v_stride, h_stride) -> (A, cache)
    max_pool_backward / average_pool_backward(dA, cache) -> dX
    dense_forward(X, weights, bias) -> (Z, cache), dense_backward(dZ, cache) -> (dX, dweights, dbias)
    flatten_forward(X) -> (A, cache), flatten_backward(dA, cache) -> dX
    activation_forward(Z, act_func) -> (A, cache), activation_backward(dA, cache) -> dZ

Images are batches of shape (N, C, H, W): N images, C channels, height H, width W.
The layer classes below are thin shells around these pairs: they hold `params` and
`grads` and the cache of the last forward pass, and follow one small interface
(notebook 04 builds and checks them, notebook 05 builds a CNN from them):

    A  = layer.forward(X)     output of the layer
    dX = layer.backward(dA)   gradient of the loss w.r.t. X, given dA = dLoss/dA;
                              also fills layer.grads (same keys and shapes as layer.params)

A layer never updates its own weights: the model (course_utils.cnn.CNN) hands each
gradient to that parameter's own scheduler. Computation happens in the dtype of the
data: float32 in gives float32 out (the stored float64 parameters are cast), float64
in gives float64 out, which is what the gradient checks (course_utils.gradcheck) use.

What the convolution and pooling shells share with the vectorised layers (arguments,
shapes, weights, input checks), and the activations' pair, are in _layer_base.py. The
vectorised pairs the CNN trains with (im2col) are in fast_layers.py, tested equal to
these; its layers are importable from here too:
`from course_utils.layers import Convolution2DLayerOPT`.

Differences from the lecture code (bugs the lecture's version has, fixed here):
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

from collections.abc import Callable
from typing import ClassVar

import numpy as np
from autograd import grad as _autograd_grad

from . import _validation as check
from ._layer_base import (
    Convolution2DBase,
    Layer,
    Pooling2DBase,
    Shape,
    activation_backward,
    activation_forward,
    init_scale,
)
from ._validation import finite_array, positive_int
from .activations import LRELU, sigmoid, softmax
from .convolution import pad_input, unpad_gradient
from .fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT
from .layers_1d import Convolution1DLayer, Pooling1DLayer  # noqa: F401 (signals, re-exported)

__all__ = [
    "Convolution2DLayer", "Convolution2DLayerOPT", "FlattenLayer", "FullyConnectedLayer",
    "Layer", "OutputLayer", "Pooling2DLayer", "Pooling2DLayerOPT",
    "activation_backward", "activation_forward", "average_pool_backward",
    "average_pool_forward", "conv_backward", "conv_forward", "dense_backward",
    "dense_forward", "flatten_backward", "flatten_forward", "max_pool_backward",
    "max_pool_forward",
]


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


def conv_forward(
    X: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    v_stride: int = 1,
    h_stride: int = 1,
    pad: str | int | tuple[int, int] = "same",
) -> tuple[np.ndarray, tuple]:
    """Cross-correlation of a batch with F kernels, plus a bias: Z = X * kernel + bias.

    X (N, C, H, W), kernel (C, F, kh, kw), bias (F,) -> Z (N, F, out_h, out_w):

        Z[n, f, i, j] = bias[f] + sum_{c, a, b} X_pad[n, c, i*v_stride + a, j*h_stride + b]
                                                * kernel[c, f, a, b]

    with X_pad = X padded as `pad` says (convolution.pad_input: "same", "valid",
    "circular", int or (ph, pw)) and out_h = floor((H + top + bottom - kh) / v_stride) + 1.
    The kernel is not flipped (as in every deep-learning library).
    """
    kh, kw = kernel.shape[2:]
    X_padded, pads = pad_input(X, pad, kh, kw, v_stride, h_stride)
    n_images, feature_maps = X.shape[0], kernel.shape[1]
    out_h = (X_padded.shape[2] - kh) // v_stride + 1
    out_w = (X_padded.shape[3] - kw) // h_stride + 1
    Z = np.empty((n_images, feature_maps, out_h, out_w), dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            # the window under the kernel at output position (i, j): (N, C, kh, kw)
            window = X_padded[:, :, i * v_stride : i * v_stride + kh, j * h_stride : j * h_stride + kw]
            # multiply with each feature map's kernel and sum over c, a, b -> (N, F)
            Z[:, :, i, j] = np.einsum("ncab,cfab->nf", window, kernel)
    Z += bias[None, :, None, None]
    return Z, (X_padded, kernel, v_stride, h_stride, pads, X.shape, pad == "circular")


def conv_backward(
    dZ: np.ndarray, cache: tuple, input_gradient: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dX, dkernel, dbias) from dZ = dLoss/dZ (N, F, out_h, out_w); cache from conv_forward.

    Z[n, f, i, j] used the window X_pad[n, :, i*v_stride : +kh, j*h_stride : +kw] and the
    whole kernel, so by the chain rule
        dkernel[c, f, a, b] = sum_{n, i, j} X_pad[n, c, i*v_stride + a, j*h_stride + b] dZ[n, f, i, j]
        dX_pad[n, c, i*v_stride + a, j*h_stride + b] += kernel[c, f, a, b] dZ[n, f, i, j]
        dbias[f] = sum_{n, i, j} dZ[n, f, i, j]
    and dX is dX_pad without the padding (a zero is not an input; a wrapped "circular"
    pixel gives its gradient to the pixel it copies). input_gradient=False: dX is None.
    """
    X_padded, kernel, v_stride, h_stride, pads, X_shape, circular = cache
    kh, kw = kernel.shape[2:]
    dX_padded = np.zeros_like(X_padded)
    dkernel = np.zeros_like(kernel)
    for i in range(dZ.shape[2]):
        for j in range(dZ.shape[3]):
            rows = slice(i * v_stride, i * v_stride + kh)
            cols = slice(j * h_stride, j * h_stride + kw)
            dkernel += np.einsum("ncab,nf->cfab", X_padded[:, :, rows, cols], dZ[:, :, i, j])
            # += because with overlapping windows a pixel receives from several of them
            dX_padded[:, :, rows, cols] += np.einsum("cfab,nf->ncab", kernel, dZ[:, :, i, j])
    dX = unpad_gradient(dX_padded, pads, X_shape[2:], circular) if input_gradient else None
    return dX, dkernel, dZ.sum(axis=(0, 2, 3))


class Convolution2DLayer(Convolution2DBase):
    """Convolutional layer, readable version: slides the kernel over every output position.

    Parameters
    ----------
    input_channels, feature_maps : int
        C channels in, F feature maps out.
    kernel_height, kernel_width : int
        Kernel size kh x kw (any shape: 3x3, 7x1, 2x3, even sizes too).
    v_stride, h_stride : int
        Steps of the kernel down and across.
    pad : "same" | "valid" | "circular" | int | (ph, pw)
        "same" and "valid" exactly as TensorFlow/Keras (for "same" the odd zero goes
        at the bottom/right, see convolution.same_padding); "circular" pads as much
        as "same" but with the pixels of the opposite edge (periodic boundaries: the
        image is a torus, as a lattice in notebook 08); an int p or a pair
        (ph, pw) adds explicit zeros on each side.
    act_func : activation function (default identity).
    seed : int or None
        Seed of the initial weights when the layer creates them itself.
    reset_weights_independently : bool
        True (default): create the kernel now, so the layer can be used on its own.
        False: wait for initialise(input_shape, rng), which the CNN calls.

    params: kernel (C, F, kh, kw), bias (F,).
    forward: X (N, C, H, W) -> A (N, F, out_h, out_w), A = act_func(Z) with
    Z, cache = conv_forward(X, kernel, bias, ...) (the maths, above); backward:
    activation_backward, then conv_backward.
    """

    conv_forward = staticmethod(conv_forward)
    conv_backward = staticmethod(conv_backward)


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def _window(i: int, j: int, kh: int, kw: int, v_stride: int, h_stride: int):
    """Rows and columns of the window under output position (i, j)."""
    top, left = i * v_stride, j * h_stride
    return slice(top, top + kh), slice(left, left + kw)


def _pool_forward(X, kh, kw, v_stride, h_stride, reduce):
    """reduce(window) of every kh x kw window: (N, C, H, W) -> (N, C, out_h, out_w)."""
    n_images, channels, height, width = X.shape
    out_h, out_w = (height - kh) // v_stride + 1, (width - kw) // h_stride + 1
    A = np.empty((n_images, channels, out_h, out_w), dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = _window(i, j, kh, kw, v_stride, h_stride)
            A[:, :, i, j] = reduce(X[:, :, rows, cols])  # window (N, C, kh, kw) -> (N, C)
    return A, (X, kh, kw, v_stride, h_stride)


def _pool_backward(dA, cache, slopes):
    """dX: each window's gradient dA[:, :, i, j] times slopes(window) = dA/dwindow."""
    X, kh, kw, v_stride, h_stride = cache
    dX = np.zeros_like(X)
    for i in range(dA.shape[2]):
        for j in range(dA.shape[3]):
            rows, cols = _window(i, j, kh, kw, v_stride, h_stride)
            # += because with overlapping windows a pixel receives from several of them
            dX[:, :, rows, cols] += slopes(X[:, :, rows, cols]) * dA[:, :, i, j, None, None]
    return dX


def max_pool_forward(
    X: np.ndarray, kernel_height: int, kernel_width: int, v_stride: int = 1, h_stride: int = 1
) -> tuple[np.ndarray, tuple]:
    """A[n, c, i, j] = max of the window X[n, c, i*v_stride : +kh, j*h_stride : +kw].

    X (N, C, H, W) -> A (N, C, out_h, out_w), out_h = floor((H - kh) / v_stride) + 1
    (convolution.pool_output_size; no padding). Windows may overlap.
    """
    return _pool_forward(X, kernel_height, kernel_width, v_stride, h_stride,
                         lambda window: window.max(axis=(2, 3)))


def _first_maximum(window: np.ndarray) -> np.ndarray:
    """1 at the (first, row by row) largest pixel of each (kh, kw) window, 0 elsewhere."""
    n_images, channels, kh, kw = window.shape
    flat = window.reshape(n_images, channels, kh * kw)
    share = np.zeros_like(flat)
    np.put_along_axis(share, np.argmax(flat, axis=2)[..., None], 1, axis=2)
    return share.reshape(window.shape)


def max_pool_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """dX (N, C, H, W) from dA (N, C, out_h, out_w): a window's maximum depends only on
    its largest pixel, with slope 1, so each window's gradient goes there (to the first
    one if several are equal); a pixel that is the maximum of several windows gets the sum."""
    return _pool_backward(dA, cache, _first_maximum)


def average_pool_forward(
    X: np.ndarray, kernel_height: int, kernel_width: int, v_stride: int = 1, h_stride: int = 1
) -> tuple[np.ndarray, tuple]:
    """A[n, c, i, j] = mean of the window X[n, c, i*v_stride : +kh, j*h_stride : +kw]."""
    size = X.dtype.type(kernel_height * kernel_width)
    return _pool_forward(X, kernel_height, kernel_width, v_stride, h_stride,
                         lambda window: window.sum(axis=(2, 3)) / size)


def average_pool_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """dX (N, C, H, W): the mean has slope 1/(kh*kw) for every pixel of its window."""
    return _pool_backward(dA, cache, lambda window: np.full_like(window, 1 / window[0, 0].size))


class Pooling2DLayer(Pooling2DBase):
    """Max or average pooling over kh x kw windows, without padding.

    X (N, C, H, W) -> A (N, C, out_h, out_w), out_h = floor((H - kh) / v_stride) + 1
    (convolution.pool_output_size). Windows may overlap (stride < kernel). Backward:
    "max" sends each window's gradient to the position of its maximum (the first one,
    row by row, if several are equal); "average" spreads it evenly, 1/(kh*kw) to every
    pixel of the window. A pixel that belongs to several windows receives the SUM of
    their contributions. The maths: max_pool_forward/backward, average_pool_forward/backward.
    """

    pairs: ClassVar[dict[str, tuple[Callable, Callable]]] = {
        "max": (max_pool_forward, max_pool_backward),
        "average": (average_pool_forward, average_pool_backward),
    }


# ---------------------------------------------------------------------------
# Flattening
# ---------------------------------------------------------------------------


def flatten_forward(X: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(N, C, H, W) feature maps -> (N, C*H*W) rows for the dense layers."""
    return X.reshape(X.shape[0], -1), X.shape


def flatten_backward(dA: np.ndarray, cache: tuple) -> np.ndarray:
    """Only reshapes the gradient back: flattening is not an activation, so no derivative
    is applied (the lecture's version wrongly multiplied by LRELU')."""
    return dA.reshape(cache)


class FlattenLayer(Layer):
    """Reshape (N, C, H, W) feature maps into (N, C*H*W) rows (flatten_forward/backward)."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(check.flat_shape(input_shape))),)

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        X = finite_array("X", X) if check_input else X
        if X.ndim < 2:
            raise ValueError(f"X must have a batch axis first, shape (N, ...), got {X.shape}.")
        A, X_shape = flatten_forward(X)
        self.cache = (X_shape, X.dtype)
        return A

    def backward(self, dA, input_gradient=True, *, check_input=True) -> np.ndarray | None:
        self._require_forward()
        X_shape, dtype = self.cache
        if check_input:
            dA = self._check_dA(dA, (X_shape[0], int(np.prod(X_shape[1:]))), dtype)
        return flatten_backward(dA, X_shape) if input_gradient else None

    def __repr__(self) -> str:
        return "FlattenLayer()"


# ---------------------------------------------------------------------------
# Dense layers
# ---------------------------------------------------------------------------


def dense_forward(X: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Z = X @ weights + bias: X (N, n_in), weights (n_in, nodes), bias (nodes,) -> (N, nodes)."""
    return X @ weights + bias, (X, weights)


def dense_backward(
    dZ: np.ndarray, cache: tuple, input_gradient: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dX, dweights, dbias) from dZ (N, nodes): Z = X W + b gives dW = X^T dZ (summed
    over the batch), db = sum_n dZ_n, dX = dZ W^T. input_gradient=False: dX is None."""
    X, weights = cache
    dX = dZ @ weights.T if input_gradient else None
    return dX, X.T @ dZ, dZ.sum(axis=0)


class FullyConnectedLayer(Layer):
    """Dense (fully connected) hidden layer: A = act_func(X @ weights + bias).

    X (N, n_in) -> A (N, nodes). params: weights (n_in, nodes), bias (nodes,).
    The weights are created from the first input's n_in (seeded by `seed`), or by
    initialise((n_in,), rng), which the CNN calls. `scheduler` is only stored: the CNN
    gives each of this layer's parameter arrays its own copy of it.
    The maths: dense_forward/backward and activation_forward/backward.
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
        self.act_func = check.function("act_func", act_func)
        self.scheduler = scheduler
        self.seed = check.seed_or_none(seed)

    def output_shape(self, input_shape: Shape) -> Shape:
        if (
            not isinstance(input_shape, (tuple, list))
            or len(input_shape) != 1
            or not check.is_non_negative_int(input_shape[0])
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
        check.generator(rng)
        self.params = {}
        output_shape = self.output_shape(input_shape)
        n_in = int(input_shape[0])
        scale = init_scale(self.act_func, n_in, self.nodes)
        self.params = {
            "weights": rng.normal(0.0, scale, size=(n_in, self.nodes)),
            "bias": np.zeros(self.nodes),
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        return output_shape

    def forward(self, X: np.ndarray, *, check_input: bool = True) -> np.ndarray:
        """A = act_func(X @ weights + bias): X (N, n_in) -> (N, nodes)."""
        X = finite_array("X", X) if check_input else X
        if X.ndim != 2:
            raise ValueError(
                f"X must be a matrix (N, n_in) for {type(self).__name__}, got shape {X.shape}; "
                "flatten images first (FlattenLayer or X.reshape(len(X), -1))."
            )
        if "weights" not in self.params:
            self.initialise((X.shape[1],), np.random.default_rng(self.seed))
        self.output_shape((X.shape[1],))
        weights = self.params["weights"].astype(X.dtype, copy=False)
        bias = self.params["bias"].astype(X.dtype, copy=False)
        self.cache = None
        Z, dense_cache = dense_forward(X, weights, bias)
        A, activation_cache = activation_forward(Z, self.act_func)
        self.cache = (dense_cache, activation_cache, A)
        return A

    def backward(self, dA, input_gradient=True, *, check_input=True) -> np.ndarray | None:
        """dX (N, n_in) from dA (N, nodes); fills grads["weights"], grads["bias"]."""
        self._require_forward()
        _, activation_cache, A = self.cache
        if check_input:
            dA = self._check_dA(dA, A.shape, A.dtype)
        return self._backward_from_dZ(activation_backward(dA, activation_cache), input_gradient)

    def _backward_from_dZ(self, dZ: np.ndarray, input_gradient: bool) -> np.ndarray | None:
        dX, dweights, dbias = dense_backward(dZ, self.cache[0], input_gradient)
        self.grads = {"weights": dweights, "bias": dbias}
        return dX

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nodes={self.nodes}, act_func={self.act_func.__name__})"


def output_delta(prediction: np.ndarray, Z: np.ndarray, target: np.ndarray,
                 output_func: Callable, cost_func: Callable) -> np.ndarray:
    """dZ = dC/dZ of the output layer, where prediction = output_func(Z) and
    C = cost_func(target)(prediction), all (N, nodes):

        softmax + CostCrossEntropy, sigmoid + CostLogReg:  dZ = (prediction - target) / N
        any other pair:  autograd through cost_func(target)(output_func(Z))
                         (for an element-wise output_func this is C'(prediction) * f'(Z))
    """
    name = getattr(cost_func, "__name__", "")
    ours = getattr(cost_func, "__module__", "") == "course_utils.costs"
    if ours and ((output_func is softmax and name == "CostCrossEntropy")
                 or (output_func is sigmoid and name == "CostLogReg")):
        return (prediction - target) / Z.dtype.type(target.shape[0])
    cost = cost_func(target)
    return np.asarray(_autograd_grad(lambda z: cost(output_func(z)))(Z), dtype=Z.dtype)


class OutputLayer(FullyConnectedLayer):
    """Last dense layer: prediction = output_func(X @ weights + bias), trained from the cost.

    X (N, n_in) -> prediction (N, nodes). Its backward takes the TARGET (N, nodes), not a
    gradient: it starts backpropagation from the cost C = cost_func(target)(prediction),
    dZ = output_delta(...) (for softmax + CostCrossEntropy: (prediction - target) / N).

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
        super().__init__(nodes, check.function("output_func", output_func), scheduler, seed)
        if cost_func is not None:
            check.function("cost_func", cost_func)
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

    def backward(self, target, input_gradient=True, *, check_input=True) -> np.ndarray | None:
        """dX (N, n_in) from the target (N, nodes) of the last forward; fills grads."""
        self._require_forward()
        if self.cost_func is None:
            raise ValueError(
                "OutputLayer needs cost_func to start backpropagation, e.g. "
                "OutputLayer(10, softmax, cost_func=CostCrossEntropy)."
            )
        _, (Z, _), prediction = self.cache
        target = finite_array("target", target) if check_input else target
        if target.shape != Z.shape:
            raise ValueError(
                f"target must have the shape of the prediction {Z.shape}, got "
                f"{target.shape}; one-hot encode labels with course_utils.data.onehot."
            )
        target = target.astype(Z.dtype, copy=False)
        dZ = output_delta(prediction, Z, target, self.output_func, self.cost_func)
        return self._backward_from_dZ(dZ, input_gradient)

    def __repr__(self) -> str:
        return f"OutputLayer(nodes={self.nodes}, output_func={self.output_func.__name__})"
