"""Fuzz benchmark (#16): hypothesis-generated bad input for the IR reader and the config
loader, counted, written to JSON.

    .venv/bin/python benchmarks/bench_fuzz.py [--ir 10000] [--config 5000]
        [--out benchmarks/results/fuzz.json]

Every case must end in a valid object ("ok") or one of neutnngen's own errors ("error": a
clean one-line message at the CLI); anything else is a *crash* and is listed with its input.
IR cases: 70 % mutated documents read in memory (``from_dict``), 30 % (JSON bytes, NPZ
bytes) pairs read through files (``load``), the accepted networks also go through
``to_text`` and ``verify``. Config cases: raw tables plus ``--set`` overrides through
``from_dict``, the pipeline's static checks and a TOML round trip. Target: 0 crashes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import fuzzing  # noqa: E402


def _run(name: str, n: int, strategy, fn, seed: int) -> dict:
    counts: Counter[str] = Counter()
    crashes: list[dict] = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case):
        try:
            counts[fn(case)] += 1
        except Exception as e:  # noqa: BLE001 - a crash is the measurement
            counts["crash"] += 1
            if len(crashes) < 20:
                crashes.append({"error": f"{type(e).__name__}: {e}"[:500],
                                "where": traceback.format_exc().strip().splitlines()[-3][:300],
                                "input": repr(case)[:1500]})

    t0 = time.perf_counter()
    from hypothesis import seed as hseed

    hseed(seed)(prop)()
    return {"cases": sum(counts.values()), "ok": counts["ok"], "error": counts["error"],
            "crash": counts["crash"], "seconds": round(time.perf_counter() - t0, 1),
            "crashes": crashes, "name": name}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ir", type=int, default=10000, help="IR reader cases (default 10000)")
    ap.add_argument("--config", type=int, default=5000, help="config loader cases (default 5000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fuzz.json"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="neutnngen-fuzz-"))
    n_files = a.ir * 3 // 10
    runs = [
        _run("ir_documents", a.ir - n_files, fuzzing.mutated_documents(),
             lambda c: fuzzing.read_ir(*c), a.seed),
        _run("ir_files", n_files, fuzzing.file_pairs(),
             lambda c: fuzzing.read_ir_files(tmp, *c), a.seed),
        _run("config", a.config, st.tuples(fuzzing.config_tables(),
                                           st.lists(fuzzing.override_texts, max_size=3)),
             lambda c: fuzzing.load_config(*c), a.seed),
    ]
    doc = {
        "benchmark": "bad-input fuzz (hypothesis) of the IR reader and the config loader",
        "command": " ".join(["benchmarks/bench_fuzz.py", *sys.argv[1:]]),
        "python": platform.python_version(), "seed": a.seed,
        "ir_cases": sum(r["cases"] for r in runs[:2]), "config_cases": runs[2]["cases"],
        "crashes": sum(r["crash"] for r in runs), "runs": runs,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=2) + "\n")
    for r in runs:
        print(f"{r['name']}: {r['cases']} cases, {r['ok']} ok, {r['error']} clean errors, "
              f"{r['crash']} crashes ({r['seconds']} s)")
        for c in r["crashes"][:3]:
            print(f"  crash: {c['error']} at {c['where']}")
    print(f"wrote {a.out}")
    return 1 if doc["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
