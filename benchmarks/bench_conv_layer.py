"""Convolution2DLayerOPT forward + backward against tf.nn.conv2d under tf.GradientTape.

Both compute the same thing on the same float32 batch: Z = cross-correlation(X, K) + b,
A = LRELU(Z), and, given dA, the gradients dX, dK and db. Shapes are the two conv layers
of the benchmark CNN (batch 50): 1 -> 8 maps on 28 x 28 and 8 -> 16 maps on 14 x 14,
3 x 3 kernels, "same" padding.

TensorFlow runs in its own layout (N, H, W, C), the one its CPU kernels are written for,
twice: compiled with tf.function (the fair reference: no Python per operation) and eager
(what a student typing the lines would get). The loop layer Convolution2DLayer is timed
too, on the same batch, to show what vectorising buys.

Run: .venv/bin/python benchmarks/bench_conv_layer.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _common import QUICK, best_time, best_times, header, ms, ratio_line

from course_utils.activations import LRELU, LRELU_SLOPE
from course_utils.fast_layers import Convolution2DLayerOPT
from course_utils.keras_models import tf
from course_utils.layers import Convolution2DLayer


def tf_step(X, K, b, dA):
    """Forward and backward of one conv layer in TensorFlow: (A, dX, dK, db)."""
    with tf.GradientTape() as tape:
        tape.watch(X)
        A = tf.nn.leaky_relu(tf.nn.conv2d(X, K, strides=1, padding="SAME") + b, alpha=LRELU_SLOPE)
    dX, dK, db = tape.gradient(A, [X, K, b], output_gradients=dA)
    return A, dX, dK, db


def compare(batch: int, channels: int, maps: int, size: int, rng) -> list[str]:
    X = rng.normal(size=(batch, channels, size, size)).astype(np.float32)
    dA = rng.normal(size=(batch, maps, size, size)).astype(np.float32)
    layer = Convolution2DLayerOPT(channels, maps, 3, 3, pad="same", act_func=LRELU, seed=0)
    loop_layer = Convolution2DLayer(channels, maps, 3, 3, pad="same", act_func=LRELU, seed=0)

    def ours(layer=layer):
        layer.forward(X)
        return layer.backward(dA)

    # TensorFlow gets the same numbers in its layout: kernel (kh, kw, C, F), images NHWC.
    kernel = layer.params["kernel"]  # (C, F, kh, kw)
    K = tf.Variable(np.ascontiguousarray(kernel.transpose(2, 3, 0, 1), dtype=np.float32))
    b = tf.Variable(layer.params["bias"].astype(np.float32))
    X_tf = tf.constant(X.transpose(0, 2, 3, 1))
    dA_tf = tf.constant(dA.transpose(0, 2, 3, 1))
    compiled = tf.function(tf_step)

    # Same results first: a fast wrong answer is worth nothing.
    A = layer.forward(X)
    dX = layer.backward(dA)
    A_tf, dX_tf, dK_tf, _ = compiled(X_tf, K, b, dA_tf)
    same = (
        np.allclose(A, A_tf.numpy().transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-4)
        and np.allclose(dX, dX_tf.numpy().transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-3)
        and np.allclose(layer.grads["kernel"], dK_tf.numpy().transpose(2, 3, 0, 1),
                        rtol=1e-4, atol=1e-2)
    )

    times = best_times({
        "ours": ours,
        "compiled": lambda: compiled(X_tf, K, b, dA_tf),
        "eager": lambda: tf_step(X_tf, K, b, dA_tf),
    })
    t_ours, t_compiled, t_eager = times["ours"], times["compiled"], times["eager"]
    small = slice(0, 2 if QUICK else 5)  # the loop layer is slow: time it on a few images
    X_small, dA_small = X[small], dA[small]

    def loop():
        loop_layer.forward(X_small)
        return loop_layer.backward(dA_small)

    t_loop = best_time(loop, repeat=2) * batch / X_small.shape[0]
    shape = f"N={batch}, {channels}->{maps} maps, {size}x{size}, 3x3"
    print(f"\n{shape}: same results as TensorFlow: {same}")
    print(f"  Convolution2DLayerOPT      {ms(t_ours)}")
    print(f"  tf.nn.conv2d tf.function   {ms(t_compiled)}")
    print(f"  tf.nn.conv2d eager         {ms(t_eager)}")
    print(f"  Convolution2DLayer (loops) {ms(t_loop)}  (extrapolated from {X_small.shape[0]} images)")
    sys.stdout.flush()
    return [
        ratio_line(f"conv layer fwd+bwd OPT / tf.nn.conv2d tf.function ({shape})",
                   t_ours / t_compiled),
        ratio_line(f"conv layer fwd+bwd OPT / tf.nn.conv2d eager ({shape})", t_ours / t_eager),
        ratio_line(f"conv layer fwd+bwd loop layer / OPT ({shape})", t_loop / t_ours),
    ]


def main() -> None:
    header("conv layer forward + backward vs tf.nn.conv2d under GradientTape (float32)")
    print(f"TensorFlow {tf.__version__}: intra-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default (all cores)'}")
    rng = np.random.default_rng(0)
    batch = 4 if QUICK else 50
    lines = compare(batch, 1, 8, 28, rng) + compare(batch, 8, 16, 14, rng)
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
