"""Cost functions in the lecture's form: ``CostX(target)`` returns ``f(prediction)``.

The returned function takes only the prediction, so autograd can differentiate it::

    from autograd import grad
    target = np.array([[0.0, 1.0], [1.0, 0.0]])           # (N, classes), one-hot
    cost = CostCrossEntropy(target)
    cost(prediction)         # a scalar
    grad(cost)(prediction)   # same shape as prediction

Shapes: ``target`` and ``prediction`` have the same shape, samples along axis 0, e.g.
``(N, 1)`` for regression / binary classification or ``(N, classes)``.
Every cost is a MEAN OVER SAMPLES: the sum is divided by N = target.shape[0].

Logarithms: a prediction of exactly 0 (or 1 in the logistic cost) would give log(0) =
-inf and NaN gradients. Inside the log we clip the prediction to at least EPSILON
(and, in the logistic cost, at most 1 - EPSILON), EPSILON = 1e-7 as in Keras. This changes
nothing for predictions inside that range (the gradient there is the exact one) and caps
each log term at -log(1e-7) ~ 16.1.
"""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as np

from ._validation import finite_array

__all__ = ["EPSILON", "CostCrossEntropy", "CostLogReg", "CostOLS"]

#: smallest probability passed to log (Keras' backend epsilon)
EPSILON = 1e-7


def _target_array(target) -> np.ndarray:
    target = finite_array("target", target)
    if target.ndim == 0:
        raise ValueError(
            "target must be an array with samples along axis 0, e.g. shape (N, 1) or "
            f"(N, classes), got the scalar {target!r}."
        )
    return target


def CostOLS(target: np.ndarray) -> Callable[[np.ndarray], float]:
    """Mean squared error: C(X) = (1/N) * sum (target - X)**2, N = target.shape[0].

    The sum runs over all entries (samples and outputs), the division only over samples.
    """
    target = _target_array(target)

    def func(X: np.ndarray) -> float:
        return (1.0 / target.shape[0]) * np.sum((target - X) ** 2)

    return func


def CostLogReg(target: np.ndarray) -> Callable[[np.ndarray], float]:
    """Binary cross-entropy (logistic regression), target entries in {0, 1}, X in [0, 1].

    C(X) = -(1/N) * sum [ t * log(X) + (1 - t) * log(1 - X) ],  N = target.shape[0],
    with X clipped to [EPSILON, 1 - EPSILON] inside the logs.
    """
    target = _target_array(target)

    def func(X: np.ndarray) -> float:
        p = np.clip(X, EPSILON, 1 - EPSILON)
        return -(1.0 / target.shape[0]) * np.sum(target * np.log(p) + (1 - target) * np.log(1 - p))

    return func


def CostCrossEntropy(target: np.ndarray) -> Callable[[np.ndarray], float]:
    """Categorical cross-entropy for one-hot targets (N, classes), X rows = probabilities.

    C(X) = -(1/N) * sum_{n, k} t_nk * log(X_nk),  N = target.shape[0] (number of samples),
    with X clipped from below at EPSILON inside the log.

    Normalisation: the lecture divides by target.size (samples * classes); we take the
    mean over samples, as Keras' categorical cross-entropy does, so our cost and its
    gradient match a Keras model's loss. (The lecture's value is ours / classes.)
    Only the lower clip is needed here (there is no log(1 - X)), so predictions above 1,
    as in the lecture's usage example, still get their exact gradient -t / X / N.
    """
    target = _target_array(target)

    def func(X: np.ndarray) -> float:
        return -(1.0 / target.shape[0]) * np.sum(target * np.log(np.clip(X, EPSILON, np.inf)))

    return func
