"""The bounded all-inputs proof of one wave (``neutnngen verify --prove-wave``): the generated
RTL of every architecture equals the reference circuit built from the IR for all volleys; a
design of another network fails with a counterexample volley that really differs; networks
outside its scope are one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from test_hdl import one_layer, rand_column

from neutnngen.errors import ConfigError
from neutnngen.hdl import emit
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import Layer, Network, Retime, TimeSpec
from neutnngen.verify.bounded import prove_one_wave

pytestmark = pytest.mark.requires_yosys


def small(inh="wta1", seed=3, **kw):
    rng = np.random.default_rng(seed)
    col = rand_column(rng, 4, 3, wres=2, frac=(0.3, 0.5), inh=inh, **kw)
    return one_layer(col, TimeSpec(2))


@pytest.mark.parametrize("arch,weights", [("serial", "hardwired"), ("parallel", "register"),
                                          ("pipelined", "hardwired"), ("pipelined", "register")])
def test_every_architecture_is_proven(arch, weights, tmp_path):
    net = small()
    res = emit(net, tmp_path / "rtl", weights=weights, architecture=arch)
    r = prove_one_wave(net, res.verilog, res.names, tmp_path / "p", timeout=300)
    assert r["status"] == "proven", r
    assert r["depth"] == r["latency"] + 3 and r["inputs_bits"] == 4 * 3


def test_hardwired_weight_roms_are_mapped(tmp_path):
    """Wider serial columns turn the hardwired weight table into a ROM (Yosys proc_rom); the
    proof maps it to logic, so the solver reaches the design (here: finds the volley that
    tells it from a network with other thresholds; proving the 12-line serial design itself
    takes minutes, benchmarks/results/bounded.json)."""
    rng = np.random.default_rng(8)
    net = one_layer(rand_column(rng, 12, 1, wres=3, frac=(0.3, 0.5)), TimeSpec(1))
    col = net.layers[0].columns[0]
    other = one_layer(replace(col, theta=col.theta + 2), TimeSpec(1))
    res = emit(net, tmp_path / "rtl", architecture="serial")
    r = prove_one_wave(other, res.verilog, res.names, tmp_path / "p", timeout=300)
    assert "Converted 1 switch" in (tmp_path / "p" / "prove.log").read_text()
    assert r["status"] == "failed", r
    x = np.array([r["counterexample"]])
    assert (Interpreter(net).forward(x) != Interpreter(other).forward(x)).any()


@pytest.mark.parametrize("inh", ["kwta(2)", "twta", "none"])
def test_inhibition_policies_and_dendrites(inh, tmp_path):
    net = small(inh, seed=5, D=2, S=2, seg_inh="twta")
    res = emit(net, tmp_path / "rtl", architecture="pipelined")
    assert prove_one_wave(net, res.verilog, res.names, tmp_path / "p")["status"] == "proven"


@pytest.mark.parametrize("arch", ["serial", "pipelined"])
def test_another_networks_design_fails_with_a_real_counterexample(arch, tmp_path):
    net = small()
    col = net.layers[0].columns[0]
    other = one_layer(replace(col, theta=col.theta + 1), TimeSpec(2))
    res = emit(net, tmp_path / "rtl", architecture=arch)
    r = prove_one_wave(other, res.verilog, res.names, tmp_path / "p", timeout=300)
    assert r["status"] == "failed", r
    x = np.array([r["counterexample"]])
    assert (Interpreter(net).forward(x) != Interpreter(other).forward(x)).any()


def test_cli_prove_wave(tmp_path, capsys):
    """``verify --prove-wave`` on a trained example (ItalyPowerDemand's 24 x 2 column is out
    of reach of a one-minute proof, so a tiny network stands in through the same command)."""
    from neutnngen.cli import main
    from neutnngen.ir import save

    net = small()
    save(net, tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "rtl"),
                 "--architecture", "pipelined"]) == 0
    capsys.readouterr()
    # the verify command needs a config for its simulation stimulus: a files task whose
    # series have the network's width (4 lines of 2-bit times)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(30, 4)), y=rng.integers(0, 2, 30))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nkind = "files"\ntrain = "d.npz"\ntest = ""\n'
                   'test_fraction = 0.3\n[network]\ntimeres = 2\n')
    code = main(["verify", str(tmp_path / "net.json"), "--rtl", str(tmp_path / "rtl"),
                 "--config", str(cfg), "--out", str(tmp_path / "v"), "--prove-wave"])
    out = capsys.readouterr()
    assert code == 0, out.err
    d = json.loads(out.out)
    assert d["bounded"]["status"] == "proven"
    assert main(["verify", str(tmp_path / "net.json"), "--rtl", str(tmp_path / "rtl"),
                 "--config", str(cfg), "--out", str(tmp_path / "v"), "--prove-wave",
                 "--prove-timeout", "0"]) == 2
    assert "--prove-timeout 0.0; expected seconds > 0" in capsys.readouterr().err


def test_out_of_scope_networks_are_config_errors(tmp_path):
    net = small()
    res = emit(net, tmp_path / "rtl")
    two = Network("two", TimeSpec(2), 4, (Retime("r", 1, 3), Layer("l0", 4,
                                                                    net.layers[0].columns)))
    with pytest.raises(ConfigError, match="one layer stage"):
        prove_one_wave(two, res.verilog, res.names, tmp_path / "p")
    ov = one_layer(replace(net.layers[0].columns[0], tie="overshoot"), TimeSpec(2))
    with pytest.raises(ConfigError, match="tie='overshoot'.*lowest"):
        prove_one_wave(ov, res.verilog, res.names, tmp_path / "p")
    rng = np.random.default_rng(1)
    px = one_layer(rand_column(rng, 4, 2, mode="sum", P=2), TimeSpec(2))
    with pytest.raises(ConfigError, match="proximal lines"):
        prove_one_wave(px, res.verilog, res.names, tmp_path / "p")
