"""Encoders: real values -> integer spike times (docs/model.md §6).

Conventions shared by every encoder here:

* A spike time is an integer in ``0 .. L - 1`` with ``L = 2**timeres``; earlier means
  stronger. ``-1`` means NONE: the line stays silent in this wave.
* Every encoder returns a new ``np.int16`` array and is deterministic (no randomness; the
  same input gives the same output bit for bit).
* Arguments are validated up front; a bad one raises :class:`~neutnngen.errors.ConfigError`
  whose message names the argument, the bad value and what is accepted.

Two quantisers are used:

*Bipolar code* (:func:`encode_timeseries` with ``posneg=False``): a value ``x`` in
``[-c, c]`` gets ``level = floor((x + c) / (2c) * L)`` clipped to ``0 .. L-1`` and
``time = (L - 1) - level``. Every line fires; ``x = -c`` fires last (``L - 1``), ``x = c``
first (``0``).

*Magnitude code* (pos/neg channels, grayscale, on/off, positions): an activation ``a`` in
``[0, 1]`` gets ``level = min(floor(a * L), L - 1)``; ``level == 0`` (that is ``a < 1/L``) is
silent, otherwise ``time = (L - 1) - level``. So ``a = 1`` fires at 0, anything below ``1/L``
is silent, and the magnitude code never emits time ``L - 1`` (its ``L`` levels are NONE and
the ``L - 1`` times ``0 .. L-2``).

Layouts: time series with ``posneg=True`` are channel-major (``[pos_0..pos_{p-1},
neg_0..neg_{p-1}]``). Two-channel image encoders are pixel-interleaved: the ``[H, W, C]``
array flattened in C order, so line ``(h * W + w) * 2 + ch`` holds pixel ``(h, w)``,
channel ``ch`` (0 = on, 1 = off) and the two lines of one pixel are adjacent; a receptive
field window over pixels is then a contiguous run of lines per pixel row.
"""

from __future__ import annotations

import numbers

import numpy as np

from neutnngen.errors import ConfigError

__all__ = [
    "encode_timeseries",
    "normalise_series",
    "project_series",
    "encode_images_posneg",
    "encode_images_grayscale",
    "encode_images_onoff",
    "encode_positions",
    "grid_centres",
    "NONE",
]

#: The value that marks a silent line in every integer spike-time array.
NONE = -1

TIMERES_RANGE = (1, 8)


# ---------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------


def _check_int(func: str, name: str, value, lo: int, hi: int | None = None) -> int:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        value = int(value)
        ok = value >= lo and (hi is None or value <= hi)
    if not ok:
        accepted = f"an integer in {lo}..{hi}" if hi is not None else f"an integer >= {lo}"
        raise ConfigError(f"{func}: {name}={value!r} is not accepted; expected {accepted}")
    return value


def _check_timeres(func: str, timeres) -> int:
    return _check_int(func, "timeres", timeres, *TIMERES_RANGE)


def _check_positive(func: str, name: str, value) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = bool(np.isfinite(float(value)) and float(value) > 0)
    if not ok:
        raise ConfigError(f"{func}: {name}={value!r} is not accepted; expected a finite number > 0")
    return float(value)


def _as_array(func: str, name: str, value, ndim: int | tuple[int, ...],
              shape_doc: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"{func}: {name} cannot be read as a numeric array ({e}); expected {shape_doc}"
        ) from e
    if arr.ndim not in ((ndim,) if isinstance(ndim, int) else ndim):
        raise ConfigError(
            f"{func}: {name} has shape {arr.shape} ({arr.ndim}-D); expected {shape_doc}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ConfigError(
            f"{func}: {name} has {int(bad.sum())} non-finite value(s) (first at index "
            f"{first}: {arr[first]}); expected finite numbers"
        )
    return arr


def _check_images(func: str, img) -> np.ndarray:
    arr = _as_array(func, "img", img, 3, "an array of shape [n, H, W]")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ConfigError(f"{func}: img has shape {arr.shape}; H and W must be >= 1")
    if (arr < 0).any():
        first = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ConfigError(
            f"{func}: img has negative pixel {arr[first]} at index {first}; expected "
            f"non-negative intensities"
        )
    return arr


# ---------------------------------------------------------------------------------------
# quantisers
# ---------------------------------------------------------------------------------------


def _magnitude_code(a: np.ndarray, L: int) -> np.ndarray:
    """Activation in [0, 1] -> time (magnitude code, see the module docstring)."""
    level = np.minimum(np.floor(np.clip(a, 0.0, 1.0) * L), L - 1).astype(np.int16)
    return np.where(level == 0, np.int16(NONE), (L - 1) - level).astype(np.int16)


def _zscore(X: np.ndarray, ref: np.ndarray, axis) -> np.ndarray:
    """``X`` shifted and scaled by the mean and population standard deviation of ``ref``
    over ``axis`` (what is constant in ``ref`` becomes zeros), flattened to ``[n, -1]``."""
    mean = ref.mean(axis=axis, keepdims=True)
    std = ref.std(axis=axis, keepdims=True)
    # ptp as well: the float std of a constant may be ~1e-17, not 0
    const = (np.ptp(ref, axis=axis, keepdims=True) == 0) | (std == 0)
    safe = np.where(const, 1.0, std)
    return np.where(const, 0.0, (X - mean) / safe).reshape(len(X), int(np.prod(X.shape[1:])))


def _znormalise(X: np.ndarray) -> np.ndarray:
    """Each series (each channel of a ``[n, channels, length]`` array) to mean 0 and
    population standard deviation 1 along the last axis; constant ones become zeros.
    Returns ``[n, length]`` or, for channels, their channel-major concatenation
    ``[n, channels * length]``."""
    return _zscore(X, X, -1)


def normalise_series(how: str, X_train, *Xs) -> list[np.ndarray]:
    """The z-values the time-series codes quantise (docs/model.md §6), for ``X_train`` and
    every array of ``Xs`` (``[n, length]`` or ``[n, channels, length]``), each returned as
    ``float64 [n, channels * length]``:

    * ``"series"``: every series (every channel of a series) z-normalised on its own with its
      mean and population standard deviation (a constant one becomes zeros);
    * ``"train"``: every channel shifted and scaled by the mean and population standard
      deviation of that channel over all samples of all series of ``X_train`` (a channel
      constant over the training split becomes zeros), the same numbers for every array, so
      a series' amplitude and offset are kept relative to the others.
    """
    func = "normalise_series"
    if how not in ("series", "train"):
        raise ConfigError(f"{func}: how={how!r} is not accepted; expected 'series' or 'train'")
    arrays = [_series(func, X) for X in (X_train, *Xs)]
    if how == "series":
        return [_znormalise(X) for X in arrays]
    three = [X if X.ndim == 3 else X[:, None, :] for X in arrays]
    for X in three[1:]:
        if X.shape[1] != three[0].shape[1]:
            raise ConfigError(f"{func}: X has {X.shape[1]} channel(s), the training series "
                              f"{three[0].shape[1]}; expected the same")
    return [_zscore(X, three[0], (0, 2)) for X in three]


_SERIES_SHAPE = ("an array of shape [n_series, length] (use X[None, :] for one series) or "
                 "[n_series, channels, length] (multivariate)")


def _series(func: str, X) -> np.ndarray:
    X = _as_array(func, "X", X, (2, 3), _SERIES_SHAPE)
    if 0 in X.shape[1:]:
        raise ConfigError(f"{func}: X has shape {X.shape}; the series length (and the number "
                          "of channels) must be >= 1")
    return X


# ---------------------------------------------------------------------------------------
# time series
# ---------------------------------------------------------------------------------------


def encode_timeseries(X, timeres: int = 3, clip: float = 2.0, posneg: bool = False,
                      fields: int = 0, width: float = 1.0, normalise: bool = True) -> np.ndarray:
    """Encode time series, one input line per sample (UCR convention).

    Each series (row of ``X``, shape ``[n, p]``) is z-normalised with its own mean and
    population standard deviation; a constant series becomes all zeros (no NaN). A
    multivariate ``X`` (``[n, C, q]``, UEA convention) z-normalises every channel of every
    series on its own and encodes their channel-major concatenation as one series of
    length ``p = C * q`` (sample ``j`` of channel ``k`` is position ``k * q + j``).
    ``normalise=False`` takes the values of ``X`` as the z-values (already normalised, e.g.
    by :func:`normalise_series`). The z-values are clipped to ``[-clip, clip]`` and quantised
    with ``L = 2**timeres``:

    * ``posneg=False`` (bipolar code) -> ``int16 [n, p]``, every line fires:
      ``level = clip(floor((z + c) / (2c) * L), 0, L-1)``, ``time = (L-1) - level``.
    * ``posneg=True`` -> ``int16 [n, 2p]``, lines ``0..p-1`` are the positive channel and
      ``p..2p-1`` the negative channel. With ``m_pos = min(max(z, 0), c) / c`` and
      ``m_neg = min(max(-z, 0), c) / c``, each channel uses the magnitude code:
      ``level = min(floor(m * L), L-1)``; ``level == 0`` (``|z| < c/L``, including the
      other sign) is silent (-1), otherwise ``time = (L-1) - level``. At most one channel
      of a sample fires; small ``|z|`` leaves both silent; times are in ``0 .. L-2``.
    * ``fields = F >= 2`` (population code, Gaussian receptive fields) -> ``int16 [n, F*p]``,
      field-major (line ``f * p + j`` is field ``f`` of sample ``j``). The field centres are
      ``c_f = -c + f * 2c / (F - 1)`` and their width ``sigma = width * 2c / (F - 1)``; field
      ``f`` encodes ``exp(-(z - c_f)^2 / (2 sigma^2))`` with the magnitude code, so the field
      nearest a value fires first and the far ones are silent. ``posneg`` must be False.

    Example (timeres=2, clip=2): the series ``[1, 2, 3, 4, 5]`` has
    ``z = [-1.41, -0.71, 0, 0.71, 1.41]`` and encodes to ``[3, 2, 1, 1, 0]``; with
    ``posneg=True`` to ``[-1, -1, -1, 2, 1,  1, 2, -1, -1, -1]``; with ``fields=3`` to
    ``[0, 0, 1, 2, -1,  0, 0, 0, 0, 0,  -1, 2, 1, 0, 0]`` (centres -2, 0, 2; sigma 2).
    """
    func = "encode_timeseries"
    L = 2 ** _check_timeres(func, timeres)
    c = _check_positive(func, "clip", clip)
    if not isinstance(posneg, bool | np.bool_):
        raise ConfigError(f"{func}: posneg={posneg!r} is not accepted; expected True or False")
    F = _check_int(func, "fields", fields, 0)
    if F == 1:
        raise ConfigError(f"{func}: fields=1 is not accepted; expected 0 (the bipolar or posneg "
                          "code) or at least 2 Gaussian receptive fields per sample")
    if F and posneg:
        raise ConfigError(f"{func}: fields={F} and posneg=True are not accepted together; the "
                          "population code covers both signs (use one or the other)")
    w = _check_positive(func, "width", width)
    X = _series(func, X)
    z = np.clip(_znormalise(X) if normalise else X.reshape(len(X), -1), -c, c)
    if F:
        spacing = 2 * c / (F - 1)
        centres = -c + spacing * np.arange(F)
        sigma = w * spacing
        a = np.exp(-((z[:, None, :] - centres[None, :, None]) ** 2) / (2.0 * sigma * sigma))
        return _magnitude_code(a, L).reshape(len(z), F * z.shape[1]).astype(np.int16)
    if not posneg:
        level = np.clip(np.floor((z + c) / (2 * c) * L), 0, L - 1).astype(np.int16)
        return ((L - 1) - level).astype(np.int16)
    pos = _magnitude_code(np.maximum(z, 0.0) / c, L)
    neg = _magnitude_code(np.maximum(-z, 0.0) / c, L)
    return np.concatenate([pos, neg], axis=1).astype(np.int16)


def project_series(X, n: int, seed: int = 0, normalise: bool = True) -> np.ndarray:
    """A seeded random-projection front end for time series (docs/model.md §6).

    Each series (row of ``X``, ``[m, p]``; a multivariate ``[m, C, q]`` is the channel-major
    concatenation of its channels, ``p = C * q``) is z-normalised as in
    :func:`encode_timeseries` and multiplied by ``R``, a ``[p, n]`` matrix of standard normal numbers drawn with
    ``numpy.random.default_rng([seed, 0x5052]).standard_normal((p, n))``. Returns
    ``float64 [m, n]``: ``n`` random features per series, to be encoded like a series of
    length ``n`` (:func:`encode_timeseries` z-normalises them again per row). The same
    ``seed`` and ``p`` give the same ``R`` for every split. ``normalise=False`` projects the
    values of ``X`` as they are (already normalised, e.g. by :func:`normalise_series`).
    """
    func = "project_series"
    n = _check_int(func, "n", n, 1)
    seed = _check_int(func, "seed", seed, 0)
    X = _series(func, X)
    Z = _znormalise(X) if normalise else X.reshape(len(X), -1)
    R = np.random.default_rng([seed, 0x5052]).standard_normal((Z.shape[1], n))
    return Z @ R


def spectrum_series(X, n: int, log: bool = False, normalise: bool = True) -> np.ndarray:
    """A shift-invariant front end for time series: spectral magnitudes (docs/model.md §6).

    Each series (row of ``X``, ``[m, q]``; every channel of a multivariate ``[m, C, q]`` on
    its own) is z-normalised as in :func:`encode_timeseries` (``normalise=False``: taken as
    it is) and replaced by the magnitudes ``|DFT_k|`` of its discrete Fourier coefficients
    ``k = 1 .. n`` (``numpy.fft.rfft``; coefficient 0, the mean, is left out), ``log1p`` of
    them when ``log``. A circular shift of a series does not change them, so series that
    differ by where they start (outlines traced from another point) get the same features.
    A series of length ``q`` has ``q // 2`` such coefficients; ``n`` above that takes them
    all (``k = 1 .. q // 2``), so one ``n`` serves sets of every length. Returns ``float64
    [m, C * min(n, q // 2)]`` (channel-major), to be encoded like a series of that length.
    """
    func = "spectrum_series"
    n = _check_int(func, "n", n, 1)
    if not isinstance(log, bool | np.bool_):
        raise ConfigError(f"{func}: log={log!r} is not accepted; expected True or False")
    X = _series(func, X)
    q = X.shape[-1]
    if q < 2:
        raise ConfigError(f"{func}: series of length {q} have no Fourier coefficient above the "
                          "mean; expected series of at least 2 samples")
    n = min(n, q // 2)
    Z = _znormalise(X) if normalise else X.reshape(len(X), -1)
    Z = Z.reshape(len(X), -1, q)  # [m, C, q]
    S = np.abs(np.fft.rfft(Z, axis=-1))[..., 1:n + 1]
    return (np.log1p(S) if log else S).reshape(len(X), -1)


# ---------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------


def _interleave(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    n = on.shape[0]
    return np.stack([on, off], axis=-1).reshape(n, -1).astype(np.int16)


def encode_images_posneg(img, thr: float = 0.5) -> np.ndarray:
    """Binarise images; each pixel drives an on line and an off line.

    ``img`` is ``[n, H, W]`` with non-negative intensities. A pixel is *on* when
    ``pixel >= thr * max(image)`` (the maximum of its own image) and the image is not blank
    (``max > 0``; a blank image is all off). The on line of an on pixel spikes at 0, the off
    line of an off pixel spikes at 0; the other line is silent (-1). Exactly one of the two
    lines of every pixel fires.

    Returns ``int16 [n, H*W*2]``, pixel-interleaved: line ``(h*W + w)*2 + 0`` is on,
    ``(h*W + w)*2 + 1`` is off. ``thr`` must be in ``(0, 1]``.
    """
    func = "encode_images_posneg"
    thr = _check_positive(func, "thr", thr)
    if thr > 1:
        raise ConfigError(f"{func}: thr={thr!r} is not accepted; expected a number in (0, 1]")
    x = _check_images(func, img)
    vmax = x.max(axis=(1, 2), keepdims=True) if x.size else np.zeros((x.shape[0], 1, 1))
    on = (x >= thr * vmax) & (vmax > 0)
    t_on = np.where(on, 0, NONE).astype(np.int16).reshape(x.shape[0], -1)
    t_off = np.where(on, NONE, 0).astype(np.int16).reshape(x.shape[0], -1)
    return _interleave(t_on, t_off)


def encode_images_grayscale(img, timeres: int = 3, vmax: float | None = None) -> np.ndarray:
    """Grayscale images -> one line per pixel, brighter = earlier (magnitude code).

    ``a = min(pixel / vmax, 1)`` where ``vmax`` defaults to the maximum of each image (pass
    e.g. ``vmax=255`` for a fixed scale); then ``level = min(floor(a * L), L-1)``, silent if
    ``level == 0`` (so zero pixels, and pixels below ``vmax / L``, are silent), else
    ``time = (L-1) - level``. A blank image is all silent.

    Returns ``int16 [n, H*W]`` (row-major pixels). Example (timeres=2): the image
    ``[[0, 64], [128, 255]]`` encodes to ``[-1, 2, 1, 0]``.
    """
    func = "encode_images_grayscale"
    L = 2 ** _check_timeres(func, timeres)
    x = _check_images(func, img)
    n = x.shape[0]
    if vmax is None:
        scale = x.max(axis=(1, 2), keepdims=True) if x.size else np.zeros((n, 1, 1))
    else:
        scale = np.full((n, 1, 1), _check_positive(func, "vmax", vmax))
    a = np.where(scale > 0, x / np.where(scale > 0, scale, 1.0), 0.0)
    return _magnitude_code(a, L).reshape(n, -1)


def _box_mean(x: np.ndarray, k: int) -> np.ndarray:
    r = k // 2
    padded = np.pad(x, ((0, 0), (r, r), (r, r)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))
    return win.mean(axis=(-2, -1))


def encode_images_onoff(img, k: int = 3, timeres: int = 3) -> np.ndarray:
    """Centre-surround (retina-like) on/off encoding.

    ``d = pixel - mean(k x k box around it)``, with the image edge-replicated
    (``np.pad(mode="edge")``) so borders see no artificial edge; the box includes the
    centre pixel. Per image, ``s = max |d|``; the on channel encodes ``max(d, 0) / s`` and
    the off channel ``max(-d, 0) / s`` with the magnitude code (activation 1 -> time 0,
    below ``1/L`` silent). A flat image (``s == 0``) is all silent.

    Returns ``int16 [n, H*W*2]``, pixel-interleaved like :func:`encode_images_posneg`
    (line ``(h*W + w)*2 + 0`` = on, ``+ 1`` = off). ``k`` must be odd and >= 3.

    Example (timeres=3, k=3): a 3x3 image that is 9 at the centre and 0 elsewhere gives
    ``d = 8`` at the centre and ``-1`` elsewhere: the centre is ``(on 0, off -1)``, every
    other pixel ``(on -1, off 6)``.
    """
    func = "encode_images_onoff"
    k = _check_int(func, "k", k, 3)
    if k % 2 == 0:
        raise ConfigError(f"{func}: k={k!r} is not accepted; expected an odd integer >= 3")
    L = 2 ** _check_timeres(func, timeres)
    x = _check_images(func, img)
    n = x.shape[0]
    d = x - _box_mean(x, k)
    s = np.abs(d).max(axis=(1, 2), keepdims=True) if x.size else np.zeros((n, 1, 1))
    safe = np.where(s > 0, s, 1.0)
    on = np.where(s > 0, np.maximum(d, 0.0) / safe, 0.0)
    off = np.where(s > 0, np.maximum(-d, 0.0) / safe, 0.0)
    return _interleave(
        _magnitude_code(on, L).reshape(n, -1), _magnitude_code(off, L).reshape(n, -1)
    )


# ---------------------------------------------------------------------------------------
# positions (place cells)
# ---------------------------------------------------------------------------------------


def encode_positions(pos, centres, sigma: float, timeres: int = 3) -> np.ndarray:
    """2-D positions -> a population of Gaussian place fields, one line per centre.

    Activation of centre ``j`` for position ``i``: ``a = exp(-|pos_i - centre_j|^2 /
    (2 sigma^2))``, then the magnitude code: ``a = 1`` fires at 0, ``a < 1/L`` is silent,
    otherwise ``time = (L-1) - min(floor(a * L), L-1)``.

    ``pos`` is ``[n, 2]``, ``centres`` is ``[m, 2]`` (see :func:`grid_centres`), both in the
    same units as ``sigma``. Returns ``int16 [n, m]``. Example (timeres=2, sigma=1):
    position ``(0, 0)`` with centres ``(0, 0), (1, 0), (3, 0)`` encodes to ``[0, 1, -1]``.
    """
    func = "encode_positions"
    L = 2 ** _check_timeres(func, timeres)
    sigma = _check_positive(func, "sigma", sigma)
    p = _as_array(func, "pos", pos, 2, "an array of shape [n, 2]")
    c = _as_array(func, "centres", centres, 2, "an array of shape [m, 2]")
    if p.shape[1] != 2:
        raise ConfigError(f"{func}: pos has shape {p.shape}; expected [n, 2]")
    if c.shape[1] != 2 or c.shape[0] == 0:
        raise ConfigError(f"{func}: centres has shape {c.shape}; expected [m, 2] with m >= 1")
    d2 = ((p[:, None, :] - c[None, :, :]) ** 2).sum(axis=-1)
    return _magnitude_code(np.exp(-d2 / (2.0 * sigma * sigma)), L)


def grid_centres(arena_w: float, arena_h: float, nx: int, ny: int) -> np.ndarray:
    """Centres of an ``nx`` x ``ny`` grid of cells tiling a ``[0, w] x [0, h]`` arena.

    Centre ``(i, j)`` is ``((i + 0.5) * w / nx, (j + 0.5) * h / ny)``; rows are ordered
    ``j`` (y) outer, ``i`` (x) inner, i.e. row ``j * nx + i``, like a row-major image.
    Returns ``float64 [nx * ny, 2]`` of ``(x, y)``.
    """
    func = "grid_centres"
    w = _check_positive(func, "arena_w", arena_w)
    h = _check_positive(func, "arena_h", arena_h)
    nx = _check_int(func, "nx", nx, 1)
    ny = _check_int(func, "ny", ny, 1)
    xs = (np.arange(nx) + 0.5) * (w / nx)
    ys = (np.arange(ny) + 0.5) * (h / ny)
    gx, gy = np.meshgrid(xs, ys)  # shape [ny, nx]
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
