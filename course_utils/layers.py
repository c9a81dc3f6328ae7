"""The layers of our CNN, readable: each computes forward(X) and, right beside it, backward(dA).

Images are batches of shape (N, C, H, W): N images, C channels, height H, width W.
Every layer follows one small interface (notebook 04 builds and checks them,
notebook 05 builds a CNN from them):

    A  = layer.forward(X)     output of the layer
    dX = layer.backward(dA)   gradient of the loss w.r.t. X, given dA = dLoss/dA;
                              also fills layer.grads (same keys and shapes as layer.params)

A layer never updates its own weights: the model (course_utils.cnn.CNN) hands each
gradient to that parameter's own scheduler. Computation happens in the dtype of the
data: float32 in gives float32 out (the stored float64 parameters are cast), float64
in gives float64 out, which is what the gradient checks (course_utils.gradcheck) use.

This file is written to be read next to the lecture: loops over output positions, one
line of maths each. What every convolution and pooling layer shares (arguments, shapes,
padding, weights, input checks) is in _layer_base.py. The vectorised versions the CNN
trains with (im2col, dtype tricks) are in fast_layers.py, tested equal to these, and
importable from here too: `from course_utils.layers import Convolution2DLayerOPT`.

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

from abc import ABCMeta
from collections.abc import Callable

import numpy as np
from autograd import grad as _autograd_grad

from . import _validation as check
from ._layer_base import (
    Convolution2DBase,
    Layer,
    Pooling2DBase,
    Shape,
    activation_backward,
    init_scale,
)
from ._validation import finite_array, positive_int
from .activations import LRELU, sigmoid, softmax
from .convolution import pad_input
from .fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT
from .layers_1d import Convolution1DLayer, Pooling1DLayer  # noqa: F401 (signals, re-exported)

__all__ = [
    "Convolution2DLayer",
    "Convolution2DLayerOPT",
    "FlattenLayer",
    "FullyConnectedLayer",
    "Layer",
    "OutputLayer",
    "Pooling2DLayer",
    "Pooling2DLayerOPT",
]


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


class Convolution2DLayer(Convolution2DBase, metaclass=ABCMeta):
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
    forward: X (N, C, H, W) -> A (N, F, out_h, out_w) with
        Z[n, f, i, j] = bias[f] + sum_{c, a, b} X_pad[n, c, i*v_stride + a, j*h_stride + b]
                                                * kernel[c, f, a, b]
        A = act_func(Z),  out_h = floor((H + top + bottom - kh) / v_stride) + 1
    (cross-correlation, as in every deep-learning library: the kernel is not flipped).
    """

    def _forward(self, X: np.ndarray) -> np.ndarray:
        kernel, bias = self._weights(X.dtype)
        X_padded, self._pads = pad_input(
            X, self.pad, self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        )
        kh, kw, vs, hs = self.kernel_height, self.kernel_width, self.v_stride, self.h_stride
        n_images, _, out_h, out_w = (X.shape[0], *self.output_shape(X.shape[1:]))
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
        dZ = activation_backward(self.act_func, self._Z, dA)  # f'(z) * dA
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


# ---------------------------------------------------------------------------
# Pooling and flattening
# ---------------------------------------------------------------------------


class Pooling2DLayer(Pooling2DBase, metaclass=ABCMeta):
    """Max or average pooling over kh x kw windows, without padding.

    X (N, C, H, W) -> A (N, C, out_h, out_w), out_h = floor((H - kh) / v_stride) + 1
    (convolution.pool_output_size). Windows may overlap (stride < kernel). Backward:
    "max" sends each window's gradient to the position of its maximum (the first one,
    row by row, if several are equal); "average" spreads it evenly, 1/(kh*kw) to every
    pixel of the window. A pixel that belongs to several windows receives the SUM of
    their contributions.
    """

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dX (N, C, H, W) from dA (N, C, out_h, out_w)."""
        self._require_forward("_A_shape")
        return self._backward(self._check_dA(dA, self._A_shape, self._X.dtype))

    def _window(self, i: int, j: int) -> tuple[slice, slice]:
        """Rows and columns of the window under output position (i, j)."""
        top, left = i * self.v_stride, j * self.h_stride
        return slice(top, top + self.kernel_height), slice(left, left + self.kernel_width)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        n_images, channels = X.shape[:2]
        _, out_h, out_w = self.output_shape(X.shape[1:])
        A = np.empty((n_images, channels, out_h, out_w), dtype=X.dtype)
        for i in range(out_h):
            for j in range(out_w):
                rows, cols = self._window(i, j)
                window = X[:, :, rows, cols]  # (N, C, kh, kw)
                if self.pooling == "max":
                    A[:, :, i, j] = window.max(axis=(2, 3))
                else:
                    A[:, :, i, j] = window.sum(axis=(2, 3)) / X.dtype.type(window[0, 0].size)
        self._X, self._A_shape = X, A.shape
        return A

    def _backward(self, dA: np.ndarray) -> np.ndarray:
        X = self._X
        n_images, channels = X.shape[:2]
        dX = np.zeros_like(X)
        for i in range(dA.shape[2]):
            for j in range(dA.shape[3]):
                rows, cols = self._window(i, j)
                window = X[:, :, rows, cols].reshape(n_images, channels, -1)  # (N, C, kh*kw)
                if self.pooling == "max":
                    # A = max(window) depends only on its (first) largest pixel, slope 1
                    share = np.zeros_like(window)
                    first = np.argmax(window, axis=2)[..., None]
                    np.put_along_axis(share, first, 1, axis=2)
                else:
                    # A = mean(window): every pixel has slope 1 / (kh*kw)
                    share = np.full_like(window, 1 / window.shape[2])
                # += because with overlapping windows a pixel receives from several of them
                dX[:, :, rows, cols] += (share * dA[:, :, i, j, None]).reshape(
                    n_images, channels, self.kernel_height, self.kernel_width
                )
        return dX


# The vectorised layers share the readable ones' arguments and results, so isinstance treats
# them as such: isinstance(Convolution2DLayerOPT(...), Convolution2DLayer) is True (ABCMeta's
# register; they inherit from _layer_base, because fast_layers cannot import this module).
Convolution2DLayer.register(Convolution2DLayerOPT)
Pooling2DLayer.register(Pooling2DLayerOPT)


class FlattenLayer(Layer):
    """Reshape (N, C, H, W) feature maps into (N, C*H*W) rows for the dense layers.

    backward only reshapes the gradient back: flattening is not an activation, so no
    derivative is applied (the lecture's version wrongly multiplied by LRELU').
    """

    def output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(check.flat_shape(input_shape))),)

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
        return self._backward_from_dZ(activation_backward(self.act_func, self._Z, dA))

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
