"""Notebook 05 (training on MNIST): parameter counts, shifted images, a digit network to a
target (model), and a failing training run to repair (diagnosis)."""

from __future__ import annotations

import functools

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    no_cases,
    no_compare,
    no_reference,
    same_array,
    same_int_list,
)
from course_utils.exercises._models import (
    ModelLimits,
    ModelRejected,
    fraction_between,
    predict_in_batches,
    read_model,
)
from course_utils.homework import (
    FAILING_RUN,
    RUN_LIMITS,
    distort_digits,
    run_configuration,
)


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


EXERCISES = (
    Exercise("parameter_count", _parameter_count_cases, _parameter_count_reference,
             same_int_list, ("input_shape", "layers"),
             reference_label="CNN(...).summary(input_shape) of these layers",
             references=("CNN", "count_params", "parameter_counts", "summary", "build_cnn")),
    Exercise("shift", _shift_cases, _shift_reference, same_array(rtol=0, atol=0),
             ("image", "dy", "dx"), references=("shift_images",)),
)


# ----------------------------------------------------------------------------- model: digits
# The notebook's split (cell 1): 3,500 to train, 500 to validate, 1,000 to test, seed 2023.
DIGIT_SPLIT = {"n_train": 3500, "n_val": 500, "n_test": 1000, "seed": 2023}
DIGIT_LIMITS = ModelLimits(input_shape=(1, 28, 28), outputs=10, max_parameters=20_000,
                           max_bytes=2_000_000)
DIGIT_TARGET, DIGIT_FLOOR = 0.89, 0.70
DIGIT_BUDGET_SECONDS = 20.0


@functools.lru_cache(maxsize=1)
def _digit_split():
    """The notebook's split, read once per process (a grader judges many hand-ins)."""
    from course_utils.data import load_mnist, train_val_test_split

    X, y = load_mnist()
    parts = train_val_test_split(X, y, **DIGIT_SPLIT)
    for part in parts:
        part.flags.writeable = False      # shared between calls: nobody may change it
    return parts


def held_out_digits(seed: int, copies: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The grader's data: `copies` distortions (from seed) of each of the 1,000 test digits."""
    _, _, X_test, _, _, y_test = _digit_split()
    rng = np.random.default_rng(seed)
    return (np.concatenate([distort_digits(X_test, rng) for _ in range(copies)]),
            np.tile(y_test, copies))


def validation_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The self-check's data: the 500 validation digits, distorted (from seed 0)."""
    _, X_val, _, _, y_val, _ = _digit_split()
    return distort_digits(X_val, np.random.default_rng(seed)), y_val


def score_digit_model(path, X: np.ndarray, y: np.ndarray, what: str) -> tuple[float, str]:
    """(fraction of the points, feedback) of the model file at path on digits X, labels y."""
    try:
        model = read_model(path, DIGIT_LIMITS)
    except ModelRejected as error:
        return 0.0, str(error)
    accuracy = float(np.mean(predict_in_batches(model, X).argmax(axis=1) == y))
    fraction = fraction_between(accuracy, DIGIT_FLOOR, DIGIT_TARGET)
    count = sum(model.parameter_counts())
    return fraction, (f"accuracy {accuracy:.3f} on {len(y):,} {what} (target {DIGIT_TARGET:.2f}, "
                      f"floor {DIGIT_FLOOR:.2f}); {count:,} parameters (budget "
                      f"{DIGIT_LIMITS.max_parameters:,})")


def judge_digit_model(path, seed: int) -> tuple[float, str]:
    """The grader's judge: the file's accuracy on 2,000 distorted test digits drawn from seed."""
    return score_digit_model(path, *held_out_digits(seed), "held-out distorted digits")


EXERCISES += (
    Exercise("digit_model", no_cases, no_reference, no_compare, (), kind="model",
             answer="my_digit_cnn", budget_seconds=DIGIT_BUDGET_SECONDS,
             max_bytes=DIGIT_LIMITS.max_bytes, max_parameters=DIGIT_LIMITS.max_parameters,
             judge_model=judge_digit_model,
             reference_label="accuracy on distorted held-out digits"),
)


# ----------------------------------------------------------------------------- diagnosis: a failing run
RUN_TARGET, RUN_HONEST = 0.80, 0.06


def _run_problem(config) -> str | None:
    """Why config is not a configuration of this run (keys, types, ranges), or None."""
    if not isinstance(config, dict) or set(config) - {"seed"} != set(FAILING_RUN):
        keys = sorted(config) if isinstance(config, dict) else type(config).__name__
        return f"expected a dict with the keys {sorted(FAILING_RUN)}, got {keys}"
    for key in ("divide_pixels_by", "eta"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
            return f"{key} must be a positive number, got {value!r}"
    for key, (low, high) in RUN_LIMITS.items():
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            return f"{key} must be an int from {low} to {high}, got {value!r}"
    if config["validation"] not in ("training", "held_out"):
        return f"validation must be 'training' or 'held_out', got {config['validation']!r}"
    return None


class Rerun(int):
    """The seed of the grader's re-run (which digits it trains on), shown as what is expected."""

    def __repr__(self) -> str:
        return (f"a run that learns and validates honestly when re-run on the digits of seed "
                f"{int(self)}")


def _fixed_run_reference(run: dict) -> Rerun:
    return Rerun(run["seed"])


def compare_fixed_run(seed, got) -> str | None:
    """Re-run the student's configuration on the grader's digits (the seed of the case, never
    one the answer chose); None if no symptom remains, else the symptoms."""
    problem = _run_problem(got)
    if problem:
        return problem
    result = run_configuration(got, int(seed))
    loss, val, unseen = result["train_loss"], result["val_acc"], result["unseen_acc"]
    symptoms = []
    if not np.all(np.isfinite(loss)) or not loss[-1] < 0.5 * loss[0] or unseen < RUN_TARGET:
        symptoms.append(f"the run does not learn: training loss {loss[0]:.3g} -> {loss[-1]:.3g}, "
                        f"accuracy {unseen:.3f} on unseen digits (needs {RUN_TARGET})")
    if abs(val - unseen) > RUN_HONEST:
        symptoms.append(f"the validation accuracy {val:.3f} is not what unseen digits give "
                        f"({unseen:.3f}): the validation set does not measure generalisation")
    return "; ".join(symptoms) or None


def _fixed_run_cases(rng):
    """One case: the failing run, with the seed of the digits the grader re-runs it on."""
    return [({**FAILING_RUN, "seed": int(rng.integers(2**31))},)]


EXERCISES += (
    Exercise("fixed_run", _fixed_run_cases, _fixed_run_reference, compare_fixed_run,
             ("run",), kind="diagnosis",
             reference_label="the re-run on the grader's digits: learns, and validates honestly"),
)
