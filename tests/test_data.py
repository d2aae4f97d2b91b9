"""Tests for neutnngen.data: UCR loading (real files shipped with aeon), encoders, metrics."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from neutnngen.data import (
    Dataset,
    adjusted_rand_index,
    classification_error,
    clustering_metrics,
    coverage,
    encode_images_grayscale,
    encode_images_onoff,
    encode_images_posneg,
    encode_positions,
    encode_timeseries,
    grid_centres,
    kmeans_baseline,
    load_ucr,
    project_series,
    purity,
    rand_index,
    shipped_ucr_datasets,
    spectrum_series,
)
from neutnngen.data.metrics import normalized_mutual_info
from neutnngen.errors import ConfigError, DataError


def _aeon_data_dir() -> Path:
    import aeon

    return Path(aeon.__file__).parent / "datasets" / "data"


# ---------------------------------------------------------------------------------------
# UCR
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, n_train, n_test, length, train_counts, test_counts, classes",
    [
        ("GunPoint", 50, 150, 150, [24, 26], [76, 74], ("1", "2")),
        ("ArrowHead", 36, 175, 251, [12, 12, 12], [69, 53, 53], ("0", "1", "2")),
        ("ItalyPowerDemand", 67, 1029, 24, [34, 33], [513, 516], ("1", "2")),
    ],
)
def test_load_ucr_shapes_and_classes(
    name, n_train, n_test, length, train_counts, test_counts, classes
):
    ds = load_ucr(name)
    assert isinstance(ds, Dataset)
    assert ds.name == name
    assert ds.X_train.shape == (n_train, length)
    assert ds.X_test.shape == (n_test, length)
    assert ds.X_train.dtype == np.float64 and ds.X_test.dtype == np.float64
    assert ds.y_train.dtype.kind == "i" and ds.y_test.dtype.kind == "i"
    assert ds.classes == classes and ds.n_classes == len(classes) and ds.length == length
    assert np.bincount(ds.y_train).tolist() == train_counts
    assert np.bincount(ds.y_test).tolist() == test_counts
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    assert "shipped with aeon" in ds.source


def test_load_ucr_matches_the_raw_file():
    # First case of GunPoint_TRAIN.ts, parsed here without aeon.
    lines = (_aeon_data_dir() / "GunPoint" / "GunPoint_TRAIN.ts").read_text().splitlines()
    first = next(ln for ln in lines if ln.strip() and not ln.startswith(("@", "#")))
    data, label = first.rsplit(":", 1)
    values = data.split(",")
    assert len(values) == 150
    ds = load_ucr("GunPoint")
    np.testing.assert_array_equal(ds.X_train[0], np.array(values, dtype=np.float64))
    assert ds.classes[ds.y_train[0]] == label.strip()


def test_load_ucr_is_cached_and_read_only():
    a = load_ucr("GunPoint")
    assert load_ucr("GunPoint") is a
    with pytest.raises(ValueError):
        a.X_train[0, 0] = 1.0
    with pytest.raises(ValueError):
        a.y_test[0] = 1


def test_shipped_ucr_datasets_all_load():
    shipped = shipped_ucr_datasets()
    assert {"GunPoint", "ArrowHead", "ItalyPowerDemand"} <= set(shipped)
    assert "BasicMotions" not in shipped  # multivariate (UEA), listed on its own
    assert "BasicMotions" in shipped_ucr_datasets(multivariate=True)
    for name in shipped:
        ds = load_ucr(name)
        assert ds.X_train.ndim == 2 and ds.X_train.shape[1] == ds.X_test.shape[1]
        assert set(np.unique(ds.y_train)) <= set(range(ds.n_classes))


def test_load_ucr_offline_not_shipped(monkeypatch, tmp_path):
    # Force "no network" whatever the machine has, through the real aeon download path.
    def no_network(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known (blocked by test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(DataError) as info:
        load_ucr("Coffee", extract_path=tmp_path)
    msg = str(info.value)
    assert "'Coffee'" in msg
    assert "not shipped with aeon" in msg
    assert "download" in msg and "failed" in msg
    for shipped in shipped_ucr_datasets():
        assert shipped in msg
    assert not (tmp_path / "Coffee").exists()  # no empty folder left behind


def test_load_ucr_unknown_name_suggests():
    with pytest.raises(DataError) as info:
        load_ucr("GunPiont")
    msg = str(info.value)
    assert "'GunPiont'" in msg and "not shipped with aeon" in msg
    assert "Did you mean 'GunPoint'" in msg
    assert "ItalyPowerDemand" in msg  # the shipped list


def test_load_ucr_multivariate_equal_length():
    ds = load_ucr("BasicMotions")
    assert ds.X_train.shape == (40, 6, 100) and ds.X_test.shape == (40, 6, 100)
    assert (ds.channels, ds.length, ds.n_classes) == (6, 100, 4)
    assert load_ucr("GunPoint").channels == 1
    with pytest.raises(DataError, match="multivariate .12 channels. and has unequal-length"):
        load_ucr("JapaneseVowels")


def test_missing_values_hint_fits_the_archive():
    """A univariate set with NaNs points to the UCR archive's imputed ``_nmv`` version; a
    multivariate (UEA) one, where such versions do not exist, to imputing a copy."""
    from neutnngen.data.ucr import _to_matrix

    X = np.ones((2, 3, 4))
    X[0, 1, 2] = np.nan
    with pytest.raises(DataError, match="1 missing.*impute them in a copy"):
        _to_matrix("Foo", "train", X, np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"load_ucr\('Foo_nmv'\)"):
        _to_matrix("Foo", "train", X[:, 1:2], np.array(["a", "b"]))


def test_load_ucr_rejects_unequal_length():
    with pytest.raises(DataError, match="unequal-length.*PickupGestureWiimoteZ_eq"):
        load_ucr("PickupGestureWiimoteZ")
    eq = load_ucr("PickupGestureWiimoteZ_eq")
    assert eq.X_train.shape == (50, 361) and eq.n_classes == 10
    assert eq.classes[:3] == ("1", "2", "3")  # numeric order, not "1", "10", "2"


def test_load_ucr_from_extract_path(tmp_path):
    shutil.copytree(_aeon_data_dir() / "GunPoint", tmp_path / "GunPoint")
    local = load_ucr("GunPoint", extract_path=tmp_path)
    shipped = load_ucr("GunPoint")
    assert "local copy" in local.source and str(tmp_path) in local.source
    np.testing.assert_array_equal(local.X_test, shipped.X_test)
    np.testing.assert_array_equal(local.y_train, shipped.y_train)


def test_load_ucr_bad_name_type():
    with pytest.raises(ConfigError, match="name=3"):
        load_ucr(3)


# ---------------------------------------------------------------------------------------
# time-series encoder
# ---------------------------------------------------------------------------------------


def test_encode_timeseries_hand_example():
    # z = [-1.41, -0.71, 0, 0.71, 1.41]; L=4, c=2: level = floor(z + 2) = [0, 1, 2, 2, 3]
    out = encode_timeseries([[1, 2, 3, 4, 5]], timeres=2, clip=2.0)
    assert out.dtype == np.int16
    assert out.tolist() == [[3, 2, 1, 1, 0]]
    # timeres=1: z = [-1, 1] -> level floor([0.5, 1.5]) = [0, 1] -> times [1, 0]
    assert encode_timeseries([[0.0, 1.0]], timeres=1).tolist() == [[1, 0]]


def test_encode_timeseries_clipping():
    # mean 1, std 3: z = -1/3 (x9) and 3 -> clipped to 2 -> level min(8, 7) = 7 -> time 0;
    # -1/3 -> floor((5/3) / 4 * 8) = 3 -> time 4.
    out = encode_timeseries([[0] * 9 + [10]], timeres=3, clip=2.0)
    assert out.tolist() == [[4] * 9 + [0]]
    # clip=1: z=-1/3 -> floor((2/3) / 2 * 8) = 2 -> time 5; z=3 -> 1 -> time 0
    assert encode_timeseries([[0] * 9 + [10]], timeres=3, clip=1.0).tolist() == [[5] * 9 + [0]]


def test_encode_timeseries_posneg_hand_example():
    out = encode_timeseries([[1, 2, 3, 4, 5]], timeres=2, posneg=True)
    # positive magnitudes |z|/c = [0, 0, 0, .35, .71] -> levels [0, 0, 0, 1, 2]
    # negative magnitudes       = [.71, .35, 0, 0, 0] -> levels [2, 1, 0, 0, 0]
    assert out.tolist() == [[-1, -1, -1, 2, 1, 1, 2, -1, -1, -1]]


def test_encode_timeseries_grf_hand_example_and_layout():
    # z = [-1.41, -0.71, 0, 0.71, 1.41]; fields=3, c=2: centres -2, 0, 2, sigma = 2.
    # Field -2: a = exp(-(z + 2)^2 / 8) = [.96, .81, .61, .40, .23] -> levels [3, 3, 2, 1, 0]
    out = encode_timeseries([[1, 2, 3, 4, 5]], timeres=2, fields=3)
    assert out.dtype == np.int16
    assert out.tolist() == [[0, 0, 1, 2, -1, 0, 0, 0, 0, 0, -1, 2, 1, 0, 0]]
    # field-major and mirror-symmetric: negating the series swaps the outer fields
    neg = encode_timeseries([[-1, -2, -3, -4, -5]], timeres=2, fields=3)
    assert neg[0, :5].tolist() == out[0, 10:].tolist()
    assert neg[0, 10:].tolist() == out[0, :5].tolist()
    # a narrower field (width 0.5: sigma 1) silences the far values
    narrow = encode_timeseries([[1, 2, 3, 4, 5]], timeres=2, fields=3, width=0.5)
    # field -2: a = exp(-(z + 2)^2 / 2) = [.84, .43, .14, .03, .003] -> levels [3, 1, 0, 0, 0]
    assert narrow[0, :5].tolist() == [0, 2, -1, -1, -1]


def test_encode_timeseries_grf_on_real_data():
    ds = load_ucr("GunPoint")
    X = ds.X_train
    for F in (2, 3, 5):
        out = encode_timeseries(X, timeres=3, fields=F)
        assert out.shape == (X.shape[0], F * X.shape[1]) and out.dtype == np.int16
        assert out.min() >= -1 and out.max() <= 6  # magnitude code: never time L - 1
        fires = (out.reshape(len(X), F, -1) >= 0)
        assert fires.any(axis=1).all()  # every sample fires on some field
        # the field nearest the (clipped) z-value fires first
        z = np.clip((X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True), -2, 2)
        near = np.abs(z[:, None, :] - np.linspace(-2, 2, F)[None, :, None]).argmin(axis=1)
        t = np.where(out.reshape(len(X), F, -1) < 0, 99, out.reshape(len(X), F, -1))
        assert (np.take_along_axis(t, near[:, None, :], axis=1)[:, 0] == t.min(axis=1)).all()


def test_project_series_seeded_features():
    ds = load_ucr("GunPoint")
    X = ds.X_train
    P = project_series(X, 64, seed=3)
    assert P.shape == (len(X), 64) and P.dtype == np.float64
    np.testing.assert_array_equal(P, project_series(X, 64, seed=3))  # deterministic
    assert not np.allclose(P, project_series(X, 64, seed=4))  # the seed picks R
    # the rows of R are shared by every split: projecting one series alone gives its row
    np.testing.assert_allclose(project_series(X[5:6], 64, seed=3)[0], P[5])
    # z-normalised first: offset and scale of a series do not matter
    np.testing.assert_allclose(project_series(2.0 * X - 9.0, 64, seed=3), P, atol=1e-9)
    # Johnson-Lindenstrauss: E|z R|^2 = n |z|^2 = n p for a z-normalised series
    ratio = (P ** 2).sum(axis=1) / (64 * X.shape[1])
    assert 0.5 < float(np.median(ratio)) < 1.6
    enc = encode_timeseries(P, timeres=3)
    assert enc.shape == (len(X), 64) and enc.min() >= 0


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n=0"), ({"n": 2.5}, "n=2.5"), ({"n": 4, "seed": -1}, "seed=-1")])
def test_project_series_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        project_series([[1.0, 2.0, 3.0]], **kwargs)


def test_spectrum_series_is_shift_invariant_and_finds_the_frequency():
    q = 64
    t = np.arange(q)
    x = np.sin(2 * np.pi * 3 * t / q) + 0.5 * np.cos(2 * np.pi * 7 * t / q)
    S = spectrum_series([x, np.roll(x, 17)], 10)
    assert S.shape == (2, 10) and S.dtype == np.float64
    np.testing.assert_allclose(S[0], S[1], atol=1e-9)  # a circular shift changes nothing
    # z-normalised first (std of x is sqrt(0.5**2/2 + 1/2)), then |rfft| of k = 1 .. 10:
    # k = 3 carries q/2 / std, k = 7 half of it, every other k nothing
    z = x / x.std()
    want = np.zeros(10)
    want[2], want[6] = q / 2 / x.std(), q / 4 / x.std()
    np.testing.assert_allclose(S[0], want, atol=1e-9)
    np.testing.assert_allclose(spectrum_series([z], 10, normalise=False)[0], want, atol=1e-9)
    np.testing.assert_allclose(spectrum_series([x], 10, log=True)[0], np.log1p(want), atol=1e-9)
    assert spectrum_series([x], 40).shape == (1, 32)  # n above q // 2 takes all 32
    ds = load_ucr("BasicMotions")  # [40, 6, 100]: every channel on its own, channel-major
    P = spectrum_series(ds.X_train, 8)
    assert P.shape == (40, 48)
    np.testing.assert_allclose(P[:, 16:24], spectrum_series(ds.X_train[:, 2], 8))


@pytest.mark.parametrize("kwargs, X, match", [
    ({"n": 0}, [[1.0, 2.0, 3.0]], "n=0"), ({"n": 2.5}, [[1.0, 2.0, 3.0]], "n=2.5"),
    ({"n": 2, "log": "yes"}, [[1.0, 2.0, 3.0]], "log='yes'"),
    ({"n": 2}, [[1.0], [2.0]], "length 1")])
def test_spectrum_series_bad_arguments(kwargs, X, match):
    with pytest.raises(ConfigError, match=match):
        spectrum_series(X, **kwargs)


def test_encode_timeseries_multivariate_channels():
    # each channel is z-normalised on its own: a channel's offset and scale do not matter,
    # and the lines are the channel-major concatenation of the channels' codes
    a, b = [1, 2, 3, 4, 5], [10, 10, 10, 10, 10]
    out = encode_timeseries([[a, b]], timeres=2)
    assert out.tolist() == [[3, 2, 1, 1, 0, 1, 1, 1, 1, 1]]  # b is constant: z = 0
    scaled = encode_timeseries([[[100 * v - 7 for v in a], b]], timeres=2)
    assert scaled.tolist() == out.tolist()
    # the other codes lay out the concatenation like a series of length C * q
    assert encode_timeseries([[a, b]], timeres=2, posneg=True)[0, :5].tolist() == \
        [-1, -1, -1, 2, 1]
    grf = encode_timeseries([[a, a]], timeres=2, fields=3)
    assert grf.tolist() == [[0, 0, 1, 2, -1] * 2 + [0] * 10 + [-1, 2, 1, 0, 0] * 2]
    ds = load_ucr("BasicMotions")
    enc = encode_timeseries(ds.X_train, timeres=3)
    assert enc.shape == (40, 600)
    np.testing.assert_array_equal(enc[:, 200:300], encode_timeseries(ds.X_train[:, 2], 3))
    P = project_series(ds.X_train, 16, seed=1)
    # projections multiply the concatenation of the z-normalised channels
    np.testing.assert_allclose(P, project_series(_channel_z(ds.X_train), 16, seed=1))
    with pytest.raises(ConfigError, match=r"shape \(2, 0, 5\).*channels"):
        encode_timeseries(np.zeros((2, 0, 5)))
    with pytest.raises(ConfigError, match=r"\[n_series, channels, length\]"):
        encode_timeseries(np.zeros((2, 2, 2, 2)))


def test_normalise_series_by_the_training_split():
    """``train``: every channel scaled by its statistics over the whole training split, the
    same numbers for the test split (amplitudes stay comparable); ``series``: each series on
    its own, what encode_timeseries does by default."""
    from neutnngen.data import normalise_series

    Xtr = np.array([[[0.0, 2.0], [5.0, 5.0]], [[4.0, 6.0], [5.0, 5.0]]])  # [2, 2 ch, 2]
    Xte = np.array([[[3.0, 3.0], [9.0, 1.0]]])
    ztr, zte = normalise_series("train", Xtr, Xte)
    # channel 0 over the training split: mean 3, std sqrt(5); channel 1 is constant -> 0
    s5 = np.sqrt(5.0)
    np.testing.assert_allclose(ztr, [[-3 / s5, -1 / s5, 0, 0], [1 / s5, 3 / s5, 0, 0]])
    np.testing.assert_allclose(zte, [[0, 0, 0, 0]])
    # univariate: one channel; a test series twice as loud stays twice as loud
    u_tr, u_te = normalise_series("train", [[1.0, -1.0], [2.0, -2.0]], [[4.0, -4.0]])
    np.testing.assert_allclose(u_te, 2 * u_tr[1:])
    series = normalise_series("series", [[1.0, -1.0], [2.0, -2.0]], [[4.0, -4.0]])
    np.testing.assert_allclose(series[1], series[0][1:])  # loudness gone
    np.testing.assert_array_equal(
        encode_timeseries(series[0], 3, normalise=False),
        encode_timeseries([[1.0, -1.0], [2.0, -2.0]], 3))
    with pytest.raises(ConfigError, match="how='dataset'.*'series' or 'train'"):
        normalise_series("dataset", [[1.0, 2.0]])
    with pytest.raises(ConfigError, match="1 channel.*training series 2"):
        normalise_series("train", Xtr, [[1.0, 2.0]])
    # a univariate series is one channel, whether [n, length] or [n, 1, length]
    np.testing.assert_allclose(normalise_series("train", [[1.0, 3.0]], [[[2.0, 4.0]]])[1],
                               [[0.0, 2.0]])
    # a float channel constant over the training split (its computed std is ~1e-17, not 0)
    for v in (0.1, 0.3, 9.81):
        c_tr, c_te = normalise_series("train", np.full((3, 2, 4), v), np.full((1, 2, 4), v + 1))
        assert not c_tr.any() and not c_te.any()


def _channel_z(X):
    z = (X - X.mean(axis=2, keepdims=True)) / X.std(axis=2, keepdims=True)
    return z.reshape(len(X), -1)


def test_encode_timeseries_constant_series():
    out = encode_timeseries([[3.0, 3.0, 3.0], [0.1, 0.1, 0.1]], timeres=3)
    assert out.tolist() == [[3, 3, 3], [3, 3, 3]]  # z = 0 -> level 4 -> time 3
    pn = encode_timeseries([[0.1, 0.1, 0.1]], timeres=3, posneg=True)
    assert pn.tolist() == [[-1] * 6]


def test_encode_timeseries_on_real_data_ranges():
    ds = load_ucr("GunPoint")
    X = ds.X_train.copy()
    for timeres in (1, 3, 8):
        L = 2**timeres
        out = encode_timeseries(X, timeres=timeres)
        assert out.shape == X.shape and out.dtype == np.int16
        assert out.min() >= 0 and out.max() <= L - 1
        pn = encode_timeseries(X, timeres=timeres, posneg=True)
        assert pn.shape == (X.shape[0], 2 * X.shape[1]) and pn.dtype == np.int16
        assert pn.min() >= -1 and pn.max() <= L - 2
        pos, neg = pn[:, : X.shape[1]], pn[:, X.shape[1] :]
        assert not ((pos >= 0) & (neg >= 0)).any()  # never both channels
    np.testing.assert_array_equal(X, ds.X_train)  # input untouched
    a = encode_timeseries(X, timeres=3)
    np.testing.assert_array_equal(a, encode_timeseries(X, timeres=3))  # deterministic
    # larger value -> earlier (or equal) spike, within each series
    order = np.argsort(X, axis=1, kind="stable")
    assert (np.diff(np.take_along_axis(a, order, axis=1).astype(int), axis=1) <= 0).all()
    # z-normalisation: shifting and scaling a series does not change its code
    np.testing.assert_array_equal(encode_timeseries(3.0 * X + 7.0, timeres=3), a)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"timeres": 0}, "timeres=0"),
        ({"timeres": 9}, "timeres=9"),
        ({"timeres": 2.5}, "timeres=2.5"),
        ({"clip": 0}, "clip=0"),
        ({"clip": -1.0}, "clip=-1.0"),
        ({"posneg": "yes"}, "posneg='yes'"),
        ({"fields": 1}, "fields=1"),
        ({"fields": -2}, "fields=-2"),
        ({"fields": 2.5}, "fields=2.5"),
        ({"fields": 3, "posneg": True}, "fields=3 and posneg=True"),
        ({"fields": 3, "width": 0}, "width=0"),
    ],
)
def test_encode_timeseries_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        encode_timeseries([[1.0, 2.0]], **kwargs)


def test_encode_timeseries_bad_arrays():
    with pytest.raises(ConfigError, match=r"shape \(3,\)"):
        encode_timeseries([1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="non-finite"):
        encode_timeseries([[1.0, np.nan]])


# ---------------------------------------------------------------------------------------
# image encoders
# ---------------------------------------------------------------------------------------


def test_encode_images_grayscale_hand_example():
    img = np.array([[[0, 64], [128, 255]]], dtype=np.uint8)
    # per-image max 255: a = [0, .25, .50, 1] -> levels [0, 1, 2, 3] -> [-1, 2, 1, 0]
    assert encode_images_grayscale(img, timeres=2).tolist() == [[-1, 2, 1, 0]]
    # fixed scale 510: a = [0, .125, .25, .5] -> levels [0, 0, 1, 2]
    assert encode_images_grayscale(img, timeres=2, vmax=510).tolist() == [[-1, -1, 2, 1]]
    blank = encode_images_grayscale(np.zeros((1, 2, 2)), timeres=3)
    assert blank.tolist() == [[-1, -1, -1, -1]]


def test_encode_images_posneg_hand_example_and_layout():
    # max 10, threshold 5: on = [[F, F], [T, T]]; lines are (on, off) per pixel
    out = encode_images_posneg([[[0, 4], [5, 10]]], thr=0.5)
    assert out.dtype == np.int16
    assert out.tolist() == [[-1, 0, -1, 0, 0, -1, 0, -1]]
    # non-square 1x3: pixel-interleaved, so pixel w sits at lines 2w, 2w+1
    assert encode_images_posneg([[[0, 10, 0]]]).tolist() == [[-1, 0, 0, -1, -1, 0]]
    # blank image: everything off
    assert encode_images_posneg(np.zeros((1, 1, 2))).tolist() == [[-1, 0, -1, 0]]


def test_encode_images_onoff_hand_example():
    img = np.zeros((1, 3, 3))
    img[0, 1, 1] = 9.0
    # box mean (k=3, edge padding) is 1 everywhere: d = 8 at the centre, -1 elsewhere;
    # s = 8: centre on a=1 -> time 0; others off a=1/8 -> level 1 -> time 6
    out = encode_images_onoff(img, k=3, timeres=3)
    expected = np.tile(np.array([-1, 6]), (3, 3, 1))
    expected[1, 1] = [0, -1]
    assert out.shape == (1, 18) and out.dtype == np.int16
    np.testing.assert_array_equal(out.reshape(3, 3, 2), expected)
    assert encode_images_onoff(np.full((1, 4, 5), 7.0)).tolist() == [[-1] * 40]


def test_encode_images_ranges_random():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(5, 6, 7)).astype(np.float64)
    for timeres in (1, 3):
        L = 2**timeres
        g = encode_images_grayscale(img, timeres=timeres)
        o = encode_images_onoff(img, k=5, timeres=timeres)
        p = encode_images_posneg(img, thr=0.3)
        assert g.shape == (5, 42) and o.shape == (5, 84) and p.shape == (5, 84)
        assert g.min() >= -1 and g.max() <= L - 2 and o.min() >= -1 and o.max() <= L - 2
        assert set(np.unique(p)) <= {-1, 0}
        assert (g == 0).any(axis=1).all()  # each image's brightest pixel fires at 0
        on, off = o.reshape(5, 42, 2)[..., 0], o.reshape(5, 42, 2)[..., 1]
        assert not ((on >= 0) & (off >= 0)).any()
        pp = p.reshape(5, 42, 2)
        assert ((pp[..., 0] == 0) ^ (pp[..., 1] == 0)).all()  # exactly one line per pixel


def test_encode_images_bad_arguments():
    img = np.ones((1, 3, 3))
    with pytest.raises(ConfigError, match="thr=1.5"):
        encode_images_posneg(img, thr=1.5)
    with pytest.raises(ConfigError, match="thr=0"):
        encode_images_posneg(img, thr=0)
    with pytest.raises(ConfigError, match="k=4"):
        encode_images_onoff(img, k=4)
    with pytest.raises(ConfigError, match="k=1"):
        encode_images_onoff(img, k=1)
    with pytest.raises(ConfigError, match="timeres=12"):
        encode_images_grayscale(img, timeres=12)
    with pytest.raises(ConfigError, match="vmax=-3"):
        encode_images_grayscale(img, vmax=-3)
    with pytest.raises(ConfigError, match=r"shape \(3, 3\)"):
        encode_images_grayscale(np.ones((3, 3)))
    with pytest.raises(ConfigError, match="negative pixel"):
        encode_images_grayscale(-img)


# ---------------------------------------------------------------------------------------
# positions
# ---------------------------------------------------------------------------------------


def test_grid_centres():
    np.testing.assert_array_equal(grid_centres(4, 2, 2, 1), [[1.0, 1.0], [3.0, 1.0]])
    g = grid_centres(2, 2, 2, 2)  # x fastest, then y
    np.testing.assert_array_equal(g, [[0.5, 0.5], [1.5, 0.5], [0.5, 1.5], [1.5, 1.5]])
    with pytest.raises(ConfigError, match="nx=0"):
        grid_centres(1, 1, 0, 1)
    with pytest.raises(ConfigError, match="arena_w=-1"):
        grid_centres(-1, 1, 1, 1)


def test_encode_positions_hand_example():
    # a = [1, exp(-0.5)=0.61, exp(-4.5)=0.011]; L=4: levels [3, 2, 0] -> [0, 1, -1]
    out = encode_positions([[0.0, 0.0]], [[0, 0], [1, 0], [3, 0]], sigma=1.0, timeres=2)
    assert out.dtype == np.int16 and out.tolist() == [[0, 1, -1]]
    centres = grid_centres(10, 10, 5, 5)
    pos = np.random.default_rng(1).uniform(0, 10, size=(20, 2))
    t = encode_positions(pos, centres, sigma=2.0, timeres=3)
    assert t.shape == (20, 25) and t.min() >= -1 and t.max() <= 6
    # the nearest centre fires first
    nearest = np.argmin(((pos[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    first = np.where(t >= 0, t, 99).min(axis=1)
    assert (t[np.arange(20), nearest] == first).all()
    with pytest.raises(ConfigError, match="sigma=0"):
        encode_positions(pos, centres, sigma=0)
    with pytest.raises(ConfigError, match=r"pos has shape \(20, 3\)"):
        encode_positions(np.ones((20, 3)), centres, sigma=1.0)


# ---------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------


def test_metrics_hand_example():
    y_true = [0, 0, 1, 1, 2]
    y_pred = [1, 1, -1, 0, 0]
    # 10 pairs: tp=1 (the two 0s), fn=1 (the two 1s split), fp=1 (1 and 2 in cluster 0),
    # tn=7. RI = 8/10; ARI = 2(1*7 - 1*1) / ((1+1)(1+7) + (1+1)(1+7)) = 12/32.
    # purity: clusters 1 -> 2, -1 -> 1, 0 -> 1 majority: 4/5. coverage: 4/5.
    assert rand_index(y_true, y_pred) == pytest.approx(0.8, abs=0)
    assert adjusted_rand_index(y_true, y_pred) == 0.375
    assert purity(y_true, y_pred) == 0.8
    assert coverage(y_pred) == 0.8
    assert clustering_metrics(y_true, y_pred) == {
        "rand_index": 0.8,
        "adjusted_rand_index": 0.375,
        "normalized_mutual_info": pytest.approx(normalized_mutual_info(y_true, y_pred)),
        "purity": 0.8,
        "coverage": 0.8,
        "n": 5,
    }


def test_metrics_extremes():
    y = [0, 0, 1, 1, 2, 2]
    perm = [5, 5, 3, 3, 0, 0]
    assert rand_index(y, perm) == 1.0 and adjusted_rand_index(y, perm) == 1.0
    assert purity(y, perm) == 1.0
    # nothing fired: one cluster "-1"; tp=3 of 15 pairs, fn=0, fp=12, tn=0 -> RI 3/15,
    # ARI 0, purity 2/6, coverage 0
    silent = [-1] * 6
    assert rand_index(y, silent) == 3 / 15
    assert adjusted_rand_index(y, silent) == 0.0
    assert purity(y, silent) == 2 / 6
    assert coverage(silent) == 0.0
    assert rand_index([3], [-1]) == 1.0 and adjusted_rand_index([3], [-1]) == 1.0


def test_metrics_against_sklearn():
    from sklearn.metrics import adjusted_rand_score, rand_score

    rng = np.random.default_rng(42)
    for n, kt, kp in [(2, 2, 2), (10, 3, 4), (57, 2, 6), (300, 5, 3), (1000, 10, 12)]:
        for _ in range(5):
            t = rng.integers(0, kt, size=n)
            p = rng.integers(-1, kp - 1, size=n)
            assert rand_index(t, p) == pytest.approx(rand_score(t, p), rel=1e-12, abs=1e-12)
            assert adjusted_rand_index(t, p) == pytest.approx(
                adjusted_rand_score(t, p), rel=1e-12, abs=1e-12
            )
    # string true labels, and a large n where pair products exceed int64
    t = np.array(["a", "b", "c"])[rng.integers(0, 3, size=200_000)]
    p = rng.integers(-1, 4, size=200_000)
    p[:150_000] = np.searchsorted(["a", "b", "c"], t[:150_000])
    assert rand_index(t, p) == pytest.approx(rand_score(t, p), rel=1e-12)
    assert adjusted_rand_index(t, p) == pytest.approx(adjusted_rand_score(t, p), rel=1e-9)


def test_metrics_bad_arguments():
    with pytest.raises(ConfigError, match="3 samples but labels_pred has 2"):
        rand_index([0, 1, 1], [0, 1])
    with pytest.raises(ConfigError, match="contains -2"):
        coverage([0, -2])
    with pytest.raises(ConfigError, match="0 samples"):
        adjusted_rand_index([], [])
    with pytest.raises(ConfigError, match="y_true contains -1"):
        classification_error([-1, 0], [0, 0])


def test_classification_error():
    assert classification_error([0, 1, 2, 1], [0, -1, 2, 2]) == 0.5
    assert classification_error([0, 1], [0, 1]) == 0.0
    assert classification_error([0, 1], [-1, -1]) == 1.0


def test_kmeans_baseline_on_gunpoint():
    ds = load_ucr("GunPoint")
    Xtr = encode_timeseries(ds.X_train, timeres=3)
    Xte = encode_timeseries(ds.X_test, timeres=3)
    res = kmeans_baseline(Xtr, Xte, ds.y_train, ds.y_test, k=2, seed=0)
    assert set(res) == {"train", "test"}
    assert res["train"]["n"] == 50 and res["test"]["n"] == 150
    for split in ("train", "test"):
        m = res[split]
        assert 0.0 < m["rand_index"] < 1.0
        assert m["coverage"] == 1.0
        assert 0.5 <= m["purity"] <= 1.0
    assert kmeans_baseline(Xtr, Xte, ds.y_train, ds.y_test, k=2, seed=0) == res  # seeded
    with pytest.raises(ConfigError, match="k=0"):
        kmeans_baseline(Xtr, Xte, ds.y_train, ds.y_test, k=0, seed=0)
    with pytest.raises(ConfigError, match="150 features"):
        kmeans_baseline(Xtr, Xte[:, :100], ds.y_train, ds.y_test, k=2, seed=0)


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, neutnngen.data; "
        "print(sorted(m for m in ('aeon', 'sklearn', 'torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
