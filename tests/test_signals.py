"""signals: chirps in noise, the matched filter, ROC curves and detection probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from course_utils.layers_1d import Convolution1DLayer
from course_utils.signals import (
    auc,
    chirp_template,
    detection_probability,
    detection_probability_known_time,
    make_chirps,
    matched_filter,
    matched_filter_statistic,
    roc_curve,
    template_bank,
)


def test_the_template_has_unit_norm_and_sweeps_up():
    template = chirp_template(128, 0.05, 0.3)
    assert template.shape == (128,) and np.isclose(np.linalg.norm(template), 1)
    # zero crossings come closer together: the frequency rises
    crossings = np.flatnonzero(np.diff(np.sign(template)) != 0)
    gaps = np.diff(crossings)
    assert gaps[:3].mean() > 2 * gaps[-3:].mean()


def test_make_chirps_is_seeded_and_puts_the_chirp_where_it_says():
    data = make_chirps(50, length=128, snr=1000.0, seed=3, template_length=32)
    again = make_chirps(50, length=128, snr=1000.0, seed=3, template_length=32)
    np.testing.assert_array_equal(data.X, again.X)
    assert not np.array_equal(data.X, make_chirps(50, length=128, snr=1000.0, seed=4,
                                                  template_length=32).X)
    assert data.X.shape == (50, 1, 128) and data.y.sum() == 25
    template = chirp_template(32)
    for x, y, start in zip(data.X[:, 0], data.y, data.arrival):
        if y:
            # at snr 1000 the chirp dominates: the signal is 1000 * template there
            np.testing.assert_allclose(x[start : start + 32] / 1000, template, atol=0.01)
        else:
            assert start == -1 and np.abs(x).max() < 6


def test_the_noise_is_white_with_unit_variance():
    X = make_chirps(400, length=256, signal_fraction=0.0, seed=5).X[:, 0]
    assert abs(X.std() - 1) < 0.01 and abs(X.mean()) < 0.01
    lag1 = np.mean(X[:, 1:] * X[:, :-1])
    assert abs(lag1) < 0.01


def test_matched_filter_output_snr_equals_the_snr_on_a_known_template():
    """At the chirp's arrival the filter's output has mean snr and standard deviation 1."""
    snr = 4.0
    data = make_chirps(4000, length=96, snr=snr, seed=6, template_length=32, signal_fraction=1.0)
    z = matched_filter(data.X, chirp_template(32))
    at_arrival = z[np.arange(len(z)), data.arrival]
    # 4000 samples: the mean is known to 1/sqrt(4000) = 0.016
    assert abs(at_arrival.mean() - snr) < 0.06 and abs(at_arrival.std() - 1) < 0.05
    noise = matched_filter(make_chirps(4000, length=96, seed=7, signal_fraction=0.0,
                                       template_length=32).X, chirp_template(32))
    assert abs(noise.mean()) < 0.02 and abs(noise.std() - 1) < 0.02


def test_matched_filter_is_a_1d_convolution_layer_with_the_template_as_kernel():
    X = np.random.default_rng(8).normal(size=(3, 1, 50))
    template = chirp_template(16)
    layer = Convolution1DLayer(1, 1, 16, pad="valid", seed=0)
    layer.params["kernel"][0, 0] = template
    np.testing.assert_allclose(matched_filter(X, template), layer.forward(X)[:, 0], atol=1e-12)
    # a scaled template gives the same output (the filter divides by the norm)
    np.testing.assert_allclose(matched_filter(X, 3 * template), matched_filter(X, template))


def test_a_template_bank_takes_the_best_template():
    bank = template_bank([0.15, 0.25, 0.35])
    assert bank.shape == (3, 64)
    X = np.random.default_rng(9).normal(size=(4, 1, 200))
    expected = np.max([matched_filter(X, t).max(axis=1) for t in bank], axis=0)
    np.testing.assert_array_equal(matched_filter_statistic(X, bank), expected)
    np.testing.assert_array_equal(matched_filter_statistic(X, bank[1]),
                                  matched_filter(X, bank[1]).max(axis=1))


def test_roc_curve_and_auc_agree_with_sklearn():
    rng = np.random.default_rng(10)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + labels, 1)  # rounded: ties included
    false_alarm, detection, thresholds = roc_curve(scores, labels)
    fpr, tpr, _ = sklearn_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(false_alarm, fpr)
    np.testing.assert_allclose(detection, tpr)
    assert np.isinf(thresholds[0]) and np.all(np.diff(thresholds) < 0)
    assert np.isclose(auc(false_alarm, detection), roc_auc_score(labels, scores))


def test_detection_probability_and_its_error_on_gaussian_scores():
    rng = np.random.default_rng(11)
    n = 20000
    scores = np.r_[rng.normal(size=n), rng.normal(2.0, 1.0, size=n)]
    labels = np.r_[np.zeros(n), np.ones(n)]
    p, error = detection_probability(scores, labels, false_alarm=0.01)
    exact = float(detection_probability_known_time(2.0, 0.01))
    assert abs(p - exact) < 3 * error and 0.003 < error < 0.02
    assert np.isclose(exact, stats.norm.sf(stats.norm.isf(0.01) - 2.0))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: chirp_template(2), "template_length must be at least 4"),
        (lambda: chirp_template(64, f_end=0.6), r"f_end must be a frequency.*0.5 \(Nyquist\)"),
        (lambda: make_chirps(10, length=32, template_length=64), "template_length=64 is longer"),
        (lambda: make_chirps(10, snr=(5, 2)), r"snr must be a number or a pair"),
        (lambda: make_chirps(10, signal_fraction=2), "signal_fraction must be in"),
        (lambda: matched_filter(np.ones((2, 1, 10)), np.ones(20)), "template has 20 samples"),
        (lambda: roc_curve([1, 2], [1, 1]), "both classes"),
        (lambda: roc_curve([1, 2], [0, 2]), "labels must be 0"),
        (lambda: detection_probability([1, 2], [0, 1], false_alarm=0), "false_alarm must be in"),
    ],
)
def test_bad_input_raises_value_errors_that_say_what_to_do(call, match):
    with pytest.raises(ValueError, match=match):
        call()
