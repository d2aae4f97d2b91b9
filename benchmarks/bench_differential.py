"""Randomised differential campaign: seeded random learning networks, every implementation
against the reference interpreter, counted and written to JSON.

    .venv/bin/python benchmarks/bench_differential.py [--cases 300] [--seed 1000]
        [--out benchmarks/results/differential.json]

Each case (``tests/differential.py``: :func:`random_case`) is a one- or two-layer TNN with
every learning mechanism of docs/model.md §5 switched on or off at random (side-by-side
columns or a kernel layer), and its input stream. Checks per case: on-chip learning (Amaranth simulation; serial with the register and
the memory weight store, parallel), the hardwired designs of the learned network (serial,
parallel, pipelined), the AXI4-Stream top of the learned network under seeded
backpressure, the numba and torch trainers (two epochs) and the torch forward. A check is
``ok``, ``refused`` (the implementation rejects the network with a neutnngen error: counted,
with the messages) or a failure (listed with its seed and case). Exit status 1 if
any check failed. Reproduce one case: ``run_case(random_case(SEED))`` with ``tests/`` on
``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from differential import CHECKS, random_case, run_case  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1000, help="seed of the first case")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/differential.json")
    a = ap.parse_args(argv)
    if a.cases < 1 or a.seed < 0:
        ap.error(f"--cases {a.cases} --seed {a.seed}: expected cases >= 1 and seed >= 0")
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    counts = {c: Counter() for c in CHECKS}
    refusals: Counter[str] = Counter()
    failures: list[dict] = []
    coverage: dict[str, Counter] = {}
    t0 = time.monotonic()
    for seed in range(a.seed, a.seed + a.cases):
        case = random_case(seed)
        for k, v in case.info.items():
            if k.startswith("rule.") or k in ("layers", "columns", "kernel", "mode", "tie",
                                              "response", "mu_shift", "learning_layers"):
                key = str(v > 0 if k == "rule.w_norm" else v)  # budget on / off
                coverage.setdefault(k, Counter())[key] += 1
        for check, outcome in run_case(case).items():
            kind = outcome.split(":", 1)[0]
            counts[check][kind] += 1
            if kind == "refused":
                refusals[f"{check}: {outcome.split(':', 1)[1].strip()[:160]}"] += 1
            elif kind != "ok":
                failures.append({"seed": seed, "check": check, "outcome": outcome,
                                 "case": case.info})
        print(f"case {seed}: {sum(c['FAIL'] for c in counts.values())} failures so far",
              flush=True)
    doc = {
        "benchmark": "randomised differential campaign: every implementation vs the "
                     "interpreter on random learning networks",
        "command": "benchmarks/bench_differential.py " + " ".join(argv or sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cores": os.cpu_count()},
        "cases": a.cases, "first_seed": a.seed,
        "wall_s": round(time.monotonic() - t0, 1),
        "checks": {c: dict(sorted(v.items())) for c, v in counts.items()},
        "failures": failures,
        "refusals": dict(refusals.most_common()),
        "coverage": {k: dict(sorted(v.items())) for k, v in sorted(coverage.items())},
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"checks": doc["checks"], "failures": len(failures)}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
