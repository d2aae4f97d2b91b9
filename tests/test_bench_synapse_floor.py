"""benchmarks/bench_synapse_floor.py on a reduced size: the cut network is the original on
its first lines, the per-synapse Verilog floor synthesizes and orders its variants as
their logic says, and the whole script runs on a small learning column."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_synapse_floor as B  # noqa: E402
from test_hdl import rand_column, rand_volleys  # noqa: E402
from test_learn import learning, one_layer  # noqa: E402

from neutnngen.ir import Interpreter, save  # noqa: E402
from neutnngen.ir.nodes import NONE  # noqa: E402


def small(p=12):
    return learning(one_layer(rand_column(np.random.default_rng(5), p, 2)))


def test_cut_is_the_network_on_its_first_lines():
    net = small()
    sub = B.cut(net, 7)
    assert sub.inputs == 7 and sub.synapses == 2 * 7
    X = rand_volleys(np.random.default_rng(1), 60, 12)
    silent = X.copy()
    silent[:, 7:] = NONE  # silent lines add nothing to a ramp
    assert (Interpreter(sub).forward(X[:, :7]) == Interpreter(net).forward(silent)).all()


@pytest.mark.requires_yosys
def test_floor_variants_and_the_script(tmp_path):
    fl = B.floor_rows()
    learn = fl["learn"]
    assert learn["flip_flops"] == 6  # 3 weight bits, the capture flag, 2 level bits
    assert fl["learn, no level latches"]["flip_flops"] == 4
    assert fl["inference (register weight)"]["flip_flops"] == 3
    assert learn["transistors"] > fl["learn, no wload port"]["transistors"]
    assert learn["transistors"] > fl["learn, no level latches"]["transistors"] \
        > fl["learn, neither"]["transistors"] > fl["inference (register weight)"]["transistors"]
    assert learn["times_300"] == 300 * learn["transistors"]
    # the whole script on a 12-line learning column cut to 6 and 12 lines
    gp = tmp_path / "gp"
    (gp / "ir").mkdir(parents=True)
    save(small(), gp / "ir" / "initial.json")
    out = tmp_path / "floor.json"
    assert B.main(["--gunpoint", str(gp), "--lines", "6,12", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = doc["generator"]["rows"]
    assert [r["synapses"] for r in rows] == [12, 24]
    assert rows[1]["transistors"] > rows[0]["transistors"]
    slope = (rows[1]["transistors"] - rows[0]["transistors"]) / 12
    assert doc["generator"]["per_synapse"] == pytest.approx(slope, abs=0.1)
    assert doc["verdict"]["floor_300_synapses"] == learn["times_300"]
