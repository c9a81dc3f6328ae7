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
  - fit(parallel=True) splits each mini-batch in two halves computed at the same time on
    two threads, with the gradients combined exactly (course_utils/parallel.py). It pays
    only on some machines (notebook 06, section 7), so by default batches stay whole.
  - Each training step is applied atomically: all changes are computed, then all
    assigned. Ctrl-C (KeyboardInterrupt) stops training with the weights of the last
    complete step and returns the scores so far.
  - save()/load() use a plain .npz file (no pickle), written atomically. It holds the
    weights and the training state (scheduler states, random generator), so a loaded
    model continues training bit for bit like the saved one.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import sys
import threading
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from . import _validation as check
from . import activations as _activations
from . import costs as _costs
from . import model_file
from ._layer_base import Convolution2DBase, Pooling2DBase
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
from .parallel import Passes, one_blas_thread
from .schedulers import Adam, Scheduler

__all__ = ["CNN"]

#: the lecture's default scheduler; never used directly (each parameter gets a deep copy)
DEFAULT_SCHEDULER = Adam(eta=1e-4, rho=0.9, rho2=0.999)

SCORE_KEYS = ("train_error", "train_acc", "val_error", "val_acc")


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

    # ------------------------------------------------------------------
    # Building the architecture
    # ------------------------------------------------------------------

    def add_Convolution2DLayer(
        self,
        input_channels: int = 1,
        feature_maps: int = 1,
        kernel_height: int = 3,
        kernel_width: int = 3,
        v_stride: int = 1,
        h_stride: int = 1,
        pad: str | int | tuple[int, int] = "same",
        act_func: Callable = LRELU,
        optimized: bool = True,
    ) -> None:
        """Add a convolutional layer (Convolution2DLayerOPT, or the readable
        Convolution2DLayer if optimized=False). input_channels must equal the
        feature_maps of the previous convolutional layer (pooling keeps the channels).
        pad: "same", "valid", "circular" (periodic boundaries, for lattices on a torus),
        an int or (ph, pw), as in Convolution2DLayer."""
        self._check_can_add("add_Convolution2DLayer", images=True)
        previous = [layer for layer in self.layers if isinstance(layer, Convolution2DBase)]
        if previous and input_channels != previous[-1].feature_maps:
            raise ValueError(
                f"input_channels={input_channels!r} but the previous convolutional layer makes "
                f"feature_maps={previous[-1].feature_maps}; set input_channels="
                f"{previous[-1].feature_maps} (each feature map is a channel of the next layer)."
            )
        layer_class = Convolution2DLayerOPT if optimized else Convolution2DLayer
        layer = layer_class(
            input_channels, feature_maps, kernel_height, kernel_width, v_stride, h_stride,
            pad, act_func, seed=None, reset_weights_independently=False,
        )
        self._append(layer)

    def add_PoolingLayer(
        self,
        kernel_height: int = 2,
        kernel_width: int = 2,
        v_stride: int = 1,
        h_stride: int = 1,
        pooling: str = "max",
        optimized: bool = True,
    ) -> None:
        """Add a pooling layer ("max" or "average", no padding): Pooling2DLayerOPT, or the
        readable Pooling2DLayer if optimized=False."""
        self._check_can_add("add_PoolingLayer", images=True)
        layer_class = Pooling2DLayerOPT if optimized else Pooling2DLayer
        self._append(layer_class(kernel_height, kernel_width, v_stride, h_stride, pooling))

    # -- signals (N, C, L): the one-dimensional layers of course_utils.layers_1d --------

    def add_Convolution1DLayer(
        self,
        input_channels: int = 1,
        feature_maps: int = 1,
        kernel_size: int = 3,
        stride: int = 1,
        pad: str | int = "same",
        dilation: int = 1,
        act_func: Callable = LRELU,
    ) -> None:
        """Add a Convolution1DLayer for signals (N, C, L): same arguments as the layer
        (pad "same", "valid" or an int; dilation spreads the kernel's taps apart)."""
        self._check_can_add("add_Convolution1DLayer", images=True, dimensions=1)
        previous = [layer for layer in self.layers if isinstance(layer, Convolution1DLayer)]
        if previous and input_channels != previous[-1].feature_maps:
            raise ValueError(
                f"input_channels={input_channels!r} but the previous convolutional layer makes "
                f"feature_maps={previous[-1].feature_maps}; set input_channels="
                f"{previous[-1].feature_maps} (each feature map is a channel of the next layer)."
            )
        self._append(Convolution1DLayer(
            input_channels, feature_maps, kernel_size, stride, pad, dilation, act_func,
            seed=None, reset_weights_independently=False,
        ))

    def add_Pooling1DLayer(self, kernel_size: int = 2, stride: int = 1, pooling: str = "max") -> None:
        """Add a Pooling1DLayer ("max" or "average", no padding) for signals (N, C, L)."""
        self._check_can_add("add_Pooling1DLayer", images=True, dimensions=1)
        self._append(Pooling1DLayer(kernel_size, stride, pooling))

    def add_FlattenLayer(self) -> None:
        """Add the FlattenLayer between the image layers and the dense layers."""
        self._check_can_add("add_FlattenLayer", images=True, dimensions=None)
        self._append(FlattenLayer())

    def add_FullyConnectedLayer(
        self, nodes: int, act_func: Callable = LRELU, scheduler: Scheduler | None = None
    ) -> None:
        """Add a dense hidden layer; scheduler=None uses the model's scheduler."""
        self._check_can_add("add_FullyConnectedLayer", images=False)
        if scheduler is not None:
            check.scheduler("scheduler", scheduler)
        self._append(FullyConnectedLayer(nodes, act_func, copy.deepcopy(scheduler)))

    def add_OutputLayer(
        self, nodes: int, output_func: Callable = sigmoid, scheduler: Scheduler | None = None
    ) -> None:
        """Add the output layer (last layer): nodes = number of classes for softmax,
        1 for binary classification with sigmoid + CostLogReg, outputs for regression."""
        self._check_can_add("add_OutputLayer", images=False)
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

    def _check_can_add(self, method: str, images: bool, dimensions: int | None = 2) -> None:
        """Architecture mistakes, raised when the layer is added (dimensions: 1 for the
        layers of signals, 2 for those of images, None for both; the two do not mix)."""
        other = _SIGNAL_LAYERS if dimensions == 2 else _IMAGE_LAYERS
        if images and dimensions and any(isinstance(layer, other) for layer in self.layers):
            kinds = ("signals (N, C, L)", "images (N, C, H, W)")[:: 1 if dimensions == 2 else -1]
            raise ValueError(
                f"{method}(): this model's layers take {kinds[0]}, this one {kinds[1]}; "
                "use the 1D layers (add_Convolution1DLayer, add_Pooling1DLayer) for signals "
                "and the 2D ones for images, not both in one model."
            )
        if self.layers and isinstance(self.layers[-1], OutputLayer):
            raise ValueError(
                f"{method}(): the model already ends with its output layer; "
                "add_OutputLayer() must be called last."
            )
        last = self.layers[-1] if self.layers else None
        flat = isinstance(last, (FlattenLayer, FullyConnectedLayer))
        if images and flat:
            what = "a FlattenLayer" if method == "add_FlattenLayer" else "an image layer"
            raise ValueError(
                f"{method}(): cannot add {what} after {type(last).__name__}: the data is "
                "already flat (N, features). Add convolution and pooling layers before "
                "add_FlattenLayer(), and flatten only once."
            )
        if not images and not flat:
            before = f"after {type(last).__name__}" if last else "as the first layer"
            raise ValueError(
                f"{method}(): a dense layer needs flat input (N, features), but it would come "
                f"{before}, which gives images (N, C, H, W); call add_FlattenLayer() first."
            )

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

    # ------------------------------------------------------------------
    # Shapes and weights
    # ------------------------------------------------------------------

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
        shapes, shape = [], self._resolve_input_shape("output_shapes", input_shape)
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as error:
                raise ValueError(f"layer {index} ({type(layer).__name__}): {error}") from None
            shapes.append(shape)
        return shapes

    def parameter_counts(self, input_shape: tuple[int, int, int] | None = None) -> list[int]:
        """Number of trainable parameters of each layer, in order, for images of shape (C, H, W).

        A convolutional layer has C*F*kh*kw kernel weights + F biases, whatever the image size
        (that is the point of weight sharing); a dense layer n_in*nodes + nodes, where n_in
        depends on the image size; pooling and flattening have none. input_shape defaults to
        the shape the model was fitted on; the weights need not exist yet.
        """
        input_shape = self._resolve_input_shape("parameter_counts", input_shape)
        inputs = [input_shape, *self.output_shapes(input_shape)[:-1]]
        return [_parameter_count(layer, shape) for layer, shape in zip(self.layers, inputs)]

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

    # ------------------------------------------------------------------
    # Checking data
    # ------------------------------------------------------------------

    def _check_images(self, X, name: str = "X") -> np.ndarray:
        """X as a finite float (N, C, H, W) array that fits the architecture (or
        (N, C, L) signals for the 1D layers, and for a model of flatten and dense layers)."""
        convs = [layer for layer in self.layers
                 if isinstance(layer, (Convolution2DBase, Convolution1DLayer))]
        # pooling layers before the first conv layer keep the number of channels
        channels = convs[0].input_channels if convs else None
        owner = "the first convolutional layer"
        signals = any(isinstance(layer, _SIGNAL_LAYERS) for layer in self.layers) or (
            np.ndim(X) == 3 and not any(isinstance(layer, _IMAGE_LAYERS) for layer in self.layers)
        )
        if signals:
            X = check.signals(X, channels, name, owner=owner)
        else:
            X = check.images(X, channels, name, owner=owner)
        if not signals and (
            channels is None and X.shape[3] in (1, 3) and X.shape[1] not in (1, 3)
            and (self._input_shape is None or X.shape[1:] != self._input_shape)
        ):
            # no conv layer fixes the channels, but 1 or 3 on the last axis and something
            # else on axis 1 is almost surely grey or RGB images stored channels last
            raise ValueError(
                f"{name} has {X.shape[3]} channel(s) on the last axis and {X.shape[1]} on "
                f"axis 1; {check.channels_last_hint(X.shape, name)}."
            )
        if self._input_shape is not None and X.shape[1:] != self._input_shape:
            raise ValueError(
                f"{name} has images of shape {X.shape[1:]} but this model's weights were made "
                f"for images of shape (C, H, W) = {self._input_shape}; resize the images or "
                "build a new CNN."
            )
        self.output_shapes(X.shape[1:])
        return X

    def _check_data(self, X, t, X_val, t_val):
        """X, t, X_val, t_val checked against the architecture and each other."""
        X = self._check_images(X, "X")
        t = check.targets(t, X.shape[0], self.output_layer.nodes, "t", "X")
        check.validation_pair(X_val, t_val)
        if X_val is not None:
            X_val = self._check_images(X_val, "X_val")
            if X_val.shape[1:] != X.shape[1:]:
                raise ValueError(
                    f"X_val has images of shape {X_val.shape[1:]} but X has {X.shape[1:]} "
                    "(C, H, W); validation images must have the shape of the training images."
                )
            t_val = check.targets(t_val, X_val.shape[0], self.output_layer.nodes, "t_val", "X_val")
        return X, t, X_val, t_val

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

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        t: np.ndarray,
        epochs: int = 100,
        lam: float = 0,
        batches: int = 1,
        X_val: np.ndarray | None = None,
        t_val: np.ndarray | None = None,
        *,
        progress: bool = True,
        parallel: bool = False,
    ) -> dict[str, np.ndarray]:
        """Train for `epochs` passes over (X, t), each split into `batches` shuffled mini-batches.

        X : (N, C, H, W) images; t : (N, output nodes) targets (one-hot for classes).
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
        # --- check everything before changing anything ---
        self._require_output_layer("fit")
        X, t, X_val, t_val = self._check_data(X, t, X_val, t_val)
        epochs, batches = check.fit_settings(epochs, batches, X.shape[0], lam, progress, parallel)
        if self._input_shape is None:
            self.build(X.shape[1:])
        t = t.astype(X.dtype, copy=False)

        scores = {key: np.full(epochs, np.nan) for key in SCORE_KEYS}
        bar = tqdm(range(epochs), desc="fit", unit="epoch", file=sys.stderr, disable=not progress)
        # the one hook for threads: passes run on this thread, or split over two
        passes = Passes(self.layers, split=bool(parallel) and self._can_split_batches())
        epoch = 0
        try:
            # overflow is detected by _step (training stops with a message), not warned about
            with one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                    _DeferKeyboardInterrupt() as ctrl_c:
                for epoch in bar:
                    order = self._rng.permutation(X.shape[0])
                    error_sum, correct = 0.0, 0
                    for indices in np.array_split(order, batches):
                        X_batch, t_batch = X[indices], t[indices]
                        prediction = self._step(X_batch, t_batch, lam, passes, ctrl_c)
                        batch_error, batch_correct = self._batch_scores(prediction, t_batch)
                        error_sum += batch_error
                        correct += batch_correct
                    scores["train_error"][epoch] = error_sum / X.shape[0]
                    if self.pred_format != "regression":
                        scores["train_acc"][epoch] = correct / X.shape[0]
                    if X_val is not None:
                        self._score_validation(scores, epoch, passes.forward(forward, X_val), t_val)
                    bar.set_postfix(
                        {key: f"{scores[key][epoch]:.4g}" for key in SCORE_KEYS
                         if not np.isnan(scores[key][epoch])},
                        refresh=False,
                    )
        except KeyboardInterrupt:
            print(
                f"fit interrupted in epoch {epoch + 1}/{epochs}: keeping the weights of the last "
                "complete step; scores of unfinished epochs are NaN."
            )
        except _Diverged:
            print(
                f"fit stopped in epoch {epoch + 1}/{epochs}: outputs or gradients became NaN or "
                "infinite (training diverged); keeping the last finite weights. Try a smaller eta."
            )
        finally:
            bar.close()
            passes.close()
        return scores

    def _can_split_batches(self) -> bool:
        """Whether a mini-batch's gradient is exactly the size-weighted mean of its halves'.

        True when the cost is a mean over images (every cost of course_utils.costs) and every
        layer treats images independently (the functions of course_utils.activations). A
        function of your own might mix the images of a batch, so then batches stay whole.
        """
        functions = [getattr(layer, "act_func", None) for layer in self.layers]
        return _function_lives_in(self.cost_func, _costs) and all(
            func is None or _function_lives_in(func, _activations) for func in functions
        )

    def _step(self, X_batch: np.ndarray, t_batch: np.ndarray, lam: float, passes: Passes,
              ctrl_c: _DeferKeyboardInterrupt):
        """One gradient-descent step on one mini-batch, applied atomically.

        Returns the batch's prediction, made with the weights before the step (for the
        epoch's training scores).
        """
        prediction = passes.forward_backward(forward_backward, X_batch, t_batch)
        # Compute every change first, then assign them all. Ctrl-C during this block is
        # held back until the end, so the weights never mix two steps.
        with ctrl_c.held():
            # A non-finite gradient gives a non-finite change, and finite gradients can
            # too (lam * weights or a scheduler's sums overflowing): so the changes alone
            # are checked, after the schedulers have taken their step. A shallow copy of
            # each scheduler's attributes is a full snapshot (about a microsecond): the
            # schedulers bind new state arrays, never modify them in place.
            snapshots = [vars(scheduler).copy() for _, _, scheduler in self._param_schedulers]
            changes = []
            for layer, key, scheduler in self._param_schedulers:
                gradient = layer.grads[key]
                if lam and key in ("kernel", "weights"):
                    gradient = gradient + lam * layer.params[key]
                changes.append(scheduler.update_change(gradient))
            if not all(np.isfinite(change).all() for change in changes):
                for (_, _, scheduler), snapshot in zip(self._param_schedulers, snapshots):
                    vars(scheduler).clear()
                    vars(scheduler).update(snapshot)
                raise _Diverged
            for (layer, key, _), change in zip(self._param_schedulers, changes):
                layer.params[key] = layer.params[key] - change
        return prediction

    def _batch_scores(self, prediction: np.ndarray, targets: np.ndarray) -> tuple[float, int]:
        """(cost * images, images predicted right) of one batch, summed into the epoch's
        training scores; 0 right for regression, which has no accuracy."""
        error = float(self.cost_func(targets)(prediction)) * targets.shape[0]
        if self.pred_format == "regression":
            return error, 0
        return error, _n_right(self._to_prediction(prediction), targets)

    def _score_validation(self, scores, epoch, proba, t_val) -> None:
        scores["val_error"][epoch] = float(self.cost_func(t_val)(proba))
        if self.pred_format != "regression":
            scores["val_acc"][epoch] = _accuracy(self._to_prediction(proba), t_val)

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

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

    # ------------------------------------------------------------------
    # Summary
    # ------------------------------------------------------------------

    def summary(self, input_shape: tuple[int, int, int] | None = None) -> str:
        """Print and return a table: each layer, its output shape, its parameter count, total.

        The returned text is a str (a SummaryText) whose repr is the table itself; as the
        last expression of a notebook cell the table therefore shows once, not twice.
        input_shape: (C, H, W) of one image; defaults to the shape the model was fitted on.
        The rows are output_shapes(input_shape) and parameter_counts(input_shape).
        """
        input_shape = self._resolve_input_shape("summary", input_shape)
        counts = self.parameter_counts(input_shape)
        rows = [("Layer", "Output shape", "Parameters")] + [
            (type(layer).__name__, str(shape), f"{count:,}")
            for layer, shape, count in zip(self.layers, self.output_shapes(input_shape), counts)
        ]
        total = sum(counts)
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        line = "-" * (sum(widths) + 4)

        def fmt(row):
            return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

        what = "signals of shape (C, L)" if len(input_shape) == 2 else "images of shape (C, H, W)"
        text = "\n".join(
            [f"Input: {what} = {tuple(input_shape)}", line, fmt(rows[0]), line]
            + [fmt(row) for row in rows[1:]]
            + [line, f"Total parameters: {total:,}"]
        )
        print(text)
        return SummaryText(text)

    def count_params(self, input_shape: tuple[int, int, int] | None = None) -> int:
        """Total number of trainable parameters (as Keras' model.count_params()): the sum of
        parameter_counts(input_shape)."""
        return sum(self.parameter_counts(self._resolve_input_shape("count_params", input_shape)))

    # ------------------------------------------------------------------
    # Saving and loading (the file format: course_utils/model_file.py)
    # ------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


class SummaryText(str):
    """The text of CNN.summary(): a str that shows as the plain table, not an escaped string.

    summary() has already printed the table, so as the last expression of a notebook
    cell it displays nothing more (_ipython_display_), and repr() is the table itself.
    """

    def __repr__(self) -> str:
        return str(self)

    def _ipython_display_(self) -> None:
        pass


def forward(layers: list[Layer], X: np.ndarray) -> np.ndarray:
    """Output of the last of `layers` for the images X (a forward pass, nothing else)."""
    for layer in layers:
        X = layer._forward(X)
    return X


def forward_backward(layers: list[Layer], X: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Forward pass of X through `layers`, then backpropagation from the targets t: fills
    every layer's grads and returns the prediction. _Diverged if the prediction is not finite."""
    prediction = forward(layers, X)
    if not np.isfinite(prediction).all():
        raise _Diverged
    delta = layers[-1]._backward(t)  # the output layer starts from the cost
    # The deltas are not checked one by one (a full pass over each, ~3% of an epoch): a
    # NaN or inf in a delta makes the gradients of the next layer with parameters NaN
    # or inf too (inf * 0 is NaN), and CNN._step checks those before any change.
    for index in range(len(layers) - 2, -1, -1):
        layer = layers[index]
        if index == 0 and isinstance(layer, Convolution2DLayerOPT):
            # Nothing lies below the first layer, so its input gradient would be thrown
            # away: skip it (kh*kw matrix products and their scatter-add per step).
            layer._backward(delta, input_gradient=False)
        else:
            delta = layer._backward(delta)
    return prediction


# the layers of signals (N, C, L) and those of images (N, C, H, W), which do not mix
_SIGNAL_LAYERS = (Convolution1DLayer, Pooling1DLayer)
_IMAGE_LAYERS = (Convolution2DBase, Pooling2DBase)


class _Diverged(Exception):
    """Raised inside fit when the outputs stop being finite."""


class _DeferKeyboardInterrupt:
    """Ctrl-C (SIGINT) for a whole fit: KeyboardInterrupt as usual, except inside
    `with guard.held():`, where it is held back and raised at the end of that block.

    Only where Ctrl-C would raise KeyboardInterrupt anyway: in the main thread (where Python
    delivers signals) with Python's default handler installed. A SIGINT the parent process
    chose to ignore (a job started in the background, nohup) stays ignored, and a handler
    of your own stays in charge; elsewhere this is a no-op. The handler is put in place
    once per fit, not once per step (two system calls less per step).
    """

    def __enter__(self):
        self.interrupted = self.holding = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self.previous = signal.signal(signal.SIGINT, self._remember)
            except (ValueError, OSError):  # e.g. embedded interpreters
                self.previous = None
        return self

    def _remember(self, signum, frame):
        if not self.holding:
            raise KeyboardInterrupt  # what Python's default handler does
        self.interrupted = True

    @contextlib.contextmanager
    def held(self):
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.interrupted:
            self.interrupted = False
            raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _n_right(prediction: np.ndarray, target: np.ndarray) -> int:
    """Number of rows (images) predicted exactly right."""
    return int(np.count_nonzero(np.all(prediction == target, axis=1)))


def _accuracy(prediction: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows (images) predicted exactly right."""
    return _n_right(prediction, target) / target.shape[0]


def _parameter_count(layer: Layer, input_shape: tuple[int, ...]) -> int:
    if isinstance(layer, Convolution1DLayer):
        return layer.input_channels * layer.feature_maps * layer.kernel_size + layer.feature_maps
    if isinstance(layer, Convolution2DBase):
        kernel = layer.input_channels * layer.feature_maps * layer.kernel_height * layer.kernel_width
        return kernel + layer.feature_maps
    if isinstance(layer, FullyConnectedLayer):
        return int(input_shape[0]) * layer.nodes + layer.nodes
    return 0


def _function_lives_in(func: Callable, module) -> bool:
    """Whether func is one of the public functions of `module` (looked up by name)."""
    name = getattr(func, "__name__", None)
    return name in getattr(module, "__all__", ()) and getattr(module, name) is func
