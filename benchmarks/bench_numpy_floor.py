"""How fast can numpy run the notebooks' training step at all? Two measurements for issue 34.

1. A fused step. The network of bench_cnn_epoch.py written as ONE function with every
   trick that numpy allows and our layered code does not use: no layer objects, shells
   or caches; im2col in "whole rows" (one contiguous run per kernel tap); max pooling
   taken on Z before the activation (max commutes with a non-decreasing activation), so
   LRELU and its derivative touch a quarter of the pixels; the pooling's gradient written
   straight into the rows layout that the convolution's backward reads. It computes the
   same gradients as course_utils (checked below, float32 tolerance) and is timed against
   `cnn.forward_backward` on the same batch, interleaved. It is a measuring stick, not
   code the course uses: it knows one architecture only.

2. Two threads. One half-batch pass (`forward_backward` on 25 images) alone, beside a
   thread doing the same on the other half (what fit(parallel=True) does), and beside a
   thread doing only matrix products (no Python between them). If the second thread
   slows the first because both need the cores or the memory, both neighbours slow it;
   if it is the GIL (every numpy call starts and ends in Python), only the first does.

Run: .venv/bin/python benchmarks/bench_numpy_floor.py     (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import copy
import threading

import numpy as np
from _common import QUICK, best_times, header, ratio_line
from bench_cnn_epoch import BATCH, mnist_subset, our_cnn
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import threadpool_limits

from course_utils.activations import LRELU
from course_utils.cnn import forward_backward
from course_utils.fast_layers import activation_backward, activation_forward, max_pool_forward


def row_columns(X_padded: np.ndarray, out_h: int) -> np.ndarray:
    """im2col of a 3x3 stride-1 convolution, whole rows: (N, C, Hp + 1, Wp) ->
    (N, 9C, out_h * Wp); tap (a, b) is one contiguous run from a * Wp + b."""
    n, c, _, wp = X_padded.shape
    s = X_padded.strides
    runs = as_strided(X_padded, (n, c, 3, 3, out_h * wp), (s[0], s[1], s[2], s[3], s[3]),
                      writeable=False)
    return runs.reshape(n, c * 9, out_h * wp)


def unpool_2x2(dP: np.ndarray, argmax: np.ndarray, out: np.ndarray) -> None:
    """Each window's gradient to its first maximum (argmax from max_pool_forward), written
    into the view `out` instead of a new array as max_pool_backward does."""
    views = (out[:, :, 0::2, 0::2], out[:, :, 0::2, 1::2], out[:, :, 1::2, 0::2],
             out[:, :, 1::2, 1::2])
    for offset, view in enumerate(views):
        np.multiply(dP, argmax == offset, out=view)


def lrelu(Z: np.ndarray) -> np.ndarray:
    return activation_forward(Z, LRELU)[0]


def lrelu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    return activation_backward(dA, (Z, LRELU))


def conv_pool(A_in: np.ndarray, kernel: np.ndarray, bias: np.ndarray):
    """3x3 "same" convolution + bias, then 2x2 max pooling, then LRELU."""
    n, c, h, w = A_in.shape
    X_padded = np.zeros((n, c, h + 3, w + 2), np.float32)  # 1 + 1 padding, 1 spare row
    X_padded[:, :, 1 : h + 1, 1 : w + 1] = A_in
    cols = row_columns(X_padded, h)
    kernel_matrix = kernel.transpose(1, 0, 2, 3).reshape(kernel.shape[1], -1)
    Z = np.matmul(kernel_matrix, cols)
    Z += bias[:, None]
    # fast_layers' own max pooling, on the view of Z without the junk columns: it keeps
    # each window's first maximum as an offset 0-3, which unpool_2x2 reads
    pooled, (argmax, *_) = max_pool_forward(Z.reshape(n, -1, h, w + 2)[..., :w], 2, 2, 2, 2)
    return lrelu(pooled), (cols, pooled, argmax, A_in.shape)


def conv_pool_backward(dA: np.ndarray, kernel: np.ndarray, cache, input_gradient: bool):
    cols, pooled, argmax, (n, c, h, w) = cache
    features = kernel.shape[1]
    dZ_rows = np.zeros((n, features, h, w + 2), np.float32)
    unpool_2x2(lrelu_backward(dA, pooled), argmax, dZ_rows[..., :w])
    dZ_rows = dZ_rows.reshape(n, features, -1)
    dkernel = np.matmul(dZ_rows, cols.transpose(0, 2, 1)).sum(axis=0)
    dkernel = dkernel.reshape(features, c, 3, 3).transpose(1, 0, 2, 3)
    dbias = dZ_rows.sum(axis=(0, 2))
    if not input_gradient:
        return None, dkernel, dbias
    dX = np.zeros((n, c, (h + 3) * (w + 2)), np.float32)
    length = h * (w + 2)
    for a in range(3):
        for b in range(3):
            start = a * (w + 2) + b
            dX[:, :, start : start + length] += np.matmul(kernel[:, :, a, b], dZ_rows)
    return dX.reshape(n, c, h + 3, w + 2)[:, :, 1 : h + 1, 1 : w + 1], dkernel, dbias


def fused_step(params: dict, X: np.ndarray, t: np.ndarray):
    """Prediction and gradients of the whole network on one batch, in one function."""
    A1, cache1 = conv_pool(X, params["k1"], params["b1"])
    A2, cache2 = conv_pool(A1, params["k2"], params["b2"])
    flat = A2.reshape(len(X), -1)
    Z3 = flat @ params["w3"]
    Z3 += params["b3"]
    A3 = lrelu(Z3)
    Z4 = A3 @ params["w4"]
    Z4 += params["b4"]
    Z4 -= Z4.max(axis=1, keepdims=True)
    prediction = np.exp(Z4)
    prediction /= prediction.sum(axis=1, keepdims=True)
    d4 = (prediction - t) / np.float32(len(X))
    grads = {"w4": A3.T @ d4, "b4": d4.sum(axis=0)}
    dZ3 = lrelu_backward(d4 @ params["w4"].T, Z3)
    grads.update(w3=flat.T @ dZ3, b3=dZ3.sum(axis=0))
    dA2 = (dZ3 @ params["w3"].T).reshape(A2.shape)
    dA1, grads["k2"], grads["b2"] = conv_pool_backward(dA2, params["k2"], cache2, True)
    _, grads["k1"], grads["b1"] = conv_pool_backward(dA1, params["k1"], cache1, False)
    return prediction, grads


NAMES = {"k1": (0, "kernel"), "b1": (0, "bias"), "k2": (2, "kernel"), "b2": (2, "bias"),
         "w3": (5, "weights"), "b3": (5, "bias"), "w4": (6, "weights"), "b4": (6, "bias")}


def main() -> None:
    header("what numpy allows: a fused training step, and two threads (issue 34)")
    X, t = mnist_subset()
    X, t = X[:BATCH], t[:BATCH]
    cnn = our_cnn()
    cnn.fit(X, t, epochs=1, batches=1, progress=False)  # creates the weights
    params = {name: cnn.layers[i].params[key].astype(np.float32)
              for name, (i, key) in NAMES.items()}
    with threadpool_limits(limits=1, user_api="blas"):
        forward_backward(cnn.layers, X, t)
        _, fused = fused_step(params, X, t)
        for name, (i, key) in NAMES.items():
            ours = cnn.layers[i].grads[key]
            scale = np.abs(ours).max() or 1.0
            if not np.allclose(fused[name], ours, rtol=1e-3, atol=1e-4 * scale):
                raise AssertionError(f"fused step's gradient {name} differs from course_utils'")
        print(f"  the fused step's gradients equal course_utils' (float32 tolerance), "
              f"batch of {BATCH}")

        times = best_times({
            "course_utils forward_backward": lambda: forward_backward(cnn.layers, X, t),
            "fused numpy step": lambda: fused_step(params, X, t),
        }, rounds=15, budget=20.0)
        for name, seconds in times.items():
            print(f"  {name:34s} {seconds * 1e3:7.3f} ms per batch of {BATCH}")
        print(ratio_line("training step, fused numpy / course_utils (one thread)",
                         times["fused numpy step"] / times["course_utils forward_backward"]))

        half = BATCH // 2
        layers_twin = [copy.copy(layer) for layer in cnn.layers]
        slowdown = {}
        for neighbour in ("none", "the other half's pass", "matrix products only"):
            stop = threading.Event()

            def work(neighbour=neighbour, stop=stop):
                a = np.ones((256, 256), np.float32)
                while not stop.is_set():
                    if neighbour == "the other half's pass":
                        forward_backward(layers_twin, X[half:], t[half:])
                    else:
                        a @ a
            thread = None if neighbour == "none" else threading.Thread(target=work)
            if thread:
                thread.start()
            try:
                seconds = best_times({"half": lambda: forward_backward(cnn.layers, X[:half],
                                                                       t[:half])},
                                     rounds=7, budget=5.0)["half"]
            finally:
                stop.set()
                if thread:
                    thread.join()
            slowdown[neighbour] = seconds
            print(f"  half-batch pass ({half} images), neighbour thread: {neighbour:24s} "
                  f"{seconds * 1e3:7.3f} ms")
    alone = slowdown["none"]
    print(ratio_line("half-batch pass beside the other half's pass / alone (GIL hand-overs)",
                     slowdown["the other half's pass"] / alone))
    print(ratio_line("half-batch pass beside a matrix-product thread / alone (cores, memory)",
                     slowdown["matrix products only"] / alone))
    if QUICK:
        print("  (quick mode: numbers not meaningful)")


if __name__ == "__main__":
    main()
