"""Gate-level simulation and formal equivalence (neutnngen.flows.netlist,
neutnngen.verify.formal; `verify --gate-level --formal`): the synthesized netlist passes the
same bench and is proven equal to the RTL; a wrong netlist is caught by both."""

from __future__ import annotations

import numpy as np
import pytest

from neutnngen.errors import ConfigError
from neutnngen.flows.netlist import synth_netlist
from neutnngen.ir import Column, Interpreter, Layer, Network, SynapseBank, TimeSpec
from neutnngen.verify import mutate, run_verification
from neutnngen.verify.formal import equiv_netlist


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    from neutnngen.hdl import emit

    rng = np.random.default_rng(8)
    p, q = 8, 2
    w = rng.integers(0, 4, size=(q, 1, 1, p))
    theta = np.maximum(1, (w.sum(-1) * 0.3).astype(np.int64))
    net = Network("gate", TimeSpec(2, "rnl"), p,
                  (Layer("layer0", p, (Column("col0", p, SynapseBank.dense(w, 2), theta),)),))
    X = rng.integers(0, 4, size=(20, p))
    X[rng.random(X.shape) < 0.3] = -1
    assert (Interpreter(net).forward(X) >= 0).any()
    root = tmp_path_factory.mktemp("gate")
    res = emit(net, root / "rtl")
    nl = synth_netlist(res.verilog, "neutnngen_top", root / "net")
    return net, X, res, nl


def test_unknown_netlist_target_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="netlist target 'tsmc'"):
        synth_netlist(tmp_path / "x.v", "top", tmp_path, target="tsmc")


@pytest.mark.requires_yosys
@pytest.mark.requires_sim
def test_netlist_passes_the_bench_and_a_wrong_one_is_caught(design, tmp_path):
    net, X, res, nl = design
    from pathlib import Path

    text = Path(nl.path).read_text()
    assert "module neutnngen_top" in text and "always" in text
    ok = run_verification(net, nl.path, res.names, X, simulator="icarus", workdir=tmp_path / "ok")
    assert ok.passed, ok.first_mismatch
    proof = equiv_netlist(res.verilog, nl.path, "neutnngen_top", tmp_path / "eq")
    assert proof["status"] == "proven", proof
    assert proof["pairs"] == proof["proven"] > 0
    # a wrong netlist: one gate changed (AND <-> OR), tried until the bench sees it
    gates = [s for s in mutate.sites(text) if s.kind == "op"]
    assert gates
    for site in gates[:: max(1, len(gates) // 8)][:8]:
        bad = tmp_path / "bad" / "netlist.v"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text(mutate.apply(text, site))
        r = run_verification(net, bad, res.names, X, simulator="icarus",
                             workdir=tmp_path / "bad", stop_on_mismatch=True)
        if r.mismatches:
            break
    else:
        pytest.fail("no inverted gate of the netlist changes the outputs")
    wrong = equiv_netlist(res.verilog, bad, "neutnngen_top", tmp_path / "eq_bad")
    assert wrong["status"] != "proven", wrong
    assert wrong["reason"]


@pytest.mark.requires_yosys
@pytest.mark.requires_sim
def test_ice40_netlist_passes_the_bench_and_a_wrong_lut_is_caught(design, tmp_path):
    """The iCE40 netlist (LUT4, carry and flip-flop cells with Yosys's cell models in the same
    file) passes the bench; one LUT mask bit flipped, tried until the outputs see it, fails."""
    import re
    from pathlib import Path

    net, X, res, _ = design
    nl = synth_netlist(res.verilog, "neutnngen_top", tmp_path / "ice", target="ice40")
    text = Path(nl.path).read_text()
    assert nl.target == "ice40" and "module SB_LUT4" in text and "SB_LUT4 " in text
    ok = run_verification(net, nl.path, res.names, X, simulator="icarus", workdir=tmp_path / "ok")
    assert ok.passed and ok.waves == len(X), ok.first_mismatch
    masks = [m for m in re.finditer(r"\.LUT_INIT\(16'h([0-9a-fA-F]{4})\)", text)]
    assert masks
    for m in masks[:: max(1, len(masks) // 10)][:10]:
        v = int(m.group(1), 16) ^ 0x8001  # flip the all-zeros and all-ones entries
        bad = tmp_path / "bad" / "netlist.v"
        bad.parent.mkdir(exist_ok=True)
        bad.write_text(text[:m.start(1)] + f"{v:04x}" + text[m.end(1):])
        r = run_verification(net, bad, res.names, X, simulator="icarus",
                             workdir=tmp_path / "bad")
        if r.mismatches:
            break
    else:
        pytest.fail("no flipped LUT mask of the iCE40 netlist changes the outputs")


def test_cli_gate_target_is_validated(tmp_path, capsys):
    from neutnngen.cli import main

    with pytest.raises(SystemExit):
        main(["verify", "x.json", "--rtl", str(tmp_path), "--config", "c.toml",
              "--gate-level", "--gate-target", "tsmc"])
    assert "invalid choice: 'tsmc'" in capsys.readouterr().err
