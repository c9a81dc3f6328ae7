"""The lecture set-up works in a real browser: JupyterLab from this environment, a
notebook opened, cells run through the UI, an exercise answered, checked, saved and graded.

Headless Debian Chromium driven by Selenium; skipped when Chromium is not installed.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from _chromium import chromium, offsite_requests, require_chromium, wait_for_script
from _helpers import ROOT
from _lab import jupyterlab

SLIDESHOW = ROOT / "notebooks" / "02_toeplitz.ipynb"
ARITHMETIC = ROOT / "notebooks" / "03_conv_arithmetic.ipynb"  # its convolution-arithmetic widget

UI_TIMEOUT = 60  # s for the lab to load, a kernel to start, an output to appear


def _student_notebook() -> nbformat.NotebookNode:
    """A tiny student copy: a demo cell, an unanswered exercise and its check."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 00 · Browser test\n\nA demo cell, then an exercise."),
        nbformat.v4.new_code_cell("import numpy as np\n"
                                  "from course_utils.checks import check_convolve1d, points\n"
                                  "print('six times seven is', 6 * 7)"),
        nbformat.v4.new_code_cell("def my_convolve1d(x, w):\n"
                                  "    # YOUR CODE HERE\n"
                                  "    raise NotImplementedError()"),
        nbformat.v4.new_code_cell("points(check_convolve1d(my_convolve1d))"),
    ]
    nb.cells[2].metadata["nbgrader"] = {"grade_id": "my_convolve1d", "solution": True,
                                        "grade": False, "locked": False}
    nb.cells[3].metadata["nbgrader"] = {"grade_id": "check_my_convolve1d", "solution": False,
                                        "grade": True, "locked": True, "points": 1}
    return nb


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a temp folder with a tiny student notebook and a course notebook
    (for RISE); shared by this module's tests, always shut down."""
    require_chromium()
    work = tmp_path_factory.mktemp("jupyterlab")
    root = work / "lab"
    root.mkdir()
    nbformat.write(_student_notebook(), root / "homework.ipynb")
    if SLIDESHOW:
        shutil.copy(SLIDESHOW, root / SLIDESHOW.name)
    shutil.copy(ARITHMETIC, root / ARITHMETIC.name)
    with jupyterlab(root, work) as server:
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
        assert offsite_requests(driver) == [], "JupyterLab fetched files from the web"

    # The grader runs the handed-in file in its sandbox: full marks.
    from course_utils.grading import grader

    result = grader.grade_notebook(saved, _student_notebook())
    assert (result.score, result.max_score) == (1.0, 1.0), result.verdicts



# --- a lecture demo: the convolution-arithmetic widget of notebook 03 ----------------------

def _run_cell_in_view(driver, index: int) -> None:
    """Scroll cell `index` to the middle of the window, click into it and press Shift+Enter.
    A long notebook's layout still moves while MathJax typesets it: retry a hidden click."""
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    deadline = time.monotonic() + UI_TIMEOUT
    while True:
        editor = _cells(driver)[index].find_element(By.CSS_SELECTOR, ".cm-content")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", editor)
        try:
            editor.click()
            break
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()


def test_the_convolution_arithmetic_widget_redraws_when_a_slider_moves(lab):
    """Notebook 03 open in JupyterLab: run the widget's cell, press the right arrow on the
    input-size slider, and the formula (and picture) below it change to the new numbers."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    notebook = nbformat.read(ARITHMETIC, as_version=4)
    index = next(n for n, cell in enumerate(notebook.cells)
                 if "conv_arithmetic_widget(i=7" in cell.source)
    formula = ".jp-NotebookPanel:not(.lm-mod-hidden) .conv-formula"
    with chromium() as driver:
        driver.get(f"{lab['url']}/lab/tree/{ARITHMETIC.name}?reset&token={lab['token']}")
        _wait(driver, lambda d: len(_cells(d)) == len(notebook.cells), "notebook 03's cells")
        _wait(driver, lambda d: d.find_elements(
            By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) "
                             ".jp-Notebook-ExecutionIndicator[data-status='idle']"),
              "an idle kernel")
        # the stored output is a widget without state: nothing shows until the cell runs
        _run_cell_in_view(driver, index)
        # read the page with scripts: the widget replaces its elements as it redraws
        formula_text = (f"return Array.from(document.querySelectorAll('{formula}'))"
                        ".map(e => e.textContent).join(' ')")
        pictures = ("return Array.from(document.querySelectorAll("
                    "'.jp-NotebookPanel:not(.lm-mod-hidden) .widget-image')).map(e => e.src)")
        _wait(driver, lambda d: "= 4" in d.execute_script(formula_text),
              "the widget's formula for i = 7, k = 3, s = 2, p = 1")
        before = driver.execute_script(formula_text)
        assert "⌊(7 + 1 + 1 − 3) / 2⌋ + 1 = 4" in before, before
        first_pictures = _wait(driver, lambda d: d.execute_script(pictures), "the widget's picture")

        handle = _cells(driver)[index].find_elements(By.CSS_SELECTOR, ".noUi-handle")[0]
        handle.click()  # the first slider: input size i
        handle.send_keys(Keys.ARROW_RIGHT)
        _wait(driver, lambda d: "⌊(8 + 1 + 1 − 3) / 2⌋ + 1 = 4" in d.execute_script(formula_text),
              "the formula for i = 8")
        _wait(driver, lambda d: d.execute_script(pictures) not in ([], first_pictures),
              "a redrawn picture")
        assert "Traceback" not in _cells(driver)[index].text
        assert offsite_requests(driver) == [], "the widget fetched files from the web"


# --- RISE in JupyterLab --------------------------------------------------------------------

def test_rise_presents_a_course_notebook_as_slides_and_advances(lab):
    """A lecturer opens a notebook, presses Alt+R (RISE), and steps through the slides."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    notebook = SLIDESHOW
    shown = ("const s = document.querySelector('.reveal .slides section.present');"
             "return s ? s.innerText.trim().slice(0, 200) : ''")
    with chromium() as driver:
        started = time.perf_counter()
        # ?reset: a fresh layout, not the notebooks the previous test left open
        driver.get(f"{lab['url']}/lab/tree/{notebook.name}?reset&token={lab['token']}")
        cells = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputPrompt"
        assert wait_for_script(driver, f"return document.querySelectorAll('{cells}').length > 3"), \
            "the notebook did not open"
        driver.find_elements(By.CSS_SELECTOR, cells)[0].click()
        ActionChains(driver).key_down(Keys.ALT).send_keys("r").key_up(Keys.ALT).perform()
        assert wait_for_script(driver, "return document.querySelector('iframe[src*=\"/rise/\"]')"), \
            "Alt+R opened no RISE slideshow"
        print(f"notebook open and Alt+R pressed after {time.perf_counter() - started:.1f} s")
        driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, 'iframe[src*="/rise/"]'))
        first = wait_for_script(driver, shown)
        print(f"slideshow shown after {time.perf_counter() - started:.1f} s")
        title = nbformat.read(notebook, as_version=4).cells[0].source.split("\n")[0]
        assert first.lower().startswith(title.lstrip("# ").lower()), first  # theme: capitals
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
        second = wait_for_script(driver, f"const t = (() => {{ {shown} }})(); "
                                   f"return t && t !== {first!r} ? t : ''")
        assert second and second != first, "advancing did not change the slide"
        driver.switch_to.default_content()
        assert offsite_requests(driver) == []


def test_browser_tests_skip_with_a_reason_when_chromium_is_missing(monkeypatch):
    import _chromium

    monkeypatch.setattr(_chromium, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("COURSE_REQUIRE_CHROMIUM", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        _chromium.require_chromium()


def test_browser_tests_fail_when_chromium_is_required_but_missing(monkeypatch):
    import _chromium

    monkeypatch.setattr(_chromium, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("COURSE_REQUIRE_CHROMIUM", "1")
    with pytest.raises(pytest.fail.Exception, match="must be installed"):
        _chromium.require_chromium()
