"""Project-level promises: pinned dependencies, package layering, stored notebooks."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from _helpers import NOTEBOOKS, ROOT

PACKAGE = ROOT / "course_utils"

# Which modules of the package each module may import: the maths at the bottom knows
# nothing above it, the readable and the vectorised layers share _layer_base below both,
# and layers re-exports the vectorised ones with a plain import.
ALLOWED_IMPORTS = {
    "_validation": set(),
    "gradcheck": set(),  # knows layers only by their interface (forward, backward, grads)
    "parallel": set(),  # runs the functions it is given on the layers it is given
    "activations": {"_validation"},
    "costs": {"_validation"},
    "schedulers": {"_validation"},
    "toeplitz": {"_validation"},
    "convolve_methods": {"_validation"},  # convolve2d's fast methods and its cost model
    "convolution": {"_validation", "convolve_methods", "toeplitz"},  # re-exports both
    "data": {"_validation"},
    "ising": {"_validation"},  # the sampler of notebook 08 sits with the maths, numpy only
    "signals": {"_validation"},  # chirps in noise and the matched filter (notebook 09)
    "_layer_base": {"_validation", "convolution", "activations"},
    "fast_layers": {"_validation", "convolution", "activations", "_layer_base"},
    "layers_1d": {"_validation", "activations", "_layer_base", "fast_layers"},  # height-1 layers
    "layers": {"_validation", "convolution", "activations", "_layer_base", "fast_layers",
               "layers_1d"},  # re-exports the 1D layers
    "model_file": {"activations", "costs", "schedulers", "_layer_base", "layers",
                   "layers_1d"},  # CNN's file format
    # shapes, counts, data checks (images and signals)
    "architecture": {"_validation", "_layer_base", "layers", "layers_1d"},
    # the pieces around fit's loop: step, roll-back, Ctrl-C, which batches may be split
    "training": {"activations", "costs", "parallel"},
    "cnn": {"_validation", "activations", "costs", "schedulers", "_layer_base", "layers",
            "layers_1d", "fast_layers", "parallel", "model_file", "training", "architecture"},
    "receptive_field": {"_validation", "_layer_base", "fast_layers", "layers"},  # layer geometry
    # gradients of a trained network's score through the layers' own backward passes
    "saliency": {"_validation", "activations", "convolution", "layers"},
}
# the plotting, Keras, homework and grading helpers sit on top and may import anything
ON_TOP = {"__init__", "__main__", "plotting", "plotting_images", "plotting_convolution",
          "plotting_training", "keras_import", "keras_builders", "keras_grid", "keras_models",
          "checks", "exercises", "homework", "grading",
          "demos", "image_demos"}  # the lecture's widgets and animations (ipywidgets, imageio)


def _requirements() -> list[str]:
    """The requirement lines of requirements.txt (comments and blank lines dropped)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_every_requirement_is_pinned_exactly():
    names = [re.split(r"==", line)[0].lower() for line in _requirements()]
    assert names and len(names) == len(set(names)), f"requirements.txt repeats a name: {names}"
    for line in _requirements():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s=#]+", line), f"{line!r} is not pinned with =="


def test_pyproject_takes_its_dependencies_from_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "dependencies" not in project["project"], "pyproject.toml lists dependencies itself"
    assert "dependencies" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["dependencies"]
    assert dynamic == {"file": ["requirements.txt"]}
    # what pip installed (make install re-installs when requirements.txt changes)
    assert sorted(metadata.requires("course_utils")) == sorted(_requirements())


def test_environment_yml_installs_requirements_txt_and_pins_nothing_itself():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    entries = [line.split("#")[0].strip() for line in lines]
    entries = [entry[2:] for entry in entries if entry.startswith("- ")]
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    # the conda-forge channel, Python, pip, and pip's one line: requirements.txt
    assert entries == ["conda-forge", "python=" + python.removeprefix(">="), "pip", "pip:",
                       "-r requirements.txt"]


def _package_imports(module: Path) -> set[str]:
    """Names of course_utils modules `module` imports (relative or absolute imports),
    wherever the import statement stands: at the top, or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
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


def _import_graph() -> dict[str, set[str]]:
    """Each module of the package (course_utils/*.py) and the package modules it imports."""
    return {path.stem: _package_imports(path) - {path.stem} for path in PACKAGE.glob("*.py")}


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the directed graph as [a, b, ..., a], or [] if it has none."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target, [*path, target])
                if found:
                    return found
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return []


@pytest.mark.parametrize("name", sorted(ALLOWED_IMPORTS))
def test_lower_modules_import_nothing_above_them(name):
    imported = _package_imports(PACKAGE / f"{name}.py")
    assert imported <= ALLOWED_IMPORTS[name], f"{name} imports {imported - ALLOWED_IMPORTS[name]}"


def test_every_package_module_has_its_place_in_the_dependency_order():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert modules - ON_TOP <= set(ALLOWED_IMPORTS), f"add {modules - ON_TOP - set(ALLOWED_IMPORTS)}"
    assert set(ALLOWED_IMPORTS) <= modules, f"no such module: {set(ALLOWED_IMPORTS) - modules}"


def test_no_module_imports_a_module_that_imports_it():
    graph = _import_graph()
    assert _a_cycle(graph) == [], f"import cycle: {' -> '.join(_a_cycle(graph))}"
    # the allowed table is a layering too: no lower module may ever import a helper on top
    assert _a_cycle({**ALLOWED_IMPORTS, **{name: graph[name] for name in ON_TOP & set(graph)}}) == []


def test_the_cycle_finder_finds_direct_and_indirect_cycles():
    assert _a_cycle({"layers": {"fast_layers"}, "fast_layers": {"layers"}}) == [
        "fast_layers", "layers", "fast_layers"]
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_module_resolves_attributes_lazily():
    # a module-level __getattr__ (PEP 562) hides an import from the layering tests above
    for path in PACKAGE.glob("*.py"):
        names = {node.name for node in ast.parse(path.read_text()).body
                 if isinstance(node, ast.FunctionDef)}
        assert "__getattr__" not in names, f"{path.name} defines a module-level __getattr__"


@pytest.mark.parametrize("statement", [
    "from course_utils.layers import Convolution2DLayerOPT, Pooling2DLayerOPT",
    "from course_utils.fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT",
    "from course_utils import Convolution2DLayerOPT, Pooling2DLayerOPT",
])
def test_the_vectorised_layers_import_from_each_documented_path(statement):
    # a fresh interpreter: an import that works only after another module ran fails here
    code = (f"{statement}\n"
            "import course_utils.fast_layers as fast\n"
            "print(Convolution2DLayerOPT is fast.Convolution2DLayerOPT,"
            " Pooling2DLayerOPT is fast.Pooling2DLayerOPT)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True True"


def test_the_readable_and_vectorised_layers_are_the_same_shells_around_different_pairs():
    # no isinstance tricks (ABCMeta.register): both are subclasses of the shared shell,
    # and differ only in the pair functions they name
    from course_utils import fast_layers, layers
    from course_utils._layer_base import Convolution2DBase, Pooling2DBase

    assert issubclass(layers.Convolution2DLayer, Convolution2DBase)
    assert issubclass(fast_layers.Convolution2DLayerOPT, Convolution2DBase)
    assert issubclass(layers.Pooling2DLayer, Pooling2DBase)
    assert issubclass(fast_layers.Pooling2DLayerOPT, Pooling2DBase)
    assert layers.Convolution2DLayer.conv_forward is layers.conv_forward
    assert fast_layers.Convolution2DLayerOPT.conv_backward is fast_layers.conv_backward
    assert layers.Pooling2DLayer.pairs["max"] == (layers.max_pool_forward, layers.max_pool_backward)
    assert fast_layers.Pooling2DLayerOPT.pairs["average"] == (
        fast_layers.average_pool_forward, fast_layers.average_pool_backward)
    for name in ("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
                 "average_pool_forward", "average_pool_backward"):
        assert getattr(layers, name) is not getattr(fast_layers, name), name


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


def test_the_package_example_runs_and_learns(capsys):
    guide = (ROOT / "docs" / "contributing.md").read_text()
    pattern = r"```python\n(import numpy as np\nfrom course_utils import CNN.*?)```"
    match = re.search(pattern, guide, re.DOTALL)
    assert match, "docs/contributing.md lost its package example"
    namespace: dict = {}
    exec(compile(match.group(1), "docs/contributing.md", "exec"), namespace)  # noqa: S102 (ours)
    assert "Total parameters: 101,146" in capsys.readouterr().out
    assert namespace["scores"]["val_acc"][-1] > 0.85


def test_the_readme_links_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert {"docs/grading.md", "docs/lecturers.md", "docs/contributing.md"} <= set(links)
    for link in links:
        assert (ROOT / link).is_file(), f"README.md links {link}, which does not exist"
    for path in NOTEBOOKS:  # the course table names every notebook
        assert f"`{path.name}`" in readme, f"README.md's course table lacks {path.name}"


def _package_map() -> list[str]:
    """The module names in the first column of docs/contributing.md's map of the package."""
    guide = (ROOT / "docs" / "contributing.md").read_text()
    table = guide[guide.index("The map of the package"):guide.index("## Tests")]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [name for row in rows for name in re.findall(r"`([\w/]+)`", row.split("|")[1])]


def test_the_package_map_in_contributing_md_lists_every_module_once():
    listed = _package_map()
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(listed)}"
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    packages = {f"{path.parent.name}/" for path in PACKAGE.glob("*/__init__.py")}
    assert set(listed) == modules | packages, (
        f"docs/contributing.md's map misses {sorted(modules | packages - set(listed))} "
        f"and lists {sorted(set(listed) - modules - packages)}, which are not modules"
    )


def test_the_package_map_is_in_dependency_order():
    # "a module imports only modules above it in this table"
    order = {name: index for index, name in enumerate(_package_map())}
    for name, imported in _import_graph().items():
        for other in imported:
            if name in order and other in order:
                assert order[other] < order[name], f"{name} imports {other}, listed below it"
