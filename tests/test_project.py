"""Project-level promises: pinned dependencies, package layering, stored notebooks."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course_utils"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Which modules of the package each module may import (DESIGN.md, "Dependencies inside
# the package"): the maths at the bottom knows nothing above it.
ALLOWED_IMPORTS = {
    "_validation": set(),
    "gradcheck": set(),  # knows layers only by their interface (forward, backward, grads)
    "parallel": set(),  # runs the functions it is given on the layers it is given
    "activations": {"_validation"},
    "costs": {"_validation"},
    "schedulers": {"_validation"},
    "convolution": {"_validation"},
    "data": {"_validation"},
    "ising": {"_validation"},  # the sampler of notebook 08 sits with the maths, numpy only
    "layers": {"_validation", "convolution", "activations"},
    "fast_layers": {"_validation", "convolution", "activations", "layers"},
    "model_file": {"activations", "costs", "schedulers", "layers"},  # CNN's file format
    "cnn": {"_validation", "convolution", "activations", "costs", "schedulers", "layers",
            "fast_layers", "parallel", "model_file"},
    "receptive_field": {"_validation", "layers"},  # reads layer geometry, above cnn's layers
}
# Imports a module may make lazily, inside its module-level __getattr__, to keep an old
# import path working without importing upwards at load time (PEP 562).
LAZY_REEXPORTS = {"layers": {"fast_layers"}}


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip().lstrip("- ").strip()
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_environment_yml_pins_the_same_set_as_requirements():
    requirements = _pins((ROOT / "requirements.txt").read_text().splitlines())
    environment = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert requirements, "requirements.txt pins nothing"
    assert requirements == environment


def test_every_requirement_is_pinned_exactly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert "==" in line, f"requirements.txt: {line!r} is not pinned with =="


def _package_imports(module: Path, lazy: bool = False) -> set[str]:
    """Names of course_utils modules imported by `module` (relative or absolute imports);
    lazy=True: only those imported inside its module-level __getattr__, else all others."""
    tree = ast.parse(module.read_text())
    getattrs = [node for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]
    inside = {id(node) for function in getattrs for node in ast.walk(function)}
    found = set()
    for node in ast.walk(tree):
        if (id(node) in inside) != lazy:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("course_utils."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("course_utils."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("name", sorted(ALLOWED_IMPORTS))
def test_lower_modules_import_nothing_above_them(name):
    path = PACKAGE / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{path.name} not written")
    imported = _package_imports(path)
    assert imported <= ALLOWED_IMPORTS[name], f"{name} imports {imported - ALLOWED_IMPORTS[name]}"
    lazy, allowed = _package_imports(path, lazy=True), LAZY_REEXPORTS.get(name, set())
    assert lazy <= allowed, f"{name} imports {lazy - allowed} in __getattr__"


def test_every_package_module_has_its_place_in_the_dependency_order():
    # the plotting, Keras, homework and grading helpers sit on top and may import anything
    on_top = {"__init__", "__main__", "plotting", "keras_models", "checks", "grade"}
    modules = {path.stem for path in PACKAGE.glob("*.py")} - on_top
    assert modules <= set(ALLOWED_IMPORTS), f"add {modules - set(ALLOWED_IMPORTS)} to the order"


def test_the_vectorised_layers_are_still_importable_from_layers():
    code = ("from course_utils.layers import Convolution2DLayerOPT; "
            "from course_utils.fast_layers import Convolution2DLayerOPT as fast; "
            "print(Convolution2DLayerOPT is fast)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_importing_the_package_does_not_import_tensorflow():
    code = "import sys, course_utils; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_executed_top_to_bottom(path):
    cells = [
        c
        for c in json.loads(path.read_text())["cells"]
        if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_downloads_nothing_and_reads_data_through_the_package(path):
    sources = "\n".join(
        "".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"
    )
    for forbidden in ("fetch_openml", "keras.datasets", "urlopen", "requests.get", "load_data("):
        assert forbidden not in sources, f"{path.name} calls {forbidden}"
    assert not re.search(r"['\"](\.\./)?data/", sources), f"{path.name} uses a relative data path"


def test_notebooks_are_numbered_one_to_n_without_gaps_or_repeats():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), [p.name for p in NOTEBOOKS]


def test_the_readme_example_runs_and_learns(capsys):
    readme = (ROOT / "README.md").read_text()
    pattern = r"```python\n(import numpy as np\nfrom course_utils import CNN.*?)```"
    match = re.search(pattern, readme, re.DOTALL)
    assert match, "README.md lost its package example"
    namespace: dict = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    assert "Total parameters: 101,146" in capsys.readouterr().out
    assert namespace["scores"]["val_acc"][-1] > 0.85
