"""Self-checks for the exercises in the notebooks.

Each ``check_...`` takes the student's function (or class), runs it on a few small
hand-picked cases and then on random ones, compares every answer with a reference
and prints ONE verdict line:

    ✔ my_convolve2d: passed 12 cases
    ✘ my_convolve2d: failed on case 3 of 12   (then the inputs, the expected and the got)
    … my_convolve2d: not answered yet (the function still raises NotImplementedError)

and returns True or False. A notebook's check cell ends with ``points(...)`` of that
result, 1.0 or 0.0: nbgrader scores a test cell by the number it ends with (partial
credit), so a wrong or unanswered exercise earns nothing while "Run All" runs on::

    from course_utils.checks import check_convolve2d, points

    points(check_convolve2d(my_convolve2d))

Small cases come first, so the first failing case is one
a student can check by hand. Random cases use ``np.random.default_rng(0)``, so a
verdict is the same every time (the stored notebooks are compared by nbval).

The cases, the references and the comparisons are data in `course_utils.exercises`,
which the grader uses too; this module runs them here and says what it found. A check's
verdict is the student's feedback, never the grade: code in the notebook's kernel could
replace this very module (docs/grading.md says how the grade is made).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_utils.exercises import (
    EXERCISES,
    Exercise,
    nb05_cnn_training,
    nb08_ising_phases,
    nb09_signals,
    scheduler_exercise,
)

PASS, FAIL, TODO = "✔", "✘", "…"


def points(passed: bool | float, out_of: float = 1.0) -> float:
    """The points a check's result earns: `out_of` when it passed (exactly True), else 0.0;
    for a model check, which returns the fraction of the points it earned (a float in
    [0, 1]), that fraction of `out_of`.

    The last line of a check cell; nbgrader reads this number as the test cell's score
    (its "partial credit"), so `out_of` must not exceed the cell's ``points`` metadata.
    """
    if not isinstance(out_of, (int, float)) or isinstance(out_of, bool) or not out_of > 0:
        raise ValueError(f"out_of must be a positive number, got {out_of!r}")
    if type(passed) is float and 0.0 <= passed <= 1.0:
        return round(float(out_of) * passed, 3)
    return float(out_of) if passed is True else 0.0


# ----------------------------------------------------------------------------- display
def _show(value: Any) -> str:
    """Compact, readable text for an input or a result (arrays via np.array2string)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            text = np.array2string(
                value, precision=4, suppress_small=True, separator=", ", max_line_width=88,
                threshold=200,
            )
        else:
            text = np.array2string(value, separator=", ", max_line_width=88, threshold=200)
        return f"array of shape {value.shape}:\n{text}" if value.ndim > 1 else text
    if isinstance(value, tuple):
        if any(isinstance(v, np.ndarray) for v in value):
            return "tuple of\n" + "\n".join(f"[{i}] {_show(v)}" for i, v in enumerate(value))
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return "\n".join(f"{i}. {_show(v)}" for i, v in enumerate(value, start=1))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.6g}"
        return text if any(c in text for c in ".en") else text + ".0"  # 3.0 stays a float
    return repr(value)


def _field(label: str, value: Any) -> str:
    text = _show(value)
    if "\n" in text:
        return f"  {label}:\n" + textwrap.indent(text, "      ")
    return f"  {label}: {text}"


def _describe_error(error: BaseException) -> str:
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _name_of(student: Any, topic: str) -> str:
    name = getattr(student, "__name__", None)
    return name if isinstance(name, str) and name.isidentifier() else topic


# ----------------------------------------------------------------------------- judging
@dataclass(frozen=True)
class Outcome:
    """What the student's code did on one case: returned `value`, raised, or is unanswered."""

    value: Any = None
    raised: str | None = None        # "TypeError: message"
    not_answered: bool = False


def judge(exercise: Exercise, name: str, cases: Sequence[tuple],
          outcomes: Iterable[Outcome]) -> tuple[bool, list[str]]:
    """Compare outcomes with the reference, case by case; (passed, the lines of the verdict).

    Stops at the first failing case, so `outcomes` may compute each one lazily. A model
    exercise is not judged here (it has no cases): its judge_model reads the model file.
    """
    if exercise.kind == "model":
        return False, [(f"{FAIL} {name}: a model exercise is judged by its judge_model "
                       "(the grader saves the network and reads the file), not by cases")]
    for number, (args, outcome) in enumerate(zip(cases, outcomes), start=1):
        if outcome.not_answered:
            unanswered = f"{TODO} {name}: not answered yet (the function still raises NotImplementedError)"
            return False, [unanswered]
        expected = exercise.reference(*_copies(args))
        if outcome.raised is not None:
            failure = f"your function raised {outcome.raised}"
        else:
            failure = exercise.compare(expected, outcome.value)
        if failure:
            lines = [f"{FAIL} {name}: failed on case {number} of {len(cases)} ({failure})"]
            lines += [_field(f"input {label}", value) for label, value in zip(exercise.arg_names, args)]
            if exercise.reference_label:
                lines.append(f"  compared with: {exercise.reference_label}")
            lines.append(_field("expected", expected))
            if outcome.raised is None:
                lines.append(_field("got", _as_shown(outcome.value)))
            return False, lines
    return True, [f"{PASS} {name}: passed {len(cases)} cases"]


def judge_model_file(exercise: Exercise, name: str, path: str, seed: int) -> tuple[float, list[str]]:
    """The grader's verdict on a model exercise: (fraction of the points, the verdict's lines).

    path: the model file the box wrote (CNN.save of the answer variable; missing if the
    variable held no trained CNN); seed: the grader's secret seed. judge_model reads the file
    as untrusted data and draws its held-out data from the seed; a bad file is a 0 with its
    reason, never an exception.
    """
    fraction, text = exercise.judge_model(str(path), seed)
    mark = PASS if fraction == 1.0 else FAIL
    return fraction, [f"{mark} {name}: {fraction:.2f} of the points: {text}"]


def call(student_fn: Callable, args: tuple) -> Outcome:
    """Run the student's code on one case (on copies of the inputs) and record what happened."""
    try:
        return Outcome(value=student_fn(*_copies(args)))
    except NotImplementedError:
        return Outcome(not_answered=True)
    except Exception as error:  # noqa: BLE001 -- any bug in the student code is a failed case
        return Outcome(raised=_describe_error(error))


def _check(exercise: Exercise, student: Any) -> bool:
    """The self-check: the exercise's cases from seed 0, run here, one verdict printed."""
    cases = exercise.cases(np.random.default_rng(0))
    target = exercise.student_callable(student)
    passed, lines = judge(exercise, _name_of(student, exercise.topic), cases,
                          (call(target, args) for args in cases))
    print("\n".join(lines))
    return passed


def _copies(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _as_shown(got: Any) -> Any:
    if isinstance(got, list):
        try:
            return np.asarray(got)
        except ValueError:
            return got
    return got


# ----------------------------------------------------------------------------- the checks
def check_convolve1d(f: Callable) -> bool:
    """f(x, w) -> full 1D convolution of x with w, as np.convolve(x, w)."""
    return _check(EXERCISES["convolve1d"], f)


def check_convolve2d(f: Callable) -> bool:
    """f(image, kernel) -> valid 2D TRUE convolution (kernel flipped), as scipy mode="valid"."""
    return _check(EXERCISES["convolve2d"], f)


def check_cross_correlate2d(f: Callable) -> bool:
    """f(image, kernel) -> valid 2D cross-correlation (kernel not flipped)."""
    return _check(EXERCISES["cross_correlate2d"], f)


def check_toeplitz(f: Callable) -> bool:
    """f(w, n) -> the (n + m - 1, n) Toeplitz matrix T with T @ x == np.convolve(w, x)."""
    return _check(EXERCISES["toeplitz"], f)


def check_conv2d_matrix(f: Callable) -> bool:
    """f(kernel, input_shape) -> matrix W' with W' @ X.ravel() == valid cross-correlation of X."""
    return _check(EXERCISES["conv2d_matrix"], f)


def check_padding_for_output(f: Callable) -> bool:
    """f(i, k, s, o) -> smallest p >= 0 with conv_output_size(i, k, s, p) == o, or None.

    Relationship 6 solved for p: floor((i + 2p - k) / s) + 1 == o. None when no p works
    (o too small for the input, or, with s = 1, the wrong parity).
    """
    return _check(EXERCISES["padding_for_output"], f)


def check_smallest_input(f: Callable) -> bool:
    """f(layers, o) -> smallest input size i whose output through the layers is o.

    layers: a list of (k, s, p) per layer along one axis (pooling: p = 0), every one with
    2p < k, so that each layer's smallest output is 1 and every o >= 1 is reachable.
    """
    return _check(EXERCISES["smallest_input"], f)


def check_chance_loss(f: Callable) -> bool:
    """f(labels, n_classes) -> (q, loss): the constant prediction with the lowest mean
    cross-entropy on these labels (q[c] = share of class c) and that loss, in nats.
    """
    return _check(EXERCISES["chance_loss"], f)


def check_scheduler(cls: type, reference: str = "Adam", **hyper: float) -> bool:
    """Compare the student's scheduler class with ours over gradient sequences.

    Both get the same hyper-parameters (defaults for `reference` unless given) and
    the same gradients; every change returned by update_change must agree. The last
    case calls reset() halfway and repeats the sequence: the changes must repeat too.
    """
    return _check(scheduler_exercise(reference, **hyper), cls)


def check_conv_backward(f: Callable) -> bool:
    """f(X, kernel, dZ) -> (dX, dkernel) for Z = valid cross-correlation, stride 1, no bias.

    X (N, C, H, W), kernel (C, F, kh, kw), dZ (N, F, H - kh + 1, W - kw + 1).
    """
    return _check(EXERCISES["conv_backward"], f)


def check_pool_backward(f: Callable) -> bool:
    """f(X, dA, k) -> dX for k x k max pooling with stride k (H and W divisible by k).

    X (N, C, H, W), dA (N, C, H // k, W // k); each dA entry goes to the maximum of
    its window, every other position gets 0.
    """
    return _check(EXERCISES["pool_backward"], f)


def check_im2col(f: Callable) -> bool:
    """f(image, kernel_height, kernel_width) -> (out_h * out_w, kh * kw), one row per window."""
    return _check(EXERCISES["im2col"], f)


def check_col2im(f: Callable) -> bool:
    """f(cols, image_shape, kernel_height, kernel_width) -> (H, W): the adjoint of im2col.

    cols (out_h * out_w, kh * kw) holds one window per row, in the layout of check_im2col;
    every pixel receives the sum of the entries of all windows that contain it.
    """
    return _check(EXERCISES["col2im"], f)


def check_best_hyperparameters(f: Callable) -> bool:
    """f(accuracy, etas, lambdas) -> (eta, lam) of the best finite accuracy (NaN = diverged).

    accuracy has shape (len(etas), len(lambdas)).
    """
    return _check(EXERCISES["best_hyperparameters"], f)


def check_parameter_count(f: Callable) -> bool:
    """f(input_shape, layers) -> list of the trainable parameters of each layer.

    input_shape: (C, H, W) of one image. layers: tuples ("conv", feature_maps, k, stride,
    pad) with a square k x k kernel and pad "same" or "valid"; ("pool", k, stride);
    ("flatten",); ("dense", nodes). Compared with a course_utils CNN built from them.
    """
    return _check(EXERCISES["parameter_count"], f)


def check_shift(f: Callable) -> bool:
    """f(image, dy, dx) -> the 2D image moved dy pixels down and dx right, zeros shifted in.

    Compared with course_utils.data.shift_images; shifts are smaller than the image.
    """
    return _check(EXERCISES["shift"], f)


def check_flip_energy(f: Callable) -> bool:
    """f(spins) -> the energy change (J = 1) of flipping each spin of an (L, L) lattice of
    +1/-1 (L even) with periodic boundaries: 2 s_ij (sum of its four nearest neighbours).
    """
    return _check(EXERCISES["flip_energy"], f)


def check_circular_pad(f: Callable) -> bool:
    """f(image, p) -> the 2D image with p rows/columns added on every side, taken from the
    opposite edge (periodic boundaries), shape (H + 2p, W + 2p); 2p + 1 <= min(H, W).
    """
    return _check(EXERCISES["circular_pad"], f)


def check_crossing_temperature(f: Callable) -> bool:
    """f(T, values) -> the first temperature where values crosses 0.5, linearly interpolated
    between the two temperatures around the crossing (a value of exactly 0.5 gives its own
    T; nan if the curve never crosses).
    """
    return _check(EXERCISES["crossing_temperature"], f)


def check_conv_backward_strided(f: Callable) -> bool:
    """f(X, kernel, dZ, stride, pad) -> (dX, dkernel) for Z = cross-correlation of X padded
    with `pad` zeros on every side, the kernel moved `stride` pixels at a time, no bias.

    X (N, C, H, W), kernel (C, F, kh, kw), dZ (N, F, out_h, out_w) with
    out = floor((H + 2 pad - kh) / stride) + 1. Judged by a gradient check: central
    differences of sum(Z * dZ), on shapes where the stride drops the border and leaves gaps.
    """
    return _check(EXERCISES["conv_backward_strided"], f)


def check_dense_backward(f: Callable) -> bool:
    """f(X, W, b, dA) -> (dX, dW, db) of A = sigmoid(X @ W + b), by a gradient check.

    Prints which gradients still disagree with central differences of sum(A * dA).
    """
    return _check(EXERCISES["dense_backward"], f)


def check_fixed_run(f: Callable) -> bool:
    """f(run) -> the failing run's configuration (a dict, FAILING_RUN) repaired.

    The repaired run is re-run on other digits. It passes when it learns (training loss at
    least halves, accuracy >= 0.80 on digits it never saw) and its validation accuracy is
    within 0.06 of that unseen accuracy; otherwise the verdict names the symptoms that remain.
    """
    return _check(EXERCISES["fixed_run"], f)


def check_matched_filter(f: Callable) -> bool:
    """Notebook 09. f(x, template) -> the matched filter's output at every valid position of
    the 1D signal x: z[i] = sum_j x[i + j] template[j] / ||template||, shape
    (len(x) - len(template) + 1,).
    """
    return _check(EXERCISES["matched_filter"], f)


def check_receptive_field(f: Callable) -> bool:
    """Notebook 09. f(layers) -> the receptive field (in input samples) of one output of a
    stack of 1D convolutions, layers a list of (kernel_size, stride, dilation), first layer
    first.
    """
    return _check(EXERCISES["receptive_field"], f)


def check_detection_probability(f: Callable) -> bool:
    """Notebook 09. f(noise_scores, signal_scores, false_alarm) -> the share of signal scores
    strictly above np.quantile(noise_scores, 1 - false_alarm).
    """
    return _check(EXERCISES["detection_probability"], f)


def _check_model(exercise: Exercise, model: Any, score: Callable[[str], tuple[float, str]]) -> float:
    """Save the student's network, score the file as the grader would; print; the fraction."""
    import tempfile
    from pathlib import Path

    name = exercise.answer
    if model is None or not hasattr(model, "save"):
        print(f"{TODO} {name}: not answered yet (no trained CNN in {name})")
        return 0.0
    with tempfile.TemporaryDirectory(prefix="model-check-") as folder:
        path = Path(folder) / "model.npz"
        try:
            model.save(path)
        except Exception as error:  # noqa: BLE001 -- an untrained network cannot be saved
            print(f"{FAIL} {name}: the network could not be saved ({_describe_error(error)})")
            return 0.0
        fraction, text = score(str(path))
    mark = PASS if fraction == 1.0 else FAIL
    print(f"{mark} {name}: {fraction:.2f} of the points on your validation data: {text}")
    return fraction


def check_digit_model(model: Any) -> float:
    """Score the trained digit network as the grader will, but on YOUR validation digits.

    The 500 validation digits of the notebook's split, distorted by distort_digits with seed 0;
    the grader uses 2,000 distortions of the 1,000 test digits, from a secret seed. Returns
    the fraction of the points: 1 at accuracy >= 0.89, 0 at <= 0.70, linear between.
    """
    ex = nb05_cnn_training
    return _check_model(EXERCISES["digit_model"], model, lambda path: ex.score_digit_model(
        path, *ex.validation_digits(0), "distorted validation digits"))


def check_phase_model(model: Any) -> float:
    """Score the L = 16 phase classifier as the grader will (configurations from seed 0).

    Accuracy of P(ordered) > 1/2 (column 1, averaged over s and -s) on fresh configurations
    at T = 1.7 ... 3.2; 1 at >= 0.95, 0 at <= 0.75.
    """
    return _check_model(EXERCISES["phase_model"], model,
                        lambda path: nb08_ising_phases.judge_phase_model(path, 0))


def check_crossing_model(model: Any) -> float:
    """Score the L = 12 classifier as the grader will (configurations from seed 0): where its
    mean P(ordered) crosses 1/2 between T = 1.9 and 2.7; full points within 0.10 of
    Onsager's T_c (a finite lattice crosses a little above it), none beyond 0.25, and
    none if it misclassifies T = 1.9 or 2.7.
    """
    return _check_model(EXERCISES["crossing_model"], model,
                        lambda path: nb08_ising_phases.judge_crossing_model(path, 0))


def check_chirp_detector(model: Any) -> float:
    """Score the chirp detector as the grader will (4,000 examples from seed 0): column 1 of
    its softmax output is the statistic; P_D at 1% false alarms on L = 128 samples of white
    noise, half with a chirp at SNR 5; 1 at P_D >= 0.70, 0 at <= 0.30, linear between.
    """
    return _check_model(EXERCISES["chirp_detector"], model,
                        lambda path: nb09_signals.judge_chirp_detector(path, 0))
