"""Schedulers against steps of the textbook formulas computed by hand."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from course_utils.schedulers import (
    Adagrad,
    AdagradMomentum,
    Adam,
    Constant,
    Momentum,
    RMS_prop,
    Scheduler,
)

ALL_SCHEDULERS = [
    lambda: Constant(eta=0.1),
    lambda: Momentum(eta=0.1, momentum=0.9),
    lambda: Adagrad(eta=0.1),
    lambda: AdagradMomentum(eta=0.1, momentum=0.9),
    lambda: RMS_prop(eta=0.1, rho=0.9),
    lambda: Adam(eta=0.1, rho=0.9, rho2=0.999),
]
IDS = ["Constant", "Momentum", "Adagrad", "AdagradMomentum", "RMS_prop", "Adam"]


def test_constant_is_eta_times_gradient():
    np.testing.assert_allclose(Constant(eta=0.1).update_change(np.array([1.0, -2.0])), [0.1, -0.2])


def test_momentum_accumulates_velocity():
    s = Momentum(eta=0.1, momentum=0.9)
    # v1 = 0.1*g1;  v2 = 0.9*v1 + 0.1*g2;  v3 = 0.9*v2 + 0.1*g3 (g3 = 0)
    np.testing.assert_allclose(s.update_change(np.array([1.0, 2.0])), [0.1, 0.2])
    np.testing.assert_allclose(s.update_change(np.array([1.0, 0.0])), [0.19, 0.18])
    np.testing.assert_allclose(s.update_change(np.array([0.0, 0.0])), [0.171, 0.162])


# a non-square gradient: the lecture's outer product g @ g.T would mix rows here
G1 = np.array([[1.0, 2.0, 0.0], [3.0, -4.0, 0.5]])
G2 = np.array([[3.0, 0.0, 1.0], [4.0, 3.0, 0.0]])
# Adagrad, eta = 0.5: step 1 is 0.5 * g / |g| (0 where g = 0);
# step 2 divides by sqrt(g1^2 + g2^2) = sqrt([[10, 4, 1], [25, 25, 0.25]])
ADAGRAD_STEP1 = np.array([[0.5, 0.5, 0.0], [0.5, -0.5, 0.5]])
ADAGRAD_STEP2 = np.array([[1.5 / math.sqrt(10), 0.0, 0.5], [2.0 / 5, 1.5 / 5, 0.0]])


def test_adagrad_is_element_wise_for_a_non_square_gradient():
    s = Adagrad(eta=0.5)
    np.testing.assert_allclose(s.update_change(G1), ADAGRAD_STEP1, rtol=1e-7)
    np.testing.assert_allclose(s.update_change(G2), ADAGRAD_STEP2, rtol=1e-7)
    np.testing.assert_allclose(s.G_t, [[10, 4, 1], [25, 25, 0.25]])


def test_adagrad_momentum_adds_velocity_to_adagrad_steps():
    s = AdagradMomentum(eta=0.5, momentum=0.9)
    np.testing.assert_allclose(s.update_change(G1), ADAGRAD_STEP1, rtol=1e-7)
    np.testing.assert_allclose(s.update_change(G2), 0.9 * ADAGRAD_STEP1 + ADAGRAD_STEP2, rtol=1e-7)


def test_rms_prop_running_average_of_squares():
    s = RMS_prop(eta=0.01, rho=0.9)
    # s1 = 0.1 * [4, 1] = [0.4, 0.1]
    np.testing.assert_allclose(
        s.update_change(np.array([2.0, -1.0])), [0.02 / math.sqrt(0.4), -0.01 / math.sqrt(0.1)]
    )
    # s2 = 0.9 * s1 + 0.1 * [1, 1] = [0.46, 0.19]
    np.testing.assert_allclose(
        s.update_change(np.array([1.0, 1.0])), [0.01 / math.sqrt(0.46), 0.01 / math.sqrt(0.19)]
    )


def test_adam_bias_correction_at_steps_one_and_two():
    s = Adam(eta=0.1, rho=0.9, rho2=0.999)
    # t = 1: m_hat = g, v_hat = g^2, so the step is eta * sign(g) whatever |g| is
    np.testing.assert_allclose(s.update_change(np.array([2.0, -0.5])), [0.1, -0.1], rtol=1e-7)
    assert s.t == 1
    # t = 2: m2 = 0.9*[0.2, -0.05] + 0.1*[1, 1] = [0.28, 0.055]
    #        v2 = 0.999*[0.004, 0.00025] + 0.001*[1, 1] = [0.004996, 0.00124975]
    #        m_hat = m2 / (1 - 0.9^2) = m2 / 0.19,  v_hat = v2 / (1 - 0.999^2) = v2 / 0.001999
    expected = [
        0.1 * (0.28 / 0.19) / math.sqrt(0.004996 / 0.001999),
        0.1 * (0.055 / 0.19) / math.sqrt(0.00124975 / 0.001999),
    ]
    np.testing.assert_allclose(s.update_change(np.array([1.0, 1.0])), expected, rtol=1e-7)
    assert s.t == 2


def test_adam_keeps_moments_until_reset_is_called():
    s = Adam(eta=0.1, rho=0.9, rho2=0.999)
    g = np.array([2.0, -0.5])
    s.update_change(g)
    second = s.update_change(g)  # same gradient twice: m_hat = g, v_hat = g^2 again
    np.testing.assert_allclose(second, [0.1, -0.1], rtol=1e-7)
    s.update_change(np.array([1.0, 1.0]))
    assert s.t == 3
    s.reset()
    assert s.t == 0 and s.moment is None and s.second is None
    np.testing.assert_allclose(s.update_change(np.array([1.0, 1.0])), [0.1, 0.1], rtol=1e-7)


@pytest.mark.parametrize("make", ALL_SCHEDULERS, ids=IDS)
def test_reset_returns_to_the_freshly_constructed_state(make):
    rng = np.random.default_rng(0)
    gradients = [rng.normal(size=(3, 2)) for _ in range(3)]
    used, fresh = make(), make()
    for g in gradients:
        used.update_change(g)
    used.reset()
    for g in gradients:
        np.testing.assert_array_equal(used.update_change(g), fresh.update_change(g))


@pytest.mark.parametrize("make", ALL_SCHEDULERS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_change_and_state_keep_the_gradient_dtype(make, dtype):
    s = make()
    rng = np.random.default_rng(1)
    for _ in range(3):
        change = s.update_change(rng.normal(size=(4, 3)).astype(dtype))
        assert change.dtype == dtype and change.shape == (4, 3)
    for value in vars(s).values():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype


@pytest.mark.parametrize("make", ALL_SCHEDULERS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_changing_the_returned_change_in_place_leaves_the_history_alone(make, dtype):
    rng = np.random.default_rng(4)
    gradients = [rng.normal(size=(3, 2)).astype(dtype) for _ in range(4)]
    scaled_by_caller, reference = make(), make()
    for g in gradients:
        change = scaled_by_caller.update_change(g)
        np.testing.assert_array_equal(change, reference.update_change(g))
        assert change.dtype == dtype
        state = [v for v in vars(scaled_by_caller).values() if isinstance(v, np.ndarray)]
        assert not any(np.shares_memory(change, array) for array in state)
        change *= 100  # e.g. a caller that applies its own step size in place


@pytest.mark.parametrize(
    "cls", [Scheduler, Constant, Momentum, Adagrad, AdagradMomentum, RMS_prop, Adam]
)
def test_every_public_method_has_a_docstring(cls):
    for name, member in vars(cls).items():
        if callable(member) and not name.startswith("_"):
            assert member.__doc__, f"{cls.__name__}.{name} has no docstring"


@pytest.mark.parametrize("make", ALL_SCHEDULERS, ids=IDS)
def test_integer_gradients_become_float64(make):
    assert make().update_change(np.array([1, -2, 3])).dtype == np.float64


@pytest.mark.parametrize("make", ALL_SCHEDULERS, ids=IDS)
@pytest.mark.parametrize("copier", [copy.deepcopy, copy.copy], ids=["deepcopy", "copy"])
def test_copies_share_no_state(make, copier):
    rng = np.random.default_rng(2)
    g_a, g_b, g_c = (rng.normal(size=(2, 2)) for _ in range(3))
    # fresh copies behave like separately built schedulers
    template = make()
    first, second = copier(template), copier(template)
    reference_first, reference_second = make(), make()
    np.testing.assert_array_equal(first.update_change(g_a), reference_first.update_change(g_a))
    np.testing.assert_array_equal(second.update_change(g_b), reference_second.update_change(g_b))
    np.testing.assert_array_equal(first.update_change(g_c), reference_first.update_change(g_c))
    # a copy of a used scheduler continues from its state without touching the original
    clone = copier(first)
    before = {k: np.copy(v) for k, v in vars(first).items() if isinstance(v, np.ndarray)}
    np.testing.assert_array_equal(clone.update_change(g_a), reference_first.update_change(g_a))
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(first, key), value)


def test_a_scheduler_shared_between_two_shapes_is_refused():
    s = Adam(eta=0.1, rho=0.9, rho2=0.999)
    s.update_change(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"deepcopy"):
        s.update_change(np.ones(3))


def test_abstract_scheduler_explains_what_to_use():
    with pytest.raises(NotImplementedError, match="Adam"):
        Scheduler(eta=0.1).update_change(np.ones(2))


@pytest.mark.parametrize(
    "make, name, value",
    [
        (lambda v: Constant(eta=v), "eta", 0),
        (lambda v: Constant(eta=v), "eta", -1e-3),
        (lambda v: Constant(eta=v), "eta", float("nan")),
        (lambda v: Constant(eta=v), "eta", "0.1"),
        (lambda v: Adagrad(eta=v), "eta", True),
        (lambda v: Momentum(eta=0.1, momentum=v), "momentum", 1.0),
        (lambda v: AdagradMomentum(eta=0.1, momentum=v), "momentum", -0.1),
        (lambda v: RMS_prop(eta=0.1, rho=v), "rho", 1.5),
        (lambda v: Adam(eta=0.1, rho=v, rho2=0.999), "rho", -0.5),
        (lambda v: Adam(eta=0.1, rho=0.9, rho2=v), "rho2", 1),
        (lambda v: Adam(eta=v, rho=0.9, rho2=0.999), "eta", float("inf")),
    ],
)
def test_bad_hyper_parameters_raise_value_error_naming_them(make, name, value):
    with pytest.raises(ValueError) as error:
        make(value)
    assert name in str(error.value) and repr(value) in str(error.value)


def test_repr_shows_hyper_parameters():
    assert repr(Adam(eta=1e-3, rho=0.9, rho2=0.999)) == "Adam(eta=0.001, rho=0.9, rho2=0.999)"
    assert repr(Momentum(eta=0.5, momentum=0.9)) == "Momentum(eta=0.5, momentum=0.9)"


def test_lecture_usage_example_runs():
    Momentum(eta=1e-3, momentum=0.9)
    adam_scheduler = Adam(eta=1e-3, rho=0.9, rho2=0.999)
    rng = np.random.default_rng(3)
    weights = np.ones((3, 3))
    for _ in range(10):
        weights = weights - adam_scheduler.update_change(rng.random((3, 3)))
        adam_scheduler.reset()
    # every step is the first after a reset: eta * sign(g) = 1e-3 for positive gradients
    np.testing.assert_allclose(weights, 1 - 10 * 1e-3, rtol=1e-6)


@pytest.mark.parametrize(
    "make, state_names",
    [
        (lambda: Constant(0.1), set()),
        (lambda: Momentum(0.1, 0.9), {"change"}),
        (lambda: Adagrad(0.1), {"G_t"}),
        (lambda: AdagradMomentum(0.1, 0.9), {"G_t", "change"}),
        (lambda: RMS_prop(0.1, 0.9), {"second"}),
        (lambda: Adam(0.1, 0.9, 0.999), {"moment", "second", "t"}),
    ],
)
def test_state_dict_is_what_was_learnt_and_load_state_dict_puts_it_back(make, state_names):
    scheduler = make()
    assert set(scheduler.state_dict()) == state_names  # no hyper-parameter in it
    gradient = np.array([0.5, -2.0, 1.0])
    scheduler.update_change(gradient)
    snapshot = scheduler.state_dict()
    expected = scheduler.update_change(gradient)
    scheduler.update_change(3 * gradient)  # moves the state on
    scheduler.load_state_dict(snapshot)  # back to the state after the first step
    np.testing.assert_array_equal(scheduler.update_change(gradient), expected)


def test_load_state_dict_refuses_the_state_of_another_scheduler():
    with pytest.raises(ValueError, match=r"state must hold \['moment', 'second', 't'\]"):
        Adam(0.1, 0.9, 0.999).load_state_dict(Momentum(0.1, 0.9).state_dict())
