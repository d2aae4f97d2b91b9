"""Verification of a convolutional STDP design (:mod:`neutnngen.hdl.convstdp`) against the
interpreter (docs/model.md §14): every line of every stage (its first spike step) and the
decided class of every sample, on a streamed Verilog bench (the SNN bench's conventions:
pixel beats with seeded source gaps, ``out_ready`` stalls, a cycle limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError


def expected(net, X: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """The interpreter's first spike step of every line of every stage but the last
    (``{stage: [B, lines]}``, NONE coded as ``steps``) and the decided classes ``[B]``
    (NONE = -1), stage by stage as :class:`neutnngen.ir.interp.Interpreter` runs them."""
    from ..ir.kinds import kind_of
    from ..ir.stages.convstdp import first_times

    steps = int(net.stages[0].steps)
    h = np.asarray(X, dtype=np.int64)
    out: dict[int, np.ndarray] = {}
    for k, st in enumerate(net.stages):
        h, _ = kind_of(st).init_state(st, net.time).forward(h, None)
        if k < len(net.stages) - 1:
            t = first_times(h)
            out[k] = np.where(t < 0, steps, t)
    return out, np.asarray(h, np.int64).reshape(-1)


def verify_convstdp(net, verilog: Path, X: np.ndarray, *, workdir: Path,
                    simulator: str | None = None, backpressure: bool = True, seed: int = 1,
                    timeout: float = 3600.0) -> dict[str, Any]:
    """Simulate ``verilog`` (:func:`neutnngen.hdl.convstdp.emit_convstdp` of ``net``) on the
    pixels ``X[samples, H*W]``; compare every stage's lines and the decided class with the
    interpreter; a JSON-able dict (``mismatches``, ``first_mismatch``, ``cycles``, ...)."""
    from .serial_bench import read_info, run_bench

    verilog, info = read_info(verilog, "convstdp", "a convolutional STDP design")
    X = np.asarray(X, dtype=np.int64)
    HW = int(info["height"]) * int(info["width"])
    if X.ndim != 2 or X.shape[1] != HW:
        raise ConfigError(f"pixels of shape {X.shape}; expected [samples, {HW}]")
    top = (1 << int(info["in_bits"])) - 1
    if X.size and (X.min() < 0 or X.max() > top):
        raise ConfigError(f"pixel values {int(X.min())}..{int(X.max())}; the design takes "
                          f"0..{top} ({info['in_bits']}-bit in_data)")
    B = len(X)
    per = int(info["cycles_per_sample_bound"])
    lines = max([s["lines"] for s in info["stages"]] + [HW])
    ports = {"out_class": max(1, (int(info["classes"]) - 1).bit_length()), "out_none": 1,
             "trace_stage": max(1, len(info["stages"]).bit_length()),
             "trace_line": max(1, (lines - 1).bit_length()),
             "trace_t": max(1, int(info["steps"]).bit_length())}
    run = run_bench(verilog, str(info["name"]), X, int(info["in_bits"]), B,
                    3 * per * B + 1000, ports, ["got", "trace_stage", "trace_line", "trace_t"],
                    ["out_class", "out_none", "cyc"], workdir=workdir, simulator=simulator,
                    backpressure=backpressure, seed=seed, timeout=timeout,
                    what="convolutional STDP")
    exp, decided = expected(net, X)
    tr = run.trace
    names = {s["index"]: s["name"] for s in info["stages"]}
    steps = int(info["steps"])
    mism = 0
    first = None
    per_stage: dict[str, int] = {}
    for k, e in exp.items():
        got = np.full(e.shape, -1, np.int64)  # -1: never written in that sample
        sel = tr[tr[:, 1] == k] if len(tr) else tr
        ok = sel[:, 0] < B
        sel = sel[ok]
        # the last write of a line in a sample is its value (writes come in time order)
        key = sel[::-1, 0] * e.shape[1] + sel[::-1, 2]
        _, last = np.unique(key, return_index=True)
        got[sel[::-1][last, 0], sel[::-1][last, 2]] = sel[::-1][last, 3]
        bad = np.argwhere(got != e)
        per_stage[names[k]] = int(len(bad))
        mism += int(len(bad))
        if len(bad) and first is None:
            b, ln = (int(v) for v in bad[0])

            def show(v):
                return "never written" if v < 0 else ("NONE" if v == steps else int(v))
            first = {"sample": b, "stage": names[k], "line": ln,
                     "expected": show(int(e[b, ln])), "got": show(int(got[b, ln]))}
    outs = run.out
    got_cls = np.where(outs[:, 1] == 1, -1, outs[:, 0]) if len(outs) else np.zeros(0, np.int64)
    k2 = min(len(got_cls), B)
    bad = np.flatnonzero(got_cls[:k2] != decided[:k2])
    ob = int(bad.size) + abs(len(got_cls) - B)
    if ob and first is None:
        b = int(bad[0]) if bad.size else k2
        first = {"sample": b, "stage": names[max(names)], "field": "decided class",
                 "expected": int(decided[b]) if b < B else None,
                 "got": int(got_cls[b]) if b < len(got_cls) else None}
    ends = outs[:, 2] if len(outs) else np.zeros(0, np.int64)
    return {"samples": B, "simulator": run.simulator, "cycles": run.cycles,
            "timed_out": run.timed_out, "cycles_per_sample": round(run.cycles / max(B, 1), 1),
            "cycles_per_sample_bound": per, "mismatches": mism + ob,
            "line_mismatches": per_stage, "output_mismatches": ob,
            "first_mismatch": first, "sim_s": run.sim_s,
            "decided": got_cls.tolist(), "silent": int(np.sum(decided == -1)),
            "answer_cycles": ends.tolist(), "log": str(run.log)}
