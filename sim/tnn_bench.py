"""cocotb bench of a generated TNN top level (docs/rtl-contract.md).

Run by :func:`neutnngen.verify.run_verification` through ``cocotb_tools.runner``; the
environment variable ``NEUTNNGEN_BENCH`` names the JSON file with everything the bench needs
(port parameters, the stimulus already packed into port words slot by slot, the expected
output volleys, and where to write the results).

Protocol driven (one clock period = 2 simulator steps, rising edges at odd steps; cycle ``k``
is the time between rising edges ``k`` and ``k + 1``):

* reset for a few cycles; in ``register`` weight mode, optionally write weights through
  ``wload_*`` (one per cycle; otherwise ``wload_en`` stays low); then look for the first
  cycle in which ``in_ready`` is high;
* in each ``in_ready`` cycle present the next slot's words (inputs of wave ``s`` and, when
  ``N_PROX > 0``, layer ``k``'s proximal lines of wave ``s - k``) at the falling edge, with
  ``in_valid`` high; drop ``in_valid`` one cycle later but keep ``in_*``/``prox_*`` stable until
  the next ``in_ready`` cycle, which is expected ``WAVE_CYCLES`` later (the bench jumps there
  with one timer and falls back to polling cycle by cycle if ``in_ready`` is not high then);
* after the stimulus, offer bubbles (``in_valid`` low) until every expected ``out_valid``
  arrived, plus ``WAVE_CYCLES + 2`` cycles to catch a spurious extra pulse;
* a monitor waits on value changes of ``out_valid`` (no per-cycle Python) and records the
  cycle and the ``out_*`` words of each pulse (settled values, read in the ReadOnly phase).

The volleys are compared wave by wave (:func:`neutnngen.verify.protocol.compare`), the
results JSON is written, and the test fails on any mismatch.

``learn`` weight mode (``cfg["learn"]``, :func:`neutnngen.verify.run_learning_verification`):
each slot also drives ``learn_en`` and, when the design has them, ``label`` /
``label_valid``; the toplevel is a wrapper whose ``dbg`` output concatenates every weight
register and LFSR state (hierarchical references), read once at every ``in_ready`` cycle
(the state after the previous slot); after the last output volley every weight is read back
through ``wread_addr`` / ``wread_data`` / ``wread_valid``. The host compares both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, First, ReadOnly, RisingEdge, Timer

from neutnngen.verify.protocol import Pulse, TopInfo, compare, describe

PERIOD = 2  # simulator steps per clock cycle
RESET_CYCLES = 4


def _now() -> int:
    return int(get_sim_time("step"))


def _cycle() -> int:
    """Index of the current cycle (rising edge ``k`` is at step ``2k + 1``)."""
    return (_now() - 1) // PERIOD


async def _at_cycle(k: int) -> None:
    """Wait until the settled values of cycle ``k`` (just after rising edge ``k``)."""
    target = PERIOD * k + 1
    now = _now()
    if target > now:
        await Timer(target - now, unit="step")
    await ReadOnly()


async def _to_falling_edge_of_current_cycle() -> None:
    k = _cycle()
    await Timer(PERIOD * k + 1 + PERIOD // 2 - _now(), unit="step")


def _word(handle) -> int | None:
    """The integer on a port, or ``None`` if any bit is X/Z."""
    s = str(handle.value).lower()
    if not s or any(c not in "01" for c in s):
        return None
    return int(s, 2)


def _hexword(handle) -> str | None:
    """A wide port as a hex string (one handle access), or ``None`` if any bit is X/Z."""
    try:
        return hex(int(handle.value))
    except ValueError:
        return None


def _high(handle) -> bool:
    return str(handle.value) == "1"


@cocotb.test()
async def tnn_bench(dut) -> None:
    cfg = json.loads(Path(os.environ["NEUTNNGEN_BENCH"]).read_text())
    info = TopInfo.from_names({"top": cfg["top"], "outputs": {
        p: {"bit": i} for i, p in enumerate(cfg["top"]["outputs"])}})
    slots = [tuple(int(w, 16) if isinstance(w, str) else int(w) for w in s) for s in cfg["slots"]]
    expected = np.asarray(cfg["expected"], dtype=np.int64).reshape(-1, info.n_out)
    n_waves = expected.shape[0]
    wave = info.wave_cycles
    max_cycles = int(cfg["max_cycles"])
    has_prox = info.n_prox > 0

    pulses: list[Pulse] = []
    accepts: list[int] = []
    state = {"ready_late": 0, "error": None}
    all_out = Event()
    if n_waves == 0:
        all_out.set()

    dut.rst.value = 1
    dut.in_valid.value = 0
    dut.in_time.value = 0
    dut.in_spike.value = 0
    if has_prox:
        dut.prox_time.value = 0
        dut.prox_spike.value = 0
    learn = cfg.get("learn") or None
    has_label = bool(learn and learn.get("label_bits"))
    samples: list[str] = []
    readout: list[int | None] = []
    if learn or hasattr(dut, "learn_en"):  # a learn-mode design: frozen unless cfg says so
        dut.learn_en.value = 0
        dut.wread_addr.value = 0
        if hasattr(dut, "label_valid"):
            dut.label.value = 0
            dut.label_valid.value = 0
    has_wload = info.weights in ("register", "learn") and hasattr(dut, "wload_en")
    if has_wload:  # register mode: weights come up at their reset values; no writes
        dut.wload_en.value = 0
        dut.wload_addr.value = 0
        dut.wload_data.value = 0
    Clock(dut.clk, PERIOD, unit="step").start(start_high=False)
    await Timer(PERIOD * RESET_CYCLES, unit="step")  # falling edge of cycle RESET_CYCLES - 1
    dut.rst.value = 0
    writes = cfg.get("wload") or []
    assert has_wload or not writes, "weight writes requested but the design has no wload_* ports"
    for addr, data in writes:  # one weight per cycle, before the first wave
        dut.wload_en.value = 1
        dut.wload_addr.value = int(addr)
        dut.wload_data.value = int(data)
        await Timer(PERIOD, unit="step")
    if writes:
        dut.wload_en.value = 0
    first_cycle = RESET_CYCLES + len(writes)

    async def monitor() -> None:
        while True:
            await RisingEdge(dut.out_valid)
            await ReadOnly()
            while _high(dut.out_valid):  # one record per cycle the pulse lasts
                pulses.append(Pulse(_cycle(), _word(dut.out_time), _word(dut.out_spike)))
                if len(pulses) == n_waves:
                    all_out.set()
                await _at_cycle(_cycle() + 1)

    async def driver() -> None:
        k = first_cycle
        await _at_cycle(k)
        for s in range(len(slots) + 1):
            waited = 0
            while not _high(dut.in_ready):  # normally never taken: in_ready is periodic
                waited += 1
                if waited > 4 * wave + 16:
                    state["error"] = (f"in_ready stayed low for {waited} cycles before slot "
                                      f"{s} (WAVE_CYCLES={wave})")
                    all_out.set()
                    return
                k += 1
                await _at_cycle(k)
            if waited and s > 0:
                state["ready_late"] += 1
            if learn and s > 0:  # weights and LFSR states after slot s - 1
                samples.append(_hexword(dut.dbg))
            await _to_falling_edge_of_current_cycle()
            if s == len(slots):  # stimulus exhausted: bubbles from now on
                dut.in_valid.value = 0
                if learn:
                    dut.learn_en.value = 0
                return
            valid, t_word, s_word, pt_word, ps_word = slots[s][:5]
            dut.in_valid.value = valid
            if learn:
                dut.learn_en.value = slots[s][5]
                if has_label:
                    dut.label.value = slots[s][6]
                    dut.label_valid.value = slots[s][7]
            dut.in_time.value = t_word
            dut.in_spike.value = s_word
            if has_prox:
                dut.prox_time.value = pt_word
                dut.prox_spike.value = ps_word
            if valid:
                accepts.append(k)
            if wave > 1:
                await Timer(PERIOD, unit="step")
                dut.in_valid.value = 0
            k += wave
            await _at_cycle(k)

    mon = cocotb.start_soon(monitor())
    drv = cocotb.start_soon(driver())
    timed_out = False
    await First(all_out.wait(), Timer(PERIOD * max_cycles, unit="step"))
    if not all_out.is_set():
        timed_out = True
    else:
        await Timer(PERIOD * (wave + 2), unit="step")
    mon.cancel()
    drv.cancel()
    if learn and learn.get("readout") and not timed_out:
        # read every weight back through the wread port (the pipeline is idle now)
        lat = int(learn["wread_latency"])
        k = _cycle()
        for addr in learn["readout"]:
            value = None
            for _ in range(8):  # a read issued in a slot's last cycle is not served
                await _to_falling_edge_of_current_cycle()
                dut.wread_addr.value = int(addr)
                k = _cycle() + lat
                await _at_cycle(k)
                if _high(dut.wread_valid):
                    value = _word(dut.wread_data)
                    break
            readout.append(value)

    mismatches, first = compare(expected, pulses, accepts, info,
                                check_latency=bool(cfg.get("check_latency", True)))
    message = describe(first, mismatches, n_waves) if first else ""
    if state["error"]:
        message = f"{state['error']}; {message}" if message else state["error"]
    result = {
        "waves": n_waves,
        "mismatches": mismatches,
        "first_mismatch": first,
        "message": message,
        "cycles": _cycle() + 1,
        "timed_out": timed_out,
        "ready_late": state["ready_late"],
        "protocol_error": state["error"],
        "accepts": accepts,
        "pulses": [[p.cycle, None if p.time is None else hex(p.time),
                    None if p.spike is None else hex(p.spike)] for p in pulses],
    }
    if learn:
        result["samples"] = samples
        result["readout"] = readout
    Path(cfg["result"]).write_text(json.dumps(result))
    dut._log.info("%d waves compared, %d mismatching, %d cycles", n_waves, mismatches,
                  result["cycles"])
    assert not state["error"], state["error"]
    assert mismatches == 0, message
