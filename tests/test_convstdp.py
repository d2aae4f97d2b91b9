"""Convolutional STDP / R-STDP networks (docs/model.md §14): the rankcode and convstdp kinds'
codecs and verifier, hand-computed rules, interpreter == torch trainer bit for bit,
determinism, config errors and the reduced MNIST example learning."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from neutnngen.errors import ConfigError, IRValidationError
from neutnngen.frontend.convstdp import build_network, dog_kernel, parse_config
from neutnngen.ir import Network
from neutnngen.ir.common import NONE, TimeSpec
from neutnngen.ir.interp import Interpreter
from neutnngen.ir.serialize import from_dict, to_dict
from neutnngen.ir.stages.convstdp import (
    ConvSTDP,
    RankCode,
    pointwise_inhibition,
    rank_times,
    stdp_delta,
    winners,
)
from neutnngen.ir.text import parse, to_text
from neutnngen.ir.verify import verify
from neutnngen.model.convert import network_from_torch, network_to_torch
from neutnngen.model.stages import convstdp as M

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "convstdp_mnist" / "reduced.toml"

SMALL = {"height": 12, "width": 12, "dog": [[1.0, 2.0], [2.0, 1.0]], "dog_size": 3,
         "steps": 6, "layers": [
             {"features": 4, "kernel": 3, "padding": 1, "threshold": 3.0, "kwta": 3,
              "radius": 1, "pool": 2, "a_plus": 0.05, "a_minus": -0.04},
             {"features": 6, "kernel": 3, "padding": 1, "threshold": 2.0, "kwta": 2,
              "radius": 1, "pool": 2, "a_plus": 0.05, "a_minus": -0.04}],
         "classes": 3,
         "decision": {"features": 6, "kernel": 3, "padding": 0, "a_plus": 0.02,
                      "a_minus": -0.015, "p_plus": -0.02, "p_minus": 0.005}}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _small(seed: int = 0) -> Network:
    return build_network(parse_config(SMALL), seed)


def _images(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Blobby 12x12 images (strokes of random width and place) with 3 labels by shape."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 12, 12), dtype=np.int64)
    y = rng.integers(0, 3, n)
    for i in range(n):
        r, c = rng.integers(2, 10, 2)
        if y[i] == 0:
            X[i, r, 1:11] = 255
        elif y[i] == 1:
            X[i, 1:11, c] = 255
        else:
            np.fill_diagonal(X[i], 255)
        X[i] = np.clip(X[i] + rng.integers(0, 60, (12, 12)), 0, 255)
    return X.reshape(n, -1), y


# ------------------------------------------------------------------------------ codecs
def test_text_and_json_round_trips():
    net = _small()
    assert verify(net) == []
    text = to_text(net)
    assert parse(text).stages[1].weights.shape == (4, 2, 3, 3)
    assert to_text(parse(text)) == text
    doc, arrays = to_dict(net)
    back = from_dict(doc, arrays)
    assert to_text(back) == text
    kinds = [s["type"] for s in doc["stages"]]
    assert kinds == ["rankcode", "convstdp", "maxpool", "convstdp", "maxpool", "convstdp"]
    d = [s for s in doc["stages"] if s["name"] == "decision"][0]
    assert d["rule"] == "rstdp" and d["classes"] == 3 and d["inhibit"] is False


def test_malformed_text_names_the_line():
    text = to_text(_small()).replace("  filter f=1 ", "  filtre f=1 ", 1)
    with pytest.raises(Exception, match="line"):
        parse(text)


def test_same_seed_same_bytes_and_different_seed_differs():
    X, y = _images(20)
    a, b, c = (M.train_layer(_small(s), 0, X, epochs=1, seed=3).net for s in (0, 0, 1))
    assert to_text(a) == to_text(b)
    assert to_dict(a)[1].keys() == to_dict(b)[1].keys()
    assert all(np.array_equal(v, to_dict(b)[1][k]) for k, v in to_dict(a)[1].items())
    assert to_text(a) != to_text(c)


# ------------------------------------------------------------------------------ verifier
def _conv(**kw) -> ConvSTDP:
    base = dict(name="c", in_shape=(2, 4, 4), weights=np.full((3, 2, 3, 3), 100), padding=1,
                threshold=500, frac_bits=10, kwta=2, radius=1, a_plus=10, a_minus=-8,
                w_lo=0, w_hi=1024)
    base.update(kw)
    return ConvSTDP(**base)


@pytest.mark.parametrize("stage,msg", [
    (_conv(in_shape=(2, 4, 5)), "in_shape=[2, 4, 5] (40 lines); expected 32 lines"),
    (_conv(weights=np.zeros((3, 1, 3, 3))), "weights shape (3, 1, 3, 3); expected (F, 2, k, k)"),
    (_conv(padding=3), "padding=3; expected 0..2"),
    (_conv(weights=np.zeros((3, 2, 7, 7)), padding=1), "kernel 7x7 larger than the padded input"),
    (_conv(frac_bits=30), "frac_bits=30; expected 1..20"),
    (_conv(w_lo=600, w_hi=500), "w_lo=600 w_hi=500; expected 0 <= w_lo < w_hi <= 1024"),
    (_conv(weights=np.full((3, 2, 3, 3), 2000)), "54 weight(s) outside 0..1024, first 2000"),
    (_conv(threshold=-1), "threshold=-1; expected >= 0"),
    (_conv(kwta=0), "kwta=0; expected >= 1"),
    (_conv(radius=-2), "radius=-2; expected >= 0"),
    (_conv(a_minus=-5000), "a_minus=-5000; expected |a_minus| <= 1024"),
    (_conv(rule="hebb"), "rule='hebb'; expected one of stdp, rstdp"),
    (_conv(rule="rstdp", kwta=1, classes=2), "classes=2; expected a divisor of features=3"),
    (_conv(rule="rstdp", classes=3), "kwta=2; rule=rstdp decides by one winner"),
    (_conv(classes=3), "classes=3; expected 0 with rule=stdp"),
    (_conv(frac_bits=20, w_hi=1 << 20, weights=np.zeros((3, 2, 3, 3)),
           in_shape=(2, 4, 4)), None),
])
def test_convstdp_verifier_diagnostics(stage, msg):
    enc = RankCode("e", (1, 4, 4), np.ones((2, 1, 1)), 0, 0, 4)
    net = Network("v", TimeSpec(), 16, (enc, stage))
    diags = [str(d) for d in verify(net)]
    if msg is None:
        assert diags == []
        return
    assert any(msg in d for d in diags), diags
    with pytest.raises(IRValidationError):
        Interpreter(net)


def test_convstdp_potential_bound_diagnostic():
    big = _conv(in_shape=(2, 4, 4), frac_bits=20, w_hi=1 << 20,
                weights=np.zeros((3, 2, 3, 3)))
    enc = RankCode("e", (1, 4, 4), np.ones((2, 1, 1)), 0, 0, 4)
    assert verify(Network("v", TimeSpec(), 16, (enc, big))) == []
    # 4096 channels x 16 x 16 taps x w_hi = 2**12 * 2**8 * 2**20 = 2**40: one too many
    enc = RankCode("e", (1, 16, 16), np.ones((4096, 1, 1)), 0, 0, 4)
    wide = replace(big, in_shape=(4096, 16, 16), weights=np.zeros((1, 4096, 16, 16)), padding=0)
    diags = [str(d) for d in verify(Network("v", TimeSpec(), 256, (enc, wide)))]
    assert any("reach 2**40" in d for d in diags), diags


@pytest.mark.parametrize("kw,msg", [
    (dict(in_shape=(2, 4, 4)), "in_shape=[2, 4, 4]; expected [1, H, W] with H*W = 16"),
    (dict(kernels=np.ones((2, 3))), "kernels shape (2, 3); expected (C, k, k)"),
    (dict(kernels=np.full((1, 3, 3), 40000)), "kernel entry 40000 out of range"),
    (dict(in_shape=(1, 24, 24), kernels=np.full((1, 23, 23), 32000), in_bits=16),
     "filter values can reach 2**40"),
    (dict(padding=3), "padding=3; expected 0..2"),
    (dict(kernels=np.ones((1, 7, 7))), "kernel 7x7 larger than the padded input 4x4"),
    (dict(threshold=-3), "threshold=-3; expected >= 0"),
    (dict(steps=0), "steps=0; expected 1..4096"),
    (dict(in_bits=20), "in_bits=20; expected 1..16"),
])
def test_rankcode_verifier_diagnostics(kw, msg):
    base = dict(name="e", in_shape=(1, 4, 4), kernels=np.ones((1, 3, 3)), padding=1,
                threshold=0, steps=4)
    base.update(kw)
    node = RankCode(**base)
    width = 16 if msg.startswith("in_shape") else int(np.prod(node.in_shape))
    diags = [str(d) for d in verify(Network("v", TimeSpec(), width, (node,)))]
    assert any(msg in d for d in diags), diags


# ------------------------------------------------------------------------------ rules by hand
def test_rank_times_by_hand():
    v = np.array([[5, 0, 9, 5, 1, 0]])
    # nonzero: 9 (rank 0), 5 at 0 (rank 1), 5 at 3 (rank 2), 1 (rank 3); steps 2: r*2//4
    assert rank_times(v, 2).tolist() == [[0, NONE, 0, 1, 1, NONE]]
    assert rank_times(np.zeros((1, 3), np.int64), 4).tolist() == [[NONE] * 3]


def test_pointwise_inhibition_and_winners_tie_breaks():
    tf = np.array([[[[2, 1]], [[1, 1]], [[1, NONE]]]])  # [B=1, F=3, 1, 2]
    vf = np.array([[[[50, 40]], [[30, 40]], [[30, 0]]]])
    t2, v2 = pointwise_inhibition(tf, vf)
    # position 0: features 1 and 2 fire at step 1 with 30: the lower feature (1) keeps it;
    # position 1: features 0 and 1 at step 1 with 40: feature 0 keeps it
    assert t2[0, :, 0, 0].tolist() == [NONE, 1, NONE]
    assert t2[0, :, 0, 1].tolist() == [1, NONE, NONE]
    tf = np.array([[[1, 0, 0]], [[0, 2, NONE]]])  # [F=2, 1, 3]
    vf = np.array([[[9, 5, 7]], [[7, 1, 0]]])
    # step 0 candidates: (0,0,1) v=5, (0,0,2) v=7, (1,0,0) v=7: best v=7, lowest flat index
    assert winners(tf, vf, 3, 0) == [(0, 0, 2), (1, 0, 0)]
    # radius 1 around (0,0,2) also removes column 1, so feature 1's best is gone too
    assert winners(tf, vf, 3, 1) == [(0, 0, 2), (1, 0, 0)]
    assert winners(tf, vf, 3, 2) == [(0, 0, 2)]
    assert winners(np.full((1, 1, 1), NONE), np.zeros((1, 1, 1)), 2, 0) == []


def test_stdp_delta_rounds_half_up_in_integers():
    node = _conv(frac_bits=4, w_lo=0, w_hi=16)
    w = np.array([0, 4, 8, 15, 16])
    a = np.array([8, 8, -8, 3, 8])
    # (a * w * (16 - w) + 128) >> 8
    expect = [(8 * 0 * 16 + 128) >> 8, (8 * 4 * 12 + 128) >> 8, (-8 * 8 * 8 + 128) >> 8,
              (3 * 15 * 1 + 128) >> 8, 0]
    assert stdp_delta(w, a, node).tolist() == expect == [0, 2, -2, 0, 0]
    assert stdp_delta(w, a, replace(node, stabilize=False)).tolist() == a.tolist()


def test_dog_kernel_is_integer_zero_mean_ish_and_on_off():
    on, off = dog_kernel(1.0, 2.0, 5), dog_kernel(2.0, 1.0, 5)
    assert on.dtype == np.int64 and on[2, 2] == 1024 and off[2, 2] == -1024
    assert abs(int(on.sum())) <= 25


# ------------------------------------------------------------------------------ interp == torch
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_interpreter_equals_trainer_bit_exact(layer):
    """Train one layer online on the same samples in the same order with the interpreter
    and the torch trainer: identical weights after every layer, identical outputs."""
    X, y = _images(24)
    net = _small(0)
    for li in range(layer):  # train the layers below first (with the trainer)
        net = M.train_layer(net, li, X, epochs=1, seed=li).net
    it = Interpreter(net)
    it.run(X, labels=y, learn=True, layers={layer})
    r = M.train_layer(net, layer, X, y if layer == 2 else None, epochs=1, shuffle=False)
    wi, wt = it.network().layers[layer].weights, r.net.layers[layer].weights
    assert np.count_nonzero(wi != net.layers[layer].weights) > 0  # it learned something
    assert np.array_equal(wi, wt)
    trained = r.net
    outs = Interpreter(trained).forward(X, all_layers=True)
    model = network_to_torch(trained)  # the stage modules through the torch kind registry
    touts = model(torch.as_tensor(X), all_layers=True)
    for k, (o, t) in enumerate(zip(outs, touts, strict=True)):
        assert np.array_equal(o, t.numpy()), trained.layers[k].name
    assert np.array_equal(M.predict(trained, X), outs[-1][:, 0])
    assert to_text(network_from_torch(model)) == to_text(trained)


def test_shuffled_epochs_follow_the_training_stream():
    """Two epochs in the §5 stream order (one default_rng(seed) permutation per epoch):
    the trainer equals the interpreter fed the same order."""
    X, _ = _images(16, seed=5)
    net = _small(2)
    r = M.train_layer(net, 0, X, epochs=2, seed=7)
    rng = np.random.default_rng(7)
    order = np.concatenate([rng.permutation(16), rng.permutation(16)])
    it = Interpreter(net)
    it.run(X[order], learn=True, layers={0})
    assert np.array_equal(it.network().layers[0].weights, r.net.layers[0].weights)
    unshuffled = M.train_layer(net, 0, X, epochs=2, seed=7, shuffle=False).net
    assert not np.array_equal(unshuffled.layers[0].weights, r.net.layers[0].weights)


def test_rstdp_rewards_and_punishes():
    X, y = _images(12)
    net = _small(0)
    d = net.layers[2]
    it = Interpreter(net)
    res = it.step(X[0], learn=False)
    decided = int(res.outputs[-1][0, 0])
    assert decided != NONE
    good = Interpreter(net)
    good.step(X[0], learn=True, label=decided)
    bad = Interpreter(net)
    bad.step(X[0], learn=True, label=(decided + 1) % 3)
    dw_good = good.network().layers[2].weights - d.weights
    dw_bad = bad.network().layers[2].weights - d.weights
    f = int(np.flatnonzero(np.abs(dw_good).sum(axis=(1, 2, 3)))[0])
    assert d.decide(f) == decided
    w = d.weights[f]

    def stepped(a):
        return np.clip(w + a, d.w_lo, d.w_hi)

    new_good, new_bad = w + dw_good[f], w + dw_bad[f]
    # reward: every synapse moved by a_plus (LTP) or a_minus (LTD); punish: p_plus / p_minus
    assert np.all((new_good == stepped(d.a_plus)) | (new_good == stepped(d.a_minus)))
    assert np.all((new_bad == stepped(d.p_plus)) | (new_bad == stepped(d.p_minus)))
    assert not np.array_equal(new_good, new_bad)
    with pytest.raises(ValueError, match="learns from labels"):
        Interpreter(net).step(X[0], learn=True, layers={2})


# ------------------------------------------------------------------------------ config errors
@pytest.mark.parametrize("patch,msg", [
    ({"steps": 0}, "convstdp.steps=0; expected 1..4096"),
    ({"dog_size": 4}, "convstdp.dog_size=4; expected an odd size"),
    ({"dog": [[1.0, 1.0]]}, "convstdp.dog[0]=[1.0, 1.0]; expected two different sigmas"),
    ({"dog": [[1.0]]}, "convstdp.dog[0]=[1.0]; expected [sigma1, sigma2]"),
    ({"w_mean": 1.5}, "convstdp.w_mean=1.5; expected 0.0..1.0"),
    ({"frac_bits": "16"}, "convstdp.frac_bits='16'; expected an integer"),
    ({"layers": [{"kwta": 0}]}, "convstdp.layers[0].kwta=0; expected 1..4096"),
    ({"layers": [{"padding": 5, "kernel": 5}]}, "convstdp.layers[0].padding=5; expected below"),
    ({"layers": [{"a_plus": 2.0}]}, "convstdp.layers[0].a_plus=2.0; expected -1.0..1.0"),
    ({"layers": [{"colour": 1}]}, "convstdp.layers[0].colour: unknown key"),
    ({"decision": {"features": 25}}, "convstdp.decision.features=25; expected a multiple of"),
    ({"decision": {"w_lo": 0.9}}, "convstdp.decision.w_lo=0.9; expected below w_hi=0.8"),
    ({"bogus": 1}, "convstdp.bogus: unknown key"),
])
def test_bad_config_values_are_one_line_errors(patch, msg):
    with pytest.raises(ConfigError) as e:
        parse_config({**SMALL, **patch})
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_pool_too_large_is_a_config_error():
    cfg = parse_config({**SMALL, "layers": [{**SMALL["layers"][0], "pool": 20}]})
    with pytest.raises(ConfigError, match=r"layers\[0\].pool=20; expected at most 12"):
        build_network(cfg)


# ------------------------------------------------------------------------------ the example
def test_reduced_mnist_example_learns():
    """The reduced example on real MNIST digits: well above chance (10%) on held-out
    validation digits (the test split is not touched here)."""
    from neutnngen.pipeline.tasks.convstdp import run_experiment

    doc = tomllib.loads(EXAMPLE.read_text())
    rep = run_experiment(doc, test=False)
    assert rep["validation"]["n"] == doc["data"]["n_val"]
    assert rep["validation"]["accuracy"] >= 0.6, rep["validation"]
    assert "test" not in rep
    assert all(s["winners"] > 0 for s in rep["layers"])


def test_rate_schedule_sees_each_epochs_accuracy_and_identity_changes_nothing():
    """``train_layer(rates=...)`` (a host-side schedule): called once per epoch with the
    previous epoch's R-STDP training accuracy; a schedule returning the layer's own rates
    trains bit for bit as no schedule; the returned layer keeps its own rates."""
    X, y = _images(24)
    net = _small(0)
    for li in range(2):
        net = M.train_layer(net, li, X, epochs=1, seed=li).net
    d = net.layers[2]
    seen = []

    def same(e, acc):
        seen.append((e, acc))
        return d.a_plus, d.a_minus, d.p_plus, d.p_minus
    a = M.train_layer(net, 2, X, y, epochs=3, seed=5, rates=same).net.layers[2]
    b = M.train_layer(net, 2, X, y, epochs=3, seed=5).net.layers[2]
    assert np.array_equal(a.weights, b.weights)
    assert [e for e, _ in seen] == [0, 1, 2] and seen[0][1] is None
    assert all(0 <= acc <= 1 for _, acc in seen[1:])
    c = M.train_layer(net, 2, X, y, epochs=2, seed=5,
                      rates=lambda e, acc: (0, 0, 0, 0) if e else (d.a_plus, d.a_minus,
                                                                     d.p_plus, d.p_minus))
    one = M.train_layer(net, 2, X, y, epochs=1, seed=5).net.layers[2]
    assert (c.net.layers[2].a_plus, c.net.layers[2].p_minus) == (d.a_plus, d.p_minus)
    assert not np.array_equal(one.weights, d.weights)  # epoch 0 learned; epoch 1 froze
    assert np.array_equal(c.net.layers[2].weights, one.weights)
    with pytest.raises(ConfigError, match=r"rate schedule gave .* at epoch 0; expected \|rate\|"):
        M.train_layer(net, 2, X, y, epochs=1, rates=lambda e, acc: (1 << 30, 0, 0, 0))


def test_adaptive_decision_rates_scale_with_error_and_accuracy():
    dec = parse_config({**SMALL, "decision": {**SMALL["decision"], "adaptive": True}}).decision
    q = lambda v: int(round(v * 2**16))  # noqa: E731
    assert dec.rates(q, 0, None) == (q(0.01), q(-0.0075), q(-0.01), q(0.0025))
    assert dec.rates(q, 3, 0.9) == (q(0.02 * 0.1), q(-0.015 * 0.1), q(-0.02 * 0.9),
                                    q(0.005 * 0.9))
    fixed = parse_config(SMALL).decision
    assert fixed.rates(q, 3, 0.9) == (q(0.02), q(-0.015), q(-0.02), q(0.005))
    with pytest.raises(ConfigError, match=r"convstdp.decision.adaptive='yes'; expected true"):
        parse_config({**SMALL, "decision": {**SMALL["decision"], "adaptive": "yes"}})


# ------------------------------------------------------------------------------ teach (v14)
def _teaching(seed: int = 0) -> Network:
    cfg = {**SMALL, "decision": {**SMALL["decision"], "teach": True}}
    return build_network(parse_config(cfg), seed)


def test_teach_interpreter_equals_trainer_bit_exact():
    """``teach = 1``: the interpreter and the torch trainer agree after an epoch of online
    R-STDP on which teaching happened, and teaching changes the weights."""
    X, y = _images(24)
    net = _teaching(0)
    for li in range(2):
        net = M.train_layer(net, li, X, epochs=1, seed=li).net
    it = Interpreter(net)
    it.run(X, labels=y, learn=True, layers={2})
    r = M.train_layer(net, 2, X, y, epochs=1, shuffle=False)
    assert np.array_equal(it.network().layers[2].weights, r.net.layers[2].weights)
    plain = M.train_layer(net.replace_layer(2, replace(net.layers[2], teach=False)), 2, X, y,
                          epochs=1, shuffle=False)
    assert not np.array_equal(plain.net.layers[2].weights, r.net.layers[2].weights)


def test_teach_rewards_the_labels_first_neuron_on_a_mistake():
    X, _ = _images(12)
    net = _teaching(0)
    d = net.layers[2]
    res = Interpreter(net).step(X[0], learn=False)
    decided = int(res.outputs[-1][0, 0])
    assert decided != NONE
    label = (decided + 1) % 3
    # the expected teacher: the first neuron of the label's class by the k-WTA order
    tf, vf = M.layer_fire(d, torch.as_tensor(np.array(d.weights)),
                          torch.as_tensor(M.layer_inputs(net, X[:1], 2).astype(np.int64)), 6)
    per = d.features // d.classes
    sub = M.order_key(tf[0], vf[0])[label * per:(label + 1) * per].reshape(-1)
    teacher = label * per + int(np.unravel_index(int(sub.argmin()),
                                                 tuple(tf[0, :per].shape))[0])
    taught = Interpreter(net)
    taught.step(X[0], learn=True, label=label)
    dw = taught.network().layers[2].weights - d.weights
    changed = set(np.flatnonzero(np.abs(dw).sum(axis=(1, 2, 3))).tolist())
    assert teacher in changed and len(changed) == 2  # the punished winner and the teacher
    w = d.weights[teacher]
    new = w + dw[teacher]
    assert np.all((new == np.clip(w + d.a_plus, d.w_lo, d.w_hi))
                  | (new == np.clip(w + d.a_minus, d.w_lo, d.w_hi)))
    assert np.any(new == np.clip(w + d.a_plus, d.w_lo, d.w_hi))
    # a rewarded sample teaches nobody: only the winner moves
    good = Interpreter(net)
    good.step(X[0], learn=True, label=decided)
    dwg = good.network().layers[2].weights - d.weights
    assert len(np.flatnonzero(np.abs(dwg).sum(axis=(1, 2, 3)))) == 1


def test_teach_is_serialised_and_old_files_read_as_off():
    net = _teaching(0)
    assert net.layers[2].teach
    assert "teach=1" in to_text(net)
    assert parse(to_text(net)).layers[2].teach
    doc, arrays = to_dict(net)
    assert from_dict(doc, arrays).layers[2].teach
    for st in doc["stages"]:
        st.pop("teach", None)
    assert not from_dict(doc, arrays).layers[2].teach
    txt = to_text(net).replace(" teach=1", "").replace(" teach=0", "")
    assert "teach=" not in txt and not parse(txt).layers[2].teach
    bad = net.replace_layer(0, replace(net.layers[0], teach=True))
    assert any("teach=1 with rule='stdp'; expected rule=rstdp" in str(e) for e in verify(bad))


def test_decay_schedule_and_teach_config():
    dec = parse_config({**SMALL, "decision": {**SMALL["decision"], "decay": 0.5,
                                              "teach": True}}).decision
    q = lambda v: int(round(v * 2**16))  # noqa: E731
    assert dec.scheduled and dec.teach
    assert dec.rates(q, 0, None) == (q(0.02), q(-0.015), q(-0.02), q(0.005))
    assert dec.rates(q, 2, 0.9) == (q(0.005), q(-0.015 / 4), q(-0.005), q(0.005 / 4))
    assert not parse_config(SMALL).decision.scheduled
    for bad, msg in ((0, r"decision.decay=0; expected a number in \(0, 1\]"),
                     (1.5, r"decision.decay=1.5; expected 0.0..1.0")):
        with pytest.raises(ConfigError, match=msg):
            parse_config({**SMALL, "decision": {**SMALL["decision"], "decay": bad}})
    with pytest.raises(ConfigError, match=r"decision.teach=1; expected true or false"):
        parse_config({**SMALL, "decision": {**SMALL["decision"], "teach": 1}})


def test_teach_example_config_learns_at_a_reduced_size():
    """examples/convstdp_mnist/teach.toml (every layer by a local rule) on 1,200 real digits:
    it parses with teach and the rate decay, and its validation accuracy is far above chance
    and at least the same network's without teach (the full-size numbers are in the
    example's README and teach_result.json)."""
    from neutnngen.pipeline.tasks.convstdp import config_digits, run_experiment

    doc = tomllib.loads((EXAMPLE.parent / "teach.toml").read_text())
    dec = parse_config(doc["convstdp"]).decision
    assert dec.teach and dec.decay == 0.7 and dec.scheduled
    doc["data"].update(n_train=1200, n_test=100, n_val=300)
    data = config_digits(doc)
    taught = run_experiment(doc, data=data)["validation"]["accuracy"]
    doc["convstdp"]["decision"]["teach"] = False
    plain = run_experiment(doc, data=data)["validation"]["accuracy"]
    assert taught >= 0.75, taught
    assert taught >= plain, (taught, plain)
