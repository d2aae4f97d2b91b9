"""benchmarks/bench_ucr_search.py on a reduced size: validation only, wins counted from the
per-set means, the seeded draws reproducible, bad arguments refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ucr_search as B  # noqa: E402


def test_search_scores_on_validation_and_counts_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "UCR", ["GunPoint", "ArrowHead"])
    monkeypatch.setattr(B, "STRUCTURES", {"snl": ["network.response=snl"]})
    calls = []
    real = B.run_one

    def spy(path, ov):
        calls.append(ov)
        return real(path, [*ov, "train.epochs=2"])

    monkeypatch.setattr(B, "run_one", spy)
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


@pytest.mark.parametrize("args", [["--seeds", "a,b"], ["--configs", "-1"], ["--seeds", "-1"]])
def test_bad_arguments_are_refused(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        B.main([*args, "--out", str(tmp_path / "x.json")])
    assert e.value.code == 2
    assert "expected" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
