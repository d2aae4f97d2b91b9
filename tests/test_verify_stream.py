"""The streamed bench (neutnngen.verify.stream): a plain Verilog testbench that reads the
stimulus from memory files. It must see exactly what the cocotb bench sees (same output
beats, cycles and verdict), catch a wrong design or expectation with the right wave named,
really exercise backpressure, and reuse its build for other stimulus."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_verify import passthrough_net, volleys, write_hand

from neutnngen.config import load
from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import sim as flows_sim
from neutnngen.verify import TopInfo, run_verification
from neutnngen.verify.run import choose_bench
from neutnngen.verify.stream import parse_results, top_ports

ROOT = Path(__file__).resolve().parents[1]


def _sim(name: str) -> str:
    if name == "verilator":
        from neutnngen.verify.simulators import _usable

        if not _usable("verilator"):
            pytest.skip("verilator (with make and a C++ compiler) is not installed")
    elif not flows_sim.simulator_available(name):
        pytest.skip(f"{name} is not installed")
    return name


@pytest.fixture(params=["icarus", "verilator"])
def sim(request):
    return _sim(request.param)


def _beats_cocotb(work: Path, sim: str) -> list[list]:
    res = json.loads((work / f"results-{sim}.json").read_text())
    return [[c, int(t, 16), int(s, 16)] for c, t, s in res["pulses"]]


def _beats_stream(work: Path) -> list[list]:
    return [[p.cycle, p.time, p.spike] for p in
            parse_results(work / "stream_results.txt")["pulses"]]


# --------------------------------------------------------------------------- no simulator
def test_bad_bench_value_is_a_one_line_config_error():
    with pytest.raises(ConfigError) as e:
        load(ROOT / "examples" / "ucr_gunpoint.toml", ["verify.bench=fast"])
    assert "'fast'" in str(e.value) and "verify.bench" in str(e.value)
    assert "\n" not in str(e.value)
    assert load(ROOT / "examples" / "ucr_gunpoint.toml", ["verify.bench=stream"]).verify.bench \
        == "stream"


def test_auto_picks_cocotb_where_the_stream_bench_cannot_go():
    info = TopInfo("t", 4, 3, 4, 3, 0, 3, 1, 5, 5, "hardwired", ("a", "b", "c", "d"))
    assert choose_bench("auto", info) == "stream"
    assert choose_bench("auto", replace(info, weights="register")) == "stream"
    assert choose_bench("auto", replace(info, weights="learn")) == "cocotb"
    assert choose_bench("auto", info, mutsel=3) == "cocotb"
    assert choose_bench("auto", info, stop_on_mismatch=True) == "cocotb"
    assert choose_bench("cocotb", info) == "cocotb"
    with pytest.raises(ConfigError, match="mutsel"):
        choose_bench("stream", info, mutsel=0)
    with pytest.raises(ConfigError, match="'bogus'"):
        choose_bench("bogus", info)


def test_top_ports_ansi_and_yosys_style():
    ansi = "module t (input clk, input [5:0] in_time,\n output out_valid);\nendmodule\n"
    assert top_ports(ansi, "t") == {"clk": ("input", 1), "in_time": ("input", 6),
                                    "out_valid": ("output", 1)}
    yosys = "module t(a, b);\n  input [4:0] a;\n  wire [4:0] a;\n  output b;\nendmodule\n"
    assert top_ports(yosys, "t") == {"a": ("input", 5), "b": ("output", 1)}
    with pytest.raises(ToolchainError, match="no module 'u'"):
        top_ports(yosys, "u")


# --------------------------------------------------------------------------- simulators
@pytest.mark.requires_sim
def test_stream_sees_what_cocotb_sees(sim, tmp_path):
    """Two layers with proximal lines, backpressure and gaps: same beats (cycle and words),
    same cycle count, both passing."""
    v, nm = write_hand(tmp_path / "d", layers=2)
    net, X = passthrough_net(4, layers=2), volleys(40, 4, seed=2)
    prox = {1: (np.random.default_rng(3).random((40, 4)) < 0.7).astype(np.int64)}
    kw = dict(simulator=sim, prox=prox, backpressure=0.4, gaps=0.3, seed=5,
              build_dir=tmp_path / "b")
    s = run_verification(net, v, nm, X, workdir=tmp_path / "s", bench_kind="stream", **kw)
    c = run_verification(net, v, nm, X, workdir=tmp_path / "c", bench_kind="cocotb", **kw)
    assert (s.bench, c.bench) == ("stream", "cocotb")
    assert s.passed and c.passed, (s.first_mismatch, c.first_mismatch)
    assert s.cycles == c.cycles
    assert _beats_stream(tmp_path / "s") == _beats_cocotb(tmp_path / "c", sim)
    # full rate, out_ready high: the latency check runs and passes on both
    s = run_verification(net, v, nm, X, workdir=tmp_path / "s0", bench_kind="stream",
                         simulator=sim, prox=prox, build_dir=tmp_path / "b")
    assert s.passed and s.stats["out_ready_low_cycles"] == 0


@pytest.mark.requires_sim
def test_wrong_expectation_and_mutated_design_name_the_wave(tmp_path):
    sim = _sim("icarus")
    v, nm = write_hand(tmp_path / "d")
    net, X = passthrough_net(4), volleys(30, 4, seed=4)
    from neutnngen.ir import Interpreter

    exp = Interpreter(net).forward(X)
    exp[17, 2] = 5 if exp[17, 2] != 5 else 6
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "e", expected=exp,
                         bench_kind="stream")
    f = r.first_mismatch
    assert r.mismatches == 1 and f["wave"] == 17
    assert (f["neuron"], f["layer"], f["bit"]) == ("layer0/col0/n2", 0, 2)
    assert f["signal"] in ("out_time", "out_spike") and "expected" in f and "got" in f
    assert r.waveform and Path(r.waveform).stat().st_size > 0  # rerun with dumping
    # a mutated design: output line 1 never spikes; the first wave where it should is named
    bad = tmp_path / "m" / "hand_top.v"
    bad.parent.mkdir()
    text = v.read_text()
    assert "assign out_spike = s0;" in text
    bad.write_text(text.replace("assign out_spike = s0;", "assign out_spike = s0 & 4'b1101;"))
    r = run_verification(net, bad, nm, X, simulator=sim, workdir=tmp_path / "mw",
                         bench_kind="stream")
    want = int(np.argmax(X[:, 1] >= 0))
    assert r.first_mismatch["wave"] == want
    assert (r.first_mismatch["neuron"], r.first_mismatch["signal"]) == ("layer0/col0/n1",
                                                                       "out_spike")
    assert r.mismatches == int((X[:, 1] >= 0).sum())


@pytest.mark.requires_sim
def test_backpressure_and_gaps_happen_and_a_design_ignoring_out_ready_fails(tmp_path):
    sim = _sim("icarus")
    v, nm = write_hand(tmp_path / "d")
    net, X = passthrough_net(4), volleys(60, 4, seed=6)
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "a",
                         bench_kind="stream", backpressure=0.5, gaps=0.3, seed=1)
    assert r.passed, r.first_mismatch
    st = r.stats
    assert st["out_ready_low_cycles"] > 20 and st["stalled_output_cycles"] > 5
    assert st["idle_source_cycles"] > 0 and st["input_wait_cycles"] > 0
    v2, nm2 = write_hand(tmp_path / "bad", ignore_ready=True)
    r = run_verification(net, v2, nm2, X, simulator=sim, workdir=tmp_path / "b",
                         bench_kind="stream", backpressure=0.5, seed=1)
    assert not r.passed


@pytest.mark.requires_sim
def test_build_is_reused_for_other_stimulus(sim, tmp_path):
    v, nm = write_hand(tmp_path / "d")
    net = passthrough_net(4)
    kw = dict(simulator=sim, build_dir=tmp_path / "b", bench_kind="stream")
    a = run_verification(net, v, nm, volleys(20, 4, seed=7), workdir=tmp_path / "a", **kw)
    assert a.passed and a.build_s > 0
    stamp = tmp_path / "b" / f"stream-{sim}" / ".neutnngen-stream.json"
    before = stamp.stat().st_mtime_ns
    b = run_verification(net, v, nm, volleys(300, 4, seed=8), workdir=tmp_path / "a", **kw,
                         backpressure=0.3, seed=2)
    assert b.passed and b.build_s == 0.0 and b.waves == 300
    assert stamp.stat().st_mtime_ns == before


@pytest.mark.requires_sim
def test_stream_simulation_past_the_deadline_is_killed(tmp_path):
    sim = _sim("icarus")
    # 250-cycle waves: 2.5M cycles of Icarus (tens of seconds) from a stimulus small
    # enough that writing it and building the bench take a fraction of the 5 s
    v, nm = write_hand(tmp_path / "d", wave=250)
    X = volleys(10_000, 4, seed=1)
    t0 = time.monotonic()
    with pytest.raises(ToolchainError, match=r"the simulation \(streamed bench\) timed out "
                                             r"\(raise the timeout argument\); log .*"
                                             r"stream-sim-icarus\.log"):
        run_verification(passthrough_net(4), v, nm, X, simulator=sim, workdir=tmp_path / "w",
                         timeout=5, bench_kind="stream")
    assert time.monotonic() - t0 < 5 + 3
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and str(tmp_path)
                in _cmdline(p)]  # vvp was killed with its process group


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.requires_sim
def test_a_silent_neurons_time_field_must_be_zero(tmp_path):
    """docs/rtl-contract.md: a silent neuron's ``out_time`` field is 0. A design that leaves
    a time there (the generator's ``spikes ? t : 0`` mutated to ``: 1``) is caught on the
    first wave with a silent output, by both benches."""
    import re

    from neutnngen.hdl import emit
    from neutnngen.ir import Column, Interpreter, Layer, Network, SynapseBank, TimeSpec

    rng = np.random.default_rng(4)
    w = rng.integers(1, 4, size=(2, 1, 1, 4))
    net = Network("s", TimeSpec(3, "rnl"), 4, (Layer("l0", 4, (Column(
        "c0", 4, SynapseBank.dense(w, 2), np.maximum(1, w.sum(-1) // 2)),)),))
    X = volleys(20, 4, seed=3)
    res = emit(net, tmp_path / "rtl")
    text = res.verilog.read_text()
    assert "spikes[0] ? t_raw[" in text
    bad = tmp_path / "bad.v"
    bad.write_text(re.sub(r"(spikes\[0\] \? t_raw\[[^\]]*\] : )(\d+)'h0;", r"\g<1>\g<2>'h1;",
                          text, count=1))
    assert bad.read_text() != text
    assert (Interpreter(net).forward(X) < 0).any()
    ok = run_verification(net, res.verilog, res.names, X, simulator=_sim("icarus"),
                          workdir=tmp_path / "ok", bench_kind="stream")
    assert ok.passed, ok.first_mismatch
    for kind in ("stream", "cocotb"):
        r = run_verification(net, bad, res.names, X, simulator=_sim("icarus"),
                             workdir=tmp_path / kind, bench_kind=kind)
        assert r.mismatches > 0 and r.first_mismatch["signal"] == "out_time", r.first_mismatch
        assert r.first_mismatch["expected"] == 0 and "silent" in r.first_mismatch["note"]
