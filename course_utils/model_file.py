"""Saving and loading a CNN: one .npz file, no pickle (CNN.save and CNN.load call these).

The file holds
  - "architecture": a JSON text (format, version, cost function, scheduler, seed, input
    shape, and every layer's settings; functions and schedulers are stored by name);
  - "layer{i}_{key}": the weights of layer i (kernel, bias, weights);
  - "training_state": a JSON text with the random generator's state and every scheduler's
    non-array state (Adam's step count t, ...), and "state_layer{i}_{key}_{attribute}": the
    schedulers' arrays (Adam's moments), so a loaded model continues training bit for bit.
"""

from __future__ import annotations

import json
import numbers
import os
import secrets
import zipfile
from collections.abc import Callable

import numpy as np

from . import activations as _activations
from . import costs as _costs
from . import schedulers as _schedulers
from ._layer_base import Convolution2DBase, Pooling2DBase
from .layers import FullyConnectedLayer, OutputLayer
from .layers_1d import Convolution1DLayer, Pooling1DLayer
from .schedulers import Scheduler

_FILE_FORMAT = "course_utils.CNN"
_FILE_VERSION = 2


def save(model, path: str | os.PathLike) -> None:
    """The work of CNN.save (see there for what the file holds and promises): check the
    path, write everything to a temporary file in the same folder, rename it over `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(
            f"cannot save to {path!r}: it is a folder; give a file name inside it, e.g. "
            f"{os.path.join(path, 'model.npz')!r}."
        )
    if not os.path.isdir(folder):
        raise ValueError(
            f"cannot save to {path!r}: the folder {folder!r} does not exist (or is not a "
            "folder); create it first, e.g. os.makedirs(folder, exist_ok=True), or choose "
            "another path."
        )
    architecture = json.dumps(architecture_of(model))
    arrays = {
        f"layer{index}_{key}": value
        for index, layer in enumerate(model.layers)
        for key, value in layer.params.items()
    }
    training_state, state_arrays = _training_state(model)
    arrays.update(state_arrays)
    # a fresh name in the same folder (os.replace is atomic only within one file
    # system); opened with "x" so the file gets the usual permissions (not 0600)
    temporary = os.path.join(
        folder, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    )
    try:
        with open(temporary, "xb") as file:
            np.savez(
                file, architecture=np.array(architecture),
                training_state=np.array(training_state), **arrays,
            )
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise

def _training_state(model) -> tuple[str, dict[str, np.ndarray]]:
    """The generator state and every scheduler's state, as a JSON text plus arrays.

    A scheduler's state is its state_dict() (Adam: moment, second, t): arrays go into the archive as state_layer{i}_{key}_{attribute} (JSON
    marks them "array"), None and numbers go into the JSON text.
    """
    schedulers, arrays = {}, {}
    for name, _, _, scheduler in _named_schedulers(model):
        state = {}
        for attribute, value in scheduler.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[f"state_{name}_{attribute}"] = value
                state[attribute] = "array"
            elif value is None or _is_number(value):
                state[attribute] = value.item() if isinstance(value, np.generic) else value
            else:
                raise ValueError(
                    f"cannot save the state {attribute}={value!r} of scheduler {scheduler!r}"
                    " (only arrays, numbers and None are stored, never pickled)."
                )
        schedulers[name] = state
    text = json.dumps({"rng": model.random_state, "schedulers": schedulers})
    return text, arrays

def _restore_training_state(model, text, arrays: dict[str, np.ndarray]) -> None:
    """Inverse of _training_state; ValueError saying what does not fit."""
    try:
        state = json.loads(str(text[()]))
        rng, schedulers = state["rng"], state["schedulers"]
        if not isinstance(schedulers, dict):
            raise TypeError("schedulers is not a JSON object")
    except (ValueError, IndexError, TypeError, KeyError) as error:
        raise ValueError(f"its training state is not valid ({error})") from None
    expected = set()
    for name, layer, key, scheduler in _named_schedulers(model):
        fresh = scheduler.state_dict()
        saved = schedulers.get(name)
        if not isinstance(saved, dict) or set(saved) != set(fresh):
            raise ValueError(
                f"its training state for {name} is {saved!r}, but a {type(scheduler).__name__}"
                f" scheduler keeps {sorted(fresh)}"
            )
        restored = {}
        for attribute, value in saved.items():
            if value == "array":
                array_name = f"state_{name}_{attribute}"
                expected.add(array_name)
                value = arrays.get(array_name)
                shape = layer.params[key].shape
                if value is None or value.shape != shape or value.dtype.kind != "f":
                    found = "missing" if value is None else f"{value.shape} {value.dtype}"
                    raise ValueError(
                        f"{array_name} is {found}, but the scheduler of {name} needs a "
                        f"float array of shape {shape}"
                    )
            elif not _state_value_fits(value, fresh[attribute]):
                raise ValueError(
                    f"the scheduler state {name}.{attribute}={value!r} is invalid for a "
                    f"{type(scheduler).__name__} (a fresh one has {fresh[attribute]!r})"
                )
            restored[attribute] = value
        scheduler.load_state_dict(restored)
    if set(arrays) != expected:
        raise ValueError(f"unexpected training-state arrays {sorted(set(arrays) - expected)}")
    try:
        model.random_state = rng
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"its random generator state is invalid ({error})") from None

def _named_schedulers(model):
    """(archive name layer{i}_{key}, layer, key, scheduler) for every parameter array."""
    index = {id(layer): i for i, layer in enumerate(model.layers)}
    for layer, key, scheduler in model.parameter_schedulers:
        yield f"layer{index[id(layer)]}_{key}", layer, key, scheduler

def architecture_of(model) -> dict:
    """The JSON-ready description of a model: everything needed to build it again."""
    layers = []
    for layer in model.layers:
        spec = {"type": type(layer).__name__}
        if isinstance(layer, Convolution2DBase):
            spec.update(
                input_channels=layer.input_channels, feature_maps=layer.feature_maps,
                kernel_height=layer.kernel_height, kernel_width=layer.kernel_width,
                v_stride=layer.v_stride, h_stride=layer.h_stride,
                pad=list(layer.pad) if isinstance(layer.pad, tuple) else layer.pad,
                act_func=_function_name(layer.act_func, _activations, "act_func"),
            )
        elif isinstance(layer, Pooling2DBase):
            spec.update(
                kernel_height=layer.kernel_height, kernel_width=layer.kernel_width,
                v_stride=layer.v_stride, h_stride=layer.h_stride, pooling=layer.pooling,
            )
        elif isinstance(layer, Convolution1DLayer):
            spec.update(
                input_channels=layer.input_channels, feature_maps=layer.feature_maps,
                kernel_size=layer.kernel_size, stride=layer.stride, pad=layer.pad,
                dilation=layer.dilation,
                act_func=_function_name(layer.act_func, _activations, "act_func"),
            )
        elif isinstance(layer, Pooling1DLayer):
            spec.update(kernel_size=layer.kernel_size, stride=layer.stride, pooling=layer.pooling)
        elif isinstance(layer, FullyConnectedLayer):
            key = "output_func" if isinstance(layer, OutputLayer) else "act_func"
            spec.update(
                nodes=layer.nodes,
                **{key: _function_name(layer.act_func, _activations, key)},
                scheduler=_scheduler_spec(layer.scheduler) if layer.scheduler else None,
            )
        layers.append(spec)
    return {
        "format": _FILE_FORMAT,
        "version": _FILE_VERSION,
        "cost_func": _function_name(model.cost_func, _costs, "cost_func"),
        "scheduler": _scheduler_spec(model.scheduler),
        "seed": model.seed,
        "input_shape": list(model.input_shape),
        "layers": layers,
    }

def load(cls, path: str | os.PathLike):
    """Read a model written by save(). ValueError naming the file if it is missing,
    truncated, not a CNN file, or its weights do not match its architecture.

    cls is the CNN class (CNN.load passes it, so this module never imports course_utils.cnn).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"cannot load {path!r}: there is no such file.")
    architecture, arrays = _read_npz(path)
    try:
        model = _from_architecture(cls, architecture)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(
            f"cannot load {path!r}: its architecture description is invalid ({error})."
        ) from None
    training_state = arrays.pop("training_state", None)
    state_arrays = {name: arrays.pop(name) for name in list(arrays) if name.startswith("state_")}
    if training_state is None:
        raise ValueError(
            f"cannot load {path!r}: its training state (scheduler states) is missing."
        )
    expected = {
        f"layer{index}_{key}": (layer, key)
        for index, layer in enumerate(model.layers)
        for key in layer.params
    }
    if set(expected) != set(arrays):
        missing = sorted(set(expected) - set(arrays))
        extra = sorted(set(arrays) - set(expected))
        raise ValueError(
            f"cannot load {path!r}: its weights do not match its architecture "
            f"(missing {missing}, unexpected {extra})."
        )
    for name, (layer, key) in expected.items():
        array = arrays[name]
        if array.shape != layer.params[key].shape or array.dtype.kind != "f":
            raise ValueError(
                f"cannot load {path!r}: {name} has shape {array.shape} and dtype "
                f"{array.dtype}, but the architecture needs a float array of shape "
                f"{layer.params[key].shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"cannot load {path!r}: {name} contains NaN or inf.")
    for name, (layer, key) in expected.items():
        layer.params[key] = arrays[name].astype(np.float64)
    try:
        _restore_training_state(model, training_state, state_arrays)
    except ValueError as error:
        raise ValueError(f"cannot load {path!r}: {error}.") from None
    return model

def _from_architecture(cls, spec: dict):
    version = spec.get("version")
    if spec.get("format") != _FILE_FORMAT or isinstance(version, bool) or version != _FILE_VERSION:
        raise ValueError(
            f"format {spec.get('format')!r} version {version!r} is not "
            f"{_FILE_FORMAT!r} version {_FILE_VERSION}"
        )
    model = cls(
        cost_func=_lookup(_costs, spec["cost_func"], "cost_func"),
        scheduler=_scheduler_from_spec(spec["scheduler"]),
        seed=spec["seed"],
    )
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind in ("Convolution2DLayer", "Convolution2DLayerOPT"):
            pad = tuple(layer["pad"]) if isinstance(layer["pad"], list) else layer["pad"]
            model.add_Convolution2DLayer(
                layer["input_channels"], layer["feature_maps"], layer["kernel_height"],
                layer["kernel_width"], layer["v_stride"], layer["h_stride"], pad,
                _lookup(_activations, layer["act_func"], "act_func"),
                optimized=kind == "Convolution2DLayerOPT",
            )
        elif kind in ("Pooling2DLayer", "Pooling2DLayerOPT"):
            model.add_PoolingLayer(
                layer["kernel_height"], layer["kernel_width"], layer["v_stride"],
                layer["h_stride"], layer["pooling"], optimized=kind == "Pooling2DLayerOPT",
            )
        elif kind == "Convolution1DLayer":
            model.add_Convolution1DLayer(
                layer["input_channels"], layer["feature_maps"], layer["kernel_size"],
                layer["stride"], layer["pad"], layer["dilation"],
                _lookup(_activations, layer["act_func"], "act_func"),
            )
        elif kind == "Pooling1DLayer":
            model.add_Pooling1DLayer(layer["kernel_size"], layer["stride"], layer["pooling"])
        elif kind == "FlattenLayer":
            model.add_FlattenLayer()
        elif kind in ("FullyConnectedLayer", "OutputLayer"):
            scheduler = layer["scheduler"]
            scheduler = _scheduler_from_spec(scheduler) if scheduler else None
            if kind == "OutputLayer":
                output_func = _lookup(_activations, layer["output_func"], "output_func")
                model.add_OutputLayer(layer["nodes"], output_func, scheduler)
            else:
                act_func = _lookup(_activations, layer["act_func"], "act_func")
                model.add_FullyConnectedLayer(layer["nodes"], act_func, scheduler)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    model.build(tuple(int(s) for s in spec["input_shape"]))
    return model


def _function_name(func: Callable, module, what: str) -> str:
    """The name under which `func` lives in `module`; ValueError for any other function."""
    name = getattr(func, "__name__", None)
    if name is None or getattr(module, name, None) is not func:
        raise ValueError(
            f"cannot save {what}={func!r}: only the functions of {module.__name__} can be "
            "saved (they are stored by name, never pickled)."
        )
    return name


def _lookup(module, name, what: str):
    if not isinstance(name, str) or name not in getattr(module, "__all__", ()):
        raise ValueError(f"{what} {name!r} is not a function of {module.__name__}")
    return getattr(module, name)


def _scheduler_spec(scheduler) -> dict:
    kind = type(scheduler)
    if getattr(_schedulers, kind.__name__, None) is not kind or kind is Scheduler:
        raise ValueError(
            f"cannot save scheduler {scheduler!r}: only the schedulers of course_utils.schedulers"
            " can be saved (they are stored by name and hyper-parameters, never pickled)."
        )
    hyper = scheduler.hyper_parameters()
    return {"name": kind.__name__, "hyper": {name: float(value) for name, value in hyper.items()}}


def _scheduler_from_spec(spec: dict):
    name = spec["name"]
    kind = getattr(_schedulers, name, None) if isinstance(name, str) else None
    if not (isinstance(kind, type) and issubclass(kind, Scheduler)) or kind is Scheduler:
        raise ValueError(f"scheduler {name!r} is not a scheduler of course_utils.schedulers")
    return kind(**spec["hyper"])


def _read_npz(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The architecture dict and all arrays of a CNN .npz file, or ValueError naming it."""
    try:
        # we open the file ourselves so it is closed even when numpy fails half-way
        with open(path, "rb") as file:
            archive = np.load(file, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise _NotAModel("it holds a single array (.npy), not a model archive (.npz)")
            with archive:
                if "architecture" not in archive.files:
                    raise _NotAModel(
                        "it is an .npz archive but not a CNN model (arrays: "
                        f"{archive.files[:5]}); only files written by CNN.save can be loaded"
                    )
                arrays = {name: archive[name] for name in archive.files}
    except _NotAModel as error:
        raise ValueError(f"cannot load {path!r}: {error}.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as error:
        raise ValueError(
            f"cannot load {path!r}: it is not a complete .npz file written by CNN.save "
            f"(truncated or another format: {type(error).__name__}: {error})."
        ) from None
    text = arrays.pop("architecture")
    try:
        architecture = json.loads(str(text[()]))
        if not isinstance(architecture, dict):
            raise TypeError("not a JSON object")
    except (ValueError, IndexError, TypeError) as error:
        raise ValueError(
            f"cannot load {path!r}: its architecture entry is not valid JSON ({error})."
        ) from None
    return architecture, arrays


class _NotAModel(Exception):
    pass


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _state_value_fits(value, fresh) -> bool:
    """Whether a saved non-array state value can replace `fresh` (a new scheduler's value)."""
    if fresh is None:  # states that start as None become arrays ("array" in the file)
        return value is None
    if isinstance(fresh, numbers.Integral):  # counters such as Adam's t
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return _is_number(value)
