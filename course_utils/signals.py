"""Chirps in white Gaussian noise, the matched filter, and ROC curves (notebook 09).

The detection problem of gravitational-wave searches, scaled down: a short chirp (a
windowed sine whose frequency sweeps up) hides at an unknown time in a longer stretch of
white Gaussian noise of unit variance; is it there?

Units: time in samples, frequency in cycles per sample (0.5 is the Nyquist frequency).
Signal-to-noise ratio (snr) is the optimal one, ||signal|| / sigma: the mean output of
the matched filter at the right time, in units of its noise standard deviation.

    template = chirp_template()                      # (64,), unit norm
    data = make_chirps(2000, snr=5, seed=1)          # data.X (2000, 1, 256), data.y (2000,)
    scores = matched_filter_statistic(data.X, template)
    false_alarm, detection, _ = roc_curve(scores, data.y)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from . import _validation as check

__all__ = [
    "Chirps",
    "auc",
    "chirp_template",
    "detection_probability",
    "detection_probability_known_time",
    "make_chirps",
    "matched_filter",
    "matched_filter_statistic",
    "roc_curve",
    "template_bank",
]


def chirp_template(
    template_length: int = 64, f_start: float = 0.05, f_end: float = 0.25
) -> np.ndarray:
    """A chirp of unit norm, (template_length,): Hann window times a linear sweep.

    s[t] = w[t] sin(2 pi (f_start t + (f_end - f_start) t^2 / (2 T))), t = 0 .. T - 1, then
    divided by its norm so that sum(s**2) == 1 (the snr then sets the amplitude alone).
    The frequency rises from f_start to f_end cycles per sample (both in (0, 0.5)).
    """
    template_length = check.positive_int("template_length", template_length)
    if template_length < 4:
        raise ValueError(f"template_length must be at least 4 samples, got {template_length}.")
    for name, value in (("f_start", f_start), ("f_end", f_end)):
        if not isinstance(value, (int, float, np.floating)) or not 0 < value < 0.5:
            raise ValueError(
                f"{name} must be a frequency in cycles per sample between 0 and 0.5 (Nyquist), "
                f"got {value!r}; e.g. {name}=0.1."
            )
    t = np.arange(template_length)
    phase = 2 * np.pi * (f_start * t + (f_end - f_start) * t**2 / (2 * template_length))
    signal = np.hanning(template_length + 2)[1:-1] * np.sin(phase)  # no zero end points
    return signal / np.linalg.norm(signal)


class Chirps(NamedTuple):
    """A data set of make_chirps: X (N, 1, length) data, y (N,) 1 = chirp present, 0 =
    noise only; arrival (N,) first sample of the chirp (-1 without); f_end (N,) its final
    frequency (nan without)."""

    X: np.ndarray
    y: np.ndarray
    arrival: np.ndarray
    f_end: np.ndarray


def make_chirps(
    n: int,
    length: int = 256,
    snr: float | tuple[float, float] = 5.0,
    seed: int = 0,
    template_length: int = 64,
    f_start: float = 0.05,
    f_end: float | tuple[float, float] = 0.25,
    signal_fraction: float = 0.5,
) -> Chirps:
    """n stretches of white Gaussian noise (unit variance), a chirp added to some of them.

    A chirp starts at a uniformly random sample in [0, length - template_length] (the
    arrival time is unknown to the detector) with amplitude snr (the template has unit
    norm). snr or f_end given as (low, high) is drawn uniformly per example: f_end a range
    is the family with unknown sweep. signal_fraction of the examples (rounded) carry a
    chirp, in random order. The same seed gives the same data (its own Generator; the
    global np.random is never touched).
    """
    n = check.positive_int("n", n)
    length = check.positive_int("length", length)
    template_length = check.positive_int("template_length", template_length)
    if template_length > length:
        raise ValueError(
            f"template_length={template_length} is longer than length={length}; the chirp "
            "must fit in the data: use a longer length or a shorter template."
        )
    check.seed_or_none(seed)
    if not 0 <= signal_fraction <= 1:
        raise ValueError(f"signal_fraction must be in [0, 1], got {signal_fraction!r}; e.g. 0.5.")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, length))
    y = np.zeros(n, dtype=np.int64)
    y[: round(signal_fraction * n)] = 1
    rng.shuffle(y)
    snrs = _draw("snr", snr, n, rng)
    f_ends = _draw("f_end", f_end, n, rng)
    arrival = np.where(y == 1, rng.integers(0, length - template_length + 1, size=n), -1)
    for index in np.flatnonzero(y):
        template = chirp_template(template_length, f_start, f_ends[index])
        start = arrival[index]
        X[index, 0, start : start + template_length] += snrs[index] * template
    return Chirps(X, y, arrival, np.where(y == 1, f_ends, np.nan))


def _draw(name: str, value, n: int, rng: np.random.Generator) -> np.ndarray:
    """A number repeated n times, or n uniform draws from a (low, high) pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not value[0] <= value[1]:
            raise ValueError(f"{name} must be a number or a pair (low, high), got {value!r}.")
        return rng.uniform(value[0], value[1], size=n)
    check.non_negative_float(name, value, f"e.g. {name}=5.")
    return np.full(n, float(value))


def matched_filter(X: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Cross-correlation of every signal with the template, in units of the noise.

    X (N, L) or (N, 1, L), template (m,) -> (N, L - m + 1):
        z[n, i] = sum_j X[n, i + j] template[j] / ||template||.
    For unit white noise z is N(0, 1) at every lag; where the chirp sits it has mean snr.
    It is a 1D convolution layer with one fixed kernel (the flipped template), "valid".
    """
    X = _one_channel(X)
    template = check.finite_array("template", template, ndim=1, layout="(m,)")
    if template.shape[0] > X.shape[1]:
        raise ValueError(
            f"template has {template.shape[0]} samples, more than the signals' {X.shape[1]}; "
            "use a shorter template or longer signals."
        )
    windows = np.lib.stride_tricks.sliding_window_view(X, template.shape[0], axis=1)
    return windows @ (template / np.linalg.norm(template))


def matched_filter_statistic(X: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """The detection statistic max over time (and templates) of the matched filter, (N,).

    bank: one template (m,) or a bank (K, m) of them (template_bank); the statistic is the
    largest output over all lags and all templates (the search of an unknown arrival
    time and an unknown sweep).
    """
    bank = np.atleast_2d(np.asarray(bank, dtype=float))
    return np.max([matched_filter(X, template).max(axis=1) for template in bank], axis=0)


def template_bank(
    f_ends, template_length: int = 64, f_start: float = 0.05
) -> np.ndarray:
    """Templates (K, template_length) of chirps ending at each frequency of f_ends."""
    return np.stack([chirp_template(template_length, f_start, f) for f in np.ravel(f_ends)])


def _one_channel(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 3 and X.shape[1] == 1:
        X = X[:, 0]
    return check.finite_array("X", X, ndim=2, layout="(N, L) or (N, 1, L): one channel")


# ---------------------------------------------------------------------------
# ROC curves and detection probability
# ---------------------------------------------------------------------------


def _scores_labels(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores = check.finite_array("scores", np.ravel(scores))
    labels = np.ravel(labels)
    if labels.shape != scores.shape or not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"labels must be 0 (noise) or 1 (signal), one per score ({scores.shape[0]}), got "
            f"shape {labels.shape}."
        )
    if labels.min() == labels.max():
        raise ValueError("labels must hold both classes, 0 (noise) and 1 (signal).")
    return scores, labels.astype(bool)


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false_alarm, detection, thresholds): the ROC curve of "signal if score >= threshold".

    For each distinct score, highest first, the fraction of noise examples (false alarm
    rate) and of signal examples (detection probability) at or above it; it starts at
    (0, 0) (threshold +inf). The same points as sklearn.metrics.roc_curve without dropping
    any.
    """
    scores, labels = _scores_labels(scores, labels)
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]  # end of each tie group
    detected, false = np.cumsum(labels)[last], np.cumsum(~labels)[last]
    detection = np.r_[0, detected] / labels.sum()
    false_alarm = np.r_[0, false] / (~labels).sum()
    return false_alarm, detection, np.r_[np.inf, scores[last]]


def auc(false_alarm: np.ndarray, detection: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids): 0.5 for guessing, 1 for a perfect detector;
    the probability that a signal example scores above a noise example."""
    return float(np.trapezoid(detection, false_alarm))


def detection_probability(scores, labels, false_alarm: float = 0.01) -> tuple[float, float]:
    """(P_D, its standard error) at the threshold that the noise examples exceed with
    probability false_alarm.

    The threshold is the (1 - false_alarm) quantile of the noise scores; P_D is the
    fraction of signal examples above it; its standard error is the binomial one,
    sqrt(P_D (1 - P_D) / n_signal), plus (in quadrature) the change of P_D when the
    threshold moves by the noise quantile's own binomial uncertainty.
    """
    scores, labels = _scores_labels(scores, labels)
    if not 0 < false_alarm < 1:
        raise ValueError(f"false_alarm must be in (0, 1), got {false_alarm!r}; e.g. 0.01.")
    noise, signal = scores[~labels], scores[labels]
    # the quantile's uncertainty: the (1 - a) +- sqrt(a (1 - a) / n_noise) quantiles
    spread = np.sqrt(false_alarm * (1 - false_alarm) / noise.size)
    low, threshold, high = np.quantile(
        noise, [1 - min(false_alarm + spread, 1), 1 - false_alarm, 1 - max(false_alarm - spread, 0)]
    )
    p = float(np.mean(signal > threshold))
    p_low, p_high = np.mean(signal > high), np.mean(signal > low)
    binomial = p * (1 - p) / signal.size
    return p, float(np.sqrt(binomial + ((p_high - p_low) / 2) ** 2))


def detection_probability_known_time(snr, false_alarm: float = 0.01):
    """P_D of the matched filter when the arrival time is known: 1 - Phi(z_(1-a) - snr).

    The filter's output at the right time is N(snr, 1) with a chirp, N(0, 1) without;
    this is the best any detector can do (Neyman-Pearson). Not knowing the time costs
    sensitivity: the maximum over many lags of pure noise is larger.
    """
    return stats.norm.sf(stats.norm.isf(false_alarm) - np.asarray(snr, dtype=float))
