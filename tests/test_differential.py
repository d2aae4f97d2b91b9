"""The randomised differential campaign (``tests/differential.py``) on a few seeded cases:
on-chip learning RTL (serial with both weight stores, parallel), hardwired RTL (serial,
parallel, pipelined), the AXI4-Stream top under backpressure, the numba and torch trainers
and the torch forward, each against the interpreter. ``benchmarks/bench_differential.py``
runs hundreds of cases and counts them."""

from __future__ import annotations

import pytest
from differential import CHECKS, random_case, run_case

# two columns with R-STDP, dendrite credit, M5 and overshoot ties; two layers learning with
# two columns and mu_shift; two layers of enable columns with M2 and M5; two columns with the
# budget and mu_shift; a kernel layer with M2, M5 and mu_shift; a gate column with R-STDP, M5
# and the budget; STDP with M2, M5 and overshoot ties; two pipelined AXI4-Stream tops under
# heavy backpressure (one layer with register weights, two layers hardwired)
SEEDS = (0, 2, 7, 9, 29, 35, 38, 30, 14)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_implementation_equals_the_interpreter(seed):
    case = random_case(seed)
    res = run_case(case)
    assert set(res) == set(CHECKS)
    failed = {k: v for k, v in res.items() if not v.startswith("ok")}
    assert not failed, (case.info, failed)


def test_the_cases_cover_every_mechanism():
    infos = [random_case(s).info for s in range(60)]

    def seen(key):
        return {i[key] for i in infos}

    assert seen("rule.kind") == {"stdp", "targeted", "rstdp"}
    assert seen("rule.credit") == {"winner", "dendrite"}
    assert seen("rule.theta") == {"fixed", "relative"}
    assert seen("rule.homeostasis") == {"none", "winrate"}
    assert {w > 0 for w in seen("rule.w_norm")} == {True, False}
    assert seen("tie") == {"lowest", "overshoot"}
    assert seen("mode") == {"sum", "enable", "gate"}
    assert seen("response") == {"rnl", "snl"}
    assert seen("layers") == {1, 2} and seen("mu_shift") == {True, False}
    assert seen("columns") >= {1, 2} and seen("kernel") == {True, False}
    assert {tuple(i["learning_layers"]) for i in infos} >= {(0,), (1,), (0, 1)}
    assert {(i["axis"]["architecture"], i["axis"]["weights"]) for i in infos} == {
        (a, w) for a in ("serial", "parallel", "pipelined") for w in ("hardwired", "register")}
    # the same seed gives the same case
    a, b = random_case(7), random_case(7)
    assert a.info == b.info and (a.X == b.X).all()


def test_a_wrong_rtl_is_reported(monkeypatch):
    """The campaign can fail: STDP capture with ``x < z`` instead of ``x <= z`` in the RTL
    (the interpreter and the trainers unchanged) fails the on-chip learning checks."""
    from neutnngen.hdl import segment

    monkeypatch.setattr(segment, "capture_condition", lambda x, z: x < z)
    case = random_case(38)
    assert case.info["rule.kind"] == "stdp"
    res = run_case(case, ("rtl_serial_registers", "rtl_parallel", "numba"))
    assert res["rtl_serial_registers"].startswith("FAIL")
    assert res["rtl_parallel"].startswith("FAIL")
    assert res["numba"] == "ok"


def test_an_axis_top_that_drops_backpressure_is_reported(monkeypatch):
    """The AXI4-Stream check can fail: an output converter that takes the next volley while
    a packet is still going out (``i.ready`` tied high) loses packets under ``tready`` gaps."""
    from neutnngen.hdl import axis

    class Leaky(axis.VolleyToAxis):
        def elaborate(self, platform):
            m = super().elaborate(platform)
            m.d.comb += self.i.ready.eq(1)
            return m

    case = random_case(30)  # pipelined: a result every few cycles; tready high 32% of them
    assert case.prox is None and case.info["axis"]["architecture"] == "pipelined"
    assert run_case(case, ("hw_axis",))["hw_axis"] == "ok"
    monkeypatch.setattr(axis, "VolleyToAxis", Leaky)
    assert run_case(case, ("hw_axis",))["hw_axis"].startswith("FAIL")
