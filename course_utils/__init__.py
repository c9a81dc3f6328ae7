"""course_utils: the from-scratch CNN library of the CNN course unit.

Everything a notebook needs is importable from here::

    from course_utils import CNN, Adam, LRELU, softmax, CostCrossEntropy, load_mnist, onehot

The modules, bottom to top (lower ones never import higher ones):

- ``convolution``: convolve2d, cross-correlation, im2col, Toeplitz forms, output sizes
- ``activations``, ``costs``, ``schedulers``: the lecture's building blocks
- ``data``: offline MNIST, the 8x8 digits, the sample photograph
- ``gradcheck``: central finite differences and the relative error (gradient checks)
- ``layers``: convolution, pooling, flatten, dense and output layers, readable (forward
  next to backward)
- ``fast_layers``: the vectorised layers the CNN trains with (tested equal to ``layers``)
- ``layers_1d``: convolution and pooling of signals ``(N, C, L)`` (the 2D layers, height 1)
- ``signals``: chirps in white noise, the matched filter, ROC curves (notebook 09)
- ``parallel``: the optional two-thread split of fit and the chunked prediction
- ``cnn``: the CNN model builder and its training loop; ``model_file``: its save/load
- ``receptive_field``: which input pixels each unit of a conv/pooling layer sees
- ``plotting``, ``checks``, ``grade``, ``keras_models``: figures, homework self-checks,
  grading, and the Keras side (the only module that imports TensorFlow; import it
  explicitly: ``from course_utils.keras_models import keras``).
"""

from .activations import LRELU, RELU, derivate, identity, sigmoid, softmax
from .cnn import CNN
from .convolution import (
    conv2d_matrix,
    conv_output_size,
    convolve2d,
    cross_correlate2d,
    pool_output_size,
    same_padding,
    toeplitz_matrix,
)
from .costs import CostCrossEntropy, CostLogReg, CostOLS
from .data import load_digits, load_mnist, load_photo, onehot
from .fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT
from .layers import (
    Convolution2DLayer,
    FlattenLayer,
    FullyConnectedLayer,
    OutputLayer,
    Pooling2DLayer,
)
from .layers_1d import Convolution1DLayer, Pooling1DLayer
from .schedulers import Adagrad, AdagradMomentum, Adam, Constant, Momentum, RMS_prop, Scheduler

__all__ = [
    "CNN",
    "LRELU",
    "RELU",
    "Adagrad",
    "AdagradMomentum",
    "Adam",
    "Constant",
    "Convolution1DLayer",
    "Convolution2DLayer",
    "Convolution2DLayerOPT",
    "CostCrossEntropy",
    "CostLogReg",
    "CostOLS",
    "FlattenLayer",
    "FullyConnectedLayer",
    "Momentum",
    "OutputLayer",
    "Pooling1DLayer",
    "Pooling2DLayer",
    "Pooling2DLayerOPT",
    "RMS_prop",
    "Scheduler",
    "conv2d_matrix",
    "conv_output_size",
    "convolve2d",
    "cross_correlate2d",
    "derivate",
    "identity",
    "load_digits",
    "load_mnist",
    "load_photo",
    "onehot",
    "pool_output_size",
    "same_padding",
    "sigmoid",
    "softmax",
    "toeplitz_matrix",
]
