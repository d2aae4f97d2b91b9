"""Readers for a user's own samples: ``.npz``, ``.csv``, ``.tsv`` and sktime/UCR ``.ts``.

Every reader returns ``(X, labels)``: ``X`` float64 ``[n, length]`` (or ``[n, H, W]`` for an
``.npz`` of images, ``[n, channels, length]`` for a multivariate ``.ts`` file), ``labels``
a 1-D array of raw label values (or None) - nothing is checked beyond the file format here; :mod:`neutnngen.data.files` checks shapes, values and
labels. A file that cannot be read raises :class:`~neutnngen.errors.DataError` naming the
file and, where there is one, the line.

Formats:

* ``.npz``: array ``X`` (``[n, length]`` series or ``[n, H, W]`` images), optional ``y``
  (``[n]`` labels). Pickled (object) arrays are refused.
* ``.csv`` (comma) and ``.tsv`` (tab; the UCR 2018 archive layout): one sample per line;
  with ``labels="first"`` (``"last"``) the first (last) field is the label, with
  ``"none"`` every field is a value. Empty lines are skipped; a first line whose value
  fields are all non-numeric is a header. ``NaN`` / empty fields read as NaN (rejected
  later as missing values).
* ``.ts``: the sktime/UCR text format, read with aeon's ``load_from_ts_file``; equal-length
  series only (univariate, or multivariate: ``[n, channels, length]``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from neutnngen.errors import DataError

__all__ = ["FORMATS", "LABEL_MODES", "check_readable", "read_samples"]

FORMATS = (".npz", ".csv", ".tsv", ".ts")
LABEL_MODES = ("first", "last", "none")
_MISSING = {"", "nan", "na", "?"}


def _fail(path: Path, what: str, key: str) -> DataError:
    return DataError(f"{str(path)!r}: {what}", path=key)


def check_readable(path: str | os.PathLike[str], key: str) -> Path:
    """The path of an existing, readable, supported file; else a one-line error."""
    p = Path(path)
    if not str(path):
        raise DataError("no file given; expected a path to a .npz, .csv, .tsv or .ts file",
                        path=key)
    if not p.exists():
        raise _fail(p, "file does not exist", key)
    if p.is_dir():
        raise _fail(p, "is a directory; expected a file", key)
    if p.suffix.lower() not in FORMATS:
        raise _fail(p, f"unsupported file type {p.suffix or '(none)'!r}; accepted: "
                       f"{', '.join(FORMATS)}", key)
    if not os.access(p, os.R_OK):
        raise _fail(p, "cannot be read (permission denied)", key)
    return p


def read_samples(path: str | os.PathLike[str], labels: str = "first",
                 key: str = "data.train") -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, raw labels or None)`` of one file (see the module docstring)."""
    if labels not in LABEL_MODES:
        raise DataError(f"labels={labels!r}; accepted: {', '.join(LABEL_MODES)}",
                        path="data.labels")
    p = check_readable(path, key)
    ext = p.suffix.lower()
    if ext == ".npz":
        return _read_npz(p, labels, key)
    if ext == ".ts":
        return _read_ts(p, labels, key)
    return _read_delimited(p, "," if ext == ".csv" else "\t", labels, key)


def _read_npz(p: Path, labels: str, key: str) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(p, allow_pickle=False) as z:
            names = list(z.files)
            if "X" not in names:
                raise _fail(p, f"has arrays {names or 'none'}; expected an array 'X' of "
                               "samples (and 'y' of labels)", key)
            X = z["X"]
            y = z["y"] if labels != "none" and "y" in names else None
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise _fail(p, "holds pickled (object) arrays, which are not loaded; save "
                           "numeric arrays (np.savez with numbers)", key) from None
        raise _fail(p, f"is not a readable .npz archive: {e}", key) from None
    except (OSError, EOFError) as e:
        raise _fail(p, f"is not a readable .npz archive: {e}", key) from None
    if labels != "none" and y is None:
        raise _fail(p, f"has no array 'y' of labels (arrays: {names}); add one, or set "
                       "data.labels = 'none' for unlabelled samples", key)
    if X.dtype.kind not in "biuf":
        raise _fail(p, f"array 'X' has dtype {X.dtype}; expected numbers", key)
    return np.asarray(X, dtype=np.float64), None if y is None else np.asarray(y)


def _number(s: str) -> float | None:
    t = s.strip()
    if t.lower() in _MISSING:
        return math.nan
    try:
        return float(t)
    except ValueError:
        return None


def _read_delimited(p: Path, sep: str, labels: str, key: str
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(p, "is not UTF-8 text; expected one sample per line, values separated "
                       f"by {'commas' if sep == ',' else 'tabs'}", key) from None
    except OSError as e:
        raise _fail(p, f"cannot be read: {e.strerror or e}", key) from None
    rows: list[list[float]] = []
    raw_labels: list[str] = []
    width = None
    sep_name = "comma" if sep == "," else "tab"
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split(sep)
        if sep == "\t" and len(fields) == 1 and len(line.split()) > 1:
            raise _fail(p, f"line {lineno} has no tab; a .tsv separates values by tabs "
                           "(use .csv for commas)", key)
        if labels == "first":
            lab, vals = fields[0], fields[1:]
        elif labels == "last":
            lab, vals = fields[-1], fields[:-1]
        else:
            lab, vals = None, fields
        nums = [_number(v) for v in vals]
        if not rows and vals and all(v is None for v in nums):
            continue  # a header line
        bad = next((i for i, v in enumerate(nums) if v is None), None)
        if bad is not None:
            col = bad + (2 if labels == "first" else 1)
            raise _fail(p, f"line {lineno}, field {col}: {vals[bad].strip()!r} is not a number",
                        key)
        if width is None:
            width = len(nums)
        elif len(nums) != width:
            raise _fail(p, f"line {lineno} has {len(nums)} values, the lines before {width} "
                           f"({sep_name}-separated); series of unequal length (ragged) are "
                           "not supported", key)
        rows.append(nums)  # type: ignore[arg-type]
        if lab is not None:
            raw_labels.append(lab.strip())
    if not rows:
        raise _fail(p, "holds no samples", key)
    if width == 0:
        raise _fail(p, f"lines hold a label but no values (labels = {labels!r})", key)
    X = np.asarray(rows, dtype=np.float64)
    return X, (np.asarray(raw_labels) if labels != "none" else None)


def _read_ts(p: Path, labels: str, key: str) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        from aeon.datasets import load_from_ts_file
    except ImportError:
        raise _fail(p, ".ts files are read with aeon, which is not installed; install the "
                       "data extra: pip install 'neutnngen[data]'", key) from None
    try:
        X, y = load_from_ts_file(str(p))
    except UnicodeDecodeError:
        raise _fail(p, "is not UTF-8 text; expected the .ts format", key) from None
    except Exception as e:  # noqa: BLE001 - aeon raises IOError/ValueError/... on bad files
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _fail(p, f"is not a readable .ts file: {msg}", key) from None
    if isinstance(X, list):
        lengths = sorted({int(np.asarray(x).shape[-1]) for x in X})
        raise _fail(p, f"has series of unequal length ({lengths[0]}..{lengths[-1]}); "
                       "expected equal-length series", key)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise _fail(p, f"gave an array of shape {X.shape}; expected [n, channels, length]", key)
    y_arr = np.asarray(y) if y is not None else np.zeros(0)
    if labels != "none" and y_arr.size == 0:
        raise _fail(p, "has no class labels; add them (@classLabel true) or set "
                       "data.labels = 'none'", key)
    # a multivariate file stays [n, channels, length] (load_files keeps it as series)
    return (X[:, 0, :] if X.shape[1] == 1 else X), (y_arr if labels != "none" else None)
