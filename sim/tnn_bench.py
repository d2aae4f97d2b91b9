"""cocotb bench of a generated TNN top level (docs/rtl-contract.md).

Run by :func:`neutnngen.verify.run_verification` through ``cocotb_tools.runner``; the
environment variable ``NEUTNNGEN_BENCH`` names the JSON file with everything the bench needs
(port parameters, the stimulus already packed into port words wave by wave, the source and
sink behaviour, the expected output volleys, and where to write the results).

Stream protocol driven (one clock period = 2 simulator steps, rising edges at odd steps;
cycle ``k`` is the time between rising edges ``k`` and ``k + 1``; the bench writes inputs at
falling edges and evaluates handshakes in the read-only phase of falling edges, when every
input of the cycle is settled):

* reset for a few cycles; in ``register`` weight mode, optionally write weights through
  ``wload_*`` (one per cycle; otherwise ``wload_en`` stays low);
* driver: for each wave, after ``idle[n]`` cycles with ``in_valid`` low, present its beat
  (``in_*``, every layer's ``prox_*``, in ``learn`` mode ``learn_en``/``label``/
  ``label_valid``/``mu_shift``) with ``in_valid`` high and hold it until a cycle with ``in_ready`` high
  (the handshake; waiting on ``in_ready`` edges, no per-cycle Python); the next beat follows
  in the next cycle;
* sink: ``out_ready`` follows ``ready_runs`` (``[cycles high, cycles low]`` pairs, then
  high; empty: always high);
* monitor: waits on ``out_valid``/``out_ready`` edges and records the cycle and the ``out_*``
  words of every ``out_valid & out_ready`` beat; the words must not change while
  ``out_valid & ~out_ready`` (else a protocol error);
* after the last expected beat, ``WAVE_CYCLES + 2`` more cycles catch a spurious extra one.

The clock is cocotb's C++ (GPI) clock, so no Python runs per cycle. ``cfg["mutsel"]``
(a mutant schemata, :mod:`neutnngen.verify.mutate`) is written into the top's ``mutsel``
register before reset; with ``cfg["stop_on_mismatch"]`` the run ends at the first output
beat that differs from the expected volley (mutation runs).

The volleys are compared wave by wave (:func:`neutnngen.verify.protocol.compare`), the
results JSON is written, and the test fails on any mismatch.

``learn`` weight mode (``cfg["learn"]``, :func:`neutnngen.verify.run_learning_verification`):
the toplevel is a wrapper whose ``dbg`` output concatenates every weight register and LFSR
state and whose ``dbg_done`` concatenates every layer stage's ``done`` pulse (hierarchical
references); in the cycle after a stage's ``done`` (its wave's update is complete) the bench
reads ``dbg`` once and records ``[done bits, dbg]``. After the last beat every weight is read
back through ``wread_en`` / ``wread_addr`` / ``wread_data`` / ``wread_valid``. The host
compares both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from bench_common import PERIOD, at, at_fall, cycle, high, now, reset_and_load, to_fall
from cocotb.triggers import Event, First, RisingEdge, Timer

from neutnngen.verify.protocol import Pulse, TopInfo, compare, describe, unpack


async def _at_cycle(k: int) -> None:
    """Settled values of cycle ``k`` just after its rising edge."""
    await at(PERIOD * k + 1)


async def _next_fall() -> int:
    """The next falling edge (strictly after now); returns its cycle."""
    k = cycle()
    if PERIOD * k + 2 <= now():
        k += 1
    await to_fall(k)
    return k


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


@cocotb.test()
async def tnn_bench(dut) -> None:
    cfg = json.loads(Path(os.environ["NEUTNNGEN_BENCH"]).read_text())
    info = TopInfo.from_names({"top": cfg["top"], "outputs": {
        p: {"bit": i} for i, p in enumerate(cfg["top"]["outputs"])}})
    beats = [[int(w, 16) if isinstance(w, str) else int(w) for w in b] for b in cfg["beats"]]
    idle = list(cfg.get("idle") or [0] * len(beats))
    runs = [tuple(r) for r in cfg.get("ready_runs") or []]
    expected = np.asarray(cfg["expected"], dtype=np.int64).reshape(-1, info.n_out)
    n_waves = expected.shape[0]
    wave = info.wave_cycles
    max_cycles = int(cfg["max_cycles"])
    has_prox = info.n_prox > 0
    stop_early = bool(cfg.get("stop_on_mismatch"))
    want = [[int(v) for v in row] for row in expected]

    pulses: list[Pulse] = []
    offers: list[int] = []
    handshakes: list[int] = []
    state: dict = {"error": None, "signal": None, "stopped": None}
    all_out = Event()
    if n_waves == 0:
        all_out.set()

    def protocol_error(msg: str, signal: str) -> None:
        if state["error"] is None:
            state["error"], state["signal"] = msg, signal
        all_out.set()

    dut.rst.value = 1
    if cfg.get("mutsel") is not None:  # a mutant schemata: which mutant is active
        # the design's own register; under the learn bench's wrapper, the design is `dut`
        sel = dut.mutsel if hasattr(dut, "mutsel") else dut.dut.mutsel
        sel.value = int(cfg["mutsel"])
    dut.in_valid.value = 0
    dut.in_time.value = 0
    dut.in_spike.value = 0
    dut.out_ready.value = 1
    if has_prox:
        dut.prox_time.value = 0
        dut.prox_spike.value = 0
    learn = cfg.get("learn") or None
    has_label = bool(learn and learn.get("label_bits"))
    samples: list[list] = []
    readout: list[int | None] = []
    if learn or hasattr(dut, "learn_en"):  # a learn-mode design: frozen unless cfg says so
        dut.learn_en.value = 0
        dut.wread_en.value = 0
        dut.wread_addr.value = 0
        if hasattr(dut, "label_valid"):
            dut.label.value = 0
            dut.label_valid.value = 0
        if hasattr(dut, "mu_shift"):
            dut.mu_shift.value = 0
    has_mus = bool(learn) and hasattr(dut, "mu_shift")
    has_wload = info.weights in ("register", "learn") and hasattr(dut, "wload_en")
    if has_wload:  # register mode: weights come up at their reset values; no writes
        dut.wload_en.value = 0
        dut.wload_addr.value = 0
        dut.wload_data.value = 0
    writes = cfg.get("wload") or []
    assert has_wload or not writes, "weight writes requested but the design has no wload_* ports"
    first_cycle = await reset_and_load(dut, writes)

    async def driver() -> None:
        k = first_cycle  # the cycle whose falling edge comes next
        for n, beat in enumerate(beats):
            if idle[n]:
                await to_fall(k)
                dut.in_valid.value = 0
                k += idle[n]
            await to_fall(k)
            t_word, s_word, pt_word, ps_word = beat[:4]
            dut.in_time.value = t_word
            dut.in_spike.value = s_word
            if has_prox:
                dut.prox_time.value = pt_word
                dut.prox_spike.value = ps_word
            if learn:
                dut.learn_en.value = beat[4]
                if has_label:
                    dut.label.value = beat[5]
                    dut.label_valid.value = beat[6]
                if has_mus and len(beat) > 7:
                    dut.mu_shift.value = beat[7]
            dut.in_valid.value = 1
            offers.append(k)
            while True:  # the handshake: in_ready high at the end of a cycle
                await at_fall(k)
                if high(dut.in_ready):
                    break
                await RisingEdge(dut.in_ready)
                k = cycle()
            handshakes.append(k)
            k += 1
        await to_fall(k)
        dut.in_valid.value = 0

    async def sink() -> None:
        k = first_cycle
        for hi, lo in runs:
            await to_fall(k)
            dut.out_ready.value = 1
            k += hi
            await to_fall(k)
            dut.out_ready.value = 0
            k += lo
        await to_fall(k)
        dut.out_ready.value = 1

    async def monitor() -> None:
        k = first_cycle
        while True:
            await at_fall(k)
            if not high(dut.out_valid):
                await RisingEdge(dut.out_valid)
                k = cycle()
                continue
            words = (_word(dut.out_time), _word(dut.out_spike))
            if not high(dut.out_ready):
                await RisingEdge(dut.out_ready)  # written at a falling edge
                k = cycle()
                await at_fall(k)
                if not high(dut.out_valid):
                    protocol_error(f"out_valid dropped in cycle {k} before out_ready",
                                   "out_valid")
                    return
                if (_word(dut.out_time), _word(dut.out_spike)) != words:
                    protocol_error(f"out_time/out_spike changed by cycle {k} while out_valid "
                                   "was high and out_ready low", "out_time")
                    return
                if not high(dut.out_ready):
                    continue
            pulses.append(Pulse(k, *words))
            n = len(pulses) - 1
            if stop_early and (n >= n_waves or unpack(words[0], words[1], info.n_out,
                                                      info.tb_out) != want[n]):
                state["stopped"] = n  # mutation runs: the first wrong beat decides
                all_out.set()
            if len(pulses) == n_waves:
                all_out.set()
            k += 1

    async def sampler() -> None:
        """``[done bits, dbg]`` in the cycle after each stage ``done``."""
        k = first_cycle
        while True:
            await at_fall(k)
            d = _word(dut.dbg_done)
            if not d:
                await dut.dbg_done.value_change
                k = cycle()
                continue
            await _at_cycle(k + 1)
            samples.append([d, _hexword(dut.dbg)])
            k += 1

    tasks = [cocotb.start_soon(monitor()), cocotb.start_soon(driver())]
    if runs:
        tasks.append(cocotb.start_soon(sink()))
    if learn:
        tasks.append(cocotb.start_soon(sampler()))
    timed_out = False
    await First(all_out.wait(), Timer(PERIOD * max_cycles, unit="step"))
    if not all_out.is_set():
        timed_out = True
    else:
        await Timer(PERIOD * (wave + 2), unit="step")
    for t in tasks:
        t.cancel()
    if timed_out and state["error"] is None:
        state["error"] = (f"no progress: {len(handshakes)} of {len(beats)} waves taken "
                          f"(in_ready), {len(pulses)} of {n_waves} output beats after "
                          f"{max_cycles} cycles")
        state["signal"] = "in_ready" if len(handshakes) < len(beats) else "out_valid"
    if learn and learn.get("readout") and not timed_out:
        # read every weight back through the wread port (the design is idle now)
        lat = int(learn["wread_latency"])
        await _next_fall()
        dut.wread_en.value = 1
        for addr in learn["readout"]:
            k = await _next_fall()
            dut.wread_addr.value = int(addr)
            await _at_cycle(k + lat)
            readout.append(_word(dut.wread_data) if high(dut.wread_valid) else None)
        await _next_fall()
        dut.wread_en.value = 0

    mismatches, first = compare(expected, pulses, offers, info,
                                check_latency=bool(cfg.get("check_latency", True)))
    message = describe(first, mismatches, n_waves) if first else ""
    if state["error"]:
        message = f"{state['error']}; {message}" if message else state["error"]
    result = {
        "waves": n_waves,
        "mismatches": mismatches,
        "first_mismatch": first,
        "message": message,
        "cycles": cycle() + 1,
        "timed_out": timed_out,
        "stopped_at": state["stopped"],
        "protocol_error": state["error"],
        "protocol_signal": state["signal"],
        "offers": offers,
        "handshakes": handshakes,
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
