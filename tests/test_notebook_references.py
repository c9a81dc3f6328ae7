"""References between notebooks point somewhere real.

The notebooks refer to each other in prose and in code comments: "notebook 03",
"notebook 02, section 4", "section 4.2", "the Sobel kernel $S_x$ of notebook 01". A
notebook renumbered, a section added or a topic moved leaves such a reference stale.
What can be checked mechanically is checked here, in every notebook:

1. every "notebook NN" names a notebook that exists;
2. every numbered section, "section 4.2" in the same notebook or "notebook 02, section 4"
   in another, is the number of a heading there ("## 4. ...", "### 4.2 ...");
3. a name said to come from another notebook ("`digit_cnn` of notebook 05", "notebook
   01's S_x") is assigned or defined in a code cell of that notebook;
4. a sentence that names one notebook together with a topic of the table TOPICS names the
   notebook where that topic is taught (e.g. separable filtering: notebook 06).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

NOTEBOOK = re.compile(r"\b[Nn]otebooks? (\d\d)\b")
SECTION_NUMBER = r"(\d+(?:\.\d+)?)"
# "notebook 02, section 4", "notebook 05 (section 6)", "notebook 02's section 4"
IN_OTHER = re.compile(r"\b[Nn]otebook (\d\d)(?:,|'s| \()\s*[Ss]ection " + SECTION_NUMBER)
# "section 4 of notebook 02"
IN_OTHER_AFTER = re.compile(r"\b[Ss]ection " + SECTION_NUMBER + r",? (?:of|in) notebook (\d\d)")
SECTION = re.compile(r"\b[Ss]ections? " + SECTION_NUMBER)
HEADING_NUMBER = re.compile(r"^#{2,6}\s+" + SECTION_NUMBER + r"[.\s]")
# "`name` of notebook 01", "$S_x$ of notebook 01", "notebook 01's `name`", "notebook 01's S_x"
NAME_OF = re.compile(r"(?:`(\w+)`|\$(\w+)\$) (?:of|from|defined in) notebook (\d\d)")
NOTEBOOKS_NAME = re.compile(r"\b[Nn]otebook (\d\d)'s (?:`(\w+)`|\$(\w+)\$|(\w+))")

# Topics taught in one notebook, by a word that names them: a sentence that names one
# notebook and one of these words must name that notebook.
TOPICS = {
    "separab": "06",       # separable kernels as two 1D passes
    "im2col": "06",
    "Toeplitz": "02",
    "circulant": "02",
    "Sobel": "01",         # the Sobel kernels S_x, S_y
    "Onsager": "08",
}


def _sources(path: Path):
    """(cell index, text) of every markdown cell and every comment or string of a code cell."""
    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "markdown":
            yield i, cell.source
        elif cell.cell_type == "code":
            yield i, "\n".join(ln for ln in cell.source.splitlines()
                               if "#" in ln or '"' in ln or "'" in ln)


def _number(path: Path) -> str:
    return path.name[:2]


def _by_number() -> dict[str, Path]:
    return {_number(p): p for p in NOTEBOOKS}


def _section_numbers(path: Path) -> set[str]:
    numbers = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = HEADING_NUMBER.match(line)
                if m:
                    numbers.add(m.group(1))
    return numbers


def _defined_names(path: Path) -> set[str]:
    names = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            names.update(re.findall(r"^\s*(?:def |class )?(\w+)\s*(?:=|\()", cell.source, re.MULTILINE))
            names.update(re.findall(r"^\s*(\w+)\s*,\s*\w+\s*=", cell.source, re.MULTILINE))
            for group in re.findall(r"^\s*(?:from\s+\S+\s+)?import\s+(\([^)]*\)|[^\n]*)",
                                    cell.source, re.MULTILINE):
                names.update(re.findall(r"\w+", group))
    return names


# Mathematical names in prose, and the variable that holds them in the notebook's code.
MATH_NAMES = {"S_x": "sobel_x", "S_y": "sobel_y"}


def _flat(text: str) -> str:
    return " ".join(text.split())


def stale_references(paths=None) -> list[str]:
    """Every reference that rules 1-4 of the module docstring reject, as readable lines."""
    paths = NOTEBOOKS if paths is None else paths
    known = _by_number()
    sections = {n: _section_numbers(p) for n, p in known.items()}
    problems = []
    for path in paths:
        own = _number(path)
        for index, raw in _sources(path):
            text = _flat(raw)
            where = f"{path.name} cell {index}"
            for n in NOTEBOOK.findall(text):
                if n not in known:
                    problems.append(f"{where}: notebook {n} does not exist")
            attached = set()
            for m in IN_OTHER.finditer(text):
                n, number = m.group(1), m.group(2)
                attached.add(m.start(2))
                if n in known and number not in sections[n]:
                    problems.append(f"{where}: notebook {n} has no section {number}")
            for m in IN_OTHER_AFTER.finditer(text):
                number, n = m.group(1), m.group(2)
                attached.add(m.start(1))
                if n in known and number not in sections[n]:
                    problems.append(f"{where}: notebook {n} has no section {number}")
            for m in SECTION.finditer(text):
                if m.start(1) in attached:
                    continue
                if m.group(1) not in sections[own]:
                    problems.append(f"{where}: this notebook has no section {m.group(1)}")
            # a name in backticks or dollars, or a bare one that looks like a variable
            named = [(m.group(1) or m.group(2), m.group(3)) for m in NAME_OF.finditer(text)]
            named += [(m.group(2) or m.group(3) or m.group(4), m.group(1))
                      for m in NOTEBOOKS_NAME.finditer(text) if not m.group(4) or "_" in m.group(4)]
            for name, n in named:
                variable = MATH_NAMES.get(name, name)
                if n in known and variable not in _defined_names(known[n]):
                    problems.append(f"{where}: {name} is not defined in notebook {n}")
            for sentence in re.split(r"(?<=[.!?:])\s+", text):
                mentioned = set(NOTEBOOK.findall(sentence))
                if len(mentioned) != 1:
                    continue
                (n,) = mentioned
                for word, home in TOPICS.items():
                    if word in sentence and n != home and own != home:
                        problems.append(f"{where}: '{word}' is taught in notebook {home}, "
                                        f"not notebook {n}: {sentence[:120]!r}")
    return problems


def test_no_stale_reference_in_any_notebook():
    problems = stale_references()
    assert not problems, "stale references:\n" + "\n".join(problems)


def _write(tmp_path: Path, name: str, *cells) -> Path:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("text, complaint", [
    ("As notebook 09 shows, ...", "notebook 09 does not exist"),
    ("See section 3 above.", "this notebook has no section 3"),
    ("As in notebook 02, section 5, ...", "notebook 02 has no section 5"),
    ("Notebook 02 (section 5) has it.", "notebook 02 has no section 5"),
    ("Section 5 of notebook 02 has it.", "notebook 02 has no section 5"),
    ("The kernel `sobel_y` of notebook 01 again.", "sobel_y is not defined in notebook 01"),
    ("Notebook 01's $S_y$ again.", "S_y is not defined in notebook 01"),
    ("A Gaussian is separable (notebook 02 uses this to filter faster).",
     "'separab' is taught in notebook 06"),
    ("The Sobel kernel (the transpose of notebook 06's).", "'Sobel' is taught in notebook 01"),
])
def test_each_rule_catches_a_stale_reference(tmp_path, text, complaint):
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    one = _write(tmp_path, "01_a.ipynb", md("# 01"), md("## 1. Start"),
                 code("sobel_x = 1"), md("### 1.2 More"))
    two = _write(tmp_path, "02_b.ipynb", md("# 02"), md("## 4. Transpose"), md(text))
    six = _write(tmp_path, "06_c.ipynb", md("# 06"), md("## 1. Separable kernels"))
    global NOTEBOOKS
    saved, NOTEBOOKS = NOTEBOOKS, [one, two, six]
    try:
        problems = stale_references([two])
    finally:
        NOTEBOOKS = saved
    assert any(complaint in p for p in problems), problems
    # the same notebook with references that hold has no complaint
    good = _write(tmp_path, "02_b.ipynb", md("# 02"), md("## 4. Transpose"),
                  md("Notebook 01's $S_x$, `sobel_x` of notebook 01, notebook 01, section 1.2, "
                     "section 4, and separable kernels in notebook 06."))
    saved, NOTEBOOKS = NOTEBOOKS, [one, good, six]
    try:
        assert stale_references([good]) == []
    finally:
        NOTEBOOKS = saved
