"""PyTorch model and STDP trainer against the reference interpreter (the oracle), bit for bit.

Real data where it matters (GunPoint, shipped with aeon), random networks and volleys for
every option: inhibition policies with ties, dendritic columns, proximal modes, credit,
R-STDP, kernels and retimes, heterogeneous layers, column sharing, SNL.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neutnngen.errors import ConfigError
from neutnngen.frontend import from_torch, init_column_network, to_torch
from neutnngen.ir import Interpreter, to_text
from neutnngen.ir.interp import column_forward
from neutnngen.ir.nodes import (
    NONE,
    Column,
    Inhibition,
    Kernel,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
    TimeSpec,
    default_seeds,
)
from neutnngen.ir.rng import advance
from neutnngen.model import TNNColumns, infer, train
from neutnngen.model import stdp as stdp_mod
from neutnngen.model.lfsr import lfsr_draws

BACKENDS = ["numba", "torch"]


# --------------------------------------------------------------------------- data
def _encode(X: np.ndarray) -> np.ndarray:
    try:
        from neutnngen.data.encoders import encode_timeseries
    except ImportError:  # inline UCR convention: z-normalise, clip 2, 8 levels, 7 - level
        z = (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True)
        level = np.clip(np.floor((np.clip(z, -2, 2) + 2) / 4 * 8), 0, 7)
        return (7 - level).astype(np.int16)
    return encode_timeseries(X)


@pytest.fixture(scope="module")
def gunpoint():
    from aeon.datasets import load_classification

    Xtr, ytr = load_classification("GunPoint", split="train")
    Xte, yte = load_classification("GunPoint", split="test")
    return _encode(Xtr[:, 0, :]), ytr, _encode(Xte[:, 0, :]), yte


@pytest.fixture(scope="module")
def gunpoint_net(gunpoint):
    Xtr = gunpoint[0]
    return init_column_network(150, 2, X=Xtr, seed=0)


# --------------------------------------------------------------------------- helpers
def rand_column(rng, name, p, q, D=1, S=1, *, wres=3, seg="wta1", col="wta1", mode="sum", P=0,
                pwres=3, sharing="segment", seed=0, learn=True, theta_range=(0.4, 1.6)):
    w_max = (1 << wres) - 1
    shape = (q, D, S, p)
    mask = rng.random(shape) > 0.1
    w = np.where(mask, rng.integers(0, w_max + 1, shape), 0)
    scale = mask.sum(-1) * w_max / 7
    theta = np.maximum(1, (rng.uniform(*theta_range, size=(q, D, S)) * scale).astype(int))
    theta = np.minimum(theta, np.maximum(mask.sum(-1) * w_max, 1))
    prox = ptheta = None
    if mode == "sum" and P > 0:
        pm = rng.random(shape[:3] + (P,)) > 0.1
        prox = SynapseBank(np.where(pm, rng.integers(0, (1 << pwres), shape[:3] + (P,)), 0), pm, pwres)
    elif mode == "gate":
        pm = rng.random((q, P)) > 0.1
        pm[:, 0] = True
        prox = SynapseBank(np.where(pm, rng.integers(0, (1 << pwres), (q, P)), 0), pm, pwres)
        ptheta = np.maximum(1, (rng.uniform(0.3, 1.2, q) * pm.sum(-1) * ((1 << pwres) - 1) / 7)).astype(int)
    if mode == "enable":
        P = q
    c = Column(name, p, SynapseBank(w, mask, wres), theta, Inhibition.parse(seg), Inhibition.parse(col),
               proximal_mode=mode, proximal_inputs=P, proximal=prox, proximal_theta=ptheta)
    if learn:
        from dataclasses import replace

        c = replace(c, random=RandomSource(default_seeds(c.n_generators() if sharing == "segment" else 1,
                                                         seed), sharing=sharing))
    return c


DEFAULT_RULE = LearningRule()


def one_layer(col: Column, rule: LearningRule | None = DEFAULT_RULE, response="rnl", timeres=3) -> Network:
    return Network("t", TimeSpec(timeres, response), col.inputs,
                   (Layer("l0", col.inputs, (col,), learning=rule),))


def rand_times(rng, N, n, t_max=7, silent=0.2):
    x = rng.integers(0, t_max + 1, (N, n))
    return np.where(rng.random((N, n)) < silent, NONE, x)


def assert_forward_equal(net: Network, X, proximal=None):
    """Every layer's output and every column's intermediates equal the interpreter's."""
    it = Interpreter(net)
    ref = it._evaluate(np.asarray(X, dtype=np.int64), proximal or {})
    model = to_torch(net)
    h = torch.as_tensor(np.asarray(X))
    li = -1
    with torch.no_grad():
        for st in model.stages:
            if not hasattr(st, "groups"):
                h = st(h)
                continue
            li += 1
            p = None if proximal is None or li not in proximal else torch.as_tensor(proximal[li])
            out, traces = st(h, p, return_traces=True)
            np.testing.assert_array_equal(out.numpy(), ref.outputs[li], err_msg=f"layer {li} outputs")
            for gi, tr in enumerate(traces):
                for k, c in enumerate(st.group_columns[gi]):
                    rt = ref.traces[li][c]
                    for f in ("segment", "segment_won", "dendrite", "dendrite_won", "proximal",
                              "neuron", "out"):
                        np.testing.assert_array_equal(getattr(tr, f)[:, k].numpy(), getattr(rt, f),
                                                      err_msg=f"layer {li} column {c} {f}")
            h = out
    np.testing.assert_array_equal(infer(net, X, proximal=proximal), ref.outputs[-1])


def assert_training_equal(net: Network, X, *, epochs=1, labels=None, proximal=None,
                          backend="numba", layers=None):
    """Exact training equals Interpreter.step(learn=True) after every wave, layer by layer."""
    res = train(net, X, epochs=epochs, labels=labels, proximal=proximal, backend=backend,
                record=True, layers=layers)
    it = Interpreter(net)
    Xt = np.tile(np.asarray(X), (epochs, 1))
    lt = None if labels is None else np.tile(np.asarray(labels), epochs)
    pt = None if proximal is None else {k: np.tile(v, (epochs, 1)) for k, v in proximal.items()}
    todo = layers if layers is not None else [i for i, L in enumerate(net.layers) if L.learning]
    for li in sorted(todo):
        hist = res.stats["history"][li]
        for n in range(len(Xt)):
            pn = None if pt is None else {k: v[n:n + 1] for k, v in pt.items()}
            r = it.step(Xt[n], learn=True, label=None if lt is None else int(lt[n]), proximal=pn,
                        layers={li})
            np.testing.assert_array_equal(hist["outputs"][n], r.outputs[li][0],
                                          err_msg=f"layer {li} wave {n}: outputs")
            for c in range(len(net.layers[li].columns)):
                np.testing.assert_array_equal(hist["distal"][c][n], it.distal[li][c],
                                              err_msg=f"layer {li} wave {n} column {c}: distal weights")
                if it.proximal[li][c] is not None:
                    np.testing.assert_array_equal(hist["proximal"][c][n], it.proximal[li][c],
                                                  err_msg=f"layer {li} wave {n} column {c}: proximal")
    assert to_text(res.network) == to_text(it.network())
    return res


# --------------------------------------------------------------------------- LFSR
@pytest.mark.parametrize("width,taps,steps", [(16, (16, 15, 13, 4), 10), (12, (12, 11, 10, 4), 3),
                                              (10, (10, 7), 1), (16, (16, 15, 13, 4), 7)])
def test_lfsr_draws_equal_oracle(width, taps, steps):
    rs = RandomSource(default_seeds(9, 5, width=width), width=width, taps=taps, steps_per_draw=steps)
    d, s = lfsr_draws(rs, rs.seeds, 3000)
    d2, s2 = advance(rs, rs.seeds, 3000)
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(s, s2)
    d16, s16 = lfsr_draws(rs, rs.seeds.reshape(3, 3), 3000, np.int16)  # > a cycle: wraps
    np.testing.assert_array_equal(d16.reshape(9, 3000), d2)
    np.testing.assert_array_equal(s16.reshape(9), s2)


# --------------------------------------------------------------------------- GunPoint
@pytest.mark.parametrize("backend", BACKENDS)
def test_gunpoint_exact_training_every_wave(gunpoint, gunpoint_net, backend):
    Xtr = gunpoint[0]
    res = assert_training_equal(gunpoint_net, Xtr, epochs=2, backend=backend)
    assert res.stats["backend"] == backend
    assert res.stats["layers"][0]["waves"] == 100
    assert sum(res.stats["layers"][0]["weight_changes"]) > 0  # learning happened


def test_gunpoint_forward_equals_interpreter(gunpoint, gunpoint_net):
    Xtr, _, Xte, _ = gunpoint
    assert len(Xte) == 150
    trained = train(gunpoint_net, Xtr, epochs=2).network
    for net in (gunpoint_net, trained):
        assert_forward_equal(net, Xte)
        out = infer(net, Xte)
        assert out.shape == (150, 2) and (out >= 0).any()


def test_numba_and_torch_loops_agree_in_fast_mode(gunpoint, gunpoint_net):
    Xtr = gunpoint[0]
    a = train(gunpoint_net, Xtr, epochs=3, mode="fast", seed=7, backend="numba")
    b = train(gunpoint_net, Xtr, epochs=3, mode="fast", seed=7, backend="torch")
    assert to_text(a.network) == to_text(b.network)


def test_fast_mode_is_seeded_and_statistically_like_exact(gunpoint, gunpoint_net):
    Xtr = gunpoint[0]
    ex = train(gunpoint_net, Xtr, epochs=20, mode="exact")
    f1 = train(gunpoint_net, Xtr, epochs=20, mode="fast", seed=1)
    f1b = train(gunpoint_net, Xtr, epochs=20, mode="fast", seed=1)
    f2 = train(gunpoint_net, Xtr, epochs=20, mode="fast", seed=2)
    assert to_text(f1.network) == to_text(f1b.network)
    assert to_text(f1.network) != to_text(f2.network)
    assert to_text(f1.network) != to_text(ex.network)
    # fast mode leaves the LFSR seeds as they were; exact mode advances them
    col0 = gunpoint_net.layers[0].columns[0]
    np.testing.assert_array_equal(f1.network.layers[0].columns[0].random.seeds, col0.random.seeds)
    assert (ex.network.layers[0].columns[0].random.seeds != col0.random.seeds).any()
    # same rule: similar amount of plasticity and similar final weight statistics
    ce = sum(ex.stats["layers"][0]["weight_changes"])
    for f in (f1, f2):
        cf = sum(f.stats["layers"][0]["weight_changes"])
        assert 0.7 < cf / ce < 1.4, (cf, ce)
        we = ex.network.layers[0].columns[0].distal.weights
        wf = f.network.layers[0].columns[0].distal.weights
        assert abs(we.mean() - wf.mean()) < 1.0
        assert abs((we == 0).mean() - (wf == 0).mean()) < 0.2


# --------------------------------------------------------------------------- options
POLICIES = ["wta1", "kwta(2)", "twta", "none"]


@pytest.mark.parametrize("policy", POLICIES)
def test_inhibition_policies_with_ties(policy):
    rng = np.random.default_rng(1)
    col = rand_column(rng, "c", 12, 5, col=policy, seed=3)
    # identical neurons -> every spike tied; then 1-bit times -> many ties
    from dataclasses import replace

    w_same = np.array(np.broadcast_to(col.distal.weights[:1], col.distal.weights.shape))
    th_same = np.array(np.broadcast_to(col.theta[:1], col.theta.shape))
    tied = replace(col, distal=SynapseBank(w_same, np.ones(w_same.shape, bool), 3), theta=th_same)
    X = rand_times(rng, 40, 12, t_max=1, silent=0.3)
    for c in (col, tied):
        net = one_layer(c)
        ref = Interpreter(net).forward(X)
        fired_per_wave = (ref >= 0).sum(1)
        if policy == "wta1":
            assert fired_per_wave.max() <= 1
        assert_forward_equal(net, X)
        for be in BACKENDS:
            assert_training_equal(net, X, epochs=2, backend=be)
    # ties really happened and went to the lowest index
    out = Interpreter(one_layer(tied)).forward(X)
    if policy in ("wta1", "kwta(2)"):
        k = 1 if policy == "wta1" else 2
        fired = out >= 0
        assert fired.any()
        assert (fired[:, :k] | ~fired.any(1, keepdims=True)).all()
        assert not fired[:, k:].any()


@pytest.mark.parametrize("seg_policy", POLICIES)
def test_dendritic_columns(seg_policy):
    rng = np.random.default_rng(2)
    col = rand_column(rng, "c", 16, 3, D=2, S=2, seg=seg_policy, seed=4)
    net = one_layer(col)
    X = rand_times(rng, 60, 16, silent=0.25)
    assert_forward_equal(net, X)
    for be in BACKENDS:
        res = assert_training_equal(net, X, epochs=2, backend=be)
    assert sum(res.stats["layers"][0]["weight_changes"]) > 0


@pytest.mark.parametrize("credit", ["winner", "dendrite"])
@pytest.mark.parametrize("sharing", ["segment", "column"])
def test_credit_and_sharing(credit, sharing):
    rng = np.random.default_rng(3)
    col = rand_column(rng, "c", 14, 3, D=2, S=2, sharing=sharing, seed=5)
    net = one_layer(col, LearningRule(credit=credit))
    X = rand_times(rng, 50, 14)
    for be in BACKENDS:
        assert_training_equal(net, X, epochs=2, backend=be)


def test_credit_option_changes_learning():
    rng = np.random.default_rng(4)
    col = rand_column(rng, "c", 14, 3, D=2, S=2, seed=5)
    X = rand_times(rng, 60, 14)
    a = train(one_layer(col, LearningRule(credit="winner")), X, epochs=2).network
    b = train(one_layer(col, LearningRule(credit="dendrite")), X, epochs=2).network
    assert not np.array_equal(a.layers[0].columns[0].distal.weights, b.layers[0].columns[0].distal.weights)


@pytest.mark.parametrize("mode", ["sum", "gate", "enable"])
def test_proximal_modes(mode):
    rng = np.random.default_rng(5)
    q = 3
    col = rand_column(rng, "c", 12, q, D=2, S=1, mode=mode, P=4 if mode != "enable" else 0,
                      pwres=2 if mode == "gate" else 3, seed=6)
    net = one_layer(col)
    X = rand_times(rng, 50, 12)
    P = col.proximal_inputs
    prox = rand_times(rng, 50, P, silent=0.3) if mode != "enable" else rng.integers(0, 2, (50, P))
    assert_forward_equal(net, X)
    assert_forward_equal(net, X, proximal={0: prox})
    labels = rng.integers(0, q, 50)
    for be in BACKENDS:
        assert_training_equal(net, X, epochs=2, proximal={0: prox}, backend=be)
        assert_training_equal(net, X, epochs=1, labels=labels, backend=be)
    if mode == "enable":  # label lines gate the outputs while learning
        res = train(net, X, epochs=1, labels=labels, record=True)
        out = res.stats["history"][0]["outputs"]
        fired = out >= 0
        assert fired.any()
        assert (np.argmax(fired, 1)[fired.any(1)] == labels[fired.any(1)]).all()


@pytest.mark.parametrize("credit", ["winner", "dendrite"])
def test_rstdp(credit):
    rng = np.random.default_rng(6)
    col = rand_column(rng, "c", 20, 3, D=1, S=2, seed=7)
    net = one_layer(col, LearningRule(kind="rstdp", credit=credit, mu_search=300))
    X = rand_times(rng, 60, 20)
    labels = rng.integers(0, 3, 60)
    for be in BACKENDS:
        assert_training_equal(net, X, epochs=2, labels=labels, backend=be)
    # the reward matters: other labels give other weights
    a = train(net, X, epochs=2, labels=labels).network
    b = train(net, X, epochs=2, labels=(labels + 1) % 3).network
    assert to_text(a) != to_text(b)
    with pytest.raises(ConfigError, match="R-STDP"):
        train(net, X)


def test_snl_and_wide_weights():
    rng = np.random.default_rng(7)
    col = rand_column(rng, "c", 18, 4, wres=4, seed=8)
    for response in ("snl", "rnl"):
        net = one_layer(col, response=response, timeres=2)
        X = rand_times(rng, 50, 18, t_max=3)
        assert_forward_equal(net, X)
        for be in BACKENDS:
            assert_training_equal(net, X, epochs=2, backend=be)


def _two_layer_net(rng) -> Network:
    k = Kernel(4, 4, 2, 2, 2)  # 4 windows of 8 lines
    cols0 = tuple(rand_column(rng, f"c{i}", 8, 3, seed=10 + i, col="kwta(2)" if i % 2 else "wta1")
                  for i in range(4))
    layer0 = Layer("l0", 32, cols0, kernel=k, learning=LearningRule())
    cols1 = (rand_column(rng, "d0", 12, 2, D=2, S=2, seed=20),
             rand_column(rng, "d1", 12, 3, seed=21))  # heterogeneous: two groups
    layer1 = Layer("l1", 12, cols1, learning=LearningRule(credit="dendrite"))
    return Network("two", TimeSpec(), 32, (layer0, Retime("rt", 1, 7), layer1),
                   meta=(("origin", "test"),))


def test_multilayer_kernel_retime_heterogeneous():
    rng = np.random.default_rng(8)
    net = _two_layer_net(rng)
    model = to_torch(net)
    assert len(model.layers[1].groups) == 2
    X = rand_times(rng, 40, 32, silent=0.3)
    assert_forward_equal(net, X)
    for be in BACKENDS:
        res = assert_training_equal(net, X, epochs=2, backend=be)
    assert set(res.stats["layers"]) == {0, 1}
    only1 = assert_training_equal(net, X, epochs=1, layers=[1])
    np.testing.assert_array_equal(only1.network.layers[0].columns[0].distal.weights,
                                  net.layers[0].columns[0].distal.weights)


def test_columns_forward_direct_equals_tables():
    rng = np.random.default_rng(9)
    col = rand_column(rng, "c", 10, 3, D=2, S=2, mode="gate", P=3, seed=1)
    net = one_layer(col)
    m: TNNColumns = to_torch(net).layers[0].groups[0]
    X = torch.as_tensor(rand_times(rng, 30, 10))[:, None, :]
    prox = torch.as_tensor(rand_times(rng, 30, 3))[:, None, :]
    a = m(X, prox)
    b = m.forward_direct(X, prox)
    ref = column_forward(col, TimeSpec(), X[:, 0].numpy(), prox[:, 0].numpy())
    for f in ("segment", "segment_won", "dendrite", "dendrite_won", "proximal", "neuron", "out"):
        np.testing.assert_array_equal(getattr(a, f).numpy(), getattr(b, f).numpy())
        np.testing.assert_array_equal(getattr(a, f)[:, 0].numpy(), getattr(ref, f))


def test_table_cache_follows_weight_changes():
    rng = np.random.default_rng(10)
    col = rand_column(rng, "c", 10, 2, seed=1)
    m: TNNColumns = to_torch(one_layer(col)).layers[0].groups[0]
    X = torch.as_tensor(rand_times(rng, 20, 10, silent=0))[:, None, :]
    before = m(X).segment.clone()
    with torch.no_grad():
        m.weight.zero_()  # in place: the cached table must be rebuilt
    after = m(X).segment
    assert (after == NONE).all() and not (before == NONE).all()


# --------------------------------------------------------------------------- API
def test_train_options_and_errors(gunpoint, gunpoint_net):
    Xtr = gunpoint[0]
    calls = []
    res = train(gunpoint_net, Xtr, epochs=2, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (100, 100)
    with pytest.raises(ConfigError, match="mode"):
        train(gunpoint_net, Xtr, mode="bogus")
    with pytest.raises(ConfigError, match="shape"):
        train(gunpoint_net, Xtr[:, :10])
    frozen = one_layer(gunpoint_net.layers[0].columns[0], rule=None)
    with pytest.raises(ConfigError, match="no learning rule"):
        train(frozen, Xtr, layers=[0])
    assert to_text(train(frozen, Xtr).network) == to_text(frozen)  # nothing to learn
    # shuffle: a permutation per epoch, still exact against the interpreter in that order
    sh = train(gunpoint_net, Xtr, epochs=1, shuffle=True, seed=3, record=True)
    perm = np.random.default_rng(3).permutation(len(Xtr))
    it = Interpreter(gunpoint_net)
    it.run(Xtr[perm], learn=True)
    assert to_text(it.network()) == to_text(sh.network)
    assert to_text(sh.network) != to_text(train(gunpoint_net, Xtr, epochs=1).network)
    assert res.stats["layers"][0]["coverage"][0] > 0.9


def test_continue_training_from_ir(gunpoint, gunpoint_net):
    """The generator states are stored as seeds: 1 + 1 epochs == 2 epochs, bit for bit."""
    Xtr = gunpoint[0]
    a = train(gunpoint_net, Xtr, epochs=2).network
    b = train(train(gunpoint_net, Xtr, epochs=1).network, Xtr, epochs=1).network
    assert to_text(a) == to_text(b)


def test_missing_numba_falls_back_with_warning(monkeypatch, gunpoint, gunpoint_net):
    Xtr = gunpoint[0]
    monkeypatch.setattr(stdp_mod, "numba_kernel", lambda: None)
    with pytest.warns(RuntimeWarning, match="numba is not installed"):
        res = train(gunpoint_net, Xtr[:10], epochs=1, device="cpu")
    assert res.stats["backend"] == "torch"
    with pytest.raises(ConfigError, match="numba"):
        train(gunpoint_net, Xtr[:10], backend="numba")
    monkeypatch.undo()
    assert to_text(res.network) == to_text(train(gunpoint_net, Xtr[:10], epochs=1).network)


def test_training_device_on_a_cuda_machine(monkeypatch, gunpoint, gunpoint_net):
    """With a GPU present, training still defaults to the numba kernel on the CPU (and an
    explicit backend='numba' no longer asks for the GPU and fails); the torch loop goes to
    the GPU only when asked for (backend='torch') or when numba is missing."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert stdp_mod.training_device(None, "auto").type == "cpu"
    assert stdp_mod.training_device(None, "numba").type == "cpu"
    assert stdp_mod.training_device(None, "torch").type == "cuda"
    assert stdp_mod.training_device("cpu", "torch").type == "cpu"
    res = train(gunpoint_net, gunpoint[0][:10], epochs=1, backend="numba")
    assert (res.stats["backend"], res.stats["device"]) == ("numba", "cpu")
    monkeypatch.setattr(stdp_mod, "numba_kernel", lambda: None)
    assert stdp_mod.training_device(None, "auto").type == "cuda"


# --------------------------------------------------------------------------- M3 targeted rule
@pytest.mark.parametrize("case", ["plain", "dendrites_column_sharing", "sum", "gate", "wide_snl"])
def test_targeted_rule_trainer_equals_interpreter(case):
    """kind = targeted (docs/model.md §5, M3): numba and torch equal the interpreter after
    every wave, for segments, dendrites, shared generators, proximal banks and 4-bit times."""
    rng = np.random.default_rng(11)
    rule = LearningRule(kind="targeted", mu_capture=700, mu_minus=500, mu_search=200,
                        mu_backoff=600)
    kw = {"plain": {}, "dendrites_column_sharing": dict(D=2, S=2, sharing="column"),
          "sum": dict(S=2, mode="sum", P=4), "gate": dict(D=2, mode="gate", P=4, pwres=2),
          "wide_snl": dict(wres=4, S=2)}[case]
    col = rand_column(rng, "c", 16, 3, seed=9, **kw)
    timeres, response = (4, "snl") if case == "wide_snl" else (3, "rnl")
    net = one_layer(col, rule, response=response, timeres=timeres)
    X = rand_times(rng, 60, 16, t_max=(1 << timeres) - 1, silent=0.25)
    prox = None
    if case in ("sum", "gate"):
        prox = {0: rand_times(rng, 60, col.proximal_inputs, silent=0.3)}
    for be in BACKENDS:
        res = assert_training_equal(net, X, epochs=2, proximal=prox, backend=be)
    assert sum(res.stats["layers"][0]["weight_changes"]) > 0
    b = train(one_layer(col, LearningRule(), response=response, timeres=timeres), X, epochs=2,
              proximal=prox).network
    assert to_text(b) != to_text(res.network)  # a different rule learns differently


def test_targeted_rule_converges_to_the_input_intensity():
    """With every Bernoulli certain, a segment that keeps winning one volley ends with the
    volley's intensities w = ((t_max - x) * w_max) // t_max (0 on silent lines)."""
    x = np.array([0, 1, 3, 7, NONE, 5, 2, NONE])
    w = np.zeros((1, 1, 1, 8), dtype=np.int64)
    col = Column("c", 8, SynapseBank(w, np.ones_like(w, dtype=bool), 3), np.array([[[1]]]),
                 Inhibition.parse("wta1"), Inhibition.parse("wta1"),
                 random=RandomSource(default_seeds(1, 0)))
    rule = LearningRule(kind="targeted", mu_capture=1024, mu_minus=1024, mu_search=1024,
                        mu_backoff=1024)
    net = one_layer(col, rule)
    out = train(net, np.tile(x, (12, 1)), epochs=1).network
    got = out.layers[0].columns[0].distal.weights.reshape(-1)
    np.testing.assert_array_equal(got, [7, 6, 4, 0, 0, 2, 5, 0])


# --------------------------------------------------------------------------- M2 relative theta
@pytest.mark.parametrize("case", ["stdp", "targeted_dendrites", "targeted_sum_shift2"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_relative_theta_trainer_equals_interpreter(case, backend):
    """theta = relative (M2): thresholds follow the weight sums every wave; both trainers
    equal the interpreter after every wave, and the trained IR carries the final thresholds."""
    rng = np.random.default_rng(12)
    kind = "stdp" if case == "stdp" else "targeted"
    rule = LearningRule(kind=kind, mu_capture=600, mu_minus=600, mu_search=100,
                        mu_backoff=600, theta="relative",
                        theta_shift=2 if case.endswith("shift2") else 1)
    kw = {"stdp": {}, "targeted_dendrites": dict(D=2, S=2),
          "targeted_sum_shift2": dict(S=2, mode="sum", P=4)}[case]
    col = rand_column(rng, "c", 16, 3, seed=9, **kw)
    net = one_layer(col, rule)
    X = rand_times(rng, 60, 16, silent=0.25)
    prox = {0: rand_times(rng, 60, col.proximal_inputs, silent=0.3)} if "sum" in case else None
    res = assert_training_equal(net, X, epochs=2, proximal=prox, backend=backend)
    col1 = res.network.layers[0].columns[0]
    w = col1.distal.weights.sum(axis=-1)
    off = col.theta - (col.distal.weights.sum(axis=-1) >> rule.theta_shift)
    np.testing.assert_array_equal(col1.theta, np.maximum(1, (w >> rule.theta_shift) + off))
    assert not np.array_equal(col1.theta, col.theta)  # the thresholds moved with the weights
    from dataclasses import replace

    fixed = train(one_layer(col, replace(rule, theta="fixed")), X, epochs=2,
                  proximal=prox).network
    assert to_text(fixed) != to_text(res.network)


def test_relative_theta_round_trips_and_v1_files_read():
    import tempfile
    from pathlib import Path

    from neutnngen.ir.serialize import load, save
    from neutnngen.ir.text import parse as from_text

    rng = np.random.default_rng(1)
    col = rand_column(rng, "c", 8, 2, seed=3)
    net = one_layer(col, LearningRule(kind="targeted", theta="relative", theta_shift=2))
    txt = to_text(net)
    assert "theta=relative theta_shift=2" in txt
    assert from_text(txt).layers[0].learning == net.layers[0].learning
    plain = one_layer(col)
    assert "theta=" not in to_text(plain).split("\n")[1]  # fixed: the line is as before
    assert from_text(to_text(plain)).layers[0].learning.theta == "fixed"
    with tempfile.TemporaryDirectory() as d:
        assert load(save(net, Path(d) / "m.json")).layers[0].learning == net.layers[0].learning
        save(plain, Path(d) / "p.json")
        assert "theta_shift" not in (Path(d) / "p.json").read_text()


# --------------------------------------------------------------------------- M5 win-rate
@pytest.mark.parametrize("case", ["fixed_stdp", "relative_targeted_dendrites", "kwta"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_winrate_homeostasis_trainer_equals_interpreter(case, backend):
    """homeostasis = winrate (M5): per-neuron counters move the thresholds; both trainers
    equal the interpreter after every wave (outputs, weights, final thresholds)."""
    from dataclasses import replace

    rng = np.random.default_rng(13)
    rule = LearningRule(kind="stdp" if case != "relative_targeted_dendrites" else "targeted",
                        mu_capture=500, mu_minus=500, mu_search=100, mu_backoff=500,
                        theta="relative" if case.startswith("relative") else "fixed",
                        homeostasis="winrate", h_step=2, h_shift=1)
    kw = {"fixed_stdp": {}, "relative_targeted_dendrites": dict(D=2, S=2),
          "kwta": dict(col="kwta(2)", S=2)}[case]
    col = rand_column(rng, "c", 16, 4, seed=9, **kw)
    net = one_layer(col, rule)
    X = rand_times(rng, 60, 16, silent=0.25)
    res = assert_training_equal(net, X, epochs=2, backend=backend)
    wins = np.asarray(res.stats["layers"][0]["wins"][0])
    plain = train(one_layer(col, replace(rule, homeostasis="none")), X, epochs=2)
    pw = np.asarray(plain.stats["layers"][0]["wins"][0])
    assert to_text(plain.network) != to_text(res.network)
    # the controller spreads the wins: the busiest neuron wins no more than without it
    assert wins.max() <= pw.max()


def test_moving_threshold_above_every_potential_is_a_learning_state():
    """M2 + M5 can leave a frequent winner's threshold above its largest possible potential
    (every synapse at w_max). The trained IR is valid (a warning, not an error: the counter
    or the relative term brings it down while learning goes on), the segment is silent, and
    the interpreter, the torch forward and resumed training all accept it."""
    from dataclasses import replace

    from neutnngen.ir.verify import IRValidationError, check, verify

    rng = np.random.default_rng(34)
    rule = LearningRule(kind="stdp", mu_capture=800, mu_minus=300, mu_search=200,
                        mu_backoff=800, theta="relative", theta_shift=0, homeostasis="winrate",
                        h_step=1, h_shift=0)
    col = rand_column(rng, "c", 8, 3, S=2, seed=9)
    net = one_layer(col, rule)
    X = rand_times(rng, 30, 8, silent=0.2)
    res = assert_training_equal(net, X, epochs=2, backend="numba")
    c = res.network.layers[0].columns[0]
    full = c.distal.mask.sum(axis=-1) * c.distal.w_max
    over = c.theta > full
    assert over.any()  # the case under test happens
    diags = verify(res.network)
    assert diags and all(d.severity == "warning" for d in diags)
    assert any("cannot fire until" in d.message for d in diags)
    tr = column_forward(c, res.network.time, rand_times(rng, 50, 8, silent=0.1))
    assert (tr.segment[:, over] < 0).all()  # never fires
    assert_forward_equal(res.network, X)
    assert_training_equal(res.network, X, epochs=1, backend="torch")  # training resumes
    frozen = res.network.replace_layer(0, replace(res.network.layers[0], learning=None))
    with pytest.raises(IRValidationError, match="threshold unreachable"):
        check(frozen)  # without a rule that moves it, the threshold is an error as before


# --------------------------------------------------------------------------- M8 weight budget
def test_weight_budget_hand_example():
    from neutnngen.ir.stages.layer.kernels import weight_budget

    w = np.array([[7, 7, 7, 1], [1, 2, 0, 0], [7, 7, 0, 0]])
    m = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]], dtype=bool)
    # B = (n * 7 * 128) >> 8: 14, 14, 7. Row 0: s = 22 > 14 -> (w * 14) // 22; row 1: s = 3
    # stays; row 2 (two synapses): s = 14 > 7 -> 3, 3; pruned synapses stay 0
    got = weight_budget(w, m, 7, 128)
    np.testing.assert_array_equal(got, [[4, 4, 4, 0], [1, 2, 0, 0], [3, 3, 0, 0]])
    np.testing.assert_array_equal(weight_budget(w, m, 7, 0), w)


@pytest.mark.parametrize("case", ["stdp", "targeted_relative_winrate", "pruned_dendrites"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_weight_budget_trainer_equals_interpreter(case, backend):
    """w_norm (M8): every segment over its budget is scaled down after each wave's update;
    both trainers equal the interpreter after every wave, and no trained segment ends over
    its budget."""
    from dataclasses import replace

    rng = np.random.default_rng(15)
    rule = LearningRule(kind="stdp", mu_capture=800, mu_minus=200, mu_search=300,
                        mu_backoff=200, w_norm=96)
    kw = {}
    if case == "targeted_relative_winrate":
        rule = replace(rule, kind="targeted", theta="relative", homeostasis="winrate",
                       h_shift=2)
    if case == "pruned_dendrites":
        kw = dict(D=2, S=2)
    col = rand_column(rng, "c", 16, 3, seed=9, **kw)
    if case == "pruned_dendrites":
        mask = rng.random(col.distal.mask.shape) < 0.7
        col = replace(col, distal=replace(col.distal, mask=mask,
                                          weights=np.where(mask, col.distal.weights, 0)))
    net = one_layer(col, rule)
    X = rand_times(rng, 60, 16, silent=0.2)
    res = assert_training_equal(net, X, epochs=2, backend=backend)
    c1 = res.network.layers[0].columns[0]
    w = np.where(c1.distal.mask, c1.distal.weights, 0)
    n = c1.distal.mask.sum(axis=-1)
    assert (w.sum(axis=-1) <= (n * c1.distal.w_max * 96) >> 8).all()
    free = train(one_layer(col, replace(rule, w_norm=0)), X, epochs=2).network
    fw = np.where(col.distal.mask, free.layers[0].columns[0].distal.weights, 0)
    assert (fw.sum(axis=-1) > (n * c1.distal.w_max * 96) >> 8).any()  # the budget bit
    assert "w_norm=96" in to_text(res.network) and "w_norm" not in to_text(free)


# --------------------------------------------------------------------------- M1 overshoot ties
def _with_tie(col, tie="overshoot"):
    from dataclasses import replace

    return replace(col, tie=tie)


@pytest.mark.parametrize("case", ["segments", "dendrites_kwta", "twta_segments", "enable",
                                  "all_mechanisms"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_overshoot_tie_trainer_equals_interpreter(case, backend):
    """tie = overshoot (M1): both trainers equal the interpreter after every wave, and the
    torch forward (batched inference) equals it on the trained and untrained networks."""
    rng = np.random.default_rng(14)
    kw = {"segments": dict(S=3), "dendrites_kwta": dict(D=2, S=2, col="kwta(2)"),
          "twta_segments": dict(S=3, seg="twta"), "enable": dict(S=2, mode="enable"),
          "all_mechanisms": dict(S=2)}[case]
    rule = LearningRule()
    if case == "all_mechanisms":
        rule = LearningRule(kind="targeted", mu_capture=256, mu_minus=256, mu_backoff=256,
                            theta="relative", homeostasis="winrate", h_shift=2)
    col = _with_tie(rand_column(rng, "c", 16, 3, seed=9, theta_range=(0.2, 0.6), **kw))
    net = one_layer(col, rule)
    X = rand_times(rng, 60, 16, silent=0.2)
    labels = rng.integers(0, 3, 60) if case == "enable" else None
    res = assert_training_equal(net, X, epochs=2, labels=labels, backend=backend)
    prox = {0: np.tile((labels[:, None] == np.arange(3)).astype(np.int64), 1)} if \
        labels is not None else None
    for n in (net, res.network):
        assert_forward_equal(n, X, proximal=prox)
    back = from_torch(to_torch(res.network))  # the torch model keeps its tie policy
    assert back.layers[0].columns[0].tie == "overshoot"
    np.testing.assert_array_equal(Interpreter(back).forward(X, prox),
                                  Interpreter(res.network).forward(X, prox))
    # ties do happen here, and the overshoot order changes who wins them
    low = train(one_layer(_with_tie(col, "lowest"), rule), X, epochs=2, labels=labels)
    assert to_text(low.network).replace(" tie=overshoot", "") != to_text(res.network).replace(
        " tie=overshoot", "")


def test_overshoot_tie_picks_the_larger_overshoot_and_compiles():
    from neutnngen.hdl.plan import make_plan

    # two neurons, one line at time 0: both cross at step 0 (theta 1); neuron 1's weight is
    # larger, so its potential overshoots more at step 0 under SNL (V = w)
    w = np.array([[[[2]]], [[[5]]]])
    col = Column("c", 1, SynapseBank(w, np.ones_like(w, dtype=bool), 3), np.ones((2, 1, 1), int),
                 Inhibition.parse("wta1"), Inhibition.parse("wta1"))
    net_low = one_layer(col, None, response="snl")
    net_ov = one_layer(_with_tie(col), None, response="snl")
    x = np.array([[0]])
    assert Interpreter(net_low).forward(x).tolist() == [[0, -1]]
    assert Interpreter(net_ov).forward(x).tolist() == [[-1, 0]]
    # the RTL implements it (tests/test_tie_rtl.py checks it against the interpreter)
    assert make_plan(net_ov).layers[0].columns[0].overshoot_bits("hardwired") > 0
    from neutnngen.ir.text import parse

    assert parse(to_text(net_ov)).layers[0].columns[0].tie == "overshoot"
    assert "tie=" not in to_text(net_low)


def test_on_chip_learning_plans_every_rule():
    """Every rule plans as learn-mode RTL in the serial and the parallel architecture
    (tests/test_learn.py checks them); the weight budget (M8) adds a norm pass (serial) or
    a level sweep of w_max + 1 cycles (parallel); the pipelined architecture has no
    learning."""
    from neutnngen.hdl.plan import make_plan

    rng = np.random.default_rng(3)
    col = rand_column(rng, "c", 6, 2, seed=1)
    for rule in (LearningRule(kind="targeted"), LearningRule(theta="relative"),
                 LearningRule(homeostasis="winrate"), LearningRule(w_norm=128)):
        for arch in ("serial", "parallel"):
            make_plan(one_layer(col, rule), weights="learn", architecture=arch)
    net = one_layer(col, LearningRule(w_norm=128))
    par = make_plan(net, weights="learn", architecture="parallel")
    free = make_plan(one_layer(col, LearningRule()), weights="learn", architecture="parallel")
    assert par.learn.NORM and par.info()["learn"]["norm_pass_cycles"] == col.w_max + 1
    assert par.WAVE_CYCLES == free.WAVE_CYCLES + col.w_max + 1
    assert par.LATENCY == free.LATENCY
    with pytest.raises(ConfigError, match="learn"):
        make_plan(net, weights="learn", architecture="pipelined")
    make_plan(net, weights="hardwired", architecture="parallel")
