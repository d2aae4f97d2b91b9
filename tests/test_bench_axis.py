"""benchmarks/bench_axis.py on a reduced size: a small trained-shape network, two beat
widths, one architecture; the cycles per volley follow the beats and every packet checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_axis as B  # noqa: E402
from test_hdl import one_layer, rand_column  # noqa: E402

from neutnngen.ir import save  # noqa: E402


@pytest.mark.requires_sim
@pytest.mark.requires_yosys
def test_bench_axis_reduced(tmp_path):
    net = one_layer(rand_column(np.random.default_rng(2), 20, 3, frac=(0.2, 0.4)))
    save(net, tmp_path / "net.json")
    out = tmp_path / "axis.json"
    assert B.main(["--ir", str(tmp_path / "net.json"), "--archs", "parallel",
                   "--widths", "1,8", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["axis_buffer"], r["axis_bytes"], r["in_beats"], r["tdata_bits"])
            for r in rows] == [(False, 1, 20, 8), (False, 8, 3, 64), (True, 1, 20, 8),
                               (True, 8, 3, 64)]
    for r in rows:
        assert r["mismatches"] == 0
        want = (max(r["in_beats"], r["wave_cycles"]) + 1 if r["axis_buffer"]
                else r["in_beats"] + r["wave_cycles"])
        assert r["cycles_per_volley"] == want
        assert r["wrapper_transistors"] == r["transistors"] - r["core_transistors"] > 0
    assert rows[2]["flip_flops"] > rows[0]["flip_flops"]  # the buffer's second register
