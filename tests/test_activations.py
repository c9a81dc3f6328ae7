"""Activation functions: values, closed-form derivatives, stability, dtype, autograd."""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad, grad

from course_utils.activations import LRELU, LRELU_SLOPE, RELU, derivate, identity, sigmoid, softmax
from course_utils.gradcheck import relative_error

ELEMENT_WISE = [identity, sigmoid, RELU, LRELU]
ALL = ELEMENT_WISE + [softmax]


def central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def away_from_zero(shape, seed=0):
    x = np.random.default_rng(seed).normal(scale=3.0, size=shape)
    return np.where(np.abs(x) < 1e-2, 0.5, x)  # the kinks of RELU/LRELU are at 0


def test_values_on_a_hand_example():
    x = np.array([-2.0, 0.0, np.log(3.0)])
    np.testing.assert_allclose(sigmoid(x), [1 / (1 + np.exp(2.0)), 0.5, 0.75])
    np.testing.assert_array_equal(RELU(x), [0.0, 0.0, np.log(3.0)])
    np.testing.assert_allclose(LRELU(x), [-0.002, 0.0, np.log(3.0)])
    np.testing.assert_array_equal(identity(x), x)
    np.testing.assert_allclose(softmax(np.array([[0.0, np.log(3.0)]])), [[0.25, 0.75]])


def test_lrelu_slope_is_the_lectures_10e_minus_4():
    assert LRELU_SLOPE == 0.001
    assert LRELU(np.array([-1.0]))[0] == -0.001


@pytest.mark.parametrize("f", ELEMENT_WISE + [anp.tanh], ids=lambda f: f.__name__)
def test_derivate_matches_central_differences(f):
    x = away_from_zero((5, 4))
    expected = central_difference(f, x)
    got = derivate(f)(x)
    error = relative_error(got, expected)
    assert error < 1e-8, f"relative error {error:.2e}"


@pytest.mark.parametrize("f", ELEMENT_WISE, ids=lambda f: f.__name__)
def test_closed_form_derivative_equals_autograd(f):
    x = away_from_zero((3, 7), seed=1)
    np.testing.assert_allclose(derivate(f)(x), elementwise_grad(f)(x), rtol=1e-12, atol=1e-15)


def test_derivatives_at_zero():
    zero = np.zeros(1)
    assert derivate(RELU)(zero)[0] == 0.0
    assert derivate(LRELU)(zero)[0] == LRELU_SLOPE
    assert derivate(sigmoid)(zero)[0] == 0.25
    assert derivate(identity)(zero)[0] == 1.0


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_stable_at_plus_minus_1000_without_warnings(f):
    x = np.array([[-1000.0, 0.0, 1000.0], [1000.0, 999.0, -1000.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        values = f(x)
        if f is not softmax:
            slopes = derivate(f)(x)
            assert np.all(np.isfinite(slopes))
        gradient = elementwise_grad(lambda z: anp.sum(f(z) * np.arange(1.0, 4.0)))(x)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(gradient))
    if f is sigmoid:
        np.testing.assert_array_equal(values[0], [0.0, 0.5, 1.0])
        np.testing.assert_array_equal(derivate(sigmoid)(x)[0], [0.0, 0.25, 0.0])
    if f is softmax:
        np.testing.assert_allclose(values, [[0, 0, 1], [1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0]])


def test_softmax_rows_sum_to_one_and_ignore_a_shift():
    x = np.random.default_rng(2).normal(scale=50.0, size=(6, 10))
    p = softmax(x)
    assert p.shape == x.shape and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(x + 123.0), p, rtol=1e-9, atol=1e-300)
    small = x / 100
    np.testing.assert_allclose(
        softmax(small), np.exp(small) / np.exp(small).sum(axis=1, keepdims=True), rtol=1e-12
    )


def test_softmax_works_over_the_last_axis_of_any_rank():
    x = np.random.default_rng(3).normal(size=(2, 3, 4))
    np.testing.assert_allclose(softmax(x).sum(axis=-1), np.ones((2, 3)))


def test_softmax_gradient_through_autograd_matches_finite_differences():
    x = np.random.default_rng(4).normal(size=(3, 5))
    weights = np.random.default_rng(5).normal(size=(3, 5))

    def scalar(z):
        return anp.sum(softmax(z) * weights)

    got = grad(scalar)(x)
    expected = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = 1e-6
        expected[index] = (scalar(x + step) - scalar(x - step)) / 2e-6
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_derivative_of_softmax_refuses_and_points_to_cross_entropy():
    slope = derivate(softmax)  # asking is fine (the output layer may ask) ...
    with pytest.raises(ValueError, match="cross-entropy|CostCrossEntropy"):
        slope(np.zeros((1, 3)))  # ... using it as an element-wise factor is not


@pytest.mark.parametrize("f", ALL, ids=lambda f: f.__name__)
def test_float32_stays_float32(f):
    x = away_from_zero((4, 3)).astype(np.float32)
    assert f(x).dtype == np.float32
    if f is not softmax:
        assert derivate(f)(x).dtype == np.float32


def test_derivate_rejects_non_functions():
    with pytest.raises(TypeError, match="func"):
        derivate("sigmoid")


def test_lecture_usage_example_runs():
    z = np.array([[4, 5, 6]]).T
    a = sigmoid(z)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(derivate(sigmoid)(z), a * (1 - a))
