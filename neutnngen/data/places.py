"""Place cells: real rat trajectories, resampled and split in time.

Data: the two trajectories shipped inside the ratinabox package (``ratinabox/data``;
``t`` in seconds, ``pos`` in metres), converted to centimetres.

* ``"sargolini"``: Sargolini et al. (2006), Science 312:758, DOI 10.1126/science.1125572;
  a 100 cm x 100 cm box, 600 s at 50 Hz.
* ``"tanni"``: Tanni et al. (2022), Current Biology 32:3591, DOI 10.1016/j.cub.2022.06.046;
  a 350 cm x 250 cm environment, about 7,300 s at 30 Hz.

Your own recording: :func:`read_trajectory` reads a ``.csv`` / ``.tsv`` (one sample per line:
``t`` in seconds, ``x`` and ``y`` in cm) or an ``.npz`` with ``X = [n, 3]`` of the same
columns (docs/data-files.md).

The metrics of a column that maps positions (field centres, decoding error, field maps) are
in :mod:`neutnngen.data.place_metrics`; they are re-exported here.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neutnngen.data.place_metrics import (
    chance_decoding_error_cm,
    decode_positions,
    decoding_error_cm,
    field_centres,
    field_maps,
    place_cell_metrics,
    place_field_stats,
)
from neutnngen.errors import ConfigError, DataError

__all__ = [
    "TRAJECTORIES",
    "PlaceSplit",
    "Trajectory",
    "chance_decoding_error_cm",
    "decode_positions",
    "decoding_error_cm",
    "field_centres",
    "field_maps",
    "load_trajectory",
    "place_cell_metrics",
    "place_cell_split",
    "place_field_stats",
    "read_trajectory",
]

#: Shipped trajectories: name -> (nominal arena (w, h) in cm, citation).
TRAJECTORIES: dict[str, tuple[tuple[float, float], str]] = {
    "sargolini": (
        (100.0, 100.0),
        "Sargolini F. et al. (2006) Conjunctive representation of position, direction, and "
        "velocity in entorhinal cortex. Science 312:758-762. DOI 10.1126/science.1125572",
    ),
    "tanni": (
        (350.0, 250.0),
        "Tanni S., de Cothi W., Barry C. (2022) State transitions in the statistically stable "
        "place cell population correspond to rate of perceptual change. Current Biology "
        "32:3505-3514. DOI 10.1016/j.cub.2022.06.046",
    ),
}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A recorded path of a rat. Arrays are read-only."""

    name: str  #: "sargolini", "tanni" or the name of a user's file
    t: np.ndarray  #: float64 [n], seconds, strictly increasing
    pos_cm: np.ndarray  #: float64 [n, 2], (x, y) in cm inside [0, w] x [0, h]
    arena_cm: tuple[float, float]  #: (w, h) in cm
    source: str  #: the file read, in words with the path
    citation: str  #: the paper the data come from, with its DOI

    @property
    def duration_s(self) -> float:
        return float(self.t[-1] - self.t[0])

    def info(self) -> dict:
        return {
            "name": self.name,
            "samples": int(self.t.shape[0]),
            "duration_s": self.duration_s,
            "arena_cm": list(self.arena_cm),
            "source": self.source,
            "citation": self.citation,
        }

    def __repr__(self) -> str:
        return (
            f"Trajectory(name={self.name!r}, samples={self.t.shape[0]}, "
            f"duration_s={self.duration_s:.1f}, arena_cm={self.arena_cm})"
        )


@dataclass(frozen=True, eq=False)
class PlaceSplit:
    """A trajectory resampled every ``dt`` seconds and split in time (train first)."""

    name: str
    pos_train: np.ndarray  #: float64 [n_train, 2], cm
    pos_test: np.ndarray  #: float64 [n_test, 2], cm
    t_train: np.ndarray  #: float64 [n_train], s
    t_test: np.ndarray  #: float64 [n_test], s
    dt: float  #: resampling step, s
    arena_cm: tuple[float, float]

    def info(self) -> dict:
        return {
            "name": self.name,
            "n_train": int(self.t_train.shape[0]),
            "n_test": int(self.t_test.shape[0]),
            "dt_s": self.dt,
            "train_s": [float(self.t_train[0]), float(self.t_train[-1])],
            "test_s": [float(self.t_test[0]), float(self.t_test[-1])],
            "arena_cm": list(self.arena_cm),
        }


# ---------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------


def _ratinabox_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("ratinabox")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "load_trajectory needs the 'ratinabox' package (it ships the rat trajectories), "
            "which is not installed; install the data extra: pip install 'neutnngen[data]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_trajectory(name: str = "sargolini") -> Trajectory:
    """Load a real rat trajectory shipped with ratinabox, positions in cm.

    Negative coordinates (tracking jitter of a few mm at the walls) are clipped to 0. The
    arena is ``max(nominal size, ceil(largest coordinate))`` per axis, so every position
    lies inside ``[0, w] x [0, h]``: 100 x 100 cm for ``"sargolini"``, 354 x 253 cm for
    ``"tanni"`` (nominally 350 x 250 cm). Samples with a non-finite position are dropped.
    Loads are cached in-process.

    Raises :class:`~neutnngen.errors.DataError` for an unknown name (listing the shipped
    ones) or when ratinabox or its file is missing.
    """
    if not isinstance(name, str) or name.lower() not in TRAJECTORIES:
        raise DataError(
            f"load_trajectory: unknown trajectory {name!r}; the shipped ones (ratinabox) are "
            f"{', '.join(repr(k) for k in TRAJECTORIES)}"
        )
    return _load_cached(name.lower())


@functools.cache
def _load_cached(name: str) -> Trajectory:
    path = _ratinabox_data_dir() / f"{name}.npz"
    if not path.is_file():
        raise DataError(f"load_trajectory({name!r}): the file {path} shipped with ratinabox is missing")
    with np.load(path) as z:
        if "t" not in z.files or "pos" not in z.files:
            raise DataError(f"{path} has keys {z.files}; expected 't' (s) and 'pos' (m)")
        t = np.asarray(z["t"], dtype=np.float64)
        pos = np.asarray(z["pos"], dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2 or t.shape != (pos.shape[0],):
        raise DataError(f"{path}: t has shape {t.shape}, pos {pos.shape}; expected [n] and [n, 2]")
    ok = np.isfinite(t) & np.isfinite(pos).all(axis=1)
    t, pos = t[ok], pos[ok]
    if t.shape[0] < 2 or (np.diff(t) <= 0).any():
        raise DataError(f"{path}: the time stamps are not strictly increasing")
    pos_cm = np.maximum(pos * 100.0, 0.0)
    (w0, h0), citation = TRAJECTORIES[name]
    arena = (
        float(max(w0, math.ceil(pos_cm[:, 0].max()))),
        float(max(h0, math.ceil(pos_cm[:, 1].max()))),
    )
    for a in (t, pos_cm):
        a.setflags(write=False)
    return Trajectory(name, t, pos_cm, arena, f"shipped with ratinabox: {path}", citation)


TRAJECTORY_FORMATS = (".csv", ".tsv", ".npz")
"""File types :func:`read_trajectory` accepts."""


def read_trajectory(path, arena_cm=(), name: str = "", key: str = "data.trajectory"
                    ) -> Trajectory:
    """A user's recorded path: one sample per row, ``t`` (seconds), ``x``, ``y`` (cm).

    ``.csv`` / ``.tsv``: three numbers per line (a first line of names is a header; empty
    lines are skipped). ``.npz``: an array ``X`` of shape ``[n, 3]``. Rows whose ``x`` or
    ``y`` is missing (NaN: tracking lost) are dropped; the time stamps must be finite and
    strictly increasing, the positions ``>= 0``. ``arena_cm = (w, h)`` gives the arena;
    every position must lie inside ``[0, w] x [0, h]``. Without it the arena is the path's
    extent from 0, ``(ceil(max x), ceil(max y))`` (at least 1 cm each).

    Raises :class:`~neutnngen.errors.DataError` naming the file, the row (1-based, as read)
    and the value for anything else.
    """
    from neutnngen.data.readers import check_readable, read_samples

    p = check_readable(path, key)
    if p.suffix.lower() not in TRAJECTORY_FORMATS:
        raise DataError(f"{str(p)!r}: a trajectory is read from a {', '.join(TRAJECTORY_FORMATS)} "
                        f"file (rows of t [s], x [cm], y [cm]), not {p.suffix!r}", path=key)
    X, _ = read_samples(p, labels="none", key=key)
    if X.ndim != 2 or X.shape[1] != 3:
        raise DataError(f"{str(p)!r}: samples of shape {list(X.shape[1:])}; expected 3 columns "
                        "per row: t [s], x [cm], y [cm]", path=key)
    t, pos = X[:, 0], X[:, 1:]
    bad_t = np.flatnonzero(~np.isfinite(t))
    if len(bad_t):
        raise DataError(f"{str(p)!r}: row {bad_t[0] + 1} has the time {t[bad_t[0]]!r}; every "
                        "row needs a finite time in seconds", path=key)
    ok = np.isfinite(pos).all(axis=1)
    t, pos = t[ok], pos[ok]
    rows = np.flatnonzero(ok) + 1
    if len(t) < 2:
        raise DataError(f"{str(p)!r}: {len(t)} row(s) with a position; expected at least 2",
                        path=key)
    back = np.flatnonzero(np.diff(t) <= 0)
    if len(back):
        i = back[0]
        raise DataError(f"{str(p)!r}: row {rows[i + 1]} has t = {t[i + 1]:g} s after "
                        f"t = {t[i]:g} s; expected strictly increasing times", path=key)
    if pos.min() < 0:
        i, k = np.unravel_index(np.argmin(pos), pos.shape)
        raise DataError(f"{str(p)!r}: row {rows[i]} has {'xy'[k]} = {pos[i, k]:g} cm; expected "
                        "positions >= 0 (shift the coordinates so the arena starts at 0, 0)",
                        path=key)
    if len(arena_cm):
        if len(arena_cm) != 2 or min(arena_cm) <= 0:
            raise ConfigError(f"data.arena_cm={list(arena_cm)!r}; expected [width, height] in "
                              "cm, both > 0", path="data.arena_cm")
        arena = (float(arena_cm[0]), float(arena_cm[1]))
        for k in range(2):
            if pos[:, k].max() > arena[k]:
                i = int(np.argmax(pos[:, k]))
                raise DataError(f"{str(p)!r}: row {rows[i]} has {'xy'[k]} = {pos[i, k]:g} cm, "
                                f"outside data.arena_cm = {list(arena)}; expected positions "
                                "inside the arena", path=key)
    else:
        arena = tuple(float(max(1, math.ceil(pos[:, k].max()))) for k in range(2))
    t = np.ascontiguousarray(t, dtype=np.float64)
    pos = np.ascontiguousarray(pos, dtype=np.float64)
    for a in (t, pos):
        a.setflags(write=False)
    dropped = int((~ok).sum())
    src = f"your file: {p}" + (f" ({dropped} rows without a position dropped)" if dropped else "")
    return Trajectory(name or p.stem, t, pos, arena, src, "your own recording")


def _check_real(func: str, name: str, value, lo: float, hi: float, lo_open: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        lb = "(" if lo_open else "["
        raise ConfigError(
            f"{func}: {name}={value!r} is not accepted; expected a number in {lb}{lo}, {hi}]"
        )
    return float(value)


def _check_int(func: str, name: str, value, lo: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or int(value) < lo:
        raise ConfigError(f"{func}: {name}={value!r} is not accepted; expected an integer >= {lo}")
    return int(value)


def place_cell_split(
    traj: Trajectory, dt: float = 0.5, train_fraction: float = 0.7, max_samples: int | None = None
) -> PlaceSplit:
    """Resample a trajectory every ``dt`` seconds and split it in time.

    Sample times are ``t0, t0 + dt, ...`` up to the last time stamp; positions are linearly
    interpolated (per axis, ``np.interp`` on ``t``). ``max_samples`` (optional) keeps only
    the first ``max_samples`` resampled samples (a shorter recording). The samples with
    ``t < t0 + train_fraction * (t_last - t0)`` (of the kept span) are the training part, the
    rest the test part; order is kept, nothing is shuffled. Both parts have >= 1 sample.
    """
    func = "place_cell_split"
    if not isinstance(traj, Trajectory):
        raise ConfigError(f"{func}: traj is a {type(traj).__name__}; expected a Trajectory")
    dt = _check_real(func, "dt", dt, 0.0, math.inf)
    train_fraction = _check_real(func, "train_fraction", train_fraction, 0.0, 1.0)
    if train_fraction >= 1.0:
        raise ConfigError(
            f"{func}: train_fraction={train_fraction!r} leaves no test samples; expected a "
            f"number in (0, 1)"
        )
    t0, t1 = float(traj.t[0]), float(traj.t[-1])
    n = int(math.floor((t1 - t0) / dt + 1e-9)) + 1
    if max_samples is not None:
        n = min(n, _check_int(func, "max_samples", max_samples, 2))
    ts = t0 + dt * np.arange(n, dtype=np.float64)
    pos = np.stack([np.interp(ts, traj.t, traj.pos_cm[:, k]) for k in range(2)], axis=1)
    cut = ts[0] + train_fraction * (ts[-1] - ts[0])
    n_train = int(np.searchsorted(ts, cut, side="left"))
    if n_train < 1 or n_train >= n:
        raise ConfigError(
            f"{func}: dt={dt} gives {n} samples over {t1 - t0:.1f} s, and train_fraction="
            f"{train_fraction} leaves {n_train} for training and {n - n_train} for testing; "
            f"expected at least one of each (lower dt)"
        )
    arrays = [pos[:n_train], pos[n_train:], ts[:n_train], ts[n_train:]]
    for a in arrays:
        a.setflags(write=False)
    return PlaceSplit(traj.name, *arrays, dt=dt, arena_cm=tuple(traj.arena_cm))
