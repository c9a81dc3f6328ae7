"""Spread of notebook 05's trained-network checks over seeds, for setting their thresholds.

    OPENBLAS_CORETYPE=Sandybridge TF_ENABLE_ONEDNN_OPTS=0 \
        .venv/bin/python tools/threshold_spread_05.py 2023 1 2 3 4 5

Trains notebook 05's networks as its cells do (same split, same settings), once per seed,
and prints one JSON line per seed: for our digit CNN its validation and test accuracy
(`ours_val`, `ours_test`) and the share of validation predictions that one- and two-pixel
shifts change (`shift1`, `shift2`); the validation accuracy of its Keras twin (`keras_val`);
the validation error rates of the Keras twin trained on 500, 1,000 and 2,000 images
(`sweep_error`, the 3,500-image twin is `keras_val`); the 3-versus-8 network's validation
and test accuracy (`binary_val`, `binary_test`). Run it under two or more kernels
(tools/other_kernel.py names one); a check in the notebook must sit below the worst value
seen, with room. WHAT=ours,keras limits the run (the sweep needs keras).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from threadpoolctl import threadpool_info

from course_utils import CNN, LRELU, Adam, CostCrossEntropy, CostLogReg, sigmoid, softmax
from course_utils.activations import LRELU_SLOPE
from course_utils.data import load_mnist, onehot, shift_images, train_val_test_split

X, y = load_mnist()
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(X, y, 3500, 500, 1000, seed=2023)
t_train = onehot(y_train, 10, dtype=np.float32)
t_val = onehot(y_val, 10, dtype=np.float32)
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


def predictions_changed(cnn, pixels):
    before = cnn.predict(X_val).argmax(axis=1)
    moves = [(pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels)]
    return float(np.mean([np.mean(cnn.predict(shift_images(X_val, dy, dx)).argmax(axis=1) != before)
                          for dy, dx in moves]))


def keras_twin(seed, size):
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
        optimizer=keras.optimizers.Adam(learning_rate=2e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8),
        loss="categorical_crossentropy",
    )
    Xk, Xvk = X_train.transpose(0, 2, 3, 1), X_val.transpose(0, 2, 3, 1)
    m.fit(Xk[:size], t_train[:size], epochs=10, batch_size=50, shuffle=True, verbose=0)
    return float(np.mean(m.predict(Xvk, verbose=0).argmax(axis=1) == y_val))


what = os.environ.get("WHAT", "ours,keras,binary").split(",")
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
        cnn.fit(X_train, t_train, epochs=10, batches=70, X_val=X_val, t_val=t_val, progress=False)
        row["ours_val"] = float(np.mean(cnn.predict(X_val).argmax(axis=1) == y_val))
        row["ours_test"] = float(np.mean(cnn.predict(X_test).argmax(axis=1) == y_test))
        row["shift1"], row["shift2"] = predictions_changed(cnn, 1), predictions_changed(cnn, 2)
    if "keras" in what:
        row["keras_val"] = keras_twin(seed, len(X_train))
        row["sweep_error"] = [1 - keras_twin(seed, size) for size in (500, 1000, 2000)]
    if "binary" in what:
        tr, va, te = (np.isin(labels, (3, 8)) for labels in (y_train, y_val, y_test))
        b = CNN(cost_func=CostLogReg, scheduler=Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=seed)
        b.add_Convolution2DLayer(input_channels=1, feature_maps=8, kernel_height=3, kernel_width=3)
        b.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2)
        b.add_FlattenLayer()
        b.add_FullyConnectedLayer(32, LRELU)
        b.add_OutputLayer(1, sigmoid)
        b.fit(X_train[tr], (y_train[tr] == 8).astype(np.float32).reshape(-1, 1),
              epochs=5, batches=14, progress=False)
        row["binary_val"] = float(np.mean(b.predict(X_val[va]) == (y_val[va] == 8).reshape(-1, 1)))
        row["binary_test"] = float(np.mean(b.predict(X_test[te]) == (y_test[te] == 8).reshape(-1, 1)))
    print(json.dumps(row), flush=True)
