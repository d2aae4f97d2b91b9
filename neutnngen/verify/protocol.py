"""The RTL contract as data (docs/rtl-contract.md): port parameters, packing of volleys into
port words, and the wave-by-wave comparison of recorded output volleys with the reference.

Shared by the host side (:mod:`neutnngen.verify.run`) and the cocotb bench (``sim/``, which
runs inside the simulator's Python), so it imports numpy only.

Coding of a volley of ``n`` lines with ``tb``-bit times (contract):

* ``time`` word: line ``j``'s time at bits ``[j*tb +: tb]`` (0 for a silent line);
* ``spike`` word: bit ``j`` set iff line ``j`` spikes; NONE (-1) = bit clear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NONE = -1


@dataclass(frozen=True)
class TopInfo:
    """``names.json["top"]`` plus the output names, bit by bit."""

    name: str
    n_in: int
    tb_in: int
    n_out: int
    tb_out: int
    n_prox: int
    tb_prox: int
    layers: int
    wave_cycles: int
    latency: int
    weights: str
    outputs: tuple[str, ...]  # IR path of output bit i

    @staticmethod
    def from_names(names: Mapping[str, Any]) -> TopInfo:
        """Read a parsed ``names.json``; raises ``KeyError``/``ValueError`` when malformed."""
        top = names["top"]
        n_out = int(top["N_OUT"])
        paths = [f"out{i}" for i in range(n_out)]
        for path, entry in dict(names.get("outputs", {})).items():
            bit = int(entry["bit"] if isinstance(entry, Mapping) else entry)
            if not 0 <= bit < n_out:
                raise ValueError(f"names.json: output {path!r} has bit {bit}, N_OUT={n_out}")
            paths[bit] = str(path)
        info = TopInfo(
            name=str(top.get("name", "neutnngen_top")),
            n_in=int(top["N_IN"]),
            tb_in=int(top["TB_IN"]),
            n_out=n_out,
            tb_out=int(top["TB_OUT"]),
            n_prox=int(top.get("N_PROX", 0)),
            tb_prox=int(top.get("TB_PROX", top["TB_IN"])),
            layers=int(top["L"]),
            wave_cycles=int(top["WAVE_CYCLES"]),
            latency=int(top["LATENCY"]),
            weights=str(top.get("weights", "hardwired")),
            outputs=tuple(paths),
        )
        if info.wave_cycles < 1 or info.latency < 1:
            raise ValueError(
                f"names.json: WAVE_CYCLES={info.wave_cycles}, LATENCY={info.latency}; both must be >= 1"
            )
        return info

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "N_IN": self.n_in, "TB_IN": self.tb_in, "N_OUT": self.n_out,
            "TB_OUT": self.tb_out, "N_PROX": self.n_prox, "TB_PROX": self.tb_prox,
            "L": self.layers, "WAVE_CYCLES": self.wave_cycles, "LATENCY": self.latency,
            "weights": self.weights, "outputs": list(self.outputs),
        }

    def layer_of(self, bit: int) -> int:
        """Layer index named by output ``bit``'s path (``layerK/...``), else the last layer."""
        m = re.match(r"layer(\d+)\b", self.outputs[bit])
        return int(m.group(1)) if m else self.layers - 1


# --------------------------------------------------------------------------- packing
def _words(bits: np.ndarray) -> list[int]:
    """Rows of a 0/1 matrix ``[N, W]`` (bit 0 first) as Python ints."""
    if bits.shape[1] == 0:
        return [0] * bits.shape[0]
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def pack_times(x: np.ndarray, tb: int) -> tuple[list[int], list[int]]:
    """``(time words, spike words)`` of volleys ``x[N, n]`` (NONE = -1 -> spike bit 0).

    Raises ``ValueError`` for a time that does not fit in ``tb`` bits.
    """
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2:
        raise ValueError(f"volleys must be 2-D [waves, lines], got shape {x.shape}")
    bad = (x < NONE) | (x >= (1 << tb))
    if bad.any():
        n, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"wave {n}, line {j}: time {int(x[n, j])} does not fit the port "
            f"(0 .. {(1 << tb) - 1}, or -1 for NONE)"
        )
    spike = x >= 0
    t = np.where(spike, x, 0)
    tbits = ((t[:, :, None] >> np.arange(tb)) & 1).reshape(x.shape[0], -1)
    return _words(tbits), _words(spike)


def pack_prox(values: np.ndarray, enable: np.ndarray, tb: int) -> tuple[list[int], list[int]]:
    """Proximal words: ``enable[j]`` lines carry only a spike bit, set iff the value is
    nonzero (as the interpreter reads enable lines); the other lines are times."""
    v = np.asarray(values, dtype=np.int64)
    en = np.asarray(enable, dtype=bool)
    tw, _ = pack_times(np.where(en[None, :], 0, v), tb)
    spike = np.where(en[None, :], v != 0, v >= 0)
    return tw, _words(spike)


def unpack(time_word: int | None, spike_word: int | None, n: int, tb: int) -> list[int | None]:
    """Volley of ``n`` lines from port words (NONE for a clear spike bit; ``None`` for a line
    whose bits were not resolvable, i.e. X/Z in the simulation)."""
    out: list[int | None] = []
    mask = (1 << tb) - 1
    for i in range(n):
        if spike_word is None or time_word is None:
            out.append(None)
        elif not (spike_word >> i) & 1:
            out.append(NONE)
        else:
            out.append((time_word >> (i * tb)) & mask)
    return out


# --------------------------------------------------------------------------- comparison
def ready_runs(p: float, wave: int, n: int, seed: int) -> list[list[int]]:
    """A seeded ``out_ready`` pattern: ``n`` ``[cycles high, cycles low]`` runs with about a
    fraction ``p`` of low cycles, low runs of 1 .. 2 * ``wave`` cycles (short stalls and
    stalls longer than a wave); empty for ``p = 0`` (always ready). Raises ``ValueError``
    outside ``0 <= p < 1``."""
    if not 0 <= p < 1:
        raise ValueError(f"backpressure={p!r}; expected a fraction 0 <= p < 1")
    if p == 0:
        return []
    rng = np.random.default_rng(seed)
    lows = rng.integers(1, 2 * wave + 1, size=n)
    mean_high = max(1.0, (wave + 0.5) * (1 - p) / p)
    highs = rng.integers(1, int(2 * mean_high) + 1, size=n)
    return [[int(h), int(lo)] for h, lo in zip(highs, lows, strict=True)]


@dataclass(frozen=True)
class Pulse:
    """One recorded output beat (``out_valid & out_ready``): its cycle and the raw ``out_*``
    words (``None``: the word held X/Z bits)."""

    cycle: int
    time: int | None
    spike: int | None


def _fmt_time(t: int | None) -> str:
    if t is None:
        return "X"
    return "NONE" if t < 0 else str(t)


def compare(
    expected: np.ndarray,
    pulses: Sequence[Pulse],
    offers: Sequence[int],
    info: TopInfo,
    check_latency: bool = True,
) -> tuple[int, dict[str, Any] | None]:
    """Compare recorded output beats with the expected volleys ``expected[N, N_OUT]``.

    ``pulses[n]`` is the ``n``-th output beat (its ``out_valid & out_ready`` cycle and
    words) and belongs to wave ``n``; ``offers[n]`` is the first cycle in which wave ``n``
    was offered (``in_valid`` with its volley). Returns ``(mismatching waves, first
    mismatch)``; a wave mismatches when a neuron's ``out_spike`` or (both spiking)
    ``out_time`` differs, when a silent neuron's ``out_time`` field is not 0 (the
    contract zeroes it), when its beat is missing (signal ``out_valid``) or, with
    ``check_latency`` (meaningful with ``out_ready`` held high), when the beat came at
    another cycle than :func:`expected_beat` (signal ``latency``). Each
    beat beyond the ``N`` expected ones (signal ``out_valid``, expected 0, got 1) also
    counts as one mismatch. Inside a wave the lowest neuron comes first, and values before
    timing.
    """
    exp = np.asarray(expected, dtype=np.int64)
    n_waves = exp.shape[0]
    bad = 0
    first: dict[str, Any] | None = None
    due: int | None = None  # the expected beat cycle of the previous wave
    for n in range(n_waves):
        want = [int(v) for v in exp[n]]
        base = {"wave": n, "expected_volley": want}
        if n >= len(pulses):
            bad += 1
            if first is None:
                first = {**base, "layer": info.layers - 1, "neuron": None,
                         "signal": "out_valid", "expected": 1, "got": 0,
                         "cycle": None, "got_volley": None}
            continue
        p = pulses[n]
        got = unpack(p.time, p.spike, info.n_out, info.tb_out)
        diff: dict[str, Any] | None = None
        for i, (e, g) in enumerate(zip(want, got, strict=True)):
            if g is not None and g == e:
                continue
            if g is None:
                sig = "out_spike" if p.spike is None else "out_time"
                ev: int | str = int(e >= 0) if sig == "out_spike" else e
                gv: int | str = "X"
            elif (e >= 0) != (g >= 0):
                sig, ev, gv = "out_spike", int(e >= 0), int(g >= 0)
            else:
                sig, ev, gv = "out_time", e, g
            diff = {"layer": info.layer_of(i), "neuron": info.outputs[i], "bit": i,
                    "signal": sig, "expected": ev, "got": gv,
                    "expected_time": e, "got_time": g}
            break
        if diff is None and p.time is not None and p.spike is not None:
            # the contract zeroes a silent neuron's out_time field (docs/rtl-contract.md)
            mask = (1 << info.tb_out) - 1
            for i, e in enumerate(want):
                tv = (p.time >> (i * info.tb_out)) & mask
                if e < 0 and tv != 0:
                    diff = {"layer": info.layer_of(i), "neuron": info.outputs[i], "bit": i,
                            "signal": "out_time", "expected": 0, "got": tv,
                            "expected_time": e, "got_time": NONE,
                            "note": "a silent neuron's out_time field must be 0"}
                    break
        if n < len(offers):
            due = expected_beat(offers[n], due, info.latency, info.wave_cycles)
        if diff is None and check_latency and n < len(offers):
            lat = p.cycle - offers[n]
            if p.cycle != due:
                diff = {"layer": info.layers - 1, "neuron": None, "signal": "latency",
                        "expected": due - offers[n], "got": lat}
        if diff is not None:
            bad += 1
            if first is None:
                first = {**base, **diff, "cycle": p.cycle,
                         "got_volley": [None if g is None else int(g) for g in got]}
    for n in range(n_waves, len(pulses)):
        bad += 1
        if first is None:
            first = {"wave": n, "layer": info.layers - 1, "neuron": None,
                     "signal": "out_valid", "expected": 0, "got": 1,
                     "cycle": pulses[n].cycle, "expected_volley": None, "got_volley": None}
    return bad, first


def expected_beat(offer: int, prev: int | None, latency: int, wave_cycles: int) -> int:
    """The cycle of a wave's output beat with ``out_ready`` held high (docs/rtl-contract.md
    stream rule 8): ``LATENCY`` after the wave was first offered, unless the previous wave's
    beat (``prev``, its expected cycle) holds it back: beats are at least ``WAVE_CYCLES``
    apart. Computed from the offers alone, so one late beat is one mismatch.
    Both terms matter when a later stage is the slowest: a wave offered while it is busy
    waits between the stages (the first stage takes it when it is done with its input)."""
    due = offer + latency
    return due if prev is None else max(due, prev + wave_cycles)


def describe(first: Mapping[str, Any], mismatches: int, waves: int) -> str:
    """One-paragraph human description of a first mismatch."""
    sig = first.get("signal")
    wave = first.get("wave")
    where = f"wave {wave}"
    if first.get("neuron"):
        where += f", neuron {first['neuron']} (layer {first.get('layer')})"
    if first.get("note"):
        what = f"signal {sig}: expected {first['expected']}, got {first['got']} ({first['note']})"
    elif sig == "out_spike" or sig == "out_time":
        what = (f"signal {sig}: expected {first['expected']} (time "
                f"{_fmt_time(first.get('expected_time'))}), got {first['got']} (time "
                f"{_fmt_time(first.get('got_time'))})")
    elif sig == "latency":
        what = (f"out_valid came {first['got']} cycles after the wave was offered; "
                f"expected {first['expected']} (LATENCY in names.json, or WAVE_CYCLES after "
                f"the previous output beat)")
    elif sig == "out_valid" and first.get("expected") == 1:
        what = "signal out_valid: the output volley never arrived (expected 1, got 0)"
    elif sig == "out_valid":
        what = "signal out_valid: an extra output volley arrived (expected 0, got 1)"
    else:
        what = f"signal {sig}: expected {first.get('expected')}, got {first.get('got')}"
    msg = (f"RTL differs from the reference interpreter at {where}, {what}; "
           f"{mismatches} of {waves} wave(s) differ")
    internal = first.get("internal_signals")
    if internal:
        shown = list(internal.values())[:4]
        msg += ("; its segments' RTL signals (waveform): " + ", ".join(shown)
                + (" ..." if len(internal) > 4 else ""))
    return msg
