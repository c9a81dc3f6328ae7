"""CNN: reproducibility, learning, architecture and data mistakes, Ctrl-C, save/load, summary."""

from __future__ import annotations

import copy
import os
import signal
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from course_utils import cnn as cnn_module
from course_utils import parallel
from course_utils.activations import LRELU, identity, sigmoid, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy, CostLogReg, CostOLS
from course_utils.schedulers import Adam, Constant


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrix products run faster on one BLAS thread, much faster on busy cores."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


from cnn_helpers import (
    assert_same_weights,
    bars,
    lecture_first_cnn,
    lecture_untraditional_cnn,
    small_model,
    weights,
)

# ---------------------------------------------------------------------------
# Reproducibility and learning
# ---------------------------------------------------------------------------


def test_same_seed_gives_the_same_scores_bit_for_bit(data):
    (X, t, _), (X_val, t_val, _) = data
    runs = [
        small_model(seed=3).fit(X, t, epochs=3, batches=4, X_val=X_val, t_val=t_val,
                                progress=False)
        for _ in range(2)
    ]
    for key in cnn_module.SCORE_KEYS:
        assert np.array_equal(runs[0][key], runs[1][key]), key
    other = small_model(seed=4).fit(X, t, epochs=3, batches=4, X_val=X_val, t_val=t_val,
                                    progress=False)
    assert not np.array_equal(runs[0]["train_error"], other["train_error"])


def test_fit_does_not_touch_the_global_random_generator(data):
    (X, t, _), _ = data
    state = np.random.get_state()[1].copy()
    small_model(seed=None).fit(X, t, epochs=1, progress=False)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_a_second_fit_continues_training_exactly_like_one_longer_fit(data):
    (X, t, _), _ = data
    twice = small_model(seed=5)
    twice.fit(X, t, epochs=2, batches=3, progress=False)
    twice.fit(X, t, epochs=1, batches=3, progress=False)
    once = small_model(seed=5)
    once.fit(X, t, epochs=3, batches=3, progress=False)
    assert_same_weights(weights(twice), weights(once))


@pytest.mark.parametrize("optimized", [True, False])
def test_a_small_cnn_learns_horizontal_versus_vertical_bars(data, optimized):
    (X, t, _), (X_val, t_val, labels_val) = data
    model = small_model(seed=0, eta=2e-2, optimized=optimized)
    scores = model.fit(X, t, epochs=8, batches=4, X_val=X_val, t_val=t_val, progress=False)
    assert scores["val_acc"][-1] > 0.9, scores
    assert scores["train_error"][-1] < scores["train_error"][0]
    assert np.mean(model.predict(X_val).argmax(axis=1) == labels_val) == scores["val_acc"][-1]


def test_binary_classification_with_one_sigmoid_node_learns(data):
    (X, t, _), (X_val, t_val, _) = data
    model = CNN(CostLogReg, Adam(eta=2e-2, rho=0.9, rho2=0.999), seed=1)
    model.add_Convolution2DLayer(1, 4, 3, 3)
    model.add_PoolingLayer(2, 2, 2, 2)
    model.add_FlattenLayer()
    model.add_OutputLayer(1, sigmoid)
    scores = model.fit(X, t[:, 1:], epochs=8, batches=4, X_val=X_val, t_val=t_val[:, 1:],
                       progress=False)
    assert scores["val_acc"][-1] > 0.9, scores
    prediction = model.predict(X_val)
    assert prediction.shape == (len(X_val), 1) and set(np.unique(prediction)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r"t.reshape\(-1, 1\)"):
        model.fit(X, t[:, 1].astype(int), epochs=1, progress=False)


def test_scores_dict_keys_shapes_and_nan_where_not_computed(data):
    (X, t, _), (X_val, t_val, _) = data
    scores = small_model().fit(X, t, epochs=2, progress=False)
    assert set(scores) == {"train_error", "train_acc", "val_error", "val_acc"}
    assert all(v.shape == (2,) for v in scores.values())
    assert np.all(np.isfinite(scores["train_error"])) and np.all(np.isfinite(scores["train_acc"]))
    assert np.all(np.isnan(scores["val_error"])) and np.all(np.isnan(scores["val_acc"]))
    # regression: no accuracy
    model = CNN(CostOLS, Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=0)
    model.add_FlattenLayer()
    model.add_OutputLayer(1, identity)
    scores = model.fit(X, t[:, :1], epochs=2, X_val=X_val, t_val=t_val[:, :1], progress=False)
    assert np.all(np.isnan(scores["train_acc"])) and np.all(np.isfinite(scores["val_error"]))
    assert np.array_equal(model.predict(X), model.predict_proba(X))


def test_predict_gives_one_hot_rows_and_predict_proba_probabilities(fitted, data):
    (X, _, _), _ = data
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    prediction = fitted.predict(X)
    assert np.array_equal(prediction.sum(axis=1), np.ones(len(X)))
    assert np.array_equal(prediction.argmax(axis=1), proba.argmax(axis=1))


def test_float32_data_trains_in_float32(data):
    (X, t, _), _ = data
    model = small_model()
    scores = model.fit(X.astype(np.float32), t.astype(np.float32), epochs=2, progress=False)
    assert np.all(np.isfinite(scores["train_error"]))
    # the gradients and Adam's moments would be float64 if any step ran in float64
    for layer, key, scheduler in model.parameter_schedulers:
        assert layer.grads[key].dtype == np.float32, (type(layer).__name__, key)
        assert scheduler.moment.dtype == scheduler.second.dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert model.predict_proba(X).dtype == np.float64


def test_every_parameter_array_has_its_own_scheduler_copy(fitted):
    schedulers = [s for _, _, s in fitted.parameter_schedulers]
    assert len(schedulers) == sum(len(layer.params) for layer in fitted.layers) == 6
    assert len({id(s) for s in schedulers}) == len(schedulers)
    assert all(s is not fitted.scheduler for s in schedulers)
    shapes = [key for _, key, _ in fitted.parameter_schedulers]
    assert shapes == ["kernel", "bias", "weights", "bias", "weights", "bias"]


def test_layer_scheduler_overrides_the_model_scheduler(data):
    (X, t, _), _ = data
    model = CNN(CostCrossEntropy, Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=0)
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(4, LRELU, scheduler=Constant(eta=0.5))
    model.add_OutputLayer(2, softmax)
    model.fit(X, t, epochs=1, progress=False)
    kinds = [type(s).__name__ for _, _, s in model.parameter_schedulers]
    assert kinds == ["Constant", "Constant", "Adam", "Adam"]


@pytest.mark.parametrize("optimized", [True, False])
@pytest.mark.parametrize("n_images", [12, 33])  # 33: halves of 17 and 16 images, two threads
def test_one_fit_step_is_one_gradient_descent_step_through_the_public_layer_api(
    data, optimized, n_images, monkeypatch
):
    (X, t, _), _ = data
    X, t, eta, lam = X[:n_images], t[:n_images], 0.1, 0.01
    model = small_model(seed=6, scheduler=Constant(eta=eta), optimized=optimized)
    model.build(X.shape[1:])
    by_hand = copy.deepcopy(model)
    halves = []
    start = parallel.SecondHalf.start
    monkeypatch.setattr(parallel.SecondHalf, "start",
                        lambda self, func, X, t: halves.append(len(X)) or start(self, func, X, t))
    A = X
    for layer in by_hand.layers:
        A = layer.forward(A)
    delta = by_hand.layers[-1].backward(t)
    for layer in reversed(by_hand.layers[:-1]):
        delta = layer.backward(delta)
    model.fit(X, t, epochs=1, batches=1, lam=lam, progress=False, parallel=True)  # one step
    for mine, theirs in zip(model.layers, by_hand.layers):
        for key, value in theirs.params.items():
            decay = lam * value if key in ("kernel", "weights") else 0
            expected = value - eta * (theirs.grads[key] + decay)
            np.testing.assert_allclose(mine.params[key], expected, rtol=1e-10, atol=1e-14)
    # the second half of a batch of 33 ran on the worker thread; 12 images stay whole
    assert halves == ([16] if n_images >= parallel.PARALLEL_MIN_BATCH else [])


def test_training_scores_are_the_batch_scores_with_the_weights_before_each_step(data):
    (X, t, _), _ = data
    # one batch per epoch: its step starts from the weights of the end of the last epoch,
    # so the epoch's training scores are the exact scores of those weights
    model = small_model(seed=9)
    model.fit(X, t, epochs=1, batches=1, progress=False)
    before = model.predict_proba(X)
    scores = model.fit(X, t, epochs=1, batches=1, progress=False)
    np.testing.assert_allclose(scores["train_error"][0], CostCrossEntropy(t)(before), rtol=1e-12)
    assert scores["train_acc"][0] == cnn_module._accuracy(model._to_prediction(before), t)
    assert not np.array_equal(model.predict_proba(X), before)  # and the step did change them


def test_training_scores_average_the_batches_weighted_by_their_sizes(data, monkeypatch):
    (X, t, _), _ = data
    X, t = X[:50], t[:50]  # 3 batches of 17, 17 and 16 images
    model = small_model(seed=10)
    model.fit(X, t, epochs=1, progress=False)
    # freeze the weights: every batch is then scored with the same weights, and the
    # size-weighted mean of the three batch scores is the score of the whole set
    monkeypatch.setattr(model, "_param_schedulers", [])
    frozen = model.predict_proba(X)
    scores = model.fit(X, t, epochs=1, batches=3, progress=False)
    np.testing.assert_allclose(scores["train_error"][0], CostCrossEntropy(t)(frozen), rtol=1e-12)
    assert scores["train_acc"][0] == cnn_module._accuracy(model._to_prediction(frozen), t)


def test_lam_adds_weight_decay_to_weights_but_not_to_biases(data):
    (X, t, _), _ = data
    # with Constant(eta) one step changes W by eta * (grad + lam * W): compare lam=0 and lam=1
    results = []
    for lam in (0.0, 1.0):
        model = small_model(seed=2, scheduler=Constant(eta=0.1))
        model.fit(X, t, epochs=1, progress=False)  # creates weights, one step
        start = weights(model)
        model.fit(X, t, epochs=1, lam=lam, progress=False)
        results.append((start, weights(model)))
    (_start0, end0), (start1, end1) = results
    for index, name in enumerate(["kernel", "bias", "weights", "bias", "weights", "bias"]):
        difference = end0[index] - end1[index]
        if name == "bias":
            np.testing.assert_array_equal(end0[index], end1[index])
        else:
            np.testing.assert_allclose(difference, 0.1 * start1[index], rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# Architecture mistakes, at add time
# ---------------------------------------------------------------------------


def test_dense_layer_after_conv_without_flatten_is_rejected():
    model = CNN(seed=0)
    model.add_Convolution2DLayer()
    with pytest.raises(ValueError, match=r"add_FlattenLayer\(\) first"):
        model.add_FullyConnectedLayer(10)
    model.add_PoolingLayer()
    with pytest.raises(ValueError, match=r"add_FlattenLayer\(\) first"):
        model.add_OutputLayer(10, softmax)
    with pytest.raises(ValueError, match=r"add_FlattenLayer\(\) first"):
        CNN().add_FullyConnectedLayer(10)
    assert len(model.layers) == 2


@pytest.mark.parametrize(
    "add, match",
    [
        (lambda m: m.add_Convolution2DLayer(), "already flat"),
        (lambda m: m.add_PoolingLayer(), "already flat"),
        (lambda m: m.add_FlattenLayer(), "flatten only once"),
    ],
)
def test_image_layers_after_flatten_are_rejected(add, match):
    model = CNN(seed=0)
    model.add_Convolution2DLayer()
    model.add_FlattenLayer()
    with pytest.raises(ValueError, match=match):
        add(model)
    assert len(model.layers) == 2


def test_nothing_can_follow_the_output_layer():
    model = CNN(seed=0)
    model.add_FlattenLayer()
    model.add_OutputLayer(2, softmax)
    for add in (lambda: model.add_FullyConnectedLayer(3), lambda: model.add_OutputLayer(2, softmax)):
        with pytest.raises(ValueError, match=r"add_OutputLayer\(\) must be called last"):
            add()
    assert len(model.layers) == 2


def test_consecutive_conv_layers_must_agree_on_channels():
    model = CNN(seed=0)
    model.add_Convolution2DLayer(input_channels=1, feature_maps=7)
    model.add_PoolingLayer()
    with pytest.raises(ValueError, match="input_channels=1 .*feature_maps=7"):
        model.add_Convolution2DLayer(input_channels=1, feature_maps=2)
    model.add_Convolution2DLayer(input_channels=7, feature_maps=2)
    assert len(model.layers) == 3


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: CNN(seed=-1), "seed"),
        (lambda: CNN(seed=1.5), "seed"),
        (lambda: CNN(scheduler=Adam), "scheduler"),
        (lambda: CNN(cost_func="CostOLS"), "cost_func"),
        (lambda: CNN().add_Convolution2DLayer(kernel_height=0), "kernel_height"),
        (lambda: CNN().add_Convolution2DLayer(v_stride=-1), "v_stride"),
        (lambda: CNN().add_Convolution2DLayer(pad="full"), "pad"),
        (lambda: CNN().add_PoolingLayer(pooling="min"), "pooling"),
        (lambda: CNN().add_PoolingLayer(h_stride=0), "h_stride"),
        (lambda: _flat().add_FullyConnectedLayer(0), "nodes"),
        (lambda: _flat().add_FullyConnectedLayer(3, act_func="relu"), "act_func"),
        (lambda: _flat().add_FullyConnectedLayer(3, scheduler="adam"), "scheduler"),
        (lambda: _flat().add_OutputLayer(1, softmax), "nodes=1"),
        (lambda: _flat().add_OutputLayer(3, sigmoid), "CostLogReg"),
    ],
)
def test_bad_builder_arguments_are_rejected_naming_the_parameter(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def _flat() -> CNN:
    model = CNN(CostCrossEntropy, seed=0)
    model.add_FlattenLayer()
    return model


def test_fit_without_output_layer_is_rejected(data):
    (X, t, _), _ = data
    model = CNN(seed=0)
    model.add_Convolution2DLayer()
    model.add_FlattenLayer()
    with pytest.raises(ValueError, match=r"no output layer.*add_OutputLayer"):
        model.fit(X, t, progress=False)
    with pytest.raises(ValueError, match="no output layer"):
        model.predict(X)


def test_predict_before_fit_is_rejected(data):
    (X, _, _), _ = data
    with pytest.raises(ValueError, match=r"no weights yet; call fit"):
        small_model().predict(X)


# ---------------------------------------------------------------------------
# Data mistakes at fit time: ValueError naming the parameter, model unchanged
# ---------------------------------------------------------------------------

N = 64


def _bad_fit_calls():
    X, t, labels = bars(N, seed=1)
    nan_X = X.copy()
    nan_X[3, 0, 2, 2] = np.nan
    return [
        ("X 3D", {"X": X[:, 0], "t": t}, r"X must have 4 dimensions"),
        ("X channels last", {"X": X.transpose(0, 2, 3, 1), "t": t}, r"transpose\(0, 3, 1, 2\)"),
        ("X wrong channels", {"X": np.repeat(X, 3, axis=1), "t": t}, "input_channels=1"),
        ("X NaN", {"X": nan_X, "t": t}, "X contains 1 NaN"),
        ("X other size", {"X": X[:, :, :6, :6], "t": t}, r"\(1, 8, 8\)"),
        ("X too small for kernel", {"X": X[:, :, :1, :1], "t": t}, r"\(1, 8, 8\)"),
        ("t labels", {"X": X, "t": labels}, r"onehot"),
        ("t rows", {"X": X, "t": t[:10]}, "t has 10 rows"),
        ("t columns", {"X": X, "t": np.ones((N, 3))}, "t has 3 columns"),
        ("t inf", {"X": X, "t": np.where(t == 1, np.inf, 0)}, "t contains"),
        ("epochs 0", {"X": X, "t": t, "epochs": 0}, "epochs"),
        ("epochs float", {"X": X, "t": t, "epochs": 2.5}, "epochs"),
        ("batches 0", {"X": X, "t": t, "batches": 0}, "batches"),
        ("batches > N", {"X": X, "t": t, "batches": N + 1}, f"batches={N + 1}.*{N}"),
        ("lam negative", {"X": X, "t": t, "lam": -1}, "lam"),
        ("lam nan", {"X": X, "t": t, "lam": float("nan")}, "lam"),
        ("X_val alone", {"X": X, "t": t, "X_val": X}, "X_val and t_val"),
        ("X_val channels last", {"X": X, "t": t, "X_val": X.transpose(0, 2, 3, 1), "t_val": t},
         r"X_val looks like \(N, H, W, C\)"),
        ("t_val rows", {"X": X, "t": t, "X_val": X, "t_val": t[:5]}, "t_val has 5 rows"),
        ("t_val labels", {"X": X, "t": t, "X_val": X, "t_val": labels}, "onehot"),
    ]


@pytest.mark.parametrize("call", _bad_fit_calls(), ids=[c[0] for c in _bad_fit_calls()])
def test_bad_fit_input_is_rejected_and_leaves_the_model_unchanged(fitted, call):
    _, kwargs, match = call
    before = weights(fitted)
    rng_state = copy.deepcopy(fitted._rng.bit_generator.state)
    scheduler_state = copy.deepcopy([vars(s) for _, _, s in fitted.parameter_schedulers])
    with pytest.raises(ValueError, match=match):
        fitted.fit(progress=False, **kwargs)
    assert_same_weights(weights(fitted), before)
    assert fitted._rng.bit_generator.state == rng_state
    after = [vars(s) for _, _, s in fitted.parameter_schedulers]
    for old, new in zip(scheduler_state, after):
        assert old.keys() == new.keys()
        for key in old:
            assert np.array_equal(old[key], new[key]) if old[key] is not None else new[key] is None


def test_validation_images_of_another_size_are_rejected_before_the_first_step():
    X, t, _ = bars(16, seed=0)
    model = small_model()
    with pytest.raises(ValueError, match=r"X_val has images of shape \(1, 6, 6\)"):
        model.fit(X, t, X_val=X[:, :, :6, :6], t_val=t, progress=False)
    assert all(layer.params == {} for layer in model.layers)


def test_a_kernel_larger_than_the_image_is_rejected_before_any_work():
    X, t, _ = bars(8, seed=0, size=4)
    model = CNN(seed=0)
    model.add_Convolution2DLayer(1, 2, 5, 5, pad="valid")
    model.add_FlattenLayer()
    model.add_OutputLayer(2, softmax)
    with pytest.raises(ValueError, match=r"layer 0 .*5x5 is larger than the padded input 4x4"):
        model.fit(X, t, progress=False)
    assert all(layer.params == {} for layer in model.layers)


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt during the test, whatever the shell gave us.

    A job started in the background (`pytest &`, nohup, some CI runners) inherits SIGINT
    ignored: a real Ctrl-C would then do nothing, and the tests below would wait for an
    interruption that never comes. Install Python's default handler, restore afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread; a real SIGINT here would stop pytest")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fit_leaves_an_ignored_sigint_ignored(data):
    # as in a background job: Ctrl-C must not start raising KeyboardInterrupt inside fit
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set only in the main thread")
    (X, t, _), _ = data
    reference = small_model(seed=8)
    reference.fit(X, t, epochs=1, batches=2, progress=False)
    model = small_model(seed=8)
    model.build(X.shape[1:])
    scheduler = model.parameter_schedulers[2][2]
    original = scheduler.update_change
    seen = []

    def update_change_with_sigint(gradient):
        seen.append(signal.getsignal(signal.SIGINT))
        os.kill(os.getpid(), signal.SIGINT)  # ignored: must change nothing
        return original(gradient)

    scheduler.update_change = update_change_with_sigint
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        scores = model.fit(X, t, epochs=1, batches=2, progress=False)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIG_IGN, signal.SIG_IGN]  # no handler was put in place
    assert np.all(np.isfinite(scores["train_error"]))  # not interrupted
    assert_same_weights(weights(model), weights(reference))


@pytest.mark.parametrize("half", ["first (this thread)", "second (worker thread)"])
def test_keyboard_interrupt_keeps_the_weights_of_the_last_complete_step(data, capsys, half,
                                                                        monkeypatch):
    (X, t, _), _ = data
    reference = small_model(seed=7)
    reference.fit(X, t, epochs=1, batches=2, progress=False, parallel=True)  # exactly two steps

    model = small_model(seed=7)
    # Batches of 32 images are split in two halves of 16 (32 >= parallel.PARALLEL_MIN_BATCH):
    # interrupt one half in the third step, once its gradients are computed (before any
    # weight changes).
    original = cnn_module.forward_backward
    in_main = half.startswith("first")
    calls = {"n": 0}

    def interrupted_pass(layers, X, t):
        prediction = original(layers, X, t)
        if (threading.current_thread() is threading.main_thread()) == in_main:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
        return prediction

    monkeypatch.setattr(cnn_module, "forward_backward", interrupted_pass)
    scores = model.fit(X, t, epochs=5, batches=2, progress=False, parallel=True)
    monkeypatch.undo()
    assert calls["n"] == 3
    assert_same_weights(weights(model), weights(reference))
    assert np.isfinite(scores["train_error"][0]) and np.all(np.isnan(scores["train_error"][1:]))
    assert "interrupted in epoch 2/5" in capsys.readouterr().out


def test_ctrl_c_while_waiting_for_the_worker_keeps_the_weights_of_the_last_complete_step(
    data, capsys, monkeypatch, ctrl_c_raises
):
    if parallel.available_cores() < 2:
        pytest.skip("on one core the halves run on this thread: no waiting for a worker")
    (X, t, _), _ = data
    reference = small_model(seed=11)
    reference.fit(X, t, epochs=1, batches=2, progress=False, parallel=True)  # two steps

    model = small_model(seed=11)
    original = cnn_module.forward_backward
    calls = {"n": 0}

    def slow_worker_pass(layers, X, t):
        if threading.current_thread() is not threading.main_thread():
            calls["n"] += 1
            if calls["n"] == 3:  # third step: the main thread's half is done, it waits for us
                time.sleep(0.2)
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to that thread
                time.sleep(0.2)
        return original(layers, X, t)

    monkeypatch.setattr(cnn_module, "forward_backward", slow_worker_pass)
    scores = model.fit(X, t, epochs=5, batches=2, progress=False, parallel=True)
    monkeypatch.undo()
    assert calls["n"] == 3  # the worker finished its pass (fit waited for it) and no other
    assert_same_weights(weights(model), weights(reference))
    assert np.isfinite(scores["train_error"][0]) and np.all(np.isnan(scores["train_error"][1:]))
    assert "interrupted in epoch 2/5" in capsys.readouterr().out


def test_ctrl_c_during_the_update_is_held_back_until_the_step_is_complete(
    data, capsys, ctrl_c_raises
):
    (X, t, _), _ = data
    reference = small_model(seed=8)
    reference.fit(X, t, epochs=1, batches=2, progress=False)  # two steps

    model = small_model(seed=8)
    model.build(X.shape[1:])
    scheduler = model.parameter_schedulers[2][2]  # first dense weights' scheduler
    original = scheduler.update_change
    calls = {"n": 0}

    def update_change_with_sigint(gradient):
        calls["n"] += 1
        if calls["n"] == 2:  # the real Ctrl-C signal, in the middle of step 2's update
            os.kill(os.getpid(), signal.SIGINT)
        return original(gradient)

    scheduler.update_change = update_change_with_sigint
    model.fit(X, t, epochs=3, batches=2, progress=False)
    assert_same_weights(weights(model), weights(reference))
    assert "interrupted in epoch 1/3" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # fit's handler left


def test_divergence_stops_training_and_keeps_finite_weights(data, capsys):
    (X, t, _), _ = data
    model = small_model(seed=0)
    model.fit(X, t, epochs=1, progress=False)
    model.layers[3].params["weights"][:] = 1e300  # the next forward overflows to inf
    model.layers[4].params["weights"][:] = 1e300
    before = weights(model)
    scores = model.fit(X, t, epochs=3, progress=False)
    assert np.all(np.isnan(scores["train_error"]))
    assert_same_weights(weights(model), before)
    assert "diverged" in capsys.readouterr().out


def test_progress_bar_goes_to_stderr_and_can_be_switched_off(data, capsys):
    (X, t, _), _ = data
    small_model().fit(X, t, epochs=2, progress=False)
    assert capsys.readouterr().err == ""
    small_model().fit(X, t, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert "fit" in captured.err and "train_error" in captured.err and captured.out == ""


# ---------------------------------------------------------------------------
# summary and the lecture's architectures
# ---------------------------------------------------------------------------


def test_summary_counts_parameters_by_hand(capsys):
    text = lecture_first_cnn().summary(input_shape=(1, 28, 28))
    assert text in capsys.readouterr().out
    # conv 1*1*3*3 + 1; dense 784*30 + 30; 30*20 + 20; output 20*10 + 10
    assert "Total parameters: 24,390" in text
    for count in ("10", "23,550", "620", "210"):
        assert count in text
    model = lecture_untraditional_cnn()
    # conv 7x1: 1*7*7*1 + 7 = 56; conv 4x4: 7*1*16 + 1 = 113; conv 2x2: 4 + 1 = 5;
    # flatten (1, 12, 8) -> 96; dense 96*100+100, 100*10+10, 10*101+101, 101*10+10
    expected = 56 + 113 + 5 + 9700 + 1010 + 1111 + 1020
    assert model.count_params((1, 28, 28)) == expected
    assert "(1, 13, 9)" in model.summary((1, 28, 28)) and "(96,)" in model.summary((1, 28, 28))
    with pytest.raises(ValueError, match="input_shape"):
        lecture_first_cnn().summary()


def test_output_shapes_and_parameter_counts_give_one_entry_per_layer(data):
    model = small_model()
    # conv 3x3 "same" 1 -> 4 maps, max pool 2/2, flatten, dense 8, output 2
    assert model.output_shapes((1, 8, 8)) == [(4, 8, 8), (4, 4, 4), (64,), (8,), (2,)]
    assert model.parameter_counts((1, 8, 8)) == [1 * 4 * 3 * 3 + 4, 0, 0, 64 * 8 + 8, 8 * 2 + 2]
    assert model.count_params((1, 8, 8)) == sum(model.parameter_counts((1, 8, 8)))
    # the dense layer's count depends on the image size, the conv layer's does not
    assert model.parameter_counts((1, 12, 12)) == [40, 0, 0, 144 * 8 + 8, 18]
    for method in (model.output_shapes, model.parameter_counts, model.count_params):
        with pytest.raises(ValueError, match=rf"{method.__name__}\(\) needs the image shape"):
            method()
    with pytest.raises(ValueError, match=r"layer 0 \(Convolution2DLayerOPT\).*input_channels=1"):
        model.output_shapes((3, 8, 8))
    (X, t, _), _ = data
    model.fit(X, t, epochs=1, progress=False)  # afterwards both default to the fitted shape
    assert model.output_shapes() == model.output_shapes(X.shape[1:])
    assert model.parameter_counts() == [layer.n_parameters for layer in model.layers]


@pytest.mark.parametrize("build", [lecture_first_cnn, lecture_untraditional_cnn])
def test_parameter_count_matches_keras_count_params(build):
    from course_utils.keras_models import keras

    ours = build()
    leaky = keras.layers.LeakyReLU(negative_slope=0.001)
    if build is lecture_first_cnn:
        layers = [
            keras.layers.Conv2D(1, (3, 3), padding="same", activation=leaky),
            keras.layers.Flatten(),
            keras.layers.Dense(30, activation=leaky),
            keras.layers.Dense(20, activation=leaky),
            keras.layers.Dense(10, activation="softmax"),
        ]
    else:
        layers = [
            keras.layers.Conv2D(7, (7, 1), padding="same", activation=leaky),
            keras.layers.AveragePooling2D((2, 2), strides=1),
            keras.layers.MaxPooling2D((2, 2), strides=1),
            keras.layers.Conv2D(1, (4, 4), strides=(2, 3), padding="same", activation=leaky),
            keras.layers.Conv2D(1, (2, 2), padding="same", activation="sigmoid"),
            keras.layers.MaxPooling2D((2, 2), strides=1),
            keras.layers.Flatten(),
            keras.layers.Dense(100, activation=leaky),
            keras.layers.Dense(10, activation="sigmoid"),
            keras.layers.Dense(101),
            keras.layers.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential([keras.Input((28, 28, 1)), *layers])
    assert ours.count_params((1, 28, 28)) == model.count_params()
    # and every layer's output shape agrees, (C, H, W) vs (H, W, C)
    assert ours.parameter_counts((1, 28, 28)) == [layer.count_params() for layer in model.layers]
    shapes = ours.output_shapes((1, 28, 28))
    for shape, layer in zip(shapes, model.layers):
        keras_shape = tuple(layer.output.shape[1:])
        expected = (*shape[1:], shape[0]) if len(shape) == 3 else shape
        assert keras_shape == expected, (layer.name, keras_shape, shape)


# ---------------------------------------------------------------------------
# Review fixes: training state in saved files, save paths, channels last without
# conv layers, summary's repr, divergence inside the update, float32 training
# ---------------------------------------------------------------------------


def test_channels_last_data_is_detected_without_a_conv_layer():
    rng = np.random.default_rng(0)
    t = np.eye(2)[rng.integers(0, 2, 16)]
    model = CNN(CostCrossEntropy, seed=0)
    model.add_PoolingLayer(2, 2, 2, 2)
    model.add_FlattenLayer()
    model.add_OutputLayer(2, softmax)
    for channels in (3, 1):
        X = rng.random((16, 8, 8, channels))
        with pytest.raises(ValueError, match=r"X looks like \(N, H, W, C\).*transpose\(0, 3, 1, 2\)"):
            model.fit(X, t, epochs=1, progress=False)
        assert all(layer.params == {} for layer in model.layers)
    with pytest.raises(ValueError, match=r"X_val looks like \(N, H, W, C\)"):
        model.fit(rng.random((16, 3, 8, 8)), t, epochs=1, X_val=rng.random((16, 8, 8, 3)),
                  t_val=t, progress=False)
    # channels first data with 1 or 3 channels, or another channel count, still trains
    for shape in [(16, 3, 8, 8), (16, 1, 8, 3), (16, 2, 8, 8)]:
        fresh = CNN(CostCrossEntropy, seed=0)
        fresh.add_FlattenLayer()
        fresh.add_OutputLayer(2, softmax)
        fresh.fit(rng.random(shape), t, epochs=1, progress=False)


def test_summary_shows_the_table_once_in_a_notebook(capsys):
    text = lecture_first_cnn().summary(input_shape=(1, 28, 28))
    printed = capsys.readouterr().out
    assert printed == text + "\n"
    assert isinstance(text, str) and text.startswith("Input: images of shape")
    # Jupyter shows the repr of a cell's last expression: the plain table, not an escaped string
    assert repr(text) == str(text) == printed.rstrip("\n")
    assert "\\n" not in repr(text)
    # IPython (Jupyter) displays nothing more for it: the table was printed once already
    from IPython.core.interactiveshell import InteractiveShell

    assert InteractiveShell.instance().display_formatter.format(text) == ({}, {})


class _InfOnDemand(Adam):
    """Adam whose change becomes inf once `explode` is set: a scheduler overflowing."""

    explode = False

    def update_change(self, gradient):
        change = super().update_change(gradient)
        return np.full_like(change, np.inf) if self.explode else change


def test_divergence_in_the_update_leaves_every_scheduler_state_unchanged(data, capsys):
    (X, t, _), _ = data
    model = CNN(CostCrossEntropy, Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=0)
    model.add_Convolution2DLayer(1, 2, 3, 3)
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(4)
    model.add_OutputLayer(2, softmax, scheduler=_InfOnDemand(eta=1e-2, rho=0.9, rho2=0.999))
    model.fit(X, t, epochs=1, batches=2, progress=False)
    before_weights = weights(model)
    before = copy.deepcopy([vars(s) for _, _, s in model.parameter_schedulers])
    model.parameter_schedulers[-1][2].explode = True  # the last array updated: the output bias
    scores = model.fit(X, t, epochs=2, progress=False)
    assert "diverged" in capsys.readouterr().out and np.all(np.isnan(scores["train_error"]))
    assert_same_weights(weights(model), before_weights)
    after = [vars(s) for _, _, s in model.parameter_schedulers]
    for old, new in zip(before, after):
        assert old["t"] == new["t"]
        assert np.array_equal(old["moment"], new["moment"])
        assert np.array_equal(old["second"], new["second"])
    # and training continues normally once the scheduler behaves again
    model.parameter_schedulers[-1][2].explode = False
    assert np.all(np.isfinite(model.fit(X, t, epochs=1, progress=False)["train_error"]))