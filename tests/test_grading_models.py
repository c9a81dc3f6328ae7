"""Exercises whose answer is a trained network (kind "model"), through the grader.

A test-only exercise (`TinyModel`: tell horizontal from vertical bars with a tiny CNN)
stands for the course's own model exercises. The box saves the student's network with
`.save(path)`; the grader takes that file as hostile (regular file, size cap), copies it
to a folder of its own and calls `judge_model(path, seed)` in its own process with a seed
the box never sees. The answer cell has a training budget measured in the box; past it,
or with a missing, malformed or oversized file, the exercise scores 0 with a clear
message, and the rest of the hand-in is still graded.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nbformat
import numpy as np
import pytest
from _bubblewrap import require_bubblewrap
from cnn_helpers import bars

from course_utils import exercises
from course_utils.grading import grader, sandbox

pytestmark = pytest.mark.slow

TRAIN = """rng = np.random.default_rng(0)
labels = rng.integers(0, 2, 64)
X = rng.normal(0, 0.2, size=(64, 1, 8, 8))
for i, position in enumerate(rng.integers(1, 7, 64)):
    if labels[i] == 0:
        X[i, 0, position, :] += 1.0
    else:
        X[i, 0, :, position] += 1.0
my_model = CNN(CostCrossEntropy, Adam(eta=3e-2, rho=0.9, rho2=0.999), seed=0)
my_model.add_Convolution2DLayer(1, 4, 3, 3, act_func=LRELU)
my_model.add_PoolingLayer(2, 2, 2, 2, "max")
my_model.add_FlattenLayer()
my_model.add_FullyConnectedLayer(8, LRELU)
my_model.add_OutputLayer(2, softmax)
my_model.fit(X, np.eye(2)[labels], epochs=15, progress=False)
"""
GARBAGE = """class Fake:
    def save(self, path):
        open(path, "wb").write(b"not a model at all")

my_model = Fake()
"""
HUGE = """class Huge:
    def save(self, path):
        open(path, "wb").write(b"x" * 2 * 2**20)

my_model = Huge()
"""


@dataclass(frozen=True)
class TinyModel:
    """A model exercise as the grader sees one (the homework's real ones have the same fields)."""

    topic: str = "tiny_model"
    kind: str = "model"
    settings: tuple = ()
    references: tuple = ()
    budget_seconds: float = 20.0
    max_bytes: int = 2**20

    def cases(self, rng):
        return []

    def judge_model(self, path, seed):
        from course_utils import CNN

        model = CNN.load(path)
        X, _, labels = bars(200, seed)
        accuracy = float(np.mean(model.predict_proba(X).argmax(axis=1) == labels))
        return min(1.0, accuracy / 0.9), f"accuracy {accuracy:.2f} on the grader's bars"


def _notebook(answer: str) -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_utils import CNN, Adam, LRELU, "
                                  "softmax, CostCrossEntropy"),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_code_cell(answer),
        nbformat.v4.new_code_cell("from course_utils.checks import check_tiny_model, points\n"
                                  "points(check_tiny_model(my_model))"),
        nbformat.v4.new_code_cell("def my_convolve1d(x, w):\n    return np.convolve(x, w)"),
        nbformat.v4.new_code_cell("from course_utils.checks import check_convolve1d, points\n"
                                  "points(check_convolve1d(my_convolve1d))"),
    ]
    cells[2].metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "my_model"}
    cells[3].metadata["nbgrader"] = {"grade": True, "solution": False, "points": 2,
                                     "grade_id": "check_my_model"}
    cells[4].metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "my_convolve1d"}
    cells[5].metadata["nbgrader"] = {"grade": True, "solution": False, "points": 1,
                                     "grade_id": "check_my_convolve1d"}
    return nbformat.v4.new_notebook(cells=cells)


@pytest.fixture(scope="module")
def graded_models(tmp_path_factory):
    require_bubblewrap()
    folder = tmp_path_factory.mktemp("models")
    course = _notebook(TRAIN)
    hand_ins = {"right": TRAIN, "slow": "import time\ntime.sleep(120)\n" + TRAIN,
                "garbage": GARBAGE, "huge": HUGE, "missing": "pass"}
    real = exercises.exercise_of_check
    patch = pytest.MonkeyPatch()
    patch.setattr(exercises, "exercise_of_check",
                  lambda check, **kw: TinyModel() if check == "check_tiny_model" else real(check, **kw))
    limits = sandbox.Limits(cell_seconds=60, wall_seconds=150)

    def grade(item):
        name, answer = item
        path = folder / f"{name}.ipynb"
        nbformat.write(_notebook(answer), path)
        return name, grader.grade_notebook(path, copy.deepcopy(course), limits)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(pool.map(grade, hand_ins.items()))
    finally:
        patch.undo()


def _verdict(result, answer):
    return next(v for v in result.verdicts if v.answer == answer)


def test_a_trained_model_is_judged_by_the_grader_with_its_seed(graded_models):
    result = graded_models["right"]
    model = _verdict(result, "my_model")
    assert result.status == "graded" and model.points == 2.0, (model.lines, result.problems)
    assert "accuracy" in model.lines[0]
    assert _verdict(result, "my_convolve1d").points == 1.0


@pytest.mark.parametrize("name, message", [
    ("slow", "ran longer than its budget of 20 s"),
    ("garbage", "the saved model could not be judged"),
    ("huge", "more than the 1,048,576 allowed"),
    ("missing", "not answered"),
])
def test_a_model_past_its_budget_or_unreadable_scores_zero_and_the_rest_is_graded(
        graded_models, name, message):
    result = graded_models[name]
    model = _verdict(result, "my_model")
    assert model.points == 0.0 and message in model.lines[0], model.lines
    assert _verdict(result, "my_convolve1d").points == 1.0, result.problems
