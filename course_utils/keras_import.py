"""TensorFlow and Keras, imported quietly: the one place the package imports them.

`import course_utils` never imports this module, so notebooks that never touch Keras
start in a fraction of a second; keras_builders and keras_grid (and their facade
keras_models) import `tf` and `keras` from here.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["keras", "tf"]


def _import_keras_quietly():
    """Import TensorFlow and Keras with the C++ start-up log lines silenced.

    TF_CPP_MIN_LOG_LEVEL=3 silences TensorFlow's own logging, but the lines
    abseil prints before it is initialised ("All log messages before
    absl::InitializeLog() ...", the oneDNN and CUDA notices) go straight to
    file descriptor 2, where JupyterLab and nbval would show them. We point
    descriptor 2 at /dev/null for the duration of the import only; Python
    errors raised by the import still surface normally after it is restored.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
        import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras


tf, keras = _import_keras_quietly()


class _DropRetracingWarnings(logging.Filter):
    """Hide TensorFlow's "N out of the last M calls ... triggered tf.function retracing".

    Every new Keras model traces its own training function once; TensorFlow counts those
    first traces across models and warns as if one function were retraced. In a grid of
    49 models that is expected, and the warning would only clutter the notebook.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_DropRetracingWarnings())
