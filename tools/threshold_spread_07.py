"""Spread of notebook 07's trained-network checks over seeds, for setting their thresholds.

    .venv/bin/python tools/threshold_spread_07.py 2024 1 2 3
    env $(.venv/bin/python tools/other_kernel.py) \
        .venv/bin/python tools/threshold_spread_07.py 2024 1 2 3

Uses notebook 07's split (stratified: 360 test images, then 360 validation images out of the
rest, both with random_state=2024; 1,077 training images) and its training (40 epochs,
batches of 32); the seed given sets the initial weights and the batch order. Prints one JSON
line per seed: for eta = 0.1 and each lambda of the good columns (1e-5, 1e-4, 1e-3) the
Keras validation and test accuracy (the grid picks one of these cells on validation), the
Keras validation accuracy at (0.1, 1e-2), the eta = 1 run (validation accuracy, largest
share of one predicted class, fraction of dead hidden units), and the from-scratch twin's
validation and training accuracy at (0.1, 1e-5).
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
from course_utils.keras_models import dead_units, train_cnn
from course_utils.schedulers import Constant

SPLIT_SEED = 2024
X_nchw, y = load_digits()
X = X_nchw.transpose(0, 2, 3, 1)
rest, te = train_test_split(np.arange(len(y)), test_size=360, stratify=y, random_state=SPLIT_SEED)
tr, va = train_test_split(rest, test_size=360, stratify=y[rest], random_state=SPLIT_SEED)


def accuracy(model, images, labels):
    return float(np.mean(np.asarray(model(images.astype("float32"))).argmax(axis=1) == labels))


for seed in map(int, sys.argv[1:]):
    row = {
        "seed": seed,
        "cfg": os.environ.get("OPENBLAS_CORETYPE", "")
        + "/"
        + os.environ.get("TF_ENABLE_ONEDNN_OPTS", ""),
    }
    for eta, lam in [(0.1, 1e-5), (0.1, 1e-4), (0.1, 1e-3), (0.1, 1e-2), (1.0, 1e-5)]:
        model, _ = train_cnn(X[tr], y[tr], eta=eta, lam=lam, epochs=40, batch_size=32, seed=seed)
        row[f"val_{eta}_{lam}"] = accuracy(model, X[va], y[va])
        if eta == 0.1 and lam < 1e-2:
            row[f"test_{eta}_{lam}"] = accuracy(model, X[te], y[te])
        if eta == 1.0:
            predicted = np.asarray(model(X[va].astype("float32"))).argmax(axis=1)
            top_count = np.bincount(predicted, minlength=10).max()
            row["eta1_top_class_share"] = float(top_count / len(va))
            row["eta1_dead"] = dead_units(model, X[tr])
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
        X_val=X_nchw[va],
        t_val=onehot(y[va], 10),
        progress=False,
    )
    row["scratch_val"] = float(s["val_acc"][-1])
    row["scratch_train"] = float(np.mean(cnn.predict(X_nchw[tr]).argmax(axis=1) == y[tr]))
    print(json.dumps(row), flush=True)
