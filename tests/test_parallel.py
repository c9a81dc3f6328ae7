"""parallel: fit(parallel=True) splits batches over two threads exactly; chunked prediction."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest
from cnn_helpers import assert_same_weights, small_model, weights
from threadpoolctl import threadpool_limits

from course_utils import cnn as cnn_module
from course_utils import parallel
from course_utils.activations import identity, sigmoid, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostOLS
from course_utils.schedulers import Adam


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_predict_in_chunks_equals_one_big_forward(fitted, data, monkeypatch):
    (X, _, _), _ = data
    whole = fitted.predict_proba(X)
    monkeypatch.setattr(parallel, "PREDICT_BATCH_SIZE", 5)
    passes = parallel.Passes(fitted.layers, split=True)
    in_chunks = passes.forward(cnn_module.forward, X)  # 13 chunks: 7 here, 6 on the worker
    passes.close()
    np.testing.assert_allclose(in_chunks, whole, rtol=1e-12, atol=1e-15)
    # the same chunks, all on this thread: bit for bit the same numbers
    one_thread = [cnn_module.forward(fitted.layers, X[i : i + 5]) for i in range(0, len(X), 5)]
    np.testing.assert_array_equal(np.concatenate(one_thread), in_chunks)


def test_a_cost_of_your_own_keeps_batches_whole(data, monkeypatch):
    # a cost that is not a mean over images would make the halves' gradients combine wrongly
    (X, t, _), _ = data

    def summed_cross_entropy(target):
        return lambda p: -np.sum(target * np.log(p))

    start = parallel.SecondHalf.start
    sent = []

    def no_split(self, func, *args):
        assert func is not cnn_module.forward_backward, "a batch was split with your own cost"
        sent.append(func)
        return start(self, func, *args)

    monkeypatch.setattr(parallel.SecondHalf, "start", no_split)
    monkeypatch.setattr(parallel, "PREDICT_BATCH_SIZE", 16)  # 4 chunks of validation images
    model = CNN(summed_cross_entropy, Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=0)
    model.add_FlattenLayer()
    model.add_OutputLayer(2, softmax)
    scores = model.fit(X, t, epochs=2, batches=1, X_val=X, t_val=t, progress=False,
                       parallel=True)
    assert np.all(np.isfinite(scores["train_error"]))
    assert sent == []  # nothing ran on a worker thread
    np.testing.assert_array_equal(scores["val_error"][-1], summed_cross_entropy(t)(
        model.predict_proba(X)))


def test_by_default_and_with_parallel_false_batches_stay_whole_on_this_thread(data, monkeypatch):
    (X, t, _), _ = data

    def no_worker(*args):
        raise AssertionError("parallel=False used the worker thread")

    monkeypatch.setattr(parallel.SecondHalf, "start", no_worker)
    model = small_model(seed=3)
    assert np.all(np.isfinite(model.fit(X, t, epochs=1, parallel=False, progress=False)[
        "train_error"]))
    assert np.all(np.isfinite(model.fit(X, t, epochs=1, X_val=X, t_val=t, progress=False)[
        "val_error"]))
    before = weights(model)
    with pytest.raises(TypeError, match="parallel must be True or False, got 'no'"):
        model.fit(X, t, epochs=1, parallel="no", progress=False)
    with pytest.raises(TypeError, match="progress must be True or False, got 1"):
        model.fit(X, t, epochs=1, progress=1)
    assert_same_weights(weights(model), before)


def test_on_one_core_the_halves_run_one_after_the_other_with_the_same_numbers(data, monkeypatch):
    (X, t, _), (X_val, t_val, _) = data
    two_cores = small_model(seed=4).fit(X, t, epochs=2, batches=2, X_val=X_val, t_val=t_val,
                                        progress=False, parallel=True)

    def no_thread(*args, **kwargs):
        raise AssertionError("a worker thread was started on one core")

    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    monkeypatch.setattr(parallel, "ThreadPoolExecutor", no_thread)
    monkeypatch.setattr(parallel, "PREDICT_BATCH_SIZE", 8)  # validation in 4 chunks
    one_core = small_model(seed=4).fit(X, t, epochs=2, batches=2, X_val=X_val, t_val=t_val,
                                       progress=False, parallel=True)
    monkeypatch.undo()
    for key in cnn_module.SCORE_KEYS:
        np.testing.assert_array_equal(one_core[key], two_cores[key])


def test_split_and_whole_batches_train_the_same_model():
    # Sigmoid layers and a regression output are differentiated by autograd, on both threads
    # at once when batches are split; 80 steps later the weights must agree to rounding.
    rng = np.random.default_rng(0)
    X, t = rng.normal(size=(256, 1, 8, 8)), rng.normal(size=(256, 3))

    def regression_model():
        model = CNN(CostOLS, Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=1)
        model.add_Convolution2DLayer(1, 4, 3, 3, act_func=sigmoid)
        model.add_PoolingLayer(2, 2, 2, 2, "average")
        model.add_FlattenLayer()
        model.add_FullyConnectedLayer(16, sigmoid)
        model.add_OutputLayer(3, identity)
        return model

    split = regression_model()
    split_scores = split.fit(X, t, epochs=20, batches=4, progress=False, parallel=True)
    whole = regression_model()
    whole_scores = whole.fit(X, t, epochs=20, batches=4, parallel=False, progress=False)
    np.testing.assert_allclose(split_scores["train_error"], whole_scores["train_error"], rtol=1e-9)
    for a, b in zip(weights(split), weights(whole)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    assert whole_scores["train_error"][-1] < whole_scores["train_error"][0]



def test_fit_runs_numpys_blas_on_one_thread(data, monkeypatch):
    (X, t, _), _ = data
    from threadpoolctl import threadpool_info

    # NumPy's BLAS: what a fresh interpreter has loaded after importing numpy alone
    code = ("import numpy, threadpoolctl; print([pool['filepath'] for pool in "
            "threadpoolctl.threadpool_info() if pool['user_api'] == 'blas'])")
    numpys = ast.literal_eval(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                             text=True, check=True).stdout)
    assert numpys

    def numpys_blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["filepath"] in numpys]

    seen = []
    original = cnn_module.forward  # every forward pass of fit: training steps and validation

    def forward_noting_threads(layers, X):
        seen.append(numpys_blas_threads())
        return original(layers, X)

    monkeypatch.setattr(cnn_module, "forward", forward_noting_threads)
    with threadpool_limits(limits=2, user_api="blas"):  # more than one outside fit
        small_model().fit(X, t, epochs=2, batches=2, X_val=X, t_val=t, progress=False)
        assert numpys_blas_threads() == [2]  # the limit is lifted again after fit
    assert len(seen) == 6 and all(threads == [1] for threads in seen)  # steps and validation
