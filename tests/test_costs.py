"""Cost functions: hand values, autograd gradients vs finite differences, safety at 0 and 1."""

from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from course_utils.activations import softmax
from course_utils.costs import EPSILON, CostCrossEntropy, CostLogReg, CostOLS
from course_utils.gradcheck import numerical_gradient, relative_error


def test_ols_on_a_hand_example():
    # ((1 - 0)^2 + (0 - 0)^2 + (2 - 4)^2 + (1 - 1)^2) / 2 samples (not / 4 entries)
    target = np.array([[1.0, 0.0], [2.0, 1.0]])
    assert CostOLS(target)(np.array([[0.0, 0.0], [4.0, 1.0]])) == pytest.approx(2.5)


def test_logreg_on_a_hand_example():
    cost = CostLogReg(np.array([[1.0], [0.0]]))(np.array([[0.8], [0.4]]))
    assert cost == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-12)


def test_cross_entropy_is_a_mean_over_samples():
    target = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    prediction = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    # divided by the 2 samples, not by the 6 entries (the lecture's target.size)
    assert CostCrossEntropy(target)(prediction) == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2)


def random_case(shape, seed, one_hot=False):
    rng = np.random.default_rng(seed)
    prediction = rng.uniform(0.05, 0.95, size=shape)
    if one_hot:
        target = np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]
    else:
        target = rng.integers(0, 2, size=shape).astype(float)
    return target, prediction


@pytest.mark.parametrize(
    "cost, one_hot",
    [(CostOLS, False), (CostLogReg, False), (CostCrossEntropy, True)],
    ids=["OLS", "LogReg", "CrossEntropy"],
)
def test_autograd_gradient_matches_finite_differences(cost, one_hot):
    target, prediction = random_case((6, 4), seed=0, one_hot=one_hot)
    f = cost(target)
    got = grad(f)(prediction)
    expected = numerical_gradient(lambda: f(prediction), prediction)
    error = relative_error(got, expected)
    assert error < 1e-8, f"relative error {error:.2e}"


def test_cross_entropy_gradient_has_the_closed_form():
    target, prediction = random_case((5, 3), seed=1, one_hot=True)
    np.testing.assert_allclose(grad(CostCrossEntropy(target))(prediction), -target / prediction / 5)


def test_softmax_with_cross_entropy_gives_prediction_minus_target():
    # the joint rule the output layer uses instead of derivate(softmax)
    target, _ = random_case((4, 3), seed=2, one_hot=True)
    z = np.random.default_rng(3).normal(size=(4, 3))
    gradient = grad(lambda x: CostCrossEntropy(target)(softmax(x)))(z)
    np.testing.assert_allclose(gradient, (softmax(z) - target) / 4, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cost", [CostOLS, CostLogReg, CostCrossEntropy])
def test_no_nan_or_warning_at_predictions_zero_and_one(cost):
    target = np.array([[1.0, 0.0], [0.0, 1.0]])
    prediction = np.array([[0.0, 1.0], [1.0, 0.0]])  # confidently wrong everywhere
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        value = cost(target)(prediction)
        gradient = grad(cost(target))(prediction)
        perfect = cost(target)(target)
    assert np.isfinite(value) and np.all(np.isfinite(gradient))
    assert perfect == pytest.approx(0.0, abs=1e-6)
    if cost is not CostOLS:
        assert value == pytest.approx(-np.log(EPSILON) * (2 if cost is CostLogReg else 1))


def test_costs_accept_float32_predictions():
    target, prediction = random_case((3, 2), seed=4)
    value = CostLogReg(target)(prediction.astype(np.float32))
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad(CostLogReg(target))(prediction.astype(np.float32))))


@pytest.mark.parametrize("cost", [CostOLS, CostLogReg, CostCrossEntropy])
def test_bad_targets_raise_value_error_naming_target(cost):
    with pytest.raises(ValueError, match="target"):
        cost(np.float64(1.0))
    with pytest.raises(ValueError, match="target"):
        cost(np.array([[1.0], [np.nan]]))


def test_lecture_usage_example_runs():
    target = np.array([[1, 2, 3]]).T
    a = np.array([[4, 5, 6]]).T
    cost_func = CostCrossEntropy
    valued_at_a = grad(cost_func(target))(a)
    np.testing.assert_allclose(valued_at_a, -target / a / 3)
    assert anp.shape(valued_at_a) == (3, 1)
