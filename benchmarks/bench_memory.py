"""Peak memory of one training step of the benchmark CNN, against its im2col buffer.

A vectorised convolution pays for its speed with memory: im2col copies every window, so
its buffer holds kh*kw times the layer's input. The goal is that one training step
(forward, backward, Adam update, on a batch of 50) needs no more than a few such buffers
at its peak: nothing else may keep big temporaries alive.

Measured with tracemalloc, which sees every NumPy array allocation (NumPy reports its
data buffers to it). The peak is taken above what was allocated before the step (model
weights, data), so it is the step's own working memory. The step runs as fit runs it: the
batch split in two halves, on two threads at the same time (their buffers are alive at
once, together about one whole batch's). The whole epoch (40 steps) is measured too.

Run: .venv/bin/python benchmarks/bench_memory.py   (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import tracemalloc

from _common import header, ratio_line
from bench_cnn_epoch import BATCH, N_IMAGES, mnist_subset, our_cnn

MB = 2**20


def im2col_bytes(batch: int, channels: int, kernel: int, size: int, itemsize: int = 4) -> int:
    """Bytes of the (N, C*kh*kw, H*W) im2col buffer of a 'same' conv on size x size images."""
    return batch * channels * kernel * kernel * size * size * itemsize


def traced_peaks(func, warm_up) -> tuple[int, int]:
    """(peak of func() above the memory before warm_up(), peak above the start of func()).

    Tracing starts before warm_up() (e.g. one training step), so the arrays a model keeps
    between steps (the last batch's im2col columns, pre-activations, ...) are traced: the
    first number is the whole training working set at its peak, including them; the second
    only what func() adds on top of what the previous step left behind. Starting the trace
    after warm_up() would be wrong: replacing an untraced array by a traced one would look
    like new memory.
    """
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        warm_up()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        func()
        peak = tracemalloc.get_traced_memory()[1]
        return peak - start, peak - before
    finally:
        tracemalloc.stop()


def main() -> None:
    header("peak memory of one training step (tracemalloc), float32")
    X, t = mnist_subset()
    cnn = our_cnn()
    X_step, t_step = X[:BATCH], t[:BATCH]

    def one_step():
        cnn.fit(X_step, t_step, epochs=1, batches=1, progress=False)

    def one_epoch():
        cnn.fit(X, t, epochs=1, batches=N_IMAGES // BATCH, progress=False)

    step, step_extra = traced_peaks(one_step, warm_up=one_step)
    epoch, _ = traced_peaks(one_epoch, warm_up=one_step)
    # The two conv layers: 1 -> 8 maps on 28x28 and 8 -> 16 maps on 14x14, 3x3 kernels.
    buffers = {"conv 1": im2col_bytes(BATCH, 1, 3, 28), "conv 2": im2col_bytes(BATCH, 8, 3, 14)}
    largest = max(buffers.values())
    for name, size in buffers.items():
        print(f"  im2col buffer {name} (batch {BATCH}):           {size / MB:7.2f} MiB")
    print(f"  input batch ({BATCH} images):                   {X_step.nbytes / MB:7.2f} MiB")
    print(f"  peak of one training step, all it keeps incl.: {step / MB:7.2f} MiB")
    print(f"  of which new in the step (above the last one):  {step_extra / MB:7.2f} MiB")
    print(f"  peak of one epoch ({N_IMAGES} images):            {epoch / MB:7.2f} MiB")
    print()
    print(ratio_line(f"memory peak of one training step / largest im2col buffer (batch {BATCH})",
                     step / largest, 4.0))
    print(ratio_line(f"memory peak of one epoch / largest im2col buffer (batch {BATCH})",
                     epoch / largest))

if __name__ == "__main__":
    main()
