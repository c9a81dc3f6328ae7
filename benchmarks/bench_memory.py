"""Peak memory of one training step of the benchmark CNN, against its im2col buffer.

A vectorised convolution pays for its speed with memory: im2col copies every window, so
its buffer holds kh*kw times the layer's input. The goal is that one training step
(forward, backward, Adam update, on a batch of 50) needs no more than a few such buffers
at its peak: nothing else may keep big temporaries alive.

Measured with tracemalloc, which sees every NumPy array allocation (NumPy reports its
data buffers to it). The peak is taken above what was allocated before the step (model
weights, data), so it is the step's own working memory. The whole epoch (40 steps plus
the per-epoch scoring on all 2,000 images) is measured too.

Run: .venv/bin/python benchmarks/bench_memory.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from _common import QUICK, header, ratio_line
from bench_cnn_epoch import BATCH, N_IMAGES, our_cnn
from course_utils.data import load_mnist, onehot

MB = 2**20


def im2col_bytes(batch: int, channels: int, kernel: int, size: int, itemsize: int = 4) -> int:
    """Bytes of the (N, C*kh*kw, H*W) im2col buffer of a 'same' conv on size x size images."""
    return batch * channels * kernel * kernel * size * size * itemsize


def peak_above_baseline(func) -> int:
    """Peak traced bytes while func() runs, minus what was allocated before it started."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        func()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def main() -> None:
    header("peak memory of one training step (tracemalloc), float32")
    X, labels = load_mnist(dtype=np.float32)
    X, labels = X[:N_IMAGES], labels[:N_IMAGES]
    t = onehot(labels, 10).astype(np.float32)
    cnn = our_cnn()
    X_step, t_step = X[:BATCH], t[:BATCH]
    cnn.fit(X_step, t_step, epochs=1, batches=1, progress=False)  # warm-up: lazily built state

    step = peak_above_baseline(lambda: cnn.fit(X_step, t_step, epochs=1, batches=1, progress=False))
    epoch = peak_above_baseline(
        lambda: cnn.fit(X, t, epochs=1, batches=N_IMAGES // BATCH, progress=False)
    )
    # The two conv layers: 1 -> 8 maps on 28x28 and 8 -> 16 maps on 14x14, 3x3 kernels.
    buffers = {"conv 1": im2col_bytes(BATCH, 1, 3, 28), "conv 2": im2col_bytes(BATCH, 8, 3, 14)}
    largest = max(buffers.values())
    batch_bytes = X_step.nbytes
    for name, size in buffers.items():
        print(f"  im2col buffer {name} (batch {BATCH}): {size / MB:7.2f} MiB")
    print(f"  input batch ({BATCH} images):        {batch_bytes / MB:7.2f} MiB")
    print(f"  peak of one training step:        {step / MB:7.2f} MiB")
    print(f"  peak of one epoch ({N_IMAGES} images, scores incl.): {epoch / MB:7.2f} MiB")
    print()
    print(ratio_line(f"memory peak of one training step / largest im2col buffer (batch {BATCH})",
                     step / largest, 4.0))
    print(ratio_line(f"memory peak of one epoch / largest im2col buffer (batch {BATCH})",
                     epoch / largest, 4.0 if not QUICK else None))


if __name__ == "__main__":
    main()
