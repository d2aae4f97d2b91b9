"""The ``lut`` stage kind (docs/model.md §12), a spiking look-up table, at every level: the
code and output definitions bit for bit, text and JSON round trips, every verifier
diagnostic, interpreter == torch, the seeded table training, the Amaranth simulator and the
generated Verilog against the interpreter, the config keys and the example."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_column_net

from neutnngen import config as cfgmod
from neutnngen.errors import ConfigError, IRFormatError
from neutnngen.frontend import from_torch, to_torch
from neutnngen.frontend.build import append_lut, readout_layer
from neutnngen.ir import (
    NONE,
    Inhibition,
    Interpreter,
    Network,
    TimeSpec,
    load,
    parse,
    save,
    to_text,
    verify,
)
from neutnngen.ir.kinds import kind_named
from neutnngen.ir.nodes import Lut
from neutnngen.ir.stages.lut import code_bits, lut, lut_codes, lut_votes, pairs
from neutnngen.model.stages.lut import TNNLut, choose_lines, fill_tables, train_lut

ROOT = Path(__file__).resolve().parents[1]


def times(n: int, lines: int, seed: int = 1, hi: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(-1, hi, size=(n, lines))


def toy_lut(width: int = 12, tables: int = 5, k: int = 3, outputs: int = 3, seed: int = 0,
            **kw) -> Lut:
    rng = np.random.default_rng(seed)
    lines = choose_lines(width, tables, k, seed)
    table = rng.integers(0, 8, size=(tables, 1 << code_bits(k), outputs))
    return Lut("lut0", lines, table, **kw)


def lut_net(seed: int = 0, **kw) -> Network:
    return append_lut(None, toy_lut(seed=seed, **kw), readout="wta", name="toy",
                      time=TimeSpec(), inputs=12)


def deep_net(seed: int = 0) -> Network:
    """layer0 (12 -> 4, no inhibition, times up to 13, no retime: the lut compares times)
    -> lut -> wta."""
    base = make_column_net(p=12, q=4, seed=seed, learning=False, theta=24)
    la = base.layers[0]  # no inhibition: the lut sees every neuron's time
    base = base.replace_layer(0, replace(la, columns=(
        replace(la.columns[0], column_inhibition=Inhibition("none")),)))
    lu = Lut("lut0", choose_lines(4, 6, 3, seed),
             np.random.default_rng(seed).integers(0, 8, size=(6, 8, 2)))
    return append_lut(base, lu, readout="wta", name="deep", time=TimeSpec(), inputs=12)


# ----------------------------------------------------------------------------- definitions
def test_code_bits_order_ties_and_silent_lines():
    assert pairs(3) == [(0, 1), (0, 2), (1, 2)] and code_bits(4) == 6
    lines = np.array([[0, 1, 2]])
    x = np.array([
        [1, 2, 3],  # 0<1, 0<2, 1<2: bits 0, 1, 2
        [3, 2, 1],  # none earlier in pair order
        [2, 2, 5],  # tie (0,1) -> 0; 0<2, 1<2
        [4, -1, -1],  # a spike is earlier than a silent line; two silent lines tie
        [-1, -1, -1],  # all silent
        [-1, 0, 0],  # a silent first line is never earlier
    ])
    np.testing.assert_array_equal(lut_codes(x, lines)[:, 0], [0b111, 0, 0b110, 0b011, 0, 0])
    # the table's line order matters, not the line numbers
    np.testing.assert_array_equal(lut_codes(x, np.array([[2, 1, 0]]))[:, 0],
                                  [0, 0b111, 0, 0, 0, 0b110])


def test_votes_and_output_times():
    # one table over lines (0, 1): code 1 when line 0 is earlier
    table = np.array([[[0, 0, 0], [5, 1, 3]]])
    node = Lut("l", [[0, 1]], table, vbits=3, theta=2, shift=1, t_max=1)
    x = np.array([[0, 1], [1, 0]])
    np.testing.assert_array_equal(lut_votes(x, node), [[5, 1, 3], [0, 0, 0]])
    # S = (5, 1, 3): top 5, margins (0, 4, 2) >> 1 = (0, 2, 1), t_max 1; S < theta=2: NONE
    np.testing.assert_array_equal(lut(x, node), [[0, NONE, 1], [NONE, NONE, NONE]])
    two = Lut("l", [[0, 1], [1, 0]], np.concatenate([table, table]), t_max=7)
    # both tables vote: codes (1, 0) -> S = (5, 1, 3); (0, 1) -> S = (5, 1, 3)
    np.testing.assert_array_equal(lut(x, two), [[0, 4, 2], [0, 4, 2]])


def test_training_counts_classes_per_code_and_is_seeded():
    X = np.array([[0, 1], [0, 1], [0, 1], [1, 0], [-1, -1]])
    y = np.array([0, 0, 1, 1, 1])
    # code 1 (line 0 first): classes 0, 0, 1 -> 7*2/3 = 4.67 -> 5, 7*1/3 = 2.33 -> 2;
    # code 0: classes 1, 1 -> (0, 7)
    np.testing.assert_array_equal(fill_tables(np.array([[0, 1]]), X, y, 2, 3),
                                  [[[0, 7], [5, 2]]])
    a = choose_lines(20, 6, 4, seed=3)
    assert a.shape == (6, 4) and all(len(set(r)) == 4 for r in a)
    np.testing.assert_array_equal(a, choose_lines(20, 6, 4, seed=3))
    assert (a != choose_lines(20, 6, 4, seed=4)).any()
    Xr = times(200, 20)
    y = (Xr[:, 3] < Xr[:, 7]).astype(int)
    t1 = train_lut("l", Xr, y, outputs=2, tables=6, k=3, seed=3)
    assert to_text(Network("n", TimeSpec(), 20, (t1, readout_layer("r", 2)))) == to_text(
        Network("n", TimeSpec(), 20, (train_lut("l", Xr, y, outputs=2, tables=6, k=3, seed=3),
                                      readout_layer("r", 2))))
    with pytest.raises(ValueError, match="k=7; expected 2..6"):
        choose_lines(20, 2, 7, 0)
    with pytest.raises(ValueError, match="k=4 lines per table but the stage sees only 3"):
        choose_lines(3, 2, 4, 0)
    with pytest.raises(ValueError, match="labels reach 2; expected 0..1"):
        fill_tables(np.array([[0, 1]]), X, np.array([0, 1, 2, 0, 0]), 2, 3)


def test_a_table_learns_a_spike_order_rule():
    """A task decided by which of two lines spikes first: tables that read both lines
    answer it; the readout column turns the votes into the class's spike."""
    X = times(400, 8, seed=5)
    X[:, 2] = np.where(X[:, 2] == X[:, 5], -1, X[:, 2])
    y = ((X[:, 2] >= 0) & ((X[:, 5] < 0) | (X[:, 2] < X[:, 5]))).astype(int)
    node = Lut("l", [[2, 5], [0, 1]], fill_tables(np.array([[2, 5], [0, 1]]), X, y, 2, 3))
    net = Network("n", TimeSpec(), 8, (node, readout_layer("wta", 2)))
    out = Interpreter(net).forward(X)
    assert ((out >= 0).sum(axis=1) == 1).all()  # one spike: the winner
    assert (out.argmax(axis=1) == y).mean() == 1.0


# ----------------------------------------------------------------------------- IR level
def test_text_and_json_round_trips(tmp_path):
    net = lut_net()
    assert verify(net) == []
    t = to_text(net)
    assert '  lut name="lut0" vbits=3 theta=1 shift=0 t_max=7 outputs=3' in t
    assert "    table lines=[" in t and t.count("    table lines=") == 5
    assert to_text(parse(t)) == t
    p = save(net, tmp_path / "toy")
    doc = json.loads(p.read_text())
    assert doc["stages"][0] == {"type": "lut", "name": "lut0", "vbits": 3, "theta": 1,
                                "shift": 0, "t_max": 7, "lines": "s0/lines",
                                "table": "s0/table"}
    with np.load(p.with_suffix(".npz")) as z:
        np.testing.assert_array_equal(z["s0/table"], net.stages[0].table)
        assert z["s0/table"].dtype == np.uint8
    back = load(p)
    assert to_text(back) == t
    b1 = p.read_bytes(), p.with_suffix(".npz").read_bytes()
    save(back, tmp_path / "toy")
    assert (p.read_bytes(), p.with_suffix(".npz").read_bytes()) == b1
    # the schema: a vote file beyond 8 bits is refused with its path
    doc["stages"][0]["vbits"] = 9
    p.write_text(json.dumps(doc))
    with pytest.raises(IRFormatError, match=r"stages\[0\]\.vbits"):
        load(p)


def test_text_errors_name_the_line():
    t = to_text(lut_net())
    with pytest.raises(IRFormatError, match="a lut holds only table lines"):
        parse(t.replace("    table lines=", "    tabel lines=", 1))
    bad = t.replace("outputs=3", "outputs=5", 1)
    with pytest.raises(IRFormatError, match="line 4: 24 votes are not a multiple of outputs=5"):
        parse(bad)


def test_every_verifier_diagnostic():
    net = lut_net()
    good = net.stages[0]

    def msgs(node, stages=None):
        return [d.message for d in verify(replace(net, stages=(node, *net.stages[1:])))]

    assert any("lines has shape (5,); expected (tables, k) with tables >= 1 and k = 2..6" in m
               for m in msgs(replace(good, lines=np.arange(5))))
    assert any("lines has shape (2, 7)" in m for m in msgs(replace(good, lines=np.zeros((2, 7)))))
    lines = good.lines.copy()
    lines[1, 2] = 12
    assert "lines[1][2]=12 out of range; expected 0..11 (a line of the previous stage)" in msgs(
        replace(good, lines=lines))
    lines = good.lines.copy()
    lines[3, 1] = lines[3, 0]
    assert f"table 3 reads line {lines[3, 0]} twice; expected 3 distinct lines" in msgs(
        replace(good, lines=lines))
    assert any("table has shape (5, 4, 3); expected (5, 8, outputs >= 1)" in m
               for m in msgs(replace(good, table=good.table[:, :4])))
    tb = good.table.copy()
    tb[2, 5, 1] = 8
    assert "table[2][5][1]=8 out of range; expected 0..7 (vbits=3)" in msgs(replace(good, table=tb))
    assert "vbits=0; expected 1..8" in msgs(replace(good, vbits=0))
    assert "theta=0; expected >= 1" in msgs(replace(good, theta=0))
    assert "shift=17; expected 0..16" in msgs(replace(good, shift=17))
    assert "t_max=8 out of range; expected 0..7 (the next layer's t_max_in)" in msgs(
        replace(good, t_max=8))
    # a lut without a layer after it: the network has no layer
    alone = Network("n", TimeSpec(), 12, (good,))
    assert [d.message for d in verify(alone)] == ["network has no layer"]


# ----------------------------------------------------------------------------- interpreter == torch
@pytest.mark.parametrize("make", [lut_net, deep_net])
def test_interpreter_equals_torch(make):
    net = make()
    X = times(400, 12, seed=2)
    want = Interpreter(net).forward(X, all_layers=True)
    model = to_torch(net)
    assert any(isinstance(m, TNNLut) for m in model.stages)
    got = model(torch.as_tensor(X), all_layers=True)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g.numpy(), w)
    assert to_text(from_torch(model)) == to_text(net)
    node = net.stages[-2]
    h = X if make is lut_net else Interpreter(net).forward(X, all_layers=True)[0]
    np.testing.assert_array_equal(TNNLut("l", node.lines, node.table, 3, 2, 1, 5)(
        torch.as_tensor(h)).numpy(), lut(h, replace(node, theta=2, shift=1, t_max=5)))


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_training_a_layer_behind_a_lut_is_bit_exact(backend):
    """The trainer runs a learning TNN layer on the lut's volleys exactly like the
    interpreter (the lut itself does not learn online: its tables stay)."""
    from neutnngen.ir import Column, Layer, LearningRule, RandomSource, SynapseBank, default_seeds
    from neutnngen.model import train

    lu = toy_lut(outputs=4)
    rng = np.random.default_rng(3)
    col = Column("c", 4, SynapseBank.dense(rng.integers(2, 8, (3, 1, 1, 4))), np.full((3, 1, 1), 6),
                 random=RandomSource(default_seeds(3, 5)))
    net = Network("n", TimeSpec(), 12, (lu, Layer("layer1", 4, (col,), learning=LearningRule())))
    X = times(150, 12, seed=6)
    res = train(net, X, epochs=1, backend=backend, device="cpu")
    it = Interpreter(net)
    it.run(X, learn=True)
    assert to_text(res.network) == to_text(it.network())
    assert (res.network.layers[0].columns[0].distal.weights != col.distal.weights).any()
    np.testing.assert_array_equal(res.network.stages[0].table, lu.table)


def test_kind_structure():
    k = kind_named("lut")
    node = toy_lut()
    assert not k.is_layer and k.outputs(node, 12) == 3 and k.synapses(node) == 0
    assert k.max_time(node, TimeSpec(), 13) == 7 and node.table_bits == 5 * 8 * 3 * 3


# ----------------------------------------------------------------------------- HDL
@pytest.mark.parametrize("weights", ["hardwired", "register"])
@pytest.mark.parametrize("make", [lut_net, deep_net])
def test_amaranth_simulator_equals_interpreter(make, weights):
    from neutnngen.hdl import make_plan, simulate

    net = make()
    plan = make_plan(net, weights)
    st = next(s for s in plan.built if s.kind == "lut")
    assert st.beat_out.lines == net.stages[st.position].outputs
    X = times(60, 12, seed=3)
    want = Interpreter(net).forward(X)
    np.testing.assert_array_equal(simulate(net, X, weights), want)
    np.testing.assert_array_equal(simulate(net, X, weights, backpressure=0.5, seed=2), want)


@pytest.mark.parametrize("arch", ["parallel", "pipelined"])
@pytest.mark.parametrize("make", [lut_net, deep_net])
def test_other_layer_architectures_around_a_lut(make, arch):
    from neutnngen.hdl import make_plan, simulate
    from neutnngen.hdl.top import Top

    net = make()
    X = times(40, 12, seed=3)
    top = Top(make_plan(net, "hardwired", architecture=arch))
    np.testing.assert_array_equal(simulate(net, X, "hardwired", top=top),
                                  Interpreter(net).forward(X))


@pytest.mark.requires_sim
def test_lut_verified_in_icarus(tmp_path):
    """The generated Verilog against the interpreter, at full rate (latency checked) and
    under backpressure; a design with other votes is caught."""
    from neutnngen.hdl import emit
    from neutnngen.verify import run_verification

    net = deep_net(seed=1)
    X = times(80, 12, seed=4)
    mid = Interpreter(net).forward(X, all_layers=True)[0]
    assert (mid > 7).any()  # the layer's raw times reach the lut (no retime)
    res = emit(net, tmp_path / "rtl")
    assert "lut1" in res.verilog.read_text()
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w")
    assert r.passed and r.waves == 80, r.first_mismatch
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w2", backpressure=0.4, gaps=0.3, seed=7)
    assert r.passed and r.waves == 80, r.first_mismatch
    lu = net.stages[-2]
    other = replace(net, stages=(*net.stages[:-2], replace(lu, table=lu.table[:, ::-1]),
                                 net.stages[-1]))
    assert (Interpreter(other).forward(X) != Interpreter(net).forward(X)).any()
    r = run_verification(other, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w3")
    assert r.mismatches > 0


# ----------------------------------------------------------------------------- config
BASE = {"experiment": {"name": "t"}, "data": {"kind": "ucr", "name": "GunPoint"}}


def cfg_of(*layers: dict):
    return cfgmod.from_dict({**BASE, "layers": list(layers)})


@pytest.mark.parametrize("layers, match", [
    ([{"kind": "lutt", "tables": 4}], r"^layers\.kind='lutt'; accepted: tnn, lut$"),
    ([{"kind": "lut"}], r"^layers\.0\.tables=0: a lut layer needs tables >= 1$"),
    ([{"kind": "lut", "tables": 4, "k": 7}], r"^layers\.k=7 out of range; expected 2\.\.6$"),
    ([{"kind": "lut", "tables": 4, "vbits": 0}], r"^layers\.vbits=0 out of range; expected 1\.\.8$"),
    ([{"kind": "lut", "tables": 4}, {"neurons": 2}],
     r"^layers\.0\.kind='lut': a lut layer votes for the classes, so it must be the last "
     r"\[\[layers\]\] table \(it is 0 of 0\.\.1\)$"),
    ([{"kind": "lut", "tables": 4, "segments": 3}],
     r"^layers\.0\.segments=3 is a key of a TNN layer; a lut layer \(kind='lut'\) does not take it$"),
    ([{"neurons": 2, "tables": 4}],
     r"^layers\.0\.tables=4 is a key of a lut layer; set layers\.0\.kind='lut' or remove it$"),
])
def test_bad_lut_config_values(layers, match):
    with pytest.raises(ConfigError) as e:
        cfg_of(*layers)
    assert re.search(match, e.value.message), e.value.message  # one line, naming the value


def test_the_example_config_reads():
    cfg = cfgmod.load(ROOT / "examples" / "lut_gunpoint.toml")
    (lc,) = cfg.layers
    assert (lc.kind, lc.tables, lc.k, lc.vbits) == ("lut", 16, 4, 3)


def test_example_reduced_trains_compiles_and_verifies(tmp_path):
    """examples/lut_gunpoint.toml with 8 tables: the built network, its metrics, a bad
    neurons value and a lut layer on data without labels, RTL == interpreter."""
    from neutnngen.hdl import emit
    from neutnngen.pipeline.network import build_and_train, ir_summary
    from neutnngen.pipeline.tasks import get_task
    from neutnngen.verify import run_verification

    cfg = cfgmod.load(ROOT / "examples" / "lut_gunpoint.toml", ["layers.0.tables=8"])
    task = get_task(cfg)
    data = task.prepare(cfg)
    net0, net, stats = build_and_train(cfg, data, show=False)
    assert [type(s).__name__ for s in net.stages] == ["Lut", "Layer"]
    assert stats["layers"]["0"]["table_bits"] == 8 * 64 * 2 * 3
    summary = ir_summary(net)
    assert (summary["lut_tables"], summary["lut_table_bits"]) == (8, 8 * 64 * 2 * 3)
    assert "lut_tables" not in ir_summary(make_column_net())
    again = build_and_train(cfg, data, show=False)[1]
    assert to_text(again) == to_text(net)  # seeded
    ev = task.evaluate(net, data, cfg.experiment.seed)
    assert ev["metrics"]["test"]["purity"] > 0.6
    bad = cfgmod.load(ROOT / "examples" / "lut_gunpoint.toml", ["layers.0.neurons=3"])
    with pytest.raises(ConfigError, match=r"layers\.0\.neurons=3: a lut layer votes for the "
                                          r"classes, so it needs one output line per class \(2\)$"):
        build_and_train(bad, data, show=False)
    wide = cfgmod.load(ROOT / "examples" / "lut_gunpoint.toml", ["layers.0.k=6"])
    narrow = replace(data, X_train=data.X_train[:, :5])
    with pytest.raises(ConfigError, match=r"layers\.0\.k=6: a table reads k distinct lines, "
                                          r"but the layer sees only 5$"):
        build_and_train(wide, narrow, show=False)
    res = emit(net, tmp_path / "rtl")
    X = data.X_test[:40]
    r = run_verification(net, res.verilog, res.names, X, workdir=tmp_path / "w")
    assert r.passed and r.waves == 40 and r.mismatches == 0, r.first_mismatch


@pytest.mark.slow
@pytest.mark.requires_sim
@pytest.mark.requires_yosys
def test_example_runs_end_to_end_through_the_cli(tmp_path):
    """``neutnngen run examples/lut_gunpoint.toml`` with 4 tables and generic synthesis:
    train (fill the tables) -> IR -> compile -> verify on every test wave -> synth -> report."""
    from neutnngen.cli import main

    out = tmp_path / "o"
    assert main(["run", str(ROOT / "examples" / "lut_gunpoint.toml"), "--out", str(out), "-q",
                 "--set", "layers.0.tables=4", "--set", "synth.targets=generic"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["verify"]["waves"] == 150 and rep["verify"]["mismatches"] == 0
    assert rep["ir"]["lut_tables"] == 4 and rep["ir"]["lut_table_bits"] == 4 * 64 * 2 * 3
    assert rep["synth"]["generic"]["cells"] > 0
    assert rep["metrics"]["test"]["purity"] > rep["baseline"]["kmeans"]["test"]["purity"]
    md = (out / "report.md").read_text()
    assert "| look-up tables / table bits (docs/model.md §12) | 4 / 1536 |" in md
    assert '  lut name="lut" vbits=3 theta=1 shift=0 t_max=7 outputs=2' in (
        out / "ir" / "model.txt").read_text()
