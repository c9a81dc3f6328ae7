"""Spread of notebook 09's trained-network checks over seeds, for setting their thresholds.

    .venv/bin/python tools/threshold_spread_09.py 0 1 2
    env $(.venv/bin/python tools/other_kernel.py) .venv/bin/python tools/threshold_spread_09.py 0 1 2

Trains the networks of notebook 09 as its cells do (the same data, architectures and
budgets; only the seed of the weights and the shuffling changes), once per seed, and prints
one JSON line per seed: MNIST-1D test accuracies of logistic regression, the dense network
and the 1D CNN, plain and with the positions shuffled; the detectors' AUC and detection
probability at 1% false alarms (SNR 4 and 5) for the known chirp and the family; and, with
WHAT=all (default) the Keras twin's accuracy. Run it under two kernels (the second command
uses another OpenBLAS kernel and TensorFlow without oneDNN); a check in the notebook must sit
beyond the worst value seen, with room.
"""

import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

from course_utils import CNN, LRELU, Adam, CostCrossEntropy, softmax
from course_utils.data import load_mnist1d, onehot
from course_utils.signals import auc, detection_probability, make_chirps, roc_curve

KERNEL = next(
    (p.get("architecture") for p in threadpool_info() if p.get("internal_api") == "openblas"),
    None,
)
LENGTH, TEMPLATE_LENGTH, FAMILY = 128, 32, (0.15, 0.45)


def mnist1d_model(kind, seed):
    eta = {"logistic": 1e-2, "dense": 2e-3, "cnn": 1e-2}[kind]
    model = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=eta, rho=0.9, rho2=0.999), seed=seed)
    if kind == "cnn":
        model.add_Convolution1DLayer(1, 32, 5, stride=2, act_func=LRELU)
        model.add_Convolution1DLayer(32, 32, 5, stride=2, act_func=LRELU)
        model.add_Convolution1DLayer(32, 32, 5, stride=2, act_func=LRELU)
    model.add_FlattenLayer()
    if kind == "dense":
        model.add_FullyConnectedLayer(100)
        model.add_FullyConnectedLayer(100)
    model.add_OutputLayer(10, softmax)
    return model


def detector(seed):
    model = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=3e-3, rho=0.9, rho2=0.999), seed=seed)
    model.add_Convolution1DLayer(1, 8, 16, act_func=LRELU)
    model.add_Pooling1DLayer(4, 4)
    model.add_Convolution1DLayer(8, 16, 8, act_func=LRELU)
    model.add_Pooling1DLayer(4, 4)
    model.add_Convolution1DLayer(16, 16, 4, act_func=LRELU)
    model.add_Pooling1DLayer(LENGTH // 16)   # the largest response anywhere: a global max
    model.add_FlattenLayer()
    model.add_FullyConnectedLayer(16)
    model.add_OutputLayer(2, softmax)
    return model


def mnist1d_runs(seed, out):
    X_train, y_train, X_test, y_test = (a.astype(np.float32) if a.dtype.kind == "f" else a
                                        for a in load_mnist1d())
    permutation = np.random.default_rng(0).permutation(40)
    for shuffled in (False, True):
        order = permutation if shuffled else np.arange(40)
        for kind in ("logistic", "dense", "cnn"):
            model = mnist1d_model(kind, seed)
            model.fit(X_train[:, :, order], onehot(y_train, 10), epochs=15, batches=40,
                      progress=False)
            accuracy = np.mean(model.predict_proba(X_test[:, :, order]).argmax(1) == y_test)
            out[f"{kind}{'_shuffled' if shuffled else ''}"] = round(float(accuracy), 4)


def detector_runs(seed, out):
    for name, f_end in (("chirp", 0.25), ("family", FAMILY)):
        train = make_chirps(8000, length=LENGTH, snr=(3, 8), seed=1, template_length=TEMPLATE_LENGTH,
                            f_end=f_end)
        model = detector(seed)
        model.fit(train.X.astype(np.float32), onehot(train.y, 2), epochs=10, batches=80,
                  progress=False)
        for snr in (4, 5):
            test = make_chirps(4000, length=LENGTH, snr=snr, seed=100 + snr,
                               template_length=TEMPLATE_LENGTH, f_end=f_end)
            score = model.predict_proba(test.X.astype(np.float32))[:, 1]
            out[f"{name}_auc_snr{snr}"] = round(auc(*roc_curve(score, test.y)[:2]), 4)
            out[f"{name}_pd_snr{snr}"] = round(detection_probability(score, test.y, 0.01)[0], 4)


def keras_run(seed, out):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from course_utils.keras_models import keras

    X_train, y_train, X_test, y_test = load_mnist1d()
    keras.utils.set_random_seed(seed)
    leaky = keras.layers.LeakyReLU(negative_slope=0.001)
    twin = keras.Sequential([keras.Input((40, 1))] + [
        keras.layers.Conv1D(32, 5, strides=2, padding="same", activation=leaky,
                            kernel_initializer="he_normal") for _ in range(3)
    ] + [keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    twin.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                 loss="categorical_crossentropy", metrics=["accuracy"])
    twin.fit(X_train.transpose(0, 2, 1), onehot(y_train, 10), epochs=15, batch_size=100,
             verbose=0)
    accuracy = np.mean(twin.predict(X_test.transpose(0, 2, 1), verbose=0).argmax(1) == y_test)
    out["keras_cnn"] = round(float(accuracy), 4)


if __name__ == "__main__":
    what = os.environ.get("WHAT", "all")
    for seed in [int(s) for s in sys.argv[1:]] or [0]:
        out = {"seed": seed, "kernel": KERNEL,
               "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}
        start = time.perf_counter()
        if what in ("all", "mnist1d"):
            mnist1d_runs(seed, out)
        if what in ("all", "detection"):
            detector_runs(seed, out)
        if what in ("all", "keras"):
            keras_run(seed, out)
        out["seconds"] = round(time.perf_counter() - start)
        print(json.dumps(out), flush=True)
