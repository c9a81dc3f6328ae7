"""The 2D Ising model on a periodic L x L lattice: Monte Carlo samples and exact results.

Notebook 08 trains a CNN on these configurations and reads off the critical temperature.

  T_C                              Onsager's critical temperature 2 / ln(1 + sqrt 2), J = k_B = 1
  onsager_energy, onsager_magnetisation   exact energy per spin and |m| of the infinite lattice
  energy_per_spin, magnetisation   the same observables of sampled configurations
  metropolis_sweep                 one checkerboard Metropolis sweep of many chains at once
  wolff_step                       one Wolff cluster flip in every chain at once (decorrelates near T_C)
  integrated_autocorrelation_time  tau_int of a time series (pooled mean, Sokal's automatic window)
  sample_configurations            the labelled data set: many temperatures, decorrelated samples
  flip_energy                      energy change of flipping each spin (the Metropolis step)
  crossing_temperature, bootstrap_crossing   where a curve crosses 1/2, and its uncertainty

Spins are +1/-1 stored as int8 in arrays of shape (chains, L, L); chain c runs at
temperature T[c]. Only elementwise numpy, integer and boolean operations touch the spins
(acceptance probabilities come from math.exp, a handful per temperature), so a seed gives
the same configurations bit for bit on every processor and BLAS.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import is_non_negative_int, positive_int

__all__ = [
    "T_C",
    "energy_per_spin",
    "integrated_autocorrelation_time",
    "magnetisation",
    "metropolis_sweep",
    "onsager_energy",
    "onsager_magnetisation",
    "sample_configurations",
    "wolff_step",
]

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------

def _temperatures(name: str, T) -> np.ndarray:
    T = np.atleast_1d(np.asarray(T, dtype=np.float64))
    if T.ndim != 1 or T.size == 0 or not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise ValueError(
            f"{name} must be one positive finite temperature or a 1D array of them "
            f"(units of J / k_B), got {T!r}."
        )
    return T


def _spins(spins) -> np.ndarray:
    if not isinstance(spins, np.ndarray) or spins.ndim != 3 or spins.shape[1] != spins.shape[2]:
        shape = getattr(spins, "shape", type(spins).__name__)
        raise ValueError(
            f"spins must be an array of shape (chains, L, L), got {shape}; "
            "stack single lattices with spins[None]."
        )
    if spins.shape[1] < 2 or spins.shape[1] % 2:
        raise ValueError(
            f"spins must have an even lattice size L >= 2 (the checkerboard needs it on a "
            f"torus), got L = {spins.shape[1]}."
        )
    if spins.dtype != np.int8 or not np.all(np.abs(spins) == 1):
        raise ValueError(
            f"spins must be int8 values +1 or -1, got dtype {spins.dtype}; "
            "convert with np.where(spins > 0, 1, -1).astype(np.int8)."
        )
    return spins


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
            "use np.random.default_rng(seed)."
        )
    return rng


def _chain_temperatures(T, spins: np.ndarray) -> np.ndarray:
    T = _temperatures("T", T)
    if T.size not in (1, spins.shape[0]):
        raise ValueError(
            f"T must hold one temperature or one per chain ({spins.shape[0]}), "
            f"got {T.size} temperatures."
        )
    return np.broadcast_to(T, (spins.shape[0],))


# ---------------------------------------------------------------------------
# Exact results (Onsager 1944, Yang 1952), infinite lattice, J = k_B = 1
# ---------------------------------------------------------------------------

def _elliptic_k(m: np.ndarray) -> np.ndarray:
    """Complete elliptic integral of the first kind K(m), m = k^2 < 1, by the AGM."""
    a, b = np.ones_like(m), np.sqrt(1.0 - m)
    for _ in range(40):  # quadratic convergence: a handful of steps reach machine precision
        a, b = (a + b) / 2.0, np.sqrt(a * b)
    return np.pi / (2.0 * a)


def onsager_energy(T) -> np.ndarray:
    """Exact energy per spin u(T) of the infinite square lattice (Onsager).

    u = -coth(2b) [1 + (2/pi) (2 tanh^2(2b) - 1) K(k^2)],  b = 1/T,  k = 2 sinh(2b) / cosh^2(2b),
    K the complete elliptic integral of the first kind. At T_C, u = -sqrt(2).
    """
    T = _temperatures("T", T)
    beta2 = 2.0 / T
    k = 2.0 * np.sinh(beta2) / np.cosh(beta2) ** 2
    near_tc = np.abs(k - 1.0) < 1e-12
    # K diverges (logarithmically) at k = 1 where its prefactor vanishes: the product is 0
    K = _elliptic_k(np.where(near_tc, 0.0, k**2))
    factor = np.where(near_tc, 0.0, (2.0 * np.tanh(beta2) ** 2 - 1.0) * K)
    return -1.0 / np.tanh(beta2) * (1.0 + 2.0 / np.pi * factor)


def onsager_magnetisation(T) -> np.ndarray:
    """Exact spontaneous |m|(T) of the infinite lattice (Onsager, Yang):
    (1 - sinh(2/T)^-4)^(1/8) below T_C, 0 above."""
    T = _temperatures("T", T)
    inner = 1.0 - np.sinh(2.0 / T) ** -4.0
    return np.where(T < T_C, np.clip(inner, 0.0, None) ** 0.125, 0.0)


# ---------------------------------------------------------------------------
# Observables of configurations (exact integer sums)
# ---------------------------------------------------------------------------

def energy_per_spin(spins) -> np.ndarray:
    """E / N = -(1/N) sum over nearest-neighbour bonds s_i s_j, one value per chain."""
    spins = _spins(spins)
    s = spins.astype(np.int32)
    bonds = s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)  # each bond counted once
    return -bonds.sum(axis=(1, 2)) / s[0].size


def magnetisation(spins) -> np.ndarray:
    """|m| = |sum of spins| / N, one value per chain."""
    spins = _spins(spins)
    return np.abs(spins.sum(axis=(1, 2), dtype=np.int64)) / spins[0].size


# ---------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------

def _neighbour_sum(s: np.ndarray) -> np.ndarray:
    """Sum of the four nearest neighbours on the torus (np.roll wraps the edges)."""
    return (
        np.roll(s, 1, axis=1) + np.roll(s, -1, axis=1)
        + np.roll(s, 1, axis=2) + np.roll(s, -1, axis=2)
    )


def flip_energy(spins) -> np.ndarray:
    """dE = 2 s h of flipping each spin, h the sum of its four neighbours on the torus.

    spins: (chains, L, L) of +1/-1. Returns an int array of the same shape, values in
    {-8, -4, 0, 4, 8} (J = 1).
    """
    spins = _spins(spins)
    return 2 * spins * _neighbour_sum(spins)  # int8 is enough: |dE| <= 8


def metropolis_sweep(spins, T, rng: np.random.Generator) -> np.ndarray:
    """One Metropolis sweep of every chain, in place: black sites, then white sites.

    spins: (chains, L, L) int8, L even. T: one temperature or one per chain.
    A site of one colour has only neighbours of the other colour, so all sites of one
    colour can be updated at once and the result is still a valid Markov chain.
    Flipping s costs dE = 2 s h (h = neighbour sum, dE in {-8, -4, 0, 4, 8}) and is
    accepted with probability min(1, exp(-dE / T)). Returns spins.
    """
    spins = _spins(spins)
    T = _chain_temperatures(T, spins)
    rng = _generator(rng)
    chains, L, _ = spins.shape
    # acceptance[c, dE // 4 + 2] for dE = -8, -4, 0, 4, 8; math.exp: the same bits on every CPU
    acceptance = np.array(
        [[min(1.0, math.exp(-dE / t)) for dE in (-8, -4, 0, 4, 8)] for t in T]
    )
    # flat index of acceptance[c, dE // 4 + 2]: np.take is faster than 2D fancy indexing
    offsets = 5 * np.arange(chains, dtype=np.intp)[:, None, None] + 2
    parity = (np.arange(L)[:, None] + np.arange(L)[None, :]) % 2
    for colour in (0, 1):
        dE = flip_energy(spins)
        u = rng.random(spins.shape)
        flip = (parity == colour) & (u < np.take(acceptance, offsets + (dE >> 2)))
        np.negative(spins, out=spins, where=flip)
    return spins


def wolff_step(spins, T, rng: np.random.Generator) -> np.ndarray:
    """One Wolff cluster flip in every chain, in place; returns spins.

    Each chain picks a random seed site and grows its cluster: a neighbour with the same
    spin joins through each bond to a cluster site with probability p = 1 - exp(-2/T).
    The growth runs breadth first in all chains at once (the frontier is a boolean array);
    a site next to several new cluster sites gets one independent try per bond, as in the
    sequential algorithm. The whole cluster flips. Near T_C clusters are as large as the
    correlated regions, so one flip changes what many Metropolis sweeps would not.
    """
    spins = _spins(spins)
    T = _chain_temperatures(T, spins)
    rng = _generator(rng)
    chains, L, _ = spins.shape
    p_add = np.array([1.0 - math.exp(-2.0 / t) for t in T])[:, None, None]
    seeds = rng.integers(0, L, size=(chains, 2))
    cluster = np.zeros(spins.shape, dtype=bool)
    cluster[np.arange(chains), seeds[:, 0], seeds[:, 1]] = True
    seed_spin = spins[np.arange(chains), seeds[:, 0], seeds[:, 1]][:, None, None]
    aligned = spins == seed_spin
    frontier = cluster.copy()
    p_grid = np.broadcast_to(p_add, spins.shape)
    while frontier.any():
        added = np.zeros_like(cluster)
        for shift, axis in ((1, 1), (-1, 1), (1, 2), (-1, 2)):
            tried = np.roll(frontier, shift, axis=axis) & aligned & ~cluster
            accepted = rng.random(int(tried.sum())) < p_grid[tried]
            added[tried] |= accepted
        cluster |= added
        frontier = added
    spins[cluster] *= -1
    return spins


# ---------------------------------------------------------------------------
# Autocorrelation
# ---------------------------------------------------------------------------

def integrated_autocorrelation_time(x, c: float = 5.0) -> float:
    """tau_int = 1/2 + sum_{t=1}^{W} rho(t) of a time series, in steps between entries.

    x: 1D series (steps,), or (steps, chains) of independent chains of the same process
    (e.g. one temperature). Convention: independent samples give 1/2, an AR(1) series
    x_t = a x_{t-1} + noise gives (1 + a) / (2 (1 - a)), and the error of a mean of n
    correlated values is std * sqrt(2 tau_int / n).

    rho(t) = C(t) / C(0), with C(t) the autocovariance averaged over chains and time
    origins around ONE mean pooled over all chains and steps. (Subtracting each chain's
    own mean removes the part of each chain's slow fluctuation that its short series
    cannot average out, and biases tau_int low by a lot when a chain is only a few tau
    long: 14 instead of about 44 for |m| of 300-sweep chains at T = 2.3, L = 32.) The
    window W is the smallest with W >= c * tau_int(W) (Sokal's automatic windowing),
    at most steps // 2; a window that reaches that limit means the series is too short
    for the estimate, which then comes out low.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 4 or not np.all(np.isfinite(x)):
        raise ValueError(
            f"x must be a finite series of at least 4 steps, shape (steps,) or (steps, chains), "
            f"got shape {x.shape}."
        )
    if not c > 0:
        raise ValueError(f"c must be positive (5 is usual), got {c!r}.")
    x = x - x.mean()  # one mean pooled over all chains: see the docstring
    variance = (x * x).mean()
    if variance == 0:
        raise ValueError("x is constant: its autocorrelation time is undefined.")
    n = x.shape[0]
    tau = 0.5
    for t in range(1, n // 2):
        tau += (x[:-t] * x[t:]).mean() / variance
        if t >= c * tau:
            return float(tau)
    return float(tau)


# ---------------------------------------------------------------------------
# The data set
# ---------------------------------------------------------------------------

def sample_configurations(
    L: int,
    temperatures,
    samples_per_temperature: int,
    *,
    chains_per_temperature: int | None = None,
    equilibration: int = 200,
    sweeps_between: int = 10,
    wolff_steps: int = 0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Equilibrium configurations at each temperature, with their temperatures.

    Runs chains_per_temperature chains per temperature (default: all samples from
    separate chains), each started ordered with a random sign. One "step" is a
    Metropolis sweep followed by wolff_steps Wolff cluster flips. After `equilibration`
    steps, a sample is stored every `sweeps_between` steps until each chain has given
    samples_per_temperature / chains_per_temperature samples.

    Returns spins (len(temperatures) * samples_per_temperature, L, L) int8, ordered by
    temperature, and T (same length) float64. The same arguments give the same bits.
    """
    L = positive_int("L", L)
    if L < 4 or L % 2:
        raise ValueError(f"L must be an even lattice size >= 4, got L = {L}.")
    T = _temperatures("temperatures", temperatures)
    n = positive_int("samples_per_temperature", samples_per_temperature)
    chains = n if chains_per_temperature is None else positive_int(
        "chains_per_temperature", chains_per_temperature
    )
    if n % chains:
        raise ValueError(
            f"samples_per_temperature = {n} must be a multiple of chains_per_temperature "
            f"= {chains}; choose e.g. chains_per_temperature = {math.gcd(n, chains)}."
        )
    for name, value in (("equilibration", equilibration), ("wolff_steps", wolff_steps)):
        if not is_non_negative_int(value):
            raise ValueError(f"{name} must be an int >= 0, got {value!r}.")
    sweeps_between = positive_int("sweeps_between", sweeps_between)
    if not is_non_negative_int(seed):
        raise ValueError(f"seed must be an int >= 0, got {seed!r}.")
    rng = np.random.default_rng(seed)
    chain_T = np.repeat(T, chains)
    signs = np.where(rng.random(chain_T.size) < 0.5, -1, 1).astype(np.int8)
    spins = np.broadcast_to(signs[:, None, None], (chain_T.size, L, L)).copy()

    def step():
        metropolis_sweep(spins, chain_T, rng)
        for _ in range(wolff_steps):
            wolff_step(spins, chain_T, rng)

    for _ in range(equilibration):
        step()
    rounds = n // chains
    stored = np.empty((rounds, chain_T.size, L, L), dtype=np.int8)
    for r in range(rounds):
        for _ in range(sweeps_between if r else 1):
            step()
        stored[r] = spins
    # (rounds, temperatures * chains, L, L) -> ordered by temperature, then chain and round
    stored = stored.reshape(rounds, T.size, chains, L, L).transpose(1, 2, 0, 3, 4)
    return stored.reshape(T.size * n, L, L), np.repeat(T, n)


# ---------------------------------------------------------------------------
# Reading T_C off a classifier's output
# ---------------------------------------------------------------------------

def crossing_temperature(T, values, level: float = 0.5) -> float:
    """First temperature where `values` crosses `level`, by linear interpolation.

    T: increasing temperatures (n,). values: the curve at those temperatures (n,), e.g.
    the mean probability of "ordered". The first i with values[i] - level and
    values[i + 1] - level of opposite signs (or values[i + 1] == level) is interpolated
    linearly between T[i] and T[i + 1]; a value exactly at the level returns its T.
    Returns nan if the curve never reaches the level.
    """
    T = _temperatures("T", T)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != T.shape or not np.all(np.isfinite(values)):
        raise ValueError(
            f"values must be finite, one per temperature: shape {T.shape}, got {values.shape}."
        )
    if np.any(np.diff(T) <= 0):
        raise ValueError(f"T must be strictly increasing, got {T!r}.")
    d = values - level
    for i in range(len(T)):
        if d[i] == 0:
            return float(T[i])
        if i + 1 < len(T) and d[i] * d[i + 1] < 0:
            return float(T[i] + d[i] / (d[i] - d[i + 1]) * (T[i + 1] - T[i]))
    return float("nan")


def bootstrap_crossing(
    T, outputs, n_resamples: int = 1000, level: float = 0.5, seed: int = 0
) -> tuple[float, float]:
    """Crossing temperature of the mean output and its bootstrap standard error.

    outputs: (temperatures, groups, per_group) network outputs; a group is one Markov
    chain, whose samples are correlated, so whole chains are resampled (with
    replacement, independently at each temperature). Returns (crossing of the mean
    curve, standard deviation of the resampled crossings).
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    T = _temperatures("T", T)
    if outputs.ndim != 3 or outputs.shape[0] != T.size:
        raise ValueError(
            f"outputs must have shape (temperatures={T.size}, chains, samples per chain), "
            f"got {outputs.shape}."
        )
    n_resamples = positive_int("n_resamples", n_resamples)
    rng = np.random.default_rng(seed)
    chain_means = outputs.mean(axis=2)  # (temperatures, chains)
    estimate = crossing_temperature(T, chain_means.mean(axis=1), level)
    n_chains = chain_means.shape[1]
    picks = rng.integers(0, n_chains, size=(n_resamples, T.size, n_chains))
    curves = np.take_along_axis(chain_means[None], picks, axis=2).mean(axis=2)
    crossings = np.array([crossing_temperature(T, curve, level) for curve in curves])
    return estimate, float(np.nanstd(crossings))
