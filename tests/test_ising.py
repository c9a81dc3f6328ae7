"""The Ising sampler against exact results (Onsager, Yang), with statistical errors from
the measured integrated autocorrelation time; determinism; shapes; bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from course_utils import ising
from course_utils.ising import (
    T_C,
    bootstrap_crossing,
    crossing_temperature,
    energy_per_spin,
    flip_energy,
    integrated_autocorrelation_time,
    magnetisation,
    metropolis_sweep,
    onsager_energy,
    onsager_magnetisation,
    sample_configurations,
    wolff_step,
)


def _run(T, L=32, chains=32, equilibration=150, steps=300, wolff=0, seed=0):
    """Time series (steps, chains) of energy per spin and |m| after equilibration."""
    rng = np.random.default_rng(seed)
    spins = np.ones((chains, L, L), dtype=np.int8)
    energies, magnetisations = [], []
    for step in range(equilibration + steps):
        metropolis_sweep(spins, T, rng)
        for _ in range(wolff):
            wolff_step(spins, T, rng)
        if step >= equilibration:
            energies.append(energy_per_spin(spins))
            magnetisations.append(magnetisation(spins))
    return np.array(energies), np.array(magnetisations)


def _mean_and_error(series):
    """Mean over steps and chains, and its standard error: std * sqrt(2 tau_int / n)."""
    tau = integrated_autocorrelation_time(series)
    error = series.std() * math.sqrt(2 * tau / series.size)
    return series.mean(), error, tau


# ---------------------------------------------------------------------------
# Exact results
# ---------------------------------------------------------------------------


def test_exact_values_at_known_points():
    assert T_C == pytest.approx(2.269185314213022, rel=1e-15)
    # at T_C: u = -sqrt(2) exactly; low T: all bonds satisfied; high T: -tanh(1/T) * 2 to leading order
    assert onsager_energy(T_C)[0] == pytest.approx(-math.sqrt(2), rel=1e-12)
    assert onsager_energy(0.2)[0] == pytest.approx(-2.0, abs=1e-12)
    assert onsager_energy(50.0)[0] == pytest.approx(-2 * math.tanh(1 / 50), rel=1e-3)
    assert onsager_magnetisation([0.5, 2.0, T_C, 3.0]) == pytest.approx([1.0, 0.911319, 0.0, 0.0], abs=1e-6)


def test_energy_is_continuous_through_t_c():
    T = T_C + np.array([-1e-9, 0.0, 1e-9])
    assert np.ptp(onsager_energy(T)) < 1e-6


# ---------------------------------------------------------------------------
# The sampler against exact results, errors from the measured autocorrelation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1.5, 2.0, 3.0])
def test_metropolis_energy_matches_onsager(T):
    # away from T_C the finite-size correction for L = 32 is far below the statistical error
    energies, _ = _run(T)
    mean, error, tau = _mean_and_error(energies)
    assert tau < 20, tau
    assert abs(mean - onsager_energy(T)[0]) < 4 * error, (mean, error, tau)


@pytest.mark.parametrize("T", [1.5, 2.0])
def test_metropolis_magnetisation_matches_onsager_yang(T):
    _, magnetisations = _run(T)
    mean, error, tau = _mean_and_error(magnetisations)
    assert abs(mean - onsager_magnetisation(T)[0]) < 4 * error, (mean, error, tau)


def test_wolff_matches_onsager_and_decorrelates_faster_near_t_c():
    T = 2.1
    energies, magnetisations = _run(T, L=16, chains=16, equilibration=50, steps=200, wolff=1)
    mean, error, _ = _mean_and_error(energies)
    assert abs(mean - onsager_energy(T)[0]) < 4 * error + 0.005, (mean, error)  # L = 16: finite size
    _, metropolis_m = _run(T, L=16, chains=16, equilibration=50, steps=200)
    assert integrated_autocorrelation_time(magnetisations) < integrated_autocorrelation_time(
        metropolis_m
    )


def _ar1(a, steps, chains, rng):
    """AR(1) chains x_t = a x_{t-1} + N(0, 1), started in equilibrium: (steps, chains)."""
    x = np.empty((steps, chains))
    x[0] = rng.normal(size=chains) / math.sqrt(1 - a * a)
    noise = rng.normal(size=(steps, chains))
    for t in range(1, steps):
        x[t] = a * x[t - 1] + noise[t]
    return x


def test_autocorrelation_time_of_known_processes():
    rng = np.random.default_rng(0)
    white = rng.normal(size=(20000, 4))
    assert integrated_autocorrelation_time(white) == pytest.approx(0.5, abs=0.05)
    # AR(1) x_t = a x_{t-1} + noise: rho(t) = a^t, tau_int = 1/2 + a / (1 - a) = 4.5 for a = 0.8
    a, x = 0.8, np.zeros((20000, 4))
    for t in range(1, len(x)):
        x[t] = a * x[t - 1] + white[t]
    assert integrated_autocorrelation_time(x) == pytest.approx(4.5, rel=0.1)


@pytest.mark.parametrize("tau_true", [5.0, 15.0])
def test_autocorrelation_time_of_ar1_chains_as_short_as_the_notebooks(tau_true):
    # Notebook 08 measures tau_int from 16 chains of 300 sweeps. The estimator must not be
    # biased at that length: averaged over 24 such data sets it meets the analytic value of
    # AR(1), tau_int = (1 + a) / (2 (1 - a)), within 8% (the mean's own scatter is 2-4%).
    # Subtracting each chain's own mean gives 4.5 and 10.5 here: 11% and 30% low.
    a = (2 * tau_true - 1) / (2 * tau_true + 1)
    rng = np.random.default_rng(1)
    estimates = [integrated_autocorrelation_time(_ar1(a, 300, 16, rng)) for _ in range(24)]
    assert np.mean(estimates) == pytest.approx(tau_true, rel=0.08), estimates


def test_error_from_tau_int_matches_the_scatter_of_means():
    # The error std * sqrt(2 tau_int / n) of one data set (16 chains x 300 steps, tau_int = 15)
    # against the observed scatter of the means of 60 independent data sets.
    a, rng = 29 / 31, np.random.default_rng(2)
    means, errors = [], []
    for _ in range(60):
        x = _ar1(a, 300, 16, rng)
        tau = integrated_autocorrelation_time(x)
        means.append(x.mean())
        errors.append(x.std() * math.sqrt(2 * tau / x.size))
    # analytic: var(x) = 1 / (1 - a^2), error of the mean ~ sqrt(var * 2 tau_int / n)
    analytic = math.sqrt(1 / (1 - a * a) * 2 * 15.0 / (300 * 16))
    assert np.std(means) == pytest.approx(analytic, rel=0.25)  # 60 means: sd of sd about 9%
    assert np.mean(errors) == pytest.approx(analytic, rel=0.12)


def test_spin_flip_symmetry():
    # the dynamics commute with s -> -s given the same random numbers, and the
    # observables are even in s
    spins = np.where(np.random.default_rng(1).random((6, 8, 8)) < 0.5, 1, -1).astype(np.int8)
    flipped = -spins
    metropolis_sweep(spins, [1.0, 2.0, 2.3, 2.5, 3.0, 4.0], np.random.default_rng(2))
    metropolis_sweep(flipped, [1.0, 2.0, 2.3, 2.5, 3.0, 4.0], np.random.default_rng(2))
    np.testing.assert_array_equal(flipped, -spins)
    wolff_step(spins, 2.3, np.random.default_rng(3))
    wolff_step(flipped, 2.3, np.random.default_rng(3))
    np.testing.assert_array_equal(flipped, -spins)
    np.testing.assert_array_equal(energy_per_spin(spins), energy_per_spin(flipped))
    np.testing.assert_array_equal(magnetisation(spins), magnetisation(flipped))
    # and the data set has both signs of m below T_C
    X, _ = sample_configurations(8, [1.5], 40, chains_per_temperature=40, equilibration=5)
    m = X.sum(axis=(1, 2))
    assert (m > 0).any() and (m < 0).any()


# ---------------------------------------------------------------------------
# The data set: shapes, determinism
# ---------------------------------------------------------------------------


def test_sample_configurations_shapes_order_and_determinism():
    T = [1.0, 2.0, 3.5]
    kwargs = {"chains_per_temperature": 3, "equilibration": 20, "sweeps_between": 2, "seed": 7}
    X, t = sample_configurations(8, T, 6, **kwargs)
    assert X.shape == (18, 8, 8) and X.dtype == np.int8 and set(np.unique(X)) <= {-1, 1}
    np.testing.assert_array_equal(t, np.repeat(T, 6))
    again, _ = sample_configurations(8, T, 6, **kwargs)
    np.testing.assert_array_equal(X, again)
    other, _ = sample_configurations(8, T, 6, **{**kwargs, "seed": 8})
    assert not np.array_equal(X, other)
    # ordered at T = 1, disordered at T = 3.5
    m = magnetisation(X).reshape(3, 6).mean(axis=1)
    assert m[0] > 0.95 and m[2] < 0.4


def test_observables_by_hand():
    up = np.ones((1, 4, 4), dtype=np.int8)
    checkerboard = np.where(np.indices((4, 4)).sum(axis=0) % 2, 1, -1).astype(np.int8)[None]
    assert energy_per_spin(up)[0] == -2.0 and magnetisation(up)[0] == 1.0
    assert energy_per_spin(checkerboard)[0] == 2.0 and magnetisation(checkerboard)[0] == 0.0


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: onsager_energy(-1.0), "T must be"),
        (lambda: onsager_magnetisation([2.0, np.nan]), "T must be"),
        (lambda: metropolis_sweep(np.ones((2, 4, 4)), 2.0, np.random.default_rng()), "int8"),
        (lambda: metropolis_sweep(np.ones((4, 4), np.int8), 2.0, np.random.default_rng()),
         r"\(chains, L, L\)"),
        (lambda: metropolis_sweep(np.ones((1, 5, 5), np.int8), 2.0, np.random.default_rng()),
         "even lattice size"),
        (lambda: metropolis_sweep(np.ones((3, 4, 4), np.int8), [2.0, 3.0], np.random.default_rng()),
         "one per chain"),
        (lambda: sample_configurations(7, [2.0], 4), "L must be an even"),
        (lambda: sample_configurations(8, [2.0], 0), "samples_per_temperature"),
        (lambda: sample_configurations(8, [2.0], 10, chains_per_temperature=4), "multiple"),
        (lambda: sample_configurations(8, [], 4), "temperatures"),
        (lambda: sample_configurations(8, [2.0], 4, equilibration=-1), "equilibration"),
        (lambda: integrated_autocorrelation_time(np.ones(100)), "constant"),
        (lambda: integrated_autocorrelation_time([1.0, 2.0]), "at least 4"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="default_rng"):
        metropolis_sweep(np.ones((1, 4, 4), np.int8), 2.0, 0)


def test_module_imports_only_numpy_and_small_helpers():
    source = Path(ising.__file__).read_text()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import", "from"))}
    assert imports <= {"__future__", "math", "numpy", "._validation"}, imports


# ---------------------------------------------------------------------------
# Reading T_C off a curve
# ---------------------------------------------------------------------------


def test_crossing_temperature_interpolates_the_first_crossing():
    T = [1.0, 2.0, 3.0, 4.0]
    assert crossing_temperature(T, [1.0, 0.75, 0.25, 0.0]) == pytest.approx(2.5)
    assert crossing_temperature(T, [0.9, 0.5, 0.1, 0.0]) == 2.0
    assert crossing_temperature(T, [0.9, 0.4, 0.6, 0.1]) == pytest.approx(1.8)  # the first one
    assert crossing_temperature(T, [0.0, 0.2, 0.4, 0.9], level=0.3) == pytest.approx(2.5)
    assert math.isnan(crossing_temperature(T, [0.9, 0.8, 0.7, 0.6]))
    with pytest.raises(ValueError, match="increasing"):
        crossing_temperature([2.0, 1.0], [0.9, 0.1])
    with pytest.raises(ValueError, match="one per temperature"):
        crossing_temperature(T, [0.9, 0.1])


def test_bootstrap_crossing_error_shrinks_with_more_chains():
    T = np.linspace(1.0, 3.0, 11)
    rng = np.random.default_rng(0)
    curve = 1 / (1 + np.exp((T - 2.0) * 5))
    few = curve[:, None, None] + rng.normal(0, 0.2, size=(11, 10, 5))
    many = curve[:, None, None] + rng.normal(0, 0.2, size=(11, 160, 5))
    estimate, error_few = bootstrap_crossing(T, few, n_resamples=300)
    _, error_many = bootstrap_crossing(T, many, n_resamples=300)
    assert abs(estimate - 2.0) < 4 * error_few
    assert 2 < error_few / error_many < 8  # 1 / sqrt(chains): 4
    with pytest.raises(ValueError, match="chains"):
        bootstrap_crossing(T, few[:, :, 0])


def test_bootstrap_crossing_error_matches_the_analytic_standard_error():
    # Two temperatures, chain means normal around 0.7 and 0.3 with sd s, n chains each. The
    # crossing T = T0 + (T1 - T0) d0 / (d0 - d1), d = mean - 1/2, has to first order the
    # standard error (T1 - T0) sqrt(d1^2 + d0^2) / (d0 - d1)^2 * s / sqrt(n) = 0.0099.
    T, s, n = np.array([2.0, 2.5]), 0.05, 20
    analytic = 0.5 * math.sqrt(0.2**2 + 0.2**2) / 0.4**2 * s / math.sqrt(n)
    rng = np.random.default_rng(3)
    estimates, errors = [], []
    for _ in range(200):
        outputs = np.array([0.7, 0.3])[:, None, None] + rng.normal(0, s, size=(2, n, 1))
        estimate, error = bootstrap_crossing(T, outputs, n_resamples=200, seed=int(rng.integers(1000)))
        estimates.append(estimate)
        errors.append(error)
    assert np.std(estimates) == pytest.approx(analytic, rel=0.15)  # 200 data sets: 5% scatter
    # the bootstrap's plug-in variance is (n - 1) / n of the unbiased one: 2.5% low at n = 20
    assert np.mean(errors) == pytest.approx(analytic, rel=0.08)


def test_flip_energy_by_hand():
    spins = np.ones((1, 4, 4), dtype=np.int8)
    spins[0, 0, 0] = -1
    dE = flip_energy(spins)
    assert dE[0, 0, 0] == -8  # flipping the odd one out back gains 8
    # its neighbours, wrapped round the torus too, pay 4 instead of 8
    assert dE[0, 0, 1] == dE[0, 1, 0] == dE[0, 3, 0] == dE[0, 0, 3] == 4
    assert dE[0, 2, 2] == 8


def test_sample_configurations_with_wolff_steps_is_deterministic_and_ordered_by_temperature():
    kwargs = {"chains_per_temperature": 4, "equilibration": 10, "sweeps_between": 2,
              "wolff_steps": 1, "seed": 3}
    X, _ = sample_configurations(8, [1.2, 2.3, 4.0], 8, **kwargs)
    again, _ = sample_configurations(8, [1.2, 2.3, 4.0], 8, **kwargs)
    np.testing.assert_array_equal(X, again)
    m = magnetisation(X).reshape(3, 8).mean(axis=1)
    assert m[0] > 0.95 and m[2] < 0.4
    without, _ = sample_configurations(8, [1.2, 2.3, 4.0], 8, **{**kwargs, "wolff_steps": 0})
    assert not np.array_equal(X, without)
