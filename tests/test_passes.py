"""neutnngen.passes: the pass framework and the pruning passes on hand-built IR (golden text)."""

from __future__ import annotations

import numpy as np
import pytest

from neutnngen.errors import PassError
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
    parse,
    to_text,
    verify,
)
from neutnngen.passes import (
    PASSES,
    Activity,
    PassContext,
    PruneFraction,
    make_pass,
    parse_pipeline,
    pipeline_spec,
    record_activity,
    run_pipeline,
)
from neutnngen.prune import best_within_tolerance, parse_sweep, sweep_specs

W = [[3, 0, 1, 7, 0, 2],
     [2, 5, 2, 2, 6, 2]]


def tiny(weights=W, theta=6, learning=True, prox=None, mode="sum", ptheta=None) -> Network:
    w = np.array(weights)[:, None, None, :]
    q, p = w.shape[0], w.shape[-1]
    pb = None
    P = 0
    if prox is not None:
        pw = np.array(prox)
        pw = pw[:, None, None, :] if mode == "sum" else pw
        pb = SynapseBank.dense(pw)
        P = pw.shape[-1]
    ngen = 2 * q if mode == "gate" else q
    col = Column("col0", p, SynapseBank.dense(w), np.full((q, 1, 1), theta),
                 proximal_mode=mode, proximal_inputs=P, proximal=pb,
                 proximal_theta=None if ptheta is None else np.array(ptheta),
                 random=RandomSource(default_seeds(ngen, 1)) if learning else None)
    return check(Network("t", TimeSpec(3), p, (Layer("L0", p, (col,),
                                                    learning=LearningRule() if learning else None),)))


HEAD = """neutnngen-ir 1
network name="t" inputs=6 timeres=3 response=rnl
  layer name="L0" inputs=6 learning=stdp credit=winner mu_capture=640 mu_minus=952 mu_search=2 mu_backoff=952 mu_min=70
    column name="col0" inputs=6 neurons=2 dendrites=1 segments=1 wres=3 segment_inhibition=wta1 column_inhibition=wta1 proximal_mode=sum proximal_inputs=0
"""


def segments(net: Network) -> str:
    """The segment lines of the canonical text (the rest is checked once against HEAD)."""
    return "\n".join(ln.strip() for ln in to_text(net).splitlines() if "segment index" in ln)


def test_golden_before():
    net = tiny()
    assert to_text(net).startswith(HEAD)
    assert segments(net) == ("segment index=0 theta=6 weights=[3,0,1,7,0,2]\n"
                             "segment index=0 theta=6 weights=[2,5,2,2,6,2]")


def test_prune_weight_golden():
    r = run_pipeline(tiny(), "prune-weight{max=1}")
    assert to_text(r.network).startswith(HEAD)
    assert segments(r.network) == ("segment index=0 theta=6 weights=[3,.,.,7,.,2]\n"
                                   "segment index=0 theta=6 weights=[2,5,2,2,6,2]")
    st = r.stats[0]
    assert st["pass"] == "prune-weight{max=1,bank=distal,keep=reachable}"
    assert (st["synapses_before"], st["synapses_after"], st["removed"], st["protected"]) == (12, 9, 3, 0)
    assert st["columns"][0]["neurons_before"] == [6, 6]
    assert st["columns"][0]["neurons_after"] == [3, 6]
    assert parse(to_text(r.network)).synapses == 9  # the pruned text round-trips


def test_prune_weight_zero_keeps_every_spike():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 8, size=(3, 20))
    net = tiny(w, theta=12)
    pruned = run_pipeline(net, "prune-weight{max=0}").network
    assert pruned.synapses == int((w > 0).sum()) < net.synapses
    X = rng.integers(-1, 8, size=(64, 20))
    np.testing.assert_array_equal(Interpreter(pruned).forward(X), Interpreter(net).forward(X))


def test_prune_fraction_segment_golden_ties_to_lowest_index():
    # n1 has four weights of 2 (indices 0, 2, 3, 5): the three lowest-index ones go
    r = run_pipeline(tiny(), "prune-fraction{target=0.5}")
    assert segments(r.network) == ("segment index=0 theta=6 weights=[3,.,.,7,.,2]\n"
                                   "segment index=0 theta=6 weights=[.,5,.,.,6,2]")
    assert r.stats[0]["achieved"] == 0.5


def test_prune_fraction_global_golden_and_floor():
    # globally the floor(0.7 x 12) = 8 lowest: 0,0,1,2 of n0 and 2,2,2,2 of n1
    # -> n0 keeps 3,7 (sum 10 >= 6), n1 keeps 5,6. With theta 12 the floor must step in.
    r = run_pipeline(tiny(), "prune-fraction{target=0.7,scope=global}")
    assert segments(r.network) == ("segment index=0 theta=6 weights=[3,.,.,7,.,.]\n"
                                   "segment index=0 theta=6 weights=[.,5,.,.,6,.]")
    hi = run_pipeline(tiny(theta=12), "prune-fraction{target=1.0}")
    # reachable: keep the heaviest until the kept weights reach 12: n0 7+3+2, n1 6+5+2
    assert segments(hi.network) == ("segment index=0 theta=12 weights=[3,.,.,7,.,2]\n"
                                    "segment index=0 theta=12 weights=[2,5,.,.,6,.]")
    st = hi.stats[0]
    assert (st["proposed"], st["removed"], st["protected"], st["segments_protected"]) == (12, 6, 6, 2)
    assert st["achieved"] == 0.5
    # valid: only theta <= kept x w_max (2 synapses of w_max 7), heaviest first
    va = run_pipeline(tiny(theta=12), "prune-fraction{target=1.0,keep=valid}")
    assert segments(va.network) == ("segment index=0 theta=12 weights=[3,.,.,7,.,.]\n"
                                    "segment index=0 theta=12 weights=[.,5,.,.,6,.]")
    assert not [d for d in verify(va.network) if d.severity == "error"]


def test_floor_frozen_layer_always_reachable():
    # without a learning rule the IR requires reachable thresholds, so keep=valid is not enough
    r = run_pipeline(tiny(theta=12, learning=False), "prune-fraction{target=1.0,keep=valid}")
    assert segments(r.network) == ("segment index=0 theta=12 weights=[3,.,.,7,.,2]\n"
                                   "segment index=0 theta=12 weights=[2,5,.,.,6,.]")
    check(r.network)


def test_unreachable_before_is_reported_and_kept_valid():
    net = tiny([[1, 1, 1, 1, 1, 1], [7, 7, 7, 7, 7, 7]], theta=20)  # n0 cap 6 < 20 (warning)
    r = run_pipeline(net, "prune-fraction{target=1.0}")
    st = r.stats[0]
    assert st["segments_unreachable_before"] == 1
    assert st["unreachable_segments"] == ["L0/col0/n0/d0/s0"]
    # n0 keeps ceil(20 / 7) = 3 synapses (validity), n1 keeps 3 x 7 = 21 >= 20
    assert segments(r.network) == ("segment index=0 theta=20 weights=[1,1,1,.,.,.]\n"
                                   "segment index=0 theta=20 weights=[7,7,7,.,.,.]")


def test_prune_inactive_golden_and_epochs():
    net = tiny()
    caps = np.zeros((2, 2, 1, 1, 6), np.int64)  # [epochs, q, D, S, p]
    caps[0, 0] = [[[5, 0, 0, 0, 1, 0]]]  # epoch 0
    caps[1, 0] = [[[0, 0, 2, 4, 0, 0]]]  # epoch 1
    caps[0, 1] = [[[1, 1, 1, 1, 1, 1]]]
    act = Activity([[caps]], [[None]], waves=20, epoch_len=10)
    ctx = PassContext(activity=act)
    r = run_pipeline(net, "prune-inactive{min-captures=1}", ctx)
    assert segments(r.network) == ("segment index=0 theta=6 weights=[3,.,1,7,0,.]\n"
                                   "segment index=0 theta=6 weights=[2,5,2,2,6,2]")
    last = run_pipeline(net, "prune-inactive{min-captures=1,epochs=1}", ctx)
    assert segments(last.network) == ("segment index=0 theta=6 weights=[.,.,1,7,.,.]\n"
                                      "segment index=0 theta=6 weights=[.,.,.,.,6,.]")
    assert last.stats[0]["protected"] == 1  # n1 never captured in epoch 1: the floor keeps 6
    with pytest.raises(PassError, match="prune-inactive needs 'activity'"):
        run_pipeline(net, "prune-inactive")
    wrong = Activity([[caps[:, :, :, :, :5]]], [[None]], waves=20, epoch_len=10)
    with pytest.raises(PassError, match="recorded on a different network"):
        run_pipeline(net, "prune-inactive", PassContext(activity=wrong))


def test_record_activity_counts_captures_and_is_exact():
    rng = np.random.default_rng(7)
    net = tiny(rng.integers(1, 8, size=(3, 10)), theta=14)
    X = rng.integers(-1, 8, size=(40, 10))
    X[:, 4] = -1  # line 4 never spikes: it can never capture
    act = record_activity(net, X, epoch_len=20, trained=_trained(net, X))
    assert act.exact is True and act.epochs == 2
    d, _ = act.captures(0, 0)
    assert (d[..., 4] == 0).all()
    # independent count: wta1 column of single-segment neurons -> credited z = column output
    it = Interpreter(net)
    want = np.zeros((3, 10), np.int64)
    for x in X:
        out = it.step(x, learn=True).outputs[-1][0]
        for i in np.flatnonzero(out >= 0):
            want[i] += (x >= 0) & (x <= out[i])
    np.testing.assert_array_equal(d[:, 0, 0, :], want)
    np.testing.assert_array_equal(act.captures(0, 0, 1)[0] + act.distal[0][0][0], d)
    assert record_activity(net, X, trained=net).exact is False


def _trained(net, X):
    it = Interpreter(net)
    it.run(X, learn=True)
    return it.network()


def test_activity_save_load(tmp_path):
    rng = np.random.default_rng(1)
    net = tiny(rng.integers(1, 8, size=(2, 6)), theta=8)
    act = record_activity(net, rng.integers(-1, 8, size=(12, 6)), epoch_len=6)
    act.save(tmp_path / "a.npz")
    back = Activity.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(back.distal[0][0], act.distal[0][0])
    assert (back.waves, back.epoch_len, back.exact) == (12, 6, None)


def test_proximal_banks_sum_and_gate():
    net = tiny(prox=[[0, 4], [1, 1]])  # sum mode: proximal synapses share theta
    d = run_pipeline(net, "prune-weight{max=1}")  # bank=distal: proximal untouched
    assert "proximal=[0,4]" in to_text(d.network) and "proximal=[1,1]" in to_text(d.network)
    p = run_pipeline(net, "prune-weight{max=1,bank=proximal}")
    assert p.stats[0]["removed_distal"] == 0 and p.stats[0]["removed_proximal"] == 3
    assert "proximal=[.,4]" in to_text(p.network) and "proximal=[.,.]" in to_text(p.network)
    a = run_pipeline(net, "prune-weight{max=1,bank=all}")
    assert a.network.synapses == 12 + 4 - 3 - 3
    g = tiny(prox=[[1, 6, 2], [3, 3, 3]], mode="gate", ptheta=[7, 5])
    gp = run_pipeline(g, "prune-fraction{target=1.0,bank=proximal}")
    # proximal segments have their own thresholds: n0 keeps 6+2 >= 7, n1 keeps 3+3 >= 5
    assert "proximal_segment theta=7 weights=[.,6,2]" in to_text(gp.network)
    assert "proximal_segment theta=5 weights=[3,3,.]" in to_text(gp.network)
    check(gp.network)


def test_determinism_and_spec_round_trip():
    rng = np.random.default_rng(11)
    net = tiny(rng.integers(0, 3, size=(4, 30)), theta=5)  # many ties
    spec = "prune-weight{max=0},prune-fraction{target=0.4,scope=global}"
    a = run_pipeline(net, spec)
    b = run_pipeline(parse(to_text(net)), parse_pipeline(spec))
    assert to_text(a.network) == to_text(b.network)
    canon = a.spec
    assert canon == ("prune-weight{max=0,bank=distal,keep=reachable},"
                     "prune-fraction{target=0.4,scope=global,bank=distal,keep=reachable}")
    assert to_text(run_pipeline(net, canon).network) == to_text(a.network)
    assert [s["synapses_after"] for s in a.stats] == [int((np.array(net.layers[0].columns[0]
                                                                    .distal.weights) > 0).sum()),
                                                      a.network.synapses]
    assert a.stats[1]["synapses_before"] == a.stats[0]["synapses_after"]


def test_parse_pipeline_forms():
    assert parse_pipeline("") == [] and parse_pipeline(" none ") == []
    ps = parse_pipeline(" prune-weight , prune-fraction { target = 0.25 , scope=column }")
    assert [str(p) for p in ps] == [
        "prune-weight{max=0,bank=distal,keep=reachable}",
        "prune-fraction{target=0.25,scope=column,bank=distal,keep=reachable}"]
    assert pipeline_spec(ps) == ",".join(str(p) for p in ps) and pipeline_spec([]) == "none"
    assert make_pass("prune-inactive", {"min_captures": "3"}).min_captures == 3
    assert isinstance(make_pass("prune-fraction", {"target": 1}), PruneFraction)
    assert sorted(PASSES) == ["prune-fraction", "prune-inactive", "prune-weight"]


@pytest.mark.parametrize("spec,msg", [
    ("prune-wieght{max=0}", r"unknown pass 'prune-wieght' \(did you mean 'prune-weight'\?\); "
                            r"registered passes: prune-fraction, prune-inactive, prune-weight"),
    ("prune-weight{min=0}", r"prune-weight: unknown option 'min'; accepted options: max \(int in "
                            r"0\.\.255, default 0\)"),
    ("prune-weight{max=1.5}", r"prune-weight\{max=1.5\}: option max expects an integer, got '1.5'"),
    ("prune-fraction{target=abc}", r"option target expects a number, got 'abc'"),
    ("prune-fraction{target=1.5}", r"target=1.5 out of range 0\.\.1"),
    ("prune-fraction{scope=row}", r"scope='row' is not accepted; accepted: segment, neuron, "
                                  r"column, layer, global"),
    ("prune-weight{max=0", r"malformed pass pipeline 'prune-weight\{max=0': '\{' of prune-weight "
                           r"has no matching '\}' at character 13"),
    ("prune-weight{max=0}}", r"'\}' without a matching '\{' at character 20"),
    ("prune-weight{max}", r"option 'max' of prune-weight is not key=value"),
    ("prune-weight{max=0,max=1}", r"option 'max' given twice"),
    ("prune-weight prune-fraction", r"expected ',' or '\{' after prune-weight, found 'p'"),
    ("prune-weight,", r"expected a pass name, found end of text"),
    ("{max=0}", r"expected a pass name, found '\{' at character 1"),
    ("prune-inactive{min-captures=0}", r"min-captures=0 out of range 1\.\.2147483648"),
])
def test_parse_errors(spec, msg):
    with pytest.raises(PassError, match=msg):
        parse_pipeline(spec)


def test_sweep_parsing_and_best():
    assert parse_sweep("0,0.1,...,0.7") == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert parse_sweep("0, 0.25, ..., 1") == [0, 0.25, 0.5, 0.75, 1.0]
    assert sweep_specs([0, 0.5]) == ["prune-fraction{target=0}", "prune-fraction{target=0.5}"]
    from neutnngen.errors import ConfigError

    for bad, msg in (("0,...,1", "needs two values"), ("0,x", "'x' is not a number"),
                     ("0,1.5", "not a share")):
        with pytest.raises(ConfigError, match=msg):
            parse_sweep(bad)

    def pt(spec, metric, cost, syn, mism=0):
        return {"spec": spec, "pipeline": spec, "metric": metric, "metric_delta": 0.0,
                "synapses": syn, "synapses_removed_share": 0.0,
                "verify": {"hardwired": {"mismatches": mism}},
                "cost": {"hardwired": {"generic": {"transistors": cost}}}}

    pts = [pt("none", 0.80, 100, 10), pt("a", 0.795, 80, 8), pt("b", 0.70, 50, 5),
           pt("c", 0.81, 60, 6, mism=2)]
    by = ("hardwired", "generic", "transistors")
    best = best_within_tolerance(pts, 0.01, True, by)
    assert best["spec"] == "a" and best["saving"] == pytest.approx(0.2)  # c failed verification
    assert best_within_tolerance(pts, 0.2, True, by)["spec"] == "b"
    # lower is better (an error rate): b's 0.70 is an improvement, a's 0.795 too
    assert best_within_tolerance(pts, 0.0, False, by)["spec"] == "b"
