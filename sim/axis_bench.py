"""cocotb bench of a generated AXI4-Stream top (``neutnngen compile --interface axis``,
docs/rtl-contract.md "AXI4-Stream top"). Host side: ``sim/axis_host.py``.

``NEUTNNGEN_AXIS_BENCH`` names a JSON file: ``beats`` (``[tdata, tlast]`` in order, bad
packets included), ``n_out`` (output packets expected), ``p_valid``/``p_ready`` (chance per
cycle of ``s_axis_tvalid`` when a beat is left / of ``m_axis_tready``, seeded by ``seed``),
``max_cycles``, ``tail`` (cycles after the last expected packet that catch a spurious one)
and ``result``. One cycle = 2 steps; inputs are written at falling edges and handshakes
read in the read-only phase before the next rising edge. The bench records every output
packet, checks that ``m_axis_*`` hold while ``tvalid & ~tready``, and counts the cycles
with a beat offered but not taken on either side."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly


def _int(handle) -> int:
    return int(handle.value)


@cocotb.test()
async def axis_bench(dut) -> None:
    cfg = json.loads(Path(os.environ["NEUTNNGEN_AXIS_BENCH"]).read_text())
    beats = [(int(d), int(last)) for d, last in cfg["beats"]]
    rng = random.Random(int(cfg["seed"]))
    p_valid, p_ready = float(cfg["p_valid"]), float(cfg["p_ready"])
    cocotb.start_soon(Clock(dut.clk, 2, unit="step").start())
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    for _ in range(4):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    out: list[list[int]] = []
    cur: list[int] = []
    k = 0
    stalled = None
    errors: list[str] = []
    stalls_in = stalls_out = 0
    tail = None
    cycle = 0
    for cycle in range(int(cfg["max_cycles"])):
        await FallingEdge(dut.clk)
        v = k < len(beats) and rng.random() < p_valid
        dut.s_axis_tvalid.value = int(v)
        if v:
            dut.s_axis_tdata.value = beats[k][0]
            dut.s_axis_tlast.value = beats[k][1]
        r = rng.random() < p_ready
        dut.m_axis_tready.value = int(r)
        await ReadOnly()
        if v:
            if _int(dut.s_axis_tready):
                k += 1
            else:
                stalls_in += 1
        if _int(dut.m_axis_tvalid):
            beat = (_int(dut.m_axis_tdata), _int(dut.m_axis_tlast))
            if stalled is not None and stalled != beat and len(errors) < 5:
                errors.append(f"cycle {cycle}: m_axis changed from {stalled} to {beat} "
                              "while tready was low")
            stalled = None if r else beat
            if r:
                cur.append(beat[0])
                if beat[1]:
                    out.append(cur)
                    cur = []
            else:
                stalls_out += 1
        if tail is None and len(out) >= int(cfg["n_out"]):
            tail = int(cfg["tail"])
        if tail is not None:
            tail -= 1
            if tail <= 0:
                break
    res = {"packets": out, "partial": cur, "beats_taken": k, "cycles": cycle + 1,
           "errors": errors, "stalls_in": stalls_in, "stalls_out": stalls_out,
           "err_short": _int(dut.err_short), "err_long": _int(dut.err_long)}
    Path(cfg["result"]).write_text(json.dumps(res))
    assert not errors, errors[0]
