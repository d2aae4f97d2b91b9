"""A user's own data set from files (``data.kind = "files"``): time series or images.

:func:`load_files` reads a training file and a test file, or one file that it splits with a
seeded (stratified, when labelled) split; see :mod:`neutnngen.data.readers` for the formats.
Every problem is a one-line :class:`~neutnngen.errors.DataError` that names the file (and
the config key that points to it) and what was expected: a missing or unreadable file, an
unsupported type, wrong array shapes, ragged series, non-numeric values, NaN or infinite
values, negative pixels, a label count that does not match the samples, train and test of
different lengths, too few samples for the split.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neutnngen.data.readers import read_samples
from neutnngen.errors import DataError

__all__ = ["FileDataset", "class_order", "load_files"]


@dataclass(frozen=True, eq=False)
class FileDataset:
    """Samples read from a user's files, split into train and test. Arrays are read-only."""

    name: str
    #: float64 [n_train, length] series, [n_train, channels, length] multivariate series
    #: (a multivariate .ts file) or [n_train, H, W] images
    X_train: np.ndarray
    y_train: np.ndarray  #: int64 [n_train] class indices (all 0 when unlabelled)
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]  #: class names (label values); () when unlabelled
    image_shape: tuple[int, int] | None  #: (H, W) of image samples, None for series
    source: str  #: the files read
    split: str  #: how train and test were formed

    @property
    def labelled(self) -> bool:
        return bool(self.classes)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def info(self) -> dict:
        out = {"name": self.name, "source": self.source, "split": self.split,
               "n_train": int(self.X_train.shape[0]), "n_test": int(self.X_test.shape[0]),
               "classes": list(self.classes), "labelled": self.labelled}
        if self.image_shape is None:
            out["length"] = int(self.X_train.shape[-1])
            out["channels"] = 1 if self.X_train.ndim == 2 else int(self.X_train.shape[1])
        else:
            out["image"] = list(self.image_shape)
        return out


def class_order(labels: np.ndarray) -> tuple[str, ...]:
    """Class names of raw label values: numeric labels in numeric order, else sorted text
    (the UCR loader's order)."""
    uniq = sorted({_label_text(v) for v in labels})
    try:
        return tuple(sorted(uniq, key=lambda s: (float(s), s)))
    except ValueError:
        return tuple(uniq)


def _label_text(v) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bytes | np.bytes_):
        return v.decode(errors="replace")
    return str(v)


def _check_values(X: np.ndarray, where: str, key: str, images: bool) -> None:
    """Finite values; non-negative pixels for images."""
    bad = ~np.isfinite(X)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise DataError(f"{where}: {int(bad.sum())} missing, NaN or infinite value(s), the "
                        f"first in sample {i}; expected finite numbers (impute or drop them)",
                        path=key)
    if images and (X < 0).any():
        hint = ("; if the samples are multivariate series [n, channels, length], set "
                "data.layout = 'series'" if X.ndim == 3 else "")
        raise DataError(f"{where}: image pixels must be >= 0; found {float(X.min()):g}{hint}",
                        path=key)


def _shape(X: np.ndarray, image_shape: tuple[int, ...], where: str, key: str,
           channels: bool = False) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Samples as ``[n, length]`` series or ``[n, H, W]`` images; ``channels``: a 3-D
    array is ``[n, channels, length]`` multivariate series (a .ts file), not images."""
    if X.ndim not in (2, 3) or X.shape[0] == 0 or 0 in X.shape[1:]:
        raise DataError(f"{where}: samples have shape {list(X.shape)}; expected [n, length] "
                        "series or [n, H, W] images with n, length, H, W >= 1", path=key)
    if image_shape and len(image_shape) != 2:
        raise DataError(f"data.image_shape={list(image_shape)}; expected [H, W] (grayscale "
                        "images) or [] (time series)", path="data.image_shape")
    if X.ndim == 3 and channels:
        if image_shape:
            raise DataError(f"{where}: holds multivariate series ({X.shape[1]} channels of "
                            f"{X.shape[2]} values), not images; expected data.image_shape = "
                            f"[] (it is {list(image_shape)})", path="data.image_shape")
        return X, None
    if X.ndim == 3:
        hw = (int(X.shape[1]), int(X.shape[2]))
        if image_shape and tuple(image_shape) != hw:
            raise DataError(f"{where}: images are {hw[0]}x{hw[1]}, but data.image_shape = "
                            f"{list(image_shape)}", path="data.image_shape")
        return X, hw
    if not image_shape:
        return X, None
    h, w = int(image_shape[0]), int(image_shape[1])
    if h * w != X.shape[1]:
        raise DataError(f"{where}: samples have {X.shape[1]} values each, but data.image_shape "
                        f"= [{h}, {w}] needs {h * w}", path="data.image_shape")
    return X.reshape(X.shape[0], h, w), (h, w)


def _read(path: str, labels: str, image_shape: tuple[int, ...], key: str,
          layout: str = "auto"):
    X, y = read_samples(path, labels, key)
    where = repr(str(path))
    series = layout == "series" or str(path).lower().endswith(".ts")
    X, hw = _shape(X, image_shape, where, key, channels=series)
    _check_values(X, where, key, hw is not None)
    if y is not None:
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise DataError(f"{where}: {X.shape[0]} samples but labels of shape "
                            f"{list(y.shape)}; expected one label per sample", path=key)
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise DataError(f"{where}: labels contain NaN; expected a label for every sample",
                            path=key)
        if y.dtype.kind in "US" and any(_label_text(v).strip().lower() in ("", "nan")
                                        for v in y):
            raise DataError(f"{where}: some labels are empty or NaN; expected a label for "
                            "every sample", path=key)
    return X, y, hw


def _seeded_split(n: int, y: np.ndarray | None, test_fraction: float, seed: int,
                  where: str) -> tuple[np.ndarray, np.ndarray]:
    n_test = int(round(test_fraction * n))
    n_train = n - n_test
    if n_test < 1 or n_train < 1:
        raise DataError(f"{where}: {n} samples and data.test_fraction = {test_fraction:g} leave "
                        f"{n_train} for training and {n_test} for testing; expected at least "
                        "one of each (more samples, or give data.test)", path="data.test_fraction")
    if y is None:
        perm = np.random.default_rng(seed).permutation(n)
        return perm[:n_train], perm[n_train:]
    from neutnngen.data.mnist import stratified_split

    return stratified_split(y, n_train, n_test, seed)


def load_files(train: str | os.PathLike[str], test: str | os.PathLike[str] = "", *,
               labels: str = "first", image_shape: tuple[int, ...] = (),
               test_fraction: float = 0.3, seed: int = 0, name: str = "",
               layout: str = "auto") -> FileDataset:
    """Read ``train`` (and ``test``; without one, split ``train`` ``test_fraction`` /
    seeded, stratified by class when labelled) into a :class:`FileDataset`.

    ``labels``: ``"first"`` / ``"last"`` (the label column of a .csv/.tsv; an .npz needs its
    array ``y``, a .ts its class values) or ``"none"`` (unlabelled). ``image_shape``:
    ``(H, W)`` when each sample is a grayscale image stored as a row (an .npz of
    ``[n, H, W]`` is an image set by itself). ``layout``: ``"auto"`` (a 3-D .npz holds
    images, a .ts file series) or ``"series"`` (a 3-D .npz holds ``[n, channels, length]``
    multivariate series)."""
    if layout not in ("auto", "series"):
        raise DataError(f"data.layout={layout!r}; expected 'auto' or 'series'",
                        path="data.layout")
    if not (isinstance(test_fraction, float | int) and 0 < test_fraction < 1
            and math.isfinite(test_fraction)):
        raise DataError(f"data.test_fraction={test_fraction!r}; expected a number in (0, 1)",
                        path="data.test_fraction")
    image_shape = tuple(int(v) for v in image_shape)
    X, y, hw = _read(str(train), labels, image_shape, "data.train", layout)
    if str(test):
        Xt, yt, hwt = _read(str(test), labels, image_shape, "data.test", layout)
        if (hw is None) != (hwt is None):
            kind = {True: "series", False: "images"}
            raise DataError(f"{str(test)!r} holds {kind[hwt is None]} but {str(train)!r} "
                            f"holds {kind[hw is None]}; expected the same kind of samples",
                            path="data.test")
        if Xt.shape[1:] != X.shape[1:]:
            what = "images" if hw else "series"
            raise DataError(f"{str(test)!r}: test {what} have shape {list(Xt.shape[1:])}, the "
                            f"training ones {list(X.shape[1:])}; expected the same", path="data.test")
        split = f"given: train {train}, test {test}"
        source = f"{train} + {test}"
    else:
        idx_tr, idx_te = _seeded_split(X.shape[0], y, float(test_fraction), seed, repr(str(train)))
        Xt, yt = X[idx_te], (None if y is None else y[idx_te])
        X, y = X[idx_tr], (None if y is None else y[idx_tr])
        split = (f"seeded {'stratified ' if y is not None else ''}split of {train}: "
                 f"{len(idx_tr)} train / {len(idx_te)} test (seed {seed}, test_fraction "
                 f"{float(test_fraction):g})")
        source = str(train)
    if y is None:
        classes: tuple[str, ...] = ()
        ytr, yte = np.zeros(X.shape[0], np.int64), np.zeros(Xt.shape[0], np.int64)
    else:
        classes = class_order(np.concatenate([y, yt]))
        index = {c: i for i, c in enumerate(classes)}
        ytr = np.array([index[_label_text(v)] for v in y], dtype=np.int64)
        yte = np.array([index[_label_text(v)] for v in yt], dtype=np.int64)
    arrays = [np.ascontiguousarray(a) for a in (X, ytr, Xt, yte)]
    for a in arrays:
        a.setflags(write=False)
    return FileDataset(name or Path(train).stem, *arrays, classes=classes, image_shape=hw,
                       source=source, split=split)
