"""Verification of a ``recurrent`` design (:mod:`neutnngen.hdl.recurrent`) against the
interpreter (docs/model.md §13): every neuron's membrane, spike and synaptic current at
every step, and the output beats (spike count, final membrane), on a streamed Verilog bench
(the SNN bench's conventions: ``in_*`` beats with seeded source gaps, ``out_ready`` stalls,
a cycle limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError


def verify_recurrent(net, verilog: Path, X: np.ndarray, *, workdir: Path,
                     simulator: str | None = None, backpressure: bool = True, seed: int = 1,
                     timeout: float = 3600.0) -> dict[str, Any]:
    """Simulate ``verilog`` (:func:`neutnngen.hdl.recurrent.emit_recurrent` of ``net``) on the
    stimulus currents ``X[samples, n]`` and compare every neuron, step and field with the
    interpreter; a JSON-able dict (``mismatches``, ``first_mismatch``, ``cycles``, ...)."""
    from ..ir.stages.recurrent import recurrent_run
    from .serial_bench import read_info, run_bench
    from .snn import _signed_cols

    verilog, info = read_info(verilog, "recurrent", "a recurrent design")
    nd = net.stages[0]
    X = np.asarray(X, dtype=np.int64)
    n, T, M, sb = nd.n, nd.steps, nd.mem_bits, int(info["stim_bits"])
    if X.ndim != 2 or X.shape[1] != n:
        raise ConfigError(f"stimulus of shape {X.shape}; expected [samples, {n}]")
    lim = 1 << (sb - 1)
    if X.size and (X.min() < -lim or X.max() >= lim):
        raise ConfigError(f"stimulus currents {int(X.min())}..{int(X.max())} do not fit the "
                          f"design's {sb}-bit signed in_data")
    B = len(X)
    nb = max(1, (n - 1).bit_length())
    per = int(info["cycles_per_sample"]) + 6 * n + 8
    ports = {"out_count": max(1, int(info["steps"]).bit_length()), "out_mem": M,
             "out_index": nb, "out_last": 1, "trace_idx": nb, "trace_v": M, "trace_s": 1,
             "trace_i": M}
    run = run_bench(verilog, str(info["name"]), X, sb, B * n, 3 * per * B + 1000, ports,
                    ["trace_idx", "trace_v", "trace_s", "trace_i"],
                    ["out_index", "out_count", "out_mem", "out_last"], workdir=workdir,
                    simulator=simulator, backpressure=backpressure, seed=seed,
                    timeout=timeout, what="recurrent")
    sim, cycles = run.simulator, run.cycles
    _, tr = recurrent_run(nd, X, record=True)
    exp = np.stack([np.broadcast_to(np.arange(n), (B, T, n)), tr.v_steps, tr.s_steps,
                    tr.i_steps], axis=-1).reshape(-1, 4)
    got = _signed_cols(run.trace, (1, 3), M)
    k = min(len(got), len(exp))
    bad = np.flatnonzero((got[:k] != exp[:k]).any(axis=1))
    mism = int(bad.size) + abs(len(got) - len(exp))
    first = None
    if bad.size or len(got) != len(exp):
        r = int(bad[0]) if bad.size else k
        b, rem = divmod(r, T * n)
        t, i = divmod(rem, n)
        if r < k:
            col = next(c for c in (1, 2, 3) if got[r, c] != exp[r, c]) \
                if got[r, 0] == exp[r, 0] else 0
            first = {"sample": b, "step": t, "neuron": i,
                     "field": ("order", "v", "s", "i")[col],
                     "expected": int(exp[r, col]), "got": int(got[r, col])}
        else:
            first = {"sample": b, "field": "trace rows", "expected": len(exp), "got": len(got)}
    outs = _signed_cols(run.out, (2,), M)
    eo = np.stack([np.tile(np.arange(n), B), tr.counts.reshape(-1), tr.v.reshape(-1),
                   np.tile((np.arange(n) == n - 1).astype(int), B)], 1)
    k2 = min(len(outs), len(eo))
    ob = int(np.count_nonzero((outs[:k2] != eo[:k2]).any(axis=1))) + abs(len(outs) - len(eo))
    if ob and first is None:
        first = {"field": "output beat", "expected": eo[0].tolist(),
                 "got": outs[0].tolist() if len(outs) else None}
    return {"samples": B, "simulator": sim, "cycles": cycles, "timed_out": run.timed_out,
            "cycles_per_sample": int(info["cycles_per_sample"]), "trace_rows": int(len(got)),
            "trace_rows_expected": int(len(exp)), "mismatches": mism + ob,
            "output_mismatches": ob, "first_mismatch": first, "sim_s": run.sim_s,
            "spikes": int(tr.counts.sum()), "log": str(run.log)}
