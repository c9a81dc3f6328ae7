"""The homework's exercises as data: inputs, reference answers and how answers are compared.

One `Exercise` per exercise of the notebooks (`EXERCISES`, by topic; the Adam exercise is
made by `scheduler_exercise`). Both users judge with the same data:

- the self-checks of `course_utils.checks` draw the cases from np.random.default_rng(0)
  and run the student's function in the notebook's own kernel (feedback, reproducible);
- the grader (`course_utils.grading`) draws them from a secret seed, has the answers
  computed in a sandbox and compares them in a process of its own (the grade).

References come from the package where it has one (`convolution`, `schedulers`, `data`,
`ising`), imported inside each function so that importing this module stays cheap. Where the
package has no function of exactly the exercise's form (conv/pool backward, best
hyper-parameters, the loss of a constant prediction), a short private reference below
computes it with numpy/scipy; where an exercise inverts a formula (the padding for a wanted
output size, the smallest input of a chain of layers), the reference searches by brute force
with the package's forward formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# A compare function returns None when `got` is right, else a short reason.
Compare = Callable[[Any, Any], "str | None"]

# ----------------------------------------------------------------------------- compares
def _same_array(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare array-like results: same shape, equal up to a tolerance scaled by the size."""

    def compare(expected, got) -> str | None:
        if got is None:
            return "your function returned None (is a `return` missing?)"
        if np.iscomplexobj(got):
            return "the result is complex; keep its real part (np.real) at the end"
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"expected an array, got a {type(got).__name__}"
        expected = np.asarray(expected, dtype=float)
        if got.shape != expected.shape:
            return f"shape {got.shape}, expected shape {expected.shape}"
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        if not np.allclose(got, expected, rtol=rtol, atol=atol * scale, equal_nan=True):
            where = np.argwhere(~np.isclose(got, expected, rtol=rtol, atol=atol * scale))
            first = tuple(int(i) for i in where[0])
            return (f"{len(where)} of {expected.size} entries differ, first at index {first}: "
                    f"{got[first]:.6g} instead of {expected[first]:.6g}")
        return None

    return compare


def _same_arrays(rtol: float = 1e-7, atol: float = 1e-9) -> Compare:
    """Compare a tuple of arrays (e.g. (dX, dkernel)) element by element."""
    one = _same_array(rtol, atol)

    def compare(expected, got) -> str | None:
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} arrays, got {type(got).__name__}"
        for i, (e, g) in enumerate(zip(expected, got)):
            reason = one(e, g)
            if reason:
                return f"element [{i}] of the result: {reason}"
        return None

    return compare


def _same_ints(expected, got) -> str | None:
    """Compare an int or a tuple of ints exactly (3.0 is not accepted for 3)."""
    exp = expected if isinstance(expected, tuple) else (expected,)
    values = got if isinstance(expected, tuple) else (got,)
    if isinstance(expected, tuple) and (not isinstance(got, (tuple, list)) or len(got) != len(exp)):
        return f"expected a tuple of {len(exp)} ints, got {got!r}"
    for e, g in zip(exp, values):
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)):
            return f"expected an int, got {type(g).__name__} {g!r}"
        if g != e:
            return "wrong value"
    return None


def _same_int_or_none(expected, got) -> str | None:
    """Compare an int answer exactly, where None is the answer "impossible"."""
    if expected is None:
        return None if got is None else f"no value works here, expected None, got {got!r}"
    if got is None:
        return "you returned None, but a value works here"
    return _same_ints(expected, got)


def _same_floats(expected, got) -> str | None:
    """Compare a tuple of floats (e.g. a chosen (eta, lambda))."""
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return f"expected a tuple of {len(expected)} numbers, got {got!r}"
    try:
        values = [float(g) for g in got]
    except (TypeError, ValueError):
        return f"expected numbers, got {got!r}"
    if not all(math.isclose(g, e, rel_tol=1e-12) for g, e in zip(values, expected)):
        return "wrong value"
    return None


# ----------------------------------------------------------------------------- references
def _conv_backward_reference(X, kernel, dZ):
    """Gradients of Z[n, f] = sum_c valid cross-correlation(X[n, c], kernel[c, f]).

    dX[n, c] = sum_f full convolution(dZ[n, f], kernel[c, f]);
    dkernel[c, f] = sum_n valid cross-correlation(X[n, c], dZ[n, f]).
    """
    from scipy.signal import convolve2d, correlate2d

    N, C = X.shape[:2]
    F = kernel.shape[1]
    dX = np.zeros_like(X, dtype=float)
    dkernel = np.zeros_like(kernel, dtype=float)
    for n in range(N):
        for c in range(C):
            for f in range(F):
                dX[n, c] += convolve2d(dZ[n, f], kernel[c, f], mode="full")
                dkernel[c, f] += correlate2d(X[n, c], dZ[n, f], mode="valid")
    return dX, dkernel


def _max_pool_backward_reference(X, dA, k):
    """Route each dA entry to the position of the maximum of its k x k window (stride k)."""
    N, C, H, W = X.shape
    out_h, out_w = H // k, W // k
    windows = X[:, :, : out_h * k, : out_w * k].reshape(N, C, out_h, k, out_w, k)
    windows = windows.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, out_h, out_w, k * k)
    first_max = np.argmax(windows, axis=-1)
    mask = np.zeros_like(windows, dtype=float)
    np.put_along_axis(mask, first_max[..., None], 1.0, axis=-1)
    routed = (mask * dA[..., None]).reshape(N, C, out_h, out_w, k, k)
    dX = np.zeros_like(X, dtype=float)
    dX[:, :, : out_h * k, : out_w * k] = routed.transpose(0, 1, 2, 4, 3, 5).reshape(
        N, C, out_h * k, out_w * k
    )
    return dX


def _im2col_reference(image, kernel_height, kernel_width):
    """One row per kernel position (row-major), each row the window read row by row.

    course_utils.convolution.im2col on a batch of one single-channel image, transposed:
    it returns (N, C * kh * kw, out_h * out_w), one column per position.
    """
    from course_utils.convolution import im2col

    return im2col(np.asarray(image, dtype=float)[None, None], kernel_height, kernel_width)[0].T


def _col2im_reference(cols, image_shape, kernel_height, kernel_width):
    """The adjoint of _im2col_reference: every row (one window) added back onto its pixels."""
    from course_utils.convolution import col2im

    columns = np.asarray(cols, dtype=float).T[None]
    return col2im(columns, (1, 1, *image_shape), kernel_height, kernel_width)[0, 0]


def _best_hyperparameters_reference(accuracy, etas, lambdas):
    """(eta, lambda) of the highest finite accuracy; NaN marks a diverged run."""
    scores = np.where(np.isfinite(accuracy), accuracy, -np.inf)
    i, j = np.unravel_index(np.argmax(scores), scores.shape)
    return float(etas[i]), float(lambdas[j])


def _padding_for_output_reference(i, k, s, o):
    """Smallest p >= 0 with conv_output_size(i, k, s, p) == o, by trying p = 0, 1, ...

    The output size never decreases when p grows, so the search stops at the first p whose
    output is larger than o (then no p gives o: None).
    """
    from course_utils.convolution import conv_output_size

    p = max(0, -(-(k - i) // 2))  # the first p with which the kernel fits: i + 2p >= k
    while (size := conv_output_size(i, k, s, p)) < o:
        p += 1
    return p if size == o else None


def _chain_output_size(i, layers):
    """Output size of a chain of (k, s, p) layers, or 0 if a kernel does not fit."""
    from course_utils.convolution import conv_output_size

    for k, s, p in layers:
        if k > i + 2 * p:
            return 0
        i = conv_output_size(i, k, s, p)
    return i


def _smallest_input_reference(layers, o):
    """Smallest input size i >= 1 whose output through the chain is o, by trying i = 1, 2, ..."""
    i = 1
    while _chain_output_size(i, layers) < o:
        i += 1
    return i


def _chance_loss_reference(labels, n_classes):
    """Best constant prediction q (the class frequencies) and its mean cross-entropy (nats)."""
    q = np.bincount(np.asarray(labels), minlength=n_classes) / len(labels)
    present = q > 0  # 0 * ln 0 = 0: an absent class costs nothing
    return q, float(-np.sum(q[present] * np.log(q[present])))


def scheduler_changes(cls, hyper, gradients, reset_and_repeat):
    """Stack the changes a fresh scheduler returns for a gradient sequence (optionally twice)."""
    scheduler = cls(**hyper)
    changes = [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    if reset_and_repeat:
        scheduler.reset()
        changes += [np.array(scheduler.update_change(g.copy()), dtype=float) for g in gradients]
    return np.stack(changes)


# ----------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    """What a check needs to judge one exercise, as data the grader can use too.

    cases(rng): the inputs, hand-picked small ones first, then random ones drawn from rng
    (a self-check draws them from np.random.default_rng(0); the grader from a seed of its
    own, so an answer that only memorises the self-check's cases fails).
    reference(*case): the right answer. compare(expected, got): None or the reason why not.
    kind: "function" (the student's function is called with the case) or "scheduler"
    (the student's class is built with `settings` and fed the case's gradients).
    references: names whose use in an answer the grader flags for a teaching assistant
    (the course's own implementation of the exercise, or the library call it checks against).
    """

    topic: str
    cases: Callable[[np.random.Generator], list[tuple]]
    reference: Callable
    compare: Compare
    arg_names: tuple[str, ...]
    reference_label: str = ""
    kind: str = "function"
    settings: tuple[tuple[str, float], ...] = ()
    references: tuple[str, ...] = ()

    def student_callable(self, student: Any) -> Callable:
        """The function of a case's inputs that the student's answer stands for."""
        return answer_callable(student, self.kind, dict(self.settings))


def answer_callable(student: Any, kind: str, settings: dict) -> Callable:
    """The student's function itself, or for a scheduler class the changes it returns."""
    if kind == "scheduler":
        return lambda gradients, reset: scheduler_changes(student, settings, gradients, reset)
    return student


# ----------------------------------------------------------------------------- cases
def _pairs_2d(rng):
    """(image, kernel) pairs: hand-picked small ones, then random shapes."""
    cases = list(_SMALL_2D)
    for _ in range(8):
        h, w = rng.integers(3, 9, size=2)
        kh, kw = rng.integers(1, min(h, w) + 1, size=2)
        cases.append((rng.normal(size=(h, w)).round(3), rng.normal(size=(kh, kw)).round(3)))
    return cases


_SMALL_2D = (
    (np.arange(9.0).reshape(3, 3), np.array([[1.0, 0.0], [0.0, -1.0]])),
    (np.arange(12.0).reshape(3, 4), np.array([[1.0, 2.0, 3.0]])),
    (np.arange(1.0, 7.0).reshape(2, 3), np.array([[2.0]])),
    (np.arange(16.0).reshape(4, 4), np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])),
    (np.arange(6.0).reshape(2, 3), np.arange(1.0, 7.0).reshape(2, 3)),
)


def _convolve1d_cases(rng):
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0])),
        (np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5])),
        (np.array([2.0, 0.0, 1.0]), np.array([1.0, -1.0, 3.0, 2.0])),  # w longer than x
        (np.array([4.0]), np.array([1.0, 2.0])),
    ]
    for _ in range(8):
        n, m = rng.integers(1, 10, size=2)
        cases.append((rng.normal(size=n).round(3), rng.normal(size=m).round(3)))
    return cases


def _valid_convolve2d(image, kernel):
    from course_utils.convolution import convolve2d

    return convolve2d(image, kernel, mode="valid")


def _valid_cross_correlate2d(image, kernel):
    from course_utils.convolution import cross_correlate2d

    return cross_correlate2d(image, kernel, mode="valid")


def _toeplitz_cases(rng):
    cases = [
        (np.array([1.0, 2.0]), 3),
        (np.array([1.0, 2.0, 3.0]), 2),
        (np.array([5.0]), 4),
        (np.array([1.0, -1.0, 2.0]), 1),
    ]
    for _ in range(6):
        m, n = rng.integers(1, 7, size=2)
        cases.append((rng.normal(size=m).round(3), int(n)))
    return cases


def _toeplitz_reference(w, n):
    from course_utils.convolution import toeplitz_matrix

    return toeplitz_matrix(w, n)


def _conv2d_matrix_cases(rng):
    cases = [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), (3, 3)),  # the lecture's 4 x 9 example
        (np.array([[1.0, -1.0]]), (2, 3)),
        (np.array([[2.0]]), (2, 2)),
        (np.array([[1.0], [2.0], [3.0]]), (3, 2)),
    ]
    for _ in range(6):
        h, w = rng.integers(2, 6, size=2)
        kh, kw = rng.integers(1, min(h, w) + 1, size=2)
        cases.append((rng.normal(size=(kh, kw)).round(3), (int(h), int(w))))
    return cases


def _conv2d_matrix_reference(kernel, input_shape):
    from course_utils.convolution import conv2d_matrix

    return conv2d_matrix(kernel, input_shape)


def _padding_for_output_cases(rng):
    cases = [(5, 3, 1, 5), (5, 3, 1, 3), (32, 3, 2, 16), (28, 5, 1, 28), (4, 5, 1, 2),
             (7, 2, 3, 4), (10, 4, 3, 5), (5, 3, 1, 4), (6, 3, 2, 1), (28, 3, 1, 25),
             (6, 3, 2, 2), (28, 5, 2, 14)]
    while len(cases) < 40:
        i, k, s = (int(v) for v in rng.integers([1, 1, 1], [33, 8, 5]))
        o = int(rng.integers(1, i // s + 5))
        cases.append((i, k, s, o))
    return cases


def _smallest_input_cases(rng):
    # layers: (k, s, p) per layer along one axis (pooling: p = 0), every one with 2p < k,
    # so that each layer's smallest output is 1 and every o >= 1 is reachable.
    cases = [
        ([(3, 1, 0)], 1),
        ([(3, 1, 1)], 28),
        ([(2, 2, 0)], 14),
        ([(5, 1, 0), (2, 2, 0), (3, 1, 1), (2, 2, 0)], 5),   # notebook 03's worked chain
        ([(3, 1, 0), (2, 2, 0), (3, 1, 0), (2, 2, 0)], 1),   # its receptive field: 10
        ([(3, 2, 1), (3, 2, 1)], 4),
        ([(7, 2, 3), (3, 2, 0), (3, 1, 1)], 3),
    ]
    for _ in range(13):
        layers = []
        for _ in range(int(rng.integers(1, 5))):
            k, s = (int(v) for v in rng.integers([1, 1], [8, 4]))
            layers.append((k, s, int(rng.integers(0, (k + 1) // 2))))  # 2p < k
        cases.append((layers, int(rng.integers(1, 9))))
    return cases


def _chance_loss_cases(rng):
    cases = [
        (np.array([0, 1]), 2),
        (np.array([0, 0, 0, 1]), 2),
        (np.arange(10), 10),
        (np.array([0, 0, 1, 1, 2, 2]), 4),      # class 3 never occurs: 0 * ln 0 = 0
        (np.array([3, 3, 3]), 5),               # one class only: the loss is 0
        (np.array([5] * 5 + list(range(10))), 10),  # digit 5 makes up half of the labels
    ]
    for _ in range(8):
        n_classes = int(rng.integers(2, 11))
        cases.append((rng.integers(0, n_classes, size=int(rng.integers(1, 40))), n_classes))
    return cases


def _scheduler_cases(rng):
    # The last case calls reset() halfway and repeats the sequence: the changes must repeat.
    return [
        ([np.array([1.0]), np.array([1.0]), np.array([1.0])], False),
        ([np.array([1.0, -2.0]), np.array([0.5, 0.0]), np.array([-1.0, 3.0])], False),
        ([rng.normal(size=(2, 3)).round(3) for _ in range(10)], False),
        ([rng.normal(size=(3,)).round(3) for _ in range(4)], True),
    ]


def _compare_scheduler_changes(expected, got) -> str | None:
    reason = _same_array(rtol=1e-6, atol=1e-10)(expected, got)
    if reason and np.shape(got) == np.shape(expected):
        bad = ~np.isclose(np.asarray(got, dtype=float), expected, rtol=1e-6, atol=1e-10)
        step = int(np.argwhere(bad.reshape(len(expected), -1).any(axis=1))[0, 0])
        return f"the change returned at update {step + 1} differs"
    return reason


def _conv_backward_cases(rng):
    cases = [
        (np.arange(9.0).reshape(1, 1, 3, 3), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
         np.ones((1, 1, 2, 2))),
        (np.arange(12.0).reshape(1, 1, 3, 4), np.array([[[[1.0, -1.0]]]]),
         np.arange(9.0).reshape(1, 1, 3, 3)),
    ]
    for _ in range(6):
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(3, 7, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        cases.append((rng.normal(size=(N, C, H, W)).round(3),
                      rng.normal(size=(C, F, kh, kw)).round(3),
                      rng.normal(size=(N, F, H - kh + 1, W - kw + 1)).round(3)))
    return cases


def _pool_backward_cases(rng):
    cases = [
        (np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), np.array([[[[10.0]]]]), 2),
        (np.array([[[[1.0, 2.0, 0.0, 7.0], [4.0, 3.0, 6.0, 5.0]]]]),
         np.array([[[[1.0, -2.0]]]]), 2),
    ]
    for _ in range(6):
        k = int(rng.integers(1, 4))
        N, C = (int(v) for v in rng.integers(1, 3, size=2))
        out_h, out_w = (int(v) for v in rng.integers(1, 4, size=2))
        # A permutation gives distinct values, so every window has a single maximum.
        X = rng.permutation(N * C * out_h * k * out_w * k).astype(float)
        cases.append((X.reshape(N, C, out_h * k, out_w * k),
                      rng.normal(size=(N, C, out_h, out_w)).round(3), k))
    return cases


def _im2col_cases(rng):
    cases = [
        (np.arange(9.0).reshape(3, 3), 2, 2),
        (np.arange(12.0).reshape(3, 4), 1, 3),
        (np.arange(6.0).reshape(2, 3), 2, 3),
        (np.arange(4.0).reshape(2, 2), 1, 1),
    ]
    for _ in range(6):
        h, w = (int(v) for v in rng.integers(2, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        cases.append((rng.normal(size=(h, w)).round(3), kh, kw))
    return cases


def _col2im_cases(rng):
    cases = [
        (np.ones((4, 4)), (3, 3), 2, 2),           # how many windows hold each pixel
        (np.arange(24.0).reshape(6, 4), (3, 4), 2, 2),
        (np.arange(6.0).reshape(6, 1), (2, 3), 1, 1),
        (np.arange(12.0).reshape(2, 6), (3, 3), 2, 3),
        (np.arange(9.0).reshape(1, 9), (3, 3), 3, 3),
    ]
    for _ in range(6):
        h, w = (int(v) for v in rng.integers(2, 8, size=2))
        kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        cases.append((rng.normal(size=((h - kh + 1) * (w - kw + 1), kh * kw)).round(3),
                      (h, w), kh, kw))
    return cases


def _best_hyperparameters_cases(rng):
    etas, lambdas = np.array([1e-3, 1e-2, 1e-1]), np.array([0.0, 1e-4, 1e-2])
    cases = [
        (np.array([[0.5, 0.6, 0.7], [0.8, 0.9, 0.1], [0.2, 0.3, 0.4]]), etas, lambdas),
        (np.array([[0.5, 0.6, 0.7], [0.8, 0.6, 0.1], [np.nan, np.nan, np.nan]]), etas, lambdas),
        (np.array([[np.nan, 0.2], [0.3, np.nan]]), etas[:2], lambdas[1:]),
        (np.array([[0.1, 0.2, 0.25]]), etas[:1], lambdas),
    ]
    for _ in range(6):
        n_eta, n_lam = (int(v) for v in rng.integers(1, 6, size=2))
        accuracy = rng.permutation(n_eta * n_lam).reshape(n_eta, n_lam) / (n_eta * n_lam)
        accuracy[rng.random(accuracy.shape) < 0.3] = np.nan
        accuracy.flat[int(rng.integers(accuracy.size))] = 0.01  # at least one finite run
        cases.append((accuracy, np.logspace(-4, 0, n_eta), np.logspace(-5, -1, n_lam)))
    return cases


def _parameter_count_reference(input_shape, layers):
    """Per-layer trainable parameters, read from a course_utils CNN built from `layers`."""
    from course_utils.cnn import CNN

    cnn = CNN(seed=0)
    channels = input_shape[0]
    for layer in layers:
        if layer[0] == "conv":
            _, feature_maps, k, s, pad = layer
            cnn.add_Convolution2DLayer(channels, feature_maps, k, k, v_stride=s, h_stride=s, pad=pad)
            channels = feature_maps
        elif layer[0] == "pool":
            cnn.add_PoolingLayer(layer[1], layer[1], v_stride=layer[2], h_stride=layer[2])
        elif layer[0] == "flatten":
            cnn.add_FlattenLayer()
        else:
            cnn.add_FullyConnectedLayer(layer[1])
    return cnn.parameter_counts(tuple(input_shape))


def _same_int_list(expected: list, got) -> str | None:
    """Compare a list of ints exactly, naming the first layer whose count is wrong."""
    if got is None:
        return "your function returned None (is a `return` missing?)"
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        return f"expected a list of {len(expected)} ints (one per layer), got {got!r}"
    for index, (e, g) in enumerate(zip(expected, got)):
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)):
            return f"layer {index}: expected an int, got {type(g).__name__} {g!r}"
        if g != e:
            return f"layer {index}: {g} parameters, expected {e}"
    return None


def _parameter_count_cases(rng):
    # layers: ("conv", feature_maps, k, stride, pad) with a square k x k kernel and pad
    # "same" or "valid"; ("pool", k, stride); ("flatten",); ("dense", nodes).
    digit_cnn = [("conv", 16, 3, 1, "same"), ("pool", 2, 2), ("conv", 32, 3, 1, "same"),
                 ("pool", 2, 2), ("flatten",), ("dense", 128), ("dense", 10)]
    cases = [
        ((1, 4, 4), [("conv", 2, 3, 1, "valid")]),
        ((1, 4, 4), [("conv", 2, 3, 1, "same"), ("pool", 2, 2), ("flatten",), ("dense", 3)]),
        ((3, 5, 5), [("conv", 4, 3, 1, "valid"), ("flatten",), ("dense", 2)]),
        ((1, 7, 7), [("conv", 2, 3, 2, "same"), ("flatten",), ("dense", 5)]),
        ((2, 9, 9), [("conv", 3, 3, 2, "valid"), ("pool", 2, 1), ("flatten",), ("dense", 4)]),
        ((1, 28, 28), digit_cnn),
    ]
    while len(cases) < 20:
        channels, size = int(rng.integers(1, 4)), int(rng.integers(8, 33))
        layers = []
        for _ in range(int(rng.integers(1, 4))):
            k, s = int(rng.integers(1, 6)), int(rng.integers(1, 3))
            layers.append(("conv", int(rng.integers(1, 9)), k, s, ("same", "valid")[int(rng.integers(2))]))
            if rng.random() < 0.6:
                layers.append(("pool", int(rng.integers(2, 4)), int(rng.integers(1, 4))))
        layers += [("flatten",), ("dense", int(rng.integers(1, 40))), ("dense", 10)]
        try:
            _parameter_count_reference((channels, size, size), layers)
        except ValueError:  # a kernel or window larger than what reaches it
            continue
        cases.append(((channels, size, size), layers))
    return cases


def _shift_cases(rng):
    square = np.arange(1.0, 10.0).reshape(3, 3)
    cases = [(square, 0, 0), (square, 1, 0), (square, 0, 1), (square, -1, 0), (square, 0, -1),
             (square, 1, -2), (np.arange(1.0, 13.0).reshape(3, 4), -2, 3)]
    for _ in range(8):
        height, width = (int(v) for v in rng.integers(2, 8, size=2))
        cases.append((rng.normal(size=(height, width)).round(3),
                      int(rng.integers(-height + 1, height)), int(rng.integers(-width + 1, width))))
    return cases


def _shift_reference(image, dy, dx):
    from course_utils.data import shift_images

    return shift_images(image, dy, dx)


# notebook 08
def _flip_energy_reference(spins):
    """dE = 2 s h for one (L, L) lattice, h the sum of the four neighbours on the torus."""
    from course_utils.ising import flip_energy

    return flip_energy(np.asarray(spins, dtype=np.int8)[None])[0].astype(int)


def _flip_energy_cases(rng):
    up = np.ones((4, 4), dtype=int)
    one_down = up.copy()
    one_down[0, 0] = -1
    checkerboard = np.where(np.indices((4, 4)).sum(axis=0) % 2, 1, -1)
    stripe = np.ones((6, 6), dtype=int)
    stripe[:, 5] = -1  # its neighbours across the edge are in column 0
    cases = [(up,), (one_down,), (checkerboard,), (stripe,)]
    for _ in range(8):
        L = 2 * int(rng.integers(2, 7))  # even: a checkerboard fits on the torus
        cases.append((np.where(rng.random((L, L)) < 0.5, -1, 1),))
    return cases


def _circular_pad_reference(image, p):
    from course_utils.convolution import pad_input

    padded, _ = pad_input(np.asarray(image, dtype=float)[None, None], "circular", 2 * p + 1, 2 * p + 1)
    return padded[0, 0]


def _circular_pad_cases(rng):
    square = np.arange(1.0, 10.0).reshape(3, 3)
    cases = [(square, 0), (square, 1), (np.arange(1.0, 21.0).reshape(4, 5), 1),
             (np.arange(1.0, 31.0).reshape(5, 6), 2)]
    for _ in range(8):
        height, width = (int(v) for v in rng.integers(1, 10, size=2))
        p = int(rng.integers(0, (min(height, width) - 1) // 2 + 1))
        cases.append((rng.normal(size=(height, width)).round(3), p))
    return cases


def _same_float(expected, got) -> str | None:
    """Compare one float (nan means "no answer exists", and must be nan)."""
    if got is None:
        return "your function returned None (is a `return` missing?)"
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"expected a number, got {got!r}"
    if math.isnan(expected):
        return None if math.isnan(value) else "the curve never crosses the level: expected nan"
    if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
        return "wrong value"
    return None


def _crossing_temperature_reference(T, values):
    from course_utils.ising import crossing_temperature

    return crossing_temperature(T, values)


def _crossing_temperature_cases(rng):
    T = np.array([1.0, 2.0, 3.0, 4.0])
    cases = [(T, np.array([1.0, 0.75, 0.25, 0.0])), (T, np.array([0.9, 0.5, 0.1, 0.0])),
             (T, np.array([0.9, 0.4, 0.6, 0.1])), (T, np.array([0.1, 0.2, 0.8, 0.9])),
             (T, np.array([0.9, 0.8, 0.7, 0.6]))]
    for _ in range(10):
        n = int(rng.integers(3, 30))
        temperatures = np.unique(np.sort(rng.uniform(0.5, 4.0, size=n)).round(3))
        centre = rng.uniform(1.0, 3.5)
        curve = 1 / (1 + np.exp((temperatures - centre) * rng.uniform(2, 10)))
        cases.append((temperatures, np.clip(curve + rng.normal(0, 0.05, temperatures.size), 0, 1)))
    return cases


EXERCISES: dict[str, Exercise] = {exercise.topic: exercise for exercise in (
    Exercise("convolve1d", _convolve1d_cases, np.convolve, _same_array(), ("x", "w"),
             references=("convolve", "fftconvolve", "oaconvolve", "toeplitz_matrix")),
    Exercise("convolve2d", _pairs_2d, _valid_convolve2d, _same_array(), ("image", "kernel"),
             references=("convolve2d", "fftconvolve", "oaconvolve", "correlate2d",
                         "cross_correlate2d", "convolve")),
    Exercise("cross_correlate2d", _pairs_2d, _valid_cross_correlate2d, _same_array(),
             ("image", "kernel"),
             references=("cross_correlate2d", "correlate2d", "convolve2d", "correlate")),
    Exercise("toeplitz", _toeplitz_cases, _toeplitz_reference, _same_array(), ("w", "n"),
             references=("toeplitz_matrix", "toeplitz", "convolution_matrix")),
    Exercise("conv2d_matrix", _conv2d_matrix_cases, _conv2d_matrix_reference, _same_array(),
             ("kernel", "input_shape"), references=("conv2d_matrix",)),
    Exercise("padding_for_output", _padding_for_output_cases, _padding_for_output_reference,
             _same_int_or_none, ("i", "k", "s", "o"),
             references=("conv_output_size", "padding_amounts", "same_padding")),
    Exercise("smallest_input", _smallest_input_cases, _smallest_input_reference, _same_ints,
             ("layers (k, s, p)", "o"), references=("receptive_field", "conv_output_size")),
    Exercise("chance_loss", _chance_loss_cases, _chance_loss_reference,
             _same_arrays(rtol=1e-9, atol=1e-12), ("labels", "n_classes"),
             references=("CostCrossEntropy", "entropy")),
    Exercise("conv_backward", _conv_backward_cases, _conv_backward_reference, _same_arrays(),
             ("X", "kernel", "dZ"),
             references=("Convolution2DLayer", "Convolution2DLayerOPT", "col2im", "correlate2d",
                         "convolve2d")),
    Exercise("pool_backward", _pool_backward_cases, _max_pool_backward_reference, _same_array(),
             ("X", "dA", "k"), references=("Pooling2DLayer",)),
    Exercise("im2col", _im2col_cases, _im2col_reference, _same_array(),
             ("image", "kernel_height", "kernel_width"),
             references=("im2col", "unfold_windows", "sliding_window_view")),
    Exercise("col2im", _col2im_cases, _col2im_reference, _same_array(),
             ("cols", "image_shape", "kernel_height", "kernel_width"), references=("col2im",)),
    Exercise("best_hyperparameters", _best_hyperparameters_cases, _best_hyperparameters_reference,
             _same_floats, ("accuracy", "etas", "lambdas")),
    Exercise("parameter_count", _parameter_count_cases, _parameter_count_reference,
             _same_int_list, ("input_shape", "layers"),
             reference_label="CNN(...).summary(input_shape) of these layers",
             references=("CNN", "count_params", "parameter_counts", "summary", "build_cnn")),
    Exercise("shift", _shift_cases, _shift_reference, _same_array(rtol=0, atol=0),
             ("image", "dy", "dx"), references=("shift_images",)),
    Exercise("flip_energy", _flip_energy_cases, _flip_energy_reference,
             _same_array(rtol=0, atol=0), ("spins",),
             reference_label="course_utils.ising.flip_energy",
             references=("flip_energy", "metropolis_sweep", "energy_per_spin")),
    Exercise("circular_pad", _circular_pad_cases, _circular_pad_reference,
             _same_array(rtol=0, atol=0), ("image", "p"),
             reference_label='pad_input(image[None, None], "circular", 2p + 1, 2p + 1)',
             references=("pad_input", "CircularPadding2D")),
    Exercise("crossing_temperature", _crossing_temperature_cases, _crossing_temperature_reference,
             _same_float, ("T", "values"),
             reference_label="course_utils.ising.crossing_temperature",
             references=("crossing_temperature", "bootstrap_crossing")),
)}


def scheduler_exercise(reference: str = "Adam", **hyper: float) -> Exercise:
    """The exercise "write scheduler `reference`" with these hyper-parameters.

    Both the student's class and ours get the same hyper-parameters and gradients; every
    change returned by update_change must agree, also after reset().
    """
    from course_utils import schedulers

    ours = getattr(schedulers, reference, None)
    if reference not in _SCHEDULERS or ours is None:
        raise ValueError(f"reference must be one of {sorted(_SCHEDULERS)}, got {reference!r}")
    settings = tuple(sorted({**_SCHEDULERS[reference], **hyper}.items()))

    def changes(gradients, reset):
        return scheduler_changes(ours, dict(settings), gradients, reset)

    label = f"{reference}({', '.join(f'{key}={value}' for key, value in settings)})"
    return Exercise(reference, _scheduler_cases, changes, _compare_scheduler_changes,
                    ("gradients, one per update", "reset() and repeat"), reference_label=label,
                    kind="scheduler", settings=settings, references=(reference, "schedulers"))


_SCHEDULERS = {"Adam": {"eta": 0.1, "rho": 0.9, "rho2": 0.999}}


def exercise_of_check(check: str, **arguments: Any) -> Exercise:
    """The Exercise that the check function named `check` judges (arguments: its keywords).

    The grader reads a course check cell, `points(check_x(my_x, **arguments))`, and judges
    the student's answer with this, outside the student's kernel.
    """
    if check == "check_scheduler":
        return scheduler_exercise(**arguments)
    topic = check.removeprefix("check_")
    if not check.startswith("check_") or topic not in EXERCISES or arguments:
        raise ValueError(f"no exercise is checked by {check}({arguments or ''}); known: "
                         f"{sorted('check_' + t for t in EXERCISES)} and check_scheduler")
    return EXERCISES[topic]


# ============================================================================ notebook 09
# Signals in one dimension (notebook 09): one block, cases + references + registry entries.
def _matched_filter_reference(x, template):
    """z[i] = sum_j x[i + j] template[j] / ||template||, the valid positions."""
    from course_utils.signals import matched_filter

    return matched_filter(np.asarray(x, dtype=float)[None, :], template)[0]


def _matched_filter_cases(rng):
    cases = [(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0])),
             (np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0])),
             (np.array([1.0, -1.0, 2.0, 0.0, 3.0]), np.array([3.0, 4.0])),
             (np.array([2.0, 0.0, -1.0]), np.array([1.0, 0.0, -1.0]))]
    from course_utils.signals import chirp_template

    for _ in range(8):
        m = int(rng.integers(4, 20))
        x = rng.normal(size=int(rng.integers(m, 60)))
        cases.append((x, rng.normal(size=m) if rng.random() < 0.5 else chirp_template(m)))
    return cases


def _receptive_field_reference(layers):
    """Input samples one output of a stack of 1D convolutions sees: the smallest signal the
    stack, unpadded, turns into one output (Convolution1DLayer's own arithmetic)."""
    from course_utils.layers_1d import Convolution1DLayer

    stack = [Convolution1DLayer(1, 1, k, s, "valid", d, seed=0) for k, s, d in layers]
    length = 1
    while True:
        shape = (1, length)
        try:
            for layer in stack:
                shape = layer.output_shape(shape)
            return length
        except ValueError:  # a kernel longer than what reaches it
            length += 1


def _receptive_field_cases(rng):
    cases = [([(3, 1, 1)],), ([(3, 1, 1), (3, 1, 1)],), ([(3, 1, 2)],), ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],),
             ([(2, 2, 1), (2, 2, 1), (2, 2, 1)],), ([(5, 2, 1), (5, 2, 1), (5, 2, 1)],),
             ([(1, 1, 1)],), ([(4, 3, 1), (3, 1, 2)],)]
    for _ in range(12):
        cases.append(([(int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 5)))
                       for _ in range(int(rng.integers(1, 5)))],))
    return cases


def _detection_probability_reference(noise_scores, signal_scores, false_alarm):
    """Share of signal scores above the (1 - false_alarm) quantile of the noise scores."""
    threshold = np.quantile(np.asarray(noise_scores, dtype=float), 1 - false_alarm)
    return float(np.mean(np.asarray(signal_scores, dtype=float) > threshold))


def _detection_probability_cases(rng):
    cases = [(np.arange(10.0), np.array([8.5, 9.5, 20.0, 0.0]), 0.1),
             (np.arange(100.0), np.arange(50.0, 150.0), 0.01),
             (np.zeros(5), np.array([0.0, 1.0]), 0.2)]
    for _ in range(10):
        n = int(rng.integers(20, 500))
        shift = rng.uniform(0, 4)
        cases.append((rng.normal(size=n), rng.normal(shift, 1, size=int(rng.integers(5, 300))),
                      float(rng.choice([0.01, 0.05, 0.1, 0.3]))))
    return cases


EXERCISES.update({exercise.topic: exercise for exercise in (
    Exercise("matched_filter", _matched_filter_cases, _matched_filter_reference, _same_array(),
             ("x", "template"), reference_label="course_utils.signals.matched_filter",
             references=("matched_filter", "correlate", "convolve", "sliding_window_view")),
    Exercise("receptive_field", _receptive_field_cases, _receptive_field_reference, _same_ints,
             ("layers (kernel_size, stride, dilation)",),
             reference_label="smallest signal that Convolution1DLayer(..., pad='valid') stack maps to one output",
             references=("receptive_field", "Convolution1DLayer", "dilated_extent")),
    Exercise("detection_probability", _detection_probability_cases,
             _detection_probability_reference, _same_float,
             ("noise_scores", "signal_scores", "false_alarm"),
             reference_label="course_utils.signals.detection_probability",
             references=("detection_probability", "roc_curve")),
)})
# ============================================================================ end of notebook 09
