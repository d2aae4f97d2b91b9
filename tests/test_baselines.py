"""Synthesis baselines of the checked-in reference designs (rtl/), per Yosys version.

An area or timing regression of the generator shows up here as a visible diff. Baselines are
stored per tool version in tests/baselines/synth-yosys-<version>.json; regenerate them with

    NEUTNNGEN_UPDATE_BASELINES=1 .venv/bin/python -m pytest tests/test_baselines.py

and commit the file (review the diff: it is the cost change). A Yosys version with no
baseline file fails with that instruction rather than passing silently.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from neutnngen import flows

ROOT = Path(__file__).resolve().parents[1]
BASE = Path(__file__).resolve().parent / "baselines"
DESIGNS = ["classic16x3", "classic16x3_register", "kernel2layer", "dendgate"]
# relative tolerances: counts are deterministic for one tool version; the slack absorbs
# harmless generator changes without hiding real regressions
TOL = {"cells": 0.03, "flip_flops": 0.0, "transistors": 0.03, "luts": 0.05, "fmax_mhz": 0.15}

pytestmark = pytest.mark.requires_yosys


def _yosys_version() -> str:
    m = re.search(r"Yosys (\d+\.\d+)", flows.tool_version("yosys"))
    return m.group(1) if m else "unknown"


def _measure(design: str) -> dict:
    v = (ROOT / "rtl" / design / f"{design}.v").read_text()
    g = flows.synth_generic(v, design)
    i = flows.synth_ice40(v, design, device="hx8k", freq_mhz=100)
    return {"cells": g.cells, "flip_flops": g.flip_flops, "transistors": g.transistors,
            "luts": i.luts, "fmax_mhz": round(i.fmax_mhz or 0.0, 1)}


def test_reference_designs_match_synthesis_baseline():
    path = BASE / f"synth-yosys-{_yosys_version()}.json"
    measured = {d: _measure(d) for d in DESIGNS}
    if os.environ.get("NEUTNNGEN_UPDATE_BASELINES"):
        path.write_text(json.dumps({"yosys": flows.tool_version("yosys"),
                                    "nextpnr_ice40": flows.tool_version("nextpnr-ice40"),
                                    "designs": measured}, indent=1, sort_keys=True) + "\n")
    if not path.exists():
        pytest.fail(f"no synthesis baseline for Yosys {_yosys_version()} ({path.name}); "
                    "create it with NEUTNNGEN_UPDATE_BASELINES=1 and review the numbers")
    base = json.loads(path.read_text())["designs"]
    problems = []
    for d in DESIGNS:
        for k, tol in TOL.items():
            want, got = base[d][k], measured[d][k]
            if k == "fmax_mhz":
                if got < want * (1 - tol):  # only a slowdown is a regression
                    problems.append(f"{d}.{k}: {got} < baseline {want} - {tol:.0%}")
            elif abs(got - want) > tol * max(want, 1):
                problems.append(f"{d}.{k}: {got} vs baseline {want} (tolerance {tol:.0%})")
    assert not problems, "synthesis drifted from the baseline:\n  " + "\n  ".join(problems)
    # sanity on the numbers themselves, independent of the baseline file
    assert measured["classic16x3_register"]["flip_flops"] > measured["classic16x3"]["flip_flops"]
    assert all(m["transistors"] > 0 and m["fmax_mhz"] > 0 for m in measured.values())
