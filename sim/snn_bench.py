"""cocotb bench of a generated SNN top level (docs/rtl-contract.md, "SNN designs").

Run by :func:`neutnngen.verify.snn_cocotb.verify_snn_cocotb` through
``cocotb_tools.runner``; the environment variable ``NEUTNNGEN_BENCH`` names the JSON file
with everything the bench needs: the input words (``n_in`` beats a sample, already in
``in_data``'s unsigned encoding), the seeded source gaps and sink stalls, the ``register``
weight writes, the number of segments, the expected number of output beats, the cycle limit
and where to write the results. The bench only drives and records; the host compares every
layer, step and neuron with the interpreter in bulk.

Timing as in ``sim/tnn_bench.py``: one clock period = 2 simulator steps, rising edges at odd
steps; cycle ``k`` lies between rising edges ``k`` and ``k + 1``; inputs are written at
falling edges and handshakes evaluated in the read-only phase of falling edges (every input
of the cycle settled: what rising edge ``k + 1`` samples). The clock is cocotb's GPI clock,
so no Python runs per cycle:

* reset for a few cycles; in ``register`` mode one ``wload_*`` write per cycle after it;
* driver: before input beat ``n`` it holds ``in_valid`` low for ``idle[n]`` cycles, then
  presents the word and holds it until a cycle with ``in_ready`` high (waiting on
  ``in_ready`` edges);
* sink: before output beat ``n`` ``out_ready`` is low for ``stall[n]`` cycles once
  ``out_valid`` is up, then high for the handshake; while ``out_valid & ~out_ready`` every
  ``out_*`` port is watched (value-change triggers) and must not change, nor ``out_valid``
  drop (the first protocol error is recorded; the run goes on);
* trace monitors, one per segment: wait on rising edges of ``trace{k}_valid`` and record
  ``[idx, n, v, s, i]`` (raw port words; ``None`` for X/Z) of every cycle it is high;
* after the last expected output beat ``tail`` more cycles catch extra beats or rows.

The results JSON: ``beats`` (``[cycle, index, count, first, mem, last]``), ``traces`` (per
segment its records), ``cycles`` (up to the last expected beat), ``timed_out`` and
``no_progress``, ``protocol_error`` (the first) and ``protocol_signal``, ``stalled_cycles``,
``input_wait_cycles``. The cocotb test fails on a protocol error or a timeout only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from bench_common import PERIOD, at_fall, cycle, high, now, reset_and_load, to_fall
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, Timer

OUT_PORTS = ("out_index", "out_count", "out_first", "out_mem", "out_last")


def _int(handle) -> int | None:
    """The unsigned integer on a port, or ``None`` if any bit is X/Z."""
    try:
        return int(handle.value)
    except ValueError:
        return None


@cocotb.test()
async def snn_bench(dut) -> None:
    cfg = json.loads(Path(os.environ["NEUTNNGEN_BENCH"]).read_text())
    words = [int(w) for w in cfg["inputs"]]
    idle = [int(v) for v in cfg["idle"]]
    stalls = [int(v) for v in cfg["stalls"]]
    writes = cfg.get("wload") or []
    n_beats = int(cfg["beats"])
    n_seg = int(cfg["segments"])
    max_cycles = int(cfg["max_cycles"])
    tail = int(cfg["tail"])

    beats: list[list] = []
    traces: list[list] = [[] for _ in range(n_seg)]
    state: dict = {"error": None, "signal": None, "taken": 0, "stalled": 0, "waits": 0}
    done = Event()
    if n_beats == 0:
        done.set()

    def protocol_error(msg: str, signal: str) -> None:
        """The first handshake violation (the run goes on: every row is still compared)."""
        if state["error"] is None:
            state["error"], state["signal"] = msg, signal

    dut.rst.value = 1
    dut.in_valid.value = 0
    dut.in_data.value = 0
    ready = not stalls or stalls[0] == 0
    dut.out_ready.value = int(ready)
    if writes or hasattr(dut, "wload_en"):
        dut.wload_en.value = 0
        dut.wload_addr.value = 0
        dut.wload_data.value = 0
    first_cycle = await reset_and_load(dut, writes)

    async def driver() -> None:
        k = first_cycle  # the cycle whose falling edge comes next
        for n, word in enumerate(words):
            if idle[n]:
                await to_fall(k)
                dut.in_valid.value = 0
                k += idle[n]
            await to_fall(k)
            dut.in_data.value = word
            dut.in_valid.value = 1
            while True:  # the handshake: in_ready high at the end of a cycle
                await at_fall(k)
                if high(dut.in_ready):
                    break
                await RisingEdge(dut.in_ready)
                c = (now() - 1) // PERIOD
                state["waits"] += c - k
                k = c
            state["taken"] += 1
            k += 1
        await to_fall(k)
        dut.in_valid.value = 0

    outs = [getattr(dut, p) for p in OUT_PORTS]

    def read_out() -> tuple:
        return tuple(_int(h) for h in outs)

    def violation(seen: tuple, nb: int) -> None:
        """Note a protocol error if ``out_valid`` dropped or an ``out_*`` word changed since
        ``seen`` (while ``out_valid & ~out_ready``)."""
        if not high(dut.out_valid):
            protocol_error(f"out_valid dropped in cycle {cycle()} while out_ready was low "
                           f"(output beat {nb})", "out_valid")
            return
        for p, a, b in zip(OUT_PORTS, seen, read_out(), strict=True):
            if a != b:
                protocol_error(f"{p} changed in cycle {cycle()} while out_valid was high and "
                               f"out_ready low (output beat {nb}: {a} -> {b})", p)
                return

    async def sink() -> None:
        nonlocal ready
        k = first_cycle
        while True:
            await at_fall(k)
            if not high(dut.out_valid):
                await RisingEdge(dut.out_valid)
                k = cycle()
                continue
            if not ready:  # hold out_ready low for stall[n] cycles: cycles k .. k + lo - 1
                seen, nb = read_out(), len(beats)
                lo = stalls[nb] if nb < len(stalls) else 1
                end = PERIOD * (k + lo) + 2  # the falling edge that raises out_ready
                watch = [h.value_change for h in (*outs, dut.out_valid)]
                while now() < end:  # woken only when a watched port changes
                    await First(Timer(end - now(), unit="step"), *watch)
                    if now() >= end:
                        break
                    await ReadOnly()
                    violation(seen, nb)
                dut.out_ready.value = 1  # the write phase of that falling edge
                ready = True
                state["stalled"] += lo
                k += lo
                await ReadOnly()
                violation(seen, nb)
                if not high(dut.out_valid):  # no beat this cycle
                    k += 1
                    continue
            beats.append([k, *read_out()])  # valid & ready: taken at rising edge k + 1
            if len(beats) == n_beats:
                done.set()
            nxt = stalls[len(beats)] if len(beats) < len(stalls) else 0
            if (nxt == 0) != ready:
                await to_fall(k + 1)
                ready = nxt == 0
                dut.out_ready.value = int(ready)
            k += 1

    async def trace_monitor(seg: int) -> None:
        valid = getattr(dut, f"trace{seg}_valid")
        ports = [getattr(dut, f"trace{seg}_{f}") for f in ("idx", "n", "v", "s", "i")]
        rows = traces[seg]
        k = first_cycle
        while True:
            await at_fall(k)
            if not high(valid):
                await RisingEdge(valid)
                k = cycle()
                continue
            rows.append([_int(h) for h in ports])
            k += 1

    tasks = [cocotb.start_soon(trace_monitor(s)) for s in range(n_seg)]
    tasks += [cocotb.start_soon(sink()), cocotb.start_soon(driver())]
    await First(done.wait(), Timer(PERIOD * max_cycles, unit="step"))
    timed_out = not done.is_set()
    cycles = cycle() + 1  # up to the last output beat (or the limit)
    if not timed_out:
        await Timer(PERIOD * tail, unit="step")  # an extra beat or trace row shows up here
    for t in tasks:
        t.cancel()
    stuck = None
    if timed_out:
        stuck = (f"no progress: {state['taken']} of {len(words)} input beats taken "
                 f"(in_ready), {len(beats)} of {n_beats} output beats after {max_cycles} "
                 "cycles")
    result = {
        "cycles": cycles,
        "timed_out": timed_out,
        "no_progress": stuck,
        "protocol_error": state["error"],
        "protocol_signal": state["signal"],
        "inputs_taken": state["taken"],
        "stalled_cycles": state["stalled"],
        "input_wait_cycles": state["waits"],
        "beats": beats,
        "traces": traces,
    }
    Path(cfg["result"]).write_text(json.dumps(result))
    dut._log.info("%d output beats, %d trace records, %d cycles", len(beats),
                  sum(map(len, traces)), cycles)
    assert not stuck, stuck
    assert not state["error"], state["error"]
