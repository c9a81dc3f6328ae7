"""The judges of the model exercises: a right network earns full marks, an untrained or
over-budget one and a bad file earn 0 with a message that says why; the self-checks agree.

The "student answers" train like the notebooks' solutions, with the same budgets.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from course_utils import CNN, LRELU, Adam, checks, softmax
from course_utils.data import load_mnist, onehot, train_val_test_split
from course_utils.exercises import (
    EXERCISES,
    KINDS,
    Exercise,
    nb05_cnn_training,
    nb08_ising_phases,
    nb09_signals,
)
from course_utils.exercises._models import (
    ModelLimits,
    ModelRejected,
    count_multiply_adds,
    read_model,
)
from course_utils.ising import T_C, sample_configurations

ROOT = Path(__file__).resolve().parents[1]

MODEL_TOPICS = ("digit_model", "phase_model", "crossing_model", "chirp_detector")


def _digit_cnn(conv_maps=6, dense=32, seed=0):
    cnn = CNN(scheduler=Adam(eta=3e-3, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution2DLayer(1, conv_maps, 5, 5, pad="same", act_func=LRELU)
    cnn.add_PoolingLayer(4, 4, v_stride=4, h_stride=4)
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(dense, LRELU)
    cnn.add_OutputLayer(10, softmax)
    return cnn


def _ising_cnn(L, seed=0):
    cnn = CNN(scheduler=Adam(eta=3e-3, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution2DLayer(1, 4, 3, 3, pad="circular", act_func=LRELU)
    cnn.add_PoolingLayer(L // 4, L // 4, v_stride=L // 4, h_stride=L // 4, pooling="average")
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(16, LRELU)
    cnn.add_OutputLayer(2, softmax)
    return cnn


@pytest.fixture(scope="module")
def digit_file(tmp_path_factory):
    """The notebook's design: augmented with two distorted copies, 5 epochs (about 10 s)."""
    X, y = load_mnist()
    X_train, _, _, y_train, _, _ = train_val_test_split(X, y, 3500, 500, 1000, seed=2023)
    rng = np.random.default_rng(1)
    X_aug = np.concatenate([X_train] + [nb05_cnn_training.distort_digits(X_train, rng) for _ in range(2)])
    y_aug = np.tile(y_train, 3)
    cnn = _digit_cnn()
    cnn.fit(X_aug, onehot(y_aug, 10, dtype=np.float32), epochs=5, batches=len(y_aug) // 64)
    path = tmp_path_factory.mktemp("digits") / "digit.npz"
    cnn.save(path)
    return path


@pytest.fixture(scope="module")
def ising_files(tmp_path_factory):
    """Trained like the notebook's network, far from T_c, for L = 16 and L = 12."""
    folder, files = tmp_path_factory.mktemp("ising"), {}
    for L in (16, 12):
        spins, T = sample_configurations(L, [1.6, 1.8, 2.0, 2.6, 2.8, 3.0, 3.3], 120,
                                         chains_per_temperature=40, equilibration=150,
                                         sweeps_between=5, seed=1)
        X = spins[:, None].astype(np.float32)
        X, ordered = np.concatenate([X, -X]), np.tile((T < T_C).astype(int), 2)
        order = np.random.default_rng(0).permutation(len(X))
        cnn = _ising_cnn(L)
        cnn.fit(X[order], onehot(ordered[order], 2, dtype=np.float32), epochs=3, batches=len(X) // 64)
        cnn.save(folder / f"L{L}.npz")
        files[L] = folder / f"L{L}.npz"
    return files


def _chirp_cnn(maps=(8, 16, 16), seed=0):
    """Notebook 09's detector (section 6 and Exercise 4's solution) for signals (1, 128)."""
    from course_utils import CostCrossEntropy

    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=3e-3, rho=0.9, rho2=0.999), seed=seed)
    cnn.add_Convolution1DLayer(1, maps[0], 16, act_func=LRELU)
    cnn.add_Pooling1DLayer(4, 4)
    cnn.add_Convolution1DLayer(maps[0], maps[1], 8, act_func=LRELU)
    cnn.add_Pooling1DLayer(4, 4)
    cnn.add_Convolution1DLayer(maps[1], maps[2], 4, act_func=LRELU)
    cnn.add_Pooling1DLayer(8)
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(16)
    cnn.add_OutputLayer(2, softmax)
    return cnn


@pytest.fixture(scope="module")
def chirp_file(tmp_path_factory):
    """Trained like the notebook's solution: 8,000 examples of SNR 3 to 8, 8 epochs (~5 s)."""
    from course_utils.signals import make_chirps

    train = make_chirps(8000, length=128, snr=(3, 8), seed=1, template_length=32)
    cnn = _chirp_cnn()
    cnn.fit(train.X.astype(np.float32), onehot(train.y, 2, dtype=np.float32), epochs=8,
            batches=80, progress=False)
    path = tmp_path_factory.mktemp("chirps") / "detector.npz"
    cnn.save(path)
    return path


def _untrained(cnn, shape, path):
    cnn.build(shape)
    cnn.save(path)
    return path


# ----------------------------------------------------------------------------- the registry
def test_model_exercises_say_what_the_grader_needs():
    for topic in MODEL_TOPICS:
        exercise = EXERCISES[topic]
        assert exercise.kind == "model" and exercise.answer.startswith("my_")
        assert 0 < exercise.budget_seconds <= 30 and exercise.max_bytes > 0
        assert exercise.max_parameters > 0 and callable(exercise.judge_model)
    assert {e.kind for e in EXERCISES.values()} == set(KINDS) - {"scheduler"}
    notebooks = {EXERCISES[t].judge_model.__module__ for t in MODEL_TOPICS}
    assert len(notebooks) >= 2


def test_an_exercise_of_an_unknown_kind_or_a_model_without_its_budget_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        Exercise("x", lambda rng: [], None, None, (), kind="essay")
    with pytest.raises(ValueError, match="needs answer, budget_seconds"):
        Exercise("x", lambda rng: [], None, None, (), kind="model", answer="my_x")


def test_a_model_exercise_is_never_judged_by_cases(capsys):
    passed, lines = checks.judge(EXERCISES["digit_model"], "my_digit_cnn", [], iter([]))
    assert passed is False and "judge_model" in lines[0]


def test_points_of_a_model_check_are_its_fraction():
    assert checks.points(0.5, out_of=2) == 1.0
    assert checks.points(1.0) == 1.0 and checks.points(0.0) == 0.0
    assert checks.points(1.5) == 0.0 and checks.points(-0.1) == 0.0 and checks.points(1) == 0.0


# ----------------------------------------------------------------------------- digits (05)
def test_the_right_digit_network_earns_full_marks_on_two_grading_seeds(digit_file):
    for seed in (11, 12):
        fraction, text = EXERCISES["digit_model"].judge_model(str(digit_file), seed)
        assert fraction == 1.0, text
        assert "on 2,000 held-out distorted digits (target 0.89, floor 0.70)" in text
        assert "parameters (budget 20,000)" in text


def test_the_held_out_digits_depend_on_the_seed_and_not_on_the_student():
    a, ya = nb05_cnn_training.held_out_digits(1, copies=1)
    b, yb = nb05_cnn_training.held_out_digits(2, copies=1)
    np.testing.assert_array_equal(ya, yb)
    assert a.shape == (1000, 1, 28, 28) and not np.array_equal(a, b)
    np.testing.assert_array_equal(a, nb05_cnn_training.held_out_digits(1, copies=1)[0])


def test_an_untrained_digit_network_earns_nothing(tmp_path):
    path = _untrained(_digit_cnn(), (1, 28, 28), tmp_path / "untrained.npz")
    fraction, text = EXERCISES["digit_model"].judge_model(str(path), 3)
    assert fraction == 0.0 and text.startswith("accuracy 0.")


def test_an_over_budget_digit_network_earns_nothing_before_its_weights_are_read(tmp_path):
    path = _untrained(_digit_cnn(conv_maps=16, dense=64), (1, 28, 28), tmp_path / "big.npz")
    fraction, text = EXERCISES["digit_model"].judge_model(str(path), 3)
    assert fraction == 0.0
    assert text == "51,306 parameters, more than the budget of 20,000"


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no model file came back"),
    (lambda p: p.write_bytes(b"not a zip"), "not one written by CNN.save"),
    (lambda p: p.write_bytes(b"0" * 2_000_001), "more than the 2,000,000 allowed"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: np.savez(p, weights=np.zeros(3)), "not a CNN model"),
])
def test_a_missing_malformed_or_too_large_file_earns_nothing_with_a_reason(tmp_path, make, message):
    path = tmp_path / "model.npz"
    make(path)
    fraction, text = EXERCISES["digit_model"].judge_model(str(path), 3)
    assert fraction == 0.0 and message in text, text


def test_a_link_to_another_file_is_not_followed(tmp_path, digit_file):
    link = tmp_path / "model.npz"
    link.symlink_to(digit_file)
    fraction, text = EXERCISES["digit_model"].judge_model(str(link), 3)
    assert fraction == 0.0 and "not a regular file" in text


def test_a_network_for_other_images_or_classes_earns_nothing(tmp_path):
    small = _untrained(_ising_cnn(16), (1, 16, 16), tmp_path / "small.npz")
    fraction, text = EXERCISES["digit_model"].judge_model(str(small), 3)
    assert fraction == 0.0 and "takes images of shape (1, 16, 16)" in text
    five = _digit_cnn()
    five.layers[-1].nodes = 5
    _untrained(five, (1, 28, 28), tmp_path / "five.npz")
    fraction, text = EXERCISES["digit_model"].judge_model(str(tmp_path / "five.npz"), 3)
    assert fraction == 0.0 and "add_OutputLayer(10, softmax)" in text


def test_the_evaluation_cost_is_bounded_before_loading(tmp_path):
    wide = CNN(seed=0)
    wide.add_Convolution2DLayer(1, 8, 9, 9, pad="same", act_func=LRELU)
    wide.add_Convolution2DLayer(8, 8, 5, 5, pad="same", act_func=LRELU)
    wide.add_PoolingLayer(28, 28, v_stride=28, h_stride=28)
    wide.add_FlattenLayer()
    wide.add_OutputLayer(10, softmax)
    assert count_multiply_adds(wide, (1, 28, 28)) > 1_000_000
    _untrained(wide, (1, 28, 28), tmp_path / "wide.npz")
    limits = ModelLimits((1, 28, 28), 10, 20_000, 2_000_000, max_multiply_adds=1_000_000)
    with pytest.raises(ModelRejected, match="multiply-adds per image"):
        read_model(tmp_path / "wide.npz", limits)


def test_the_digit_self_check_scores_the_students_network_on_validation_digits(digit_file, capsys):
    model = CNN.load(digit_file)
    assert checks.check_digit_model(model) == 1.0
    out = capsys.readouterr().out
    assert out.startswith("✔ my_digit_cnn: 1.00 of the points on your validation data: accuracy ")
    assert "on 500 distorted validation digits" in out
    assert checks.check_digit_model(None) == 0.0
    assert "not answered yet" in capsys.readouterr().out
    assert checks.check_digit_model(_digit_cnn()) == 0.0     # never trained: nothing to save
    assert "could not be saved" in capsys.readouterr().out


# ----------------------------------------------------------------------------- Ising (08)
def test_the_right_phase_classifier_earns_full_marks_and_an_untrained_one_nothing(ising_files, tmp_path):
    judge = EXERCISES["phase_model"].judge_model
    fraction, text = judge(str(ising_files[16]), 21)
    assert fraction == 1.0 and "fresh L = 16 configurations" in text, text
    untrained = _untrained(_ising_cnn(16), (1, 16, 16), tmp_path / "u.npz")
    assert judge(str(untrained), 21)[0] == 0.0
    fraction, text = judge(str(ising_files[12]), 21)
    assert fraction == 0.0 and "takes images of shape (1, 12, 12)" in text


def test_the_right_l12_network_crosses_near_tc_and_an_untrained_one_earns_nothing(ising_files, tmp_path):
    judge = EXERCISES["crossing_model"].judge_model
    for seed in (31, 32):
        fraction, text = judge(str(ising_files[12]), seed)
        assert fraction == 1.0, text
        assert "crosses 1/2 at T = 2." in text and "Onsager T_c = 2.269" in text
    untrained = _untrained(_ising_cnn(12), (1, 12, 12), tmp_path / "u.npz")
    fraction, text = judge(str(untrained), 31)
    assert fraction == 0.0 and "does not tell the phases apart" in text


def test_a_classifier_with_the_phases_swapped_earns_nothing(ising_files, tmp_path):
    model = CNN.load(ising_files[12])
    output = model.layers[-1]
    output.params["weights"] = output.params["weights"][:, ::-1].copy()
    output.params["bias"] = output.params["bias"][::-1].copy()
    model.save(tmp_path / "swapped.npz")
    assert EXERCISES["crossing_model"].judge_model(str(tmp_path / "swapped.npz"), 31)[0] == 0.0


def test_the_ising_self_checks_print_the_grader_s_feedback(ising_files, capsys):
    assert checks.check_phase_model(CNN.load(ising_files[16])) == 1.0
    assert checks.check_crossing_model(CNN.load(ising_files[12])) == 1.0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✔ my_phase_cnn: 1.00 of the points") and out[1].startswith("✔ my_crossing_cnn:")
    assert nb08_ising_phases.CROSSING_L not in (16, 32)      # a size the notebook never trains


def test_the_graders_verdict_line_for_a_model_file(digit_file, tmp_path):
    exercise = EXERCISES["digit_model"]
    fraction, lines = checks.judge_model_file(exercise, "my_digit_cnn", str(digit_file), 5)
    assert fraction == 1.0 and lines[0].startswith("✔ my_digit_cnn: 1.00 of the points: accuracy 0.")
    fraction, lines = checks.judge_model_file(exercise, "my_digit_cnn", str(tmp_path / "none.npz"), 5)
    assert fraction == 0.0
    assert lines == [("✘ my_digit_cnn: 0.00 of the points: no model file came back (was the answer "
                     "cell run, and does the variable hold a trained CNN?)")]


# ----------------------------------------------------------------------------- chirps (09)
def test_the_right_chirp_detector_earns_full_marks_on_two_grading_seeds(chirp_file):
    judge = EXERCISES["chirp_detector"].judge_model
    for seed in (41, 42):
        fraction, text = judge(str(chirp_file), seed)
        assert fraction == 1.0, text
        assert text.startswith("detection probability 0.") and "at 1% false alarms on 10,000 " \
            "fresh examples (8,000 noise only, 2,000 chirps at SNR 5) (target 0.65, floor 0.30); " \
            "2,522 parameters (budget 5,000)" in text, text


def test_an_untrained_chirp_detector_earns_nothing(tmp_path):
    path = _untrained(_chirp_cnn(), (1, 128), tmp_path / "untrained.npz")
    fraction, text = EXERCISES["chirp_detector"].judge_model(str(path), 41)
    assert fraction == 0.0 and text.startswith("detection probability 0.")
    assert float(text.split()[2]) < nb09_signals.DETECTOR_FLOOR


def test_an_over_budget_or_misshapen_chirp_detector_earns_nothing(tmp_path):
    judge = EXERCISES["chirp_detector"].judge_model
    path = _untrained(_chirp_cnn(maps=(16, 32, 32)), (1, 128), tmp_path / "big.npz")
    assert judge(str(path), 41) == (0.0, "9,090 parameters, more than the budget of 5,000")
    path = _untrained(_chirp_cnn(), (1, 256), tmp_path / "long.npz")
    fraction, text = judge(str(path), 41)
    assert fraction == 0.0 and "takes images of shape (1, 256), the exercise gives (1, 128)" in text
    path = _untrained(_ising_cnn(16), (1, 16, 16), tmp_path / "image.npz")
    assert judge(str(path), 41)[0] == 0.0


def test_the_multiply_adds_of_1d_layers_are_counted():
    # conv 8 x 128 x 1 x 16, pool 8 x 32 x 4, conv 16 x 32 x 8 x 8, pool 16 x 8 x 4,
    # conv 16 x 8 x 16 x 4, pool 16 x 1 x 8, dense 16 x 16, output 16 x 2
    expected = 16384 + 1024 + 32768 + 512 + 8192 + 128 + 256 + 32
    assert count_multiply_adds(_chirp_cnn(), (1, 128)) == expected


def test_the_fresh_chirps_depend_on_the_seed_alone():
    X1, y1 = nb09_signals.fresh_chirps(1, noise=30, chirps=10)
    X2, y2 = nb09_signals.fresh_chirps(2, noise=30, chirps=10)
    np.testing.assert_array_equal(y1, np.r_[np.zeros(30), np.ones(10)])
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (40, 1, 128) and X1.dtype == np.float32 and not np.array_equal(X1, X2)
    np.testing.assert_array_equal(X1, nb09_signals.fresh_chirps(1, noise=30, chirps=10)[0])
    # the chirps are added to the signals of label 1 only: their energy exceeds the noise's
    assert (X1[y1 == 1] ** 2).sum(axis=(1, 2)).mean() > (X1[y1 == 0] ** 2).sum(axis=(1, 2)).mean() + 10


def test_the_chirp_self_check_prints_the_grader_s_feedback(chirp_file, capsys):
    assert checks.check_chirp_detector(CNN.load(chirp_file)) == 1.0
    out = capsys.readouterr().out
    assert out.startswith("✔ my_chirp_detector: 1.00 of the points on your validation data: "
                          "detection probability 0.")
    assert checks.check_chirp_detector(None) == 0.0


# ----------------------------------------------------------------------------- through the grader
def test_notebook_08s_networks_are_graded_end_to_end_in_the_box(tmp_path):
    """The course's own answers earn every point; an untrained network earns none, with the
    judge's feedback, through grader.grade_notebook (sandboxed, model files judged outside)."""
    import copy

    import nbformat

    from course_utils.grading import grader, sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        pytest.skip(f"no sandbox here: {error}")
    path = next(p for p in (ROOT / "notebooks").glob("08_*.ipynb"))
    course = nbformat.read(path, as_version=4)
    untrained = copy.deepcopy(course)
    for cell in untrained.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "my_crossing_cnn":
            cell.source = ("my_crossing_cnn = small_ising_cnn(12)\n"
                           "my_crossing_cnn.build((1, 12, 12))   # never trained")
    for name, notebook in (("right", course), ("untrained", untrained)):
        nbformat.write(notebook, tmp_path / f"{name}.ipynb")
    right = grader.grade_notebook(tmp_path / "right.ipynb", course, seed=3)
    points = {v.answer: (v.points, v.max_points) for v in right.verdicts}
    assert right.status == "graded" and all(p == m for p, m in points.values()), right.verdicts
    assert {"my_phase_cnn", "my_crossing_cnn"} <= set(points)
    wrong = grader.grade_notebook(tmp_path / "untrained.ipynb", course, seed=3)
    verdict = next(v for v in wrong.verdicts if v.answer == "my_crossing_cnn")
    assert verdict.points == 0.0 and "does not tell the phases apart" in verdict.lines[0]
    assert next(v for v in wrong.verdicts if v.answer == "my_phase_cnn").points == 1.0


def test_notebook_09s_chirp_detector_is_graded_end_to_end_in_the_box(tmp_path):
    """The course's own answers to notebook 09 earn every point, the chirp detector's with the
    judge's feedback, through grader.grade_notebook (its training within the box's 15 s)."""
    import nbformat

    from course_utils.grading import grader, sandbox

    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as error:
        pytest.skip(f"no sandbox here: {error}")
    path = next(p for p in (ROOT / "notebooks").glob("09_*.ipynb"))
    course = nbformat.read(path, as_version=4)
    nbformat.write(course, tmp_path / "right.ipynb")
    result = grader.grade_notebook(tmp_path / "right.ipynb", course, seed=3)
    points = {v.answer: (v.points, v.max_points) for v in result.verdicts}
    assert result.status == "graded" and all(p == m for p, m in points.values()), result.verdicts
    verdict = next(v for v in result.verdicts if v.answer == "my_chirp_detector")
    assert "detection probability 0." in verdict.lines[0] and "(target 0.65, floor 0.30)" in verdict.lines[0]
