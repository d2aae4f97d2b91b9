"""On-chip STDP in the ``parallel`` architecture (``weights="learn"``, ``architecture=
"parallel"``): every synapse updated at once in the wave's decision cycle; weights, LFSR
states and the ``wread`` read-out after every wave equal :meth:`Interpreter.step(x,
learn=True)` bit for bit. The scenarios of the serial learning design (credit policies,
segment and column sharing, proximal gate and sum banks, R-STDP with labels and enable
gating, learn_en, two layers, backpressure) run on both architectures in ``test_learn``;
here: the timing, draws that outlast the steps with loaded weights, reset in the update
cycle, the refusal of ``pipelined``, and cocotb on Icarus and Verilator
(:func:`run_learning_verification`). GunPoint over its whole 500-wave training stream is in
``benchmarks/bench_parallel_learn.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_hdl import rand_column, rand_volleys
from test_learn import check_learning, learning, one_layer

from neutnngen.errors import ConfigError
from neutnngen.flows import sim as flows_sim
from neutnngen.hdl import build_top, emit, simulate
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import Network, TimeSpec
from neutnngen.verify import run_learning_verification


def par(net: Network, **kw):
    return build_top(net, weights="learn", architecture="parallel", **kw)


def test_wave_is_t_plus_two_cycles_and_names():
    rng = np.random.default_rng(120)
    col = rand_column(rng, 150, 2)
    net = learning(one_layer(col))
    top = par(net)
    T = top.plan.layers[0].steps
    assert T == 14 and top.info["WAVE_CYCLES"] == T + 2 == 16
    assert top.info["arch"] == {"kind": "parallel", "T": top.plan.T, "steps": T,
                                "adder_stages": 0, "decision_cycles": 2}
    assert top.info["learn"]["learn_pass_cycles"] == 0
    assert top.info["learn"]["lfsr_steps_per_cycle"] == 10  # one whole draw per cycle
    # hardwired and register parallel designs keep their two adder stages
    assert build_top(net, weights="register", architecture="parallel").info["WAVE_CYCLES"] \
        == T + 4


def test_draws_outlast_the_steps_snl_and_loaded_weights():
    """5-bit weights: 5 + 31 + 1 = 37 draws a wave, more than the 6 steps of 2-bit SNL
    times, so the wave waits for its draws (WAVE_CYCLES = 37 + 2). Weights loaded through wload are the
    starting point of learning."""
    rng = np.random.default_rng(107)
    col = rand_column(rng, 2, 2, wres=5, frac=(0.3, 0.5))
    net = learning(one_layer(col, time=TimeSpec(2, "snl")))
    top = par(net)
    assert top.info["learn"]["draws_per_wave"] == 37
    assert top.info["WAVE_CYCLES"] == 37 + 2
    X = rand_volleys(rng, 12, 2, timeres=2, silent=0.2)
    check_learning(net, X, top=top)
    w = np.array(col.distal.weights)
    loads = []
    for seg in top.plan.segments:
        for syn in seg.synapses:
            if seg.path.startswith("layer0/col0/n0/"):
                loads.append((top.plan.address(seg, syn), 9))
                w[0, 0, 0, syn.j] = 9
    tr = simulate(net, X, weights="learn", loads=loads, trace=True, top=par(net))
    it = Interpreter(learning(one_layer(col.with_weights(w), time=TimeSpec(2, "snl"))))
    np.testing.assert_array_equal(tr.outputs, it.run(X, learn=True))
    np.testing.assert_array_equal(tr.weights[-1][0][0][0], it.distal[0][0])


def test_reset_in_the_update_cycle_restores_the_ir_weights():
    """rst restores the IR's weights (rtl-contract rule 12) even in the cycle in which a
    learning wave writes its updates (lw_busy)."""
    from amaranth.hdl import ClockDomain, Module
    from amaranth.sim import Simulator

    from neutnngen.hdl.sim import _pack

    rng = np.random.default_rng(5)
    col = rand_column(rng, 6, 2)
    net = learning(one_layer(col))
    X = rand_volleys(rng, 4, 6)
    top = par(net)
    wrap = Module()
    wrap.domains.sync = cd = ClockDomain("sync")
    wrap.submodules.dut = top
    sim = Simulator(wrap)
    sim.add_clock(1e-6)
    moved, kept = [], []

    async def bench(ctx):
        ctx.set(top.wload_en, 0)
        ctx.set(top.wread_en, 0)
        ctx.set(top.out_ready, 1)
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)

        def weights():
            return {(pa, n): ctx.get(r) for pa, s in top.ctx.regs.items() for n, r in s.items()}

        ir = weights()
        for x in X:
            t, s = _pack(x, top.plan.TB_IN)
            ctx.set(top.in_time, t)
            ctx.set(top.in_spike, s)
            ctx.set(top.learn_en, 1)
            ctx.set(top.in_valid, 1)
            while not ctx.get(top.stages[0].lw_busy):
                await ctx.tick()
            ctx.set(top.in_valid, 0)
            ctx.set(cd.rst, 1)  # without the reset, this edge writes the updates
            await ctx.tick()
            ctx.set(cd.rst, 0)
            await ctx.tick()
            kept.append(weights() == ir)
        # control: the same wave without the reset changes weights
        ctx.set(top.in_valid, 1)
        while not ctx.get(top.stages[0].lw_busy):
            await ctx.tick()
        ctx.set(top.in_valid, 0)
        await ctx.tick()
        moved.append(weights() != ir)

    sim.add_testbench(bench)
    sim.run()
    assert kept == [True] * len(X) and moved == [True]


def test_capture_condition_is_latched_at_the_crossing(monkeypatch):
    """The parallel design latches ``x <= z`` per synapse in the cycle its segment crosses
    (no comparison with ``z`` at the update): exact over a random stream, and a design
    built with the mutated condition ``x < z`` is caught (an input that spiked in the
    crossing step must capture, not count as minus)."""
    import neutnngen.hdl.segment as segmod

    rng = np.random.default_rng(131)
    col = rand_column(rng, 10, 2, D=1, S=2, inh="wta1")
    net = learning(one_layer(col))
    X = rand_volleys(rng, 40, 10)
    changed = check_learning(net, X, top=par(net))
    assert changed["capture"] > 0 and changed["minus"] > 0
    # (the design elaborates when simulated: the mutation stays in place until then)
    monkeypatch.setattr(segmod, "capture_condition", lambda x, z: x < z)
    with pytest.raises(AssertionError, match="wave"):
        check_learning(net, X, top=par(net))


def test_pipelined_learn_is_refused():
    rng = np.random.default_rng(109)
    net = learning(one_layer(rand_column(rng, 4, 2)))
    with pytest.raises(ConfigError, match="'serial' or 'parallel'"):
        build_top(net, weights="learn", architecture="pipelined")


@pytest.mark.requires_sim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_cocotb_parallel_learning_column(sim, tmp_path, build_root):
    if not flows_sim.simulator_available(sim):
        pytest.skip(f"{sim} is not installed")
    rng = np.random.default_rng(110)
    col = rand_column(rng, 12, 3, D=1, S=2, absent=0.15, inh="wta1")
    net = learning(one_layer(col))
    X = rand_volleys(rng, 60, 12)
    r = emit(net, tmp_path / "rtl", weights="learn", architecture="parallel", name="par_learn")
    assert json.loads(r.names.read_text())["top"]["arch"]["kind"] == "parallel"
    res = run_learning_verification(net, r.verilog, r.names, X, simulator=sim,
                                    workdir=tmp_path / "work", build_dir=build_root,
                                    backpressure=0.3, gaps=0.2, seed=3)
    assert res.waves == 60 and res.passed, res.first_weight_mismatch or res.first_mismatch
    it = Interpreter(net)
    it.run(X, learn=True)
    final = np.array(res.final_weights[0][0]["distal"])
    np.testing.assert_array_equal(final, it.distal[0][0])
    assert (final != col.distal.weights).sum() > 5  # it did learn
