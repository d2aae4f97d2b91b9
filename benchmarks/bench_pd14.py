"""PD14 cortical microcircuit benchmark (issue 17 part 4): activity vs the reference, wall
time, and a hardware cost / real-time-factor forecast vs scale.

    .venv/bin/python benchmarks/bench_pd14.py [--runs 0.1:1:poisson,0.1:1:dc,...]
                                              [--ms 1000] [--transient 200] [--seed 1]
                                              [--config examples/pd14.toml]
                                              [--out benchmarks/results/pd14]

Each run builds the circuit (``neutnngen.frontend.pd14.build_pd14``, neuron scale ``N``,
in-degree scale ``K``, external drive poisson|dc), simulates ``--ms`` of biological time
with the reference interpreter (``recurrent_run``, 0.1 ms steps) and measures, after the
transient, the per-population mean rate, the mean CV of the inter-spike intervals and the
synchrony (variance / mean of the population spike count in 3 ms bins). The reference
rates are the full-scale ``full_mean_rates`` of the NEST PD14 model (they are *not*
measured here). The hardware part is a FORECAST: the RTL for recurrence is not built
(``neutnngen/hdl`` has no ``recurrent`` lowering); the numbers are memory bits and cycles of
a time-multiplexed design under the assumptions written into the JSON.

Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.frontend.pd14 import (  # noqa: E402
    FULL_RATES,
    N_FULL,
    POPULATIONS,
    build_from_config,
    full_synapses,
    pd14_config,
    spike_statistics,
)
from neutnngen.ir.stages.recurrent import recurrent_run  # noqa: E402

RATES_NEST_2016 = [0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523]
REFERENCES = {
    "rates_hz": "full_mean_rates of the NEST PD14 model (nest-simulator "
                "pynest/examples/Potjans_2014/network_params.py, NEST 3.x, and the NEST "
                "microcircuit-PD14 model's parameter_definitions.py): 0.903 2.965 4.414 5.876 "
                "7.569 8.633 1.105 7.829 (L2/3E .. L6I), a full-scale NEST run",
    "rates_hz_nest_2016": "the same field in the 2016 version of the NEST example "
                          "(Poisson background): 0.971 2.868 4.746 5.396 8.142 9.078 0.991 7.523",
    "parameters": "Potjans & Diesmann 2014 (Cereb. Cortex 24:785) as in the NEST example's "
                  "network_params.py; downscaling: van Albada, Helias & Diesmann 2015 as the "
                  "NEST example's helpers.adjust_weights_and_input_to_synapse_scaling",
}

# forecast assumptions (a time-multiplexed design, not built)
CLOCK_HZ = 200e6
LANES = (1, 8, 64)
STATE_BITS = {"V": 32, "I": 32, "refractory": 5, "spike": 1, "lfsr": 16}
ACC_BITS = 32  # ring-buffer accumulator per neuron and delay slot
WEIGHT_BITS = 16
DELAY_BITS = 6  # delays up to 63 steps (the builder's redrawn normal delays stay below)
DT_S = 1e-4


def _runs(spec: str) -> list[tuple[float, float, str]]:
    out = []
    for item in spec.split(","):
        n, k, d = item.split(":")
        out.append((float(n), float(k), d))
    return out


def simulate(cfg: dict) -> dict:
    """Build and run one :func:`pd14_config` config; its statistics."""
    p = cfg["pd14"]
    scale, k_scale, drive, ms, transient = (p["scale"], p["k_scale"], p["drive"], p["ms"],
                                            p["transient_ms"])
    seed = cfg["experiment"]["seed"]
    t0 = time.perf_counter()
    b = build_from_config(cfg)
    steps = b.stage.steps
    t_build = time.perf_counter() - t0
    st = b.stage
    t0 = time.perf_counter()
    _, tr = recurrent_run(st, np.zeros((1, st.n), np.int64), events=True)
    t_sim = time.perf_counter() - t0
    start = int(round(transient / 0.1))
    s = spike_statistics(tr.events, st.pop_bounds, start, steps)
    ratio = [m / r for m, r in zip(s["rate_hz"], FULL_RATES, strict=True)]
    return {
        "scale": scale, "k_scale": k_scale, "drive": drive, "seed": seed, "ms": ms,
        "stimulus_pa": p["stimulus"],
        "transient_ms": transient, "neurons": st.n, "synapses": st.synapse_count,
        "max_delay_steps": int(st.delays.max()), "weight_bits": st.weight_bits,
        "build_s": round(t_build, 2), "sim_s": round(t_sim, 2),
        "sim_s_per_bio_s": round(t_sim / (ms / 1000), 2),
        "spikes": int(len(tr.events)), "saturations": int(tr.saturations.sum()),
        "rate_hz": [round(v, 3) for v in s["rate_hz"]],
        "rate_over_reference": [round(v, 3) for v in ratio],
        "cv_isi": [round(v, 3) for v in s["cv_isi"]],
        "synchrony": [round(v, 3) for v in s["synchrony"]],
        "quantization": {k: {kk: (float(vv) if isinstance(vv, (float, np.floating)) else vv)
                             for kk, vv in q.items()} for k, q in b.quantization.items()},
    }


def forecast(scale: float, k_scale: float = 1.0, rates=FULL_RATES) -> dict:
    """Memory and cycles of a time-multiplexed recurrent design at neuron scale ``scale``."""
    sizes = np.maximum(np.round(N_FULL * scale), 1)
    n = int(sizes.sum())
    syn_pt = np.round(full_synapses() * scale * k_scale)
    syn = int(syn_pt.sum())
    idx_bits = max(math.ceil(math.log2(n)), 1)
    syn_bits = syn * (idx_bits + WEIGHT_BITS + DELAY_BITS)
    ptr_bits = (n + 1) * max(math.ceil(math.log2(syn + 1)), 1)
    state_bits = n * sum(STATE_BITS.values())
    ring_bits = n * (2 ** DELAY_BITS) * ACC_BITS
    events = float((syn_pt * np.asarray(rates)[None, :]).sum() * DT_S)  # synaptic events/step
    spikes = float((sizes * np.asarray(rates)).sum() * DT_S)
    out = {"scale": scale, "k_scale": k_scale, "neurons": n, "synapses": syn,
           "synapse_memory_bits": syn_bits + ptr_bits, "neuron_state_bits": state_bits,
           "ring_buffer_bits": ring_bits, "spikes_per_step": round(spikes, 2),
           "synaptic_events_per_step": round(events, 1), "lanes": {}}
    for L in LANES:
        for drive, per_neuron in (("dc", 1), ("poisson", 16)):
            cycles = math.ceil(n * per_neuron / L) + math.ceil(events / L) + math.ceil(spikes)
            out["lanes"][f"{L}/{drive}"] = {
                "cycles_per_step": cycles,
                "rtf": round(cycles / CLOCK_HZ / DT_S, 4)}
    return out


def _md(res: dict) -> str:
    L = ["# PD14 cortical microcircuit (issue 17 part 4)", "",
         f"Generated by `benchmarks/bench_pd14.py` on {res['host']}. Reference numbers are "
         "quoted (sources below); everything else is measured here with the reference "
         "interpreter, except the hardware table, which is a **forecast** (the RTL for "
         "recurrence is not built).", ""]
    for r in res["runs"]:
        L += [f"## N x {r['scale']}, K x {r['k_scale']}, {r['drive']} drive, seed {r['seed']}", "",
              f"{r['neurons']} neurons, {r['synapses']:,} synapses, {r['ms']:.0f} ms simulated "
              f"(first {r['transient_ms']:.0f} ms dropped); build {r['build_s']} s, simulation "
              f"{r['sim_s']} s ({r['sim_s_per_bio_s']} s per biological second); "
              f"{r['saturations']} saturations.", "",
              "| population | reference rate (Hz) | measured rate (Hz) | measured / ref | "
              "CV ISI | synchrony |", "|---|---|---|---|---|---|"]
        for i, p in enumerate(POPULATIONS):
            L.append(f"| {p} | {FULL_RATES[i]:.3f} | {r['rate_hz'][i]:.3f} | "
                     f"{r['rate_over_reference'][i]:.2f} | {r['cv_isi'][i]:.2f} | "
                     f"{r['synchrony'][i]:.2f} |")
        L.append("")
    L += ["## Hardware forecast (not built)", "",
          f"Assumptions: {res['forecast_assumptions']}", "",
          "| N scale | neurons | synapses | synapse memory (Mbit) | neuron state (Mbit) | "
          "ring buffer (Mbit) | events/step | RTF 1 lane dc | RTF 8 lanes dc | RTF 64 lanes dc "
          "| RTF 64 lanes poisson |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in res["forecast"]:
        ln = f["lanes"]
        L.append(f"| {f['scale']} | {f['neurons']:,} | {f['synapses']:,} | "
                 f"{f['synapse_memory_bits'] / 1e6:,.1f} | {f['neuron_state_bits'] / 1e6:.2f} | "
                 f"{f['ring_buffer_bits'] / 1e6:.1f} | {f['synaptic_events_per_step']:,} | "
                 f"{ln['1/dc']['rtf']} | {ln['8/dc']['rtf']} | {ln['64/dc']['rtf']} | "
                 f"{ln['64/poisson']['rtf']} |")
    L += ["", "RTF = wall time / biological time (1 = real time; < 1 faster).", "",
          "## References", ""]
    L += [f"- {k}: {v}" for k, v in res["references"].items()]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="0.1:1:poisson,0.1:1:dc,0.1:0.1:poisson,0.02:0.5:poisson")
    ap.add_argument("--ms", type=float, default=1000.0)
    ap.add_argument("--transient", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", help="one run from a PD14 config (examples/pd14.toml) "
                                     "instead of --runs/--ms/--transient/--seed")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/pd14"))
    a = ap.parse_args()
    if a.config:
        with open(a.config, "rb") as fh:
            configs = [pd14_config(tomllib.load(fh))]
    else:
        configs = [pd14_config({"experiment": {"seed": a.seed},
                                "pd14": {"scale": n, "k_scale": k, "drive": d, "ms": a.ms,
                                         "transient_ms": a.transient}})
                   for n, k, d in _runs(a.runs)]
    runs = []
    for cfg in configs:
        p = cfg["pd14"]
        print(f"run N x {p['scale']}, K x {p['k_scale']}, {p['drive']} ...", flush=True)
        runs.append(simulate(cfg))
        print(json.dumps({x: runs[-1][x] for x in ("rate_hz", "sim_s", "build_s")}), flush=True)
    res = {
        "host": f"{platform.node()} ({platform.processor() or platform.machine()}, "
                f"python {platform.python_version()})",
        "references": REFERENCES, "reference_rates_hz": list(FULL_RATES),
        "reference_rates_hz_nest_2016": RATES_NEST_2016,
        "runs": runs,
        "forecast_assumptions": (
            f"clock {CLOCK_HZ / 1e6:.0f} MHz; L lanes each update one neuron per cycle (dc) "
            "or make one 12-bit background draw per cycle (poisson: 16 draws per neuron); "
            "each lane delivers one synaptic event (read target/weight/delay, add into the "
            "ring buffer) per cycle; plus one cycle per spike to fetch its CSR row; "
            f"per synapse {WEIGHT_BITS}-bit weight, {DELAY_BITS}-bit delay, ceil(log2 n)-bit "
            f"target, plus a CSR pointer per neuron; neuron state {STATE_BITS}; ring buffer "
            f"{2 ** DELAY_BITS} slots x {ACC_BITS} bits per neuron; event counts from the "
            "reference rates; in-degrees at full scale (K x 1)"),
        "forecast": [forecast(s) for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)],
        "rtl": "not built: neutnngen/hdl has no lowering for the recurrent kind",
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    out.with_suffix(".md").write_text(_md(res))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
