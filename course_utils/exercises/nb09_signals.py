"""Notebook 09 (signals in one dimension): the matched filter of a template, the receptive
field of a stack of 1D convolutions (stride, dilation), and the detection probability at a
given false-alarm rate; and a chirp detector judged on fresh data (a model)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    no_cases,
    no_compare,
    no_reference,
    same_array,
    same_float,
    same_ints,
)
from course_utils.exercises._models import (
    ModelLimits,
    ModelRejected,
    fraction_between,
    predict_in_batches,
    read_model,
)


def _matched_filter_reference(x, template):
    """z[i] = sum_j x[i + j] template[j] / ||template||, the valid positions."""
    from course_utils.signals import matched_filter

    return matched_filter(np.asarray(x, dtype=float)[None, :], template)[0]


def _matched_filter_cases(rng):
    from course_utils.signals import chirp_template

    cases = [(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0])),
             (np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0])),
             (np.array([1.0, -1.0, 2.0, 0.0, 3.0]), np.array([3.0, 4.0])),
             (np.array([2.0, 0.0, -1.0]), np.array([1.0, 0.0, -1.0]))]
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
    cases = [([(3, 1, 1)],), ([(3, 1, 1), (3, 1, 1)],), ([(3, 1, 2)],),
             ([(3, 1, 1), (3, 1, 2), (3, 1, 4)],), ([(2, 2, 1), (2, 2, 1), (2, 2, 1)],),
             ([(5, 2, 1), (5, 2, 1), (5, 2, 1)],), ([(1, 1, 1)],), ([(4, 3, 1), (3, 1, 2)],)]
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


EXERCISES = (
    Exercise("matched_filter", _matched_filter_cases, _matched_filter_reference, same_array(),
             ("x", "template"), reference_label="course_utils.signals.matched_filter",
             references=("matched_filter", "correlate", "convolve", "sliding_window_view")),
    Exercise("receptive_field", _receptive_field_cases, _receptive_field_reference, same_ints,
             ("layers (kernel_size, stride, dilation)",),
             reference_label="smallest signal that a stack of "
                             "Convolution1DLayer(..., pad='valid') maps to one output",
             references=("receptive_field", "Convolution1DLayer", "dilated_extent")),
    Exercise("detection_probability", _detection_probability_cases,
             _detection_probability_reference, same_float,
             ("noise_scores", "signal_scores", "false_alarm"),
             reference_label="course_utils.signals.detection_probability",
             references=("detection_probability", "roc_curve")),
)


# ----------------------------------------------------------------------------- model: detector
# Section 6's problem: L = 128 samples of unit white noise, some with a chirp of 32 samples
# (0.05 to 0.25 cycles per sample) at an unknown time. Column 1 of the softmax output is the
# detection statistic, as in the notebook. Judged by P_D at a 1% false-alarm rate at SNR 5
# on fresh examples. Measured (the notebook's solution: section 6's detector, 2,522
# parameters, 8,000 examples of SNR 3 to 8, 8 epochs; training seeds 0-3 x judge seeds 0, 7,
# 99): P_D 0.77 to 0.83, trained in 2.3 to 7.4 s on one core (loaded machine: the upper
# end); an untrained network 0.09 to 0.14; the matched filter about 0.92. Judging: ~0.2 s.
DETECTOR_LENGTH, DETECTOR_TEMPLATE = 128, 32
DETECTOR_LIMITS = ModelLimits(input_shape=(1, DETECTOR_LENGTH), outputs=2, max_parameters=5_000,
                              max_bytes=500_000, max_multiply_adds=1_000_000)
DETECTOR_SNR, DETECTOR_FALSE_ALARM = 5.0, 0.01
# The threshold is the 99% quantile of the noise scores: 8,000 noise examples put 80 above
# it (2,000 would put 20, and the threshold's own scatter would move P_D by several points
# from one grading seed to the next); 2,000 chirps give P_D to about +-0.01.
DETECTOR_NOISE, DETECTOR_CHIRPS = 8_000, 2_000
DETECTOR_TARGET, DETECTOR_FLOOR = 0.65, 0.30
DETECTOR_BUDGET_SECONDS = 15.0


def fresh_chirps(seed: int, noise: int = DETECTOR_NOISE, chirps: int = DETECTOR_CHIRPS):
    """noise + chirps examples (n, 1, 128) float32 at SNR 5 and their labels (n,), from seed:
    the first `noise` hold noise only (label 0), the others a chirp at a random time (1)."""
    from course_utils.signals import make_chirps

    seed = int(seed) % 2**63
    parts = [make_chirps(n, length=DETECTOR_LENGTH, snr=DETECTOR_SNR, seed=(seed + k) % 2**63,
                         template_length=DETECTOR_TEMPLATE, signal_fraction=float(k))
             for k, n in enumerate((noise, chirps))]
    return (np.concatenate([part.X for part in parts]).astype(np.float32),
            np.concatenate([part.y for part in parts]))


def judge_chirp_detector(path, seed: int) -> tuple[float, str]:
    """The grader's judge: P_D at 1% false alarms on fresh examples drawn from seed."""
    from course_utils.signals import detection_probability

    try:
        model = read_model(path, DETECTOR_LIMITS)
    except ModelRejected as error:
        return 0.0, str(error)
    X, y = fresh_chirps(seed)
    scores = predict_in_batches(model, X)[:, 1]
    if not np.all(np.isfinite(scores)):
        return 0.0, "the network's output is not finite on some examples"
    p_d, _ = detection_probability(scores, y, DETECTOR_FALSE_ALARM)
    return fraction_between(p_d, DETECTOR_FLOOR, DETECTOR_TARGET), (
        f"detection probability {p_d:.2f} at {DETECTOR_FALSE_ALARM:.0%} false alarms on "
        f"{len(y):,} fresh examples ({DETECTOR_NOISE:,} noise only, {DETECTOR_CHIRPS:,} chirps "
        f"at SNR {DETECTOR_SNR:g}) (target {DETECTOR_TARGET:.2f}, "
        f"floor {DETECTOR_FLOOR:.2f}); {sum(model.parameter_counts()):,} parameters (budget "
        f"{DETECTOR_LIMITS.max_parameters:,})")


EXERCISES += (
    Exercise("chirp_detector", no_cases, no_reference, no_compare, (), kind="model",
             answer="my_chirp_detector", budget_seconds=DETECTOR_BUDGET_SECONDS,
             max_bytes=DETECTOR_LIMITS.max_bytes, max_parameters=DETECTOR_LIMITS.max_parameters,
             judge_model=judge_chirp_detector),
)
