"""A convolutional neural network built from course_utils.layers, with the lecture's builder API.

    cnn = CNN(cost_func=CostCrossEntropy, scheduler=Adam(eta=1e-3, rho=0.9, rho2=0.999), seed=2023)
    cnn.add_Convolution2DLayer(input_channels=1, feature_maps=1, kernel_height=3, kernel_width=3)
    cnn.add_FlattenLayer()
    cnn.add_FullyConnectedLayer(30, LRELU)
    cnn.add_OutputLayer(10, softmax)
    scores = cnn.fit(X, t, epochs=10, batches=10, X_val=X_val, t_val=t_val)

Images are (N, C, H, W) arrays, targets (N, output nodes) arrays (one-hot for classes,
see course_utils.data.onehot). Notebook 05 trains this model on MNIST.

What the model promises:
  - Mistakes raise ValueError/TypeError saying what to fix, before anything changes:
    architecture mistakes when the layer is added, data mistakes when fit starts.
  - Reproducible: the model owns one numpy Generator, np.random.default_rng(seed), for
    its initial weights and its shuffling. The same seed gives the same scores, bit for
    bit; two models never share a random stream; the global np.random is never touched.
  - Every parameter array (each kernel, each bias, ...) has its own deep copy of its
    scheduler, so Adam's moments of one array never mix with another's.
  - fit(parallel=True) splits each mini-batch over two threads, the gradients combined
    exactly (parallel.py); by default batches stay whole.
  - Each training step is applied atomically (training.py): Ctrl-C (KeyboardInterrupt) or
    divergence stops training with the weights of the last complete step and returns
    the scores so far.
  - save()/load() use a plain .npz file (no pickle), written atomically. It holds the
    weights and the training state (scheduler states, random generator), so a loaded
    model continues training bit for bit like the saved one.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Callable

import numpy as np

from . import _validation as check
from . import architecture, model_file
from .activations import LRELU, sigmoid, softmax
from .costs import CostCrossEntropy
from .fast_layers import Convolution2DLayerOPT, Pooling2DLayerOPT
from .layers import (
    Convolution2DLayer,
    FlattenLayer,
    FullyConnectedLayer,
    Layer,
    OutputLayer,
    Pooling2DLayer,
)
from .layers_1d import Convolution1DLayer, Pooling1DLayer
from .parallel import Passes
from .schedulers import Adam, Scheduler
from .training import (
    SCORE_KEYS,  # noqa: F401  (the keys of fit's scores, as before)
    Diverged,
    TrainingRun,
    can_split_batches,
    empty_scores,
    gradient_step,
)

__all__ = ["CNN"]

#: the lecture's default scheduler; never used directly (each parameter gets a deep copy)
DEFAULT_SCHEDULER = Adam(eta=1e-4, rho=0.9, rho2=0.999)

class CNN:
    """Convolutional neural network: a stack of layers trained by mini-batch gradient descent.

    Parameters
    ----------
    cost_func : CostCrossEntropy (default, softmax outputs), CostLogReg (sigmoid outputs)
        or CostOLS (regression), from course_utils.costs.
    scheduler : a course_utils.schedulers object (default Adam(eta=1e-4, rho=0.9, rho2=0.999)).
        Every parameter array gets its own deep copy.
    seed : int or None. Seeds the initial weights and the shuffling (None: fresh entropy).

    The weights are created by the first fit() for the shape of its images; a later
    fit() continues training from the current weights and scheduler states (as Keras
    does). To start again from scratch, build a new CNN.
    """

    def __init__(
        self,
        cost_func: Callable = CostCrossEntropy,
        scheduler: Scheduler = DEFAULT_SCHEDULER,
        seed: int | None = None,
    ) -> None:
        if not callable(cost_func):
            raise TypeError(
                f"cost_func must be a cost function such as CostCrossEntropy, got {cost_func!r}."
            )
        check.scheduler("scheduler", scheduler)
        check.seed_or_none(seed)
        self.cost_func = cost_func
        self.scheduler = copy.deepcopy(scheduler)
        self.seed = seed
        self.layers: list[Layer] = []
        self._rng = np.random.default_rng(seed)
        self._input_shape: tuple[int, ...] | None = None  # set when the weights exist
        self._param_schedulers: list[tuple[Layer, str, Scheduler]] = []

    # --- Building the architecture ---

    def add_Convolution2DLayer(
        self, input_channels: int = 1, feature_maps: int = 1, kernel_height: int = 3,
        kernel_width: int = 3, v_stride: int = 1, h_stride: int = 1,
        pad: str | int | tuple[int, int] = "same", act_func: Callable = LRELU,
        optimized: bool = True,
    ) -> None:
        """Add a convolutional layer (Convolution2DLayerOPT, or the readable
        Convolution2DLayer if optimized=False). input_channels must equal the
        feature_maps of the previous convolutional layer (pooling keeps the channels).
        pad: "same", "valid", "circular" (periodic boundaries, for lattices on a torus),
        an int or (ph, pw), as in Convolution2DLayer."""
        architecture.check_can_add(self.layers, "add_Convolution2DLayer", images=True)
        architecture.check_channels(self.layers, input_channels)
        layer_class = Convolution2DLayerOPT if optimized else Convolution2DLayer
        layer = layer_class(
            input_channels, feature_maps, kernel_height, kernel_width, v_stride, h_stride,
            pad, act_func, seed=None, reset_weights_independently=False,
        )
        self._append(layer)

    def add_PoolingLayer(
        self, kernel_height: int = 2, kernel_width: int = 2, v_stride: int = 1,
        h_stride: int = 1, pooling: str = "max", optimized: bool = True,
    ) -> None:
        """Add a pooling layer ("max" or "average", no padding): Pooling2DLayerOPT, or the
        readable Pooling2DLayer if optimized=False."""
        architecture.check_can_add(self.layers, "add_PoolingLayer", images=True)
        layer_class = Pooling2DLayerOPT if optimized else Pooling2DLayer
        self._append(layer_class(kernel_height, kernel_width, v_stride, h_stride, pooling))

    # signals (N, C, L): the one-dimensional layers of course_utils.layers_1d
    def add_Convolution1DLayer(
        self, input_channels: int = 1, feature_maps: int = 1, kernel_size: int = 3,
        stride: int = 1, pad: str | int = "same", dilation: int = 1, act_func: Callable = LRELU,
    ) -> None:
        """Add a Convolution1DLayer for signals (N, C, L): same arguments as the layer
        (pad "same", "valid" or an int; dilation spreads the kernel's taps apart)."""
        architecture.check_can_add(self.layers, "add_Convolution1DLayer", True, dimensions=1)
        architecture.check_channels(self.layers, input_channels)
        self._append(Convolution1DLayer(
            input_channels, feature_maps, kernel_size, stride, pad, dilation, act_func,
            seed=None, reset_weights_independently=False,
        ))

    def add_Pooling1DLayer(self, kernel_size: int = 2, stride: int = 1, pooling: str = "max") -> None:
        """Add a Pooling1DLayer ("max" or "average", no padding) for signals (N, C, L)."""
        architecture.check_can_add(self.layers, "add_Pooling1DLayer", images=True, dimensions=1)
        self._append(Pooling1DLayer(kernel_size, stride, pooling))

    def add_FlattenLayer(self) -> None:
        """Add the FlattenLayer between the image (or signal) layers and the dense layers."""
        architecture.check_can_add(self.layers, "add_FlattenLayer", images=True, dimensions=None)
        self._append(FlattenLayer())

    def add_FullyConnectedLayer(
        self, nodes: int, act_func: Callable = LRELU, scheduler: Scheduler | None = None
    ) -> None:
        """Add a dense hidden layer; scheduler=None uses the model's scheduler."""
        architecture.check_can_add(self.layers, "add_FullyConnectedLayer", images=False)
        if scheduler is not None:
            check.scheduler("scheduler", scheduler)
        self._append(FullyConnectedLayer(nodes, act_func, copy.deepcopy(scheduler)))

    def add_OutputLayer(
        self, nodes: int, output_func: Callable = sigmoid, scheduler: Scheduler | None = None
    ) -> None:
        """Add the output layer (last layer): nodes = number of classes for softmax,
        1 for binary classification with sigmoid + CostLogReg, outputs for regression."""
        architecture.check_can_add(self.layers, "add_OutputLayer", images=False)
        if scheduler is not None:
            check.scheduler("scheduler", scheduler)
        layer = OutputLayer(nodes, output_func, self.cost_func, copy.deepcopy(scheduler))
        if output_func is softmax and layer.nodes == 1:
            raise ValueError(
                "output_func=softmax with nodes=1 always outputs 1; use nodes = number of "
                "classes, or sigmoid with CNN(cost_func=CostLogReg) for two classes."
            )
        if output_func is sigmoid and self.cost_func is CostCrossEntropy:
            raise ValueError(
                "output_func=sigmoid with cost_func=CostCrossEntropy ignores the (1 - t) log(1 - p)"
                " half of the loss; build CNN(cost_func=CostLogReg) for sigmoid outputs, or use "
                "softmax outputs with CostCrossEntropy."
            )
        self._append(layer)

    def _append(self, layer: Layer) -> None:
        self.layers.append(layer)
        # a new layer changes the architecture: weights are (re)created by the next fit
        self._input_shape = None
        self._param_schedulers = []

    @property
    def output_layer(self) -> OutputLayer | None:
        if self.layers and isinstance(self.layers[-1], OutputLayer):
            return self.layers[-1]
        return None

    @property
    def pred_format(self) -> str | None:
        """"multi-class" (softmax), "binary" (sigmoid) or "regression"; None before add_OutputLayer."""
        return self.output_layer.pred_format if self.output_layer else None

    # --- Shapes and weights ---

    def output_shapes(
        self, input_shape: tuple[int, int, int] | None = None
    ) -> list[tuple[int, ...]]:
        """Shape of one image after each layer, in order, for images of shape (C, H, W).

        input_shape defaults to the shape the model was fitted on. ValueError naming the
        first layer the input does not fit (a kernel larger than its padded input, a
        channel mismatch, a dense layer before flattening).
        Example: conv 3x3 "same" with 8 maps, 2x2 pooling with stride 2, flatten on (1, 28, 28):
        [(8, 28, 28), (8, 14, 14), (1568,)].
        """
        return architecture.output_shapes(
            self.layers, self._resolve_input_shape("output_shapes", input_shape)
        )

    def parameter_counts(self, input_shape: tuple[int, int, int] | None = None) -> list[int]:
        """Number of trainable parameters of each layer, in order, for images of shape (C, H, W).

        A convolutional layer has C*F*kh*kw kernel weights + F biases, whatever the image size
        (that is the point of weight sharing); a dense layer n_in*nodes + nodes, where n_in
        depends on the image size; pooling and flattening have none. input_shape defaults to
        the shape the model was fitted on; the weights need not exist yet.
        """
        return architecture.parameter_counts(
            self.layers, self._resolve_input_shape("parameter_counts", input_shape)
        )

    def _resolve_input_shape(
        self, method: str, input_shape: tuple[int, ...] | None
    ) -> tuple[int, ...]:
        if input_shape is None:
            input_shape = self._input_shape
        if input_shape is None:
            raise ValueError(
                f"{method}() needs the image shape: call fit first or pass "
                f"input_shape=(C, H, W), e.g. {method}(input_shape=(1, 28, 28))."
            )
        return tuple(input_shape)

    def build(self, input_shape: tuple[int, int, int]) -> None:
        """Create all weights for images of shape (C, H, W) from the model's generator, and
        one scheduler copy per parameter array. fit() calls it on its first run; CNN.load
        calls it before it puts the saved weights in."""
        self._require_output_layer("build")
        shape = tuple(input_shape)
        self.output_shapes(shape)
        for layer in self.layers:
            shape = layer.initialise(shape, self._rng)
        self._param_schedulers = [
            (layer, key, copy.deepcopy(getattr(layer, "scheduler", None) or self.scheduler))
            for layer in self.layers
            for key in layer.params
        ]
        self._input_shape = tuple(input_shape)

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """(C, H, W) of the images the weights were made for; None before the first fit."""
        return self._input_shape

    @property
    def parameter_schedulers(self) -> list[tuple[Layer, str, Scheduler]]:
        """(layer, key, scheduler) for every parameter array layer.params[key], in order."""
        return list(self._param_schedulers)

    @property
    def random_state(self) -> dict:
        """The state of the model's random generator (shuffling), as a JSON-ready dict."""
        return self._rng.bit_generator.state

    @random_state.setter
    def random_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    def _check_images(self, X, name: str = "X") -> np.ndarray:
        return architecture.check_images(self.layers, X, name, self._input_shape)

    def _require_output_layer(self, method: str) -> None:
        if self.output_layer is None:
            raise ValueError(
                f"{method}(): the model has no output layer; finish it with "
                "add_OutputLayer(nodes, output_func)."
            )

    def _require_weights(self, method: str) -> None:
        self._require_output_layer(method)
        if self._input_shape is None:
            raise ValueError(
                f"{method}(): the model has no weights yet; call fit(X, t) first "
                "(or CNN.load a saved model)."
            )

    # --- Training ---

    def fit(
        self, X: np.ndarray, t: np.ndarray, epochs: int = 100, lam: float = 0, batches: int = 1,
        X_val: np.ndarray | None = None, t_val: np.ndarray | None = None, *,
        progress: bool = True, parallel: bool = False,
    ) -> dict[str, np.ndarray]:
        """Train for `epochs` passes over (X, t), each split into `batches` shuffled mini-batches.

        X : (N, C, H, W) images, or (N, C, L) signals for the 1D layers;
            t : (N, output nodes) targets (one-hot for classes).
        lam : L2 regularisation: each step uses grad + lam * weights for kernels and dense
            weights (not biases), i.e. minimises cost + lam/2 * sum(weights**2).
            The reported errors are the cost alone, without this penalty.
        batches : number of mini-batches per epoch (1 = full-batch gradient descent).
        X_val, t_val : optional validation data, scored after every epoch.
        progress : show a tqdm progress bar (stderr) with the latest scores.
        parallel : True splits each mini-batch of at least parallel.PARALLEL_MIN_BATCH images
            in two halves computed at the same time on two threads, the gradient being
            combined exactly (course_utils/parallel.py, notebook 06 section 7); the results
            then differ from parallel=False only by rounding. Whether it is faster depends on
            the machine, so the default keeps every batch whole, on one thread. Batches are
            never split when the cost or a layer's function is your own (it might mix the
            images of a batch).

        Returns scores: dict of arrays of length `epochs` -- "train_error", "train_acc",
        "val_error", "val_acc" -- NaN where not computed (accuracy for regression, validation
        scores without validation data, epochs not reached after Ctrl-C or divergence).
        Accuracy is the fraction of images whose predicted row equals the target row.
        The training scores of an epoch are averages over its mini-batches, each scored by
        the forward pass of its own step, i.e. with the weights before that step (as Keras
        reports them): no extra pass over the training images. They lag behind the weights
        at the end of the epoch; predict(X) scores those. The validation scores are exact:
        the validation images are scored with the weights at the end of every epoch.

        Ctrl-C (KeyboardInterrupt) does not propagate: it stops this fit, keeps the weights of
        the last complete step and returns the scores so far, so you can stop a long run in a
        lecture and look at the result. A loop of fits (a grid search) therefore goes on with
        its next fit. To stop the whole loop, check the returned scores -- an interrupted or
        diverged fit has NaN in scores["train_error"][-1] -- and break, e.g.

            for eta in etas:
                scores = CNN(...).fit(X, t, epochs=10)
                if np.isnan(scores["train_error"][-1]):
                    break      # interrupted (or diverged: see the printed message)
        """
        # check everything before changing anything
        self._require_output_layer("fit")
        X, t, X_val, t_val = architecture.check_data(self.layers, X, t, X_val, t_val,
                                                     self._input_shape)
        epochs, batches = check.fit_settings(epochs, batches, X.shape[0], lam, progress, parallel)
        if self._input_shape is None:
            self.build(X.shape[1:])
        t = t.astype(X.dtype, copy=False)
        scores = empty_scores(epochs)
        # passes run on this thread, or split over two (parallel.py)
        split = bool(parallel) and can_split_batches(self.cost_func, self.layers)
        passes = Passes(self.layers, split=split)
        # one BLAS thread, Ctrl-C between steps only, a message if training diverges
        with TrainingRun(epochs, progress) as run, contextlib.closing(passes):
            for epoch in run.epochs():
                error_sum, n_right = 0.0, 0
                for batch in np.array_split(self._rng.permutation(X.shape[0]), batches):
                    X_batch, t_batch = X[batch], t[batch]
                    # forward, then backward from the cost: fills every layer's grads
                    prediction = passes.forward_backward(forward_backward, X_batch, t_batch)
                    with run.atomic():  # update: all parameters or none
                        gradient_step(self._param_schedulers, lam)
                    error_sum += self._batch_error(prediction, t_batch)
                    n_right += self._n_right(prediction, t_batch)
                scores["train_error"][epoch] = error_sum / X.shape[0]
                if self.pred_format != "regression":
                    scores["train_acc"][epoch] = n_right / X.shape[0]
                if X_val is not None:  # validation, with the weights at the end of the epoch
                    self._score_validation(scores, epoch, passes.forward(forward, X_val), t_val)
                run.show(scores, epoch)
        return scores

    def _batch_error(self, prediction: np.ndarray, targets: np.ndarray) -> float:
        """The cost of one batch times its images (summed into the epoch's training error)."""
        return float(self.cost_func(targets)(prediction)) * targets.shape[0]

    def _n_right(self, prediction: np.ndarray, targets: np.ndarray) -> int:
        """Images of one batch predicted right (0 for regression, which has no accuracy)."""
        if self.pred_format == "regression":
            return 0
        return _n_right(self._to_prediction(prediction), targets)

    def _score_validation(self, scores, epoch, proba, t_val) -> None:
        scores["val_error"][epoch] = float(self.cost_func(t_val)(proba))
        if self.pred_format != "regression":
            scores["val_acc"][epoch] = _accuracy(self._to_prediction(proba), t_val)

    # --- Prediction ---

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Raw outputs of the output layer, (N, nodes): probabilities for softmax/sigmoid."""
        self._require_weights("predict_proba")
        return Passes(self.layers).forward(forward, self._check_images(X, "X"))

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Predictions (N, nodes): one-hot of the most likely class (softmax), 0/1 by
        `threshold` (sigmoid), or the raw outputs (regression). Same dtype as X's floats."""
        self._require_weights("predict")
        threshold = check.threshold(threshold)
        return self._to_prediction(self.predict_proba(X), threshold)

    def _to_prediction(self, proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        if self.pred_format == "multi-class":
            prediction = np.zeros_like(proba)
            prediction[np.arange(proba.shape[0]), np.argmax(proba, axis=1)] = 1
            return prediction
        if self.pred_format == "binary":
            return (proba > threshold).astype(proba.dtype)
        return proba

    # --- Summary ---

    def summary(self, input_shape: tuple[int, int, int] | None = None) -> str:
        """Print and return a table: each layer, its output shape, its parameter count, total.

        The returned text is a str (a SummaryText) whose repr is the table itself; as the
        last expression of a notebook cell the table therefore shows once, not twice.
        input_shape: (C, H, W) of one image; defaults to the shape the model was fitted on.
        The rows are output_shapes(input_shape) and parameter_counts(input_shape).
        """
        text = architecture.summary_table(
            self.layers, self._resolve_input_shape("summary", input_shape)
        )
        print(text)
        return text

    def count_params(self, input_shape: tuple[int, int, int] | None = None) -> int:
        """Total number of trainable parameters (as Keras' model.count_params()): the sum of
        parameter_counts(input_shape)."""
        return sum(self.parameter_counts(self._resolve_input_shape("count_params", input_shape)))

    # --- Saving and loading (the file format: course_utils/model_file.py) ---

    def save(self, path: str | os.PathLike) -> None:
        """Write the architecture (JSON) and all weights to the .npz file `path`, atomically.

        The file is written to a temporary file in the same folder and then renamed over
        `path`, so an interrupted save never destroys an earlier file. Only the functions
        and schedulers of course_utils can be saved (they are stored by name).

        The file also holds the training state -- every parameter's scheduler state (Adam's
        moments and step count t, ...) and the model's random generator -- so a loaded model
        continues training exactly like the saved one (as a Keras .keras file does).
        """
        self._require_weights("save")
        model_file.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CNN:
        """Read a model written by save(). ValueError naming the file if it is missing,
        truncated, not a CNN file, or its weights do not match its architecture."""
        return model_file.load(cls, path)


# --- The passes: what the threads of parallel.Passes run ---


def forward(layers: list[Layer], X: np.ndarray) -> np.ndarray:
    """Output of the last of `layers` for the images X (a forward pass, nothing else)."""
    for layer in layers:
        X = layer.forward(X, check_input=False)  # fit and predict checked X already
    return X


def forward_backward(layers: list[Layer], X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Forward pass of X through `layers`, then backpropagation from the targets t: fills
    every layer's grads and returns the prediction. Diverged if the prediction is not finite."""
    prediction = forward(layers, X)
    if not np.isfinite(prediction).all():
        raise Diverged
    delta = t  # the output layer starts from the cost
    for layer in reversed(layers[1:]):
        delta = layer.backward(delta, check_input=False)
    # nothing lies below the first layer: its input gradient would be thrown away
    layers[0].backward(delta, input_gradient=False, check_input=False)
    return prediction


def _n_right(prediction: np.ndarray, target: np.ndarray) -> int:
    """Number of rows (images) predicted exactly right."""
    return int(np.count_nonzero(np.all(prediction == target, axis=1)))


def _accuracy(prediction: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows (images) predicted exactly right."""
    return _n_right(prediction, target) / target.shape[0]
