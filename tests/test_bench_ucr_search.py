"""benchmarks/bench_ucr_search.py on a reduced size: validation only, wins counted from the
per-set means, the seeded draws reproducible, bad arguments refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ucr_search as B  # noqa: E402


def _spy_run_one(monkeypatch, epochs: int) -> list[list[str]]:
    """Record every ``run_one`` call's overrides (and train ``epochs`` to keep it short)."""
    calls: list[list[str]] = []
    real = B.run_one

    def spy(path, ov):
        calls.append(ov)
        return real(path, [*ov, f"train.epochs={epochs}"])

    monkeypatch.setattr(B, "run_one", spy)
    return calls


def test_search_scores_on_validation_and_counts_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "UCR", ["GunPoint", "ArrowHead"])
    monkeypatch.setattr(B, "STRUCTURES", {"snl": ["network.response=snl"]})
    calls = _spy_run_one(monkeypatch, epochs=2)
    out = tmp_path / "s.json"
    assert B.main(["--configs", "1", "--seeds", "0", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["rows"]] == ["base", "snl", "random 0"]
    assert all(f"data.validation={B.VAL}" in ov for ov in calls) and len(calls) == 6
    for r in doc["rows"]:
        assert set(r["sets"]) == {"GunPoint", "ArrowHead"}
        assert r["wins"] == sum(s["val_ari"] >= s["kmeans_val_ari"] for s in r["sets"].values())
    assert doc["summary"]["configurations"] == 3
    assert sum(doc["summary"]["sets_won"].values()) == 3
    # the random draws are seeded: the same --seed draws the same overrides
    first = doc["rows"][2]["overrides"]
    calls.clear()
    B.main(["--configs", "1", "--seeds", "0", "--out", str(out)])
    assert json.loads(out.read_text())["rows"][2]["overrides"] == first


@pytest.mark.parametrize("args", [["--seeds", "a,b"], ["--configs", "-1"], ["--seeds", "-1"],
                                  ["--fresh", "9-5"], ["--fresh", "x"]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_code_runs_every_configuration_in_that_code_and_draws_its_knobs(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "UCR", ["GunPoint"])
    monkeypatch.setattr(B, "STRUCTURES", {"posneg code": ["data.posneg=true"],
                                          "snl": ["network.response=snl"]})
    calls = _spy_run_one(monkeypatch, epochs=1)
    out = tmp_path / "g.json"
    assert B.main(["--configs", "1", "--seeds", "0", "--code", "grf3", "--fresh", "1-2",
                   "--fresh-min-wins", "0", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    # the posneg variant cannot run in a Gaussian-field code, so it is left out
    assert [r["name"] for r in doc["rows"]] == ["base", "snl", "random 0"]
    # three configurations on seed 0, then each again on the fresh seeds 1 and 2
    assert doc["code"] == "grf3" and doc["fresh_seeds"] == [1, 2] and len(calls) == 9
    assert all("data.grf=3" in ov for ov in calls)
    assert [sum(f"experiment.seed={k}" in c for c in calls) for k in range(3)] == [3, 3, 3]
    for r in doc["rows"]:
        assert r["fresh"]["wins"] == sum(s["val_ari"] >= s["kmeans_val_ari"]
                                         for s in r["fresh"]["sets"].values())
    assert doc["summary"]["fresh"]["rescored"] == 3
    assert doc["summary"]["fresh"]["best"] in {"base", "snl", "random 0"}
    drawn = doc["rows"][2]["overrides"]
    assert any(o.startswith("data.grf=") for o in drawn)
    assert any(o.startswith("data.grf_width=") for o in drawn)
    assert set(B.CODE_SPACE["grf3"]) <= set(doc["space"])


def test_seed_list():
    assert B.seed_list("5-8") == [5, 6, 7, 8] and B.seed_list("0,3") == [0, 3]
    assert B.seed_list("") == [] and B.seed_list("-1") == [-1]
