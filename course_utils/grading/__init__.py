"""Grading that a hand-in cannot forge: verdicts computed outside the student's kernel.

- `sandbox`: the bubblewrap box each hand-in's kernel runs in (no network, read-only
  system, one scratch folder, memory/time limits, an unprivileged user).
- `runner`: inside the box, runs the hand-in's imports and Exercises section, then probes.
- `probe`: inside the student's kernel, calls the answers on the grader's inputs.
- `wire`: the plain-JSON format of those inputs and outputs (no pickle, no eval).
- `grader`: one hand-in: inputs from a secret seed, the box, the verdicts (checks.judge).
- `scan`: flags for a teaching assistant (answers that call the course's implementation,
  or touch the checks, sys.modules, builtins or the IPython shell).
- `classroom`: a course's hand-ins graded in parallel, verdicts stored per file.
- `nbgrader_plugin`: nbgrader autograde records those verdicts in its gradebook.

Command line: python -m course_utils.grading COURSE_DIR (see __main__).
"""
