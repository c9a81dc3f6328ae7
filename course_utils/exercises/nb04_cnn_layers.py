"""Notebook 04 (layers from scratch): Adam, the backward passes of convolution (stride 1, then
with stride and padding) and max pooling, and a dense backward pass with planted bugs that
the gradient check exposes (diagnosis)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
    same_arrays,
    scheduler_changes,
)
from course_utils.homework import buggy_dense_backward, dense_sigmoid_forward  # noqa: F401


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



def _scheduler_cases(rng):
    # The last case calls reset() halfway and repeats the sequence: the changes must repeat.
    # Gradients near delta = 1e-8 tell where delta goes: sqrt(v) + delta (the statement) is
    # twice sqrt(v) at |g| = 1e-8, while sqrt(v + delta) is 1e-4, and delta = 1e-7 is 11x.
    tiny = [np.array([1e-8, -3e-9, 0.0, 1e-6]), np.array([2e-8, 1e-9, 0.0, -1e-6])]
    return [
        ([np.array([1.0]), np.array([1.0]), np.array([1.0])], False),
        ([np.array([1.0, -2.0]), np.array([0.5, 0.0]), np.array([-1.0, 3.0])], False),
        (tiny + tiny, False),
        ([(rng.normal(size=(3,)) * 10.0 ** rng.integers(-9, -5)).round(12) for _ in range(5)], False),
        ([rng.normal(size=(2, 3)).round(3) for _ in range(10)], False),
        ([rng.normal(size=(3,)).round(3) for _ in range(4)], True),
    ]


def _compare_scheduler_changes(expected, got) -> str | None:
    reason = same_array(rtol=1e-6, atol=1e-10)(expected, got)
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
    # Ties: the statement sends the gradient to the FIRST maximum, row by row. The cases
    # tell that from every tied maximum (the gradient doubled), the last one, and the
    # first one column by column ([[1, 5], [5, 2]]); a window of zeros (after a ReLU) too.
    cases = [
        (np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), np.array([[[[10.0]]]]), 2),
        (np.array([[[[1.0, 2.0, 0.0, 7.0], [4.0, 3.0, 6.0, 5.0]]]]),
         np.array([[[[1.0, -2.0]]]]), 2),
        (np.array([[[[3.0, 3.0], [1.0, 3.0]]]]), np.array([[[[10.0]]]]), 2),
        (np.array([[[[1.0, 5.0], [5.0, 2.0]]]]), np.array([[[[10.0]]]]), 2),
        (np.zeros((1, 1, 4, 4)), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), 2),
        (np.array([[[[0.0, 2.0, 2.0], [2.0, 1.0, 2.0], [2.0, 0.0, 2.0]]]]), np.array([[[[5.0]]]]), 3),
    ]
    for number in range(8):
        k = int(rng.integers(1, 4))
        N, C = (int(v) for v in rng.integers(1, 3, size=2))
        out_h, out_w = (int(v) for v in rng.integers(1, 4, size=2))
        size = N * C * out_h * k * out_w * k
        # Half of the cases: distinct values (one maximum per window); the other half: few
        # levels, so that windows tie at their maximum.
        X = (rng.permutation(size) if number % 2 else rng.integers(0, 3, size=size)).astype(float)
        cases.append((X.reshape(N, C, out_h * k, out_w * k),
                      rng.normal(size=(N, C, out_h, out_w)).round(3), k))
    return cases



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


EXERCISES = (
    Exercise("conv_backward", _conv_backward_cases, _conv_backward_reference, same_arrays(),
             ("X", "kernel", "dZ"),
             references=("Convolution2DLayer", "Convolution2DLayerOPT", "col2im", "correlate2d",
                         "convolve2d")),
    Exercise("pool_backward", _pool_backward_cases, _max_pool_backward_reference, same_array(),
             ("X", "dA", "k"), references=("Pooling2DLayer",)),
)


# ----------------------------------------------------------------------------- strided conv backward
def conv_forward_strided(X, kernel, stride, pad):
    """Z[n, f, i, j] = sum_{c, a, b} Xp[n, c, i*stride + a, j*stride + b] kernel[c, f, a, b].

    Xp: X with `pad` zeros on every side. X (N, C, H, W), kernel (C, F, kh, kw);
    Z (N, F, floor((H + 2 pad - kh) / stride) + 1, same for W). The trusted forward pass
    whose finite differences judge the strided backward exercise.
    """
    X = np.pad(np.asarray(X, dtype=float), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = kernel.shape[2:]
    windows = np.lib.stride_tricks.sliding_window_view(X, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]            # (N, C, out_h, out_w, kh, kw)
    return np.einsum("ncijab,cfab->nfij", windows, kernel)


def _conv_backward_strided_reference(X, kernel, dZ, stride, pad):
    """(dX, dkernel) by central differences of sum(Z * dZ): a gradient check.

    Z is linear in X and in the kernel, so the difference quotient with h = 1 is exact up to
    rounding: the reference IS the gradient check, not another derivation of the formula.
    """
    from course_utils.gradcheck import numerical_gradient

    X, kernel = np.array(X, dtype=float), np.array(kernel, dtype=float)

    def loss():
        return float(np.sum(conv_forward_strided(X, kernel, stride, pad) * dZ))

    return numerical_gradient(loss, X, h=1.0), numerical_gradient(loss, kernel, h=1.0)


def _strided_case(rng, N, C, F, H, W, kh, kw, stride, pad, integers=False):
    out_h, out_w = (H + 2 * pad - kh) // stride + 1, (W + 2 * pad - kw) // stride + 1
    draw = (lambda *shape: rng.integers(-3, 4, size=shape).astype(float)) if integers else \
        (lambda *shape: rng.normal(size=shape).round(3))
    return draw(N, C, H, W), draw(C, F, kh, kw), draw(N, F, out_h, out_w), stride, pad


def _conv_backward_strided_cases(rng):
    # Edge cases the statement defines: stride 1 and no padding (exercise 2); a stride that
    # drops the last rows and columns (their dX is 0); a stride larger than the kernel (pixels
    # no window reads); padding whose gradient must be cut off; a 1 x 1 kernel.
    shapes = [
        (1, 1, 1, 3, 3, 2, 2, 1, 0),
        (1, 1, 1, 5, 5, 2, 2, 2, 0),     # rows and columns 4 dropped
        (1, 1, 1, 5, 4, 3, 3, 2, 1),
        (1, 1, 1, 7, 7, 2, 2, 3, 0),     # gaps between windows
        (2, 2, 3, 6, 5, 3, 2, 2, 1),
        (1, 2, 2, 4, 4, 3, 3, 1, 2),     # more padding than "same" needs
        (1, 1, 2, 5, 6, 1, 1, 2, 0),
    ]
    cases = [_strided_case(rng, *shape, integers=True) for shape in shapes]
    for _ in range(8):
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        H, W = (int(v) for v in rng.integers(3, 9, size=2))
        kh, kw = int(rng.integers(1, min(5, H + 2 * pad + 1))), int(rng.integers(1, min(5, W + 2 * pad + 1)))
        N, C, F = (int(v) for v in rng.integers(1, 3, size=3))
        cases.append(_strided_case(rng, N, C, F, H, W, kh, kw, stride, pad))
    return cases


# ----------------------------------------------------------------------------- diagnosis: a planted bug
def _dense_backward_reference(X, W, b, dA):
    """(dX, dW, db) of sum(A * dA) by central differences: the gradient check itself."""
    from course_utils.gradcheck import numerical_gradient

    X, W, b = (np.array(v, dtype=float) for v in (X, W, b))

    def loss():
        return float(np.sum(dense_sigmoid_forward(X, W, b) * dA))

    return tuple(numerical_gradient(loss, v, h=1e-5) for v in (X, W, b))


def _dense_backward_cases(rng):
    # one image (the mean and the sum agree there: only bug 1 shows), a batch, wide and narrow
    cases = [(np.array([[0.5, -1.0]]), np.array([[1.0], [2.0]]), np.array([0.1]), np.array([[1.0]]))]
    for N, n_in, nodes in ((4, 3, 2), (2, 5, 1), (6, 2, 4), (3, 4, 4)):
        cases.append((rng.normal(size=(N, n_in)).round(3), rng.normal(size=(n_in, nodes)).round(3),
                      rng.normal(size=nodes).round(3), rng.normal(size=(N, nodes)).round(3)))
    return cases


def gradient_check_compare(names: tuple[str, ...], tolerance: float = 1e-6):
    """Compare a tuple of gradients with finite differences; name each one that still fails."""
    def compare(expected, got) -> str | None:
        shape_problem = same_arrays(rtol=1.0, atol=1e300)(expected, got)   # shapes and types only
        if shape_problem:
            return shape_problem
        failing = []
        for name, e, g in zip(names, expected, got):
            g = np.asarray(g, dtype=float)
            error = float(np.linalg.norm(g - e) / max(np.linalg.norm(g) + np.linalg.norm(e), 1e-12))
            if not error <= tolerance:
                failing.append(f"{name} (relative error {error:.1e})")
        if failing:
            return ("the gradient check still fails for " + ", ".join(failing)
                    + f"; it passes below {tolerance:g}")
        return None

    return compare


EXERCISES += (
    Exercise("conv_backward_strided", _conv_backward_strided_cases,
             _conv_backward_strided_reference, gradient_check_compare(("dX", "dkernel")),
             ("X", "kernel", "dZ", "stride", "pad"),
             reference_label="central differences of sum(Z * dZ), Z the strided, padded forward",
             references=("Convolution2DLayer", "Convolution2DLayerOPT", "col2im", "unpad_gradient",
                         "conv_backward", "numerical_gradient")),
    Exercise("dense_backward", _dense_backward_cases, _dense_backward_reference,
             gradient_check_compare(("dX", "dW", "db")), ("X", "W", "b", "dA"), kind="diagnosis",
             reference_label="central differences of sum(sigmoid(X @ W + b) * dA)",
             references=("FullyConnectedLayer", "numerical_gradient", "derivate")),
)
