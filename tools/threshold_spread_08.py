"""Spread of notebook 08's trained-network checks over seeds, for setting their thresholds.

    OPENBLAS_CORETYPE=Sandybridge .venv/bin/python tools/threshold_spread_08.py 0 1 2 3 4

Generates notebook 08's data (the sampler is bit-reproducible, so this part is the same
everywhere), trains its from-scratch CNN as its cells do, once per seed and lattice size,
and prints one JSON line per (seed, L): the T_c estimate and its bootstrap error, its
relative distance to Onsager's T_c, held-out accuracy away from (T < 2 or T > 2.5) and
inside the critical region, and how far the unsymmetrised output moves under s -> -s.
With WHAT=keras it trains the notebook's Keras twin (course_utils.keras_models.build_ising_cnn)
for L = 32 instead. PAD=same trains with zero padding, WINDOW=2.2,2.35 with another training
window (T < 2.2 ordered, T > 2.35 disordered): notebook 08's questions 2 and 4, answered in
docs/instructor/08_ising_phases.md. Run it under two or more kernels (tools/other_kernel.py names one, and
TF_ENABLE_ONEDNN_OPTS=0 for Keras); a check in the notebook must sit beyond the worst value
seen, with room.
"""

import json
import os
import sys

import numpy as np
from threadpoolctl import threadpool_info

from course_utils import CNN, LRELU, Adam, CostCrossEntropy, softmax
from course_utils.data import onehot
from course_utils.ising import T_C, bootstrap_crossing, sample_configurations

TEMPERATURES = np.round(np.linspace(1.0, 3.5, 26), 2)
CHAINS, PER_CHAIN = 20, 15
KERNEL = next(
    (p.get("architecture") for p in threadpool_info() if p.get("internal_api") == "openblas"),
    None,
)


def data(L):
    spins, T = sample_configurations(
        L, TEMPERATURES, CHAINS * PER_CHAIN, chains_per_temperature=CHAINS,
        equilibration=200, sweeps_between=20, seed=L,
    )
    chain = np.arange(len(T)) // PER_CHAIN % CHAINS
    return spins[:, None].astype(np.float32), T, chain


PAD = os.environ.get("PAD", "circular")
LOW, HIGH = (float(t) for t in os.environ.get("WINDOW", "2.0,2.5").split(","))


def ising_cnn(L, seed):
    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=3e-3, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution2DLayer(input_channels=1, feature_maps=4, kernel_height=3, kernel_width=3,
                               pad=PAD, act_func=LRELU)
    cnn.add_PoolingLayer(kernel_height=L // 4, kernel_width=L // 4, v_stride=L // 4,
                         h_stride=L // 4, pooling="average")
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(16, LRELU)
    cnn.add_OutputLayer(2, softmax)
    return cnn


def run(L, X, T, chain, seed):
    ordered = (T < T_C).astype(int)
    far = (T < 2.0) | (T > 2.5)
    train, test = ((T < LOW) | (T > HIGH)) & (chain < 15), chain >= 15
    X_train = np.concatenate([X[train], -X[train]])
    y_train = np.concatenate([ordered[train], ordered[train]])
    order = np.random.default_rng(seed).permutation(len(y_train))
    cnn = ising_cnn(L, seed)
    cnn.fit(X_train[order], onehot(y_train[order], 2, dtype=np.float32), epochs=3,
            batches=len(order) // 64)
    raw = cnn.predict_proba(X)[:, 1]
    flipped = cnn.predict_proba(-X)[:, 1]
    p = (raw + flipped) / 2
    estimate, error = bootstrap_crossing(TEMPERATURES, p.reshape(len(TEMPERATURES), CHAINS, PER_CHAIN))
    correct = (p > 0.5) == ordered
    return {
        "kernel": KERNEL, "pad": PAD, "window": [LOW, HIGH], "seed": seed, "L": L, "tc": round(estimate, 4), "tc_error": round(error, 4),
        "relative": round(estimate / T_C - 1, 4),
        "acc_far": round(float(correct[test & far].mean()), 4),
        "acc_near": round(float(correct[test & ~far].mean()), 4),
        "flip_mean": round(float(np.abs(raw - flipped).mean()), 4),
    }


def run_keras(X, T, chain, seed):
    from course_utils.keras_models import build_ising_cnn

    ordered = (T < T_C).astype(int)
    far = (T < 2.0) | (T > 2.5)
    train, test = far & (chain < 15), chain >= 15
    X_keras = X.transpose(0, 2, 3, 1)
    X_train = np.concatenate([X_keras[train], -X_keras[train]])
    y_train = np.concatenate([ordered[train], ordered[train]])
    model = build_ising_cnn(X.shape[2], seed=seed)
    model.fit(X_train, np.eye(2, dtype=np.float32)[y_train], epochs=3, batch_size=64, verbose=0)
    p = (model.predict(X_keras, verbose=0)[:, 1] + model.predict(-X_keras, verbose=0)[:, 1]) / 2
    estimate, error = bootstrap_crossing(TEMPERATURES, p.reshape(len(TEMPERATURES), CHAINS, PER_CHAIN))
    correct = (p > 0.5) == ordered
    return {
        "kernel": KERNEL, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        "seed": seed, "L": X.shape[2], "keras_tc": round(estimate, 4),
        "tc_error": round(error, 4), "relative": round(estimate / T_C - 1, 4),
        "acc_far": round(float(correct[test & far].mean()), 4),
        "acc_near": round(float(correct[test & ~far].mean()), 4),
    }


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1:]] or [0]
    if os.environ.get("WHAT") == "keras":
        X, T, chain = data(32)
        for seed in seeds:
            print(json.dumps(run_keras(X, T, chain, seed)), flush=True)
        sys.exit(0)
    for L in (16, 32):
        X, T, chain = data(L)
        for seed in seeds:
            print(json.dumps(run(L, X, T, chain, seed)), flush=True)
