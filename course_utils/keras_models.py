"""Keras side of the course: a quiet TensorFlow import and the model builders of notebook 06.

This is the only module of the package that imports TensorFlow; `import course_utils`
does not, so notebooks that never touch Keras start in a fraction of a second.
"""

from __future__ import annotations

import os
import sys


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
