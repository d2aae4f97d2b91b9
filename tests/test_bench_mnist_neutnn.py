"""benchmarks/bench_mnist_neutnn.py: the three steps (search and confirm on validation, test
once) on a reduced MNIST, the draws are seeded, the synapse budget decides what may be
chosen, and bad arguments are refused without writing anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_mnist_neutnn as B  # noqa: E402

QUICK = ["--set", "data.pool=4", "--set", "data.n_train=200", "--set", "data.n_test=100",
         "--set", "layers.0.epochs=1", "--set", "layers.1.epochs=1"]


def test_draws_are_seeded_and_overrides_quote_strings():
    assert B.draws(3, 1) == B.draws(3, 1) and B.draws(3, 1) != B.draws(3, 2)
    c = {"rf": (4, 2), "layers.0.column_inhibition": "kwta(3)", "layers.1.segments": 8}
    assert B.overrides(c) == ["layers.0.rfsize=4", "layers.0.stride=2",
                              'layers.0.column_inhibition="kwta(3)"', "layers.1.segments=8"]


def test_benchmark_steps_on_a_reduced_set(tmp_path):
    out = tmp_path / "m.json"
    assert B.main([*QUICK, "--configs", "2", "--confirm", "1", "--seeds", "1",
                   "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["config"] for r in doc["search"]][0] == {} and len(doc["search"]) == 3
    # step 2: the example and the best draw of step 1, on the fresh seed
    best = min(doc["search"][1:], key=lambda r: r["val_error"])
    assert [r["config"] for r in doc["confirm"]] == [{}, best["config"]]
    assert all(len(r["val_errors"]) == 1 for r in doc["confirm"])
    assert doc["chosen"]["config"] == best["config"]
    for k in ("example", "chosen"):
        t = doc["test"][k]
        assert 0 <= t["test_error"] <= 1 and 0 <= t["logistic_test"] <= 1
    assert doc["test"]["chosen"]["synapses"] == best["synapses"]
    # a budget below every draw leaves nothing to choose: the example is still scored
    out2 = tmp_path / "m2.json"
    assert B.main([*QUICK, "--configs", "1", "--confirm", "1", "--seeds", "1",
                   "--max-synapses", "1", "--out", str(out2)]) == 0
    doc2 = json.loads(out2.read_text())
    assert doc2["chosen"] is None and list(doc2["test"]) == ["example"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m2.json"]


@pytest.mark.parametrize("args", [["--configs", "0"], ["--confirm", "0"], ["--seeds", "a"],
                                  ["--seeds", ","], ["--set", "layers.0.neurons=-3"]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*QUICK, "--configs", "1", *args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
