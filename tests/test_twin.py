"""The ``act`` stage kind (integer ANN activations, docs/model.md §11 "act") at every level,
and ``neutnngen twin``: an SNN design next to its integer ANN twin on the same flow.

Reduced sizes: a hand-built ANN through the RTL in three design shapes, and the twin of the
small snnTorch model of examples/snn_mnist/ (48 hidden neurons, 3 epochs) on 200 test digits,
20 of them through both RTL designs, 3 with toggle counting, synthesized for ECP5.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neutnngen.errors import ConfigError
from neutnngen.ir import Interpreter, Network, parse, to_text, verify
from neutnngen.ir.common import TimeSpec
from neutnngen.ir.serialize import from_dict, to_dict
from neutnngen.ir.stages.act import Act, act_saturations
from neutnngen.ir.stages.snn import LIF, Conv2d, Dense, Encoder, Flatten, MaxPool

ROOT = Path(__file__).resolve().parents[1]


def _ann(seed: int = 0, hidden_bits: int = 4) -> Network:
    rng = np.random.default_rng(seed)
    return Network("ann", TimeSpec(), 5, (
        Encoder("enc", "direct", 1, 8),
        Dense("d1", rng.integers(-127, 128, (6, 5)), rng.integers(-500, 500, 6), 8, 6),
        Act("h1", 6, "relu", hidden_bits),
        Dense("d2", rng.integers(-127, 128, (3, 6)), np.zeros(3, np.int64), 8, 4),
        Act("o", 3, "linear", 10)))


def test_act_clamps_and_counts_saturations():
    x = np.array([[[-5, 0, 3, 15, 16, 100]]])
    relu = Act("a", 6, "relu", 4)
    lin = Act("b", 6, "linear", 4)
    net = Network("t", TimeSpec(), 6, (Encoder("e", "direct", 1, 8), relu))
    assert Interpreter(net).forward(np.array([[0, 1, 3, 15, 16, 200]])).tolist() == \
        [[[0, 1, 3, 15, 15, 15]]]
    assert act_saturations(x, relu).tolist() == [0, 0, 0, 0, 1, 1]  # negatives are not
    assert np.clip(x, *lin.range).tolist() == [[[-5, 0, 3, 7, 7, 7]]]
    assert act_saturations(x, lin).tolist() == [0, 0, 0, 1, 1, 1]
    assert relu.mem_bits == 5 and lin.mem_bits == 4 and relu.output == "membrane"


def test_text_json_round_trip_and_torch_equal_interpreter():
    from neutnngen.model.convert import network_from_torch, network_to_torch

    net = _ann(3)
    t = to_text(net)
    assert 'act name="h1" n=6 fn=relu bits=4' in t
    assert to_text(parse(t)) == t
    doc, arrays = to_dict(net)
    assert to_text(from_dict(doc, arrays)) == t
    X = np.random.default_rng(1).integers(0, 256, (40, 5))
    ref = Interpreter(net).forward(X)
    model = network_to_torch(net)
    assert np.array_equal(model(X).numpy(), ref)
    assert to_text(network_from_torch(model)) == t
    assert len(np.unique(ref[:, 0, 0])) > 3  # not saturated to one value


@pytest.mark.parametrize("stage,msg", [
    (Act("a", 5, "relu", 8), "n=5; expected 6"),
    (Act("a", 6, "gelu", 8), "fn='gelu'; expected one of relu, linear"),
    (Act("a", 6, "relu", 1), "bits=1; expected 2..24"),
    (Act("a", 6, "relu", 30), "bits=30; expected 2..24"),
])
def test_act_verifier_diagnostics(stage, msg):
    net = Network("v", TimeSpec(), 4, (Encoder("e", "direct", 1, 4),
                                       Dense("d", np.ones((6, 4)), np.zeros(6), 4, 0), stage))
    diags = [str(d) for d in verify(net)]
    assert any(msg in d for d in diags), diags


@pytest.mark.parametrize("arch,lanes,weights", [
    ("serial", 1, "hardwired"), ("serial", 4, "register"), ("pipelined", [2, 1], "hardwired")])
def test_ann_rtl_equals_interpreter(tmp_path, arch, lanes, weights):
    from neutnngen.hdl.snn import emit_snn
    from neutnngen.verify.snn import verify_snn

    net = _ann(0)
    X = np.random.default_rng(5).integers(0, 256, (16, 5))
    res = emit_snn(net, tmp_path / "rtl", weights=weights, lanes=lanes, architecture=arch)
    r = verify_snn(net, Path(res.verilog), X, workdir=tmp_path / "sim")
    assert r["mismatches"] == 0 and r["trace_rows"] == 16 * (6 + 3)
    ref = Interpreter(net).forward(X)[:, -1, :]
    assert r["rtl_predictions"] == ref.argmax(1).tolist()
    # one weight changed: a hardwired design no longer matches it (the bench can fail), a
    # register design loads it and matches again
    d2 = net.stages[3]
    w = np.array(d2.weights)
    w[1, 2] += 40
    bad = Network(net.name, net.time, net.inputs, (*net.stages[:3], replace(d2, weights=w),
                                                   net.stages[4]))
    rb = verify_snn(bad, Path(res.verilog), X, workdir=tmp_path / "sim_bad")
    if weights == "hardwired":
        assert rb["mismatches"] > 0 and rb["first_mismatch"]["layer"] == "o"
    else:
        assert rb["mismatches"] == 0
        assert rb["rtl_predictions"] == Interpreter(bad).forward(X)[:, -1, :].argmax(1).tolist()


def test_toggle_counts_are_real_and_deterministic(tmp_path):
    from neutnngen.hdl.snn import emit_snn
    from neutnngen.verify.snn import verify_snn

    net = _ann(1)
    res = emit_snn(net, tmp_path / "rtl")
    X = np.random.default_rng(2).integers(0, 256, (6, 5))
    a = verify_snn(net, Path(res.verilog), X, workdir=tmp_path / "a", toggles=True,
                   backpressure=False)
    b = verify_snn(net, Path(res.verilog), X, workdir=tmp_path / "b", toggles=True,
                   backpressure=False)
    z = verify_snn(net, Path(res.verilog), np.zeros((6, 5), np.int64), workdir=tmp_path / "z",
                   toggles=True, backpressure=False)
    ta, tz = a["toggles"], z["toggles"]
    assert a["mismatches"] == 0 and ta == b["toggles"]
    assert ta["flips"] > 0 and ta["signal_bits"] > 50 and 0 < ta["activity"] < 1
    assert ta["clock_flips"] >= 2 * ta["cycles"] - 2
    assert tz["flips"] < ta["flips"]  # zero inputs switch less of the datapath


def test_plan_refuses_a_signed_act_between_layers():
    from neutnngen.ir.snn_plan import plan_snn

    net = _ann(0)
    bad = Network("b", net.time, 5, (*net.stages[:2], Act("h1", 6, "linear", 8),
                                     *net.stages[3:]))
    with pytest.raises(ConfigError, match="act 'h1' has fn=linear but feeds later stages"):
        plan_snn(bad)


def test_float_model_follows_a_conv_topology():
    from neutnngen.frontend.twin import TwinOptions, float_model, quantize_twin, twin_predict

    rng = np.random.default_rng(0)
    snn = Network("c", TimeSpec(), 36, (
        Encoder("e", "direct", 4, 4),
        Conv2d("conv", (1, 6, 6), rng.integers(-7, 8, (2, 1, 3, 3)), np.zeros(2), 1, 1, 4, 0),
        MaxPool("mp", (2, 6, 6), 2, 2), LIF("l1", 18, 5), Flatten("f"),
        Dense("fc", rng.integers(-7, 8, (3, 18)), np.zeros(3), 4, 0), LIF("l2", 3, 5)))
    model = float_model(snn).double()
    import torch

    assert model(torch.zeros(2, 36, dtype=torch.float64)).shape == (2, 3)
    kinds = [type(m).__name__ for m in model]
    assert "Conv2d" in kinds and "MaxPool2d" in kinds and kinds.count("ReLU") == 1
    X = rng.integers(0, 16, (50, 36))
    twin, rep = quantize_twin(snn, model, X, 4, 1 / 15, TwinOptions(weight_bits=6, act_bits=6))
    kinds = [type(s).__name__ for s in twin.stages]
    assert kinds == ["Encoder", "Conv2d", "MaxPool", "Act", "Flatten", "Dense", "Act"]
    assert twin.stages[0].steps == 1 and twin.stages[-1].fn == "linear"
    assert twin_predict(twin, X).shape == (50,) and len(rep["layers"]) == 2
    ref = Interpreter(twin).forward(X)[:, -1, :].argmax(1)  # the stage walk is the interpreter's
    assert np.array_equal(twin_predict(twin, X), ref)


def test_twin_options_are_checked():
    from neutnngen.frontend.twin import TwinOptions

    for kw, msg in ((dict(weight_bits=1), "twin.weight_bits=1; expected an integer 2..16"),
                    (dict(lr=2.0), "twin.lr=2.0; expected 0 < lr < 1"),
                    (dict(validation=0.7), "twin.validation=0.7")):
        with pytest.raises(ConfigError, match=msg.replace(".", r"\.")):
            TwinOptions(**kw).check()


# ----------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def twin_run(tmp_path_factory):
    pytest.importorskip("snntorch")
    from neutnngen.cli import main

    tmp = tmp_path_factory.mktemp("twin")
    from conftest import small_snn_config

    (tmp / "snn.toml").write_text(small_snn_config(tmp))
    args = ["twin", str(tmp / "snn.toml"), "--out", str(tmp / "out"), "-q",
            "--set", "data.n_test=200", "--set", "verify.samples=20",
            "--set", "twin.energy_samples=3", "--set", "twin.epochs=8",
            "--set", "hdl.lanes=8"]
    assert main(args) == 0
    return tmp, args


def test_twin_command_compares_both_designs(twin_run):
    tmp, _ = twin_run
    rep = json.loads((tmp / "out" / "twin.json").read_text())
    snn, ann = rep["designs"]
    for d in (snn, ann):
        assert d["mismatches"] == 0 and d["verified_samples"] == 20
        assert d["target"] == "ecp5" and d["fits"] and d["luts"] > 100 and d["fmax_mhz"] > 10
        assert d["flips_per_inference"] > 0 and d["energy_proxy"] > 0
        assert 0 < d["activity"] < 1 and d["test_accuracy"] > 0.6
        assert d["transistors"] > d["cells"] > d["luts"]  # generic CMOS beside ECP5
    # the same topology: the SNN's 196-48-10 synapses, the twin's one step vs the SNN's 8
    assert abs(snn["synapses"] - ann["synapses"]) < 0.2 * snn["synapses"]
    assert ann["cycles_per_inference"] < snn["cycles_per_inference"] / 4
    tw = rep["twin"]
    assert tw["quantization"]["weight_bits"] == 8 and tw["agrees_with_float"] > 0.9
    assert rep["snn"]["steps"] == 8 and rep["energy"]["samples"] == 3
    assert any(v.startswith("test error:") for v in rep["verdict"])
    md = (tmp / "out" / "twin.md").read_text()
    assert "| energy proxy (activity x cells x cycles) |" in md and "## Verdict" in md
    from neutnngen.ir import load

    twin = load(tmp / "out" / "twin" / "ir" / "model.json")
    assert [type(s).__name__ for s in twin.stages][-1] == "Act"


def test_twin_command_resumes_the_snn_run(twin_run, capsys):
    from neutnngen.cli import main

    tmp, args = twin_run
    before = json.loads((tmp / "out" / "twin.json").read_text())
    assert main([a for a in args if a != "-q"]) == 0
    out = capsys.readouterr().out
    assert "SNN run reused" in out
    after = json.loads((tmp / "out" / "twin.json").read_text())
    assert after["designs"][1]["test_accuracy"] == before["designs"][1]["test_accuracy"]
    assert after["designs"][0]["flips_per_inference"] == before["designs"][0]["flips_per_inference"]


@pytest.mark.parametrize("override,msg", [
    ("twin.weight_bits=1", "twin.weight_bits=1; expected an integer 2..16"),
    ("twin.energy_samples=0", "twin.energy_samples=0; expected >= 1"),
    ("twin.bits=8", "unknown key twin.bits"),
])
def test_bad_twin_config_is_one_line(override, msg, capsys, tmp_path):
    from neutnngen.cli import main

    cfg = (ROOT / "examples" / "snn_mnist.toml").read_text().replace(
        'path = "../runs/snn_mnist/model.pt"', f'path = "{tmp_path}/missing.pt"')
    (tmp_path / "c.toml").write_text(cfg)
    rc = main(["twin", str(tmp_path / "c.toml"), "--set", override, "--out",
               str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and msg in err and len(err.splitlines()) == 1


def test_twin_refuses_a_tnn_config(capsys):
    from neutnngen.cli import main

    rc = main(["twin", str(ROOT / "examples" / "ucr_gunpoint.toml")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "has no [snn] table" in err and len(err.splitlines()) == 1
