"""Hand-ins that attack the grader itself, each beside honest neighbours who keep their scores.

One class of notebook-01 hand-ins is graded once (fixture `attacked`), in this process,
through the command line `python -m course_utils.grading` (self-test first, two boxes at
a time). The attacks (issue 32): answer files made FIFOs or links to /dev/zero, the answer
folder replaced by a link, twenty 200 MB files in the scratch folder, a thousand
processes, a flood of stdout, an answer that imports the grader's references, and a box
that fails for a reason that is not the hand-in's (a missing Python, as from a clone under
/tmp before). The class must finish, the honest hand-ins keep their exact scores, and
the failed box is an error, not a zero.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import re
import resource
from pathlib import Path

import nbformat
import pytest
from _bubblewrap import require_bubblewrap
from _helpers import NOTEBOOKS

from course_utils.grading import classroom, sandbox

pytestmark = pytest.mark.slow
ASSIGNMENT = NOTEBOOKS[0].stem          # 01_convolution
ONE, TWO, THREE = "my_convolve1d", "my_convolve2d", "my_cross_correlate2d"
INFRASTRUCTURE = "# the grader's test: this box fails before the hand-in runs"

FIFO = f"import os\nos.mkfifo('/scratch/out/{ONE}.json')\n"
DEV_ZERO = f"import os\nos.symlink('/dev/zero', '/scratch/out/{TWO}.json')\n"
LINKED_FOLDER = ("import os\nos.rmdir('/scratch/out')\nos.symlink('/etc', '/scratch/out')\n"
                 "os.symlink('/etc/passwd', '/scratch/executed.ipynb')\n")
BIG_FILES = ("import os\nwritten = 0\nfor i in range(20):\n    try:\n"
             "        with open(f'/scratch/big{i}', 'wb') as out:\n"
             "            for _ in range(200):\n                out.write(b'x' * 2**20)\n"
             "                out.flush()\n                written += 2**20\n"
             "    except OSError as error:\n        print('stopped:', error)\n"
             "print('written', written)\n"
             "box = os.statvfs('/scratch')\nprint('capacity', box.f_blocks * box.f_frsize)\n"
             "for name in os.listdir('/scratch'):   # else the answers have no room\n"
             "    if name.startswith('big'):\n        os.remove('/scratch/' + name)\n")
FORKS = ("import subprocess\nstarted = 0\nfor _ in range(1000):\n    try:\n"
         "        subprocess.Popen(['sleep', '1000'])\n"
         "    except OSError as error:\n        print('fork refused:', error)\n        break\n"
         "    started += 1\n"
         "print('processes started', started)\n")
FLOOD = "import os, sys\nfor _ in range(300):\n    os.write(sys.stdout.fileno(), b'x' * 2**20)\n"
REFERENCES = ("from course_utils.exercises import EXERCISES\n\n"
              f"def {ONE}(x, w):\n    return EXERCISES['convolve1d'].reference(x, w)\n")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _handin(course, prefix: dict[str, str] | None = None, replace: dict[str, str] | None = None,
            comment: str = "") -> nbformat.NotebookNode:
    """The course notebook (right answers) with code put before, or instead of, some answers."""
    nb = copy.deepcopy(course)
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if replace and grade_id in replace:
            cell.source = replace[grade_id]
        elif prefix and grade_id in prefix:
            cell.source = prefix[grade_id] + cell.source
    if comment:
        nb.cells[-1].source += "\n" + comment
    return nb


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    require_bubblewrap()
    from course_utils.grading import __main__ as cli

    root = tmp_path_factory.mktemp("attacked")
    course = nbformat.read(NOTEBOOKS[0], as_version=4)
    for folder in ("release", "source"):
        (root / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(course, root / folder / ASSIGNMENT / NOTEBOOKS[0].name)
    right, none = {ONE: 1.0, TWO: 1.0, THREE: 1.0}, {ONE: 0.0, TWO: 0.0, THREE: 0.0}
    wrong = "def {name}(*args):\n    return None\n"
    plans = {
        "pipes": (_handin(course, {ONE: FIFO + DEV_ZERO}), {**right, ONE: 0.0, TWO: 0.0}),
        "linker": (_handin(course, {ONE: LINKED_FOLDER}), none),
        "filler": (_handin(course, {ONE: BIG_FILES + FLOOD}), right),
        "forker": (_handin(course, {ONE: FORKS}), right),
        "referee": (_handin(course, replace={ONE: REFERENCES}), {**right, ONE: 0.0}),
        "unlucky": (_handin(course, comment=INFRASTRUCTURE), None),
        # honest neighbours
        "bob": (_handin(course), right),
        "alice": (_handin(course, replace={TWO: wrong.format(name=TWO),
                                           THREE: wrong.format(name=THREE)}),
                  {ONE: 1.0, TWO: 0.0, THREE: 0.0}),
    }
    for student, (nb, _) in plans.items():
        target = root / "submitted" / student / ASSIGNMENT / NOTEBOOKS[0].name
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)

    real_command, tries = sandbox.command, []

    def failing_for_unlucky(job: Path, argv, limits, uid):
        handin = job / "handin.ipynb"
        if handin.exists() and INFRASTRUCTURE in handin.read_text():
            tries.append(job)
            argv = ["/nonexistent/.venv/bin/python", *argv[1:]]   # as from a clone under /tmp
        return real_command(job, argv, limits, uid)

    patch = pytest.MonkeyPatch()
    patch.setattr(sandbox, "command", failing_for_unlucky)
    patch.setattr(classroom, "RETRY_PAUSE", 0.0)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(root), "--jobs", "2", "--cell-seconds", "15",
                             "--wall-seconds", "150"])
    finally:
        patch.undo()
    rows = {r["student"]: r for r in csv.DictReader((root / "grading_report.csv").open())}
    verdicts = {s: json.loads((root / "verdicts" / s / ASSIGNMENT / NOTEBOOKS[0].name)
                              .with_suffix(".json").read_text()) for s in plans}
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(), "rows": rows,
            "verdicts": verdicts, "expected": {s: p for s, (_, p) in plans.items()},
            "tries": tries, "root": root,
            "rss_growth": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before}


def _points(verdict: dict) -> dict[str, float]:
    return {v["answer"]: v["points"] for v in verdict["verdicts"]}


def test_the_class_finishes_and_everyone_scores_exactly_what_they_earned(attacked):
    assert "self-test 01_convolution: passed" in attacked["out"], attacked["out"]
    for student, expected in attacked["expected"].items():
        if expected is None:
            continue
        verdict = attacked["verdicts"][student]
        assert verdict["status"] == "graded", (student, verdict["problems"])
        assert _points(verdict) == expected, (student, verdict["verdicts"], attacked["out"])


def test_answer_files_that_are_fifos_or_links_are_refused_not_followed(attacked):
    lines = {v["answer"]: " ".join(v["lines"]) for v in attacked["verdicts"]["pipes"]["verdicts"]}
    assert "no answer came back" in lines[ONE] or "not a regular file" in lines[ONE], lines
    assert "cannot be opened as a plain file" in lines[TWO], lines
    linker = attacked["verdicts"]["linker"]
    assert "root:x:0:0" not in json.dumps(linker)   # /etc/passwd was never read into feedback


def test_limits_hold_per_box_scratch_processes_and_output(attacked):
    outputs = json.dumps(attacked["verdicts"]["filler"]["outputs"])
    assert "No space left on device" in outputs and "File too large" in outputs, outputs[:2000]
    written = int(outputs.split("written ")[1].split("\\n")[0])
    assert written <= sandbox.DEFAULT_LIMITS.scratch_bytes
    capacity = int(outputs.split("capacity ")[1].split("\\n")[0])   # memory-backed, capped
    assert capacity <= sandbox.DEFAULT_LIMITS.scratch_bytes
    forker = json.dumps(attacked["verdicts"]["forker"]["outputs"])
    started = re.search(r"processes started (\d+)", forker)
    assert started and "fork refused" in forker, forker[:2000]
    assert int(started.group(1)) < sandbox.DEFAULT_LIMITS.processes
    assert attacked["verdicts"]["forker"]["seconds"] < 100      # its sleepers did not hold the box
    # 300 MB of stdout (the filler's too) went through the grader, which kept a bounded tail
    assert attacked["rss_growth"] < 150 * 2**20, attacked["rss_growth"]


def test_an_answer_that_imports_the_references_gets_nothing_and_is_flagged(attacked):
    verdict = attacked["verdicts"]["referee"]
    assert any("course_utils.exercises" in flag for flag in verdict["flags"]), verdict["flags"]
    assert "course_utils.exercises" in attacked["rows"]["referee"]["flags"]


def test_a_failed_box_is_an_error_retried_never_a_zero(attacked):
    assert attacked["code"] == 1
    assert len(attacked["tries"]) == classroom.RETRIES + 1
    row = attacked["rows"]["unlucky"]
    assert row["status"] == "error" and row["score"] == "", row
    assert "not the student's doing" in row["flags"] and "nonexistent" in row["flags"], row
    assert "1 hand-in(s) could not be graded" in attacked["err"] and "unlucky" in attacked["err"]
    assert classroom.errors_of(attacked["root"], ASSIGNMENT) == ["unlucky"]
    paths = classroom.paths_of(attacked["root"], "unlucky", ASSIGNMENT, ASSIGNMENT)
    assert not classroom.verdict_is_current(paths)     # graded again next time
