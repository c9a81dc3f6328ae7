"""What a wheel of course_utils holds (the rest of the metadata is in pyproject.toml).

Every subpackage of course_utils (the grader, and any added later), and the course's data
files: the repository keeps them in data/ (beside the notebooks), the wheel ships them as
the package course_utils._data, where course_utils.data.DATA_DIR finds them after a
non-editable `pip install .`.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["course_utils", "course_utils.*"]), "course_utils._data"],
    package_dir={"course_utils._data": "data"},
    package_data={"course_utils._data": ["*.jpg", "*.npz", "*.md"]},
)
