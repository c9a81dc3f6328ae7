"""Parity with Keras: the same weights give the same outputs and the same gradients.

Layouts: our images are (N, C, H, W), Keras' (N, H, W, C); our kernel is
(C_in, F, kh, kw), Keras' (kh, kw, C_in, F); our dense weights (n_in, nodes) are Keras'
kernel as they are, except after a flatten, where the feature order differs
((C, H, W) for us, (H, W, C) for Keras).
"""

from __future__ import annotations

import numpy as np
import pytest
from cnn_helpers import lecture_untraditional_cnn
from threadpoolctl import threadpool_limits

from course_utils.activations import LRELU, LRELU_SLOPE, identity, sigmoid, softmax
from course_utils.convolution import conv_output_size
from course_utils.costs import CostCrossEntropy
from course_utils.fast_layers import Convolution2DLayerOPT
from course_utils.keras_models import keras, tf  # the quiet TensorFlow import
from course_utils.layers import (
    Convolution2DLayer,
    FullyConnectedLayer,
    OutputLayer,
    Pooling2DLayer,
)

DTYPES = {"float32": 1e-5, "float64": 1e-10}


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrix products run faster on one BLAS thread, much faster on busy cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def to_keras(X: np.ndarray) -> np.ndarray:
    return X.transpose(0, 2, 3, 1)


def from_keras(Y) -> np.ndarray:
    return np.asarray(Y).transpose(0, 3, 1, 2)


def keras_kernel(kernel: np.ndarray) -> np.ndarray:
    return kernel.transpose(2, 3, 0, 1)


def keras_lrelu(z):
    """LRELU in Keras with the slope in the dtype of z (keras.layers.LeakyReLU rounds the
    slope 0.001 to float32, a 5e-8 relative difference that float64 tests would see)."""
    return tf.where(z > 0, z, tf.constant(LRELU_SLOPE, dtype=z.dtype) * z)


def keras_conv(layer, dtype: str):
    """A Keras Conv2D with the weights of our convolutional layer."""
    activation = {identity: None, sigmoid: "sigmoid"}.get(layer.act_func)
    if layer.act_func is LRELU:
        activation = keras_lrelu
    conv = keras.layers.Conv2D(
        layer.feature_maps, (layer.kernel_height, layer.kernel_width),
        strides=(layer.v_stride, layer.h_stride), padding=layer.pad, activation=activation,
        dtype=dtype,
    )
    conv.build((None, None, None, layer.input_channels))
    conv.set_weights([keras_kernel(layer.params["kernel"]), layer.params["bias"]])
    return conv


# (channels, feature_maps, kernel, strides, pad, image size): strides 1..3 incl. (2, 3),
# even and odd kernels, "same" with the asymmetric extra zero, several channels.
CONV_CASES = [
    (1, 1, (3, 3), (1, 1), "same", (6, 6)),
    (3, 4, (3, 3), (2, 2), "same", (7, 8)),
    (2, 3, (2, 2), (1, 1), "same", (6, 5)),
    (2, 3, (4, 4), (2, 3), "same", (9, 11)),
    (3, 2, (2, 3), (3, 3), "same", (8, 10)),
    (1, 2, (7, 1), (1, 1), "same", (9, 7)),
    (2, 2, (3, 3), (1, 1), "valid", (6, 7)),
    (2, 3, (4, 4), (2, 3), "valid", (10, 11)),
    (3, 1, (2, 3), (3, 2), "valid", (8, 9)),
    (1, 1, (1, 1), (2, 2), "valid", (5, 5)),
]


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("act", [identity, LRELU, sigmoid])
@pytest.mark.parametrize("conv_class", [Convolution2DLayer, Convolution2DLayerOPT])
@pytest.mark.parametrize("case", CONV_CASES, ids=[f"{c[2]}-{c[3]}-{c[4]}" for c in CONV_CASES])
def test_conv_forward_matches_keras_conv2d(case, conv_class, act, dtype):
    channels, feature_maps, kernel, strides, pad, size = case
    ours = conv_class(channels, feature_maps, *kernel, *strides, pad=pad, act_func=act, seed=1)
    ours.params["bias"] = np.random.default_rng(2).normal(size=feature_maps)
    X = np.random.default_rng(3).normal(size=(2, channels, *size)).astype(dtype)
    expected = from_keras(keras_conv(ours, dtype)(to_keras(X)))
    result = ours.forward(X)
    assert result.dtype == np.dtype(dtype) and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=DTYPES[dtype], atol=DTYPES[dtype])


@pytest.mark.parametrize("conv_class", [Convolution2DLayer, Convolution2DLayerOPT])
@pytest.mark.parametrize("pad, keras_pad", [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))),
                                            ((0, 3), ((0, 0), (3, 3)))])
def test_explicit_padding_matches_keras_zero_padding_then_valid_conv(conv_class, pad, keras_pad):
    ours = conv_class(2, 3, 3, 2, 2, 1, pad=pad, act_func=identity, seed=13)
    ours.params["bias"] = np.array([0.1, -0.2, 0.3])
    X = np.random.default_rng(14).normal(size=(2, 2, 7, 6))
    conv = keras_conv(Convolution2DLayerOPT(2, 3, 3, 2, 2, 1, pad="valid", seed=13), "float64")
    conv.set_weights([keras_kernel(ours.params["kernel"]), ours.params["bias"]])
    padded = keras.layers.ZeroPadding2D(keras_pad, dtype="float64")(to_keras(X))
    np.testing.assert_allclose(ours.forward(X), from_keras(conv(padded)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pad", ["same", "valid"])
@pytest.mark.parametrize("size", [5, 6, 7, 28])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_output_sizes_match_keras(stride, kernel, size, pad):
    if pad == "valid" and kernel > size:
        pytest.skip("kernel does not fit")
    conv = keras.layers.Conv2D(1, (kernel, 1), strides=(stride, 1), padding=pad)
    keras_size = conv.compute_output_shape((None, size, 3, 1))[1]
    ours = Convolution2DLayerOPT(1, 1, kernel, 1, stride, 1, pad=pad, seed=0)
    assert ours.output_shape((1, size, 3))[1] == keras_size
    if pad == "valid":
        assert conv_output_size(size, kernel, stride, 0) == keras_size


POOL_CASES = [((2, 2), (2, 2)), ((2, 2), (1, 1)), ((3, 3), (2, 2)), ((3, 2), (3, 1)),
              ((2, 3), (2, 3)), ((3, 3), (3, 3))]


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("pooling", ["max", "average"])
@pytest.mark.parametrize("case", POOL_CASES, ids=[f"{k}-{s}" for k, s in POOL_CASES])
def test_pooling_matches_keras_valid_pooling(case, pooling, dtype):
    kernel, strides = case
    keras_class = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    pool = keras_class(kernel, strides=strides, padding="valid", dtype=dtype)
    X = np.random.default_rng(4).normal(size=(2, 3, 9, 10)).astype(dtype)
    expected = from_keras(pool(to_keras(X)))
    result = Pooling2DLayer(*kernel, *strides, pooling=pooling).forward(X)
    assert result.dtype == np.dtype(dtype) and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=DTYPES[dtype], atol=DTYPES[dtype])


@pytest.mark.parametrize("conv_class", [Convolution2DLayer, Convolution2DLayerOPT])
@pytest.mark.parametrize("pad", ["same", "valid"])
def test_conv_gradients_match_tensorflow_gradient_tape(conv_class, pad):
    ours = conv_class(3, 2, 4, 3, 2, 3, pad=pad, act_func=sigmoid, seed=5)
    ours.params["bias"] = np.array([0.3, -0.2])
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2, 3, 9, 11))
    R = rng.normal(size=ours.forward(X).shape)
    ours.forward(X)
    dX = ours.backward(R)

    conv = keras_conv(ours, "float64")
    x = tf.Variable(to_keras(X))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(conv(x) * to_keras(R))
    dx, dkernel, dbias = tape.gradient(loss, [x, conv.kernel, conv.bias])
    np.testing.assert_allclose(dX, from_keras(dx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        ours.grads["kernel"], np.asarray(dkernel).transpose(2, 3, 0, 1), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(ours.grads["bias"], np.asarray(dbias), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pooling", ["max", "average"])
def test_overlapping_pooling_gradient_matches_tensorflow(pooling):
    X = np.random.default_rng(7).normal(size=(2, 2, 7, 8))
    R = np.random.default_rng(8).normal(size=(2, 2, 5, 4))
    ours = Pooling2DLayer(3, 2, 1, 2, pooling=pooling)
    ours.forward(X)
    keras_class = keras.layers.MaxPooling2D if pooling == "max" else keras.layers.AveragePooling2D
    pool = keras_class((3, 2), strides=(1, 2), padding="valid", dtype="float64")
    x = tf.Variable(to_keras(X))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(pool(x) * to_keras(R))
    np.testing.assert_allclose(ours.backward(R), from_keras(tape.gradient(loss, x)), atol=1e-12)


def test_dense_softmax_cross_entropy_gradients_match_keras():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 5))
    target = np.eye(4)[rng.integers(0, 4, 6)]
    hidden = FullyConnectedLayer(7, LRELU, seed=10)
    output = OutputLayer(4, softmax, CostCrossEntropy, seed=11)
    hidden.forward(X)
    output.forward(hidden.forward(X))
    hidden.params["bias"] = rng.normal(size=7)
    output.params["bias"] = rng.normal(size=4)
    prediction = output.forward(hidden.forward(X))
    dX = hidden.backward(output.backward(target))

    leaky = keras_lrelu
    dense1 = keras.layers.Dense(7, activation=leaky, dtype="float64")
    dense2 = keras.layers.Dense(4, activation="softmax", dtype="float64")
    dense1.build((None, 5))
    dense2.build((None, 7))
    dense1.set_weights([hidden.params["weights"], hidden.params["bias"]])
    dense2.set_weights([output.params["weights"], output.params["bias"]])
    x = tf.Variable(X)
    with tf.GradientTape() as tape:
        p = dense2(dense1(x))
        # the function form computes in float64 (the Loss object would round to float32)
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(target, p))
    grads = tape.gradient(loss, [x, dense1.kernel, dense1.bias, dense2.kernel, dense2.bias])
    np.testing.assert_allclose(prediction, np.asarray(p), rtol=1e-12)
    assert abs(float(CostCrossEntropy(target)(prediction)) - float(loss)) < 1e-12
    ours = [dX, hidden.grads["weights"], hidden.grads["bias"], output.grads["weights"],
            output.grads["bias"]]
    for mine, theirs in zip(ours, grads):
        np.testing.assert_allclose(mine, np.asarray(theirs), rtol=1e-9, atol=1e-12)


def test_whole_lecture_architecture_matches_keras_with_copied_weights():
    """The lecture's 'untraditional' CNN: 7x1 kernel, average + max pooling, a 4x4 kernel
    with stride (2, 3) and "same" padding, an even 2x2 kernel, dense layers."""
    rng = np.random.default_rng(12)
    X = rng.random((5, 1, 28, 28))
    t = np.eye(10)[rng.integers(0, 10, 5)]
    model = lecture_untraditional_cnn(seed=2023)
    model.fit(X, t, epochs=1, progress=False)  # creates (and moves) the weights
    for layer in model.layers:  # non-zero biases, so their layout is tested too
        if "bias" in layer.params:
            layer.params["bias"] = rng.normal(0, 0.1, size=layer.params["bias"].shape)

    leaky = keras_lrelu
    keras_model = keras.Sequential(
        [
            keras.Input((28, 28, 1), dtype="float64"),
            keras.layers.Conv2D(7, (7, 1), padding="same", activation=leaky, dtype="float64"),
            keras.layers.AveragePooling2D((2, 2), strides=1, dtype="float64"),
            keras.layers.MaxPooling2D((2, 2), strides=1, dtype="float64"),
            keras.layers.Conv2D(1, (4, 4), strides=(2, 3), padding="same", activation=leaky,
                                dtype="float64"),
            keras.layers.Conv2D(1, (2, 2), padding="same", activation="sigmoid", dtype="float64"),
            keras.layers.MaxPooling2D((2, 2), strides=1, dtype="float64"),
            keras.layers.Flatten(dtype="float64"),
            keras.layers.Dense(100, activation=leaky, dtype="float64"),
            keras.layers.Dense(10, activation="sigmoid", dtype="float64"),
            keras.layers.Dense(101, dtype="float64"),
            keras.layers.Dense(10, activation="softmax", dtype="float64"),
        ]
    )
    flat_shape = model.output_shapes((1, 28, 28))[5]  # (C, H, W) entering the flatten layer
    for ours, theirs in zip(model.layers, keras_model.layers):
        if "kernel" in ours.params:
            theirs.set_weights([keras_kernel(ours.params["kernel"]), ours.params["bias"]])
        elif "weights" in ours.params:
            weights = ours.params["weights"]
            if theirs is keras_model.layers[7]:  # first dense: rows in (C, H, W) -> (H, W, C)
                channels, height, width = flat_shape
                weights = weights.reshape(channels, height, width, -1).transpose(1, 2, 0, 3)
                weights = weights.reshape(channels * height * width, -1)
            theirs.set_weights([weights, ours.params["bias"]])
    expected = np.asarray(keras_model(to_keras(X)))
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# Circular padding (notebook 08): Keras has none, keras_models.CircularPadding2D builds it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("conv_class", [Convolution2DLayer, Convolution2DLayerOPT])
@pytest.mark.parametrize("kernel, strides", [((3, 3), (1, 1)), ((2, 4), (1, 1)), ((3, 2), (2, 3))])
def test_circular_conv_matches_keras_circular_padding_then_valid_conv(conv_class, kernel, strides):
    from course_utils.convolution import padding_amounts
    from course_utils.keras_models import CircularPadding2D

    ours = conv_class(2, 3, *kernel, *strides, pad="circular", act_func=LRELU, seed=21)
    ours.params["bias"] = np.array([0.1, -0.2, 0.3])
    rng = np.random.default_rng(22)
    X = rng.normal(size=(2, 2, 7, 8))
    top, bottom, left, right = padding_amounts("circular", 7, 8, *kernel, *strides)
    valid = conv_class(2, 3, *kernel, *strides, pad="valid", act_func=LRELU, seed=21)
    valid.params = ours.params
    conv = keras_conv(valid, "float64")
    padding = CircularPadding2D(((top, bottom), (left, right)), dtype="float64")
    A = ours.forward(X)
    R = rng.normal(size=A.shape)
    dX = ours.backward(R)
    x = tf.Variable(to_keras(X))
    with tf.GradientTape() as tape:
        out = conv(padding(x))
        loss = tf.reduce_sum(out * to_keras(R))
    dx, dkernel = tape.gradient(loss, [x, conv.kernel])
    np.testing.assert_allclose(A, from_keras(out), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, from_keras(dx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads["kernel"], np.asarray(dkernel).transpose(2, 3, 0, 1),
                               rtol=1e-10, atol=1e-12)


def test_ising_cnn_matches_its_keras_twin_with_copied_weights():
    from course_utils import CNN, CostCrossEntropy, softmax
    from course_utils.keras_models import build_ising_cnn

    L = 8
    ours = CNN(cost_func=CostCrossEntropy, seed=3)
    ours.add_Convolution2DLayer(1, 4, 3, 3, pad="circular", act_func=LRELU)
    ours.add_PoolingLayer(L // 4, L // 4, L // 4, L // 4, pooling="average")
    ours.add_FlattenLayer()
    ours.add_FullyConnectedLayer(16, LRELU)
    ours.add_OutputLayer(2, softmax)
    ours.build((1, L, L))
    rng = np.random.default_rng(4)
    for layer in ours.layers:
        if "bias" in layer.params:
            layer.params["bias"] = rng.normal(0, 0.1, size=layer.params["bias"].shape)
    twin = build_ising_cnn(L, seed=3)
    conv, hidden, output = twin.get_layer("conv"), twin.get_layer("hidden"), twin.get_layer("output")
    conv.set_weights([keras_kernel(ours.layers[0].params["kernel"]), ours.layers[0].params["bias"]])
    channels, height, width = ours.output_shapes((1, L, L))[1]  # entering the flatten layer
    weights = ours.layers[3].params["weights"].reshape(channels, height, width, -1)
    hidden.set_weights([weights.transpose(1, 2, 0, 3).reshape(channels * height * width, -1),
                        ours.layers[3].params["bias"]])
    output.set_weights([ours.layers[4].params["weights"], ours.layers[4].params["bias"]])
    X = np.where(rng.random((6, 1, L, L)) < 0.5, -1.0, 1.0).astype(np.float32)
    np.testing.assert_allclose(ours.predict_proba(X), np.asarray(twin(to_keras(X))),
                               rtol=1e-5, atol=1e-6)
