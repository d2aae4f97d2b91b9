"""Frontend: PyTorch <-> IR conversion (exact round trip) and the default initialiser."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from test_model import _encode, _two_layer_net, one_layer, rand_column, rand_times
from torch import nn

from neutnngen.errors import ConfigError, FrontendError
from neutnngen.frontend import default_theta, from_torch, init_column_network, to_torch
from neutnngen.frontend.init import mid_wave_step
from neutnngen.ir import Interpreter, parse, to_text
from neutnngen.ir.interp import potentials
from neutnngen.ir.nodes import LearningRule, Network, TimeSpec
from neutnngen.model import TNNColumns, TNNLayer, TNNNetwork, TNNRetime, infer, train


@pytest.fixture(scope="module")
def gunpoint_train():
    from aeon.datasets import load_classification

    X, y = load_classification("GunPoint", split="train")
    return _encode(X[:, 0, :]), y


def _nets() -> list[Network]:
    rng = np.random.default_rng(0)
    nets = [
        init_column_network(20, 3, seed=1),
        init_column_network(12, 2, dendrites=2, segments=3, seed=2, response="snl", timeres=2,
                            wres=4, segment_inhibition="kwta(2)", column_inhibition="twta",
                            sharing="column", learning=LearningRule(kind="rstdp", credit="dendrite",
                                                                    mu_capture=500, mu_min=3)),
        init_column_network(9, 2, learning=None, seed=3),
        one_layer(rand_column(rng, "g", 10, 3, D=2, S=2, mode="gate", P=4, pwres=2, seed=4)),
        one_layer(rand_column(rng, "s", 10, 3, mode="sum", P=5, pwres=4, seed=5)),
        one_layer(rand_column(rng, "e", 10, 4, mode="enable", seed=6), rule=None),
        _two_layer_net(rng),
    ]
    # a pruned column (absent synapses) with provenance
    n0 = nets[0]
    col = n0.layers[0].columns[0]
    mask = col.distal.mask.copy()
    mask[:, :, :, ::3] = False
    pruned = replace(col, distal=replace(col.distal, weights=np.where(mask, col.distal.weights, 0),
                                         mask=mask))
    nets.append(replace(n0.replace_layer(0, replace(n0.layers[0], columns=(pruned,))),
                        meta=(("pass", "prune"), ("seed", "1"))))
    return nets


@pytest.mark.parametrize("i", range(8))
def test_round_trip_identical_text(i):
    net = _nets()[i]
    model = to_torch(net)
    back = from_torch(model)
    assert to_text(back) == to_text(net)
    assert to_text(parse(to_text(back))) == to_text(net)


def test_round_trip_after_training_and_continue(gunpoint_train):
    X, _ = gunpoint_train
    net = init_column_network(150, 2, X=X, seed=0)
    trained = train(net, X, epochs=1).network
    model = to_torch(trained)
    assert to_text(from_torch(model)) == to_text(trained)
    # continue training from the converted model: same as 2 epochs at once
    again = train(from_torch(to_torch(trained)), X, epochs=1).network
    assert to_text(again) == to_text(train(net, X, epochs=2).network)
    # a model edited in torch lowers to an IR that the interpreter runs identically
    with torch.no_grad():
        model.layers[0].groups[0].weight[0, 1, 0, 0, :10] = 7
    edited = from_torch(model)
    assert to_text(edited) != to_text(trained)
    np.testing.assert_array_equal(infer(model, X), Interpreter(edited).forward(X))


def test_from_torch_other_module_forms():
    rng = np.random.default_rng(1)
    col = rand_column(rng, "col0", 8, 2, seed=1)
    net = one_layer(col)
    model = to_torch(net)
    layer = model.layers[0]
    cols = layer.groups[0]
    assert isinstance(cols, TNNColumns)
    a = from_torch(cols)
    np.testing.assert_array_equal(a.layers[0].columns[0].distal.weights, col.distal.weights)
    assert a.layers[0].learning is None  # TNNColumns alone carries no learning rule
    b = from_torch(layer)
    assert b.layers[0].learning == net.layers[0].learning
    seq = from_torch(nn.Sequential(layer))
    assert to_text(seq).split("\n", 2)[2] == to_text(b).split("\n", 2)[2]
    two = _two_layer_net(rng)
    m2 = to_torch(two)
    s2 = from_torch(nn.Sequential(*m2.stages), name="two")
    assert to_text(s2) == to_text(replace(two, meta=()))


def test_unsupported_modules_raise_frontend_error():
    with pytest.raises(FrontendError, match=r"unsupported Linear; supported: TNNNetwork"):
        from_torch(nn.Linear(3, 2))
    with pytest.raises(FrontendError, match="unsupported ReLU"):
        from_torch(TNNNetwork("n", TimeSpec(), 4, [nn.ReLU()]))
    with pytest.raises(FrontendError, match="without a layer module"):
        from_torch(nn.Sequential(TNNRetime("r", 1, 7)))
    m = to_torch(init_column_network(6, 2, seed=0))
    m.layers[0].groups[0].weight = m.layers[0].groups[0].weight.float()
    with pytest.raises(FrontendError, match="integer"):
        from_torch(m)
    assert isinstance(m.layers[0], TNNLayer)


def test_to_torch_device_and_dtypes():
    net = init_column_network(10, 2, seed=0)
    m = to_torch(net, device="cpu")
    g = m.layers[0].groups[0]
    assert g.weight.dtype == torch.int64 and g.mask.dtype == torch.bool
    assert g.weight.shape == (1, 2, 1, 1, 10)
    assert m.device.type == "cpu"


# --------------------------------------------------------------------------- initialiser
def test_default_init_fires_on_gunpoint_and_both_neurons_learn(gunpoint_train):
    X, _ = gunpoint_train
    for kwargs in ({"X": X}, {}):
        net = init_column_network(150, 2, seed=0, **kwargs)
        out = infer(net, X)
        assert (out >= 0).any(axis=1).mean() >= 0.9, kwargs
    net = init_column_network(150, 2, X=X, seed=0)
    res = train(net, X, epochs=2)
    out = infer(res.network, X)
    big = np.where(out < 0, 1 << 20, out)
    winners = np.where((out >= 0).any(1), big.argmin(1), -1)
    assert (winners >= 0).mean() >= 0.9
    assert set(winners[winners >= 0]) == {0, 1}, np.bincount(winners + 1)
    assert min(res.stats["layers"][0]["wins"][0]) > 0


def test_default_theta_rule(gunpoint_train):
    X, _ = gunpoint_train
    net = init_column_network(150, 2, X=X, seed=0)
    col = net.layers[0].columns[0]
    theta = int(col.theta[0, 0, 0])
    assert (col.theta == theta).all()
    t_mid = mid_wave_step(net.time)
    assert t_mid == 3
    w = col.distal.weights.reshape(2, -1)
    V = potentials(X.astype(np.int64), w, np.ones_like(w, bool), "rnl", t_mid + 1)[:, :, t_mid]
    share = (V >= theta).mean()
    assert 0.4 <= share <= 0.6  # the median: crossing by mid-wave on about half
    assert theta == default_theta(col.distal.weights, col.distal.mask, net.time, 7, X)
    # without data: the expected mid-wave potential of uniform inputs, same order of size
    th0 = init_column_network(150, 2, seed=0).layers[0].columns[0].theta[0, 0, 0]
    assert 0.5 * theta < th0 < 2 * theta
    # clamped so that every segment can reach it
    tiny = init_column_network(4, 2, w_init=1, X=np.zeros((3, 4), int), seed=0)
    assert tiny.layers[0].columns[0].theta.max() <= 4


def test_init_is_seeded_and_validates():
    a = init_column_network(30, 3, seed=5)
    assert to_text(a) == to_text(init_column_network(30, 3, seed=5))
    assert to_text(a) != to_text(init_column_network(30, 3, seed=6))
    col = a.layers[0].columns[0]
    assert col.random is not None and len(col.random.seeds) == 3
    assert len(set(col.random.seeds.tolist())) == 3
    frozen = init_column_network(30, 3, learning=None)
    assert frozen.layers[0].columns[0].random is None and frozen.layers[0].learning is None
    half = init_column_network(30, 3, w_init="half").layers[0].columns[0].distal.weights
    assert set(np.unique(half)) <= {3, 4}
    with pytest.raises(ConfigError, match="w_init"):
        init_column_network(30, 3, w_init="gauss")
    with pytest.raises(ConfigError, match="shape"):
        init_column_network(30, 3, X=np.zeros((4, 29), int))
    # explicit theta and weights are kept
    w = np.full((2, 1, 1, 5), 2)
    n = init_column_network(5, 2, w_init=w, theta=7)
    assert (n.layers[0].columns[0].theta == 7).all()
    assert (n.layers[0].columns[0].distal.weights == 2).all()
    X = rand_times(np.random.default_rng(0), 10, 5)
    assert infer(n, X).shape == (10, 2)
