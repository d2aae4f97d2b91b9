"""PD14 runs: a config with a ``[pd14]`` table (``examples/pd14.toml``) -> the Potjans &
Diesmann microcircuit as a ``recurrent`` stage -> simulated activity vs the reference.

Steps: build (:func:`neutnngen.frontend.pd14.build_from_config`), simulate with the reference
interpreter (``ms`` of 0.1 ms steps, the stimulus lines all zero), measure per population
the rate, the CV of the inter-spike intervals and the synchrony after ``transient_ms``, and
write ``OUT/ir/model.{json,npz,txt}``, ``OUT/metrics.json`` and ``OUT/report.md``.
``neutnngen run CONFIG`` dispatches a config with a ``[pd14]`` table here; the hardware is
separate: ``neutnngen compile OUT/ir/model.json`` builds the recurrent RTL
(:mod:`neutnngen.hdl.recurrent`) and ``benchmarks/bench_pd14_rtl.py`` verifies and
synthesizes it against scale.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import atomic_write_text, write_json
from ...frontend.pd14 import (
    FULL_RATES,
    POPULATIONS,
    PD14Build,
    build_from_config,
    pd14_config,
    spike_statistics,
)
from ...ir import save, to_text
from ...ir.stages.recurrent import recurrent_run


def is_pd14_config(raw: Any) -> bool:
    return isinstance(raw, dict) and "pd14" in raw


def measure(cfg: dict[str, dict[str, Any]]) -> tuple[PD14Build, dict[str, Any], np.ndarray]:
    """Build and simulate a :func:`pd14_config` config: the build, the metrics and sample 0's
    spike events ``[E, 2]`` (step, neuron)."""
    p = cfg["pd14"]
    t0 = time.perf_counter()
    b = build_from_config(cfg)
    t_build = time.perf_counter() - t0
    st = b.stage
    t0 = time.perf_counter()
    _, tr = recurrent_run(st, np.zeros((1, st.n), np.int64), events=True)
    t_sim = time.perf_counter() - t0
    start = min(int(round(p["transient_ms"] / 0.1)), st.steps - 1)
    s = spike_statistics(tr.events, st.pop_bounds, start, st.steps)
    metrics = {
        "scale": p["scale"], "k_scale": p["k_scale"], "drive": p["drive"],
        "seed": cfg["experiment"]["seed"], "ms": p["ms"], "transient_ms": p["transient_ms"],
        "stimulus_pa": p["stimulus"], "neurons": st.n, "synapses": st.synapse_count,
        "max_delay_steps": int(st.delays.max()) if st.synapse_count else 0,
        "weight_bits": st.weight_bits, "build_s": round(t_build, 2), "sim_s": round(t_sim, 2),
        "sim_s_per_bio_s": round(t_sim / (p["ms"] / 1000), 2), "spikes": int(len(tr.events)),
        "saturations": int(tr.saturations.sum()), "populations": list(POPULATIONS),
        "reference_rate_hz": [float(r) for r in FULL_RATES],
        "rate_hz": [round(v, 3) for v in s["rate_hz"]],
        "rate_over_reference": [round(m / r, 3) for m, r in zip(s["rate_hz"], FULL_RATES,
                                                                 strict=True)],
        "cv_isi": [round(v, 3) for v in s["cv_isi"]],
        "synchrony": [round(v, 3) for v in s["synchrony"]],
        "quantization": {k: {kk: (float(vv) if isinstance(vv, (float, np.floating)) else vv)
                             for kk, vv in q.items()} for k, q in b.quantization.items()},
    }
    return b, metrics, tr.events


def report_md(m: dict[str, Any]) -> str:
    L = [f"# PD14 microcircuit: N x {m['scale']}, K x {m['k_scale']}, {m['drive']} drive, "
         f"seed {m['seed']}", "",
         f"{m['neurons']} neurons, {m['synapses']:,} synapses; {m['ms']:.0f} ms simulated "
         f"(first {m['transient_ms']:.0f} ms dropped) in {m['sim_s']} s; "
         f"{m['saturations']} saturations. Reference rates: the NEST PD14 model's full-scale "
         "`full_mean_rates` (quoted, not measured here).", "",
         "| population | reference rate (Hz) | measured rate (Hz) | measured / ref | CV ISI | "
         "synchrony |", "|---|---|---|---|---|---|"]
    for i, p in enumerate(m["populations"]):
        L.append(f"| {p} | {m['reference_rate_hz'][i]:.3f} | {m['rate_hz'][i]:.3f} | "
                 f"{m['rate_over_reference'][i]:.2f} | {m['cv_isi'][i]:.2f} | "
                 f"{m['synchrony'][i]:.2f} |")
    return "\n".join(L) + "\n"


def run_pd14(raw: dict, out: str | Path) -> dict[str, Any]:
    """Run a PD14 config (parsed TOML) into ``out``; returns the metrics."""
    cfg = pd14_config(raw)
    out = Path(out)
    b, metrics, events = measure(cfg)
    save(b.network, out / "ir" / "model.json")
    atomic_write_text(out / "ir" / "model.txt", to_text(b.network))
    np.save(out / "spikes.npy", events)
    write_json(out / "metrics.json", metrics)
    atomic_write_text(out / "report.md", report_md(metrics))
    return metrics


__all__ = ["is_pd14_config", "measure", "report_md", "run_pd14"]
