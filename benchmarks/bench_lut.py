"""A spiking look-up-table layer (docs/model.md §12) against the TNN column on the same
inputs, written to JSON and Markdown.

    .venv/bin/python benchmarks/bench_lut.py [--out benchmarks/results/lut.json]
                                             [--tables 8,16] [--no-ice40]

Task: GunPoint (UCR) encoded as in ``examples/ucr_gunpoint.toml`` (150 samples, 3-bit
times, clip 2.0): 50 labelled training series, 150 test series.

* ``lut T``: ``examples/lut_gunpoint.toml`` with ``T`` tables (4 lines each), filled from
  the training labels, with its frozen WTA readout column;
* ``tnn column``: ``examples/ucr_gunpoint.toml`` (150 x 2, 3-bit weights, unsupervised STDP,
  10 epochs), the TNN column of the same encoded inputs;
* ``k-means``: the task's baseline on the same encoded inputs (k = 2).

Error: the test split's classification error with the winner decoded by the majority
training class of that winner (for the lut's readout that is the winner's own class);
silent waves count as errors. Also the task's adjusted Rand index and purity. Hardware: each
network is emitted (hardwired), verified against the interpreter on the 150 test waves
(stream bench), and synthesized with the real flow: generic CMOS (cells, flip-flops,
transistors) and iCE40 HX8K (LUT4, flip-flops, Fmax at a 100 MHz target).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen import config, flows  # noqa: E402
from neutnngen.data.readout import classify  # noqa: E402
from neutnngen.hdl import emit  # noqa: E402
from neutnngen.ir import Interpreter, Network  # noqa: E402
from neutnngen.pipeline.network import build_and_train  # noqa: E402
from neutnngen.pipeline.tasks import get_task  # noqa: E402
from neutnngen.verify import run_verification  # noqa: E402

NOTES = """Notes. The lut rows learn from the labels (one counting pass over the 50 training
series); the TNN column learns without labels (STDP, 10 epochs) and its winner is decoded by
the majority training class, so the comparison is supervised tables vs an unsupervised
column on the same encoded inputs. Test error: winner -> class decoded as above, silent waves
wrong. State bits: table ROM bits (tables x 2**6 codes x 2 classes x 3-bit votes) for the lut,
weight bits (synapses x wres) for the column. The lut rows' hardware is the lut stage (a
combinational stream stage) plus its 2-line WTA readout column; the lut logic lies on the
path into the readout column's input register, which sets their Fmax. Larger lut designs
(24 or more tables of 3 lines, 32 tables even with 2-bit votes) did not finish the generic
Yosys/ABC flow within several minutes; not investigated yet."""


def error(net: Network, data) -> float:
    it = Interpreter(net)
    pred, _ = classify(it.forward(data.X_test), False, it.forward(data.X_train), data.y_train)
    return float(np.mean(pred != data.y_test))


def hardware(net: Network, X: np.ndarray, work: Path, ice40: bool) -> dict:
    em = emit(net, work / "rtl")
    v = em.verilog.read_text()
    t0 = time.perf_counter()
    ver = run_verification(net, em.verilog, em.names, X, workdir=work / "verify")
    out = {"verify": {"simulator": ver.simulator, "waves": ver.waves,
                      "mismatches": ver.mismatches, "wall_s": round(time.perf_counter() - t0, 2)},
           "wave_cycles": int(em.info["WAVE_CYCLES"]), "latency_cycles": int(em.info["LATENCY"])}
    t0 = time.perf_counter()
    g = flows.synth_generic(v, "neutnngen_top")
    out.update(cells=g.cells, flip_flops=g.flip_flops, transistors=g.transistors,
               generic_s=round(time.perf_counter() - t0, 1))
    if ice40:
        t0 = time.perf_counter()
        i = flows.synth_ice40(v, "neutnngen_top", device="hx8k", freq_mhz=100)
        out.update(ice40_luts=i.luts, ice40_flip_flops=i.flip_flops, ice40_fmax_mhz=i.fmax_mhz,
                   ice40_harness=i.harness, ice40_fits=i.fits, ice40_fit_error=i.fit_error or "",
                   ice40_s=round(time.perf_counter() - t0, 1))
    return out


def _n(v, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict]) -> str:
    head = ("network", "test error", "ARI", "purity", "state bits", "cells", "transistors",
            "iCE40 LUT4", "iCE40 FF", "Fmax (MHz)", "cycles/wave", "RTL mismatches")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        hw = r.get("hw", {})
        ver = hw.get("verify")
        out.append(
            f"| {r['network']} | {r['error']:.3f} | {r['ari']:.3f} | {r['purity']:.3f} | "
            f"{_n(r.get('state_bits'))} | {_n(hw.get('cells'))} | {_n(hw.get('transistors'))} | "
            f"{_n(hw.get('ice40_luts'))} | {_n(hw.get('ice40_flip_flops'))} | "
            f"{_n(hw.get('ice40_fmax_mhz'), '.1f')} | {_n(hw.get('wave_cycles'))} | "
            + (f"{ver['mismatches']} / {ver['waves']}" if ver else "-") + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lut.json"))
    ap.add_argument("--tables", default="8,16", help="comma-separated table counts")
    ap.add_argument("--no-ice40", action="store_true", help="generic synthesis only")
    args = ap.parse_args()
    rows: list[dict] = []
    tnn_cfg = config.load(ROOT / "examples" / "ucr_gunpoint.toml")
    task = get_task(tnn_cfg)
    data = task.prepare(tnn_cfg)
    cases = []
    for T in [int(t) for t in args.tables.split(",") if t]:
        cfg = config.load(ROOT / "examples" / "lut_gunpoint.toml", [f"layers.0.tables={T}"])
        t0 = time.perf_counter()
        net = build_and_train(cfg, data, show=False)[1]
        lu = net.stages[0]
        cases.append((f"lut {T}x{lu.k}", cfg, net, time.perf_counter() - t0,
                      {"table_bits": lu.table_bits, "state_bits": lu.table_bits}))
    t0 = time.perf_counter()
    tnn = build_and_train(tnn_cfg, data, show=False)[1]
    wbits = int(tnn.synapses) * tnn.layers[0].columns[0].distal.wres
    cases.append(("tnn column 150x2", tnn_cfg, tnn, time.perf_counter() - t0,
                  {"weight_bits": wbits, "state_bits": wbits}))
    base = None
    with tempfile.TemporaryDirectory() as td:
        for name, cfg, net, train_s, extra in cases:
            ev = task.evaluate(net, data, cfg.experiment.seed)
            m = ev["metrics"]["test"]
            base = base or ev["baseline"]["kmeans"]["test"]
            r = {"network": name, "error": error(net, data), "ari": m["adjusted_rand_index"],
                 "purity": m["purity"], "train_s": round(train_s, 2), **extra}
            r["hw"] = hardware(net, data.X_test, Path(td) / name.replace(" ", "_"),
                               not args.no_ice40)
            rows.append(r)
            print(f"{name:18} error {r['error']:.3f} ARI {r['ari']:.3f} "
                  f"{_n(r['hw'].get('cells'))} cells {_n(r['hw'].get('ice40_luts'))} LUT4 "
                  f"{_n(r['hw'].get('ice40_fmax_mhz'), '.1f')} MHz verify "
                  f"{r['hw']['verify']['mismatches']}/{r['hw']['verify']['waves']}", flush=True)
    rows.append({"network": "k-means (encoded, k = 2)", "error": 1.0 - base["purity"],
                 "ari": base["adjusted_rand_index"], "purity": base["purity"],
                 "note": "error = 1 - test purity (k-means has no training-class decoder here)"})
    res = {"task": "GunPoint (UCR), 50 train / 150 test, 150 lines of 3-bit times",
           "machine": {"python": sys.version.split()[0], "cpu": platform.processor(),
                       "cores": os.cpu_count()}, "tools": flows.tool_versions(), "rows": rows,
           "table": table(rows)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    md = (f"# Spiking look-up tables vs the TNN column (GunPoint)\n\n"
          f"`python benchmarks/bench_lut.py --tables {args.tables}"
          f"{' --no-ice40' if args.no_ice40 else ''}` ({res['task']}).\n\n{res['table']}\n\n"
          f"{NOTES}\n")
    out.with_suffix(".md").write_text(md)
    print(res["table"])


if __name__ == "__main__":
    main()
