"""Clock-driven SNN stage kinds (docs/model.md §11): verifier, text/JSON round trips, golden
text, interpreter kernels against hand-computed values, interpreter == torch on random nets."""

from __future__ import annotations

import numpy as np
import pytest

from neutnngen.errors import IRFormatError, IRValidationError
from neutnngen.ir import Network
from neutnngen.ir.common import TimeSpec
from neutnngen.ir.interp import Interpreter
from neutnngen.ir.serialize import from_dict, to_dict
from neutnngen.ir.stages.snn import (
    LIF,
    Conv2d,
    Dense,
    Encoder,
    Flatten,
    MaxPool,
    SumPool,
    lif_run,
    predict,
)
from neutnngen.ir.text import parse, to_text
from neutnngen.ir.verify import verify


def _rand_net(seed: int, conv: bool) -> Network:
    rng = np.random.default_rng(seed)
    mode = ["direct", "latency", "direct", "rate"][seed % 4]
    steps = int(rng.integers(3, 9))
    leak = ["none", "shift", "mul"][seed % 3]
    reset = ["zero", "subtract"][(seed // 3) % 2]
    out = ["count", "first", "membrane", "spikes"][seed % 4]
    mb = int(rng.integers(6, 12))
    th = int(rng.integers(1, 8))
    lif = dict(mem_bits=mb, leak=leak, leak_shift=int(rng.integers(1, 5)),
               beta_q=int(rng.integers(0, 257)), frac_bits=8, reset=reset,
               refractory=int(rng.integers(0, 3)))
    st: list = [Encoder("enc", mode, steps, 4, seed + 3)]
    if conv:
        st += [Conv2d("c1", (1, 6, 6), rng.integers(-3, 8, (3, 1, 3, 3)), rng.integers(-2, 9, 3),
                      int(rng.integers(1, 3)), int(rng.integers(0, 2)), 4, int(rng.integers(0, 3)))]
        co, ho, wo = st[-1].out_shape
        st += [LIF("l1", co * ho * wo, th, **lif)]
        pool = (MaxPool if seed % 2 else SumPool)("p", (co, ho, wo), 2, 2)
        st += [pool, Flatten("f")]
        n_in = int(np.prod(pool.out_shape))
    else:
        st += [Dense("d0", rng.integers(-7, 16, (20, 36)), rng.integers(-20, 40, 20), 5,
                     int(rng.integers(0, 4))), LIF("l1", 20, th, **lif)]
        n_in = 20
    out_lif = {**lif, "output": out}
    if seed % 3 == 2:  # a synaptic current (needs the multiply leak)
        out_lif.update(leak="mul", alpha_q=int(rng.integers(0, 257)))
    st += [Dense("d1", rng.integers(-31, 32, (5, n_in)), rng.integers(-9, 9, 5), 6, 0),
           LIF("out", 5, max(th // 2, 1), **out_lif)]
    return Network("rand", TimeSpec(), 36, tuple(st))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("conv", [False, True])
def test_interpreter_equals_torch_on_random_networks(seed, conv):
    from neutnngen.model.convert import network_from_torch, network_to_torch

    net = _rand_net(seed, conv)
    X = np.random.default_rng(100 + seed).integers(0, 16, (24, 36))
    it = Interpreter(net)
    res = it._evaluate(X, {})
    model = network_to_torch(net)
    outs = model(X, all_layers=True)
    assert len(outs) == len(res.outputs) >= 2
    for a, b, tr, m in zip(res.outputs, outs, res.traces, model.layers, strict=True):
        assert np.array_equal(a, b.numpy())
        assert np.array_equal(tr.v, m.last_trace.v)
        assert np.array_equal(tr.saturations, m.last_trace.saturations)
    # the network is not trivially silent or saturated everywhere
    assert res.traces[0].counts.sum() > 0
    assert to_text(network_from_torch(model)) == to_text(net)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("conv", [False, True])
def test_text_and_json_round_trips(seed, conv):
    net = _rand_net(seed, conv)
    t = to_text(net)
    assert to_text(parse(t)) == t
    doc, arrays = to_dict(net)
    assert to_text(from_dict(doc, arrays)) == t


GOLDEN = """neutnngen-ir 1
network name="g" inputs=4 timeres=3 response=rnl
  encoder name="enc" mode=direct steps=4 in_bits=4
  dense name="fc" n_in=4 n_out=2 weight_bits=4 shift=1
    row o=0 b=1 w=[7,-7,0,1]
    row o=1 b=0 w=[1,1,1,1]
  lif name="out" n=2 threshold=5 mem_bits=8 leak=shift leak_shift=1 reset=subtract refractory=0 output=count
"""


def test_golden_text_and_hand_computed_run():
    net = parse(GOLDEN)
    assert to_text(net) == GOLDEN
    # x = [3, 1, 0, 2]: acc0 = 21-7+0+2+1 = 17 -> 8; acc1 = 6 -> 3
    # neuron 0 (V - V>>1, subtract 5): V 8 s1; 4+8-5=7 s1; 4+8-5=7 s1; 7 s1 -> 4 spikes
    # neuron 1: 3; 2+3=5 (not > 5); 3+3=6 s; 3+3-5=1 -> 1 spike, final V 1
    it = Interpreter(net)
    res = it._evaluate(np.array([[3, 1, 0, 2]]), {})
    assert res.outputs[-1].tolist() == [[4, 1]]
    assert res.traces[-1].v.tolist() == [[7, 1]]


def test_lif_orders_and_saturation():
    # zero reset: after a spike V restarts from 0 before the leak
    node = LIF("l", 1, 3, 5, "none", reset="zero")
    s, tr = lif_run(np.array([[[4], [4], [2], [2]]]), node)
    assert s[0, :, 0].tolist() == [1, 1, 0, 1]
    # saturation: 5-bit membrane clamps at 15, counted per clamp
    s, tr = lif_run(np.array([[[10], [10], [10]]]), LIF("l", 1, 14, 5, "none", reset="zero"))
    # V: 10; 20 -> 15 (clamped, counted; spike); 0 + 10
    assert s[0, :, 0].tolist() == [0, 1, 0]
    assert tr.saturations.tolist() == [1] and tr.v.tolist() == [[10]]
    s, tr = lif_run(np.array([[[9], [9], [9]]]), LIF("l", 1, 14, 5, "none", reset="subtract"))
    # V: 9, 18->15 (clamped, spike), 15+9-14=10
    assert s[0, :, 0].tolist() == [0, 1, 0]
    assert tr.saturations.tolist() == [1] and tr.v.tolist() == [[10]]
    # refractory: one blocked step after each spike
    s, _ = lif_run(np.full((1, 5, 1), 5), LIF("l", 1, 3, 8, "none", reset="zero", refractory=1))
    assert s[0, :, 0].tolist() == [1, 0, 1, 0, 1]
    # shift leak rounds up (ceil), multiply leak down (floor), negative values included
    s, tr = lif_run(np.array([[[-3], [0]]]), LIF("l", 1, 3, 8, "shift", leak_shift=1))
    assert tr.v.tolist() == [[-1]]  # -3 - (-3 >> 1) = -3 + 2
    s, tr = lif_run(np.array([[[-3], [0]]]), LIF("l", 1, 3, 8, "mul", beta_q=128, frac_bits=8))
    assert tr.v.tolist() == [[-2]]  # floor(-1.5)


def test_predict_ties():
    from neutnngen.ir.stages.snn import LIFTrace

    tr = LIFTrace(np.array([[1, 5, 5], [0, 0, 0]]), None)
    assert predict(np.array([[2, 2, 2], [0, 1, 1]]), tr, "count").tolist() == [1, 1]
    assert predict(np.array([[-1, 3, 3], [-1, -1, -1]]), tr, "first").tolist() == [1, 0]


@pytest.mark.parametrize("stage,msg", [
    (Dense("d", np.full((2, 4), 8), np.zeros(2), 4, 0), "outside -7..7"),
    (Dense("d", np.zeros((2, 5)), np.zeros(2), 4, 0), "expected (n_out, 4)"),
    (Dense("d", np.zeros((2, 4)), np.zeros(3), 4, 0), "bias shape"),
    (Dense("d", np.zeros((2, 4)), np.zeros(2), 40, 0), "weight_bits=40"),
    (Dense("d", np.zeros((2, 4)), np.zeros(2), 4, -1), "shift=-1"),
    (Conv2d("c", (1, 3, 3), np.zeros((1, 1, 2, 2)), np.zeros(1)), "in_shape=[1, 3, 3]"),
    (SumPool("p", (1, 2, 2), 3, 1), "kernel=3"),
    (LIF("l", 3, 5), "n=3; expected 4"),
])
def test_verifier_diagnostics(stage, msg):
    net = Network("v", TimeSpec(), 4, (Encoder("e", "direct", 4, 4), stage,
                                       LIF("o", 2, 1)))
    diags = [str(d) for d in verify(net)]
    assert any(msg in d for d in diags), diags


@pytest.mark.parametrize("kw,msg", [
    (dict(mem_bits=40), "mem_bits=40"), (dict(threshold=200, mem_bits=8), "threshold=200"),
    (dict(leak="exp"), "leak='exp'"), (dict(reset="none"), "reset='none'"),
    (dict(output="rate"), "output='rate'"), (dict(leak="mul", beta_q=300), "beta_q=300"),
    (dict(refractory=-1), "refractory=-1"), (dict(threshold=0), "threshold=0"),
    (dict(alpha_q=100), "alpha_q=100 (a synaptic current) needs leak=mul"),
    (dict(leak="mul", alpha_q=999), "alpha_q=999; expected 0..256"),
])
def test_lif_verifier_diagnostics(kw, msg):
    node = LIF(**{"name": "l", "n": 4, "threshold": 5, **kw})
    net = Network("v", TimeSpec(), 4, (Encoder("e", "bogus", 0, 40), node))
    diags = [str(d) for d in verify(net)]
    assert any(msg in d for d in diags), diags
    assert any("mode='bogus'" in d for d in diags) and any("steps=0" in d for d in diags)
    with pytest.raises(IRValidationError):
        Interpreter(net)


def test_malformed_text_names_the_line():
    bad = GOLDEN.replace("row o=1 b=0 w=[1,1,1,1]", "row o=1 b=0 w=[1,1]")
    with pytest.raises(IRFormatError, match="line 6"):
        parse(bad)


def test_dense_needs_an_encoder():
    net = Network("v", TimeSpec(), 4, (Dense("d", np.zeros((2, 4)), np.zeros(2), 4, 0),
                                       LIF("o", 2, 1)))
    with pytest.raises(ValueError, match="encoder"):
        Interpreter(net).forward(np.zeros((1, 4)))


def test_rate_encoder_follows_the_lfsr_and_its_rate():
    from neutnngen.ir.stages.snn import encode, rate_draws

    enc = Encoder("e", "rate", 400, 4, 7)
    d = rate_draws(enc, 3)
    assert d.shape == (400, 3) and d.min() >= 0 and d.max() <= 15
    x = np.array([[0, 8, 15], [4, 4, 4]])
    s = encode(x, enc)
    assert np.array_equal(s, (d[None] < x[:, None, :]).astype(np.int64))
    rates = s.mean(axis=1)
    assert rates[0, 0] == 0 and abs(rates[0, 1] - 0.5) < 0.08 and abs(rates[0, 2] - 15 / 16) < 0.05
    assert np.array_equal(rate_draws(Encoder("e", "rate", 400, 4, 7), 3), d)  # deterministic
    assert not np.array_equal(rate_draws(Encoder("e", "rate", 400, 4, 8), 3), d)
    t = to_text(Network("r", TimeSpec(), 3, (enc, LIF("o", 3, 1))))
    assert "mode=rate steps=400 in_bits=4 seed=7" in t and to_text(parse(t)) == t


def test_tnn_layer_into_snn_and_back_interpreter_equals_torch():
    """TNN column layer (spike times) -> encoder mode=times -> dense -> lif output=first (a
    TNN volley again): docs/model.md §11's TNN <-> SNN interface."""
    from conftest import make_column_net

    from neutnngen.ir.kinds import kind_of
    from neutnngen.model.convert import network_to_torch

    tnn = make_column_net(p=12, q=4, seed=3)
    layer = tnn.layers[0]
    top = kind_of(layer).max_time(layer, tnn.time, tnn.time.t_max_in)
    rng = np.random.default_rng(0)
    net = Network("mix", tnn.time, 12, (layer, Encoder("enc", "times", top + 1, 4),
                                        Dense("fc", rng.integers(1, 8, (3, 4)), np.zeros(3), 4),
                                        LIF("out", 3, 4, 8, "none", output="first")))
    assert verify(net) == []
    X = rng.integers(-1, 8, (40, 12))
    res = Interpreter(net)._evaluate(X, {})
    out = res.outputs[-1]
    assert out.shape == (40, 3) and (out >= 0).any() and out.max() <= top
    assert np.array_equal(out, network_to_torch(net)(X).numpy())
    assert np.array_equal(res.outputs[0], Interpreter(tnn).forward(X))  # the TNN part as before
    bad = Network("mix", tnn.time, 12, (layer, Encoder("enc", "times", 2, 4),
                                        Dense("fc", np.ones((3, 4)), np.zeros(3), 4),
                                        LIF("out", 3, 4)))
    assert any("mode=times with steps=2" in str(d) for d in verify(bad))


def test_synaptic_current_hand_computed():
    # alpha = beta = 1/2 (128/256), subtract reset, threshold 5; cur = 8 every step
    node = LIF("l", 1, 5, 12, "mul", beta_q=128, frac_bits=8, alpha_q=128)
    s, tr = lif_run(np.full((1, 3, 1), 8), node)
    # t0: I = 8, V = 8 -> spike; t1: I = 4 + 8 = 12, V = 4 + 12 - 5 = 11 -> spike;
    # t2: I = 6 + 8 = 14, V = 5.5 + 14 - 5 = 14.5 -> 14 (floor), spike
    assert s[0, :, 0].tolist() == [1, 1, 1] and tr.v.tolist() == [[14]]
