"""The lecture set-up works in a real browser: JupyterLab from this environment, a
notebook opened, cells run through the UI, an exercise answered, checked, saved and graded.

Headless Debian Chromium driven by Selenium; skipped when Chromium is not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _chromium import chromium, jupyter_lab, require_chromium

ROOT = Path(__file__).resolve().parents[1]
UI_TIMEOUT = 60  # s for the lab to load, a kernel to start, an output to appear


def _student_notebook() -> nbformat.NotebookNode:
    """A tiny student copy: a demo cell, an unanswered exercise and its check."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 00 · Browser test\n\nA demo cell, then an exercise."),
        nbformat.v4.new_code_cell("import numpy as np\n"
                                  "from course_utils.checks import check_convolve1d\n"
                                  "print('six times seven is', 6 * 7)"),
        nbformat.v4.new_code_cell("def my_convolve1d(x, w):\n"
                                  "    # YOUR CODE HERE\n"
                                  "    raise NotImplementedError()"),
        nbformat.v4.new_code_cell("check_convolve1d(my_convolve1d);"),
    ]
    return nb


@pytest.fixture
def lab(tmp_path):
    """Start JupyterLab on a free loopback port serving a temp folder; always shut it down."""
    require_chromium()
    root = tmp_path / "lab"
    root.mkdir()
    nbformat.write(_student_notebook(), root / "homework.ipynb")
    with jupyter_lab(root, tmp_path) as server:
        yield server


def _wait(driver, condition, what: str, timeout: float = UI_TIMEOUT):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition)
    except TimeoutException:
        text = driver.execute_script("return document.body ? document.body.innerText : ''")
        pytest.fail(f"timed out after {timeout} s waiting for {what}; page text:\n{text[-2000:]}")


def _cells(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")


def _output_text(driver, index: int) -> str:
    from selenium.webdriver.common.by import By

    outputs = _cells(driver)[index].find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")
    return "\n".join(o.text for o in outputs)


def _run_cell(driver, index: int, expected: str) -> str:
    """Click into cell `index`, press Shift+Enter and wait until its output contains `expected`."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = _cells(driver)[index].find_element(By.CSS_SELECTOR, ".cm-content")
    editor.click()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    _wait(driver, lambda d: expected in _output_text(d, index),
          f"output {expected!r} of cell {index}")
    return _output_text(driver, index)


def test_jupyterlab_runs_an_exercise_through_the_ui_and_the_saved_notebook_grades(lab):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with chromium() as driver:
        driver.get(f"{lab['url']}/lab/tree/homework.ipynb?token={lab['token']}")
        # The notebook is open and its kernel (this environment's Python) is idle.
        _wait(driver, lambda d: len(_cells(d)) == 4, "the notebook's 4 cells")
        _wait(driver, lambda d: d.find_elements(
            By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) "
                             ".jp-Notebook-ExecutionIndicator[data-status='idle']"),
              "an idle kernel")

        # Lecture: run a cell, see its output.
        assert "six times seven is 42" in _run_cell(driver, 1, "six times seven is 42")

        # Homework: the unanswered exercise says so ...
        _run_cell(driver, 2, "")
        assert "not answered yet" in _run_cell(driver, 3, "not answered yet")

        # ... the student replaces the body and the check passes.
        editor = _cells(driver)[2].find_element(By.CSS_SELECTOR, ".cm-content")
        editor.click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        ActionChains(driver).send_keys("def my_convolve1d(x, w):").send_keys(Keys.ENTER).send_keys(
            "return np.convolve(x, w)").perform()
        _wait(driver, lambda d: "return np.convolve(x, w)" in _cells(d)[2].text, "the typed answer")
        ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
        passed = _run_cell(driver, 3, "my_convolve1d: passed")
        assert passed.startswith("✔ my_convolve1d: passed"), passed

        # Hand in: save with Ctrl+S, the file on disk holds the answer.
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
        saved = lab["root"] / "homework.ipynb"
        _wait(driver, lambda d: "np.convolve(x, w)" in saved.read_text(), "the saved notebook")

    # Grade the handed-in file headless: full marks.
    result = subprocess.run([sys.executable, "-m", "course_utils.grade", str(saved)],
                            check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "my_convolve1d" in result.stdout and "score: 1/1" in result.stdout, result.stdout


def test_browser_tests_skip_with_a_reason_when_chromium_is_missing(monkeypatch):
    import _chromium

    monkeypatch.setattr(_chromium, "CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _chromium.require_chromium()
