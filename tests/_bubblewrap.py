"""The graders' sandbox for tests: skipped with the reason where bubblewrap is missing, except in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_bubblewrap() -> None:
    """Skip the calling test when bwrap is missing (fail where COURSE_REQUIRE_BUBBLEWRAP=1, as in CI)."""
    if shutil.which("bwrap"):
        return
    reason = ("grading test needs bubblewrap, the sandbox of the hand-ins "
              "(sudo apt-get install bubblewrap)")
    if os.environ.get("COURSE_REQUIRE_BUBBLEWRAP") == "1":
        pytest.fail(f"{reason}; COURSE_REQUIRE_BUBBLEWRAP=1 says it must be installed")
    pytest.skip(reason)
