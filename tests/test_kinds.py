"""Stage kinds as the extension point: the registries, and a toy ``delay`` kind added at run
time from ``tests/kinds/delay`` (IR node, verifier, text and JSON codecs, interpreter state,
torch module) that must work at every level without touching neutnngen. An unknown kind is
a clear error at every level."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import make_column_net
from kinds import delay as delay_kind
from kinds.delay import Delay, DelayKind
from kinds.delay.module import TNNDelay
from torch import nn

from neutnngen.errors import FrontendError, IRFormatError, IRValidationError, PassError
from neutnngen.frontend import from_torch, to_torch
from neutnngen.ir import (
    Column,
    Interpreter,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    SynapseBank,
    TimeSpec,
    check,
    default_seeds,
    kinds,
    load,
    parse,
    save,
    to_text,
    verify,
)
from neutnngen.model import infer, train
from neutnngen.model import kinds as torch_kinds
from neutnngen.passes import run_pipeline

KNOWN = (
    "known: layer, retime, encoder, dense, conv2d, sumpool, maxpool, flatten, lif, act, "
    "recurrent, lut, rankcode, convstdp")


@pytest.fixture
def delay():
    delay_kind.register()
    yield delay_kind
    delay_kind.unregister()


def toy_net(seed: int = 0, d=None) -> Network:
    """layer0 (12 -> 4, outputs up to t=13) -> delay (saturating at t_max_in = 7) -> layer1."""
    rng = np.random.default_rng(seed)
    l0 = make_column_net(p=12, q=4, seed=seed).layers[0]
    dl = Delay("dl", rng.integers(0, 4, 4) if d is None else d, 7)
    col = Column("c", 4, SynapseBank.dense(rng.integers(2, 8, (3, 1, 1, 4))), np.full((3, 1, 1), 6),
                 random=RandomSource(default_seeds(3, seed + 1)))
    l1 = Layer("layer1", 4, (col,), learning=LearningRule())
    return Network("toy", TimeSpec(), 12, (l0, dl, l1))


def times(n: int, lines: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(-1, 8, size=(n, lines))


# ----------------------------------------------------------------------------- registries
def test_builtin_kinds_load_from_their_modules():
    assert kinds.BUILTIN == ("layer", "retime", "encoder", "dense", "conv2d", "sumpool",
                             "maxpool", "flatten", "lif", "act", "recurrent", "lut", "rankcode",
                             "convstdp")
    for name in kinds.BUILTIN:
        assert kinds.kind_named(name) is importlib.import_module(f"neutnngen.ir.stages.{name}").KIND
        assert (torch_kinds.torch_kind_named(name)
                is importlib.import_module(f"neutnngen.model.stages.{name}").KIND)
    net = make_column_net()
    assert kinds.kind_of(net.layers[0]).name == "layer" and kinds.kind_of(net.layers[0]).is_layer


def test_unknown_kind_names_and_registration_errors(delay):
    with pytest.raises(kinds.UnknownStageKind, match=f"unknown stage kind 'bogus'; {KNOWN}, delay"):
        kinds.kind_named("bogus")
    with pytest.raises(kinds.UnknownStageKind, match="unknown stage type object; known kinds"):
        kinds.kind_of(object())
    with pytest.raises(FrontendError, match="unknown torch stage type Linear"):
        torch_kinds.torch_kind_of(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(DelayKind())
    with pytest.raises(TypeError, match="StageKind instance"):
        kinds.register("delay")
    delay.unregister()
    with pytest.raises(kinds.UnknownStageKind, match=f"unknown stage kind 'delay'; {KNOWN}$"):
        kinds.kind_named("delay")
    with pytest.raises(IRFormatError, match="unknown stage kind 'delay'"):
        torch_kinds.register(delay.module.TORCH_KIND)  # the IR kind must come first


def test_another_level_attaches_under_the_same_kind_names(tmp_path, monkeypatch):
    """How the HDL and verification levels plug in: a KindRegistry over their own package."""
    missing = kinds.KindRegistry("HDL", "no_such_level.stages", lambda k: k.node)
    with pytest.raises(kinds.UnknownStageKind, match="built-in stage kind 'layer' has no HDL "
                                                     "level: module no_such_level.stages.layer"):
        missing.named("layer")
    stages = tmp_path / "lvl" / "stages"
    stages.mkdir(parents=True)
    (tmp_path / "lvl" / "__init__.py").write_text("")
    (stages / "__init__.py").write_text("")
    for name, cls in (("layer", "Layer"), ("retime", "Retime")):
        (stages / f"{name}.py").write_text(
            "from types import SimpleNamespace\n"
            f"from neutnngen.ir import {cls}\n"
            f"KIND = SimpleNamespace(name={name!r}, node={cls})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    level = kinds.KindRegistry("HDL", "lvl.stages", lambda k: k.node)
    net = make_column_net()
    assert level.of(net.layers[0]).name == "layer" and level.named("retime").name == "retime"
    with pytest.raises(kinds.UnknownStageKind, match=f"unknown HDL stage kind 'delay'; {KNOWN}"):
        level.named("delay")


# ----------------------------------------------------------------------------- IR level
def test_network_structure_comes_from_the_kinds(delay):
    net = toy_net()
    assert verify(net) == []
    assert [st.name for st in net.layers] == ["layer0", "layer1"]
    assert net.depth == 2 and net.outputs == 3 and net.synapses == 12 * 4 + 4 * 3
    l1 = replace(net.layers[1], name="renamed")
    assert net.replace_layer(1, l1).stages[2].name == "renamed"
    assert net.replace_layer(1, l1).stages[1] is net.stages[1]


def test_delay_verifier(delay):
    net = toy_net()
    bad = replace(net, stages=(net.stages[0], Delay("dl", [1, -2, 0], 9), net.stages[2]))
    msgs = [d.message for d in verify(bad)]
    assert any("d has shape (3,); expected (4,)" in m for m in msgs)
    assert any("d=-2 at line 1; expected >= 0" in m for m in msgs)
    assert any("t_max=9 out of range; expected 0..7" in m for m in msgs)
    # the next layer sees times up to t_max = 9 > t_max_in: the layer's own check fires too
    assert any("input times reach 9 > t_max_in=7" in m for m in msgs)
    # without the delay (or a retime) layer1 would see layer0's raw times
    direct = replace(net, stages=(net.stages[0], net.stages[2]))
    assert any("input times reach 13" in d.message for d in verify(direct))


def test_text_and_json_round_trips(delay, tmp_path):
    net = toy_net()
    t = to_text(net)
    assert '  delay name="dl" t_max=7 d=[' in t
    assert to_text(parse(t)) == t
    p = save(net, tmp_path / "toy")
    doc = json.loads(p.read_text())
    assert doc["version"] == 1 and doc["stages"][1] == {"type": "delay", "name": "dl",
                                                        "t_max": 7, "d": "s1/d"}
    with np.load(p.with_suffix(".npz")) as z:
        np.testing.assert_array_equal(z["s1/d"], net.stages[1].d)
    back = load(p)
    assert to_text(back) == t
    np.testing.assert_array_equal(back.stages[1].d, net.stages[1].d)
    b1 = p.read_bytes(), p.with_suffix(".npz").read_bytes()
    save(back, tmp_path / "toy")
    assert (p.read_bytes(), p.with_suffix(".npz").read_bytes()) == b1


def test_unknown_kind_in_a_file_or_text_is_a_clear_error(delay, tmp_path):
    net = toy_net()
    p = save(net, tmp_path / "toy")
    t = to_text(net)
    delay.unregister()
    with pytest.raises(IRFormatError, match=f"stage 1 \\('dl'\\): unknown stage kind 'delay'; "
                                            f"{KNOWN}") as e:
        load(p)
    assert e.value.path == str(p)
    n = 1 + next(i for i, ln in enumerate(t.splitlines()) if ln.startswith("  delay "))
    with pytest.raises(IRFormatError, match=f"line {n}: unknown node 'delay': unknown stage kind "
                                            f"'delay'; {KNOWN}"):
        parse(t)
    # a hand-edited file of the built-in kinds
    q = save(make_column_net(), tmp_path / "plain")
    doc = json.loads(q.read_text())
    doc["stages"][0]["type"] = "layr"
    q.write_text(json.dumps(doc))
    with pytest.raises(IRFormatError, match=f"unknown stage kind 'layr'; {KNOWN}"):
        load(q)


def test_unknown_node_is_refused_by_verify_interpreter_and_network(delay):
    net = toy_net()
    delay.unregister()
    diags = verify(net)
    assert [d.path for d in diags] == ["toy/dl"]
    assert diags[0].message == (f"unknown stage type Delay; {KNOWN.replace('known: ', 'known kinds: ')}; the "
                                "stages after it are not checked")
    with pytest.raises(IRValidationError, match="unknown stage type Delay"):
        check(net)
    with pytest.raises(IRValidationError, match="unknown stage type Delay"):
        Interpreter(net)
    with pytest.raises(kinds.UnknownStageKind, match="unknown stage type Delay"):
        Interpreter(net, validate=False)
    with pytest.raises(kinds.UnknownStageKind, match="unknown stage type Delay"):
        net.outputs  # noqa: B018
    with pytest.raises(kinds.UnknownStageKind, match="unknown stage type Delay"):
        to_text(net)


# ----------------------------------------------------------------------------- interpreter == torch
def test_delay_stage_interpreter_equals_torch(delay):
    node = Delay("d", [0, 1, 3, 9], 7)
    x = np.array([[-1, 0, 4, 13], [2, 6, -1, 0], [7, 7, 7, 7]])
    want = np.array([[-1, 1, 7, 7], [2, 7, -1, 7], [7, 7, 7, 7]])
    out, trace = DelayKind().init_state(node, TimeSpec()).forward(x, None)
    np.testing.assert_array_equal(out, want)
    assert trace is None
    np.testing.assert_array_equal(TNNDelay("d", node.d, 7)(torch.as_tensor(x)).numpy(), want)


def test_layer_delay_layer_runs_in_interpreter_and_torch(delay):
    net = toy_net()
    X = times(300, 12)
    want = Interpreter(net).forward(X, all_layers=True)
    assert (want[0] > 7).any()  # layer0 emits beyond t_max_in: the delay saturates them
    model = to_torch(net)
    assert isinstance(model.stages[1], TNNDelay)
    got = model(torch.as_tensor(X), all_layers=True)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g.numpy(), w)
    np.testing.assert_array_equal(infer(net, X), want[-1])
    assert to_text(from_torch(model)) == to_text(net)
    seq = from_torch(nn.Sequential(*model.stages), name="toy")
    assert to_text(seq) == to_text(net)
    # the delay matters: the same network with zero delays computes something else
    zero = Interpreter(toy_net(d=np.zeros(4, dtype=np.int64))).forward(X)
    assert (zero != want[-1]).any()


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_training_through_a_delay_is_bit_exact(delay, backend):
    net = toy_net()
    X = times(120, 12, seed=2)
    res = train(net, X, epochs=1, backend=backend, device="cpu")
    it = Interpreter(net)
    it.run(X, learn=True, layers={0})
    it = Interpreter(it.network())
    it.run(X, learn=True, layers={1})
    assert to_text(res.network) == to_text(it.network())
    assert (res.network.layers[1].columns[0].distal.weights
            != net.layers[1].columns[0].distal.weights).any()
    np.testing.assert_array_equal(res.network.stages[1].d, net.stages[1].d)


def test_unknown_kind_in_torch_conversion(delay):
    net = toy_net()
    model = to_torch(net)
    torch_kinds.unregister("delay")  # the IR kind stays known, the torch level does not
    with pytest.raises(FrontendError, match=f"unknown torch stage kind 'delay'; {KNOWN}"):
        to_torch(net)
    with pytest.raises(FrontendError, match="unsupported TNNDelay; supported: TNNLayer, "
                                            "TNNRetime") as e:
        from_torch(model)
    assert e.value.path == "toy/stage1"
    with pytest.raises(FrontendError, match="unsupported TNNDelay"):
        from_torch(nn.Sequential(*model.stages))


# ----------------------------------------------------------------------------- passes
def test_passes_skip_stages_without_synapses(delay):
    net = toy_net()
    res = run_pipeline(net, "prune-weight{max=2}")
    new = res.network
    assert new.synapses < net.synapses
    assert new.stages[1] is net.stages[1]
    assert [c["path"] for c in res.stats[0]["columns"]] == ["layer0/col0", "layer1/c"]


class _Wired(Delay):
    """A delay that claims synapses in a layout the passes do not know."""


class _WiredKind(DelayKind):
    name = "wired"
    node = _Wired
    has_synapses = True
    synapse_layout = "matrix"

    def synapses(self, node) -> int:
        return len(node.d)


def test_passes_refuse_synapse_layouts_they_do_not_know(delay):
    kinds.register(_WiredKind())
    try:
        net = toy_net()
        wired = replace(net, stages=(net.stages[0], _Wired("w", net.stages[1].d, 7), net.stages[2]))
        assert verify(wired) == []
        with pytest.raises(PassError, match="stage 'w' of kind 'wired' has synapses in the "
                                            "'matrix' layout outside a layer"):
            run_pipeline(wired, "prune-weight{max=0}")
    finally:
        kinds.unregister("wired")


# ------------------------------------------------------------------ HDL and verification levels
def test_unknown_kind_in_hdl_is_a_config_error(delay):
    from neutnngen.errors import ConfigError
    from neutnngen.hdl import kinds as hdl_kinds
    from neutnngen.hdl import make_plan

    net = toy_net()
    plan = make_plan(net)
    assert [s.kind for s in plan.built] == ["layer", "delay", "layer"]
    assert "delay" in hdl_kinds.known_kinds()
    hdl_kinds.unregister("delay")  # the IR kind stays known, the HDL level does not
    with pytest.raises(ConfigError, match="stage kind 'delay' has no HDL lowering; kinds with "
                                          "one: layer, retime, lut"):
        make_plan(net)


@pytest.mark.parametrize("weights", ["hardwired", "register"])
def test_delay_stage_in_the_amaranth_simulator(delay, weights):
    from neutnngen.hdl import simulate

    net = toy_net(seed=0)
    X = times(120, 12, seed=2)
    want = Interpreter(net).forward(X)
    assert (Interpreter(net).forward(X, all_layers=True)[0] > 7).any()  # saturating delays
    np.testing.assert_array_equal(simulate(net, X, weights), want)
    np.testing.assert_array_equal(simulate(net, X, weights, backpressure=0.5, seed=2), want)


@pytest.mark.requires_sim
def test_delay_stage_verified_in_cocotb(delay, tmp_path):
    """The toy kind's registered stream stage between two layers, in the generated Verilog,
    against the interpreter: at full rate with latency checked, and under backpressure."""
    from kinds.delay.ir import delay as apply_delay

    from neutnngen.hdl import emit
    from neutnngen.verify import run_verification

    net = toy_net(seed=0)
    X = times(120, 12, seed=2)
    want = Interpreter(net).forward(X, all_layers=True)  # the two layers' volleys
    assert (want[0] > 7).any()  # layer0 emits beyond t_max_in: the delay saturates them
    assert (apply_delay(want[0], net.stages[1]) == 7).any() and (want[1] >= 0).any(axis=1).mean() > 0.5
    res = emit(net, tmp_path / "rtl")
    text = res.verilog.read_text()
    assert "delay1" in text  # the stage is its own instance in the top
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w")
    assert r.passed and r.waves == 120, r.first_mismatch
    r = run_verification(net, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w2", backpressure=0.4, gaps=0.3, seed=7)
    assert r.passed and r.waves == 120, r.first_mismatch
    # a design whose delay differs from the network's is caught
    other = toy_net(seed=0, d=(net.stages[1].d + 1) % 4)
    assert (Interpreter(other).forward(X) != want[-1]).any()
    r = run_verification(other, res.verilog, res.names, X, simulator="icarus",
                         workdir=tmp_path / "w3")
    assert r.mismatches > 0
