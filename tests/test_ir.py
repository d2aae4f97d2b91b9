"""IR nodes, verification diagnostics, text and file round trips, the reference
interpreter's primitives (docs/model.md §§2, 4, 5) and import isolation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_column_net

from neutnngen.errors import IRFormatError, IRValidationError
from neutnngen.ir import (
    NONE,
    Column,
    Inhibition,
    Interpreter,
    Kernel,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
    TimeSpec,
    check,
    default_seeds,
    first_crossing,
    inhibit,
    load,
    parse,
    potentials,
    save,
    serialize,
    to_text,
    verify,
)
from neutnngen.ir.interp import stdp_bank
from neutnngen.ir.rng import advance, lfsr_step, stabilisation_table


# ----------------------------------------------------------------------------- docs/model.md §2
def test_spec_worked_example_rnl():
    V = potentials(np.array([[0, 2, NONE]]), np.array([[3, 7, 5]]), np.ones((1, 3), bool), "rnl", 14)
    assert V[0, 0, :5].tolist() == [1, 2, 4, 5, 6]
    assert first_crossing(V, np.array([6])).tolist() == [[4]]
    # '>=' not '>': theta 5 fires at t=3, theta 7 at t=5
    assert first_crossing(V, np.array([5]))[0, 0] == 3
    assert first_crossing(V, np.array([7]))[0, 0] == 5


def test_rnl_saturates_at_t13_and_snl_steps():
    ts = TimeSpec(3, "rnl")
    assert ts.wave_length(7) == 14
    V = potentials(np.array([[7]]), np.array([[7]]), np.ones((1, 1), bool), "rnl", 14)
    assert V[0, 0].tolist() == [0] * 7 + [1, 2, 3, 4, 5, 6, 7]
    assert TimeSpec(3, "snl").wave_length(7) == 8
    V = potentials(np.array([[2, 5]]), np.array([[3, 4]]), np.ones((1, 2), bool), "snl", 8)
    assert V[0, 0].tolist() == [0, 0, 3, 3, 3, 7, 7, 7]


def test_absent_synapse_contributes_nothing():
    mask = np.array([[True, False]])
    V = potentials(np.array([[0, 0]]), np.array([[2, 7]]), mask, "rnl", 14)
    assert V[0, 0, -1] == 2


def test_never_firing_is_none():
    V = potentials(np.array([[NONE, NONE]]), np.array([[7, 7]]), np.ones((1, 2), bool), "rnl", 14)
    assert first_crossing(V, np.array([1]))[0, 0] == NONE


# ----------------------------------------------------------------------------- docs/model.md §4
@pytest.mark.parametrize(
    "policy,times,expected",
    [
        ("wta1", [5, 3, 3, NONE], [NONE, 3, NONE, NONE]),  # tie -> lowest index
        ("wta1", [NONE, NONE], [NONE, NONE]),
        ("kwta(2)", [5, 3, 3, 4], [NONE, 3, 3, NONE]),
        ("kwta(2)", [4, 3, 4, 4], [4, 3, NONE, NONE]),  # tie for 2nd -> lowest index
        ("kwta(3)", [2, NONE, NONE, NONE], [2, NONE, NONE, NONE]),
        ("twta", [5, 3, 3, 4], [NONE, 3, 3, NONE]),
        ("twta", [NONE, 6, NONE, 6], [NONE, 6, NONE, 6]),
        ("none", [5, NONE, 3, 3], [5, NONE, 3, 3]),
    ],
)
def test_inhibition_policies_with_ties(policy, times, expected):
    assert inhibit(np.array(times), Inhibition.parse(policy)).tolist() == expected


def test_inhibition_parse_errors():
    from neutnngen.errors import ConfigError

    with pytest.raises(ConfigError, match="accepted: wta1, kwta"):
        Inhibition.parse("wta2")
    with pytest.raises(ConfigError, match="kwta"):
        Inhibition.parse("kwta")


# ----------------------------------------------------------------------------- docs/model.md §5
def test_lfsr_is_maximal_length():
    rs = RandomSource(np.array([1]))
    s = np.array([1])
    seen = 0
    for _ in range(65535):
        s = lfsr_step(s, 16, rs.tapmask)
        seen += 1
        if s[0] == 1:
            break
    assert seen == 65535


def test_draws_are_the_generated_bits():
    rs = RandomSource(np.array([0xACE1]))
    d, st = advance(rs, rs.seeds, 2)
    s = np.array([0xACE1])
    for _ in range(10):
        s = lfsr_step(s, 16, rs.tapmask)
    assert d[0, 0] == s[0] & 0x3FF
    for _ in range(10):
        s = lfsr_step(s, 16, rs.tapmask)
    assert d[0, 1] == s[0] & 0x3FF and st[0] == s[0]


def test_stabilisation_extremes():
    up, down = stabilisation_table(7)
    assert up[0] == 0 and up[7] == 1024 and down[0] == 1024 and down[7] == 0
    # a(2-a) at w=1: 13/49 -> 1024*13/49 = 271.67 -> 272
    assert up[1] == 272
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(down) <= 0)


def _draws(capture=0, minus=0, search=0, backoff=0, mn=1023, level=1023, w_max=7):
    return np.array([[capture, minus, search, backoff, mn] + [level] * (w_max + 1)])


@pytest.mark.parametrize(
    "case,x,z,w,draws,expected",
    [
        # capture: x <= z, B(capture) and (B(min) or Fup(w)); min draw 0 < 70 -> on
        ("capture", 2, 5, 3, _draws(capture=0, mn=0), 4),
        ("capture-no-bit", 2, 5, 3, _draws(capture=1023, mn=0), 3),
        ("capture-Fup", 2, 5, 3, _draws(capture=0, mn=1023, level=0), 4),  # Fup(3)>0
        ("capture-Fup-zero", 2, 5, 0, _draws(capture=0, mn=1023, level=0), 0),  # Fup(0)=0
        ("capture-equal-times", 5, 5, 3, _draws(capture=0, mn=0), 4),
        ("capture-clamp", 0, 5, 7, _draws(capture=0, mn=0), 7),
        ("minus", 6, 5, 3, _draws(minus=0, mn=0), 2),
        ("minus-Fdown-wmax", 6, 5, 7, _draws(minus=0, mn=1023, level=0), 7),  # Fdown(7)=0
        ("search", 3, NONE, 3, _draws(search=0), 4),
        ("search-no-bit", 3, NONE, 3, _draws(search=2), 3),  # 2 < mu_search=2 is false
        ("backoff", NONE, 4, 3, _draws(backoff=0, mn=0), 2),
        ("backoff-clamp", NONE, 4, 0, _draws(backoff=0, mn=0), 0),
        ("idle", NONE, NONE, 3, _draws(), 3),
    ],
)
def test_each_stdp_case(case, x, z, w, draws, expected):
    new = stdp_bank(np.array([[w]]), np.ones((1, 1), bool), 7, np.array([x]), np.array([z]),
                    draws, LearningRule(), None)
    assert int(new[0, 0]) == expected, case


def test_rstdp_rewards():
    rule = LearningRule(kind="rstdp")
    d = _draws(capture=0, minus=0, search=0, backoff=0, mn=0)
    args = (np.array([[3, 3]]), np.ones((1, 2), bool), 7, np.array([2, 6]), np.array([4]), d, rule)
    assert stdp_bank(*args, 1).tolist() == [[4, 2]]  # normal capture/minus
    assert stdp_bank(*args, -1).tolist() == [[2, 2]]  # capture turns into a decrement
    assert stdp_bank(*args, 0).tolist() == [[3, 3]]  # nothing fired: search only (z fired -> no-op)
    s = stdp_bank(np.array([[3]]), np.ones((1, 1), bool), 7, np.array([2]), np.array([NONE]), d, rule, 0)
    assert s.tolist() == [[4]]
    s = stdp_bank(np.array([[3]]), np.ones((1, 1), bool), 7, np.array([2]), np.array([NONE]), d, rule, 1)
    assert s.tolist() == [[3]]  # no search with reward +1


def test_pruned_synapse_never_learns():
    new = stdp_bank(np.array([[0, 3]]), np.array([[False, True]]), 7, np.array([0, 0]),
                    np.array([NONE]), _draws(search=0), LearningRule(), None)
    assert new.tolist() == [[0, 4]]


def test_winner_credit_vs_dendrite_credit():
    # Two neurons, both fire; only the column winner learns under credit=winner.
    base = make_column_net(p=4, q=2, theta=2, learning=True)
    col = base.layers[0].columns[0]
    col = dataclasses.replace(col, distal=SynapseBank.dense(np.full((2, 1, 1, 4), 4)))
    x = np.array([0, 0, 1, NONE])
    res = {}
    for credit in ("winner", "dendrite"):
        rule = LearningRule(credit=credit, mu_capture=1024, mu_minus=1024, mu_search=0,
                            mu_backoff=1024, mu_min=1024)
        net = Network("n", TimeSpec(), 4, (Layer("layer0", 4, (col,), learning=rule),))
        it = Interpreter(net)
        it.step(x, learn=True)
        res[credit] = it.distal[0][0][:, 0, 0].tolist()
    # both fire at t=0; neuron 0 wins the tie (lowest index). Lines 0-1 capture (x=0 <= z=0),
    # line 2 is minus (x=1 > z=0), line 3 backs off (silent input, neuron fired).
    assert res["winner"] == [[5, 5, 3, 3], [4, 4, 4, 4]]
    assert res["dendrite"] == [[5, 5, 3, 3], [5, 5, 3, 3]]


def test_interpreter_learning_is_deterministic_and_resumable():
    net = make_column_net(p=16, q=3, theta=10)
    X = np.random.default_rng(3).integers(-1, 8, size=(40, 16))
    a = Interpreter(net)
    a.run(X, learn=True)
    b = Interpreter(net)
    b.run(X[:20], learn=True)
    c = Interpreter(b.network())  # resume from the saved IR (weights + LFSR states)
    c.run(X[20:], learn=True)
    assert to_text(a.network()) == to_text(c.network())
    assert to_text(a.network()) != to_text(net)


# ----------------------------------------------------------------------------- verify()
def _layer_net(col, **kw):
    lr = kw.pop("learning", None)
    return Network("n", TimeSpec(), col.inputs, (Layer("layer0", col.inputs, (col,), learning=lr, **kw),))


def test_valid_net_has_no_diagnostics(column_net):
    assert verify(column_net) == []
    assert check(column_net) is column_net


def _col(**kw):
    base = dict(name="c", inputs=4, distal=SynapseBank.dense(np.full((2, 1, 1, 4), 3)),
                theta=np.full((2, 1, 1), 4))
    base.update(kw)
    return Column(**base)


@pytest.mark.parametrize(
    "net_fn,path,fragment",
    [
        (lambda: _layer_net(_col(distal=SynapseBank.dense(np.full((2, 1, 1, 4), 9)))),
         "n/layer0/c/distal", "out of range 0..7"),
        (lambda: _layer_net(_col(theta=np.full((2, 1, 1), 99))), "n/layer0/c/n0/d0/s0",
         "threshold unreachable"),
        (lambda: _layer_net(_col(theta=np.full((2, 1, 1), 0))), "n/layer0/c/n0/d0/s0", "theta=0"),
        (lambda: _layer_net(_col(distal=SynapseBank(np.full((2, 1, 1, 4), 3), np.zeros((2, 1, 1, 4), bool)))),
         "n/layer0/c/distal", "absent (pruned) synapse"),
        (lambda: _layer_net(_col(distal=SynapseBank.dense(np.full((2, 1, 1, 4), 3), wres=12))),
         "n/layer0/c/distal", "wres=12"),
        (lambda: _layer_net(_col(column_inhibition=Inhibition("kwta", 5))),
         "n/layer0/c/column_inhibition", "kwta k=5"),
        (lambda: _layer_net(_col(), learning=LearningRule()), "n/layer0/c/random", "no RandomSource"),
        (lambda: _layer_net(_col(random=RandomSource(np.array([0, 1]))), learning=LearningRule()),
         "n/layer0/c/random", "seed 0"),
        (lambda: _layer_net(_col(random=RandomSource(np.array([1]))), learning=LearningRule()),
         "n/layer0/c/random", "1 seeds; expected 2"),
        (lambda: _layer_net(_col(), learning=LearningRule(mu_capture=2000)),
         "n/layer0/learning", "mu_capture=2000"),
        (lambda: _layer_net(_col(proximal_mode="enable")), "n/layer0/c", "proximal_inputs == neurons"),
        (lambda: _layer_net(_col(proximal_mode="bogus")), "n/layer0/c", "proximal_mode='bogus'"),
        (lambda: Network("n", TimeSpec(), 4, (Layer("layer0", 4, (_col(),)),
                                              Layer("layer1", 2, (_col(inputs=2, distal=SynapseBank.dense(np.full((2, 1, 1, 2), 3))),)))),
         "n/layer1", "silent truncation"),
        (lambda: Network("n", TimeSpec(), 4, (Layer("layer0", 4, (_col(),)), Retime("rt", 1, 5),
                                              Layer("layer1", 2, (_col(inputs=2, distal=SynapseBank.dense(np.full((2, 1, 1, 2), 3))),)))),
         "n/rt", "t_max=5"),
        (lambda: Network("n", TimeSpec(), 5, (Layer("layer0", 4, (_col(),)),)), "n/layer0", "previous stage delivers 5"),
        (lambda: Network("n", TimeSpec(timeres=9), 4, (Layer("layer0", 4, (_col(),)),)), "n/time", "timeres=9"),
        (lambda: Network("n", TimeSpec(), 16, (Layer("layer0", 16, (_col(),), kernel=Kernel(4, 4, 1, 2, 2)),)),
         "n/layer0/kernel", "4 windows but the layer has 1 columns"),
        (lambda: _layer_net(_col(inputs=5)), "n/layer0/c/distal", "column has inputs=5"),
    ],
)
def test_every_diagnostic(net_fn, path, fragment):
    diags = verify(net_fn())
    assert any(d.path == path and fragment in d.message for d in diags), diags
    errors = [d for d in diags if d.severity == "error"]
    with pytest.raises(IRValidationError) as ei:
        check(net_fn())
    assert len(ei.value.diagnostics) == len(errors)
    assert fragment in str(ei.value)


def test_unreachable_with_current_weights_is_a_warning_when_learning():
    col = _col(distal=SynapseBank.dense(np.full((2, 1, 1, 4), 1)), theta=np.full((2, 1, 1), 10),
               random=RandomSource(default_seeds(2, 0)))
    diags = verify(_layer_net(col, learning=LearningRule()))
    assert diags and all(d.severity == "warning" for d in diags)
    assert any("cannot fire until learning" in d.message for d in diags)


def test_retime_makes_two_layers_valid():
    net = Network("n", TimeSpec(), 4, (Layer("layer0", 4, (_col(theta=np.full((2, 1, 1), 11)),)), Retime("rt", 1, 7),
                                       Layer("layer1", 2, (_col(inputs=2, distal=SynapseBank.dense(np.full((2, 1, 1, 2), 3))),))))
    assert verify(net) == []
    X = np.random.default_rng(0).integers(-1, 8, size=(30, 4))
    outs = Interpreter(net).forward(X, all_layers=True)
    assert outs[0].max() > 7  # layer 0 emits times beyond t_max_in ...
    assert outs[1].shape == (30, 2)


# ----------------------------------------------------------------------------- text/files
def _rich_net():
    rng = np.random.default_rng(7)
    m = rng.random((2, 2, 2, 6)) > 0.3
    col = Column("c0", 6, SynapseBank(rng.integers(0, 8, (2, 2, 2, 6)) * m, m), np.full((2, 2, 2), 5),
                 segment_inhibition=Inhibition("kwta", 2), column_inhibition=Inhibition("twta"),
                 proximal_mode="gate", proximal_inputs=3,
                 proximal=SynapseBank.dense(rng.integers(0, 4, (2, 3)), wres=2),
                 proximal_theta=np.array([2, 3]), random=RandomSource(default_seeds(10, 1)))
    col2 = Column("c1", 4, SynapseBank.dense(rng.integers(0, 8, (3, 1, 1, 4))), np.full((3, 1, 1), 4))
    return Network("rich", TimeSpec(3, "rnl"), 6,
                   (Layer("l0", 6, (col,), learning=LearningRule(kind="rstdp", credit="dendrite")),
                    Retime("rt", 1, 7),
                    Layer("l1", 2, (dataclasses.replace(col2, inputs=4, distal=SynapseBank.dense(rng.integers(0, 8, (3, 1, 1, 4)))),) * 1,
                          kernel=None)),
                   meta=(("dataset", "unit"),))


def test_text_roundtrip_is_stable():
    net = make_column_net()
    t = to_text(net)
    assert to_text(parse(t)) == t
    rich = _rich_net()
    t = to_text(rich)
    assert "weights=[" in t and "." in t and "proximal_segment" in t and "kwta(2)" in t
    assert to_text(parse(t)) == t


def test_parse_errors():
    with pytest.raises(IRFormatError, match="first line"):
        parse("hello\n")
    with pytest.raises(IRFormatError, match="unknown node"):
        parse("neutnngen-ir 1\nnetwork name=\"x\" inputs=1 timeres=3 response=rnl\nbogus a=1\n")


def test_save_load_identical(tmp_path):
    for net in (make_column_net(), _rich_net()):
        p = save(net, tmp_path / net.name)
        assert to_text(load(p)) == to_text(net)
        # byte-identical on a second save
        b1 = p.read_bytes(), p.with_suffix(".npz").read_bytes()
        save(net, tmp_path / net.name)
        assert (p.read_bytes(), p.with_suffix(".npz").read_bytes()) == b1


def test_load_rejects_unknown_version_and_tampering(tmp_path):
    import json

    p = save(make_column_net(), tmp_path / "m")
    doc = json.loads(p.read_text())
    doc["version"] = 99
    p.write_text(json.dumps(doc))
    with pytest.raises(IRFormatError, match="version 99 is not supported"):
        load(p)
    p = save(make_column_net(), tmp_path / "m")
    save(make_column_net(seed=5), tmp_path / "other")
    (tmp_path / "m.npz").write_bytes((tmp_path / "other.npz").read_bytes())
    with pytest.raises(IRFormatError, match="checksum"):
        load(p)
    with pytest.raises(IRFormatError, match="no IR file"):
        load(tmp_path / "missing.json")
    assert serialize.VERSION in serialize.SUPPORTED_VERSIONS


# ----------------------------------------------------------------------------- isolation
def test_import_ir_stays_free_of_heavy_dependencies():
    code = ("import sys, neutnngen.ir, neutnngen.ir.interp; "
            "bad = [m for m in ('torch', 'amaranth', 'cocotb') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
