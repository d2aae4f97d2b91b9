"""Pruned hardware: fewer cells, still cycle-accurate; the ``neutnngen prune`` report end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neutnngen.ir import (
    Column,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    SynapseBank,
    TimeSpec,
    check,
    default_seeds,
    load,
)
from neutnngen.passes import record_activity, run_pipeline

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ucr_gunpoint.toml"


def design(p=16, q=2, seed=5) -> Network:
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 8, size=(q, 1, 1, p))  # no zero weight: every pruned synapse is real logic
    col = Column("col0", p, SynapseBank.dense(w), np.full((q, 1, 1), 24),
                 random=RandomSource(default_seeds(q, seed)))
    return check(Network("d", TimeSpec(3), p, (Layer("L0", p, (col,), learning=LearningRule()),)))


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    from neutnngen.hdl import emit

    base = design()
    pruned = run_pipeline(base, "prune-fraction{target=0.5}").network
    assert pruned.synapses == base.synapses // 2
    root = tmp_path_factory.mktemp("rtl")
    out = {}
    for tag, net in (("base", base), ("pruned", pruned)):
        for mode in ("hardwired", "register"):
            out[tag, mode] = (net, emit(net, root / tag / mode, weights=mode))
    return out


@pytest.mark.requires_yosys
@pytest.mark.parametrize("mode", ["hardwired", "register"])
def test_pruned_rtl_has_fewer_cells(emitted, mode):
    from neutnngen.flows import synth_generic

    b = synth_generic(emitted["base", mode][1].verilog.read_text(), "neutnngen_top")
    p = synth_generic(emitted["pruned", mode][1].verilog.read_text(), "neutnngen_top")
    assert p.cells < b.cells and p.transistors < b.transistors, (mode, b.cells, p.cells)
    if mode == "register":  # one weight register less per pruned synapse (3 bits each)
        assert b.flip_flops - p.flip_flops >= 3 * 16


@pytest.mark.requires_sim
@pytest.mark.parametrize("mode", ["hardwired", "register"])
def test_pruned_design_verifies(emitted, mode, tmp_path):
    from neutnngen.verify import run_verification

    net, res = emitted["pruned", mode]
    X = np.random.default_rng(2).integers(-1, 8, size=(40, net.inputs))
    r = run_verification(net, res.verilog, res.names, X, workdir=tmp_path / "v")
    assert r.waves == 40 and r.mismatches == 0, r.first_mismatch


@pytest.mark.slow
@pytest.mark.requires_sim
@pytest.mark.requires_yosys
def test_cli_prune_gunpoint(tmp_path, capsys):
    from neutnngen import config, driver
    from neutnngen.cli import main

    out = tmp_path / "out"
    args = ["prune", str(EXAMPLE), "--sweep", "0,0.3", "--set", "train.epochs=2",
            "--set", "verify.samples=40", "--set", "synth.targets=generic", "--out", str(out),
            "--breakdown-modules", "3", "-q"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "prune-fraction{target=0.3}" in text and "prune.html" in text
    d = json.loads((out / "prune.json").read_text())
    assert d["schema"] == "neutnngen-prune/1"
    assert d["metric"] == {"key": "adjusted_rand_index", "split": "test",
                           "higher_is_better": True}
    assert [p["spec"] for p in d["points"]] == ["none", "prune-fraction{target=0}",
                                                "prune-fraction{target=0.3}"]
    none, zero, p3 = d["points"]
    base_metrics = json.loads((out / "base" / "metrics.json").read_text())
    assert none["metric"] == base_metrics["metrics"]["test"]["adjusted_rand_index"] == \
        d["base_metric"]
    assert none["synapses"] == zero["synapses"] == 300 and zero["same_design_as"] == "none"
    assert p3["synapses"] == 210 and p3["synapses_removed_share"] == pytest.approx(0.3)
    assert load(out / p3["ir"]).synapses == 210
    for p in d["points"]:
        assert p["metric_delta"] == pytest.approx(p["metric"] - none["metric"])
        for mode in ("hardwired", "register"):
            v = p["verify"][mode]
            assert v["mismatches"] == 0 and v["waves"] == 40 and v["simulator"]
            c = p["cost"][mode]["generic"]
            assert c["cells"] > 0 and c["transistors"] > 0
    # register mode: every pruned synapse loses its weight register
    assert p3["cost"]["register"]["generic"]["transistors"] < none["cost"]["register"]["generic"]["transistors"]
    assert p3["cost"]["register"]["generic"]["saving"] > 0.1
    neurons = p3["breakdown"]["neurons"]
    assert [n["synapses_before"] for n in neurons] == [150, 150]
    assert sum(n["removed"] for n in neurons) == 90
    assert len(p3["modules"]["register"]) == 3  # the column and its two neurons
    b = d["best_within_tolerance"]
    assert b["cost"] == "hardwired.generic.transistors"
    assert b["spec"] in [p["spec"] for p in d["points"] if p["within_tolerance"]]
    assert d["verified_all"] and d["mismatches_total"] == 0
    md = (out / "prune.md").read_text()
    assert "0 mismatches in total" in md and "Best within tolerance" in md
    assert (out / "plots" / "prune_curve.png").stat().st_size > 10000
    assert "data:image/png;base64" in (out / "prune.html").read_text()
    # prune-inactive's replay of the training stream is the real (exact-mode) training
    cfg = config.load(EXAMPLE, ["train.epochs=2"])
    data = driver.prepare_data(cfg)
    order = driver.training_order(len(data.X_train), 2, cfg.experiment.seed, cfg.train.shuffle)
    act = record_activity(load(out / "base" / "ir" / "initial.json"), data.X_train[order],
                          epoch_len=len(data.X_train), trained=load(out / "base" / "ir" / "model.json"))
    assert act.exact is True and act.epochs == 2
    # a rerun resumes every point
    assert main(args) == 0
    again = json.loads((out / "prune.json").read_text())
    assert [p["seconds"] for p in again["points"]] == [p["seconds"] for p in d["points"]]


def test_prune_chooses_on_the_validation_split(tmp_path, capsys):
    """With data.validation > 0 the metric that chooses (tolerance, best point) is the
    validation split's; the test split is only reported beside it."""
    from neutnngen.cli import main

    out = tmp_path / "out"
    args = ["prune", str(EXAMPLE), "--sweep", "0.5", "--set", "train.epochs=1",
            "--set", "data.validation=0.3", "--set", "verify.samples=10",
            "--set", "synth.targets=generic", "--weights", "hardwired", "--out", str(out), "-q"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "(test, held out)" in text
    d = json.loads((out / "prune.json").read_text())
    assert d["metric"]["split"] == "val"
    base = json.loads((out / "base" / "metrics.json").read_text())["metrics"]
    none = d["points"][0]
    assert none["metric"] == base["val"]["adjusted_rand_index"] == d["base_metric"]
    assert none["metric_test"] == base["test"]["adjusted_rand_index"]
    for p in d["points"]:
        assert p["metric_split"] == "val"
        assert p["metric"] == p["metrics"]["val"]["adjusted_rand_index"]
        assert p["metric_test"] == p["metrics"]["test"]["adjusted_rand_index"]
    md = (out / "prune.md").read_text()
    assert "validation split" in md and "held out" in md

