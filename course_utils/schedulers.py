"""Learning-rate schedulers: turn a gradient into the change the caller subtracts.

Every scheduler has the same two methods (one interface per family, as in CS231n's
``optim.py``)::

    change = scheduler.update_change(gradient)   # same shape and dtype as gradient
    weights = weights - change
    scheduler.reset()                            # forget all history (fresh start)

A scheduler with memory (Momentum, Adagrad, RMS_prop, Adam, ...) remembers the
gradients of ONE parameter array, so every parameter array needs its own copy::

    import copy
    scheduler_weights = copy.deepcopy(scheduler)
    scheduler_bias = copy.deepcopy(scheduler)

The state arrays are created on the first ``update_change`` and are never modified
in place (each step binds new arrays), so a copy -- deep or shallow -- never shares
history with the scheduler it was copied from. The returned change is always a new
array, never the scheduler's state, so the caller may modify it in place.

Differences from the lecture code (deliberate bug fixes):

- Adagrad accumulates the element-wise square ``g * g``, not the outer product
  ``g @ g.T`` (which only works for column vectors and mixes unrelated weights).
- Adam counts update steps ``t`` (not epochs) for its bias correction ``1 - rho**t``
  and keeps its moments between epochs; ``reset()`` clears them only when you call it.
- ``reset()`` always means "back to the freshly constructed state", for every scheduler.
- ``delta`` (1e-8) is added to the square root, as in Kingma & Ba (2015), not inside it.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import positive_float

__all__ = ["Adagrad", "AdagradMomentum", "Adam", "Constant", "Momentum", "RMS_prop", "Scheduler"]


def _decay_rate(name: str, value) -> float:
    """Return `value` as float if 0 <= value < 1, else raise ValueError naming `name`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not 0 <= value < 1
    ):
        raise ValueError(
            f"{name} must be a number with 0 <= {name} < 1, got {value!r}; "
            "typical values are 0.9 (momentum, rho) and 0.999 (rho2)."
        )
    return float(value)


def _as_gradient(gradient) -> np.ndarray:
    """The gradient as a float array: float32/float64 kept as they are, integers -> float64."""
    gradient = np.asarray(gradient)
    if gradient.dtype.kind not in "biuf":
        raise TypeError(f"gradient must be a numeric array, got dtype {gradient.dtype}.")
    if gradient.dtype.kind != "f":
        gradient = gradient.astype(np.float64)
    return gradient


class Scheduler:
    """Abstract base class: holds the learning rate ``eta`` and the shared interface.

    Subclasses implement ``update_change(gradient) -> change`` and, if they keep
    history, ``reset()``.
    """

    #: added to square roots in denominators so a zero gradient never divides by zero
    delta: float = 1e-8

    def __init__(self, eta: float) -> None:
        self.eta = positive_float("eta", eta, "a typical learning rate is 1e-3.")

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return the change to subtract from the parameters (implemented by subclasses)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement update_change(); Scheduler is the "
            "abstract base class. Use one of Constant, Momentum, Adagrad, AdagradMomentum, "
            "RMS_prop or Adam, e.g. Adam(eta=1e-3, rho=0.9, rho2=0.999)."
        )

    def reset(self) -> None:
        """Forget all history, as if the scheduler had just been constructed."""

    def hyper_parameters(self) -> dict[str, float]:
        """The constructor's arguments, e.g. {"eta": 1e-3, "rho": 0.9, "rho2": 0.999}."""
        return {"eta": self.eta}

    def state_dict(self) -> dict:
        """What the scheduler has learnt: every attribute that is not a hyper-parameter
        (Adam: moment, second, t; Momentum: change; Adagrad: G_t; RMS_prop: second), as
        arrays, numbers or None. The arrays are never modified in place (each step binds
        new ones), so this shallow dict is a full snapshot: load_state_dict(snapshot)
        puts the scheduler back exactly (CNN.fit's roll-back, CNN.save/load)."""
        hyper = self.hyper_parameters()
        return {name: value for name, value in vars(self).items() if name not in hyper}

    def load_state_dict(self, state: dict) -> None:
        """Put back a state from state_dict(); ValueError if its names are not this
        scheduler's (a state of another kind of scheduler)."""
        expected = set(self.state_dict())
        if not isinstance(state, dict) or set(state) != expected:
            names = sorted(state) if isinstance(state, dict) else state
            raise ValueError(
                f"state must hold {sorted(expected)} for a {type(self).__name__}, got {names!r};"
                " pass what state_dict() of the same kind of scheduler returned."
            )
        for name, value in state.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.hyper_parameters().items())
        return f"{type(self).__name__}({args})"

    @staticmethod
    def _previous(state: np.ndarray | None, gradient: np.ndarray) -> np.ndarray:
        """The state before this step: zeros like `gradient` on the first step (state_0 = 0).

        A scheduler follows one parameter array; a gradient of another shape means the
        scheduler is being shared, which is refused before any state changes.
        """
        if state is None:
            return np.zeros_like(gradient)
        if state.shape != gradient.shape:
            raise ValueError(
                f"gradient has shape {gradient.shape} but this scheduler was used for shape "
                f"{state.shape}; give every parameter array its own copy "
                "(copy.deepcopy(scheduler)) or call reset() first."
            )
        return state


class Constant(Scheduler):
    """Plain gradient descent: change = eta * g."""

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Return eta * gradient (a new array, same dtype as the gradient)."""
        gradient = _as_gradient(gradient)
        return gradient.dtype.type(self.eta) * gradient


class Momentum(Scheduler):
    """Gradient descent with momentum.

    v_t = momentum * v_{t-1} + eta * g_t,  v_0 = 0;  change = v_t.
    """

    def __init__(self, eta: float, momentum: float) -> None:
        super().__init__(eta)
        self.momentum = _decay_rate("momentum", momentum)
        self.change: np.ndarray | None = None

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Update the velocity v_t and return a copy of it (the caller may modify the copy)."""
        gradient = _as_gradient(gradient)
        dtype = gradient.dtype.type
        previous = self._previous(self.change, gradient)
        self.change = dtype(self.momentum) * previous + dtype(self.eta) * gradient
        return self.change.copy()

    def reset(self) -> None:
        """Forget the velocity, as if the scheduler had just been constructed."""
        self.change = None

    def hyper_parameters(self) -> dict[str, float]:
        """The constructor\'s arguments."""
        return {"eta": self.eta, "momentum": self.momentum}


class Adagrad(Scheduler):
    """Adagrad (Duchi et al. 2011), element-wise.

    G_t = G_{t-1} + g_t * g_t  (element-wise square, G_0 = 0);
    change = eta * g_t / (sqrt(G_t) + delta).
    Each weight gets its own learning rate, shrinking as its gradients add up.
    """

    def __init__(self, eta: float) -> None:
        super().__init__(eta)
        self.G_t: np.ndarray | None = None

    def _scaled_gradient(self, gradient: np.ndarray) -> np.ndarray:
        """Update G_t and return eta * g / (sqrt(G_t) + delta)."""
        dtype = gradient.dtype.type
        self.G_t = self._previous(self.G_t, gradient) + gradient * gradient
        return dtype(self.eta) * gradient / (np.sqrt(self.G_t) + dtype(self.delta))

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Add g * g to G_t and return eta * g / (sqrt(G_t) + delta) (a new array)."""
        return self._scaled_gradient(_as_gradient(gradient))

    def reset(self) -> None:
        """Forget the summed squares G_t, as if the scheduler had just been constructed."""
        self.G_t = None


class AdagradMomentum(Adagrad):
    """Adagrad with momentum.

    G_t as in Adagrad; v_t = momentum * v_{t-1} + eta * g_t / (sqrt(G_t) + delta);
    change = v_t.
    """

    def __init__(self, eta: float, momentum: float) -> None:
        super().__init__(eta)
        self.momentum = _decay_rate("momentum", momentum)
        self.change: np.ndarray | None = None

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Update G_t and the velocity v_t; return a copy of v_t (the caller may modify it)."""
        gradient = _as_gradient(gradient)
        previous = self._previous(self.change, gradient)  # checks the shape before G_t changes
        scaled = self._scaled_gradient(gradient)
        self.change = gradient.dtype.type(self.momentum) * previous + scaled
        return self.change.copy()

    def reset(self) -> None:
        """Forget G_t and the velocity, as if the scheduler had just been constructed."""
        super().reset()
        self.change = None

    def hyper_parameters(self) -> dict[str, float]:
        """The constructor\'s arguments."""
        return {"eta": self.eta, "momentum": self.momentum}


class RMS_prop(Scheduler):
    """RMSprop (Hinton's lecture 6e): a running average of squared gradients.

    s_t = rho * s_{t-1} + (1 - rho) * g_t * g_t  (s_0 = 0);
    change = eta * g_t / (sqrt(s_t) + delta).
    """

    def __init__(self, eta: float, rho: float) -> None:
        super().__init__(eta)
        self.rho = _decay_rate("rho", rho)
        self.second: np.ndarray | None = None

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Update the running average s_t and return eta * g / (sqrt(s_t) + delta)."""
        gradient = _as_gradient(gradient)
        dtype = gradient.dtype.type
        previous = self._previous(self.second, gradient)
        self.second = dtype(self.rho) * previous + dtype(1 - self.rho) * gradient * gradient
        return dtype(self.eta) * gradient / (np.sqrt(self.second) + dtype(self.delta))

    def reset(self) -> None:
        """Forget the running average, as if the scheduler had just been constructed."""
        self.second = None

    def hyper_parameters(self) -> dict[str, float]:
        """The constructor\'s arguments."""
        return {"eta": self.eta, "rho": self.rho}


class Adam(Scheduler):
    """Adam (Kingma & Ba 2015, Algorithm 1) with per-step bias correction.

    At update step t = 1, 2, ...:
        m_t = rho  * m_{t-1} + (1 - rho)  * g_t          (first moment, m_0 = 0)
        v_t = rho2 * v_{t-1} + (1 - rho2) * g_t * g_t    (second moment, v_0 = 0)
        m_hat = m_t / (1 - rho**t),  v_hat = v_t / (1 - rho2**t)
        change = eta * m_hat / (sqrt(v_hat) + delta)
    ``t`` counts calls of update_change (not epochs); reset() sets t back to 0.
    """

    def __init__(self, eta: float, rho: float, rho2: float) -> None:
        super().__init__(eta)
        self.rho = _decay_rate("rho", rho)
        self.rho2 = _decay_rate("rho2", rho2)
        self.moment: np.ndarray | None = None
        self.second: np.ndarray | None = None
        self.t = 0

    def update_change(self, gradient: np.ndarray) -> np.ndarray:
        """Take step t + 1: update both moments and return the bias-corrected change."""
        gradient = _as_gradient(gradient)
        dtype = gradient.dtype.type
        moment = self._previous(self.moment, gradient)
        second = self._previous(self.second, gradient)
        self.t += 1
        # The formulas of the docstring, with fewer temporary arrays (CNN.fit calls this for
        # every parameter array on every step; most of them are small, so the number of
        # array operations is the cost). Rearranged exactly, so equal up to rounding:
        #   m_t = m + (1 - rho) (g - m),   v_t = v + (1 - rho2) (g*g - v)
        #   change = [eta / (1 - rho**t)] m_t / (sqrt(v_t) / sqrt(1 - rho2**t) + delta)
        # Each step still binds NEW moment arrays (never modified later): state_dict's
        # snapshots and copies of the scheduler stay independent.
        new_moment = gradient - moment
        new_moment *= dtype(1 - self.rho)
        new_moment += moment
        new_second = gradient * gradient
        new_second -= second
        new_second *= dtype(1 - self.rho2)
        new_second += second
        self.moment, self.second = new_moment, new_second
        denominator = np.sqrt(new_second)
        denominator *= dtype(1 / math.sqrt(1 - self.rho2**self.t))
        denominator += dtype(self.delta)
        change = new_moment * dtype(self.eta / (1 - self.rho**self.t))
        change /= denominator
        return change

    def reset(self) -> None:
        """Forget both moments and set t back to 0, as if just constructed."""
        self.moment = None
        self.second = None
        self.t = 0

    def hyper_parameters(self) -> dict[str, float]:
        """The constructor\'s arguments."""
        return {"eta": self.eta, "rho": self.rho, "rho2": self.rho2}
