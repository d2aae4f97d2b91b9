"""Design-space exploration: [dse] validation, cost forecast, Pareto utilities, a real Dask
LocalCluster on a real SQLite study, two processes sharing one study, and SIGKILL + --resume.

The end-to-end tests use ItalyPowerDemand (p = 24) with 1 training epoch. The concurrency
and crash tests skip synthesis (objectives from training and the HDL plan) so that they are
about the study machinery, not Yosys; the LocalCluster test synthesizes (generic).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neutnngen import config as cfgmod
from neutnngen.dse import forecast as fc
from neutnngen.dse import spec as specmod
from neutnngen.dse.evaluate import command as repro_command
from neutnngen.dse.pareto import dominates, front
from neutnngen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "experiment": {"name": "tdse", "seed": 0},
    "data": {"name": "ItalyPowerDemand"},
    "network": {"neurons": 2},
    "train": {"epochs": 1},
    "synth": {"targets": ["generic"]},
}


def _d(**dse) -> dict:
    d = json.loads(json.dumps(BASE))
    d["dse"] = {"params": {"network.neurons": [2, 3]},
                "objectives": {"metrics.test.rand_index": "maximize"}, **dse}
    return d


def _err(d: dict) -> ConfigError:
    with pytest.raises(ConfigError) as ei:
        specmod.from_dict(d)
    return ei.value


# ------------------------------------------------------------------------------ config
def test_spec_parses_params_objectives_constraints():
    d = _d(sampler="random", trials=7, constraints=["synth.generic.transistors <= 5e4"])
    d["dse"]["params"] = {"network": {"theta": {"low": 4, "high": 40, "step": 4}},
                          "hdl.weights": ["hardwired", "register"],
                          "data.clip": {"low": 0.5, "high": 4.0, "log": True},
                          "synth.targets": [["generic"], ["generic", "ice40"]]}
    d["dse"]["objectives"] = {"metrics": {"test": {"rand_index": "maximize"}},
                              "synth.ice40.luts": "minimize"}
    s = specmod.from_dict(d)
    assert [p.key for p in s.params] == ["network.theta", "hdl.weights", "data.clip",
                                         "synth.targets"]
    assert s.params[0].grid() == list(range(4, 41, 4))
    assert s.objectives == (("metrics.test.rand_index", "maximize"), ("synth.ice40.luts", "minimize"))
    assert s.constraints[0].path == "synth.generic.transistors" and s.constraints[0].bound == 5e4
    assert s.trials == 7 and s.sampler == "random"
    cfg = s.trial_config({"network.theta": 8, "hdl.weights": "register", "data.clip": 1.5,
                          "synth.targets": "generic,ice40"})
    assert cfg.network.theta == 8 and cfg.synth.targets == ("generic", "ice40")
    grid = specmod.from_dict(_d(sampler="grid"))
    assert grid.trials == 2  # default: the grid size


@pytest.mark.parametrize("mutate, key, words", [
    (lambda d: d["dse"].update(bogus=1), "dse.bogus", ["accepted in [dse]", "trials"]),
    (lambda d: d["dse"].update(sampler="tpe"), "dse.sampler", ["'tpe'", "grid, random, nsga2"]),
    (lambda d: d["dse"].update(trials=0), "dse.trials", ["0", "integer >= 1"]),
    (lambda d: d["dse"].update(timeout_s=-1), "dse.timeout_s", ["-1", ">= 0"]),
    (lambda d: d["dse"].update(storage="not a url"), "dse.storage", ["not a url", "SQLAlchemy"]),
    (lambda d: d["dse"].update(screen="maybe"), "dse.screen", ["maybe", "none, forecast"]),
    (lambda d: d["dse"]["params"].update({"network.nerons": [1]}), "dse.params.network.nerons",
     ["unknown config key", "network.nerons"]),
    (lambda d: d["dse"]["params"].update({"hdl.weights": ["hardwired", "learnt"]}),
     "dse.params.hdl.weights", ["'learnt'", "hardwired, register"]),
    (lambda d: d["dse"]["params"].update({"network.timeres": {"low": 2, "high": 12}}),
     "dse.params.network.timeres", ["12", "1..8"]),
    (lambda d: d["dse"]["params"].update({"network.wres": {"low": 4, "high": 2}}),
     "dse.params.network.wres", ["low=4 > high=2"]),
    (lambda d: d["dse"]["params"].update({"network.wres": {"low": 2, "hi": 4}}),
     "dse.params.network.wres", ["'hi'", "low, high, step, log"]),
    (lambda d: d["dse"]["params"].update({"hdl.weights": {"low": 1, "high": 2}}),
     "dse.params.hdl.weights", ["not numeric", "list of choices"]),
    (lambda d: d["dse"]["params"].update({"network.wres": {"low": 2.5, "high": 4}}),
     "dse.params.network.wres.low", ["2.5", "integer"]),
    (lambda d: d["dse"]["objectives"].update({"synth.generic.cells": "smallest"}),
     "dse.objectives.synth.generic.cells", ["'smallest'", "maximize, minimize"]),
    (lambda d: d["dse"]["objectives"].update({"synth.ice40.fmax_mhz": "maximize"}),
     "dse.objectives.synth.ice40.fmax_mhz", ["'ice40'", "generic"]),
    (lambda d: d["dse"]["objectives"].update({"score": "maximize"}), "dse.objectives.score",
     ["dotted path"]),
    (lambda d: d["dse"]["objectives"].update({"results.x": "maximize"}), "dse.objectives.results.x",
     ["accepted roots", "metrics"]),
    (lambda d: d["dse"].update(constraints=["synth.generic.cells <= __import__('os')"]),
     "dse.constraints[0]", ["PATH OP NUMBER", "<="]),
    (lambda d: d["dse"].update(constraints="synth.generic.cells <= 3"), "dse.constraints",
     ["list of strings"]),
    (lambda d: d["dse"].update(sampler="grid", params={"data.clip": {"low": 1.0, "high": 2.0}}),
     "dse.params.data.clip", ["grid sampler needs choices"]),
    (lambda d: d["dse"].update(sampler="grid", trials=5), "dse.trials", ["5", "grid", "2"]),
    (lambda d: d.pop("dse"), "dse", ["no [dse] table"]),
    (lambda d: d["dse"].pop("objectives"), "dse.objectives", ["missing"]),
    (lambda d: d.update(network={"neurons": -1}), "dse.params.network.neurons", []),
])
def test_spec_errors_name_key_value_and_accepted(mutate, key, words):
    d = _d()
    mutate(d)
    if key == "dse.params.network.neurons":  # a bad *base* config is the config's own error
        with pytest.raises(ConfigError) as ei:
            specmod.from_dict(d)
        assert ei.value.path == "network.neurons"
        return
    e = _err(d)
    assert e.path == key, (e.path, str(e))
    for w in words:
        assert w in str(e), (w, str(e))


def test_validation_objective_needs_a_validation_split_in_every_trial():
    """metrics.val (a seeded split carved from the training data) is an objective only when
    every trial holds one out: data.validation > 0 in the base, and no data.validation
    parameter that reaches 0."""
    obj = {"metrics.val.adjusted_rand_index": "maximize"}
    e = _err(_d(objectives=obj))
    assert e.path == "dse.objectives.metrics.val.adjusted_rand_index"
    assert "data.validation > 0" in str(e)
    d = _d(objectives=obj)
    d["data"]["validation"] = 0.3
    s = specmod.from_dict(d)
    assert s.objectives == (("metrics.val.adjusted_rand_index", "maximize"),)
    d["dse"]["params"]["data.validation"] = [0.0, 0.3]
    assert "data.validation > 0" in str(_err(d))
    d["dse"]["params"]["data.validation"] = {"low": 0.2, "high": 0.4}
    assert specmod.from_dict(d).objectives[0][0] == "metrics.val.adjusted_rand_index"
    d["dse"]["objectives"] = {"metrics.valid.error": "minimize"}
    assert "train, val" in str(_err(d))


def test_constraints_are_parsed_without_eval():
    c = specmod.parse_constraint("synth.ice40.luts <= 7680")
    assert (c.path, c.op, c.bound) == ("synth.ice40.luts", "<=", 7680.0)
    assert c.ok(7680) and not c.ok(7681) and c.violation(7700) == 20
    assert specmod.parse_constraint("metrics.test.rand_index>0.6").violation(0.6) > 0
    for bad in ("a.b <= 1; import os", "a.b <== 1", "a.b <= x", "1 <= a.b", "a.b"):
        with pytest.raises(ConfigError):
            specmod.parse_constraint(bad)


def test_load_reads_dse_table_and_overrides(tmp_path):
    s = specmod.load(ROOT / "examples" / "dse_ucr.toml", ["dse.trials=5", "train.epochs=1"])
    assert s.trials == 5 and s.base.train.epochs == 1 and s.base.data.name == "ItalyPowerDemand"
    assert {p for p, _ in s.objectives} == {"metrics.test.rand_index", "synth.generic.transistors",
                                            "hdl.latency_cycles"}
    full = specmod.load(ROOT / "examples" / "dse_ucr.toml")
    assert full.trials >= 30
    # the example whose model learns: ARI on ArrowHead, architectures explored
    ah = specmod.load(ROOT / "examples" / "dse_arrowhead.toml")
    assert ah.base.data.name == "ArrowHead" and ah.base.train.rule == "targeted"
    # picked on a validation split carved from the training series; test only reported
    assert "metrics.val.adjusted_rand_index" in {p for p, _ in ah.objectives}
    assert ah.base.data.validation > 0
    assert "hdl.architecture" in {p.key for p in ah.params}


def test_reproduction_command_round_trips():
    params = {"network.neurons": 3, "hdl.weights": "register", "data.clip": 1.5,
              "synth.targets": "generic,ice40", "data.posneg": True, "experiment.name": "true"}
    cmd = repro_command("out/base.toml", params, "out/trials/abc")
    import shlex

    argv = shlex.split(cmd)
    assert argv[:3] == ["neutnngen", "run", "out/base.toml"] and argv[-2:] == ["--out", "out/trials/abc"]
    sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    cfg = cfgmod.load(None, sets)
    assert cfg.network.neurons == 3 and cfg.hdl.weights == "register" and cfg.data.clip == 1.5
    assert cfg.synth.targets == ("generic", "ice40") and cfg.data.posneg is True
    assert cfg.experiment.name == "true"


# ------------------------------------------------------------------------------ pareto
def test_pareto_front():
    dirs = ["maximize", "minimize"]
    pts = [[0.9, 100], [0.8, 50], [0.85, 120], [0.9, 100], [0.7, 50], [0.95, 300]]
    assert dominates([0.9, 100], [0.85, 120], dirs)
    assert not dominates([0.9, 100], [0.9, 100], dirs)
    assert front(pts, dirs) == [0, 1, 5]


# ------------------------------------------------------------------------------ forecast
def _synthetic(n: int, rng, mode: str) -> list[dict]:
    pts = []
    for i in range(n):
        f = {"weights": mode, "inputs": int(rng.integers(16, 200)), "neurons": int(rng.integers(2, 9)),
             "timeres": int(rng.integers(2, 5)), "wres": int(rng.integers(2, 5)),
             "passes": int(rng.integers(3, 6)), "layers": 1}
        f["segments"] = f["neurons"] * int(rng.integers(1, 3))
        f["synapses"] = f["segments"] * f["inputs"]
        f["weight_bits"] = f["synapses"] * f["wres"]
        f["seg_acc"] = f["segments"] * int(rng.integers(6, 11))
        f.update(outputs=f["neurons"], columns=1, lines=f["inputs"], wave_cycles=1, latency_cycles=1)
        pts.append({"key": i, "features": f})
    return pts


@pytest.mark.parametrize("mode", ["hardwired", "register"])
def test_forecast_recovers_a_known_linear_cost(mode):
    rng = np.random.default_rng(1)
    coef = np.array([300.0, 6.0, 20.0, 40.0, 3.0, 15.0])  # over fc.TERMS
    pts = _synthetic(30, rng, mode)
    for p in pts:
        p["measured"] = {"synth.generic.transistors": float(fc.design_row(p["features"]) @ coef)}
    model = fc.fit(pts)
    assert model.mape["synth.generic.transistors"] < 1e-6
    assert np.allclose(model.models[(mode, "synth.generic.transistors")].beta, coef, rtol=1e-6)
    new = _synthetic(5, np.random.default_rng(7), mode)
    for p in new:
        want = float(fc.design_row(p["features"]) @ coef)
        assert model.predict(p["features"])["synth.generic.transistors"] == pytest.approx(want)
    # 5 % multiplicative noise: the held-out error sees it (and only it)
    for p in pts:
        p["measured"]["synth.generic.transistors"] *= 1 + 0.05 * rng.standard_normal()
    noisy = fc.fit(pts)
    assert 0.02 < noisy.mape["synth.generic.transistors"] < 0.08
    assert len(noisy.loo) == 30 and model.to_dict()["points"] == {mode: 30}


def test_forecast_uses_fewer_terms_with_few_points():
    assert fc.terms_for(40) == fc.TERMS
    assert fc.terms_for(6) == fc.REDUCED
    assert fc.terms_for(3) == fc.MINIMAL
    assert fc.terms_for(2) is None
    rng = np.random.default_rng(3)
    pts = _synthetic(6, rng, "register")
    for p in pts:
        p["measured"] = {"synth.generic.cells": 50.0 + 2.0 * p["features"]["weight_bits"]}
    m = fc.fit(pts)
    assert m.models[("register", "synth.generic.cells")].terms == fc.REDUCED
    assert m.mape["synth.generic.cells"] < 1e-6
    assert not m.ready("hardwired", 3) and m.ready("register", 6) and not m.ready("register", 8)


def test_features_of_a_real_initial_network():
    from neutnngen import driver

    cfg = cfgmod.from_dict({**BASE, "network": {"neurons": 3, "segments": 2, "wres": 2}})
    data = driver.prepare_data(cfg)
    net = driver.init_network(cfg, data)
    f = fc.features(net, "register")
    assert f["inputs"] == 24 and f["neurons"] == 3 and f["segments"] == 6
    assert f["synapses"] == 6 * 24 and f["weight_bits"] == 6 * 24 * 2 and f["wres"] == 2
    from neutnngen.hdl.plan import make_plan

    assert f["latency_cycles"] == make_plan(net, "register").LATENCY


# ------------------------------------------------------------------------------ end to end
def _write(path: Path, d: dict) -> Path:
    lines = []
    for sec, table in d.items():
        if sec == "dse":
            continue
        lines.append(f"[{sec}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    dse = d["dse"]
    lines.append("[dse]")
    for k, v in dse.items():
        if k not in ("params", "objectives"):
            lines.append(f"{k} = {json.dumps(v)}")
    lines.append("[dse.params]")
    lines += [f"{json.dumps(k)} = {json.dumps(v) if isinstance(v, list) else _inline(v)}"
              for k, v in dse["params"].items()]
    lines.append("[dse.objectives]")
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in dse["objectives"].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _inline(v: dict) -> str:
    return "{" + ", ".join(f"{k} = {json.dumps(x)}" for k, x in v.items()) + "}"


def _nosynth(trials: int, **kw) -> dict:
    """A space whose trials train (1 epoch) and compile but do not synthesize (~1 s each)."""
    d = json.loads(json.dumps(BASE))
    d["synth"] = {"targets": []}
    d["dse"] = {"trials": trials, "sampler": "random", "seed": 0,
                "params": {"network.theta": {"low": 6, "high": 200},
                           "network.neurons": [2, 3]},
                "objectives": {"metrics.test.rand_index": "maximize",
                               "hdl.latency_cycles": "minimize"}, **kw}
    return d


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "neutnngen.cli", "dse", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=ROOT, **kw)


def _study(url: str, name: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=url)


@pytest.mark.slow
@pytest.mark.requires_yosys
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_local_cluster_sqlite_study_front_failures_and_cache(tmp_path):
    from neutnngen.dse import run_study

    d = _d(sampler="grid", seed=0)
    # rstdp needs one neuron per class: (rstdp, 3 neurons) fails inside the worker
    d["dse"]["params"] = {"network.neurons": [2, 3], "train.rule": ["stdp", "rstdp"]}
    d["dse"]["objectives"] = {"metrics.test.rand_index": "maximize",
                              "synth.generic.transistors": "minimize"}
    d["dse"]["constraints"] = ["synth.generic.transistors <= 1000000"]
    spec = specmod.from_dict(d)
    out = tmp_path / "study"
    summary = run_study(spec, out, workers=2, show=False)
    j = json.loads((out / "dse.json").read_text())
    assert j["schema"] == "neutnngen-dse/1" and j["counts"]["finished"] == 4
    assert {t["status"] for t in j["trials"]} == {"ok", "fail"}
    bad = [t for t in j["trials"] if t["status"] == "fail"]
    assert len(bad) == 1 and bad[0]["params"] == {"network.neurons": 3, "train.rule": "rstdp"}
    assert "R-STDP" in bad[0]["error"]
    assert j["front"] and all(set(p) >= {"objectives", "params", "command"} for p in j["front"])
    for t in j["trials"]:
        if t["status"] == "ok":
            assert t["digest"] and (out / "trials" / t["digest"] / "result.json").exists()
            assert t["command"].startswith("neutnngen run ") and t["duration_s"] > 0
            assert t["feasible"] is True
    assert summary["throughput"]["session"]["workers"] == 2
    assert (out / "dse.md").exists() and "Pareto front" in (out / "dse.html").read_text()
    assert (out / "plots" / "dse_pairs.png").exists() and (out / "plots" / "dse_parallel.png").exists()
    # the same configs in another study of the same directory: every result from the cache
    d2 = json.loads(json.dumps(d))
    d2["dse"].update(study="again")
    d2["dse"]["params"]["train.rule"] = ["stdp"]
    s2 = run_study(specmod.from_dict(d2), out, workers=2, show=False)
    sess = s2["throughput"]["session"]
    # no rework: both configs come from the cache (counts, not wall time: a loaded machine
    # must not fail this test)
    assert sess["cached"] == 2 and sess["evaluated"] == 2 and sess["failed"] == 0
    assert {t["digest"] for t in s2["trials"]} <= {t["digest"] for t in j["trials"]}
    # without --resume an existing study is not silently extended
    with pytest.raises(ConfigError, match="--resume"):
        run_study(spec, out, workers=1, show=False)


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    cfg = _write(tmp_path / "space.toml", _nosynth(8, storage=url, study="shared"))
    procs = [_cli(str(cfg), "--out", str(tmp_path / f"p{i}"), "--resume", "--workers", "1")
             for i in range(2)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    study = _study(url, "shared")
    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state.is_finished()]
    told = [json.loads((tmp_path / f"p{i}" / "dse.json").read_text())["throughput"]["session"]["told"]
            for i in range(2)]
    assert all(told), (told, outs)  # both processes contributed
    # no trial lost: every finished trial was told by exactly one of them, none twice
    assert sorted(told[0] + told[1]) == sorted(t.number for t in finished)
    assert not set(told[0]) & set(told[1])
    assert 8 <= len(finished) <= 9  # the target, plus at most one ask racing the last tell
    assert all(t.state.name == "COMPLETE" for t in finished)
    assert len({t.number for t in trials}) == len(trials)
    params = [tuple(sorted(t.params.items())) for t in finished]
    assert len(set(params)) == len(params)  # per-trial seeding: no repeated draws


def test_stale_trials_are_retried_only_with_their_whole_parameter_set(tmp_path):
    import optuna
    from optuna.distributions import IntDistribution
    from optuna.trial import TrialState

    from neutnngen.dse.trials import A_OWNER, Owner, fail_stale

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    st, me = study._storage, Owner()
    dists = {"a": IntDistribution(0, 9), "b": IntDistribution(0, 9)}
    dead = f"{me.host}:{2**22 + 12345}::deadbeef0000"  # a pid above any kernel's pid_max

    def running(params: dict, owner: str) -> int:
        tid = st.create_new_trial(study._study_id)
        for k, v in params.items():
            st.set_trial_param(tid, k, v, dists[k])
        st.set_trial_user_attr(tid, A_OWNER, owner)
        return st.get_trial_number_from_id(tid)

    whole, part, empty = running({"a": 1, "b": 2}, dead), running({"a": 3}, dead), running({}, dead)
    mine = running({"a": 4, "b": 5}, me.tag)
    logs = []
    assert fail_stale(study, me, log=logs.append, names=dists) == [whole, part, empty]
    by_n = {t.number: t for t in study.get_trials(deepcopy=False)}
    assert by_n[mine].state == TrialState.RUNNING  # this process's own trial is live
    assert all(by_n[n].state == TrialState.FAIL for n in (whole, part, empty))
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert [(t.system_attrs["fixed_params"], t.user_attrs["dse_retry_of"])
            for t in waiting] == [({"a": 1, "b": 2}, whole)]
    assert sum("not asked again" in m for m in logs) == 2, logs


@pytest.mark.slow
def test_sigkill_then_resume_keeps_finished_trials(tmp_path):
    out = tmp_path / "study"
    cfg = _write(tmp_path / "space.toml", _nosynth(8, study="crash"))
    url = f"sqlite:///{out.resolve() / 'study.db'}"
    p = _cli(str(cfg), "--out", str(out), "--workers", "2", start_new_session=True)
    from optuna.trial import TrialState

    before = {}
    deadline = time.time() + 180
    try:
        while time.time() < deadline:
            time.sleep(0.5)
            if not (out / "study.db").exists():
                continue
            try:
                s = _study(url, "crash")
                done = s.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            except Exception:
                continue
            if len(done) >= 3:
                break
        assert p.poll() is None, p.communicate()[0]
        os.kill(p.pid, signal.SIGKILL)  # the main process only, mid-study
        p.wait(timeout=30)
    finally:
        time.sleep(1)
        try:  # then whatever it left (Dask workers) is a crashed machine's leftover
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate(timeout=60)  # closes the pipe
    s = _study(url, "crash")
    before = {t.number: (t.values, t.params) for t in s.get_trials(deepcopy=False)
              if t.state == TrialState.COMPLETE}
    running = [t.number for t in s.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    drawn = [t.number for t in s.get_trials(deepcopy=False) if t.state == TrialState.RUNNING
             and set(t.params) == {"network.theta", "network.neurons"}]
    assert 3 <= len(before) < 8
    r = _cli(str(cfg), "--out", str(out), "--resume", "--workers", "2")
    log = r.communicate(timeout=240)[0]
    assert r.returncode == 0, log
    s = _study(url, "crash")
    trials = s.get_trials(deepcopy=False)
    after = {t.number: (t.values, t.params) for t in trials if t.state == TrialState.COMPLETE}
    for n, v in before.items():  # nothing finished before the kill is lost or changed
        assert after[n] == v
    stale = [t for t in trials if t.state == TrialState.FAIL]
    assert sorted(t.number for t in stale) == sorted(running)
    assert all(t.user_attrs.get("dse_stale") for t in stale)
    assert len(after) == 8  # the target counts finished, non-stale trials
    retried = {t.user_attrs.get("dse_retry_of") for t in trials} - {None}
    assert retried == set(drawn)  # the killed trials were asked again (a trial killed
    # inside study.ask, before its parameters were all drawn, names no point to retry)
    j = json.loads((out / "dse.json").read_text())
    assert j["counts"]["finished"] == 8 and j["counts"]["stale"] == len(running)
    assert j["front"]
