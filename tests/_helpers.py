"""Pieces shared by several test files: the project's folders and the lecture's 6x6 worked
example. Import them with `from _helpers import ...` (pytest puts tests/ on sys.path, as for
_chromium.py). Finite differences live in the package: course_utils.gradcheck."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# the course notebooks, in course order (test_project checks they are numbered 01..N)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# The lecture's worked example: a 6x6 image, and its valid convolution with the 3x3
# box filter ones((3, 3)) / 9 rounded to two decimals (the numbers on the slide).
LECTURE_IMAGE = np.array(
    [
        [4, 1, 2, 9, 8, 6],
        [9, 5, 9, 5, 8, 5],
        [1, 5, 9, 7, 6, 4],
        [2, 9, 8, 3, 7, 1],
        [8, 1, 6, 4, 2, 2],
        [1, 0, 5, 7, 8, 2],
    ],
    dtype=float,
)
LECTURE_RESULT = np.array(
    [
        [5.00, 5.78, 7.00, 6.44],
        [6.33, 6.67, 6.89, 5.11],
        [5.44, 5.78, 5.78, 4.00],
        [4.44, 4.78, 5.56, 4.00],
    ]
)
