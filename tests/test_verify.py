"""Cycle-accurate verification tier: protocol helpers, the cocotb bench on hand-written
designs that implement docs/rtl-contract.md, and (once neutnngen.hdl.emit exists) generated
designs end to end, each on Icarus Verilog and on Verilator."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neutnngen.errors import ToolchainError, VerificationMismatch
from neutnngen.flows import sim as flows_sim
from neutnngen.ir import (
    Column,
    Inhibition,
    Interpreter,
    Kernel,
    Layer,
    Network,
    Retime,
    SynapseBank,
    TimeSpec,
)
from neutnngen.verify import TopInfo, compare, pack_times, run_verification, unpack
from neutnngen.verify.protocol import Pulse, pack_prox


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


def hand_verilog(n: int, tb: int, wave: int, layers: int, ignore_ready: bool = False) -> str:
    """A contract-conforming stream top level for :func:`passthrough_net`: ``layers``
    stages, each idle until its input is valid, busy for ``wave`` cycles, then latching the
    volley into its output register when that is free (else waiting), which releases its
    input (``ready``). Stage 0 carries the proximal (enable) lines to stage 1, which gates
    the spikes with them; ``LATENCY = L * wave``. A silent output's time field is 0. ``ignore_ready``: a broken design whose
    last stage overwrites its output register regardless of ``out_ready``."""
    prox = (f"  input [{n * tb - 1}:0] prox_time,\n  input [{n - 1}:0] prox_spike,\n"
            if layers == 2 else "")
    w = n * tb

    def stage(k: int, valid: str, time: str, spike: str, pin: str, ready: str,
              gate: str) -> str:
        free = "1'b1" if ignore_ready and k == layers - 1 else f"(!v{k} || {ready})"
        return f"""
  reg run{k}, v{k};
  reg [7:0] c{k};
  reg [{w - 1}:0] t{k};
  reg [{n - 1}:0] s{k}, p{k};
  wire done{k} = run{k} && c{k} == {wave - 1} && {free};
  always @(posedge clk) begin
    if (rst) begin
      run{k} <= 0; c{k} <= 0; v{k} <= 0; t{k} <= 0; s{k} <= 0; p{k} <= 0;
    end else begin
      if (!run{k}) begin
        if ({valid}) begin run{k} <= 1; c{k} <= 1; end
      end else if (c{k} != {wave - 1}) c{k} <= c{k} + 8'd1;
      else if (done{k}) begin run{k} <= 0; c{k} <= 0; end
      if (done{k}) begin
        v{k} <= 1; t{k} <= {time}; s{k} <= {spike}{gate}; p{k} <= {pin};
      end else if ({ready}) v{k} <= 0;
    end
  end"""

    last = layers - 1
    body = stage(0, "in_valid", "in_time", "in_spike", "prox_spike" if layers == 2 else "0",
                 "done1" if layers == 2 else "out_ready", "")
    if layers == 2:
        body += stage(1, "v0", "t0", "s0", "0", "out_ready", " & p0")
    return f"""module hand_top (
  input clk, input rst,
  input in_valid, output in_ready,
  input [{w - 1}:0] in_time,
  input [{n - 1}:0] in_spike,
{prox}  output out_valid, input out_ready,
  output [{w - 1}:0] out_time,
  output [{n - 1}:0] out_spike
);{body}
  assign in_ready = done0;
  assign out_valid = v{last};
  assign out_time = t{last} & {{{", ".join(f"{{{tb}{{s{last}[{j}]}}}}" for j in reversed(range(n)))}}};
  assign out_spike = s{last};
endmodule
"""


def write_hand(d: Path, n: int = 4, tb: int = 3, wave: int = 5, layers: int = 1,
               latency: int | None = None, ignore_ready: bool = False) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    v = d / "hand_top.v"
    v.write_text(hand_verilog(n, tb, wave, layers, ignore_ready))
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
    offers = [0, 10, 20]
    ok = [_pulse(10, [3, -1]), _pulse(20, [5, 2]), _pulse(30, [-1, 4])]
    assert compare(exp, ok, offers, info) == (0, None)
    bad = [ok[0], _pulse(20, [5, 3]), _pulse(30, [1, 4])]
    n, first = compare(exp, bad, offers, info)
    assert n == 2
    assert (first["wave"], first["neuron"], first["layer"], first["signal"],
            first["expected"], first["got"]) == (1, "layer0/col0/n1", 0, "out_time", 2, 3)
    n, first = compare(exp, [ok[0], ok[1], _pulse(30, [1, 4])], offers, info)
    assert (n, first["wave"], first["neuron"], first["signal"], first["expected"],
            first["got"]) == (1, 2, "layer0/col0/n0", "out_spike", 0, 1)
    # missing volley, extra volley, wrong latency, X on the port
    n, first = compare(exp, ok[:2], offers, info)
    assert (n, first["wave"], first["signal"], first["expected"], first["got"]) == (
        1, 2, "out_valid", 1, 0)
    n, first = compare(exp, [*ok, _pulse(40, [0, 0])], offers, info)
    assert (n, first["wave"], first["signal"], first["got"]) == (1, 3, "out_valid", 1)
    n, first = compare(exp, [ok[0], _pulse(21, [5, 2]), ok[2]], offers, info)
    assert (n, first["wave"], first["signal"], first["expected"], first["got"]) == (
        1, 1, "latency", 10, 11)
    assert compare(exp, [ok[0], _pulse(21, [5, 2]), ok[2]], offers, info,
                   check_latency=False)[0] == 0
    # a later stage is the slowest (WAVE_CYCLES 15 > the first stage's 5): a wave offered
    # while it is busy comes WAVE_CYCLES after the previous beat, not LATENCY after its offer
    slow = replace(info, wave_cycles=15)
    held = [_pulse(10, [3, -1]), _pulse(25, [5, 2]), _pulse(40, [-1, 4])]
    assert compare(exp, held, [0, 5, 10], slow) == (0, None)
    late = [*held[:2], _pulse(45, [-1, 4])]  # offered at 35, on an idle design: LATENCY
    assert compare(exp, late, [0, 5, 35], slow) == (0, None)
    n, first = compare(exp, held, [0, 5, 35], slow)
    assert (n, first["wave"], first["expected"], first["got"]) == (1, 2, 10, 5)
    n, first = compare(exp, [held[0], _pulse(24, [5, 2]), held[2]], [0, 5, 10], slow)
    assert (n, first["wave"], first["signal"], first["expected"], first["got"]) == (
        1, 1, "latency", 20, 19)
    n, first = compare(exp, [ok[0], Pulse(20, None, 0b11), ok[2]], offers, info)
    assert (first["wave"], first["signal"], first["got"]) == (1, "out_time", "X")


def test_ready_runs_are_seeded_and_about_the_asked_fraction():
    from neutnngen.verify.protocol import ready_runs

    assert ready_runs(0.0, 10, 5, 1) == []
    runs = ready_runs(0.5, 10, 400, 1)
    assert runs == ready_runs(0.5, 10, 400, 1) and runs != ready_runs(0.5, 10, 400, 2)
    hi, lo = np.array(runs).sum(axis=0)
    assert 0.4 < lo / (hi + lo) < 0.6
    assert max(r[1] for r in runs) > 10  # some stalls are longer than a wave
    with pytest.raises(ValueError, match="backpressure=1"):
        ready_runs(1, 10, 5, 1)


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
    with pytest.raises(VerificationMismatch) as e:
        run_verification(net, v, nm, X, simulator=sim, workdir=tmp_path / "w", expected=exp,
                         build_dir=build_root / "hand1", raise_on_mismatch=True)
    f = e.value.first
    assert (f["wave"], f["layer"], f["neuron"], f["signal"], f["expected"], f["got"]) == (
        17, 0, "layer0/col0/n1", "out_time", 6, 5)
    msg = str(e.value)
    assert "wave 17" in msg and "layer0/col0/n1" in msg and "out_time" in msg
    assert "expected 6" in msg and "got 5" in msg and "2 of 30 wave(s) differ" in msg
    # the run was repeated with dumping on and its waveform kept
    waves = list((tmp_path / "w").glob("waves-*"))
    assert len(waves) == 1 and waves[0].stat().st_size > 0 and str(waves[0]) in msg


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
                         workdir=tmp_path / "w", build_dir=build_root / "hand1", waves=True)
    assert r.mismatches == 5 and r.waveform is not None
    assert (r.first_mismatch["wave"], r.first_mismatch["signal"], r.first_mismatch["expected"],
            r.first_mismatch["got"]) == (0, "latency", 6, 5)


@pytest.mark.requires_sim
def test_two_layers_with_proximal_lines(sim, tmp_path, build_root):
    """Layer 1's enable lines of wave n travel with wave n's input beat (stage 0 carries
    them to stage 1 in its output register)."""
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


@pytest.mark.requires_sim
def test_hand_design_under_backpressure_and_gaps(sim, tmp_path, build_root):
    """Random out_ready runs stall both stages of the hand design (the pipeline fills up and
    in_ready waits); idle cycles in the source: every volley still arrives, unchanged."""
    n = 6
    net = passthrough_net(n, layers=2)
    v, nm = write_hand(tmp_path / "d", n=n, wave=7, layers=2)
    X = volleys(30, n, seed=16)
    prox = {1: np.random.default_rng(17).integers(0, 2, size=(30, n))}
    kw = dict(simulator=sim, prox=prox, build_dir=build_root / "hand2")
    free = run_verification(net, v, nm, X, workdir=tmp_path / "a", **kw)
    r = run_verification(net, v, nm, X, workdir=tmp_path / "b", backpressure=0.6, seed=3,
                         **kw)
    assert free.passed and r.passed, r.first_mismatch
    assert r.cycles > free.cycles + 30  # the run did stall
    r = run_verification(net, v, nm, X, workdir=tmp_path / "c", backpressure=0.3, gaps=0.3,
                         seed=4, **kw)
    assert r.passed, r.first_mismatch


@pytest.mark.requires_sim
def test_design_ignoring_out_ready_fails_under_backpressure(sim, tmp_path, build_root):
    """A design that overwrites its output register while out_valid & ~out_ready passes with
    out_ready held high and fails (output volleys lost or changed) under backpressure."""
    v, nm = write_hand(tmp_path / "d", ignore_ready=True)
    net, X = passthrough_net(4), volleys(30, 4, seed=18)
    kw = dict(simulator=sim, build_dir=build_root / "hand_bad")
    assert run_verification(net, v, nm, X, workdir=tmp_path / "a", **kw).passed
    r = run_verification(net, v, nm, X, workdir=tmp_path / "b", backpressure=0.5, seed=1,
                         **kw)
    assert not r.passed and r.mismatches > 0


# --------------------------------------------------------------------------- generated designs
def _emit():
    try:
        from neutnngen.hdl import emit
    except ImportError:
        pytest.skip("the HDL generator (neutnngen.hdl.emit) is not available")
    return emit


def tuned_column(rng, name: str, p: int, q: int, X: np.ndarray, t_cross: int = 9,
                 wres: int = 3, timeres: int = 3) -> Column:
    """Seeded random weights; each neuron's threshold is the median of its potential at step
    ``t_cross`` over the stimulus, so the neurons fire on about half the waves, at varied
    times (a meaningful comparison, not all-NONE)."""
    from neutnngen.ir import potentials

    w = rng.integers(0, 1 << wres, size=(q, 1, 1, p))
    T = TimeSpec(timeres, "rnl").wave_length((1 << wres) - 1)
    V = potentials(X, w.reshape(q, -1), np.ones((q, p), bool), "rnl", T)
    theta = np.maximum(1, np.quantile(V[:, :, t_cross], 0.5, axis=0).astype(np.int64))
    return Column(name, p, SynapseBank.dense(w, wres), theta.reshape(q, 1, 1))


def column_net(p: int, q: int, n_waves: int, seed: int) -> tuple[Network, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = volleys(n_waves, p, seed=seed + 1)
    col = tuned_column(rng, "col0", p, q, X)
    return Network("col", TimeSpec(3, "rnl"), p, (Layer("layer0", p, (col,)),)), X


def two_layer_net(n_waves: int, seed: int) -> tuple[Network, np.ndarray]:
    """Kernel layer (6x6 image, 3x3 windows, stride 3: 4 columns of 3 neurons), a Retime
    (>> 1, saturate at 7) and a 2-neuron output column over the 12 lines."""
    rng = np.random.default_rng(seed)
    X = volleys(n_waves, 36, seed=seed + 1, p_none=0.2)
    k = Kernel(6, 6, 1, 3, 3)
    cols = tuple(tuned_column(rng, f"col{c}", 9, 3, X[:, k.window(c)], 8)
                 for c in range(k.windows))
    l0 = Layer("layer0", 36, cols, kernel=k)
    rt = Retime("retime0", 1, 7)
    H = Interpreter(Network("l0", TimeSpec(3, "rnl"), 36, (l0,))).forward(X)
    H = np.where(H < 0, -1, np.minimum(H >> 1, 7))
    l1 = Layer("layer1", 12, (tuned_column(rng, "col0", 12, 2, H, 8),))
    return Network("two", TimeSpec(3, "rnl"), 36, (l0, rt, l1)), X


def _varied(net: Network, X: np.ndarray) -> None:
    Y = Interpreter(net).forward(X)
    assert (Y >= 0).any(axis=0).all(), "every output neuron fires on some wave"
    assert len(np.unique(Y)) >= 4, "several distinct output times"


@pytest.fixture(scope="module")
def column150(tmp_path_factory):
    emit = _emit()
    net, X = column_net(150, 2, 150, seed=11)
    _varied(net, X)
    return net, X, emit(net, tmp_path_factory.mktemp("col150"))


@pytest.fixture(scope="module")
def two_layers(tmp_path_factory):
    emit = _emit()
    net, X = two_layer_net(60, seed=5)
    _varied(net, X)
    return net, X, emit(net, tmp_path_factory.mktemp("two"))


@pytest.mark.requires_sim
def test_generated_150x2_column_150_waves(sim, column150, tmp_path, build_root):
    net, X, res = column150
    r = run_verification(net, res.verilog, res.names, X, simulator=sim,
                         workdir=tmp_path, build_dir=build_root / "col150")
    assert r.passed, r.first_mismatch
    assert r.waves == 150
    assert r.cycles >= 150 * res.info["WAVE_CYCLES"]


@pytest.mark.requires_sim
def test_generated_two_layers_kernel_retime(sim, two_layers, tmp_path, build_root):
    net, X, res = two_layers
    assert res.info["L"] == 2
    r = run_verification(net, res.verilog, res.names, X, simulator=sim, workdir=tmp_path,
                         build_dir=build_root / "two")
    assert r.passed, r.first_mismatch
    assert r.waves == 60
    # full rate: one wave per WAVE_CYCLES after the pipeline filled
    assert r.cycles <= 4 + (60 + 2) * res.info["WAVE_CYCLES"] + res.info["LATENCY"]
    bp = run_verification(net, res.verilog, res.names, X, simulator=sim,
                          workdir=tmp_path / "bp", build_dir=build_root / "two",
                          backpressure=0.5, gaps=0.2, seed=7)
    assert bp.passed, bp.first_mismatch
    assert bp.cycles > r.cycles


def _mutations(col: Column):
    """Candidate one-parameter mutations of neurons 1.. of a column: thresholds first, then
    single weights; yields ``(neuron, description, mutated column)``."""
    from dataclasses import replace

    q = col.neurons
    for i in range(1, q):
        for dt in (-1, 1, -2, 2, -4, 4):
            theta = np.array(col.theta)
            if theta[i, 0, 0] + dt < 1:
                continue
            theta[i, 0, 0] += dt
            yield i, f"theta[{i}] {dt:+d}", replace(col, theta=theta)
        for j in range(col.inputs):
            w = np.array(col.distal.weights)
            w[i, 0, 0, j] = col.distal.w_max - w[i, 0, 0, j]
            yield i, f"w[{i}, {j}]", col.with_weights(w)


@pytest.fixture(scope="module")
def mutant(tmp_path_factory):
    """A 40x3 column and a copy with ONE threshold or weight of one neuron (not neuron 0)
    changed such that the first differing output (wave, lowest neuron) is that neuron."""
    emit = _emit()
    net, X = column_net(40, 3, 40, seed=21)
    _varied(net, X)
    want = Interpreter(net).forward(X)
    col = net.layers[0].columns[0]
    for i, what, mcol in _mutations(col):
        mnet = net.replace_layer(0, Layer("layer0", 40, (mcol,)))
        got = Interpreter(mnet).forward(X)
        diff = got != want
        if not diff.any():
            continue
        wave = int(np.argmax(diff.any(axis=1)))
        if int(np.argmax(diff[wave])) == i:
            res = emit(mnet, tmp_path_factory.mktemp("mutant"))
            return net, X, res, i, what, wave, int(want[wave, i]), int(got[wave, i])
    pytest.fail("no single-parameter mutation changes the outputs at its own neuron first")


@pytest.mark.requires_sim
def test_mutated_neuron_is_named(sim, mutant, tmp_path, build_root):
    """Verilog from the mutated IR, checked against the ORIGINAL IR's reference."""
    net, X, res, i, what, wave, exp_t, got_t = mutant
    r = run_verification(net, res.verilog, res.names, X, simulator=sim, workdir=tmp_path,
                         build_dir=build_root / "mutant", waves=True)
    assert r.mismatches > 0, what
    f = r.first_mismatch
    assert f["neuron"] == f"layer0/col0/n{i}", (what, f)
    assert f["wave"] == wave and f["layer"] == 0
    assert (f["expected_time"], f["got_time"]) == (exp_t, got_t)
    assert f["signal"] == ("out_time" if exp_t >= 0 and got_t >= 0 else "out_spike")
    assert r.waveform is not None and Path(r.waveform).stat().st_size > 0


@pytest.fixture(scope="module")
def register_design(tmp_path_factory):
    emit = _emit()
    net, X = column_net(16, 2, 30, seed=3)
    return net, X, emit(net, tmp_path_factory.mktemp("reg"), weights="register")


@pytest.mark.requires_sim
def test_register_mode_reset_weights_and_loaded_weights(sim, register_design, tmp_path,
                                                        build_root):
    net, X, res = register_design
    assert res.info["weights"] == "register"
    kw = dict(simulator=sim, build_dir=build_root / "reg")
    r = run_verification(net, res.verilog, res.names, X, workdir=tmp_path / "a", **kw)
    assert r.passed, r.first_mismatch  # wload_en held low: the weights it was built with
    # another network of the same structure, loaded through wload_* before the first wave
    col = net.layers[0].columns[0]
    w = np.random.default_rng(99).integers(0, 8, size=col.distal.weights.shape)
    other = net.replace_layer(0, Layer("layer0", 16, (col.with_weights(w),)))
    assert (Interpreter(other).forward(X) != Interpreter(net).forward(X)).any()
    r = run_verification(other, res.verilog, res.names, X, workdir=tmp_path / "b",
                         load_weights=True, **kw)
    assert r.passed, r.first_mismatch


def test_load_weights_needs_register_mode(tmp_path):
    v, nm = write_hand(tmp_path)
    with pytest.raises(ToolchainError, match="register"):
        run_verification(passthrough_net(4), v, nm, volleys(3, 4, 0), workdir=tmp_path / "w",
                         load_weights=True)


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """Two layers; the output column has gate-mode proximal segments over 3 proximal lines,
    driven with random times: layer 1's lines of wave n travel with wave n's input beat."""
    from dataclasses import replace

    emit = _emit()
    rng = np.random.default_rng(4)
    X = volleys(40, 12, seed=9)
    l0 = Layer("layer0", 12, (tuned_column(rng, "col0", 12, 4, X, 8),))
    H = Interpreter(Network("a", TimeSpec(3, "rnl"), 12, (l0,))).forward(X)
    H = np.where(H < 0, -1, np.minimum(H >> 1, 7))
    c1 = tuned_column(rng, "col0", 4, 3, H, 6)
    c1 = replace(c1, proximal_mode="gate", proximal_inputs=3,
                 proximal=SynapseBank.dense(rng.integers(1, 8, size=(3, 3)), 3),
                 proximal_theta=np.full(3, 6))
    net = Network("gated", TimeSpec(3, "rnl"), 12,
                  (l0, Retime("retime0", 1, 7), Layer("layer1", 4, (c1,))))
    prox = {1: volleys(40, 3, seed=10)}
    Y = Interpreter(net).forward(X, proximal=prox)
    assert (Y >= 0).any(axis=0).all()
    return net, X, prox, emit(net, tmp_path_factory.mktemp("gated"))


@pytest.mark.requires_sim
def test_generated_proximal_gate_lines(sim, gated, tmp_path, build_root):
    net, X, prox, res = gated
    assert res.info["N_PROX"] == 3
    r = run_verification(net, res.verilog, res.names, X, simulator=sim, prox=prox,
                         workdir=tmp_path, build_dir=build_root / "gated")
    assert r.passed, r.first_mismatch
    r = run_verification(net, res.verilog, res.names, X, simulator=sim, prox=prox,
                         workdir=tmp_path / "bp", build_dir=build_root / "gated",
                         backpressure=0.4, gaps=0.3, seed=2)
    assert r.passed, r.first_mismatch
