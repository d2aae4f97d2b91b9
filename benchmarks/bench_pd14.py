"""PD14 cortical microcircuit benchmark (issue 17 part 4): activity vs the reference, wall
time, and a hardware cost / real-time-factor forecast vs scale.

    .venv/bin/python benchmarks/bench_pd14.py [--runs 0.1:1:poisson,0.1:1:dc,...]
                                              [--ms 1000] [--transient 200] [--seed 1]
                                              [--float] [--config examples/pd14.toml]
                                              [--out benchmarks/results/pd14]

Each run builds the circuit (``neutnngen.frontend.pd14.build_pd14``, neuron scale ``N``,
in-degree scale ``K``, external drive poisson|dc), simulates ``--ms`` of biological time
with the reference interpreter (``recurrent_run``, 0.1 ms steps) and measures, after the
transient, the per-population mean rate, the mean CV of the inter-spike intervals and the
synchrony (variance / mean of the population spike count in 3 ms bins). The reference
rates are the full-scale ``full_mean_rates`` of the NEST PD14 model (they are *not*
measured here). ``--float`` also runs each circuit in float64 with NEST's ``iaf_psc_exp``
semantics (:func:`float_run`), which separates what the integer contract changes from what
the downscaling changes. The hardware part is a FORECAST: the RTL for recurrence is not built
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

from neutnngen._io import to_json  # noqa: E402
from neutnngen.frontend.pd14 import (  # noqa: E402
    FULL_RATES,
    N_FULL,
    POPULATIONS,
    full_synapses,
    pd14_config,
    spike_statistics,
)
from neutnngen.pipeline.tasks.pd14 import measure  # noqa: E402

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


def float_run(b, seed: int) -> np.ndarray:
    """The same circuit (connectivity, delays, dequantized weights and drive) in float64
    with NEST's ``iaf_psc_exp`` semantics: exact propagators, input reaching ``V`` one step
    after it reaches ``I``, ``V >= theta`` fires, ``V`` held at reset for the refractory
    steps while ``I`` keeps integrating, true Poisson background counts. Spike events
    ``[E, 2]`` (step, neuron). Not the contract: a yardstick for what the integer model's
    quantization and §11 refractory rule cost."""
    from neutnngen.frontend.pd14 import C_M, DT, TAU_M, TAU_SYN

    st = b.stage
    n, T = st.n, st.steps
    vs = float(1 << b.params["v_frac"])
    one = float(1 << st.frac_bits)
    aq, bq = st.alpha_q / one, st.beta_q / one
    kappa = TAU_M * (1 - aq) * (1 - bq) / C_M
    spike_scale = TAU_SYN / DT * kappa * vs
    w = st.weights.astype(float) / spike_scale  # pA
    dc = st.dc.astype(float) / (kappa * vs)  # pA
    pop = st.pop_of
    lam = np.array([p.bg_u * st.bg_draws / (1 << st.bg_bits) for p in st.pops])[pop]
    bgw = np.array([p.bg_w / spike_scale for p in st.pops])[pop]
    p11, p22 = math.exp(-DT / TAU_SYN), math.exp(-DT / TAU_M)
    p21 = TAU_SYN * TAU_M / (C_M * (TAU_M - TAU_SYN)) * (p22 - p11)
    p20 = TAU_M / C_M * (1 - p22)
    theta = st.threshold / vs
    D = int(st.delays.max()) + 1
    R = np.zeros((D, n))
    v = st.v0.astype(float) / vs
    i_syn = np.zeros(n)
    r = np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed + 1000)
    ip, tg, dl = st.indptr, st.targets.astype(np.int64), st.delays.astype(np.int64)
    ev = []
    for t in range(T):
        free = r == 0
        v = np.where(free, v * p22 + i_syn * p21 + dc * p20, v)
        r = np.where(free, r, r - 1)
        arr = R[t % D].copy()
        R[t % D] = 0
        if st.bg_draws:
            arr += rng.poisson(lam) * bgw
        i_syn = i_syn * p11 + arr
        s = v >= theta
        if not s.any():
            continue
        v = np.where(s, 0.0, v)
        r = np.where(s, st.refractory, r)
        ni = np.flatnonzero(s)
        ev.append(np.stack([np.full(len(ni), t), ni], axis=1))
        starts, lens = ip[ni], ip[ni + 1] - ip[ni]
        tot = int(lens.sum())
        if tot:
            off = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(tot)
            np.add.at(R.reshape(-1), ((t + dl[off]) % D) * n + tg[off], w[off])
    return np.concatenate(ev) if ev else np.zeros((0, 2), np.int64)


def simulate(cfg: dict, with_float: bool = False) -> dict:
    """Build and run one :func:`pd14_config` config (the ``run_pd14`` task's measurement);
    with ``with_float`` also :func:`float_run` on the same circuit."""
    b, m, _ = measure(cfg)
    m["float_nest_semantics"] = None
    if with_float:
        start = min(int(round(cfg["pd14"]["transient_ms"] / 0.1)), b.stage.steps - 1)
        t0 = time.perf_counter()
        fs = spike_statistics(float_run(b, cfg["experiment"]["seed"]), b.stage.pop_bounds,
                              start, b.stage.steps)
        m["float_nest_semantics"] = {"sim_s": round(time.perf_counter() - t0, 2),
                                     **{k: [round(v, 3) for v in vals]
                                        for k, vals in fs.items()}}
    return m


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
           "synaptic_events_per_step": round(events, 1),
           "synapse_read_gbit_s_real_time": round(
               events * (idx_bits + WEIGHT_BITS + DELAY_BITS) / DT_S / 1e9, 1),
           "lanes": {}}
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
              "CV ISI | synchrony |" + (" float rate (Hz) | float CV | float synchrony |"
                                        if r["float_nest_semantics"] else ""),
              "|---|---|---|---|---|---|" + ("---|---|---|" if r["float_nest_semantics"] else "")]
        f = r["float_nest_semantics"]
        for i, p in enumerate(POPULATIONS):
            L.append(f"| {p} | {FULL_RATES[i]:.3f} | {r['rate_hz'][i]:.3f} | "
                     f"{r['rate_over_reference'][i]:.2f} | {r['cv_isi'][i]:.2f} | "
                     f"{r['synchrony'][i]:.2f} |" + (
                         f" {f['rate_hz'][i]:.3f} | {f['cv_isi'][i]:.2f} | "
                         f"{f['synchrony'][i]:.2f} |" if f else ""))
        if f:
            L += ["", "Float columns: the same network in float64 with NEST's iaf_psc_exp "
                  "semantics (exact propagators, V held at reset while refractory, true Poisson "
                  f"background; `float_run`, {f['sim_s']} s): what the integer contract "
                  "costs, not a reference."]
        L.append("")
    L += ["## Hardware forecast (not built)", "",
          f"Assumptions: {res['forecast_assumptions']}", "",
          "| N scale | neurons | synapses | synapse memory (Mbit) | neuron state (Mbit) | "
          "ring buffer (Mbit) | events/step | synapse reads at RTF 1 (Gbit/s) | RTF 1 lane dc | "
          "RTF 8 lanes dc | RTF 64 lanes dc | RTF 64 lanes poisson |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in res["forecast"]:
        ln = f["lanes"]
        L.append(f"| {f['scale']} | {f['neurons']:,} | {f['synapses']:,} | "
                 f"{f['synapse_memory_bits'] / 1e6:,.1f} | {f['neuron_state_bits'] / 1e6:.2f} | "
                 f"{f['ring_buffer_bits'] / 1e6:.1f} | {f['synaptic_events_per_step']:,} | "
                 f"{f['synapse_read_gbit_s_real_time']} | "
                 f"{ln['1/dc']['rtf']} | {ln['8/dc']['rtf']} | {ln['64/dc']['rtf']} | "
                 f"{ln['64/poisson']['rtf']} |")
    L += ["", "RTF = wall time / biological time (1 = real time; < 1 faster).", "",
          "## Notes", "",
          "- Rates count every neuron of a population (silent ones included); the CV is the mean "
          "over neurons with at least 3 spikes; synchrony is var/mean of the whole population's "
          "spike count in 3 ms bins (all neurons, not a fixed-size subsample, so it grows with "
          "the population size when spikes are correlated).",
          "- Shrinking N while keeping the in-degree K (N x 0.1, K x 1) keeps the mean input "
          "but raises the shared-input fraction, so correlations and synchrony are larger than "
          "at full scale (van Albada, Helias & Diesmann 2015); the NEST reference rates are "
          "full-scale values.",
          "- The integer model drops input during the 20 refractory steps (docs/model.md §11/§13); "
          "NEST keeps integrating the synaptic current. The float columns (NEST semantics, same "
          "circuit) bound what that and the fixed point change.", "",
          "## References", ""]
    L += [f"- {k}: {v}" for k, v in res["references"].items()]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="0.1:1:poisson,0.1:1:dc,0.1:0.1:poisson,0.02:0.5:poisson")
    ap.add_argument("--ms", type=float, default=1000.0)
    ap.add_argument("--transient", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--float", action="store_true",
                    help="also run each circuit in float64 with NEST's neuron semantics")
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
        runs.append(simulate(cfg, a.float))
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
    out.with_suffix(".json").write_text(to_json(res))
    out.with_suffix(".md").write_text(_md(res))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
