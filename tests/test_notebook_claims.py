"""Claims in the documentation that a computation must back (issue 38).

The notebooks carry their own computed cells (nbval checks them); these are the claims
made in Markdown files outside the notebooks.
"""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}


def _pmatrix(latex: str) -> np.ndarray:
    rows = latex.split(r"\\")
    return np.array([[float(v) for v in row.split("&")] for row in rows])


def test_instructor_answer_1_kernel_has_half_turn_symmetry_and_no_mirror_symmetry():
    text = (ROOT / "docs/instructor/01_convolution.md").read_text()
    example = re.search(r"half-turn symmetry without any mirror symmetry, e\.g\.\s*"
                        r"\$\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}\$", text, re.DOTALL)
    assert example, "answer 1 no longer names its example kernel"
    W = _pmatrix(example.group(1))
    assert np.array_equal(np.rot90(W, 2), W), "not unchanged by a half turn"
    mirrors = {"left-right": W[:, ::-1], "up-down": W[::-1], "main diagonal": W.T,
               "anti-diagonal": np.rot90(W, 2).T}
    symmetric = [name for name, mirrored in mirrors.items() if np.array_equal(mirrored, W)]
    assert not symmetric, f"the example is mirror symmetric about: {symmetric}"


@pytest.mark.parametrize("page", ["book/index.md", "README.md", "docs/lecturers.md"])
def test_no_page_states_a_notebook_count_that_differs_from_the_notebooks(page):
    text = (ROOT / page).read_text()
    n_notebooks = len(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    pattern = r"\b(" + "|".join(NUMBER_WORDS) + r"|\d+)\s+(?:jupyter\s+)?notebooks\b"
    for match in re.finditer(pattern, text, re.IGNORECASE):
        word = match.group(1).lower()
        count = int(word) if word.isdigit() else NUMBER_WORDS[word]
        assert count == n_notebooks, (f"{page} says {match.group(0)!r}, "
                                      f"but notebooks/ holds {n_notebooks}")
