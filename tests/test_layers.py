"""Layers: gradients against central finite differences, readable == vectorised,
hand-computed cases that pin the lecture's bugs, dtypes, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import LECTURE_IMAGE, LECTURE_RESULT
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from course_utils.activations import LRELU, RELU, identity, sigmoid, softmax
from course_utils.costs import CostCrossEntropy, CostLogReg, CostOLS
from course_utils.fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT
from course_utils.gradcheck import gradient_errors, numerical_gradient, relative_error
from course_utils.layers import (
    Convolution2DLayer,
    FlattenLayer,
    FullyConnectedLayer,
    OutputLayer,
    Pooling2DLayer,
)

CONV_CLASSES = [Convolution2DLayer, Convolution2DLayerOPT]
POOL_CLASSES = [Pooling2DLayer, Pooling2DLayerOPT]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrix products run faster on one BLAS thread, much faster on busy cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---------------------------------------------------------------------------
# Finite differences: course_utils.gradcheck (gradient_errors, numerical_gradient)
# ---------------------------------------------------------------------------


def images_away_from_kinks(layer, shape, seed):
    """Random images whose pre-activations stay > 1e-3 away from 0 (RELU/LRELU kinks),
    so finite differences never straddle a kink."""
    for attempt in range(50):
        X = np.random.default_rng([seed, attempt]).normal(size=shape)
        layer.forward(X)
        _, (Z, _), _ = layer.cache  # the activation's cache holds the pre-activation Z
        if np.min(np.abs(Z)) > 1e-3:
            return X
    raise RuntimeError("could not draw images away from the kinks")


# ---------------------------------------------------------------------------
# Convolution: gradients
# ---------------------------------------------------------------------------

# (kernel (kh, kw), strides (v, h), pad, activation): strides 1, 2, 3 and asymmetric;
# square, 7x1, 2x3 and even kernels; every kind of padding; every activation.
CONV_CONFIGS = [
    ((3, 3), (1, 1), "same", identity),
    ((3, 3), (2, 2), "same", sigmoid),
    ((3, 3), (3, 3), "valid", LRELU),
    ((7, 1), (1, 1), "same", LRELU),
    ((7, 1), (2, 1), "valid", identity),
    ((2, 3), (2, 3), "same", RELU),
    ((2, 3), (1, 2), 1, sigmoid),
    ((2, 2), (1, 1), "same", identity),
    ((2, 2), (2, 2), (1, 0), LRELU),
    ((4, 4), (2, 3), "same", sigmoid),
    ((4, 4), (3, 1), "valid", RELU),
    ((4, 4), (1, 1), 2, identity),
    ((1, 1), (3, 2), "valid", sigmoid),
    ((3, 3), (1, 1), "circular", identity),
    ((4, 2), (1, 1), "circular", LRELU),
    ((3, 4), (2, 3), "circular", sigmoid),
    ((5, 5), (1, 1), "circular", RELU),
]


def _conv_id(config):
    (kh, kw), (vs, hs), pad, act = config
    return f"{kh}x{kw}-s{vs}{hs}-{pad}-{act.__name__}"


@pytest.mark.parametrize("config", CONV_CONFIGS, ids=[_conv_id(c) for c in CONV_CONFIGS])
def test_opt_conv_backward_matches_finite_differences(config):
    (kh, kw), (vs, hs), pad, act = config
    layer = Convolution2DLayerOPT(2, 3, kh, kw, vs, hs, pad=pad, act_func=act, seed=1)
    layer.params["bias"] = np.random.default_rng(2).normal(size=3)
    X = images_away_from_kinks(layer, (2, 2, 8, 7), seed=3)
    errors = gradient_errors(layer, X)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize(
    "config", CONV_CONFIGS[::3], ids=[_conv_id(c) for c in CONV_CONFIGS[::3]]
)
def test_readable_conv_backward_matches_finite_differences(config):
    (kh, kw), (vs, hs), pad, act = config
    layer = Convolution2DLayer(2, 2, kh, kw, vs, hs, pad=pad, act_func=act, seed=4)
    layer.params["bias"] = np.random.default_rng(5).normal(size=2)
    X = images_away_from_kinks(layer, (2, 2, 8, 7), seed=6)
    errors = gradient_errors(layer, X)
    assert max(errors.values()) < 1e-6, errors


# ---------------------------------------------------------------------------
# Convolution: readable == vectorised
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    channels=st.integers(1, 3),
    feature_maps=st.integers(1, 3),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.one_of(
        st.sampled_from(["same", "valid", "circular"]),
        st.integers(0, 2),
        st.tuples(st.integers(0, 2), st.integers(0, 2)),
    ),
    size=st.tuples(st.integers(4, 8), st.integers(4, 8)),
    act=st.sampled_from([identity, sigmoid, LRELU, RELU]),
    seed=st.integers(0, 2**16),
)
def test_readable_and_vectorised_conv_agree(
    channels, feature_maps, kernel, strides, pad, size, act, seed
):
    rng = np.random.default_rng(seed)
    args = (channels, feature_maps, *kernel, *strides)
    readable = Convolution2DLayer(*args, pad=pad, act_func=act, seed=seed)
    fast = Convolution2DLayerOPT(*args, pad=pad, act_func=act, seed=seed)
    bias = rng.normal(size=feature_maps)
    readable.params["bias"] = bias
    fast.params["bias"] = bias.copy()
    np.testing.assert_array_equal(readable.params["kernel"], fast.params["kernel"])
    X = rng.normal(size=(2, channels, *size))
    A, B = readable.forward(X), fast.forward(X)
    assert A.shape == B.shape
    np.testing.assert_allclose(A, B, rtol=1e-12, atol=1e-12)
    dA = rng.normal(size=A.shape)
    np.testing.assert_allclose(readable.backward(dA), fast.backward(dA), rtol=1e-12, atol=1e-12)
    for key in ("kernel", "bias"):
        np.testing.assert_allclose(readable.grads[key], fast.grads[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "size, kernel, strides, expected",
    [
        ((28, 28), (3, 3), (1, 1), (28, 28)),
        ((26, 26), (4, 4), (2, 3), (13, 9)),  # the lecture's second architecture
        ((7, 6), (2, 2), (2, 2), (4, 3)),
        ((5, 5), (7, 1), (1, 1), (5, 5)),  # "same" pads even when the kernel is taller
    ],
)
@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_same_padding_gives_ceil_of_size_over_stride(conv_class, size, kernel, strides, expected):
    layer = conv_class(1, 2, *kernel, *strides, pad="same", seed=0)
    assert layer.forward(np.ones((1, 1, *size))).shape == (1, 2, *expected)
    assert layer.output_shape((1, *size)) == (2, *expected)


# ---------------------------------------------------------------------------
# Hand-computed cases pinning the lecture's bugs
# ---------------------------------------------------------------------------

# LECTURE_IMAGE, LECTURE_RESULT: the lecture's 6x6 image and its box-filter result (_helpers)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_reproduces_the_lecture_6x6_low_pass_example_without_dividing_by_kernel_height(
    conv_class,
):
    layer = conv_class(1, 1, 3, 3, pad="valid", act_func=identity, seed=0)
    layer.params["kernel"] = np.full((1, 1, 3, 3), 1 / 9)
    result = layer.forward(LECTURE_IMAGE[None, None])
    np.testing.assert_allclose(result[0, 0], LECTURE_RESULT, atol=0.005)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_sums_over_channels_without_dividing_by_their_number(conv_class):
    layer = conv_class(3, 1, 3, 3, pad="valid", act_func=identity, seed=0)
    layer.params["kernel"] = np.full((3, 1, 3, 3), 1 / 9)
    X = np.repeat(LECTURE_IMAGE[None, None], 3, axis=1)
    np.testing.assert_allclose(layer.forward(X)[0, 0], 3 * LECTURE_RESULT, atol=0.015)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_activation_derivative_is_taken_at_z_not_at_the_incoming_gradient(conv_class):
    # A 1x1 kernel of 1 and zero bias make z = X, so dX must be sigmoid'(X) * dA.
    layer = conv_class(1, 1, 1, 1, act_func=sigmoid, seed=0)
    layer.params["kernel"] = np.ones((1, 1, 1, 1))
    X = np.linspace(-3, 3, 12).reshape(1, 1, 3, 4)
    dA = np.full(X.shape, 2.0)
    layer.forward(X)
    s = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(layer.backward(dA), 2.0 * s * (1 - s), rtol=1e-12)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_kernel_gradient_sums_over_every_image(conv_class):
    rng = np.random.default_rng(7)
    layer = conv_class(2, 2, 3, 2, 2, 1, act_func=identity, seed=0)
    X = rng.normal(size=(3, 2, 6, 5))
    dA = rng.normal(size=layer.forward(X).shape)
    layer.backward(dA)
    total = layer.grads["kernel"].copy()
    per_image = 0
    for n in range(3):
        layer.forward(X[n : n + 1])
        layer.backward(dA[n : n + 1])
        per_image = per_image + layer.grads["kernel"]
    np.testing.assert_allclose(total, per_image, rtol=1e-12)


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_average_pooling_backward_adds_overlapping_windows(pool_class):
    layer = pool_class(2, 2, 1, 1, pooling="average")
    layer.forward(np.arange(9.0).reshape(1, 1, 3, 3))
    dX = layer.backward(np.ones((1, 1, 2, 2)))
    # the centre pixel belongs to all four windows, the corners to one
    np.testing.assert_allclose(dX[0, 0], np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4)


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_max_pooling_backward_adds_when_one_pixel_is_the_max_of_several_windows(pool_class):
    X = np.array([[1.0, 2.0, 1.0], [2.0, 9.0, 2.0], [1.0, 2.0, 1.0]])[None, None]
    layer = pool_class(2, 2, 1, 1, pooling="max")
    np.testing.assert_array_equal(layer.forward(X)[0, 0], np.full((2, 2), 9.0))
    dX = layer.backward(np.array([[1.0, 2.0], [3.0, 4.0]])[None, None])
    np.testing.assert_array_equal(dX[0, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_max_pooling_gives_a_tied_window_gradient_to_its_first_maximum(pool_class):
    X = np.array([[5.0, 5.0], [5.0, 1.0]])[None, None]
    layer = pool_class(2, 2, pooling="max")
    layer.forward(X)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_pooling_walks_every_window_with_strides(pool_class):
    X = np.arange(2 * 3 * 7 * 8, dtype=float).reshape(2, 3, 7, 8)
    layer = pool_class(3, 2, 2, 3, pooling="max")
    A = layer.forward(X)
    assert A.shape == (2, 3, 3, 3)  # floor((7-3)/2)+1, floor((8-2)/3)+1
    expected = np.array(
        [[[[X[n, c, 2 * i : 2 * i + 3, 3 * j : 3 * j + 2].max() for j in range(3)]
           for i in range(3)] for c in range(3)] for n in range(2)]
    )
    np.testing.assert_array_equal(A, expected)


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    strides=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    pooling=st.sampled_from(["max", "average"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_readable_and_vectorised_pooling_agree(kernel, strides, pooling, dtype, seed):
    rng = np.random.default_rng(seed)
    # small integers: ties inside windows happen, and both must pick the first maximum
    X = rng.integers(0, 4, size=(2, 3, 7, 6)).astype(dtype)
    readable, fast = Pooling2DLayer(*kernel, *strides, pooling), Pooling2DLayerOPT(*kernel, *strides, pooling)
    A = readable.forward(X)
    np.testing.assert_allclose(fast.forward(X), A, rtol=1e-6)
    dA = rng.normal(size=A.shape).astype(dtype)
    np.testing.assert_allclose(fast.backward(dA), readable.backward(dA), rtol=1e-5, atol=1e-6)


def test_flatten_passes_the_gradient_back_unchanged():
    layer = FlattenLayer()
    X = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    assert layer.forward(X).shape == (2, 60)
    dA = np.random.default_rng(1).normal(size=(2, 60))  # negative entries too: no LRELU'
    np.testing.assert_array_equal(layer.backward(dA), dA.reshape(2, 3, 4, 5))
    assert layer.params == {} and layer.n_parameters == 0


def test_dense_layer_has_a_bias_vector_and_weights_n_in_by_nodes():
    layer = FullyConnectedLayer(4, identity, seed=0)
    X = np.random.default_rng(0).normal(size=(3, 5))
    A = layer.forward(X)
    assert layer.params["weights"].shape == (5, 4) and layer.params["bias"].shape == (4,)
    np.testing.assert_allclose(A, X @ layer.params["weights"] + layer.params["bias"])


# ---------------------------------------------------------------------------
# Pooling, dense and output layers: gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kernel, strides",
    [((2, 2), (1, 1)), ((3, 3), (1, 1)), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((2, 2), (2, 2)),
     ((3, 1), (3, 1))],
)
@pytest.mark.parametrize("pooling", ["max", "average"])
@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_pooling_backward_matches_finite_differences(pool_class, pooling, kernel, strides):
    layer = pool_class(*kernel, *strides, pooling=pooling)
    X = np.random.default_rng(8).normal(size=(2, 2, 6, 7))  # distinct values: no ties
    errors = gradient_errors(layer, X)
    assert errors["X"] < 1e-6, errors


@pytest.mark.parametrize("act", [identity, sigmoid, LRELU, RELU, softmax])
def test_dense_backward_matches_finite_differences(act):
    layer = FullyConnectedLayer(4, act, seed=9)
    layer.initialise((6,), np.random.default_rng(9))
    layer.params["bias"] = np.random.default_rng(10).normal(size=4)
    if act in (LRELU, RELU):
        X = images_away_from_kinks(layer, (5, 6), seed=11)
    else:
        X = np.random.default_rng(11).normal(size=(5, 6))
    errors = gradient_errors(layer, X)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize(
    "output_func, cost_func",
    [
        (softmax, CostCrossEntropy),  # closed form (p - t) / N
        (sigmoid, CostLogReg),  # closed form (p - t) / N
        (identity, CostOLS),
        (sigmoid, CostOLS),
        (softmax, CostOLS),  # not element-wise: autograd through the whole cost
    ],
)
def test_output_layer_backward_is_the_gradient_of_the_cost(output_func, cost_func):
    rng = np.random.default_rng(12)
    nodes = 1 if cost_func is CostLogReg else 3
    layer = OutputLayer(nodes, output_func, cost_func, seed=12)
    X = rng.normal(size=(5, 4))
    if output_func is softmax:
        target = np.eye(nodes)[rng.integers(0, nodes, 5)]
    else:
        target = rng.integers(0, 2, (5, nodes)).astype(float)
    layer.forward(X)
    layer.params["bias"] = rng.normal(size=nodes)

    def loss():
        return float(cost_func(target)(layer.forward(X)))

    layer.forward(X)
    dX = layer.backward(target)
    grads = {key: value.copy() for key, value in layer.grads.items()}
    assert relative_error(dX, numerical_gradient(loss, X)) < 1e-6
    for key in ("weights", "bias"):
        assert relative_error(grads[key], numerical_gradient(loss, layer.params[key])) < 1e-6


def test_output_layer_prediction_formats():
    assert OutputLayer(10, softmax).pred_format == "multi-class"
    assert OutputLayer(1, sigmoid).pred_format == "binary"
    assert OutputLayer(1, identity).pred_format == "regression"


# ---------------------------------------------------------------------------
# Weights, seeds and dtypes
# ---------------------------------------------------------------------------


def test_layers_never_update_their_own_weights():
    layer = Convolution2DLayerOPT(1, 2, 3, 3, seed=0)
    before = {key: value.copy() for key, value in layer.params.items()}
    X = np.random.default_rng(0).normal(size=(2, 1, 5, 5))
    layer.backward(np.ones_like(layer.forward(X)))
    for key, value in before.items():
        np.testing.assert_array_equal(layer.params[key], value)


def test_same_seed_same_weights_and_the_global_generator_is_untouched():
    state = np.random.get_state()[1].copy()
    a = Convolution2DLayer(2, 3, 3, 3, seed=5)
    b = Convolution2DLayerOPT(2, 3, 3, 3, seed=5)
    c = Convolution2DLayer(2, 3, 3, 3, seed=6)
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    assert not np.array_equal(a.params["kernel"], c.params["kernel"])
    np.testing.assert_array_equal(a.params["bias"], np.zeros(3))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_he_initialisation_scale_for_relu_family():
    layer = Convolution2DLayer(16, 32, 3, 3, act_func=LRELU, seed=0)
    assert abs(layer.params["kernel"].std() / np.sqrt(2 / (16 * 9)) - 1) < 0.05


def test_conv_without_independent_weights_waits_for_initialise():
    layer = Convolution2DLayerOPT(1, 2, 3, 3, reset_weights_independently=False)
    assert layer.params == {}
    with pytest.raises(ValueError, match="initialise"):
        layer.forward(np.ones((1, 1, 5, 5)))
    assert layer.initialise((1, 5, 5), np.random.default_rng(0)) == (2, 5, 5)
    assert layer.params["kernel"].shape == (1, 2, 3, 3)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: Convolution2DLayer(2, 3, 3, 2, 2, 1, act_func=LRELU, seed=0), (2, 2, 6, 5)),
        (lambda: Convolution2DLayerOPT(2, 3, 3, 2, 2, 1, act_func=sigmoid, seed=0), (2, 2, 6, 5)),
        (lambda: Pooling2DLayer(2, 2, 1, 1, "max"), (2, 2, 6, 5)),
        (lambda: Pooling2DLayer(2, 2, 1, 1, "average"), (2, 2, 6, 5)),
        (lambda: Pooling2DLayerOPT(2, 2, 1, 1, "max"), (2, 2, 6, 5)),
        (lambda: Pooling2DLayerOPT(3, 3, 2, 2, "average"), (2, 2, 6, 5)),
        (lambda: FlattenLayer(), (2, 2, 6, 5)),
        (lambda: FullyConnectedLayer(3, LRELU, seed=0), (2, 7)),
    ],
)
def test_float32_in_gives_float32_out_and_float32_gradients(make, shape):
    layer = make()
    X = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    A = layer.forward(X)
    assert A.dtype == np.float32
    dX = layer.backward(np.ones_like(A))
    assert dX.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert all(p.dtype == np.float64 for p in layer.params.values())  # stored weights
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(A, make().forward(X64), rtol=1e-5, atol=1e-5)


def test_output_layer_float32():
    layer = OutputLayer(3, softmax, CostCrossEntropy, seed=0)
    X = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert layer.forward(X).dtype == np.float32
    assert layer.backward(np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]).dtype == np.float32


# ---------------------------------------------------------------------------
# Bad input: ValueError/TypeError naming the parameter, before any work
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_channels": 0}, "input_channels"),
        ({"feature_maps": -1}, "feature_maps"),
        ({"kernel_height": 0}, "kernel_height"),
        ({"kernel_width": 2.5}, "kernel_width"),
        ({"v_stride": 0}, "v_stride"),
        ({"h_stride": -2}, "h_stride"),
        ({"pad": "full"}, "pad"),
        ({"pad": -1}, "pad"),
        ({"pad": (1, 2, 3)}, "pad"),
        ({"seed": -3}, "seed"),
    ],
)
def test_conv_constructor_rejects_bad_arguments(conv_class, kwargs, match):
    arguments = {"input_channels": 1, "feature_maps": 1, "kernel_height": 3, "kernel_width": 3}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        conv_class(**arguments)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_rejects_a_non_function_activation(conv_class):
    with pytest.raises(TypeError, match="act_func"):
        conv_class(1, 1, 3, 3, act_func="relu")


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
@pytest.mark.parametrize(
    "X, match",
    [
        (np.ones((1, 5, 5)), r"4 dimensions.*\(N, C, H, W\)"),
        (np.ones((2, 2, 5, 5)), "input_channels=3"),
        (np.ones((2, 6, 6, 3)), r"transpose\(0, 3, 1, 2\)"),
        (np.full((1, 3, 5, 5), np.nan), "NaN"),
        (np.ones((0, 3, 5, 5)), "no images"),
    ],
)
def test_conv_forward_rejects_bad_images(conv_class, X, match):
    with pytest.raises(ValueError, match=match):
        conv_class(3, 2, 3, 3, seed=0).forward(X)


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_conv_rejects_a_kernel_larger_than_the_padded_input(conv_class):
    layer = conv_class(1, 1, 5, 2, pad="valid", seed=0)
    with pytest.raises(ValueError, match="kernel_height x kernel_width = 5x2.*larger"):
        layer.forward(np.ones((1, 1, 4, 4)))
    # with one zero on each side the kernel fits
    assert conv_class(1, 1, 5, 2, pad=1, seed=0).forward(np.ones((1, 1, 4, 4))).shape == (
        1, 1, 2, 5)


def test_conv_backward_before_forward_or_with_wrong_shape():
    layer = Convolution2DLayerOPT(1, 1, 3, 3, seed=0)
    with pytest.raises(ValueError, match="forward"):
        layer.backward(np.ones((1, 1, 4, 4)))
    layer.forward(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="dA"):
        layer.backward(np.ones((1, 1, 3, 3)))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Pooling2DLayer(2, 2, pooling="min"), "pooling"),
        (lambda: Pooling2DLayer(0, 2), "kernel_height"),
        (lambda: Pooling2DLayer(2, 2, h_stride=0), "h_stride"),
        (lambda: FullyConnectedLayer(0), "nodes"),
        (lambda: OutputLayer(-1), "nodes"),
    ],
)
def test_other_constructors_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_pooling_rejects_bad_images():
    layer = Pooling2DLayer(3, 3)
    with pytest.raises(ValueError, match="kernel_height x kernel_width = 3x3 is larger"):
        layer.forward(np.ones((1, 1, 2, 5)))
    with pytest.raises(ValueError, match="4 dimensions"):
        layer.forward(np.ones((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(np.full((1, 1, 5, 5), np.inf))


def test_dense_rejects_images_and_a_changed_input_size():
    layer = FullyConnectedLayer(3, seed=0)
    with pytest.raises(ValueError, match="FlattenLayer"):
        layer.forward(np.ones((2, 1, 4, 4)))
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="5 features"):
        layer.forward(np.ones((2, 5)))


def test_output_layer_rejects_missing_cost_and_wrong_target():
    layer = OutputLayer(3, softmax, seed=0)
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="cost_func"):
        layer.backward(np.eye(3)[:2])
    layer = OutputLayer(3, softmax, CostCrossEntropy, seed=0)
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="target.*onehot"):
        layer.backward(np.array([0, 2]))


# ---------------------------------------------------------------------------
# Circular (periodic) padding: the image is a torus
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (5, 1)])
def test_circular_padding_commutes_with_shifts_on_the_torus(conv_class, kernel):
    # On a periodic lattice, shifting the input shifts the output by the same amount;
    # zero padding breaks this at the edges, circular padding must not.
    layer = conv_class(2, 3, *kernel, pad="circular", act_func=LRELU, seed=0)
    X = np.random.default_rng(1).normal(size=(2, 2, 6, 7))
    shifted = layer.forward(np.roll(X, (2, -3), axis=(2, 3)))
    np.testing.assert_allclose(shifted, np.roll(layer.forward(X), (2, -3), axis=(2, 3)),
                               rtol=1e-12, atol=1e-12)
    zero_padded = conv_class(2, 3, *kernel, pad="same", act_func=LRELU, seed=0)
    assert not np.allclose(zero_padded.forward(np.roll(X, (2, -3), axis=(2, 3))),
                           np.roll(zero_padded.forward(X), (2, -3), axis=(2, 3)))


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_circular_padding_by_hand_on_a_3x3_image(conv_class):
    # kernel with a single 1 at its top-left tap: output (i, j) reads padded (i, j), which
    # is the input pixel one up and one left, wrapped round: np.roll by (1, 1)
    layer = conv_class(1, 1, 3, 3, pad="circular", seed=0)
    layer.params["kernel"] = np.zeros((1, 1, 3, 3))
    layer.params["kernel"][0, 0, 0, 0] = 1.0
    X = np.arange(9.0).reshape(1, 1, 3, 3)
    expected = np.array([[8.0, 6.0, 7.0], [2.0, 0.0, 1.0], [5.0, 3.0, 4.0]])
    np.testing.assert_array_equal(layer.forward(X)[0, 0], expected)
    # the gradient goes back to the pixel each output copied: the transpose, a roll by -1
    dX = layer.backward(np.arange(9.0).reshape(1, 1, 3, 3))
    np.testing.assert_array_equal(dX[0, 0], np.roll(np.arange(9.0).reshape(3, 3), (-1, -1), (0, 1)))


@pytest.mark.parametrize("conv_class", CONV_CLASSES)
def test_circular_padding_rejects_a_kernel_larger_than_the_torus_and_wrong_case(conv_class):
    with pytest.raises(ValueError, match=r'kernel 5x3 is larger than the input 4x4.*circular'):
        conv_class(1, 1, 5, 3, pad="circular", seed=0).forward(np.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match='pad must be .*"circular".*Did you mean "circular"'):
        conv_class(1, 1, 3, 3, pad="Circular")


# ---------------------------------------------------------------------------
# The pairs themselves: fast_layers' functions equal layers' functions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pad", ["same", "valid", "circular", 1, (2, 0)])
@pytest.mark.parametrize("strides", [(1, 1), (2, 3)])
def test_fast_conv_pair_equals_the_readable_pair(pad, strides):
    from course_utils import fast_layers, layers

    rng = np.random.default_rng(3)
    X, kernel, bias = rng.normal(size=(3, 2, 7, 6)), rng.normal(size=(2, 4, 3, 2)), rng.normal(size=4)
    Z, cache = layers.conv_forward(X, kernel, bias, *strides, pad)
    Z_fast, cache_fast = fast_layers.conv_forward(X, kernel, bias, *strides, pad)
    np.testing.assert_allclose(Z_fast, Z, rtol=1e-12, atol=1e-12)
    dZ = rng.normal(size=Z.shape)
    for fast, readable in zip(fast_layers.conv_backward(dZ, cache_fast),
                              layers.conv_backward(dZ, cache)):
        np.testing.assert_allclose(fast, readable, rtol=1e-12, atol=1e-12)
    dX, dkernel, _ = fast_layers.conv_backward(dZ, cache_fast, input_gradient=False)
    assert dX is None and dkernel.shape == kernel.shape


@pytest.mark.parametrize("pooling", ["max", "average"])
@pytest.mark.parametrize("window", [(2, 2, 2, 2), (2, 3, 1, 2), (3, 3, 1, 1)])
def test_fast_pooling_pairs_equal_the_readable_pairs(pooling, window):
    from course_utils import fast_layers, layers

    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 3, 7, 8))
    A, cache = getattr(layers, f"{pooling}_pool_forward")(X, *window)
    A_fast, cache_fast = getattr(fast_layers, f"{pooling}_pool_forward")(X, *window)
    np.testing.assert_allclose(A_fast, A, rtol=1e-12, atol=1e-12)
    dA = rng.normal(size=A.shape)
    np.testing.assert_allclose(getattr(fast_layers, f"{pooling}_pool_backward")(dA, cache_fast),
                               getattr(layers, f"{pooling}_pool_backward")(dA, cache),
                               rtol=1e-12, atol=1e-12)


def test_the_dense_pair_is_the_chain_rule_of_x_w_plus_b():
    from course_utils.layers import dense_backward, dense_forward

    rng = np.random.default_rng(5)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    Z, cache = dense_forward(X, W, b)
    np.testing.assert_allclose(Z, X @ W + b)
    dZ = rng.normal(size=Z.shape)
    dX, dW, db = dense_backward(dZ, cache)
    # each entry of the gradient against a central difference of sum(Z * dZ)
    for array, gradient in ((X, dX), (W, dW), (b, db)):
        numeric = numerical_gradient(lambda: float(np.sum(dense_forward(X, W, b)[0] * dZ)), array)
        assert relative_error(gradient, numeric) < 1e-8
