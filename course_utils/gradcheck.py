"""Gradient checking: is a backward pass right? Compare it with finite differences.

For a scalar loss L and any entry x of an array,
    dL/dx ~ (L(x + h) - L(x - h)) / 2h          (central difference, error O(h^2)),
and the analytic gradient g (from backward) and the numerical one n agree when
    relative_error(g, n) = ||g - n|| / (||g|| + ||n||)
is near what double precision and h = 1e-6 allow (1e-8 or so); a wrong index or a
missing term gives errors of order 1. Notebook 04 (section 4.3) and the tests use these.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["gradient_errors", "numerical_gradient", "relative_error"]


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences d loss / d array, same shape as array.

    loss() takes no argument and reads `array`, which is changed in place one entry at a
    time and restored afterwards. Use float64 arrays (float32 rounds away the difference).
    """
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = loss()
        array[index] = saved - h
        minus = loss()
        array[index] = saved
        gradient[index] = (plus - minus) / (2 * h)
    return gradient


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||analytic - numeric|| / (||analytic|| + ||numeric||), 0 when both are zero.

    Scale-free (a loss ten times larger gives the same number) and at most 1.
    """
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(np.asarray(analytic) - np.asarray(numeric)) / scale)


def gradient_errors(layer, X: np.ndarray, seed: int = 0, h: float = 1e-6) -> dict[str, float]:
    """Relative error of a layer's backward pass against finite differences, per array.

    The loss is L = sum(layer.forward(X) * R) for a fixed random R, so dL/dA = R: backward(R)
    must give dL/dX, and layer.grads[key] dL/dparams[key]. Returns {"X": error, key: error
    for every parameter array}. X and the parameters should be float64.
    """
    R = np.random.default_rng(seed).normal(size=layer.forward(X).shape)

    def loss() -> float:
        return float(np.sum(layer.forward(X) * R))

    layer.forward(X)
    analytic = {"X": layer.backward(R), **{key: g.copy() for key, g in layer.grads.items()}}
    errors = {"X": relative_error(analytic["X"], numerical_gradient(loss, X, h))}
    for key, value in layer.params.items():
        errors[key] = relative_error(analytic[key], numerical_gradient(loss, value, h))
    return errors
