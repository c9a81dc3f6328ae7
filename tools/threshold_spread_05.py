"""Spread of notebook 05's trained-network checks over seeds, for setting their thresholds.

    OPENBLAS_CORETYPE=Sandybridge TF_ENABLE_ONEDNN_OPTS=0 \
        .venv/bin/python tools/threshold_spread_05.py 2023 1 2 3 4 5

Trains notebook 05's networks as its cells do (same split, same settings), once per seed,
and prints one JSON line per seed: held-out accuracy of our digit CNN (`ours`), of its Keras
twin (`keras`), of the lecture's untraditional network (`odd`) and of the 3-versus-8 network
(`binary`). Run it under two or more kernels (tools/other_kernel.py names one); a check in
the notebook must sit below the worst value seen, with room. WHAT=ours,keras limits the run.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_info

from course_utils import CNN, LRELU, Adam, CostCrossEntropy, CostLogReg, sigmoid, softmax
from course_utils.activations import LRELU_SLOPE
from course_utils.data import load_mnist, onehot

# the lecture's untraditional network, as the tests build it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from cnn_helpers import lecture_untraditional_cnn as odd_cnn

X, y = load_mnist()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=4000, test_size=1000, stratify=y, random_state=2023
)
t_train = onehot(y_train, 10, dtype=np.float32)
t_test = onehot(y_test, 10, dtype=np.float32)
# The kernel numpy's OpenBLAS runs; read by name, since TensorFlow adds thread pools of its own.
KERNEL = next(
    (
        pool.get("architecture")
        for pool in threadpool_info()
        if pool.get("internal_api") == "openblas"
    ),
    None,
)


def digit_cnn(seed):
    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=2e-3, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution2DLayer(
        input_channels=1, feature_maps=16, kernel_height=3, kernel_width=3, act_func=LRELU
    )
    cnn.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2, pooling="max")
    cnn.add_Convolution2DLayer(
        input_channels=16, feature_maps=32, kernel_height=3, kernel_width=3, act_func=LRELU
    )
    cnn.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2, pooling="max")
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(128, LRELU)
    cnn.add_OutputLayer(10, softmax)
    return cnn


what = os.environ.get("WHAT", "ours,keras,odd,binary").split(",")
for seed in map(int, sys.argv[1:]):
    row = {
        "seed": seed,
        "kernel": KERNEL,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
        + "/"
        + os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
    }
    if "ours" in what:
        cnn = digit_cnn(seed)
        s = cnn.fit(
            X_train, t_train, epochs=10, batches=80, X_val=X_test, t_val=t_test, progress=False
        )
        row["ours"] = float(np.mean(cnn.predict(X_test).argmax(axis=1) == y_test))
        row["ours_train"] = float(np.mean(cnn.predict(X_train).argmax(axis=1) == y_train))
    if "keras" in what:
        from course_utils.keras_models import keras

        keras.utils.set_random_seed(seed)
        leaky = lambda: keras.layers.LeakyReLU(negative_slope=LRELU_SLOPE)
        m = keras.Sequential(
            [
                keras.Input(shape=(28, 28, 1)),
                keras.layers.Conv2D(16, 3, padding="same", kernel_initializer="he_normal"),
                leaky(),
                keras.layers.MaxPooling2D(pool_size=2, strides=2),
                keras.layers.Conv2D(32, 3, padding="same", kernel_initializer="he_normal"),
                leaky(),
                keras.layers.MaxPooling2D(pool_size=2, strides=2),
                keras.layers.Flatten(),
                keras.layers.Dense(128, kernel_initializer="he_normal"),
                leaky(),
                keras.layers.Dense(10, activation="softmax", kernel_initializer="glorot_normal"),
            ]
        )
        m.compile(
            optimizer=keras.optimizers.Adam(
                learning_rate=2e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8
            ),
            loss="categorical_crossentropy",
        )
        Xk, Xtk = X_train.transpose(0, 2, 3, 1), X_test.transpose(0, 2, 3, 1)
        m.fit(Xk, t_train, epochs=10, batch_size=50, shuffle=True, verbose=0)
        row["keras"] = float(np.mean(m.predict(Xtk, verbose=0).argmax(axis=1) == y_test))
    if "odd" in what:
        odd = odd_cnn(seed)
        s = odd.fit(
            X_train, t_train, epochs=10, batches=80, X_val=X_test, t_val=t_test, progress=False
        )
        row["odd"] = float(s["val_acc"][-1])
    if "binary" in what:
        tr, te = np.isin(y_train, (3, 8)), np.isin(y_test, (3, 8))
        b = CNN(cost_func=CostLogReg, scheduler=Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=seed)
        b.add_Convolution2DLayer(input_channels=1, feature_maps=8, kernel_height=3, kernel_width=3)
        b.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2)
        b.add_FlattenLayer()
        b.add_FullyConnectedLayer(32, LRELU)
        b.add_OutputLayer(1, sigmoid)
        b.fit(
            X_train[tr],
            (y_train[tr] == 8).astype(np.float32).reshape(-1, 1),
            epochs=5,
            batches=16,
            progress=False,
        )
        row["binary"] = float(np.mean(b.predict(X_test[te]) == (y_test[te] == 8).reshape(-1, 1)))
    print(json.dumps(row), flush=True)
