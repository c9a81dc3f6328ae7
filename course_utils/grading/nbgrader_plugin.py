"""nbgrader records the grader's verdicts: two preprocessors for `nbgrader autograde`.

nbgrader stays the teaching assistants' tool (gradebook, formgrader, feedback, export); only
the step that ran the hand-in in the grader's own kernel is replaced (nbgrader_config.py):

- `ExternalVerdicts`, in place of nbgrader's Execute: takes the verdicts that
  `python -m course_utils.grading` computed (sandboxed, in parallel) for this very file,
  or computes them now if there are none. Each check cell gets the verdict's lines and,
  as its result, the points: nbgrader's SaveAutoGrades reads that number as the score.
  The other cells of the Exercises section get their outputs as the box ran them (text
  and images only).
- `FlagForReview`, after SaveAutoGrades: an exercise the scan flagged is marked "needs
  manual grade" in the gradebook (the formgrader lists it) and the flag is written as the
  answer cell's comment, which the formgrader and the feedback show.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from course_utils.grading import grader
from course_utils.grading.classroom import grade_file, paths_of, verdict_is_current


def _course_root(resources) -> Path:
    """nbgrader's course directory, where its gradebook lives (db_url sqlite:///<root>/gradebook.db)."""
    url = resources["nbgrader"]["db_url"]
    if not url.startswith("sqlite:///"):
        raise ValueError(f"the course's gradebook must be an SQLite file, got {url}")
    return Path(url.removeprefix("sqlite:///")).parent


def _result(resources) -> grader.Result:
    info = resources["nbgrader"]
    paths = paths_of(_course_root(resources), info["student"], info["assignment"], info["notebook"])
    if not verdict_is_current(paths):
        grade_file(paths)
    result = grader.Result.from_json(paths.verdict.read_text(encoding="utf-8"))
    if result.status == "error":   # never a grade: nbgrader records nothing for this hand-in
        raise RuntimeError(f"{info['student']}/{info['assignment']} could not be graded: "
                           + "; ".join(result.problems))
    return result


class ExternalVerdicts(NbGraderPreprocessor):
    """Check cells' outputs from the grader's verdicts (see the module docstring)."""

    def preprocess(self, nb, resources):
        result = _result(resources)
        by_check = {v.check_id: v for v in result.verdicts}
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in by_check:
                verdict = by_check[grade_id]
                text = "\n".join(verdict.lines + [f"⚑ for review: {f}" for f in verdict.flags])
                cell.outputs = [
                    nbformat.v4.new_output("stream", name="stdout", text=text + "\n"),
                    nbformat.v4.new_output("execute_result", data={"text/plain": repr(verdict.points)},
                                           execution_count=None),
                ]
            else:  # nb is nbgrader's sanitised copy of the same file: the same cells
                cell.outputs = [nbformat.from_dict(o) for o in result.outputs.get(str(index), [])]
        resources.setdefault("course_utils", {})["grading"] = result
        return nb, resources


class FlagForReview(NbGraderPreprocessor):
    """Flagged exercises: "needs manual grade" and the flags as the answer's comment."""

    def preprocess(self, nb, resources):
        result = resources.get("course_utils", {}).get("grading")
        if result is None:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            for verdict in result.verdicts:
                flags = verdict.flags or ([f"this hand-in: {f}" for f in result.flags]
                                          if result.flags else [])
                if result.problems:
                    flags = flags + result.problems
                if not flags:
                    continue
                try:
                    grade = gb.find_grade(verdict.check_id, info["notebook"], info["assignment"],
                                          info["student"])
                    comment = gb.find_comment(verdict.check_id.removeprefix("check_"),
                                              info["notebook"], info["assignment"],
                                              info["student"])
                except MissingEntry:
                    continue
                grade.needs_manual_grade = True
                comment.auto_comment = "Flagged by the grader:\n" + "\n".join(flags)
            gb.db.commit()
        return nb, resources
