"""Plain data between a student's kernel and the grader: JSON with tagged arrays and tuples.

The grader never unpickles or evaluates what a hand-in produced. Inputs go into the
sandbox and answers come out as JSON: numbers, strings, None, lists, and two tags,

    {"__tuple__": [...]}                                  a tuple
    {"__array__": [flat values], "shape": [...], "dtype": "float64"}   a numeric ndarray

`decode` accepts nothing else: an object it cannot rebuild (an instance of a class of the
student's, a complex number, a too-deep list) comes back as an `Opaque` that no compare
accepts, and a file larger than `MAX_BYTES` is not read at all.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 20_000_000      # far above every answer of the course (the largest is ~100 kB)
MAX_DEPTH = 32
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"}


class Opaque:
    """Stands for a value the wire format does not carry; compares equal to nothing."""

    def __init__(self, description: str):
        self.description = description

    def __repr__(self) -> str:
        return f"<{self.description}>"

    __str__ = __repr__


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-able form of value (see the module docstring); never raises."""
    if depth > MAX_DEPTH:
        return {"__opaque__": "a value nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.name in _DTYPES:
        return {"__array__": value.ravel().tolist(), "shape": list(value.shape),
                "dtype": value.dtype.name}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) and not k.startswith("__") for k in value):
        return {k: encode(v, depth + 1) for k, v in value.items()}
    return {"__opaque__": f"an object of type {type(value).__name__}"}


def decode(data: Any, depth: int = 0) -> Any:
    """The value `encode` wrote, rebuilt from plain JSON data only."""
    if depth > MAX_DEPTH:
        return Opaque("a value nested too deeply")
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data]
    if isinstance(data, dict):
        if "__tuple__" in data and isinstance(data["__tuple__"], list):
            return tuple(decode(v, depth + 1) for v in data["__tuple__"])
        if "__array__" in data:
            return _array(data)
        if "__opaque__" in data:
            return Opaque(str(data["__opaque__"])[:200])
        if not any(k.startswith("__") for k in data):
            return {k: decode(v, depth + 1) for k, v in data.items()}
    return Opaque("data the grader does not understand")


def _array(data: dict) -> np.ndarray | Opaque:
    flat, shape, dtype = data.get("__array__"), data.get("shape"), data.get("dtype")
    if (not isinstance(flat, list) or not isinstance(shape, list) or dtype not in _DTYPES
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            or math.prod(shape) != len(flat)
            or not all(isinstance(v, (int, float)) for v in flat)):
        return Opaque("a malformed array")
    try:
        return np.array(flat, dtype=dtype).reshape(shape)
    except (TypeError, ValueError, OverflowError):
        return Opaque("a malformed array")


def dump(value: Any, path: Path) -> None:
    """Write encode(value) to path as JSON (NaN and infinities included)."""
    Path(path).write_text(json.dumps(encode(value)), encoding="utf-8")


def load(path: Path) -> Any:
    """decode() of the JSON file at path; ValueError if it is too large or not JSON."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{path.name} holds {size:,} bytes, more than the {MAX_BYTES:,} allowed")
    try:
        return decode(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{path.name} is not the JSON the grader expects: {error}") from None
