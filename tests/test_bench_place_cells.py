"""benchmarks/bench_place_cells.py on a reduced grid: every configuration is scored on
validation, only the chosen one on test; the choice follows the stated rule; bad arguments
are refused without an output file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_place_cells as B  # noqa: E402


def test_configurations_drop_moot_knobs_when_nothing_learns():
    cs = B.configurations({"train.epochs": [0, 1], "mu": [16, 64],
                           "train.homeostasis": ["none"]})
    assert cs == [{"train.epochs": 0}, {"train.epochs": 1, "mu": 16, "train.homeostasis": "none"},
                  {"train.epochs": 1, "mu": 64, "train.homeostasis": "none"}]
    assert B.overrides({"mu": 16, "train.epochs": 1}) == [
        "train.mu_capture=16", "train.mu_minus=16", "train.mu_backoff=16", "train.epochs=1"]


def test_selection_on_validation_then_test_once(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "GRID", {"network.neurons": [12], "train.epochs": [0, 1],
                                    "network.w_init": ["data_segments_maximin"]})
    calls = []
    real = B.run_one

    def spy(path, ov):
        calls.append(ov)
        return real(path, ov)

    monkeypatch.setattr(B, "run_one", spy)
    out = tmp_path / "sel.json"
    assert B.main(["--seeds", "0", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    val = [ov for ov in calls if f"data.validation={B.VAL}" in ov]
    test = [ov for ov in calls if f"data.validation={B.VAL}" not in ov]
    assert len(val) == 2 and len(test) == 1
    # the chosen configuration learns, and it is the only one that saw the test split
    assert doc["chosen"]["config"]["train.epochs"] == 1
    assert "train.epochs=1" in test[0]
    assert doc["best_without_learning_val"]["config"]["train.epochs"] == 0
    for r in doc["rows"]:
        for run in r["runs"]:
            want = (run["median_cm"] <= run["chance_cm"] / 3
                    and run["median_cm"] <= 1.5 * run["kmeans_cm"]
                    and run["share"] <= 3 and run["decoded"] >= 0.99)
            assert run["passes"] == want
            assert 0 < run["median_cm"] < run["chance_cm"]
        assert r["passes"] == sum(x["passes"] for x in r["runs"])
    assert sum(doc["passes_histogram"].values()) == 2
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_ranking_prefers_passes_then_lower_error():
    rows = [{"passes": 1, "mean_median_cm": 5.0}, {"passes": 2, "mean_median_cm": 9.0},
            {"passes": 2, "mean_median_cm": 8.0}]
    assert [r["mean_median_cm"] for r in B.rank(rows)] == [8.0, 9.0, 5.0]


@pytest.mark.parametrize("args", [["--seeds", "a"], ["--seeds", "-1"]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
