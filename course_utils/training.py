"""The small pieces around CNN.fit's loop: what keeps a training run safe, apart from it.

    with TrainingRun(epochs, progress) as run:     # one BLAS thread, Ctrl-C, divergence
        for epoch in run.epochs():
            ...forward and backward...
            with run.atomic():                     # Ctrl-C waits until the step is whole
                gradient_step(parameter_schedulers, lam)
            run.show(scores, epoch)

  gradient_step   the update of every parameter by its own scheduler, all or nothing:
                  a change that is not finite rolls every scheduler back (their public
                  state_dict/load_state_dict) and raises Diverged before any weight moves
  TrainingRun     one BLAS thread, overflow not warned about (Diverged reports it), Ctrl-C
                  held back inside atomic(), the progress bar, and the message when a run
                  stops early (interrupted or diverged): fit then returns the scores so far
  Diverged        raised when outputs or changes stop being finite
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Self

import numpy as np
from tqdm import tqdm

from . import activations as _activations
from . import costs as _costs
from .parallel import one_blas_thread

__all__ = [
    "SCORE_KEYS", "Diverged", "TrainingRun", "can_split_batches", "empty_scores", "gradient_step",
]

SCORE_KEYS = ("train_error", "train_acc", "val_error", "val_acc")


class Diverged(Exception):
    """Raised inside fit when the outputs or the changes of a step stop being finite."""


def empty_scores(epochs: int) -> dict[str, np.ndarray]:
    """fit's scores before training: an array of NaN per SCORE_KEYS entry, one per epoch."""
    return {key: np.full(epochs, np.nan) for key in SCORE_KEYS}


def gradient_step(parameter_schedulers, lam: float) -> None:
    """params[key] -= scheduler.update_change(grads[key] (+ lam * params[key] for kernels
    and dense weights)) for every (layer, key, scheduler), all or nothing.

    A non-finite gradient gives a non-finite change, and finite gradients can too (lam *
    weights or a scheduler's sums overflowing): so the changes alone are checked, after
    the schedulers have taken their step; if one is not finite, every scheduler gets its
    state from before the step back and Diverged is raised, with no weight changed.
    """
    snapshots = [_state_of(scheduler) for _, _, scheduler in parameter_schedulers]
    changes = []
    for layer, key, scheduler in parameter_schedulers:
        gradient = layer.grads[key]
        if lam and key in ("kernel", "weights"):
            gradient = gradient + lam * layer.params[key]
        changes.append(scheduler.update_change(gradient))
    if not all(np.isfinite(change).all() for change in changes):
        for (_, _, scheduler), snapshot in zip(parameter_schedulers, snapshots):
            if snapshot is not None:
                scheduler.load_state_dict(snapshot)
        raise Diverged
    for (layer, key, _), change in zip(parameter_schedulers, changes):
        layer.params[key] = layer.params[key] - change


def can_split_batches(cost_func, layers) -> bool:
    """Whether a mini-batch's gradient is exactly the size-weighted mean of its halves'
    (what fit(parallel=True) needs to split batches over two threads).

    True when the cost is a mean over images (every cost of course_utils.costs) and every
    layer treats images independently (the functions of course_utils.activations). A
    function of your own might mix the images of a batch, so then batches stay whole.
    """
    functions = [getattr(layer, "act_func", None) for layer in layers]
    return _function_lives_in(cost_func, _costs) and all(
        func is None or _function_lives_in(func, _activations) for func in functions
    )


def _function_lives_in(func, module) -> bool:
    """Whether func is one of the public functions of `module` (looked up by name)."""
    name = getattr(func, "__name__", None)
    return name in getattr(module, "__all__", ()) and getattr(module, name) is func


def _state_of(scheduler):
    """scheduler.state_dict(), or None for a scheduler of your own without one (its state
    is then not rolled back)."""
    state_dict = getattr(scheduler, "state_dict", None)
    return state_dict() if callable(state_dict) else None


class TrainingRun:
    """The context of one fit: see the module docstring.

    KeyboardInterrupt and Diverged end the `with` block quietly, after a message saying
    in which epoch and why; the weights are those of the last complete step.
    """

    def __init__(self, epochs: int, progress: bool) -> None:
        self.n_epochs = epochs
        self.epoch = 0
        self.bar = tqdm(range(epochs), desc="fit", unit="epoch", file=sys.stderr,
                        disable=not progress)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Self:
        self._stack.enter_context(one_blas_thread())
        # overflow is detected (Diverged: training stops with a message), not warned about
        self._stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        self._ctrl_c = self._stack.enter_context(_DeferKeyboardInterrupt())
        return self

    def epochs(self):
        """The epoch numbers 0 .. epochs - 1, through the progress bar."""
        for epoch in self.bar:
            self.epoch = epoch  # for the message if the run stops early
            yield epoch

    def atomic(self):
        """A block that Ctrl-C does not cut in two: the interrupt is raised at its end."""
        return self._ctrl_c.held()

    def show(self, scores: dict[str, np.ndarray], epoch: int) -> None:
        """The epoch's scores beside the progress bar."""
        self.bar.set_postfix(
            {key: f"{scores[key][epoch]:.4g}" for key in SCORE_KEYS
             if not np.isnan(scores[key][epoch])},
            refresh=False,
        )

    def __exit__(self, kind, error, traceback) -> bool:
        self._stack.close()
        self.bar.close()
        where = f"in epoch {self.epoch + 1}/{self.n_epochs}"
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            print(f"fit interrupted {where}: keeping the weights of the last complete step; "
                  "scores of unfinished epochs are NaN.")
            return True
        if kind is Diverged:
            print(f"fit stopped {where}: outputs or gradients became NaN or infinite (training "
                  "diverged); keeping the last finite weights. Try a smaller eta.")
            return True
        return False


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
