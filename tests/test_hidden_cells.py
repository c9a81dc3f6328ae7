"""Cells for nbval and for the lecturer stay out of what students get.

Two cell tags:
* "remove-cell" (Jupyter Book's tag): a check that only proves a stored output reproduces.
  nbval runs it in notebooks/; the student copies (`make homework`), the slides
  (`make slides`) and the course site (`make html`, test_html.py) leave it out.
* "speaker-notes": the lecturer's notes on the cell before. Slide type "notes" (reveal.js
  shows them in the speaker view); left out of the student copies and of the site.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
HIDDEN_FROM_STUDENTS = {"remove-cell", "speaker-notes"}


def _tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def _slide_layout():
    spec = importlib.util.spec_from_file_location("slide_layout", ROOT / "tools" / "slide_layout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_have_speaker_notes_and_notes_follow_a_cell():
    """Speaker notes are markdown and annotate the cell before them."""
    with_notes = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if "speaker-notes" in _tags(cell):
                with_notes += 1
                assert cell.cell_type == "markdown", f"{path.name} cell {i}: notes are markdown"
                assert i > 0, f"{path.name}: notes before the title"
                assert not _tags(cell) & {"remove-cell"}, f"{path.name} cell {i}"
            if "remove-cell" in _tags(cell):
                assert "nbgrader" not in cell.metadata, \
                    f"{path.name} cell {i}: an exercise or check cell must reach the students"
    assert with_notes >= 4, "speaker notes expected in the notebooks"


def test_student_copies_leave_out_hidden_cells_and_keep_every_other(homework_course):
    hidden_total = 0
    for path in NOTEBOOKS:
        stored = nbformat.read(path, as_version=4)
        student = nbformat.read(homework_course["student"] / path.name, as_version=4)
        hidden = [c.id for c in stored.cells if _tags(c) & HIDDEN_FROM_STUDENTS]
        kept = [c.id for c in stored.cells if not _tags(c) & HIDDEN_FROM_STUDENTS]
        hidden_total += len(hidden)
        assert [c.id for c in student.cells] == kept, path.name
        assert not any(_tags(c) & HIDDEN_FROM_STUDENTS for c in student.cells), path.name
    assert hidden_total > 0, "no hidden cell in any notebook: nothing was tested"


def test_slide_layout_gives_notes_and_skips_removed_cells_without_moving_the_others():
    layout = _slide_layout()
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md("# Title"), code("import numpy as np"), md("## A section"),
             code("x = 1\nprint(x)"), code("print(2)"), md("More text."), code("y = 2")]
    plain = nbformat.v4.new_notebook(cells=cells)
    expected = layout.slide_types(plain)

    tagged = nbformat.v4.new_notebook(cells=[*cells[:4],
                                             md("Stress this.", metadata={"tags": ["speaker-notes"]}),
                                             code("print(x == 1)", metadata={"tags": ["remove-cell"]}),
                                             *cells[4:]])
    types = layout.slide_types(tagged)
    assert types[4] == "notes" and types[5] == "skip"
    assert types[:4] + types[6:] == expected


def test_slide_layout_never_splits_a_speaker_note():
    layout = _slide_layout()
    long_note = "\n\n".join(f"Paragraph {i}: " + "word " * 60 for i in range(12))
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell(long_note, metadata={"tags": ["speaker-notes"]})])
    assert not layout.split_long_markdown(nb)
    assert len(nb.cells) == 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_slide_types_of_hidden_cells(path):
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type")
        if "speaker-notes" in _tags(cell):
            assert kind == "notes", f"{path.name} cell {i}: run tools/slide_layout.py"
        if "remove-cell" in _tags(cell):
            assert kind == "skip", f"{path.name} cell {i}: run tools/slide_layout.py"


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a code cell binds, names it reads), magics translated as IPython runs them."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound, read


def _later_cells_needing_removed_names(nb) -> list[str]:
    """Names that only a remove-cell cell binds and a later cell reads: the student copy,
    which lacks the cell, would stop there with a NameError."""
    only_removed: set[str] = set()
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        if "remove-cell" in _tags(cell):
            only_removed |= bound
            continue
        problems += [f"cell {i} reads {name}" for name in sorted((read - bound) & only_removed)]
        only_removed -= bound
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_cell_needs_a_name_that_only_a_removed_cell_defines(path):
    problems = _later_cells_needing_removed_names(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: {problems}"


def test_a_cell_reading_a_name_from_a_removed_cell_is_caught():
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code("speed = %timeit -o sum(range(10))"),
        code("ok = speed.best > 0\nprint(ok)", metadata={"tags": ["remove-cell"]}),
        code("print(ok)")])
    assert _later_cells_needing_removed_names(nb) == ["cell 2 reads ok"]
    nb.cells[2].source = "ok = True\nprint(ok)"
    assert _later_cells_needing_removed_names(nb) == []
