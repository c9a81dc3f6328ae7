"""The usage examples of the lecture notes run against course_utils, unchanged in spirit.

Each test is the lecture's example with our imports (and a smaller data set where the
lecture trains for minutes), plus an assertion on what the example shows. The lecture's two
networks are built by tests/cnn_helpers.py, which the other tests share.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad
from cnn_helpers import lecture_first_cnn, lecture_untraditional_cnn

from course_utils.activations import LRELU, derivate, identity, sigmoid
from course_utils.costs import CostCrossEntropy, CostLogReg, CostOLS
from course_utils.data import load_mnist, onehot
from course_utils.schedulers import Adam, Momentum


def test_scheduler_usage_example_moves_the_weights_against_the_gradient():
    adam_scheduler = Adam(eta=1e-3, rho=0.9, rho2=0.999)
    Momentum(eta=1e-3, momentum=0.9)  # the lecture builds one too
    rng = np.random.default_rng(2023)
    weights = np.ones((3, 3))
    for _ in range(10):
        gradient = rng.random((3, 3))  # positive gradients: every weight must decrease
        change = adam_scheduler.update_change(gradient)
        weights = weights - change
        adam_scheduler.reset()
    # after a reset Adam's first step is eta * sign(gradient): 10 steps of 1e-3 each
    np.testing.assert_allclose(weights, np.full((3, 3), 1 - 10e-3), rtol=1e-6)


def test_cost_function_usage_example_differentiates_with_autograd():
    target = np.array([[1, 2, 3]]).T
    a = np.array([[4.0, 5.0, 6.0]]).T
    for cost_func in (CostOLS, CostCrossEntropy):
        valued_at_a = grad(cost_func(target))(a)
        assert valued_at_a.shape == a.shape and np.all(np.isfinite(valued_at_a))
    # OLS: d/dX of (1/N) sum (t - X)^2 is -2 (t - X) / N
    np.testing.assert_allclose(grad(CostOLS(target))(a), -2 * (target - a) / 3)
    p = np.array([[0.2, 0.9]]).T
    assert np.isfinite(grad(CostLogReg(np.array([[0.0, 1.0]]).T))(p)).all()


def test_activation_usage_example_gives_sigmoid_and_its_derivative():
    z = np.array([[4.0, 5.0, 6.0]]).T
    a = sigmoid(z)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(derivate(sigmoid)(z), a * (1 - a))
    np.testing.assert_allclose(derivate(LRELU)(anp.array([-1.0, 2.0])), [0.001, 1.0])
    np.testing.assert_allclose(derivate(identity)(z), np.ones_like(z))


def test_first_cnn_example_builds_and_trains_on_mnist():
    cnn = lecture_first_cnn(seed=2023)  # the lecture's code, in tests/cnn_helpers.py

    images, labels = load_mnist()
    order = np.random.default_rng(0).permutation(len(labels))[:1500]
    x_train, y_train = images[order[:1000]], onehot(labels[order[:1000]])
    x_val, y_val = images[order[1000:]], onehot(labels[order[1000:]])
    scores = cnn.fit(
        x_train, y_train, lam=1e-5, batches=20, epochs=5, X_val=x_val, t_val=y_val, progress=False
    )
    assert set(scores) == {"train_error", "train_acc", "val_error", "val_acc"}
    assert all(len(values) == 5 and np.all(np.isfinite(values)) for values in scores.values())
    assert scores["train_error"][-1] < scores["train_error"][0]
    assert scores["val_acc"][-1] > 0.6  # ten classes: chance is 0.1 (measured: 0.75)


def test_untraditional_architecture_of_the_lecture_builds_and_predicts():
    cnn = lecture_untraditional_cnn(seed=2023)  # the lecture's code, in tests/cnn_helpers.py

    images, labels = load_mnist()
    cnn.fit(images[::50], onehot(labels[::50]), epochs=1, batches=4, progress=False)
    # 28x28 -> same 7x1 conv 28x28 -> avg pool 27x27 -> max pool 26x26
    # -> same conv, strides (2, 3): 13x9 -> same 2x2 conv 13x9 -> max pool 12x8 = 96 features
    summary = cnn.summary()
    assert "(1, 12, 8)" in summary and "(96,)" in summary
    prediction = cnn.predict(images[:5])
    assert prediction.shape == (5, 10) and np.all(prediction.sum(axis=1) == 1)
