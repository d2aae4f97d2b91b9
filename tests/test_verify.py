"""Cycle-accurate verification tier: protocol helpers, the cocotb bench on hand-written
designs that implement docs/rtl-contract.md, and (once neutnngen.hdl.emit exists) generated
designs end to end, each on Icarus Verilog and on Verilator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from neutnngen.errors import ToolchainError, VerificationMismatch
from neutnngen.flows import sim as flows_sim
from neutnngen.ir import (
    Column,
    Inhibition,
    Interpreter,
    Layer,
    Network,
    SynapseBank,
    TimeSpec,
)
from neutnngen.verify import TopInfo, compare, pack_times, run_verification, unpack
from neutnngen.verify.protocol import Pulse, pack_prox

SIMS = ["icarus", "verilator"]


@pytest.fixture(params=SIMS)
def sim(request):
    if not flows_sim.simulator_available(request.param):
        pytest.skip(f"{request.param} is not installed")
    return request.param


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    """Builds shared by the tests of this module (a design is compiled once per simulator)."""
    return tmp_path_factory.mktemp("sim_builds")


# --------------------------------------------------------------------------- hand designs
def passthrough_column(name: str, n: int, enable: bool = False) -> Column:
    """Neuron ``i`` has one synapse (weight 1) on line ``i`` and threshold 1, so with RNL it
    fires exactly at its input's time: out = in."""
    w = np.zeros((n, 1, 1, n), np.int64)
    m = np.zeros((n, 1, 1, n), bool)
    for i in range(n):
        w[i, 0, 0, i] = 1
        m[i, 0, 0, i] = True
    kw = dict(proximal_mode="enable", proximal_inputs=n) if enable else {}
    return Column(name, n, SynapseBank(w, m, wres=1), np.ones((n, 1, 1), np.int64),
                  column_inhibition=Inhibition("none"), **kw)


def passthrough_net(n: int, layers: int = 1) -> Network:
    stages = [Layer("layer0", n, (passthrough_column("col0", n),))]
    if layers == 2:  # second layer: out = in where its enable line is set
        stages.append(Layer("layer1", n, (passthrough_column("col0", n, enable=True),)))
    return Network("hand", TimeSpec(3, "rnl"), n, tuple(stages))


def hand_verilog(n: int, tb: int, wave: int, layers: int) -> str:
    """A contract-conforming top level for :func:`passthrough_net`: a free-running slot
    counter (``in_ready`` in phase 0), layer 0 reads the held inputs at the end of its slot,
    layer 1 gates with ``prox_spike`` at the end of the next slot; ``LATENCY = L * wave``."""
    prox = (f"  input [{n * tb - 1}:0] prox_time,\n  input [{n - 1}:0] prox_spike,\n"
            if layers == 2 else "")
    if layers == 1:
        body = "        out_valid <= acc; out_time <= in_time; out_spike <= in_spike;"
    else:
        body = ("        v1 <= acc; t1 <= in_time; s1 <= in_spike;\n"
                "        out_valid <= v1; out_time <= t1; out_spike <= s1 & prox_spike;")
    return f"""module hand_top (
  input clk, input rst,
  input in_valid, output in_ready,
  input [{n * tb - 1}:0] in_time,
  input [{n - 1}:0] in_spike,
{prox}  output reg out_valid,
  output reg [{n * tb - 1}:0] out_time,
  output reg [{n - 1}:0] out_spike
);
  reg [7:0] ph;
  reg acc, v1;
  reg [{n * tb - 1}:0] t1;
  reg [{n - 1}:0] s1;
  assign in_ready = (ph == 0);
  always @(posedge clk) begin
    if (rst) begin
      ph <= 0; acc <= 0; v1 <= 0; out_valid <= 0; out_time <= 0; out_spike <= 0;
    end else begin
      ph <= (ph == {wave - 1}) ? 8'd0 : ph + 8'd1;
      if (ph == 0) acc <= in_valid;
      out_valid <= 1'b0;
      if (ph == {wave - 1}) begin
{body}
      end
    end
  end
endmodule
"""


def write_hand(d: Path, n: int = 4, tb: int = 3, wave: int = 5, layers: int = 1,
               latency: int | None = None) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    v = d / "hand_top.v"
    v.write_text(hand_verilog(n, tb, wave, layers))
    names = {"top": {"name": "hand_top", "N_IN": n, "TB_IN": tb, "N_OUT": n, "TB_OUT": tb,
                     "N_PROX": n if layers == 2 else 0, "TB_PROX": tb, "L": layers,
                     "WAVE_CYCLES": wave, "LATENCY": latency or layers * wave,
                     "weights": "hardwired"},
             "outputs": {f"layer{layers - 1}/col0/n{i}": {"bit": i} for i in range(n)}}
    nm = d / "names.json"
    nm.write_text(json.dumps(names))
    return v, nm


def volleys(n_waves: int, n: int, seed: int, t_max: int = 7, p_none: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, t_max + 1, size=(n_waves, n))
    return np.where(rng.random((n_waves, n)) < p_none, -1, x)


# --------------------------------------------------------------------------- no simulator
def test_pack_unpack_roundtrip():
    x = volleys(5, 11, seed=1)
    tw, sw = pack_times(x, 3)
    for row, t, s in zip(x, tw, sw, strict=True):
        assert unpack(t, s, 11, 3) == [int(v) for v in row]
    # line j at bits [j*tb +: tb], spike bit j
    tw, sw = pack_times(np.array([[5, -1, 2]]), 3)
    assert tw == [5 | (2 << 6)] and sw == [0b101]
    with pytest.raises(ValueError, match="wave 0, line 1"):
        pack_times(np.array([[0, 8]]), 3)


def test_pack_prox_enable_lines_use_spike_bit_only():
    # lines 0, 1 enable (set iff value != 0, as the interpreter reads them), line 2 a time
    tw, sw = pack_prox(np.array([[1, 0, 3], [-1, 1, -1]]), np.array([True, True, False]), 3)
    assert tw == [3 << 6, 0]
    assert sw == [0b101, 0b011]


def _info(n_out=2, latency=10, layers=1):
    return TopInfo.from_names({
        "top": {"name": "t", "N_IN": 3, "TB_IN": 3, "N_OUT": n_out, "TB_OUT": 4, "L": layers,
                "WAVE_CYCLES": 10, "LATENCY": latency},
        "outputs": {f"layer{layers - 1}/col0/n{i}": {"bit": i} for i in range(n_out)}})


def _pulse(cycle, volley, tb=4):
    t, s = pack_times(np.array([volley]), tb)
    return Pulse(cycle, t[0], s[0])


def test_compare_reports_first_wave_neuron_signal():
    info = _info()
    exp = np.array([[3, -1], [5, 2], [-1, 4]])
    accepts = [0, 10, 20]
    ok = [_pulse(10, [3, -1]), _pulse(20, [5, 2]), _pulse(30, [-1, 4])]
    assert compare(exp, ok, accepts, info) == (0, None)
    bad = [ok[0], _pulse(20, [5, 3]), _pulse(30, [1, 4])]
    n, first = compare(exp, bad, accepts, info)
    assert n == 2
    assert (first["wave"], first["neuron"], first["layer"], first["signal"],
            first["expected"], first["got"]) == (1, "layer0/col0/n1", 0, "out_time", 2, 3)
    n, first = compare(exp, [ok[0], ok[1], _pulse(30, [1, 4])], accepts, info)
    assert (n, first["wave"], first["neuron"], first["signal"], first["expected"],
            first["got"]) == (1, 2, "layer0/col0/n0", "out_spike", 0, 1)
    # missing volley, extra volley, wrong latency, X on the port
    n, first = compare(exp, ok[:2], accepts, info)
    assert (n, first["wave"], first["signal"], first["expected"], first["got"]) == (
        1, 2, "out_valid", 1, 0)
    n, first = compare(exp, [*ok, _pulse(40, [0, 0])], accepts, info)
    assert (n, first["wave"], first["signal"], first["got"]) == (1, 3, "out_valid", 1)
    n, first = compare(exp, [ok[0], _pulse(21, [5, 2]), ok[2]], accepts, info)
    assert (n, first["wave"], first["signal"], first["expected"], first["got"]) == (
        1, 1, "latency", 10, 11)
    assert compare(exp, [ok[0], _pulse(21, [5, 2]), ok[2]], accepts, info,
                   check_latency=False)[0] == 0
    n, first = compare(exp, [ok[0], Pulse(20, None, 0b11), ok[2]], accepts, info)
    assert (first["wave"], first["signal"], first["got"]) == (1, "out_time", "X")


def test_missing_simulator_is_a_toolchain_error(monkeypatch, tmp_path):
    v, nm = write_hand(tmp_path)
    monkeypatch.setattr(flows_sim.tools, "tool_available", lambda name: False)
    with pytest.raises(ToolchainError, match="install"):
        run_verification(passthrough_net(4), v, nm, volleys(3, 4, 0), workdir=tmp_path / "w")
    with pytest.raises(ToolchainError, match="verilator"):
        run_verification(passthrough_net(4), v, nm, volleys(3, 4, 0), simulator="verilator",
                         workdir=tmp_path / "w")


def test_interface_mismatch_is_reported_before_simulating(tmp_path):
    v, nm = write_hand(tmp_path, n=4)
    with pytest.raises(VerificationMismatch, match="N_IN=4 but the network needs 5") as e:
        run_verification(passthrough_net(5), v, nm, volleys(3, 5, 0), workdir=tmp_path / "w")
    assert e.value.first["signal"] == "N_IN"


# --------------------------------------------------------------------------- hand designs, simulated
@pytest.mark.requires_sim
def test_hand_design_passes(sim, tmp_path, build_root):
    v, nm = write_hand(tmp_path / "d")
    X = volleys(40, 4, seed=2)
    r = run_verification(passthrough_net(4), v, nm, X, simulator=sim, workdir=tmp_path / "w",
                         build_dir=build_root / "hand1")
    assert r.passed and r.mismatches == 0 and r.first_mismatch is None
    assert (r.simulator, r.waves) == (sim, 40)
    assert r.waveform is None
    assert r.cycles >= 40 * 5 + 5
    assert {"icarus": "Icarus", "verilator": "Verilator"}[sim] in r.simulator_version
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d


@pytest.mark.requires_sim
def test_wrong_expectation_names_wave_neuron_signal_and_keeps_waveform(sim, tmp_path,
                                                                        build_root):
    v, nm = write_hand(tmp_path / "d")
    net = passthrough_net(4)
    X = volleys(30, 4, seed=3)
    X[17] = [2, 5, -1, 0]
    exp = Interpreter(net).forward(X)
    exp[17, 1] = 6  # wrong time of neuron 1 at wave 17
    exp[23, 3] = -1 if X[23, 3] >= 0 else 4  # and a spike flip later
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w",
                         expected=exp, build_dir=build_root / "hand1")
    assert r.mismatches == 2
    f = r.first_mismatch
    assert (f["wave"], f["layer"], f["neuron"], f["signal"], f["expected"], f["got"]) == (
        17, 0, "layer0/col0/n1", "out_time", 6, 5)
    assert r.waveform is not None and Path(r.waveform).stat().st_size > 0
    with pytest.raises(VerificationMismatch) as e:
        run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w2", expected=exp,
                         build_dir=build_root / "hand1", raise_on_mismatch=True)
    msg = str(e.value)
    assert "wave 17" in msg and "layer0/col0/n1" in msg and "out_time" in msg
    assert "expected 6" in msg and "got 5" in msg
    assert e.value.first["wave"] == 17


@pytest.mark.requires_sim
def test_waves_on_a_passing_run(sim, tmp_path, build_root):
    v, nm = write_hand(tmp_path / "d")
    r = run_verification(passthrough_net(4), v, nm, volleys(5, 4, seed=4), simulator=sim,
                         workdir=tmp_path / "w", build_dir=build_root / "hand1", waves=True)
    assert r.passed and r.waveform is not None and Path(r.waveform).stat().st_size > 0


@pytest.mark.requires_sim
def test_wrong_latency_is_a_mismatch(sim, tmp_path, build_root):
    v, nm = write_hand(tmp_path / "d", latency=6)  # the design answers after 5 cycles
    r = run_verification(passthrough_net(4), v, nm, volleys(5, 4, seed=5), simulator=sim,
                         workdir=tmp_path / "w", build_dir=build_root / "hand1")
    assert r.mismatches == 5
    assert (r.first_mismatch["wave"], r.first_mismatch["signal"], r.first_mismatch["expected"],
            r.first_mismatch["got"]) == (0, "latency", 6, 5)


@pytest.mark.requires_sim
def test_two_layers_with_proximal_lines(sim, tmp_path, build_root):
    """Layer 1's enable lines of wave n must be on prox_spike during slot n + 1."""
    n = 6
    net = passthrough_net(n, layers=2)
    v, nm = write_hand(tmp_path / "d", n=n, wave=7, layers=2)
    X = volleys(25, n, seed=6)
    rng = np.random.default_rng(7)
    prox = {1: rng.integers(0, 2, size=(25, n))}
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w", prox=prox,
                         build_dir=build_root / "hand2")
    assert r.passed, r.first_mismatch
    # the default (every enable line set) is the interpreter's default too
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w0",
                         build_dir=build_root / "hand2")
    assert r.passed, r.first_mismatch
    # a bench that presented wave n's proximal lines in slot n would fail: emulate by
    # shifting the stimulus one wave and checking the mismatch is found
    shifted = {1: np.roll(prox[1], 1, axis=0)}
    exp = Interpreter(net).forward(X, proximal=prox)
    r = run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w1",
                         prox=shifted, expected=exp, build_dir=build_root / "hand2")
    assert r.mismatches > 0 and r.first_mismatch["layer"] == 1
