"""Memory weight store (``weight_store="memory"``, :class:`neutnngen.hdl.segment.MemoryStore`):
one 1-read/1-write memory per segment instead of one register per synapse, in ``register``
and ``learn`` weight modes of the serial architecture. Same behaviour as the register store:
``wload`` writes take effect (writes to absent synapses are dropped), learning is bit-exact
with the interpreter after every wave (Amaranth simulator and cocotb on Icarus, whose bench
reads the memory words through ``names.json``), and a wrong update is caught and named."""

from __future__ import annotations

import numpy as np
import pytest
from test_hdl import one_layer, rand_column, rand_volleys, ref, weight_loads
from test_learn import CASES, check_learning, learning, small_learning_column

from neutnngen.errors import ConfigError
from neutnngen.hdl import build_top, emit, simulate
from neutnngen.hdl.emit import names_json
from neutnngen.hdl.plan import AUTO_MEMORY_SYNAPSES
from neutnngen.ir.interp import Interpreter
from neutnngen.verify import run_learning_verification


def _loads(col, top):
    """:func:`test_hdl.weight_loads` plus a write to every absent synapse's address (which
    must be dropped)."""
    loads, w = weight_loads(col, top)
    plan = top.plan
    for seg in plan.segments:
        present = {s.j for s in seg.synapses}
        loads += [((seg.seg_id << plan.LBA) | j, 6) for j in range(col.inputs)
                  if j not in present]
    return loads, w


@pytest.mark.parametrize("lanes", [1, 2])
def test_register_mode_memory_loads_take_effect(lanes):
    rng = np.random.default_rng(15)
    col = rand_column(rng, 8, 2, absent=0.25, frac=(0.3, 0.5), inh="none")
    net = one_layer(col)
    X = rand_volleys(rng, 12, 8, silent=0.0)
    top = build_top(net, weights="register", weight_store="memory", lanes=lanes)
    assert top.plan.weight_store == "memory" and top.plan.memory_store(top.plan.segments[0])
    loads, w = _loads(col, top)
    assert any(e["signal"].endswith("]") for e in names_json(top.plan)["weights"].values())
    expect = Interpreter(one_layer(col.with_weights(w)), validate=False).forward(X)
    y = simulate(net, X, weights="register", loads=loads, top=top)
    np.testing.assert_array_equal(y, expect)
    assert not np.array_equal(ref(net, X), expect)
    # without loads the memory holds the trained weights (its initial contents)
    top2 = build_top(net, weights="register", weight_store="memory", lanes=lanes)
    np.testing.assert_array_equal(simulate(net, X, weights="register", top=top2), ref(net, X))


def test_learn_mode_memory_every_case_amaranth():
    rng = np.random.default_rng(101)
    col = rand_column(rng, 9, 3, D=2, S=2, absent=0.2, inh="kwta(2)", seg_inh="wta1")
    net = learning(one_layer(col))
    top = build_top(net, weights="learn", weight_store="memory")
    changed = check_learning(net, rand_volleys(rng, 30, 9), top=top)
    assert all(changed[c] > 0 for c in CASES), changed


def test_weight_store_choice_and_determinism(tmp_path):
    rng = np.random.default_rng(7)
    net = learning(one_layer(rand_column(rng, 6, 2, inh="wta1")))
    with pytest.raises(ConfigError, match="weight_store='ram'"):
        build_top(net, weights="learn", weight_store="ram")
    small = build_top(net, weights="learn")  # auto: registers below the threshold
    assert small.plan.weight_store == "registers"
    assert sum(len(s.synapses) for s in small.plan.segments) < AUTO_MEMORY_SYNAPSES
    assert build_top(net, weights="hardwired", weight_store="memory").plan.weight_store \
        == "registers"
    a = emit(net, tmp_path / "a", weights="learn", weight_store="memory").verilog.read_text()
    b = emit(net, tmp_path / "b", weights="learn", weight_store="memory").verilog.read_text()
    assert a == b and "reg [2:0] wmem [" in a
    r = emit(net, tmp_path / "r", weights="learn", weight_store="registers")
    assert "wmem" not in r.verilog.read_text()
    assert r.info.get("weight_store") is None


@pytest.fixture(scope="module")
def small_mem(tmp_path_factory):
    net, X = small_learning_column(60)
    d = tmp_path_factory.mktemp("small_mem")
    r = emit(net, d, weights="learn", name="small_mem", weight_store="memory")
    return net, r, X


@pytest.mark.requires_sim
def test_cocotb_memory_learn_matches_software(small_mem, tmp_path, build_root):
    net, r, X = small_mem
    assert r.info["weight_store"] == "memory"
    res = run_learning_verification(net, r.verilog, r.names, X, simulator="icarus",
                                    workdir=tmp_path, build_dir=build_root)
    assert res.passed, (res.first_mismatch, res.first_weight_mismatch)
    assert res.waves == 60 and res.weight_mismatches == 0 and res.rng_mismatches == 0
    assert res.readout_mismatches == 0
    it = Interpreter(net)
    it.run(X, learn=True)
    final = np.array(res.final_weights[0][0]["distal"])
    np.testing.assert_array_equal(final, it.distal[0][0])
    assert (final != net.layers[0].columns[0].distal.weights).any()  # it did learn


@pytest.mark.requires_sim
def test_cocotb_memory_wrong_update_is_named(small_mem, tmp_path, build_root, monkeypatch):
    """Capture on ``x < z``: the per-wave comparison of the memory words names the wave and
    the synapse of the first wrong weight."""
    import neutnngen.hdl.segment as segmod

    monkeypatch.setattr(segmod, "capture_condition", lambda x, z: x < z)
    net, _, X = small_mem
    r = emit(net, tmp_path / "rtl", weights="learn", name="mem_mut", weight_store="memory")
    monkeypatch.undo()
    with pytest.raises(Exception) as exc:
        run_learning_verification(net, r.verilog, r.names, X[:40], simulator="icarus",
                                  workdir=tmp_path / "work", build_dir=build_root,
                                  raise_on_mismatch=True)
    msg = str(exc.value)
    assert "after wave" in msg and "layer0/col0/n" in msg
    assert exc.value.first["case"] in ("capture", "minus")
    assert exc.value.first["x"] == exc.value.first["z"]
