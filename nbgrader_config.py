"""nbgrader's configuration for this course (read by every `nbgrader ...` command run here).

The exercise notebooks are notebooks/NN_name.ipynb, one assignment each, named after
it: notebooks/01_convolution.ipynb is assignment "01_convolution" holding the notebook
"01_convolution". `make homework`
copies each notebook to course/source/<assignment>/ and runs `nbgrader
generate_assignment`; `make autograde` and `make feedback` run nbgrader on a folder of
hand-ins laid out as nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb.
The course directory (gradebook, release/, autograded/, feedback/) is course/, not
committed; `make ... COURSE_DIR=elsewhere` moves it.
"""

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import TagRemovePreprocessor
from nbgrader.converters import GenerateAssignment

HERE = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "cnn-unit"
c.CourseDirectory.root = str(HERE / "course")
c.CourseDirectory.source_directory = "source"

# Student copies: besides the outputs, drop the cells' execution timings of the
# teacher's run.
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "execution"]

# Autograde never runs a hand-in in nbgrader's own kernel: code there could patch the checks
# and forge its score. `python -m course_utils.grading` (make autograde runs it first) runs
# each hand-in in a sandbox and judges its answers outside it; nbgrader then records those
# verdicts (ExternalVerdicts in place of Execute) and marks flagged exercises for review.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades)

from course_utils.grading.nbgrader_plugin import ExternalVerdicts, FlagForReview  # noqa: E402

c.Autograde.autograde_preprocessors = [
    ExternalVerdicts, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    FlagForReview, AssignLatePenalties, CheckCellMetadata,
]

# The kernel "python3" is this environment's: its kernel spec runs `python`, which
# jupyter_client replaces by the Python running nbgrader (.venv/bin/python from the
# Makefile). Listing this environment's kernel folder first in JUPYTER_PATH keeps a
# "python3" kernel installed elsewhere (e.g. ~/.local/share/jupyter/kernels) from
# taking its place.
_kernels = str(Path(sys.prefix) / "share" / "jupyter")
if _kernels not in os.environ.get("JUPYTER_PATH", "").split(os.pathsep):
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (_kernels, os.environ.get("JUPYTER_PATH", "")) if p)

# TensorFlow's C++ start-up chatter would otherwise reach the outputs of make homework.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Student copies leave out the cells tagged "remove-cell" (checks that only prove the
# stored outputs reproduce; nbval still runs them in notebooks/) and "speaker-notes" (the
# lecturer's notes for the slides). nbconvert's TagRemovePreprocessor runs first, so the
# cells are gone before nbgrader locks and checksums the rest; nbgrader's own list follows
# unchanged (nbgrader 0.9's GenerateAssignment.preprocessors).

HIDDEN_FROM_STUDENTS = {"remove-cell", "speaker-notes"}
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = HIDDEN_FROM_STUDENTS
c.GenerateAssignment.preprocessors = [
    TagRemovePreprocessor, *GenerateAssignment.class_traits()["preprocessors"].default()]
