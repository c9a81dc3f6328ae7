"""gradcheck: central differences and the relative error, the tools of every gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.gradcheck import gradient_errors, numerical_gradient, relative_error
from course_utils.layers import Convolution2DLayer, FullyConnectedLayer


def test_numerical_gradient_of_a_known_function_and_the_array_is_restored():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    saved = x.copy()
    gradient = numerical_gradient(lambda: float(np.sum(np.sin(x) * x**2)), x)
    np.testing.assert_allclose(gradient, np.cos(saved) * saved**2 + 2 * saved * np.sin(saved),
                               rtol=1e-8)
    np.testing.assert_array_equal(x, saved)


def test_central_differences_are_exact_for_a_quadratic():
    # the O(h^2) error term needs a third derivative: a quadratic has none
    x = np.array([1.0, -3.0, 0.25])
    np.testing.assert_allclose(numerical_gradient(lambda: float(np.sum(3 * x**2 + x)), x),
                               6 * x + 1, rtol=1e-8)


def test_relative_error_is_scale_free_symmetric_and_at_most_one():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3])
    assert relative_error(a, b) == pytest.approx(0.3 / (np.linalg.norm(a) + np.linalg.norm(b)))
    assert relative_error(1e6 * a, 1e6 * b) == pytest.approx(relative_error(a, b))
    assert relative_error(a, b) == relative_error(b, a)
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_gradient_errors_are_small_for_a_right_backward_and_large_for_a_wrong_one():
    X = np.random.default_rng(0).normal(size=(2, 1, 5, 5))
    layer = Convolution2DLayer(1, 2, 3, 3, seed=0)
    errors = gradient_errors(layer, X)
    assert set(errors) == {"X", "kernel", "bias"}
    assert max(errors.values()) < 1e-8, errors

    class WrongBias(FullyConnectedLayer):  # forgets the sum over the batch
        def backward(self, dA, input_gradient=True):
            dX = super().backward(dA, input_gradient)
            self.grads["bias"] = dA[0]
            return dX

    errors = gradient_errors(WrongBias(3, seed=0), np.random.default_rng(1).normal(size=(4, 5)))
    assert errors["weights"] < 1e-8 and errors["bias"] > 0.1, errors
