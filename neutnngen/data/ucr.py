"""UCR (univariate) and UEA (multivariate) time-series classification archives, loaded
through aeon.

``load_ucr(name)`` returns the archive's own train/test split as float64 arrays with integer
labels. Where the data come from, in order:

1. ``extract_path/<name>/<name>_TRAIN.ts`` and ``_TEST.ts`` if ``extract_path`` is given and
   holds the set;
2. the copy shipped inside the aeon package (see :func:`shipped_ucr_datasets`);
3. aeon's data cache (``$AEON_DATA`` or ``~/aeon_data``) when no ``extract_path`` is given;
4. a download from Zenodo by aeon, into ``extract_path`` or the cache. Offline this fails
   and :class:`~neutnngen.errors.DataError` says so and lists the shipped sets.

Equal-length sets without missing values are accepted: univariate UCR sets as ``[n, length]``
arrays and multivariate UEA sets (aeon ships BasicMotions) as ``[n, channels, length]``;
:func:`~neutnngen.data.encoders.encode_timeseries` z-normalises each channel on its own and
gives every channel its own lines. For the archive's
variable-length or missing-value problems aeon understands the suffixes ``_eq`` (the
archive's equal-length version) and ``_nmv`` (no missing values), e.g.
``load_ucr("PickupGestureWiimoteZ_eq")``.

aeon and its dependencies are imported lazily, inside the functions.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neutnngen.errors import ConfigError, DataError

__all__ = ["Dataset", "load_ucr", "shipped_ucr_datasets"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """One UCR problem with the archive's train/test split.

    Arrays are read-only (loads are cached and shared); copy them before changing them.
    """

    name: str  #: the name as requested, e.g. "GunPoint" or "PickupGestureWiimoteZ_eq"
    #: float64 [n_train, length]; a multivariate (UEA) set: [n_train, channels, length]
    X_train: np.ndarray
    y_train: np.ndarray  #: int64 [n_train], class indices 0..k-1 into ``classes``
    X_test: np.ndarray  #: float64 [n_test, length] or [n_test, channels, length]
    y_test: np.ndarray  #: int64 [n_test]
    classes: tuple[str, ...]  #: original label strings; ``classes[i]`` is class index i
    source: str  #: where the files were read from, in words with the path

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def length(self) -> int:
        """Samples per series (per channel of a multivariate set)."""
        return int(self.X_train.shape[-1])

    @property
    def channels(self) -> int:
        """1 for a univariate set, else the number of channels (dimensions)."""
        return 1 if self.X_train.ndim == 2 else int(self.X_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.X_train.shape}, test={self.X_test.shape}, "
            f"classes={self.classes!r}, source={self.source!r})"
        )


# ---------------------------------------------------------------------------------------
# aeon's bundled data
# ---------------------------------------------------------------------------------------


def _aeon_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the UCR loader needs the 'aeon' package, which is not installed; install the "
            "data extra: pip install 'neutnngen[data]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _has_split_files(root: Path, base: str, variant: str = "") -> bool:
    return all((root / base / f"{base}{variant}_{s}.ts").is_file() for s in ("TRAIN", "TEST"))


def _split_suffix(name: str) -> tuple[str, str]:
    """'X_eq_nmv' -> ('X', '_eq_nmv'); the stem is aeon's directory name."""
    base, suffix = name, ""
    for s in ("_nmv", "_eq"):
        if base.endswith(s):
            base, suffix = base[: -len(s)], s + suffix
    return base, suffix


@functools.lru_cache(maxsize=2)
def shipped_ucr_datasets(multivariate: bool = False) -> tuple[str, ...]:
    """UCR univariate sets that ship inside the installed aeon package (work offline).

    Found by scanning aeon's ``datasets/data`` directory for ``<name>/<name>_TRAIN.ts`` and
    ``_TEST.ts`` and keeping the names in aeon's list of the 128 UCR univariate problems
    (``aeon.datasets.tsc_datasets.univariate``). Every name returned is accepted by
    :func:`load_ucr` as is: a variable-length problem is listed by its bundled equal-length
    variant (``<name>_eq``) and left out if it has none. Sorted.

    With aeon 1.6: ACSF1, ArrowHead, GunPoint, ItalyPowerDemand, OSULeaf,
    PickupGestureWiimoteZ_eq.

    ``multivariate=True`` lists the shipped equal-length multivariate problems of the UEA
    archive instead (``tsc_datasets.multivariate_equal_length``; with aeon 1.6:
    BasicMotions), which :func:`load_ucr` loads as ``[n, channels, length]`` arrays.
    """
    from aeon.datasets import tsc_datasets

    data = _aeon_data_dir()
    found = sorted(p.name for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    if multivariate:
        uea = set(tsc_datasets.multivariate_equal_length)
        return tuple(sorted((d for d in found if d in uea and _has_split_files(data, d)),
                            key=str.lower))
    ucr = set(tsc_datasets.univariate)
    variable = set(tsc_datasets.univariate_variable_length)
    missing = set(tsc_datasets.univariate_missing_values)
    names = []
    for d in found:
        if d not in ucr or not _has_split_files(data, d):
            continue
        if d in variable or d in missing:
            variant = "_eq" if d in variable else "_nmv"
            if _has_split_files(data, d, variant):
                names.append(d + variant)
        else:
            names.append(d)
    return tuple(sorted(names, key=str.lower))


# ---------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------


def _cache_root() -> Path:
    # aeon's rule (aeon.datasets.dataset_collections._get_data_home), without creating it.
    return Path(os.environ.get("AEON_DATA", os.path.join("~", "aeon_data"))).expanduser().resolve()


def _shipped_hint() -> str:
    try:
        shipped = ", ".join(shipped_ucr_datasets()) or "none"
        uea = ", ".join(shipped_ucr_datasets(multivariate=True)) or "none"
    except DataError:
        shipped = uea = "none (aeon is not installed)"
    return (f"UCR sets shipped with aeon (work offline): {shipped}; multivariate (UEA): "
            f"{uea}")


def _class_order(labels: np.ndarray) -> tuple[str, ...]:
    uniq = sorted({str(v) for v in labels})
    try:
        return tuple(sorted(uniq, key=lambda s: (float(s), s)))
    except ValueError:
        return tuple(uniq)


def _to_matrix(name: str, split: str, X, y) -> np.ndarray:
    if isinstance(X, list):
        channels = sorted({int(np.asarray(x).shape[0]) if np.ndim(x) == 2 else 1 for x in X})
        if channels != [1]:
            raise DataError(
                f"UCR set {name!r} is multivariate ({channels[-1]} channels) and has "
                f"unequal-length series; only equal-length sets are supported"
            )
        lengths = sorted({int(np.asarray(x).shape[-1]) for x in X})
        base, _ = _split_suffix(name)
        raise DataError(
            f"UCR set {name!r} ({split} split) has unequal-length series (lengths "
            f"{lengths[0]}..{lengths[-1]}); only equal-length sets are supported. aeon loads "
            f"the archive's equal-length version, where there is one, as "
            f"load_ucr({base + '_eq'!r})"
        )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise DataError(
            f"UCR set {name!r} ({split} split): aeon returned an array of shape {X.shape}; "
            f"expected [n_cases, n_channels, length]"
        )
    if X.shape[1] == 1:
        X = X[:, 0, :]
    if X.size == 0:
        raise DataError(f"UCR set {name!r} ({split} split) is empty: shape {X.shape}")
    if len(y) != X.shape[0]:
        raise DataError(
            f"UCR set {name!r} ({split} split) has {X.shape[0]} series but {len(y)} labels"
        )
    if not np.isfinite(X).all():
        base, _ = _split_suffix(name)
        hint = (f"the archive's imputed version is loaded with load_ucr({base + '_nmv'!r})"
                if X.ndim == 2 else "impute them in a copy of the .ts files (extract_path)")
        raise DataError(
            f"UCR set {name!r} ({split} split) has {int((~np.isfinite(X)).sum())} missing "
            f"or non-finite values; {hint}"
        )
    return X


def _unknown_name_error(name: str, base: str, known: list[str]) -> DataError:
    lower = {k.lower(): k for k in known}
    guesses = [lower[base.lower()]] if base.lower() in lower else []
    guesses += [g for g in difflib.get_close_matches(base, known, n=3) if g not in guesses]
    hint = f" Did you mean {', '.join(repr(g) for g in guesses)}?" if guesses else ""
    return DataError(
        f"unknown UCR set {name!r}: it is not shipped with aeon and not in aeon's list of "
        f"downloadable classification problems (aeon.datasets.tsc_datasets.tsc_zenodo), so no "
        f"download was attempted.{hint} {_shipped_hint()}"
    )


def load_ucr(name: str, *, extract_path: str | os.PathLike | None = None) -> Dataset:
    """Load a UCR (univariate) or equal-length UEA (multivariate) classification problem with
    the archive's train/test split.

    Parameters
    ----------
    name:
        The archive's name, case-sensitive (``"GunPoint"``); ``_eq`` / ``_nmv`` suffixes
        select the equal-length / no-missing-value variants.
    extract_path:
        A folder holding ``<name>/<name>_TRAIN.ts`` and ``_TEST.ts``, and where a download
        is written. ``None``: aeon's bundled copy, then aeon's cache, then a download.

    Returns a :class:`Dataset` (float64 ``[n, length]`` series, ``[n, channels, length]``
    for a multivariate set, int64 labels ``0..k-1`` indexing ``classes``; classes are
    sorted numerically when every label is a number, else as strings). Loads are cached
    in-process per ``(name, extract_path)``.

    Raises :class:`~neutnngen.errors.DataError` for an unknown name, a set that is neither
    shipped nor downloadable (offline), a regression, unequal-length or missing-value
    problem; :class:`~neutnngen.errors.ConfigError` for a non-string name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"load_ucr: name={name!r} is not accepted; expected a UCR problem name such as "
            f"'GunPoint'"
        )
    key = None if extract_path is None else str(Path(extract_path).expanduser().resolve())
    return _load_cached(name, key)


@functools.cache  # = lru_cache(maxsize=None)
def _load_cached(name: str, extract_path: str | None) -> Dataset:
    base, _ = _split_suffix(name)
    bundled = _aeon_data_dir()

    def variant_ok(root: Path) -> bool:
        # aeon reads <base>/<base>{_eq,_nmv}_*.ts when present, else the plain files.
        return _has_split_files(root, base)

    aeon_path: str | None
    if extract_path is not None and variant_ok(Path(extract_path)):
        aeon_path, download = extract_path, False
        source = f"local copy in {Path(extract_path) / base}"
    elif variant_ok(bundled):
        aeon_path, download = None, False
        source = f"shipped with aeon: {bundled / base}"
    else:
        root = Path(extract_path) if extract_path is not None else _cache_root()
        aeon_path = extract_path
        download = not variant_ok(root)
        source = (
            f"downloaded by aeon from Zenodo into {root / base}"
            if download
            else f"aeon data cache: {root / base}"
        )

    try:
        from aeon.datasets import load_classification
        from aeon.datasets.tsc_datasets import tsc_zenodo
    except ImportError as e:
        raise DataError(
            f"load_ucr({name!r}) needs the 'aeon' package ({e}); install the data extra: "
            f"pip install 'neutnngen[data]'"
        ) from e

    if download and base not in tsc_zenodo:
        raise _unknown_name_error(name, base, sorted(set(tsc_zenodo) | set(shipped_ucr_datasets())))

    target = (Path(aeon_path) if aeon_path is not None else _cache_root()) / base
    existed = target.exists()
    parts = {}
    try:
        for split in ("train", "test"):
            X, y, meta = load_classification(
                name, split=split, extract_path=aeon_path, return_metadata=True
            )
            parts[split] = (X, np.asarray(y).astype(str))
    except Exception as e:
        if download and not existed and target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # aeon leaves an empty folder behind after a failed download
        text = f"{type(e).__name__}: {e}"
        if "regression problem" in str(e):
            raise DataError(
                f"{name!r} is a regression problem, not a classification one; load_ucr "
                f"only loads classification sets. {_shipped_hint()}"
            ) from e
        if download:
            raise DataError(
                f"UCR set {name!r} is not shipped with aeon and no local copy was found in "
                f"{target}; a download from Zenodo was attempted and failed ({text}). Without "
                f"internet access, use a shipped set or put {base}_TRAIN.ts and {base}_TEST.ts "
                f"in <extract_path>/{base}/. {_shipped_hint()}"
            ) from e
        raise DataError(f"could not load UCR set {name!r} from {source} ({text})") from e

    (Xtr, ytr), (Xte, yte) = parts["train"], parts["test"]
    X_train = _to_matrix(name, "train", Xtr, ytr)
    X_test = _to_matrix(name, "test", Xte, yte)
    if X_train.shape[1:] != X_test.shape[1:]:
        what = "(channels, length)" if X_train.ndim == 3 else "(length,)"
        raise DataError(
            f"UCR set {name!r}: train series have shape {X_train.shape[1:]} {what} but test "
            f"series {X_test.shape[1:]}; expected the same"
        )
    classes = _class_order(np.concatenate([ytr, yte]))
    index = {c: i for i, c in enumerate(classes)}
    y_train = np.array([index[v] for v in ytr], dtype=np.int64)
    y_test = np.array([index[v] for v in yte], dtype=np.int64)
    for arr in (X_train, X_test, y_train, y_test):
        arr.setflags(write=False)
    return Dataset(name, X_train, y_train, X_test, y_test, classes, source)
