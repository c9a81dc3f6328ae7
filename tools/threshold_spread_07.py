"""Spread of notebook 07's trained-network checks over seeds, for setting their thresholds.

    OPENBLAS_CORETYPE=Sandybridge TF_ENABLE_ONEDNN_OPTS=0 \
        .venv/bin/python tools/threshold_spread_07.py 2024 1 2 3

Prints one JSON line per seed: the Keras test accuracy at (eta, lambda) = (0.1, 1e-5), the
grid's best cell, and at (0.1, 1e-2), and the from-scratch twin's test and training
accuracy at (0.1, 1e-5), as notebook 07 trains them (40 epochs, batches of 32).
"""

import json
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from sklearn.model_selection import train_test_split

from course_utils.activations import RELU, softmax
from course_utils.cnn import CNN
from course_utils.costs import CostCrossEntropy
from course_utils.data import load_digits, onehot
from course_utils.keras_models import train_cnn
from course_utils.schedulers import Constant

X_nchw, y = load_digits()
X = X_nchw.transpose(0, 2, 3, 1)
tr, te = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=2024)
for seed in map(int, sys.argv[1:]):
    row = {
        "seed": seed,
        "cfg": os.environ.get("OPENBLAS_CORETYPE", "")
        + "/"
        + os.environ.get("TF_ENABLE_ONEDNN_OPTS", ""),
    }
    for eta, lam in [(0.1, 1e-5), (0.1, 1e-2)]:
        model, hist = train_cnn(
            X[tr],
            y[tr],
            eta=eta,
            lam=lam,
            epochs=40,
            batch_size=32,
            seed=seed,
            X_test=X[te],
            y_test=y[te],
        )
        row[f"keras_{eta}_{lam}"] = float(hist["test_accuracy"][-1])
    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Constant(eta=0.1), seed=seed)
    cnn.add_Convolution2DLayer(
        input_channels=1,
        feature_maps=10,
        kernel_height=3,
        kernel_width=3,
        pad="same",
        act_func=RELU,
    )
    cnn.add_PoolingLayer(kernel_height=2, kernel_width=2, v_stride=2, h_stride=2)
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(50, act_func=RELU)
    cnn.add_OutputLayer(10, output_func=softmax)
    s = cnn.fit(
        X_nchw[tr],
        onehot(y[tr], 10),
        epochs=40,
        lam=2e-5,
        batches=math.ceil(len(tr) / 32),
        X_val=X_nchw[te],
        t_val=onehot(y[te], 10),
        progress=False,
    )
    row["scratch_test"] = float(s["val_acc"][-1])
    row["scratch_train"] = float(np.mean(cnn.predict(X_nchw[tr]).argmax(axis=1) == y[tr]))
    print(json.dumps(row), flush=True)
