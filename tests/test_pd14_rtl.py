"""The RTL of a ``recurrent`` stage (neutnngen/hdl/recurrent.py, docs/model.md §13): the
PD14 microcircuit at a tiny scale, every neuron's membrane, spike and synaptic current at
every step compared with the interpreter on Verilator (or Icarus), through the CLI too."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from neutnngen.errors import ConfigError
from neutnngen.frontend.pd14 import build_pd14
from neutnngen.hdl.recurrent import emit_recurrent, plan_recurrent
from neutnngen.ir import Network, save
from neutnngen.verify.recurrent import verify_recurrent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rec")
    net = build_pd14(scale=0.001, k_scale=0.05, seed=1, steps=120).network
    v, info = emit_recurrent(net, tmp / "rtl", name="pd14_top", stim_bits=24)
    X = np.zeros((2, net.stages[0].n), np.int64)
    X[1, ::2] = 60000  # a stimulus that makes half the neurons fire, the rest follow
    return tmp, net, v, info, X


def test_rtl_equals_interpreter_every_neuron_and_step(tiny):
    tmp, net, v, info, X = tiny
    nd = net.stages[0]
    r = verify_recurrent(net, v, X, workdir=tmp / "sim")
    assert r["mismatches"] == 0 and r["first_mismatch"] is None
    assert r["trace_rows"] == 2 * nd.steps * nd.n and r["spikes"] > 20  # not a silent run
    assert info["synapse_entries"] <= nd.synapse_count and info["history_slots"] > int(
        nd.delays.max())
    assert r["cycles"] >= 2 * info["cycles_per_sample"]


def test_a_changed_synapse_is_caught(tiny):
    tmp, net, v, _, X = tiny
    nd = net.stages[0]
    w = nd.weights.copy()
    j = int(np.argmax(np.abs(w)))
    w[j] = -w[j] * 3  # one strong synapse flipped and tripled
    bad = Network(net.name, net.time, net.inputs, (replace(nd, weights=w),))
    r = verify_recurrent(bad, v, X, workdir=tmp / "sim_bad")
    assert r["mismatches"] > 0 and r["first_mismatch"]["field"] in ("v", "i", "s")


def test_plan_merges_synapses_and_refuses_what_it_cannot_build(tiny):
    _, net, _, _, X = tiny
    p = plan_recurrent(net)
    nd = net.stages[0]
    assert p.ends[-1] == p.entries and (np.diff(p.ends) >= 0).all()
    # the merged entries carry every weight: per target, the sums agree
    tgt = np.repeat(np.arange(p.n), np.diff(np.concatenate([[0], p.ends])))
    a = np.zeros(p.n, np.int64)
    np.add.at(a, tgt, p.w)
    b = np.zeros(p.n, np.int64)
    np.add.at(b, nd.targets.astype(np.int64), nd.weights.astype(np.int64))
    assert np.array_equal(a, b)
    with pytest.raises(ConfigError, match="stim_bits=1; expected 2..32"):
        plan_recurrent(net, stim_bits=1)
    with pytest.raises(ConfigError, match="do not fit the design's 24-bit signed in_data"):
        verify_recurrent(net, Path(tiny[2]), X * 1000, workdir=tiny[0] / "x")


def test_compile_command_builds_the_recurrent_design(tiny, tmp_path, capsys):
    from neutnngen.cli import main

    _, net, _, _, _ = tiny
    save(net, tmp_path / "pd14.json")
    assert main(["compile", str(tmp_path / "pd14.json"), "--out", str(tmp_path / "rtl"),
                 "--top", "pd14"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "recurrent" and Path(info["verilog"]).is_file()
    assert main(["compile", str(tmp_path / "pd14.json"), "--out", str(tmp_path / "r2"),
                 "--weights", "register"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--weights register for the recurrent network" in err and len(err.splitlines()) == 1


def test_neurons_without_synapses_and_the_cycle_count(tiny, tmp_path):
    """The pipelined update (P1..P4 during RUN, U1..U3): a neuron with no synapse entries
    still waits for its background count (RUN >= 5 cycles), bit-exact; cycles per step are
    ``entries + 9 n``."""
    _, net, _, _, X = tiny
    nd = net.stages[0]
    src = np.repeat(np.arange(nd.n), np.diff(nd.indptr))
    keep = nd.targets >= 10  # neurons 0..9 get no synapses
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src[keep], minlength=nd.n))])
    nd2 = replace(nd, steps=40, indptr=indptr.astype(nd.indptr.dtype),
                  targets=nd.targets[keep], weights=nd.weights[keep], delays=nd.delays[keep])
    net2 = Network(net.name, net.time, net.inputs, (nd2,))
    v, info = emit_recurrent(net2, tmp_path / "rtl", name="pd14_top", stim_bits=24)
    p = plan_recurrent(net2)
    assert info["cycles_per_step"] == p.entries + 9 * p.n
    r = verify_recurrent(net2, v, X, workdir=tmp_path / "sim", backpressure=False)
    assert r["mismatches"] == 0 and r["spikes"] > 20
    # no stalls: load, the steps, then the output beats (two cycles each)
    per = info["cycles_per_sample"] + nd.n + 2 * nd.n
    assert 2 * per <= r["cycles"] <= 2 * per + 20
