"""Fixtures shared by the CNN test modules: toy data and a model fitted on it."""

from __future__ import annotations

import pytest
from cnn_helpers import bars, small_model


@pytest.fixture(scope="module")
def data():
    return bars(64, seed=1), bars(32, seed=2)


@pytest.fixture
def fitted(data):
    (X, t, _), _ = data
    model = small_model()
    model.fit(X, t, epochs=1, batches=2, progress=False)
    return model
