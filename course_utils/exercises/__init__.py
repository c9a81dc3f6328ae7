"""The homework's exercises as data: inputs, reference answers and how answers are judged.

One `Exercise` per exercise of the notebooks (`EXERCISES`, by topic; the Adam exercise is
made by `scheduler_exercise`), one module per notebook (`nb01_convolution`, ...). Both users
judge with the same data:

- the self-checks of `course_utils.checks` draw the cases from np.random.default_rng(0)
  and run the student's function in the notebook's own kernel (feedback, reproducible);
- the grader (`course_utils.grading`) draws them from a secret seed, has the answers
  computed in a sandbox and compares them in a process of its own (the grade).

Kinds (`Exercise.kind`): "function" and "scheduler" compare outputs with a reference;
"diagnosis" re-runs or re-checks a student's fix of a failing run on the grader's inputs;
"model" judges a trained network handed in as a model file (`judge_model(path, seed)`) on
data drawn at grading time from a seed the hand-in never sees.

References come from the package where it has one (`convolution`, `schedulers`, `data`,
`ising`, `signals`, `layers_1d`), imported inside each function so that importing this
package stays cheap. Where the package has no function of exactly the exercise's form (conv/pool backward, best
hyper-parameters, the loss of a constant prediction), a short private reference computes it
with numpy/scipy; where an exercise inverts a formula (the padding for a wanted output
size, the smallest input of a chain of layers), the reference searches by brute force with
the package's forward formula.
"""

from __future__ import annotations

from typing import Any

from course_utils.exercises import (
    nb01_convolution,
    nb02_toeplitz,
    nb03_conv_arithmetic,
    nb04_cnn_layers,
    nb05_cnn_training,
    nb06_fast_convolution,
    nb07_keras_grid_search,
    nb08_ising_phases,
    nb09_signals,
)
from course_utils.exercises._base import (
    KINDS,
    Compare,
    Exercise,
    ModelJudge,
    answer_callable,
    scheduler_changes,
)
from course_utils.exercises.nb04_cnn_layers import scheduler_exercise

# The private references, where tests and older code look for them.
_padding_for_output_reference = nb03_conv_arithmetic._padding_for_output_reference
_smallest_input_reference = nb03_conv_arithmetic._smallest_input_reference
_conv_backward_reference = nb04_cnn_layers._conv_backward_reference
_max_pool_backward_reference = nb04_cnn_layers._max_pool_backward_reference
_col2im_reference = nb06_fast_convolution._col2im_reference
_im2col_reference = nb06_fast_convolution._im2col_reference
_best_hyperparameters_reference = nb07_keras_grid_search._best_hyperparameters_reference
_chance_loss_reference = nb07_keras_grid_search._chance_loss_reference

_MODULES = (nb01_convolution, nb02_toeplitz, nb03_conv_arithmetic, nb04_cnn_layers,
            nb05_cnn_training, nb06_fast_convolution, nb07_keras_grid_search, nb08_ising_phases,
            nb09_signals)

EXERCISES: dict[str, Exercise] = {exercise.topic: exercise
                                  for module in _MODULES for exercise in module.EXERCISES}

__all__ = ["EXERCISES", "KINDS", "Compare", "Exercise", "ModelJudge", "answer_callable",
           "exercise_of_check", "scheduler_changes", "scheduler_exercise"]


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
