"""Reading a handed-in model file as untrusted data, and turning a score into points.

Used by the judges of the `model` exercises (nb05_cnn_training, nb08_ising_phases,
nb09_signals). A judge
runs in the grader's process, outside the student's box, on a file the box wrote: so every
limit is checked BEFORE the work it bounds (the file's size before reading it, the sizes its
zip archive declares before unpacking, the parameters and multiply-adds its architecture
declares before any weight is allocated), and nothing in the file is unpickled or run.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelLimits:
    """What a handed-in model may be: its budget and the shape of its inputs and outputs."""

    input_shape: tuple[int, ...]           # (C, H, W) of one image, or (C, L) of one signal
    outputs: int                           # nodes of the softmax output layer
    max_parameters: int
    max_bytes: int                         # of the file as written by CNN.save
    max_multiply_adds: int = 5_000_000     # per image: bounds the grader's evaluation time


class ModelRejected(ValueError):
    """The file is not a model this exercise can judge (the message says why, for the student)."""


def count_multiply_adds(model, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass of one image (or 1D signal): convolutions, pooling
    and dense layers."""
    total, shape = 0, tuple(input_shape)
    for layer, out in zip(model.layers, model.output_shapes(shape)):
        params = getattr(layer, "params", None) or {}
        name = type(layer).__name__
        if name == "Convolution1DLayer":
            total += int(np.prod(out)) * shape[0] * layer.kernel_size
        elif name == "Pooling1DLayer":
            total += int(np.prod(out)) * layer.kernel_size
        elif name.startswith("Convolution"):
            total += int(np.prod(out)) * shape[0] * layer.kernel_height * layer.kernel_width
        elif name.startswith("Pooling"):
            total += int(np.prod(out)) * layer.kernel_height * layer.kernel_width
        elif params or name in ("FullyConnectedLayer", "OutputLayer"):
            total += int(np.prod(shape)) * int(np.prod(out))
        shape = out
    return total


def read_model(path: str | os.PathLike, limits: ModelLimits):
    """The CNN in the file at path, or ModelRejected with a message for the student.

    Checks, in this order: a regular file (not a link, FIFO or folder) no larger than
    limits.max_bytes; a zip archive whose members unpack to at most 20 x max_bytes; an
    architecture for limits.input_shape with limits.outputs softmax outputs, at most
    limits.max_parameters parameters and limits.max_multiply_adds per image (checked before
    the weights are allocated); then CNN.load (no pickle), which checks every weight.
    """
    from course_utils.activations import softmax
    from course_utils.cnn import CNN

    path = os.fspath(path)
    try:
        info = os.lstat(path)
    except OSError:
        raise ModelRejected("no model file came back (was the answer cell run, and does the "
                            "variable hold a trained CNN?)") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelRejected("the model is not a regular file")
    if info.st_size > limits.max_bytes:
        raise ModelRejected(f"the model file holds {info.st_size:,} bytes, more than the "
                            f"{limits.max_bytes:,} allowed")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelRejected(f"the model file is not one written by CNN.save ({error})") from None
    if unpacked > 20 * limits.max_bytes:
        raise ModelRejected(f"the model file unpacks to {unpacked:,} bytes, more than "
                            f"{20 * limits.max_bytes:,}")

    refused: list[ModelRejected] = []     # CNN.load rewraps errors; keep ours as they were

    class Budgeted(CNN):
        """A CNN whose build refuses, before allocating anything, what the exercise forbids."""

        def build(self, input_shape):
            try:
                self._within_limits(input_shape)
            except ModelRejected as error:
                refused.append(error)
                raise
            super().build(input_shape)

        def _within_limits(self, input_shape):
            shape = tuple(int(s) for s in input_shape)
            if shape != tuple(limits.input_shape):
                raise ModelRejected(f"the network takes images of shape {shape}, the exercise "
                                    f"gives {tuple(limits.input_shape)}")
            output = self.layers[-1] if self.layers else None
            if (type(output).__name__ != "OutputLayer" or output.nodes != limits.outputs
                    or output.output_func is not softmax):
                raise ModelRejected(f"the network must end with add_OutputLayer({limits.outputs}, "
                                    "softmax)")
            count = sum(self.parameter_counts(shape))
            if count > limits.max_parameters:
                raise ModelRejected(f"{count:,} parameters, more than the budget of "
                                    f"{limits.max_parameters:,}")
            work = count_multiply_adds(self, shape)
            if work > limits.max_multiply_adds:
                raise ModelRejected(f"{work:,} multiply-adds per image, more than the "
                                    f"{limits.max_multiply_adds:,} allowed")

    try:
        return Budgeted.load(path)
    except ModelRejected:
        raise
    except ValueError as error:
        if refused:
            raise refused[0] from None
        reason = str(error).replace(repr(path), "the model file")
        raise ModelRejected(reason[:300]) from None
    except Exception as error:  # noqa: BLE001 -- a hostile file must not crash the grader
        raise ModelRejected(f"the model file could not be read ({type(error).__name__})") from None


def fraction_between(value: float, floor: float, target: float) -> float:
    """0 at or below floor, 1 at or above target, linear between (floor > target: lower is better)."""
    if not np.isfinite(value):
        return 0.0
    return float(np.clip((value - floor) / (target - floor), 0.0, 1.0))


def predict_in_batches(model, X: np.ndarray, batch: int = 500) -> np.ndarray:
    """The model's output probabilities for X, a few hundred images at a time (bounded memory)."""
    return np.concatenate([model.predict_proba(X[i:i + batch]) for i in range(0, len(X), batch)])
