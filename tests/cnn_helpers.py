"""A small CNN on toy images (the fixtures `data` and `fitted` of conftest.py use it) and
two networks of the lecture notes, its first CNN and the "untraditional" one notebook 05
builds: shared by the tests and tools/threshold_spread_05.py (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import numpy as np

from course_utils.activations import LRELU, identity, sigmoid, softmax
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


def lecture_first_cnn(seed: int = 2023) -> CNN:
    """The lecture's first CNN: one 3x3 conv with one feature map, two dense layers."""
    model = CNN(CostCrossEntropy, Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=seed)
    model.add_Convolution2DLayer(input_channels=1, feature_maps=1, kernel_height=3,
                                 kernel_width=3, act_func=LRELU)
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(30, LRELU)
    model.add_FullyConnectedLayer(20, LRELU)
    model.add_OutputLayer(10, softmax)
    return model


def lecture_untraditional_cnn(seed: int = 2023) -> CNN:
    """The lecture's "untraditional" CNN: a 7x1 kernel, average then max pooling with
    stride 1, a readable 4x4 conv with strides (2, 3), an even 2x2 kernel, four dense layers."""
    model = CNN(CostCrossEntropy, Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=seed)
    model.add_Convolution2DLayer(input_channels=1, feature_maps=7, kernel_height=7,
                                 kernel_width=1, act_func=LRELU)
    model.add_PoolingLayer(kernel_height=2, kernel_width=2, pooling="average")
    model.add_PoolingLayer(kernel_height=2, kernel_width=2, pooling="max")
    model.add_Convolution2DLayer(input_channels=7, feature_maps=1, kernel_height=4,
                                 kernel_width=4, v_stride=2, h_stride=3, act_func=LRELU,
                                 optimized=False)
    model.add_Convolution2DLayer(input_channels=1, feature_maps=1, kernel_height=2,
                                 kernel_width=2, act_func=sigmoid, optimized=True)
    model.add_PoolingLayer(kernel_height=2, kernel_width=2, pooling="max")
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(100, LRELU)
    model.add_FullyConnectedLayer(10, sigmoid)
    model.add_FullyConnectedLayer(101, identity)
    model.add_OutputLayer(10, softmax)
    return model


def weights(model: CNN) -> list[np.ndarray]:
    return [value.copy() for layer in model.layers for value in layer.params.values()]


def assert_same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
