"""Saliency (d class score / d input, through the layers' backward) and occlusion maps."""

from __future__ import annotations

import numpy as np
import pytest
from cnn_helpers import bars, lecture_untraditional_cnn, small_model

from course_utils.activations import LRELU, sigmoid
from course_utils.cnn import CNN
from course_utils.costs import CostLogReg
from course_utils.gradcheck import numerical_gradient, relative_error
from course_utils.saliency import class_score, occlusion_map, saliency
from course_utils.schedulers import Adam


@pytest.fixture(scope="module")
def trained():
    X, t, _ = bars(64, seed=0)
    model = small_model(seed=0)
    model.fit(X, t, epochs=2, batches=4, progress=False)
    return model


def _finite_differences(model, X, target, score):
    X = X.copy()
    return numerical_gradient(lambda: class_score(model, X, target, score).sum(), X)


@pytest.mark.parametrize("score", ["logit", "probability"])
def test_saliency_matches_finite_differences(trained, score):
    X, _, _ = bars(3, seed=1)
    targets = np.array([0, 1, 1])
    analytic = saliency(trained, X, targets, score)
    numeric = _finite_differences(trained, X, targets, score)
    assert analytic.shape == X.shape
    assert relative_error(analytic, numeric) < 1e-6


def test_saliency_matches_finite_differences_through_strides_and_average_pooling():
    X, _, _ = bars(2, seed=2, size=28)
    model = lecture_untraditional_cnn(seed=1)
    model.fit(X, np.eye(10)[[3, 5]], epochs=1, batches=1, progress=False)  # creates the weights
    X = X[:1]
    analytic = saliency(model, X, 3, "probability")
    assert relative_error(analytic, _finite_differences(model, X, 3, "probability")) < 1e-5


def test_saliency_of_a_sigmoid_output():
    X, _t, labels = bars(32, seed=3)
    model = CNN(CostLogReg, Adam(eta=1e-2, rho=0.9, rho2=0.999), seed=0)
    model.add_Convolution2DLayer(1, 2, 3, 3, act_func=LRELU)
    model.add_FlattenLayer()
    model.add_OutputLayer(1, sigmoid)
    model.fit(X, labels[:, None].astype(float), epochs=1, batches=2, progress=False)
    analytic = saliency(model, X[:2], 0, "probability")
    assert relative_error(analytic, _finite_differences(model, X[:2], 0, "probability")) < 1e-6


def test_saliency_leaves_the_weights_alone(trained):
    before = [p.copy() for layer in trained.layers for p in layer.params.values()]
    saliency(trained, bars(2, seed=4)[0], 0)
    after = [p for layer in trained.layers for p in layer.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_occlusion_map_is_the_score_drop_averaged_over_the_patches_covering_a_pixel(trained):
    image = bars(1, seed=5)[0][0]
    drop = occlusion_map(trained, image, 1, patch=3, stride=1, fill=0.0)
    assert drop.shape == (8, 8)
    # pixel (0, 0) is covered by the one patch at (0, 0) only
    covered = image.copy()
    covered[:, :3, :3] = 0.0
    reference = class_score(trained, image[None], 1, "probability")[0]
    expected = reference - class_score(trained, covered[None], 1, "probability")[0]
    assert drop[0, 0] == pytest.approx(expected, abs=1e-12)
    # pixel (1, 1): the mean over the four patches at (0..1, 0..1)
    drops = []
    for i in (0, 1):
        for j in (0, 1):
            covered = image.copy()
            covered[:, i:i + 3, j:j + 3] = 0.0
            drops.append(reference - class_score(trained, covered[None], 1, "probability")[0])
    assert drop[1, 1] == pytest.approx(np.mean(drops), abs=1e-12)


def test_occlusion_map_leaves_pixels_no_patch_covers_as_nan(trained):
    drop = occlusion_map(trained, bars(1, seed=6)[0][0], 0, patch=2, stride=3)
    assert np.isnan(drop[2, 0]) and np.isfinite(drop[0, 0]) and np.isfinite(drop[3, 3])


@pytest.mark.parametrize("call, match", [
    (lambda m, x: saliency(m, x[0], 0), r"X must be a batch of images \(N, C, H, W\)"),
    (lambda m, x: saliency(m, x, 2), "target must be a class index 0..1"),
    (lambda m, x: saliency(m, x, 0, score="loss"), "score must be one of"),
    (lambda m, x: saliency(m.layers[:-1], x, 0), "ending in an OutputLayer"),
    (lambda m, x: occlusion_map(m, x[0], 0, patch=9), "patch must be an integer from 1 to 8"),
    (lambda m, x: occlusion_map(m, x[0], 0, stride=1.5), "stride must be an integer"),
    (lambda m, x: occlusion_map(m, x, 0), r"image must be one image \(C, H, W\)"),
])
def test_bad_input_says_what_to_fix(trained, call, match):
    X = bars(2, seed=7)[0]
    with pytest.raises(ValueError, match=match):
        call(trained, X)
