"""Notebook 08 (Ising phases): flip energies, circular padding, the crossing temperature."""

from __future__ import annotations

import numpy as np

from course_utils.exercises._base import (
    Exercise,
    same_array,
    same_float,
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
