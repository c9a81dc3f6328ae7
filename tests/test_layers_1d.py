"""layers_1d: the one-dimensional layers -- gradients, Keras' Conv1D and pooling, dilation,
bad input, and the CNN builder, model files and flattening on (N, C, L) signals."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import course_utils
from course_utils import layers as layers_module
from course_utils.activations import LRELU, identity, sigmoid, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy
from course_utils.gradcheck import gradient_errors
from course_utils.layers import Convolution2DLayer, Pooling2DLayer
from course_utils.layers_1d import Convolution1DLayer, Pooling1DLayer, dilated_extent
from course_utils.schedulers import Adam


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def naive_conv1d(X, kernel, bias, stride, left, right, dilation):
    """Z[n, f, i] = bias[f] + sum_c sum_j X_pad[n, c, i*stride + j*dilation] kernel[c, f, j],
    written out with loops (the definition, independent of the 2D layer)."""
    X_pad = np.pad(X, ((0, 0), (0, 0), (left, right)))
    C, F, k = kernel.shape
    out = (X_pad.shape[2] - dilation * (k - 1) - 1) // stride + 1
    Z = np.zeros((X.shape[0], F, out))
    for n in range(X.shape[0]):
        for f in range(F):
            for i in range(out):
                Z[n, f, i] = bias[f] + sum(
                    X_pad[n, c, i * stride + j * dilation] * kernel[c, f, j]
                    for c in range(C) for j in range(k)
                )
    return Z


CASES = [  # (C, F, k, stride, pad, dilation, L)
    (1, 1, 3, 1, "same", 1, 10),
    (2, 3, 4, 2, "same", 1, 11),
    (2, 2, 3, 1, "same", 2, 12),
    (3, 2, 2, 3, "same", 3, 17),
    (1, 2, 5, 1, "valid", 1, 9),
    (2, 2, 3, 2, "valid", 2, 13),
    (1, 1, 3, 1, 2, 1, 6),
    (2, 1, 2, 2, 1, 3, 9),
]


@pytest.mark.parametrize("case", CASES)
def test_conv1d_forward_matches_the_loop_definition(case):
    C, F, k, stride, pad, dilation, L = case
    layer = Convolution1DLayer(C, F, k, stride, pad, dilation, seed=1)
    layer.params["bias"] = np.random.default_rng(2).normal(size=F)
    X = np.random.default_rng(3).normal(size=(2, C, L))
    extent = dilated_extent(k, dilation)
    if pad == "same":
        total = max((-(-L // stride) - 1) * stride + extent - L, 0)
        left, right = total // 2, total - total // 2
    elif pad == "valid":
        left = right = 0
    else:
        left = right = pad
    expected = naive_conv1d(X, layer.params["kernel"], layer.params["bias"], stride, left, right,
                            dilation)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    assert layer.output_shape((C, L)) == expected.shape[1:]


@pytest.mark.parametrize("act", [identity, LRELU, sigmoid])
@pytest.mark.parametrize("case", CASES)
def test_conv1d_backward_matches_finite_differences(case, act):
    C, F, k, stride, pad, dilation, L = case
    layer = Convolution1DLayer(C, F, k, stride, pad, dilation, act_func=act, seed=4)
    layer.params["bias"] = np.random.default_rng(5).normal(size=F)
    X = np.random.default_rng(6).normal(size=(2, C, L))
    errors = gradient_errors(layer, X)
    assert set(errors) == {"X", "kernel", "bias"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("pooling", ["max", "average"])
@pytest.mark.parametrize("kernel_size, stride", [(2, 2), (3, 1), (3, 2), (4, 4)])
def test_pool1d_forward_and_backward(pooling, kernel_size, stride):
    X = np.random.default_rng(7).normal(size=(2, 3, 13))
    layer = Pooling1DLayer(kernel_size, stride, pooling)
    out = (13 - kernel_size) // stride + 1
    windows = np.stack([X[:, :, i * stride : i * stride + kernel_size] for i in range(out)], axis=2)
    reduce = np.max if pooling == "max" else np.mean
    np.testing.assert_allclose(layer.forward(X), reduce(windows, axis=3), atol=1e-12)
    assert max(gradient_errors(layer, X).values()) < 1e-7


def test_dilation_spreads_the_taps_and_trains_only_them():
    layer = Convolution1DLayer(1, 1, 3, dilation=4, pad="valid", seed=0)
    layer.params["kernel"][:] = [[[1.0, 2.0, 3.0]]]
    X = np.arange(20.0).reshape(1, 1, 20)
    # output i reads samples i, i + 4, i + 8: 9 positions fit in 20 samples
    expected = X[0, 0, :12] + 2 * X[0, 0, 4:16] + 3 * X[0, 0, 8:20]
    np.testing.assert_allclose(layer.forward(X)[0, 0], expected)
    assert layer.dilated_kernel().tolist() == [[[1, 0, 0, 0, 2, 0, 0, 0, 3]]]
    layer.backward(np.ones((1, 1, 12)))
    assert layer.grads["kernel"].shape == (1, 1, 3)
    np.testing.assert_allclose(layer.grads["kernel"][0, 0], [X[0, 0, 0:12].sum(),
                                                          X[0, 0, 4:16].sum(), X[0, 0, 8:20].sum()])
    assert dilated_extent(3, 4) == 9 and layer.n_parameters == 3 + 1


def test_a_1d_layer_is_the_2d_layer_on_images_of_height_1():
    conv1d = Convolution1DLayer(2, 3, 4, 2, "same", act_func=LRELU, seed=8)
    conv2d = Convolution2DLayer(2, 3, 1, 4, 1, 2, "same", act_func=LRELU, seed=8)
    conv2d.params = {"kernel": conv1d.params["kernel"][:, :, None, :], "bias": conv1d.params["bias"]}
    X = np.random.default_rng(9).normal(size=(3, 2, 15))
    np.testing.assert_allclose(conv1d.forward(X), conv2d.forward(X[:, :, None, :])[:, :, 0])
    pool1d, pool2d = Pooling1DLayer(3, 2), Pooling2DLayer(1, 3, 1, 2)
    np.testing.assert_allclose(pool1d.forward(X), pool2d.forward(X[:, :, None, :])[:, :, 0])


def test_float32_stays_float32():
    layer = Convolution1DLayer(1, 2, 3, seed=0)
    A = layer.forward(np.ones((2, 1, 8), dtype=np.float32))
    assert A.dtype == np.float32
    assert layer.backward(np.ones_like(A)).dtype == np.float32


def test_reexported_from_layers_and_the_package():
    assert layers_module.Convolution1DLayer is Convolution1DLayer is course_utils.Convolution1DLayer
    assert layers_module.Pooling1DLayer is Pooling1DLayer is course_utils.Pooling1DLayer


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Convolution1DLayer(1, 1, 3, dilation=0), r"dilation must be a positive integer, got 0"),
        (lambda: Convolution1DLayer(1, 1, 3, dilation=1.5), r"dilation"),
        (lambda: Convolution1DLayer(1, 1, 0), r"kernel_size must be a positive integer"),
        (lambda: Convolution1DLayer(1, 1, 3, stride=0), r"stride must be a positive integer"),
        (lambda: Convolution1DLayer(1, 1, 3, pad=(1, 1)), r'pad must be "same", "valid" or an int'),
        (lambda: Convolution1DLayer(1, 1, 3, pad="causal"), r'pad must be "same", "valid"'),
        (lambda: Pooling1DLayer(2, pooling="min"), r'pooling must be "max" or "average"'),
        (lambda: Pooling1DLayer(0), r"kernel_size must be a positive integer"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_kernel_longer_than_the_padded_dilated_signal_is_rejected():
    layer = Convolution1DLayer(1, 1, 3, pad="valid", dilation=3, seed=0)  # spans 7 samples
    with pytest.raises(ValueError, match=r"kernel_size=3 with dilation=3 spans 7 samples.*padded "
                                         r"signal's 6.*smaller kernel_size or dilation"):
        layer.forward(np.ones((1, 1, 6)))
    assert layer.forward(np.ones((1, 1, 7))).shape == (1, 1, 1)
    with pytest.raises(ValueError, match=r"spans 5 samples, more than the padded signal's 4"):
        Convolution1DLayer(1, 1, 5, pad=1, seed=0).output_shape((1, 2))
    with pytest.raises(ValueError, match=r"pooling kernel_size=4 is longer than the signal"):
        Pooling1DLayer(4).forward(np.ones((1, 1, 3)))


def test_images_given_to_1d_layers_and_signals_to_2d_layers_are_rejected():
    for layer in (Convolution1DLayer(1, 1, 3, seed=0), Pooling1DLayer(2)):
        with pytest.raises(ValueError, match=r"images \(N, C, H, W\).*takes signals \(N, C, L\)"
                                             r".*Convolution2DLayer"):
            layer.forward(np.ones((1, 1, 5, 5)))
        with pytest.raises(ValueError, match=r"needs signals.*\(C, L\).*looks like images"):
            layer.output_shape((1, 5, 5))
    with pytest.raises(ValueError, match=r"signals must be \(N, C, L\).*X\[:, None, :\]"):
        Convolution1DLayer(1, 1, 3, seed=0).forward(np.ones((2, 8)))
    with pytest.raises(ValueError, match=r"input_channels=2.*transpose\(0, 2, 1\)"):
        Convolution1DLayer(2, 1, 3, seed=0).forward(np.ones((4, 8, 2)))
    for layer in (Convolution2DLayer(1, 1, 3, 3, seed=0), Pooling2DLayer(2, 2)):
        with pytest.raises(ValueError, match=r"4 dimensions \(N, C, H, W\).*looks like signals.*"
                                             r"Convolution1DLayer"):
            layer.forward(np.ones((1, 1, 8)))
        with pytest.raises(ValueError, match=r"needs images.*looks like signals"):
            layer.output_shape((1, 8))


def test_backward_before_forward_and_wrong_dA_are_rejected():
    layer = Convolution1DLayer(1, 2, 3, seed=0)
    with pytest.raises(ValueError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones((1, 2, 5)))
    layer.forward(np.ones((1, 1, 5)))
    with pytest.raises(ValueError, match=r"dA must have the shape .*\(1, 2, 5\)"):
        layer.backward(np.ones((1, 2, 4)))


# ----------------------------------------------------------------------------- in a CNN


def signal_data(n=60, length=24, seed=0):
    """Two classes of signals: a bump near the start or near the end (plus noise)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(0, 0.3, size=(n, 1, length))
    for i in range(n):
        start = rng.integers(0, 6) + (length - 10) * y[i]
        X[i, 0, start : start + 4] += 2.0
    return X, np.eye(2)[y]


def signal_cnn(seed=3):
    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution1DLayer(1, 4, 5, dilation=2, act_func=LRELU)
    cnn.add_Pooling1DLayer(2, 2)
    cnn.add_Convolution1DLayer(4, 3, 3, stride=2, pad="valid")
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(8)
    cnn.add_OutputLayer(2, softmax)
    return cnn


def test_a_cnn_of_1d_layers_learns_counts_and_reports_its_shapes():
    X, t = signal_data()
    cnn = signal_cnn()
    assert cnn.output_shapes((1, 24)) == [(4, 24), (4, 12), (3, 5), (15,), (8,), (2,)]
    assert cnn.parameter_counts((1, 24)) == [1 * 4 * 5 + 4, 0, 4 * 3 * 3 + 3, 0, 15 * 8 + 8, 18]
    scores = cnn.fit(X, t, epochs=30, batches=3, progress=False)
    assert scores["train_acc"][-1] > 0.9
    assert cnn.predict(X).shape == (60, 2)
    again = signal_cnn()
    np.testing.assert_array_equal(again.fit(X, t, epochs=30, batches=3, progress=False)["train_error"],
                                  scores["train_error"])


def test_the_cnn_trains_exactly_the_taps_gradient_descent_asks_for():
    # one plain step of size eta (Adam's first step is eta * sign(g)): the change of every
    # kernel tap must have the sign of the layer's own gradient
    X, t = signal_data(n=8)
    cnn = signal_cnn()
    cnn.build((1, 24))
    before = cnn.layers[0].params["kernel"].copy()
    cnn.fit(X, t, epochs=1, batches=1, progress=False)
    change = before - cnn.layers[0].params["kernel"]
    assert change.shape == (1, 4, 5) and np.all(np.abs(change) > 0)


def test_save_and_load_keep_the_1d_layers(tmp_path):
    X, t = signal_data()
    cnn = signal_cnn()
    cnn.fit(X, t, epochs=2, batches=2, progress=False)
    cnn.save(tmp_path / "signal.npz")
    loaded = CNN.load(tmp_path / "signal.npz")
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in cnn.layers]
    np.testing.assert_array_equal(loaded.predict_proba(X), cnn.predict_proba(X))
    np.testing.assert_array_equal(
        loaded.fit(X, t, epochs=2, batches=2, progress=False)["train_error"],
        cnn.fit(X, t, epochs=2, batches=2, progress=False)["train_error"],
    )


def test_an_integer_pad_of_any_integer_type_is_saved(tmp_path):
    X, t = signal_data()
    cnn = CNN(cost_func=CostCrossEntropy, seed=0)
    cnn.add_Convolution1DLayer(1, 2, 3, pad=np.int64(2))
    cnn.add_FlattenLayer()
    cnn.add_OutputLayer(2, softmax)
    cnn.fit(X, t, epochs=1, progress=False)
    cnn.save(tmp_path / "pad.npz")
    assert CNN.load(tmp_path / "pad.npz").layers[0].pad == 2


def test_flatten_and_dense_layers_take_signals():
    X, t = signal_data()
    dense = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=0)
    dense.add_FlattenLayer()
    dense.add_OutputLayer(2, softmax)
    scores = dense.fit(X, t, epochs=20, progress=False)
    assert dense.input_shape == (1, 24) and scores["train_acc"][-1] > 0.9


def test_the_builder_rejects_mixed_dimensions_and_wrong_channels():
    cnn = CNN(seed=0)
    cnn.add_Convolution1DLayer(1, 4, 3)
    with pytest.raises(ValueError, match=r"take signals \(N, C, L\), this one images.*not both"):
        cnn.add_Convolution2DLayer(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"take signals \(N, C, L\), this one images"):
        cnn.add_PoolingLayer(2, 2)
    with pytest.raises(ValueError, match=r"input_channels=2 but the previous convolutional layer "
                                         r"makes feature_maps=4"):
        cnn.add_Convolution1DLayer(2, 4, 3)
    images = CNN(seed=0)
    images.add_Convolution2DLayer(1, 2, 3, 3)
    with pytest.raises(ValueError, match=r"take images \(N, C, H, W\), this one signals"):
        images.add_Convolution1DLayer(2, 2, 3)
    with pytest.raises(ValueError, match=r"take images \(N, C, H, W\), this one signals"):
        images.add_Pooling1DLayer(2)
    cnn.add_FlattenLayer()
    with pytest.raises(ValueError, match="already flat"):
        cnn.add_Pooling1DLayer(2)


def test_fit_rejects_images_for_a_signal_model():
    X, t = signal_data()
    cnn = signal_cnn()
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\).*takes signals"):
        cnn.fit(X[:, :, None, :], t, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"layer 2 \(Convolution1DLayer\).*spans 3 samples"):
        cnn.fit(X[:, :, :2], t, epochs=1, progress=False)


def test_two_threads_train_a_1d_model_as_one_does():
    # fit(parallel=True) works on shallow copies of the layers; a 1D layer's copy needs its
    # own 2D layer, or the two halves of a batch overwrite each other's saved inputs
    X, t = signal_data(n=128)
    one, two = signal_cnn(), signal_cnn()
    scores_one = one.fit(X, t, epochs=3, batches=1, progress=False)
    scores_two = two.fit(X, t, epochs=3, batches=1, progress=False, parallel=True)
    np.testing.assert_allclose(scores_two["train_error"], scores_one["train_error"], rtol=1e-9)
    np.testing.assert_allclose(two.layers[0].params["kernel"], one.layers[0].params["kernel"],
                               rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("make", [lambda: Convolution1DLayer(1, 2, 3, seed=0, act_func=LRELU),
                                  lambda: Pooling1DLayer(3, 2)])
def test_a_shallow_copy_keeps_its_own_saved_inputs(make):
    import copy

    rng = np.random.default_rng(12)
    X1, X2 = rng.normal(size=(2, 1, 11)), rng.normal(size=(3, 1, 11))
    layer, reference = make(), make()
    A = layer.forward(X1)
    copy.copy(layer).forward(X2)   # what the other thread of fit(parallel=True) does
    R = rng.normal(size=A.shape)
    reference.forward(X1)
    np.testing.assert_array_equal(layer.backward(R), reference.backward(R))
