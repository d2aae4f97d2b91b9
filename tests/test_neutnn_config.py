"""[[layers]] configs, the greedy layer builder and the MNIST / place-cell data paths of the
driver (fast: interpreter and trainer only; the full runs are in test_examples)."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import numpy as np
import pytest

from neutnngen import config, driver
from neutnngen.errors import ConfigError
from neutnngen.frontend.build import (
    LayerPlan,
    append_layer,
    init_layer,
    layer_inputs,
    retime_between,
)
from neutnngen.ir import Interpreter, Retime, TimeSpec, check, to_text

TWO_LAYERS = {
    "experiment": {"name": "t", "seed": 3},
    "data": {"kind": "mnist", "pool": 4, "n_train": 200, "n_test": 100},
    "train": {"epochs": 1},
    "layers": [{"neurons": 3, "rfsize": 3, "stride": 2, "dendrites": 2},
               {"neurons": 10, "segments": 2, "proximal": "enable", "mu_capture": 160}],
}


def test_layers_round_trip_through_toml_and_overrides():
    cfg = config.from_dict(TWO_LAYERS)
    assert len(cfg.layers) == 2 and cfg.layers[1].proximal == "enable"
    again = config.from_dict(tomllib.loads(config.to_toml(cfg)))
    assert again == cfg
    d = config.load_dict(None, [])
    d.update({k: (list(v) if k == "layers" else v) for k, v in TWO_LAYERS.items()})
    d["layers"] = [dict(t) for t in TWO_LAYERS["layers"]]
    cfg2 = config.from_dict(config.load_dict(None, []) | d)
    assert cfg2.layers[0].neurons == 3


def test_layer_override_and_its_errors(tmp_path):
    p = tmp_path / "c.toml"
    cfg = config.from_dict(TWO_LAYERS)
    p.write_text(config.to_toml(cfg))
    c2 = config.load(p, ["layers.0.neurons=5", "layers.1.segments=3"])
    assert (c2.layers[0].neurons, c2.layers[1].segments) == (5, 3)
    with pytest.raises(ConfigError, match="index 7 does not exist"):
        config.load(p, ["layers.7.neurons=5"])
    with pytest.raises(ConfigError, match="layers.proximal='gate'; accepted: none, enable"):
        config.load(p, ["layers.1.proximal=gate"])
    with pytest.raises(ConfigError, match=r"layers\[0\].column_inhibition"):
        config.load(p, ["layers.0.column_inhibition=kwta(x)"])


@pytest.mark.parametrize("bad, msg", [
    ({"network": {"neurons": 4}}, "set neurons per layer"),
    ({"layers": [{"rfsize": 3}]}, "must be one column"),
    ({"hdl": {"weights": "learn"}}, "trained greedily"),
    ({"data": {"kind": "ucr"}, "layers": [{"rfsize": 3}, {}]}, "need images"),
    ({"data": {"kind": "mnist", "encoder": "sepia"}}, "data.encoder='sepia'"),
])
def test_bad_layer_configs_name_the_key(bad, msg):
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TWO_LAYERS.items()}
    for k, v in bad.items():
        d[k] = v if k == "layers" else {**d.get(k, {}), **v}
    with pytest.raises(ConfigError, match=msg):
        config.from_dict(d)


def test_retime_is_inserted_only_when_times_overflow():
    ts = TimeSpec(3)
    rng = np.random.default_rng(0)
    X = rng.integers(-1, 8, size=(40, 12))
    l0 = init_layer(LayerPlan("a", 3, wres=3), inputs=12, shape=None, time=ts, X=X, seed=1)
    net = append_layer(None, l0, name="n", time=ts, inputs=12)
    rt = retime_between(net, "rt")  # outputs reach 13 > 7: shift 1 maps 13 -> 6
    assert isinstance(rt, Retime) and rt.shift == 1 and rt.t_max == 7
    h = layer_inputs(net, X)
    assert h.max() <= 7 and (h >= 0).any()
    l1 = init_layer(LayerPlan("b", 2), inputs=3, shape=None, time=ts, X=h, seed=1, salt=1)
    net2 = append_layer(net, l1, name="n", time=ts, inputs=12)
    assert [type(s).__name__ for s in net2.stages] == ["Layer", "Retime", "Layer"]
    # the appended layer's calibration volleys are what the interpreter feeds it
    assert np.array_equal(Interpreter(net2).forward(X, all_layers=True)[0], Interpreter(net).forward(X))
    # SNL outputs fit without a retime
    snl = TimeSpec(3, "snl")
    l0s = init_layer(LayerPlan("a", 3), inputs=12, shape=None, time=snl, X=X, seed=1)
    assert retime_between(append_layer(None, l0s, name="n", time=snl, inputs=12), "rt") is None


def test_kernel_layers_stack_and_label_lines():
    ts = TimeSpec(3)
    X = np.random.default_rng(1).integers(-1, 8, size=(30, 7 * 7 * 2))
    l0 = init_layer(LayerPlan("f", 4, rfsize=3, stride=2), inputs=98, shape=(7, 7, 2), time=ts,
                    X=X, seed=0)
    assert len(l0.columns) == 9 and l0.kernel.window_inputs == 18
    net = append_layer(None, l0, name="n", time=ts, inputs=98)
    from neutnngen.frontend.build import layer_shape
    assert layer_shape(net, (7, 7, 2)) == (3, 3, 4)
    l1 = init_layer(LayerPlan("g", 2, rfsize=2, stride=1), inputs=36, shape=(3, 3, 4), time=ts,
                    X=layer_inputs(net, X), seed=0, salt=1)
    assert len(l1.columns) == 4
    l2 = init_layer(LayerPlan("o", 10, proximal="enable"), inputs=8, shape=None, time=ts,
                    X=np.zeros((5, 8), dtype=np.int64), seed=0, salt=2)
    assert l2.columns[0].proximal_mode == "enable" and l2.columns[0].proximal_inputs == 10
    # distinct LFSR seeds per layer and column
    seeds = {int(s) for c in l0.columns + l1.columns for s in c.random.seeds}
    assert len(seeds) == sum(c.random.seeds.size for c in l0.columns + l1.columns)
    with pytest.raises(ConfigError, match="needs an image-shaped input"):
        init_layer(LayerPlan("x", 2, rfsize=2), inputs=8, shape=None, time=ts, X=X[:, :8], seed=0)
    with pytest.raises(ConfigError, match="proximal='gate'"):
        init_layer(LayerPlan("x", 2, proximal="gate"), inputs=8, shape=None, time=ts, X=X[:, :8], seed=0)


def test_mnist_two_layer_build_train_evaluate_is_deterministic():
    cfg = config.from_dict(TWO_LAYERS)
    data = driver.prepare_data(cfg)
    assert data.shape == (7, 7, 1) and data.X_train.shape == (200, 49)
    net0, net, stats = driver.build_and_train(cfg, data, show=False)
    check(net)
    assert len(net.layers) == 2 and isinstance(net.stages[1], Retime)
    assert stats["layers"]["1"]["supervised"] and stats["layers"]["0"]["rule"] == "stdp"
    # layer 0 of the initial IR is untrained, layer 1 of the trained IR differs from its init
    assert not np.array_equal(net0.layers[1].columns[0].distal.weights,
                              net.layers[1].columns[0].distal.weights)
    ev = driver.evaluate(net, data, 0)
    m = ev["metrics"]["test"]
    assert 0.0 <= m["error"] <= 1.0 and m["decoder"].startswith("winner neuron")
    # the error is computed from the interpreter's winners
    w = driver.winners(Interpreter(net).forward(data.X_test))
    assert m["error"] == pytest.approx(float((w != data.y_test).mean()))
    assert 0 <= ev["baseline"]["nearest_centroid"]["test"]["error"] < 0.5
    _, again, _ = driver.build_and_train(cfg, data, show=False)
    assert to_text(again) == to_text(net)


def test_unsupervised_mnist_uses_majority_vote():
    out_tr = np.array([[0, -1], [-1, 2], [1, 3], [-1, -1]])
    y_tr = np.array([4, 7, 4, 1])
    pred, how = driver.classify(np.array([[5, 1], [0, 0], [-1, -1]]), False, out_tr, y_tr)
    assert list(pred) == [7, 4, -1] and "majority" in how


def test_place_cells_data_and_metrics_keys():
    cfg = config.from_dict({"data": {"kind": "place_cells", "fields": 5, "dt": 2.0},
                            "network": {"neurons": 6}, "train": {"epochs": 1}})
    data = driver.prepare_data(cfg)
    assert data.X_train.shape[1] == 25 and len(data.X_test) < len(data.X_train)
    assert "not recorded spikes" in data.info["spikes"]
    net0, net, _ = driver.build_and_train(cfg, data, show=False)
    ev = driver.evaluate(net, data, 0)
    m = ev["metrics"]["test"]
    for k in ("median_decoding_error_cm", "chance_decoding_error_cm", "coverage_arena",
              "median_field_diameter_cm"):
        assert k in m
    assert driver.primary_metric(cfg) == ("median_decoding_error_cm", False)
    with pytest.raises(ConfigError, match="place cells have no classes"):
        driver.init_network(config.from_dict({"data": {"kind": "place_cells", "dt": 2.0}}), data)


def test_nearest_centroid_baseline_hand_case():
    from neutnngen.data import nearest_centroid_baseline

    # class 0 spikes early on line 0, class 1 on line 1; silent lines count as time 8
    Xtr = np.array([[0, -1], [1, -1], [-1, 0], [-1, 2]])
    ytr = np.array([0, 0, 1, 1])
    Xte = np.array([[0, 7], [6, 1], [-1, -1]])
    r = nearest_centroid_baseline(Xtr, Xte, ytr, np.array([0, 1, 1]), timeres=3)
    # centroids (0.5, 8) and (8, 1); the silent volley (8, 8) is nearer to class 1
    assert r["test"]["error"] == 0.0
    r = nearest_centroid_baseline(Xtr, Xte, ytr, np.array([1, 1, 1]), timeres=3)
    assert r["test"]["error"] == pytest.approx(1 / 3)
    with pytest.raises(ConfigError, match="same lines"):
        nearest_centroid_baseline(Xtr, Xte[:, :1], ytr, ytr[:3], timeres=3)


def test_arena_grid_tiles_the_arena_and_area_share_counts_cells():
    from neutnngen.data import grid_centres
    from neutnngen.pipeline.tasks.place_cells import _max_share

    g = grid_centres(100.0, 50.0, 4, 4)  # the grid metrics.arena is measured on
    assert g.shape == (16, 2)
    assert sorted(set(g[:, 0].tolist())) == [12.5, 37.5, 62.5, 87.5]
    assert sorted(set(g[:, 1].tolist())) == [6.25, 18.75, 31.25, 43.75]
    # 4 neurons, one owning half the points: 2x its fair share; silent points (-1) ignored
    assert _max_share(np.array([0] * 8 + [1, 1, 2, 2, 3, 3, -1, -1]), 4) == pytest.approx(
        8 / 14 * 4)


def test_silence_warning_names_what_training_did():
    from neutnngen.frontend.init import init_column_network
    from neutnngen.ir.stages.layer.nodes import SynapseBank
    from neutnngen.pipeline.network import silence_warning

    rng = np.random.default_rng(0)
    X = rng.integers(-1, 8, (30, 6))
    net0 = init_column_network(6, 3, w_init="max", seed=0, X=X)
    assert silence_warning(net0, net0, 0.9) is None
    assert silence_warning(net0, net0, float("nan")) is None
    # training drove every weight from 7 to 1: the warning says so and names the knobs
    col = net0.layers[0].columns[0]
    low = replace(col, distal=SynapseBank(np.ones_like(col.distal.weights),
                                          col.distal.mask, col.distal.wres))
    net1 = net0.replace_layer(0, replace(net0.layers[0], columns=(low,)))
    w = silence_warning(net0, net1, 0.02)
    assert w.startswith("only 2.0% of the test samples")
    assert "mean weight 7.00 -> 1.00" in w and "mu_minus" in w
    # weights kept: the thresholds are the problem
    w = silence_warning(net0, net0, 0.1)
    assert "mean weight 7.00 -> 7.00" in w and "above what its inputs reach" in w
