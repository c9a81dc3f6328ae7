"""Parity of the 1D layers with Keras: Conv1D (dilation_rate too), MaxPooling1D and
AveragePooling1D, with our weights copied over; values and gradients.

Layouts: our signals are (N, C, L), Keras' (N, L, C); our kernel is (C_in, F, k), Keras'
(k, C_in, F).
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from course_utils.activations import LRELU, LRELU_SLOPE, identity, sigmoid
from course_utils.keras_models import keras, tf  # the quiet TensorFlow import
from course_utils.layers_1d import Convolution1DLayer, Pooling1DLayer

DTYPES = {"float32": 1e-5, "float64": 1e-10}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def to_keras(X: np.ndarray) -> np.ndarray:
    return X.transpose(0, 2, 1)


def from_keras(Y) -> np.ndarray:
    return np.asarray(Y).transpose(0, 2, 1)


def keras_conv1d(layer: Convolution1DLayer, dtype: str):
    """A Keras Conv1D with the weights of our layer (pad "same" or "valid")."""
    activation = {identity: None, sigmoid: "sigmoid"}.get(layer.act_func)
    if layer.act_func is LRELU:
        def activation(z):
            return tf.where(z > 0, z, tf.constant(LRELU_SLOPE, dtype=z.dtype) * z)
    conv = keras.layers.Conv1D(
        layer.feature_maps, layer.kernel_size, strides=layer.stride, padding=layer.pad,
        dilation_rate=layer.dilation, activation=activation, dtype=dtype,
    )
    conv.build((None, None, layer.input_channels))
    conv.set_weights([layer.params["kernel"].transpose(2, 0, 1), layer.params["bias"]])
    return conv


# (C, F, k, stride, pad, dilation, L): odd and even kernels, strides with "same"'s extra
# zero, dilation with both paddings (Keras takes dilation only with stride 1)
CASES = [
    (1, 1, 3, 1, "same", 1, 10),
    (2, 3, 4, 1, "same", 1, 11),
    (3, 2, 4, 2, "same", 1, 11),
    (2, 2, 5, 3, "same", 1, 16),
    (2, 2, 3, 1, "same", 2, 12),
    (1, 3, 4, 1, "same", 3, 13),
    (2, 2, 3, 1, "valid", 4, 15),
    (3, 1, 2, 2, "valid", 1, 9),
    (1, 2, 5, 1, "valid", 1, 5),
]


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("act", [identity, LRELU, sigmoid])
@pytest.mark.parametrize("case", CASES, ids=[f"k{c[2]}-s{c[3]}-{c[4]}-d{c[5]}" for c in CASES])
def test_conv1d_forward_matches_keras_conv1d(case, act, dtype):
    C, F, k, stride, pad, dilation, L = case
    ours = Convolution1DLayer(C, F, k, stride, pad, dilation, act_func=act, seed=1)
    ours.params["bias"] = np.random.default_rng(2).normal(size=F)
    X = np.random.default_rng(3).normal(size=(2, C, L)).astype(dtype)
    expected = from_keras(keras_conv1d(ours, dtype)(to_keras(X)))
    result = ours.forward(X)
    assert result.dtype == np.dtype(dtype) and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=DTYPES[dtype], atol=DTYPES[dtype])


@pytest.mark.parametrize("case", [CASES[2], CASES[5], CASES[6]])
def test_conv1d_gradients_match_tensorflow_gradient_tape(case):
    C, F, k, stride, pad, dilation, L = case
    ours = Convolution1DLayer(C, F, k, stride, pad, dilation, act_func=sigmoid, seed=5)
    ours.params["bias"] = np.random.default_rng(6).normal(size=F)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2, C, L))
    R = rng.normal(size=ours.forward(X).shape)
    dX = ours.backward(R)
    conv = keras_conv1d(ours, "float64")
    x = tf.Variable(to_keras(X))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(conv(x) * to_keras(R))
    dx, dkernel, dbias = tape.gradient(loss, [x, conv.kernel, conv.bias])
    np.testing.assert_allclose(dX, from_keras(dx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads["kernel"], np.asarray(dkernel).transpose(1, 2, 0),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads["bias"], np.asarray(dbias), rtol=1e-10, atol=1e-12)


def test_integer_padding_matches_keras_zero_padding_then_valid_conv():
    ours = Convolution1DLayer(2, 3, 3, 1, pad=2, dilation=2, seed=8)
    X = np.random.default_rng(9).normal(size=(2, 2, 7))
    valid = Convolution1DLayer(2, 3, 3, 1, pad="valid", dilation=2, seed=8)
    padded = keras.layers.ZeroPadding1D(2, dtype="float64")(to_keras(X))
    np.testing.assert_allclose(ours.forward(X), from_keras(keras_conv1d(valid, "float64")(padded)),
                               rtol=1e-10, atol=1e-12)


# (pad, stride, kernel, dilation, size); Keras takes dilation only with stride 1 (it raises
# ValueError otherwise), and a "valid" kernel must fit
LENGTH_CASES = [
    (pad, stride, kernel, dilation, size)
    for pad in ("same", "valid") for stride in (1, 2, 3)
    for kernel, dilation in ((1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (2, 3))
    for size in (5, 6, 7, 28)
    if (dilation == 1 or stride == 1) and (pad == "same" or dilation * (kernel - 1) + 1 <= size)
]


@pytest.mark.parametrize("pad, stride, kernel, dilation, size", LENGTH_CASES)
def test_output_lengths_match_keras(pad, stride, kernel, dilation, size):
    conv = keras.layers.Conv1D(1, kernel, strides=stride, padding=pad, dilation_rate=dilation)
    expected = conv.compute_output_shape((None, size, 1))[1]
    assert Convolution1DLayer(1, 1, kernel, stride, pad, dilation, seed=0).output_shape((1, size)) \
        == (1, expected)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("pooling", ["max", "average"])
@pytest.mark.parametrize("kernel_size, stride", [(2, 2), (2, 1), (3, 2), (4, 4), (5, 3)])
def test_pooling_matches_keras_valid_pooling_and_its_gradient(kernel_size, stride, pooling, dtype):
    keras_class = keras.layers.MaxPooling1D if pooling == "max" else keras.layers.AveragePooling1D
    pool = keras_class(kernel_size, strides=stride, padding="valid", dtype=dtype)
    X = np.random.default_rng(10).normal(size=(2, 3, 17)).astype(dtype)
    ours = Pooling1DLayer(kernel_size, stride, pooling)
    result = ours.forward(X)
    np.testing.assert_allclose(result, from_keras(pool(to_keras(X))), rtol=DTYPES[dtype],
                               atol=DTYPES[dtype])
    R = np.random.default_rng(11).normal(size=result.shape).astype(dtype)
    x = tf.Variable(to_keras(X))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pool(x) * to_keras(R))
    np.testing.assert_allclose(ours.backward(R), from_keras(tape.gradient(loss, x)),
                               rtol=DTYPES[dtype], atol=DTYPES[dtype])
