"""Where one training epoch of the notebooks' network goes, operation by operation.

The network, data and batches of bench_cnn_epoch.py (2,000 MNIST images, float32, batches of
50, one thread). Each pair function the layers call (convolution, pooling, dense, flatten,
activations), each layer's shell around them (input checks, casts of the weights, the
cache), the optimiser and the rest of the loop (shuffling, batch copies, scores) is timed
inside a real CNN.fit by wrappers (about a microsecond per call); the table shows the
fastest of REPEATS epochs. Below it: the epoch's floating-point work and what numpy's own
matrix multiply needs for the same products on this machine (the FLOP limit of issue 34).

Run: .venv/bin/python benchmarks/profile_epoch.py     (BENCH_QUICK=1 for a toy run)
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from _common import QUICK, best_time, header, ratio_line
from bench_cnn_epoch import BATCH, N_IMAGES, mnist_subset, our_cnn
from threadpoolctl import threadpool_limits

from course_utils import cnn as cnn_module
from course_utils import layers as layers_module
from course_utils.fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT

REPEATS = 1 if QUICK else 5


class Timers:
    """Seconds per (layer, operation), charged to the layer whose forward/backward runs."""

    def __init__(self) -> None:
        self.totals: dict = defaultdict(float)
        self.current = "-"
        self.undo: list = []

    def timed(self, func, operation: str, owner: str | None = None):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.totals[(owner or self.current, operation)] += time.perf_counter() - start
        return wrapper

    def patch(self, obj, name: str, operation: str, static: bool = False, owner=None) -> None:
        original = obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)
        function = original.__func__ if static else original
        wrapped = self.timed(function, operation, owner)
        setattr(obj, name, staticmethod(wrapped) if static else wrapped)
        self.undo.append((obj, name, original))

    def restore(self) -> None:
        for obj, name, original in reversed(self.undo):
            setattr(obj, name, original)
        self.undo.clear()


def instrument(cnn, timers: Timers) -> None:
    for index, layer in enumerate(cnn.layers):
        label = f"{index} {type(layer).__name__}"
        for method in ("forward", "backward"):
            original = getattr(layer, method)

            def entered(*args, _original=original, _label=label, _method=method, **kwargs):
                outer, timers.current = timers.current, _label
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    timers.totals[(_label, f"{_method} (all)")] += time.perf_counter() - start
                    timers.current = outer

            setattr(layer, method, entered)
            timers.undo.append((layer, method, original))
    for name in ("conv_forward", "conv_backward", "activation_forward", "activation_backward"):
        timers.patch(Convolution2DLayerOPT, name, name, static=True)
    original_pairs = Pooling2DLayerOPT.pairs
    Pooling2DLayerOPT.pairs = {
        kind: (timers.timed(fwd, f"{kind}_pool_forward"), timers.timed(bwd, f"{kind}_pool_backward"))
        for kind, (fwd, bwd) in original_pairs.items()
    }
    timers.undo.append((Pooling2DLayerOPT, "pairs", original_pairs))
    for name in ("dense_forward", "dense_backward", "activation_forward", "activation_backward",
                 "flatten_forward", "flatten_backward", "output_delta"):
        timers.patch(layers_module, name, name)
    for _, key, scheduler in cnn.parameter_schedulers:
        timers.patch(scheduler, "update_change", "Adam update_change", owner="update")
    timers.patch(cnn_module, "gradient_step", "gradient_step (all)", owner="update")
    timers.patch(cnn, "_batch_error", "training scores", owner="scores")
    timers.patch(cnn, "_n_right", "training scores", owner="scores")


def profile(cnn, X, t) -> tuple[float, dict]:
    best, best_totals = np.inf, {}
    timers = Timers()
    instrument(cnn, timers)
    try:
        for _ in range(REPEATS):
            timers.totals.clear()
            start = time.perf_counter()
            cnn.fit(X, t, epochs=1, batches=N_IMAGES // BATCH, progress=False)
            seconds = time.perf_counter() - start
            if seconds < best:
                best, best_totals = seconds, dict(timers.totals)
    finally:
        timers.restore()
    return best, best_totals


def print_table(epoch: float, totals: dict, cnn) -> None:
    rows = []
    accounted = 0.0
    for index, layer in enumerate(cnn.layers):
        label = f"{index} {type(layer).__name__}"
        for direction in ("forward", "backward"):
            whole = totals.get((label, f"{direction} (all)"), 0.0)
            inner = {op: s for (owner, op), s in totals.items()
                     if owner == label and not op.endswith("(all)") and direction in op}
            inner.update({op: s for (owner, op), s in totals.items() if owner == label
                          and op in ("output_delta",) and direction == "backward"})
            for op, seconds in sorted(inner.items()):
                rows.append((label, op, seconds))
            rows.append((label, f"{direction}: shell (checks, casts, cache)",
                         whole - sum(inner.values())))
            accounted += whole
    adam = totals.get(("update", "Adam update_change"), 0.0)
    step = totals.get(("update", "gradient_step (all)"), 0.0)
    rows.append(("update", "Adam update_change (8 arrays)", adam))
    rows.append(("update", "finite check, roll-back snapshot, params -= change", step - adam))
    scores = totals.get(("scores", "training scores"), 0.0)
    rows.append(("loop", "training scores (cost, accuracy)", scores))
    accounted += step + scores
    rows.append(("loop", "rest: shuffle, batch copies, divergence check, Ctrl-C", epoch - accounted))
    print(f"  one epoch, fastest of {REPEATS}: {epoch * 1e3:.1f} ms "
          f"({N_IMAGES} images, batches of {BATCH}, one thread, float32)")
    print(f"  {'layer':26s} {'operation':52s} {'ms':>7s} {'share':>6s}")
    for owner, op, seconds in rows:
        print(f"  {owner:26s} {op:52s} {seconds * 1e3:7.1f} {seconds / epoch:6.1%}")


def matmul_limit(cnn, X) -> float:
    """The matrix products of one epoch at numpy's own speed on this machine.

    The epoch's products, shape by shape (per batch: conv forward (F, C*kh*kw) @ (N, C*kh*kw,
    P); conv backward dkernel (N, F, P) @ (N, P, C*kh*kw) and dX kh*kw times (C, F) @ (N, F,
    P') (not for the first layer); dense forward and its two backward products), each timed
    with random float32 operands; their sum is the time an epoch needs at least.
    """
    rng = np.random.default_rng(0)
    steps = N_IMAGES // BATCH
    shapes = []  # (a_shape, b_shape, calls per batch)
    shape = X.shape[1:]
    for index, layer in enumerate(cnn.layers):
        out = layer.output_shape(shape)
        if isinstance(layer, Convolution2DLayerOPT):
            C, _, W = shape
            F, out_h, out_w = out
            K, P = C * layer.kernel_height * layer.kernel_width, out_h * out_w
            shapes.append(((F, K), (BATCH, K, P), 1))
            shapes.append(((BATCH, F, P), (BATCH, P, K), 1))
            if index > 0:
                shapes.append(((C, F), (BATCH, F, out_h * (W + 2)), K // C))
        elif hasattr(layer, "nodes"):
            n_in = shape[0]
            shapes.append(((BATCH, n_in), (n_in, layer.nodes), 1))
            shapes.append(((n_in, BATCH), (BATCH, layer.nodes), 1))
            shapes.append(((BATCH, layer.nodes), (layer.nodes, n_in), 1))
        shape = out
    flops, seconds = 0.0, 0.0
    for a_shape, b_shape, calls in shapes:
        a = rng.normal(size=a_shape).astype(np.float32)
        b = rng.normal(size=b_shape).astype(np.float32)
        product = np.matmul(a, b)
        flop = 2.0 * product.size * a_shape[-1]
        flops += flop * calls * steps
        seconds += best_time(lambda a=a, b=b: np.matmul(a, b), repeat=5, budget=0.5) * calls * steps
    print(f"  matrix products of one epoch: {flops / 1e9:.2f} GFLOP; numpy's float32 matmul "
          f"on the same shapes needs {seconds * 1e3:.1f} ms ({flops / seconds / 1e9:.1f} GFLOP/s)")
    return seconds


def main() -> None:
    header("Profile of one training epoch (course_utils.CNN, one thread)")
    X, t = mnist_subset()
    with threadpool_limits(limits=1, user_api="blas"):
        cnn = our_cnn()
        cnn.fit(X[:BATCH], t[:BATCH], epochs=1, progress=False)  # weights, warm caches
        epoch, totals = profile(cnn, X, t)
        print_table(epoch, totals, cnn)
        limit = matmul_limit(cnn, X)
    print(ratio_line("CNN epoch on one thread / its matrix products at numpy's matmul speed",
                     epoch / limit, goal=3))


if __name__ == "__main__":
    main()
