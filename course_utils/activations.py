"""Activation functions and their derivatives, written with autograd.numpy.

Every function takes an array ``X`` of any shape (e.g. ``(N, nodes)`` or ``(N, C, H, W)``)
and returns an array of the same shape and dtype (float32 stays float32). They are
written with ``autograd.numpy``, so ``autograd.grad`` / ``elementwise_grad`` can
differentiate through them, and they are numerically stable: no overflow warnings
even at ``X = +-1000``.

``derivate(f)`` returns f' as a function of the pre-activation ``z`` (not of ``a = f(z)``)::

    z = np.array([[4.0, 5.0, 6.0]]).T
    a = sigmoid(z)
    slope = derivate(sigmoid)(z)    # sigmoid(z) * (1 - sigmoid(z))
"""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as np
from autograd import elementwise_grad
from autograd.scipy.special import expit

__all__ = ["LRELU", "LRELU_SLOPE", "RELU", "derivate", "identity", "sigmoid", "softmax"]

#: slope of LRELU for x <= 0. The lecture writes ``delta = 10e-4``, which is 0.001
#: (not 1e-4 and not Keras' default 0.3); a Keras twin needs LeakyReLU(negative_slope=0.001).
LRELU_SLOPE = 10e-4


def identity(X: np.ndarray) -> np.ndarray:
    """f(x) = x (regression outputs, or 'no activation')."""
    return X


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Logistic function f(x) = 1 / (1 + exp(-x)), element-wise, values in [0, 1].

    Computed with scipy's ``expit`` (through autograd's wrapper, which also knows its
    derivative): it never evaluates exp of a large positive number, so x = -1000 gives
    0 and x = +1000 gives 1 without overflow warnings.
    """
    return expit(X)


def softmax(X: np.ndarray) -> np.ndarray:
    """Softmax over the last axis: f(x)_i = exp(x_i) / sum_j exp(x_j).

    X: (N, classes) -> (N, classes), each row non-negative and summing to 1.
    Subtracting the row maximum first changes nothing mathematically (it cancels in the
    ratio) but keeps every exponent <= 0, so exp never overflows.
    """
    shifted = X - np.max(X, axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / np.sum(exponentials, axis=-1, keepdims=True)


def RELU(X: np.ndarray) -> np.ndarray:
    """Rectified linear unit f(x) = max(x, 0), element-wise."""
    return np.where(X > 0, X, np.zeros_like(X))


def LRELU(X: np.ndarray) -> np.ndarray:
    """Leaky ReLU: f(x) = x for x > 0, LRELU_SLOPE * x (= 0.001 x) otherwise."""
    return np.where(X > 0, X, LRELU_SLOPE * X)


def _identity_derivative(X: np.ndarray) -> np.ndarray:
    return np.ones_like(X)


def _sigmoid_derivative(X: np.ndarray) -> np.ndarray:
    s = sigmoid(X)
    return s * (1 - s)


def _RELU_derivative(X: np.ndarray) -> np.ndarray:
    # f'(0) is undefined; we use 0 there, as the lecture (and Keras) do.
    return np.where(X > 0, np.ones_like(X), np.zeros_like(X))


def _LRELU_derivative(X: np.ndarray) -> np.ndarray:
    return np.where(X > 0, np.ones_like(X), LRELU_SLOPE * np.ones_like(X))


def _softmax_derivative(X: np.ndarray) -> np.ndarray:
    raise ValueError(
        "the derivative of softmax is a (classes x classes) Jacobian per sample, not an "
        "element-wise function, so derivate(softmax) cannot be multiplied into a delta term. "
        "Use softmax only in the output layer with CostCrossEntropy: there the two combine "
        "into delta = prediction - target, which the output layer computes directly."
    )


_CLOSED_FORMS: dict[Callable, Callable] = {
    identity: _identity_derivative,
    sigmoid: _sigmoid_derivative,
    RELU: _RELU_derivative,
    LRELU: _LRELU_derivative,
    softmax: _softmax_derivative,
}


def derivate(func: Callable) -> Callable:
    """Return the element-wise derivative f' of an activation function f.

    identity, sigmoid, RELU and LRELU get closed forms (1; s(1 - s); 1 or 0 with 0 at
    x = 0; 1 or LRELU_SLOPE). Any other element-wise function falls back to autograd's
    ``elementwise_grad``. The returned function takes the pre-activation z and keeps its
    shape and dtype.

    softmax has no element-wise derivative (its Jacobian couples the classes): the
    function returned for it raises ValueError when called. The output layer handles
    softmax + cross-entropy jointly (delta = prediction - target).
    """
    if not callable(func):
        raise TypeError(f"func must be a function such as sigmoid or RELU, got {func!r}.")
    return _CLOSED_FORMS.get(func) or elementwise_grad(func)
