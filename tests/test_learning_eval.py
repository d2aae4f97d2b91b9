"""Honest evaluation (issue 13): the validation split carved from the training data, ARI/NMI
and the k-means / logistic baselines, and the data-seeded initial weights (M6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neutnngen import config
from neutnngen.data.metrics import kmeans_baseline, logistic_baseline
from neutnngen.errors import ConfigError
from neutnngen.frontend.init import data_prototypes, init_column_network
from neutnngen.pipeline.tasks.base import Data, carve_validation


def _data(n=30, classes=3):
    y = np.arange(n) % classes
    X = np.arange(n * 4).reshape(n, 4).astype(np.int16)
    return Data("toy", X, y, X[:6], y[:6], classes, {"n_train": n})


def test_validation_split_is_seeded_stratified_and_disjoint():
    d = _data()
    cfg = config.load(None, ["data.validation=0.3"])
    a = carve_validation(cfg, d)
    b = carve_validation(cfg, d)
    assert len(a.X_val) == 9 and len(a.X_train) == 21  # 3 of each 10-sample class
    assert np.bincount(a.y_val).tolist() == [3, 3, 3]
    assert np.array_equal(a.X_val, b.X_val)
    rows = {tuple(r) for r in np.concatenate([a.X_train, a.X_val]).tolist()}
    assert len(np.concatenate([a.X_train, a.X_val])) == 30 and a.info["n_val"] == 9
    assert rows == {tuple(r) for r in d.X_train.tolist()}
    other = carve_validation(config.load(None, ["data.validation=0.3", "experiment.seed=1"]), d)
    assert not np.array_equal(other.X_val, a.X_val)
    # the test split is untouched; 0 = no split (the data object itself)
    assert np.array_equal(a.X_test, d.X_test)
    assert carve_validation(config.load(), d) is d


def test_validation_split_contiguous_and_bad_values():
    d = _data()
    cfg = config.load(None, ["data.validation=0.2"])
    c = carve_validation(cfg, d, contiguous=True)
    assert np.array_equal(c.X_val, d.X_train[24:]) and np.array_equal(c.X_train, d.X_train[:24])
    with pytest.raises(ConfigError, match="data.validation"):
        config.load(None, ["data.validation=0.95"])


def test_kmeans_silent_as_late_and_logistic():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = np.where(y[:, None] == 0, rng.integers(0, 3, (40, 6)), -1).astype(np.int16)
    # silent lines as 8 (after the last step) separate the classes; as -1 they do too, but
    # the mapping must be what the baseline uses
    b = kmeans_baseline(X, X, y, y, 2, 0, silent=8, X_val=X[:10], y_val=y[:10])
    assert b["test"]["adjusted_rand_index"] == 1.0 and "val" in b
    assert b["test"]["normalized_mutual_info"] == pytest.approx(1.0)
    lg = logistic_baseline(X, X, y, y, 3, 0)
    assert lg["test"]["error"] == 0.0
    with pytest.raises(ConfigError, match="one class"):
        logistic_baseline(X, X, np.zeros(40, int), y, 3, 0)


def test_data_init_prototypes_are_training_volleys():
    rng = np.random.default_rng(3)
    X = rng.integers(-1, 8, (50, 12))
    net = init_column_network(12, 4, segments=2, w_init="data", seed=5, X=X)
    w = net.layers[0].columns[0].distal.weights.reshape(8, 12)
    idx = data_prototypes(X, 8, 7, np.random.default_rng(5))
    want = np.where(X[idx] < 0, 0, 7 - X[idx])
    assert np.array_equal(w, want)
    # one prototype per neuron, copied to its segments
    net2 = init_column_network(12, 4, segments=2, w_init="data_segments", seed=5, X=X)
    w2 = net2.layers[0].columns[0].distal.weights.reshape(4, 2, 12)
    assert np.array_equal(w2[:, 0], w2[:, 1])
    with pytest.raises(ConfigError, match="training volleys"):
        init_column_network(12, 4, w_init="data", seed=5)
    with pytest.raises(ConfigError, match="prototypes"):
        init_column_network(12, 60, w_init="data", seed=5, X=X)


def test_maximin_init_spreads_prototypes_over_the_range():
    """Farthest-first prototypes (w_init = data_maximin): the first volley is drawn by the
    seed, every next one is the volley farthest from those chosen, so on volleys crowded at
    one end of a line they still span the line; k-means++ draws follow the crowd."""
    # 90 volleys at t = 0 (the crowd) and one at each of t = 1 .. 7, on 3 lines
    X = np.concatenate([np.zeros((90, 3), int), np.repeat(np.arange(1, 8), 3).reshape(7, 3)])
    for seed in range(4):
        idx = data_prototypes(X, 3, 7, np.random.default_rng(seed), maximin=True)
        # a crowd volley first, then the far end, then the middle (the lower of two ties);
        # k-means++ (seed 0: t = 0, 6, 3) lands anywhere its draw takes it
        assert X[idx, 0].tolist() == [0, 7, 3]
        # the same seed gives the same prototypes
        assert np.array_equal(idx, data_prototypes(X, 3, 7, np.random.default_rng(seed),
                                                   maximin=True))
    # the k-means++ ones are the default
    assert np.array_equal(data_prototypes(X, 3, 7, np.random.default_rng(0)),
                          data_prototypes(X, 3, 7, np.random.default_rng(0), maximin=False))
    rng = np.random.default_rng(3)
    X = rng.integers(-1, 8, (50, 12))
    net = init_column_network(12, 4, segments=2, w_init="data_segments_maximin", seed=5, X=X)
    w = net.layers[0].columns[0].distal.weights.reshape(4, 2, 12)
    assert np.array_equal(w[:, 0], w[:, 1])
    idx = data_prototypes(X, 4, 7, np.random.default_rng(5), maximin=True)
    assert np.array_equal(w[:, 0], np.where(X[idx] < 0, 0, 7 - X[idx]))
    # maximin: the smallest distance between chosen prototypes is at least k-means++'s
    Xl = np.where(X < 0, 8, X)

    def min_gap(ix):
        P = Xl[ix]
        d = ((P[:, None] - P[None]) ** 2).sum(-1)
        return d[~np.eye(len(ix), dtype=bool)].min()

    for seed in range(5):
        mm = data_prototypes(X, 8, 7, np.random.default_rng(seed), maximin=True)
        kpp = data_prototypes(X, 8, 7, np.random.default_rng(seed))
        assert min_gap(mm) >= min_gap(kpp)
    # the config accepts exactly the initialisations the builder knows
    from neutnngen.config import CHOICES
    from neutnngen.frontend.init import W_INITS
    assert set(CHOICES["network.w_init"]) == set(W_INITS)
    assert set(CHOICES["layers.w_init"]) == set(W_INITS) | {""}
    net = init_column_network(12, 8, w_init="data_maximin", seed=5, X=X)
    assert net.layers[0].columns[0].distal.weights.shape == (8, 1, 1, 12)
    with pytest.raises(ConfigError, match="prototypes"):
        init_column_network(12, 60, w_init="data_maximin", seed=5, X=X)


def test_uniform_init_unchanged():
    """With w_init = uniform the weights are the seeded integers they always were."""
    net = init_column_network(10, 3, seed=7)
    want = np.random.default_rng(7).integers(0, 8, size=(3, 1, 1, 10))
    assert np.array_equal(net.layers[0].columns[0].distal.weights, want)


def test_mu_decay_equals_epochwise_training_with_shifted_rules():
    """M4: train.mu_decay trains epoch e with mu >> min(e // every, max); the result equals
    training epoch by epoch with those rules by hand (LFSR states carry over), and differs
    from no decay. With win-rate counters and relative thresholds it is one run (they carry
    over too): the interpreter stepping wave by wave with Interpreter.step(mu_shift=...)
    ends with the same weights and thresholds."""
    from dataclasses import replace

    from neutnngen.model import train
    from neutnngen.pipeline.network import (
        init_network,
        train_network,
        training_order,
    )

    rng = np.random.default_rng(0)
    y = np.arange(24) % 2
    X = rng.integers(-1, 8, (24, 10)).astype(np.int16)
    d = Data("toy", X, y, X[:6], y[:6], 2, {})
    cfg = config.load(None, ["network.neurons=2", "train.epochs=3", "train.mu_decay=1,2"])
    net0 = init_network(cfg, d)
    got, st = train_network(cfg, net0, d, show=False)
    order = training_order(24, 3, 0, True)
    cur = net0
    rule = net0.layers[0].learning
    for e in range(3):
        cur = cur.replace_layer(0, replace(cur.layers[0], learning=rule.shifted(min(e, 2))))
        cur = train(cur, X[order[e * 24:(e + 1) * 24]], epochs=1).network
    np.testing.assert_array_equal(got.layers[0].columns[0].distal.weights,
                                  cur.layers[0].columns[0].distal.weights)
    assert got.layers[0].learning == rule and st["waves"] == 72
    plain, _ = train_network(config.load(None, ["network.neurons=2", "train.epochs=3"]), net0,
                             d, show=False)
    assert not np.array_equal(plain.layers[0].columns[0].distal.weights,
                              got.layers[0].columns[0].distal.weights)
    with pytest.raises(ConfigError, match="mu_decay"):
        config.load(None, ["train.mu_decay=1"])
    from neutnngen.ir import Interpreter, to_text

    cfg = config.load(None, ["network.neurons=3", "train.epochs=3", "train.mu_decay=1,2",
                             "train.homeostasis=winrate", "train.h_shift=1",
                             "network.theta_mode=relative"])
    net0 = init_network(cfg, d)
    got, _ = train_network(cfg, net0, d, show=False)
    it = Interpreter(net0)
    for w, s in enumerate(order):
        it.step(X[s], learn=True, mu_shift=min(w // 24, 2))
    assert to_text(it.network()) == to_text(got)
    # restarting the counters and offsets every epoch (one train call each) differs here
    cur, rule = net0, net0.layers[0].learning
    for e in range(3):
        cur = cur.replace_layer(0, replace(cur.layers[0], learning=rule.shifted(min(e, 2))))
        cur = train(cur, X[order[e * 24:(e + 1) * 24]], epochs=1).network
    cur = cur.replace_layer(0, replace(cur.layers[0], learning=rule))
    assert to_text(cur) != to_text(got)


@pytest.mark.parametrize("overrides,key", [
    (["network.tie=first"], "network.tie"),
    (["train.w_norm=-1"], "train.w_norm"),
    (["network.theta_mode=relative", "network.theta=40"], "network.theta"),
    (["network.theta_cal=top"], "network.theta_cal"),
    (["train.h_shift=40"], "train.h_shift"),
    (["network.w_init=prototype"], "network.w_init"),
])
def test_mechanism_config_keys_are_validated(overrides, key):
    with pytest.raises(ConfigError) as e:
        config.load(None, overrides)
    assert key in str(e.value)


def test_relative_thresholds_and_winrate_are_accepted_on_chip():
    """M2 and M5 have learn-mode RTL (tests/test_learn.py), so a learn config takes them."""
    cfg = config.load(None, ["network.theta_mode=relative", "train.homeostasis=winrate",
                             "hdl.weights=learn"])
    assert (cfg.network.theta_mode, cfg.train.homeostasis) == ("relative", "winrate")


def test_mechanisms_off_by_default_build_the_same_network():
    """Every mechanism off (the defaults): the IR text has none of the new fields."""
    from neutnngen.ir import to_text
    from neutnngen.pipeline.network import init_network

    d = _data()
    net = init_network(config.load(None, ["network.neurons=2"]), d)
    txt = to_text(net)
    for field in ("tie=", "theta=relative", "homeostasis=", "targeted"):
        assert field not in txt
    on = init_network(config.load(None, [
        "network.neurons=2", "network.tie=overshoot", "network.theta_mode=relative",
        "train.homeostasis=winrate", "train.rule=targeted", "network.w_init=data"]), d)
    txt = to_text(on)
    for field in ("tie=overshoot", "theta=relative", "homeostasis=winrate", "targeted"):
        assert field in txt


def test_ucr_population_code_through_the_pipeline():
    """data.grf = 3: three Gaussian receptive fields per sample reach the network as
    3 x length input lines; the report names the code; the same config encodes the same."""
    from neutnngen.data import encode_timeseries, load_ucr
    from neutnngen.pipeline import get_task

    cfg = config.load(None, ["data.name=GunPoint", "data.grf=3", "network.neurons=2"])
    task = get_task(cfg)
    d = task.prepare(cfg)
    ds = load_ucr("GunPoint")
    assert d.X_train.shape == (len(ds.X_train), 3 * ds.length)
    np.testing.assert_array_equal(d.X_test, encode_timeseries(ds.X_test, timeres=3, fields=3))
    assert d.info["inputs"] == 3 * ds.length
    assert "grf=3" in d.info["encoder"]
    np.testing.assert_array_equal(task.prepare(cfg).X_train, d.X_train)


def test_ucr_random_projections_through_the_pipeline():
    """data.projections = 24 (with grf = 2): 24 seeded projections per series, each coded by
    two receptive fields; the seed picks the projection, the same seed repeats it."""
    from neutnngen.data import encode_timeseries, load_ucr, project_series
    from neutnngen.pipeline import get_task

    ov = ["data.name=GunPoint", "data.projections=24", "data.grf=2", "network.neurons=2"]
    cfg = config.load(None, ov + ["experiment.seed=5"])
    task = get_task(cfg)
    d = task.prepare(cfg)
    ds = load_ucr("GunPoint")
    assert d.X_train.shape == (len(ds.X_train), 48) and d.info["inputs"] == 48
    want = encode_timeseries(project_series(ds.X_test, 24, 5), timeres=3, fields=2)
    np.testing.assert_array_equal(d.X_test, want)
    assert "projections=24, seed=5" in d.info["encoder"]
    other = task.prepare(config.load(None, ov + ["experiment.seed=6"]))
    assert not np.array_equal(other.X_train, d.X_train)
    # the raw-series k-means baseline still sees the series, not the projections
    assert d.extra["raw_train"].shape[1] == ds.length


def test_ucr_spectrum_front_end_through_the_pipeline():
    """data.spectrum = 16: each series becomes the magnitudes of its Fourier coefficients
    1 .. 16 (all 12 for ItalyPowerDemand's 24 samples), coded like a series; the report names
    it, and the raw-series k-means baseline still sees the series."""
    from neutnngen.data import encode_timeseries, load_ucr, spectrum_series
    from neutnngen.pipeline import get_task

    cfg = config.load(None, ["data.name=GunPoint", "data.spectrum=16", "network.neurons=2"])
    d = get_task(cfg).prepare(cfg)
    ds = load_ucr("GunPoint")
    assert d.X_test.shape == (len(ds.X_test), 16) and d.info["inputs"] == 16
    np.testing.assert_array_equal(d.X_test, encode_timeseries(spectrum_series(ds.X_test, 16)))
    assert "spectrum=16, spectrum_log=False" in d.info["encoder"]
    assert d.extra["raw_train"].shape[1] == ds.length
    # a circular shift of every test series leaves its code as it was
    shifted = np.roll(ds.X_test, 40, axis=1)
    np.testing.assert_array_equal(encode_timeseries(spectrum_series(shifted, 16)), d.X_test)
    cfg = config.load(None, ["data.name=ItalyPowerDemand", "data.spectrum=16",
                             "data.spectrum_log=true", "network.neurons=2"])
    assert get_task(cfg).prepare(cfg).X_train.shape[1] == 12


def test_weight_map_says_what_its_input_lines_are():
    """The report's weight map names the code of the lines its column sees (it used to call
    every line a sample of the series, also for spectra, pixels and place fields)."""
    from neutnngen.pipeline import get_task
    from neutnngen.pipeline.network import build_and_train
    from neutnngen.report.write import weights_xlabel

    cfg = config.load(None, ["data.name=GunPoint", "data.spectrum=16", "network.neurons=2",
                             "train.epochs=0"])
    d = get_task(cfg).prepare(cfg)
    _, net, _ = build_and_train(cfg, d, show=False)
    assert weights_xlabel(net, d) == f"input line: {d.info['encoder']}"
    assert "spectrum=16" in weights_xlabel(net, d)
    example = Path(__file__).resolve().parents[1] / "examples/mnist_neutnn.toml"
    cfg = config.load(example, ["data.pool=4", "data.n_train=50", "data.n_test=20",
                                "layers.0.epochs=0", "layers.1.epochs=0"])
    d = get_task(cfg).prepare(cfg)
    _, net, _ = build_and_train(cfg, d, show=False)  # 5x5 windows: the first column sees 25 of the 49 pixels
    assert weights_xlabel(net, d) == "input line of the column"


def test_ucr_multivariate_set_through_the_pipeline():
    """A multivariate UEA set (BasicMotions, 6 channels x 100 samples, shipped with aeon)
    reaches the column as 600 lines, each channel z-normalised on its own; the network
    trains and is scored against both k-means baselines on the same 600 numbers."""
    from neutnngen.data import encode_timeseries, load_ucr
    from neutnngen.pipeline import get_task
    from neutnngen.pipeline.network import build_and_train

    cfg = config.load(None, ["data.name=BasicMotions", "network.neurons=0", "train.epochs=2"])
    task = get_task(cfg)
    d = task.prepare(cfg)
    ds = load_ucr("BasicMotions")
    assert d.X_train.shape == (40, 600) and d.info["inputs"] == 600
    assert (d.info["channels"], d.info["length"]) == (6, 100)
    np.testing.assert_array_equal(d.X_test[:, 100:200], encode_timeseries(ds.X_test[:, 1], 3))
    raw = d.extra["raw_train"]
    assert raw.shape == (40, 600)
    np.testing.assert_allclose(raw.reshape(40, 6, 100).std(axis=2), 1.0)
    _, net, _ = build_and_train(cfg, d, show=False)
    assert net.outputs == 4  # one neuron per class
    ev = task.evaluate(net, d, 0)
    assert -1 <= ev["metrics"]["test"]["adjusted_rand_index"] <= 1
    assert set(ev["baseline"]) == {"kmeans", "kmeans_raw"}


def test_ucr_normalise_train_keeps_amplitudes():
    """data.normalise = train: each channel of BasicMotions scaled by its training-split
    statistics (a standing subject's small accelerations stay small), for the code and for
    the raw-series baseline alike; the report's encoder line says so."""
    from neutnngen.data import encode_timeseries, load_ucr, normalise_series
    from neutnngen.pipeline import get_task

    cfg = config.load(None, ["data.name=BasicMotions", "data.normalise=train",
                             "network.neurons=0"])
    d = get_task(cfg).prepare(cfg)
    ds = load_ucr("BasicMotions")
    ztr, zte = normalise_series("train", ds.X_train, ds.X_test)
    np.testing.assert_array_equal(d.X_test, encode_timeseries(zte, 3, normalise=False))
    np.testing.assert_array_equal(d.extra["raw_train"], ztr)
    assert "normalise=train" in d.info["encoder"]
    per_series = get_task(config.load(None, ["data.name=BasicMotions"])).prepare(
        config.load(None, ["data.name=BasicMotions"]))
    assert not np.array_equal(per_series.X_train, d.X_train)
    # the amplitude survives: series differ in loudness under train, not under series
    loud = np.abs(ztr.reshape(40, 6, 100)).mean(axis=2)[:, 0]
    assert loud.max() > 5 * loud.min()
    # with projections too: the features are scaled by their training-split statistics,
    # so a loud and a quiet series of the same shape get different codes
    from neutnngen.pipeline.tasks.base import encode_series

    pcfg = config.load(None, ["data.normalise=train", "data.projections=16"])
    x = np.sin(np.linspace(0, 6, 50))[None, :]
    (a, b), desc = encode_series(pcfg, np.vstack([x, 5 * x]), np.vstack([x, 5 * x]))
    assert not np.array_equal(a[0], a[1]) and desc.startswith("timeseries(normalise=train, ")
    (a, _), _ = encode_series(config.load(None, ["data.projections=16"]),
                              np.vstack([x, 5 * x]), x)
    np.testing.assert_array_equal(a[0], a[1])  # per series: loudness is gone


def test_ucr_cluster_default_is_the_arrowhead_mechanism_set():
    """examples/ucr_cluster.toml (the one config bench_learning runs on every UCR set)
    learns with exactly the mechanisms the ArrowHead example ships, one neuron per class."""
    from dataclasses import replace

    ex = Path(__file__).resolve().parents[1] / "examples"
    c = config.load(ex / "ucr_cluster.toml", [])
    a = config.load(ex / "ucr_arrowhead.toml", [])
    assert c.network.neurons == 0 and c.data.name == "GunPoint" and not c.data.posneg
    assert c.train == a.train
    assert c.network == replace(a.network, neurons=0)


def test_ucr_cluster_grf_is_the_config_bench_learning_runs_as_grf3():
    """examples/ucr_cluster_grf.toml (the Gaussian-field code's default) is exactly the
    bipolar default plus bench_learning's grf3 keys, so the benchmark's grf3 row measures
    the shipped file."""
    import sys
    from dataclasses import replace

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    from bench_learning import ENCODINGS, UCR_BASE

    g = config.load(root / "examples" / "ucr_cluster_grf.toml", [])
    b = config.load(root / UCR_BASE, ENCODINGS["grf3"])
    assert g.data.grf == 3 and g.network.dendrites == 2 and g.train.epochs == 20
    assert g.network.w_init == "data_segments"
    assert g == replace(b, experiment=replace(b.experiment, name="ucr_cluster_grf"))
