"""A small CNN on toy images, shared by test_cnn.py, test_parallel.py and test_model_file.py
(pytest puts tests/ on sys.path; the fixtures `data` and `fitted` are in conftest.py)."""

from __future__ import annotations

import numpy as np

from course_utils.activations import LRELU, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy
from course_utils.schedulers import Adam


def bars(n: int, seed: int, size: int = 8, dtype=np.float64):
    """Toy images: class 0 has a horizontal bar, class 1 a vertical bar, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    X = rng.normal(0, 0.2, size=(n, 1, size, size))
    positions = rng.integers(1, size - 1, n)
    for i, (label, position) in enumerate(zip(labels, positions)):
        if label == 0:
            X[i, 0, position, :] += 1.0
        else:
            X[i, 0, :, position] += 1.0
    return X.astype(dtype), np.eye(2)[labels].astype(dtype), labels


def small_model(seed=0, eta=1e-2, optimized=True, scheduler=None) -> CNN:
    model = CNN(CostCrossEntropy, scheduler or Adam(eta=eta, rho=0.9, rho2=0.999), seed=seed)
    model.add_Convolution2DLayer(1, 4, 3, 3, act_func=LRELU, optimized=optimized)
    model.add_PoolingLayer(2, 2, 2, 2, "max")
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(8, LRELU)
    model.add_OutputLayer(2, softmax)
    return model


def weights(model: CNN) -> list[np.ndarray]:
    return [value.copy() for layer in model.layers for value in layer.params.values()]


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
