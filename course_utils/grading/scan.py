"""What a teaching assistant should look at: answer code that reaches around the exercise.

Static reading of the code cells a student wrote or changed (cells identical to one of the
course's are skipped), never run. It flags, for a person to judge, not for a zero:

- use of the course's own implementation of the exercise (or of the library function the
  check compares with) in the cell that defines the answer;
- anything that touches the grading machinery or Python's internals: `course_utils.checks`,
  `course_utils.grading`, `course_utils.exercises` (the references and cases, and anything
  under it, e.g. its private helpers; the box holds no copy, but a hand-in run elsewhere does), `sys.modules`, `builtins`, the IPython shell, dynamic imports and
  code (`__import__`, `importlib`, `exec`, `eval`, `compile`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

_MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)
_NAMED = re.compile(r"course_utils\.(checks|grading|exercises)\b|^(checks|exercises|builtins"
                    r"|__builtins__|modules|showtraceback)$")
_INTERNALS = {
    "checks": "course_utils.checks (the self-checks)",
    "grading": "course_utils.grading (the grader)",
    "exercises": "course_utils.exercises (the grader's references)",
    "modules": "sys.modules",
    "builtins": "builtins",
    "__builtins__": "builtins",
    "get_ipython": "the IPython shell",
    "IPython": "the IPython shell",
    "InteractiveShell": "the IPython shell",
    "showtraceback": "the IPython shell",
    "__import__": "dynamic imports",
    "importlib": "dynamic imports",
    "exec": "dynamic code (exec)",
    "eval": "dynamic code (eval)",
    "compile": "dynamic code (compile)",
    "__eq__": "a custom == (__eq__)",
}


def parse(source: str) -> ast.Module | None:
    """The cell's code as a syntax tree, IPython magics (%..., !...) left out; None if not Python."""
    try:
        return ast.parse(_MAGIC.sub("", source))
    except (SyntaxError, ValueError, RecursionError):
        return None


def identifiers(source: str) -> set[str] | None:
    """Every name, attribute and imported module part used in source (None: not Python)."""
    tree = parse(source)
    if tree is None:
        return None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            found.add(node.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.update(alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            found.update((node.module or "").split("."))
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module or attribute named in a string, e.g. import_module("course_utils.checks")
            found.update(m.group(1) or m.group(2) for m in _NAMED.finditer(node.value))
    return found


def defines(source: str) -> set[str]:
    """Names of the functions and classes that source defines at its top level."""
    tree = parse(source)
    if tree is None:
        return set()
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}


@dataclass(frozen=True)
class Flag:
    """One thing for a teaching assistant to look at; `answer` names the exercise it is about."""

    text: str
    answer: str | None = None

    def __str__(self) -> str:
        return self.text


def flags(cells: Iterable[tuple[int, str]], course_sources: set[str],
          answers: dict[str, tuple[str, ...]]) -> list[Flag]:
    """Flags for a teaching assistant, one line each.

    cells: (index, source) of the hand-in's code cells. course_sources: the sources of the
    course's cells (unchanged cells are not the student's). answers: answer name (e.g.
    "my_convolve2d") -> names of the implementations that answer must not simply call.
    """
    found = []
    for index, source in cells:
        if source.strip() in course_sources or not source.strip():
            continue
        names = identifiers(source)
        if names is None:
            found.append(Flag(f"cell {index}: not valid Python, not read"))
            continue
        touched = sorted({_INTERNALS[name] for name in names if name in _INTERNALS})
        if touched:
            found.append(Flag(f"cell {index}: touches {', '.join(touched)}"))
        for answer in sorted(defines(source) & set(answers)):
            used = sorted(names & set(answers[answer]))
            if used:
                found.append(Flag(f"cell {index} ({answer}): uses {', '.join(used)}, an "
                                  "implementation of this very exercise", answer))
    return found
