"""Notebook 07 (grid search): the best cell of a grid, the loss of a constant prediction."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_arrays,
    same_floats,
)


def _best_hyperparameters_reference(accuracy, etas, lambdas):
    """(eta, lambda) of the highest finite accuracy; NaN marks a diverged run."""
    scores = np.where(np.isfinite(accuracy), accuracy, -np.inf)
    i, j = np.unravel_index(np.argmax(scores), scores.shape)
    return float(etas[i]), float(lambdas[j])



def _chance_loss_reference(labels, n_classes):
    """Best constant prediction q (the class frequencies) and its mean cross-entropy (nats)."""
    q = np.bincount(np.asarray(labels), minlength=n_classes) / len(labels)
    present = q > 0  # 0 * ln 0 = 0: an absent class costs nothing
    return q, float(-np.sum(q[present] * np.log(q[present])))



def _chance_loss_cases(rng):
    cases = [
        (np.array([0, 1]), 2),
        (np.array([0, 0, 0, 1]), 2),
        (np.arange(10), 10),
        (np.array([0, 0, 1, 1, 2, 2]), 4),      # class 3 never occurs: 0 * ln 0 = 0
        (np.array([3, 3, 3]), 5),               # one class only: the loss is 0
        (np.array([5] * 5 + list(range(10))), 10),  # digit 5 makes up half of the labels
    ]
    for _ in range(8):
        n_classes = int(rng.integers(2, 11))
        cases.append((rng.integers(0, n_classes, size=int(rng.integers(1, 40))), n_classes))
    return cases



def _best_hyperparameters_cases(rng):
    etas, lambdas = np.array([1e-3, 1e-2, 1e-1]), np.array([0.0, 1e-4, 1e-2])
    cases = [
        (np.array([[0.5, 0.6, 0.7], [0.8, 0.9, 0.1], [0.2, 0.3, 0.4]]), etas, lambdas),
        (np.array([[0.5, 0.6, 0.7], [0.8, 0.6, 0.1], [np.nan, np.nan, np.nan]]), etas, lambdas),
        (np.array([[np.nan, 0.2], [0.3, np.nan]]), etas[:2], lambdas[1:]),
        (np.array([[0.1, 0.2, 0.25]]), etas[:1], lambdas),
        # ties at the maximum: the first in row-major order wins (the statement, np.argmax)
        (np.array([[0.9, 0.975, 0.975], [0.5, 0.975, np.nan], [0.1, 0.2, 0.3]]), etas, lambdas),
        (np.array([[0.5, 0.8], [0.8, 0.1]]), etas[:2], lambdas[:2]),
        (np.array([[np.nan, 0.7, 0.6], [0.7, np.nan, 0.7]]), etas[:2], lambdas),
    ]
    for number in range(8):
        n_eta, n_lam = (int(v) for v in rng.integers(1, 6, size=2))
        if number % 2:   # distinct accuracies
            accuracy = rng.permutation(n_eta * n_lam).reshape(n_eta, n_lam) / (n_eta * n_lam)
        else:            # a few levels, as a test set of 1,000 images rounds them: ties
            accuracy = rng.integers(95, 98, size=(n_eta, n_lam)) / 100
        accuracy[rng.random(accuracy.shape) < 0.3] = np.nan
        accuracy.flat[int(rng.integers(accuracy.size))] = 0.01  # at least one finite run
        cases.append((accuracy, np.logspace(-4, 0, n_eta), np.logspace(-5, -1, n_lam)))
    return cases


EXERCISES = (
    Exercise("best_hyperparameters", _best_hyperparameters_cases, _best_hyperparameters_reference,
             same_floats, ("accuracy", "etas", "lambdas")),
    Exercise("chance_loss", _chance_loss_cases, _chance_loss_reference,
             same_arrays(rtol=1e-9, atol=1e-12), ("labels", "n_classes"),
             references=("CostCrossEntropy", "entropy")),
)
