"""benchmarks/bench_place_cells.py on a reduced grid: every configuration is scored on
validation on every arena, only the chosen one on test; the choice follows the stated rule;
bad arguments are refused without an output file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_place_cells as B  # noqa: E402


def test_configurations_drop_moot_knobs_when_nothing_learns():
    cs = B.configurations({"train.epochs": [0, 1], "mu": [16, 64], "train.mu_search": [0],
                           "train.homeostasis": ["none"]})
    assert cs == [{"train.epochs": 0},
                  {"train.epochs": 1, "mu": 16, "train.mu_search": 0, "train.homeostasis": "none"},
                  {"train.epochs": 1, "mu": 64, "train.mu_search": 0, "train.homeostasis": "none"}]
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
    # two configurations x two arenas on validation; the chosen one alone on test, per arena
    assert len(val) == 4 and len(test) == 2
    assert sorted(ov[-2] for ov in test) == ["data.name=sargolini", "data.name=tanni"]
    # the chosen configuration learns, and it is the only one that saw the test split
    assert doc["chosen"]["config"]["train.epochs"] == 1
    assert all("train.epochs=1" in ov for ov in test)
    assert doc["best_without_learning_val"]["config"]["train.epochs"] == 0
    assert doc["arenas"] == ["sargolini", "tanni"]
    for r in doc["rows"] + [{"config": doc["chosen"]["config"], **doc["chosen"]["test"]}]:
        assert sorted(r["arenas"]) == ["sargolini", "tanni"]
        for a in r["arenas"].values():
            for run in a["runs"]:
                want = (run["median_cm"] <= run["chance_cm"] / 3
                        and run["median_cm"] <= 1.5 * run["kmeans_cm"]
                        and run["share"] <= 3 and run["decoded"] >= 0.99)
                assert run["passes"] == want
                assert 0 < run["median_cm"] < run["chance_cm"]
            assert a["passes"] == sum(x["passes"] for x in a["runs"])
            assert a["mean_over_kmeans"] == pytest.approx(
                a["runs"][0]["median_cm"] / a["runs"][0]["kmeans_cm"], abs=1e-4)
        assert r["passes"] == sum(a["passes"] for a in r["arenas"].values())
    # the tanni arena is 3.5 m x 2.5 m: its chance error is several times sargolini's
    ch = doc["chosen"]["test"]["arenas"]
    assert ch["tanni"]["runs"][0]["chance_cm"] > 2.5 * ch["sargolini"]["runs"][0]["chance_cm"]
    assert sum(doc["passes_histogram"].values()) == 2
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_ranking_prefers_passes_then_lower_error():
    rows = [{"passes": 1, "mean_over_kmeans": 0.5}, {"passes": 2, "mean_over_kmeans": 0.9},
            {"passes": 2, "mean_over_kmeans": 0.8}]
    assert [r["mean_over_kmeans"] for r in B.rank(rows)] == [0.8, 0.9, 0.5]


@pytest.mark.parametrize("args", [["--seeds", "a"], ["--seeds", "-1"], ["--arenas", "moon"],
                                  ["--arenas", ","]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
