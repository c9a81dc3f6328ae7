"""Notebook 08 (Ising phases): flip energies, circular padding, the crossing temperature, and
two networks judged on fresh Monte Carlo configurations (models): a phase classifier for
L = 16, and one for L = 12 (a size the notebook never trains) whose output must cross 1/2
near T_c."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    no_cases,
    no_compare,
    no_reference,
    same_array,
    same_float,
)
from course_utils.exercises._models import (
    ModelLimits,
    ModelRejected,
    fraction_between,
    predict_in_batches,
    read_model,
)


def _flip_energy_reference(spins):
    """dE = 2 s h for one (L, L) lattice, h the sum of the four neighbours on the torus."""
    from course_utils.ising import flip_energy

    return flip_energy(np.asarray(spins, dtype=np.int8)[None])[0].astype(int)


def _flip_energy_cases(rng):
    up = np.ones((4, 4), dtype=int)
    one_down = up.copy()
    one_down[0, 0] = -1
    checkerboard = np.where(np.indices((4, 4)).sum(axis=0) % 2, 1, -1)
    stripe = np.ones((6, 6), dtype=int)
    stripe[:, 5] = -1  # its neighbours across the edge are in column 0
    cases = [(up,), (one_down,), (checkerboard,), (stripe,)]
    for _ in range(8):
        L = 2 * int(rng.integers(2, 7))  # even: a checkerboard fits on the torus
        cases.append((np.where(rng.random((L, L)) < 0.5, -1, 1),))
    return cases


def _circular_pad_reference(image, p):
    from course_utils.convolution import pad_input

    padded, _ = pad_input(np.asarray(image, dtype=float)[None, None], "circular", 2 * p + 1, 2 * p + 1)
    return padded[0, 0]


def _circular_pad_cases(rng):
    square = np.arange(1.0, 10.0).reshape(3, 3)
    cases = [(square, 0), (square, 1), (np.arange(1.0, 21.0).reshape(4, 5), 1),
             (np.arange(1.0, 31.0).reshape(5, 6), 2)]
    for _ in range(8):
        height, width = (int(v) for v in rng.integers(1, 10, size=2))
        p = int(rng.integers(0, (min(height, width) - 1) // 2 + 1))
        cases.append((rng.normal(size=(height, width)).round(3), p))
    return cases



def _crossing_temperature_reference(T, values):
    from course_utils.ising import crossing_temperature

    return crossing_temperature(T, values)


def _crossing_temperature_cases(rng):
    T = np.array([1.0, 2.0, 3.0, 4.0])
    cases = [(T, np.array([1.0, 0.75, 0.25, 0.0])), (T, np.array([0.9, 0.5, 0.1, 0.0])),
             (T, np.array([0.9, 0.4, 0.6, 0.1])), (T, np.array([0.1, 0.2, 0.8, 0.9])),
             (T, np.array([0.9, 0.8, 0.7, 0.6]))]
    for _ in range(10):
        n = int(rng.integers(3, 30))
        temperatures = np.unique(np.sort(rng.uniform(0.5, 4.0, size=n)).round(3))
        centre = rng.uniform(1.0, 3.5)
        curve = 1 / (1 + np.exp((temperatures - centre) * rng.uniform(2, 10)))
        cases.append((temperatures, np.clip(curve + rng.normal(0, 0.05, temperatures.size), 0, 1)))
    return cases


EXERCISES = (
    Exercise("flip_energy", _flip_energy_cases, _flip_energy_reference,
             same_array(rtol=0, atol=0), ("spins",),
             reference_label="course_utils.ising.flip_energy",
             references=("flip_energy", "metropolis_sweep", "energy_per_spin")),
    Exercise("circular_pad", _circular_pad_cases, _circular_pad_reference,
             same_array(rtol=0, atol=0), ("image", "p"),
             reference_label='pad_input(image[None, None], "circular", 2p + 1, 2p + 1)',
             references=("pad_input", "CircularPadding2D")),
    Exercise("crossing_temperature", _crossing_temperature_cases, _crossing_temperature_reference,
             same_float, ("T", "values"),
             reference_label="course_utils.ising.crossing_temperature",
             references=("crossing_temperature", "bootstrap_crossing")),
)


# ----------------------------------------------------------------------------- models: phases
# Column 1 of the output is P(ordered), as in the notebook; outputs are averaged over s and -s
# (the notebook's symmetrisation), so a network need not learn the spin-flip symmetry itself.
PHASE_L, CROSSING_L = 16, 12
PHASE_LIMITS = ModelLimits(input_shape=(1, PHASE_L, PHASE_L), outputs=2, max_parameters=5_000,
                           max_bytes=500_000, max_multiply_adds=1_000_000)
CROSSING_LIMITS = ModelLimits(input_shape=(1, CROSSING_L, CROSSING_L), outputs=2,
                              max_parameters=5_000, max_bytes=500_000, max_multiply_adds=1_000_000)
# The phase classifier: accuracy on fresh L = 16 configurations at these temperatures.
PHASE_TEMPERATURES = (1.7, 1.9, 2.05, 2.5, 2.65, 2.9, 3.2)
PHASE_TARGET, PHASE_FLOOR = 0.95, 0.75
# The crossing: mean P(ordered) on fresh L = 12 configurations over this grid crosses 1/2
# within CROSSING_TARGET of Onsager's T_c for full points, beyond CROSSING_FLOOR for none; a
# finite lattice crosses above T_c (L = 12: about 2.31, the judge's own spread about 0.03).
CROSSING_TEMPERATURES = tuple(np.round(np.linspace(1.9, 2.7, 9), 2))
CROSSING_TARGET, CROSSING_FLOOR = 0.10, 0.25
FAR_FROM_TC, FAR_ACCURACY = (1.9, 2.7), 0.9
ISING_BUDGET_SECONDS = 15.0


def fresh_configurations(L: int, temperatures, per_temperature: int, seed: int):
    """Equilibrium configurations (N, 1, L, L) float32 and their temperatures, drawn from seed.

    One independent chain per configuration (no autocorrelation between them), each after
    300 Metropolis sweeps: several times tau_int of |m| at T_c for L <= 16.
    """
    from course_utils.ising import sample_configurations

    spins, T = sample_configurations(L, temperatures, per_temperature,
                                     chains_per_temperature=per_temperature, equilibration=300,
                                     seed=int(seed) % 2**63)
    return spins[:, None].astype(np.float32), T


def ordered_probability(model, X: np.ndarray) -> np.ndarray:
    """P(ordered) of each configuration, averaged over the configuration and its flip."""
    return (predict_in_batches(model, X)[:, 1] + predict_in_batches(model, -X)[:, 1]) / 2


def judge_phase_model(path, seed: int) -> tuple[float, str]:
    """The grader's judge: accuracy on fresh L = 16 configurations drawn from seed."""
    from course_utils.ising import T_C

    try:
        model = read_model(path, PHASE_LIMITS)
    except ModelRejected as error:
        return 0.0, str(error)
    X, T = fresh_configurations(PHASE_L, PHASE_TEMPERATURES, 40, seed)
    accuracy = float(np.mean((ordered_probability(model, X) > 0.5) == (T < T_C)))
    return fraction_between(accuracy, PHASE_FLOOR, PHASE_TARGET), (
        f"accuracy {accuracy:.3f} on {len(T):,} fresh L = {PHASE_L} configurations at T = "
        f"{', '.join(map(str, PHASE_TEMPERATURES))} (target {PHASE_TARGET:.2f}, floor "
        f"{PHASE_FLOOR:.2f}); {sum(model.parameter_counts()):,} parameters (budget "
        f"{PHASE_LIMITS.max_parameters:,})")


def judge_crossing_model(path, seed: int) -> tuple[float, str]:
    """The grader's judge: where the L = 12 network's mean output crosses 1/2 on fresh data."""
    from course_utils.ising import T_C, crossing_temperature

    try:
        model = read_model(path, CROSSING_LIMITS)
    except ModelRejected as error:
        return 0.0, str(error)
    X, T = fresh_configurations(CROSSING_L, CROSSING_TEMPERATURES, 80, seed)
    p = ordered_probability(model, X)
    far = np.isin(T, FAR_FROM_TC)
    accuracy = float(np.mean((p[far] > 0.5) == (T[far] < T_C)))
    curve = p.reshape(len(CROSSING_TEMPERATURES), -1).mean(axis=1)
    crossing = crossing_temperature(np.array(CROSSING_TEMPERATURES), curve)
    where = (f"mean output crosses 1/2 at T = {crossing:.3f} on {len(T):,} fresh L = "
             f"{CROSSING_L} configurations (Onsager T_c = {T_C:.3f}; full points within "
             f"{CROSSING_TARGET}, none beyond {CROSSING_FLOOR})")
    if accuracy < FAR_ACCURACY:
        return 0.0, (f"accuracy {accuracy:.3f} at T = {FAR_FROM_TC[0]} and "
                     f"{FAR_FROM_TC[1]}, below {FAR_ACCURACY}: the network does not tell the "
                     f"phases apart ({where})")
    fraction = fraction_between(abs(crossing - T_C), CROSSING_FLOOR, CROSSING_TARGET)
    return fraction, f"{where}; accuracy {accuracy:.3f} far from T_c"


def _model_exercise(topic: str, answer: str, limits: ModelLimits, judge) -> Exercise:
    return Exercise(topic, no_cases, no_reference, no_compare, (), kind="model", answer=answer,
                    budget_seconds=ISING_BUDGET_SECONDS, max_bytes=limits.max_bytes,
                    max_parameters=limits.max_parameters, judge_model=judge)


EXERCISES += (
    _model_exercise("phase_model", "my_phase_cnn", PHASE_LIMITS, judge_phase_model),
    _model_exercise("crossing_model", "my_crossing_cnn", CROSSING_LIMITS, judge_crossing_model),
)
