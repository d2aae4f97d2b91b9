"""The exploration engine: an Optuna study (sampler and persistent store) asked and told by
this process, trials evaluated on a Dask cluster.

Flow of :func:`run_study`:

1. open the study in its RDB storage (``sqlite:///OUT/study.db`` by default) by name; a study
   that already has trials needs ``resume=True``, and its stored search space must match;
2. mark *stale* trials FAIL (``dse_stale`` says why) and enqueue their parameters again: a
   RUNNING trial whose owner process is gone (same host: its pid no longer runs) or whose
   heartbeat is older than :data:`STALE_AFTER_S` (any host) was left by a killed process;
3. keep ``workers`` trials in flight: ``study.ask()``, resolve the config, (optionally) screen
   it with the cost forecast, else submit :func:`neutnngen.dse.evaluate.evaluate` to Dask;
4. as futures complete, record user attributes and ``study.tell()`` — each tell commits the
   trial to the storage at once, so killing this process loses no finished trial;
5. stop asking when the study has ``trials`` finished trials (COMPLETE, PRUNED = screened, or
   FAIL that is not stale), counting RUNNING trials of other processes sharing the study, or
   when ``timeout_s`` has passed; then write ``dse.json``, ``dse.md``, ``dse.html``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config as cfgmod
from ..driver import atomic_write_text
from ..errors import ConfigError
from . import forecast as fcmod
from .evaluate import cached, command, evaluate, get_path, number_at, trial_digest
from .pareto import best, front
from .spec import DseSpec

STALE_AFTER_S = 60.0
"""A RUNNING trial whose heartbeat is older than this is stale (crashed owner elsewhere)."""
HEARTBEAT_S = 10.0
OWNERLESS_GRACE_S = 5.0
"""A RUNNING trial without an owner (killed between ``ask`` and recording its owner, a
window of milliseconds) is stale once it is this old."""
POLL_S = 0.1

# user attributes of a trial (all JSON)
A_PARAMS, A_DIGEST, A_COMMAND, A_STATUS = "dse_params", "dse_digest", "dse_command", "dse_status"
A_DURATION, A_OBJ, A_CONS, A_FEAS = "dse_duration_s", "dse_objectives", "dse_constraints", "dse_feasible"
A_ERROR, A_SCREENED, A_FORECAST, A_FEATURES = "dse_error", "screened", "dse_forecast", "dse_features"
A_MEASURED, A_CACHED, A_OWNER, A_HEARTBEAT = "dse_measured", "dse_cached", "dse_owner", "dse_heartbeat"
A_STALE, A_RETRY, A_VIOL = "dse_stale", "dse_retry_of", "dse_constraint_violation"


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# ------------------------------------------------------------------------------ samplers
def _per_trial_random_sampler(seed: int):
    """Random sampling seeded by (seed, trial number, parameter): reproducible for a study,
    and processes sharing one study never repeat each other's draws (trial numbers are
    unique across them), unlike one RNG per process started from the same seed."""
    optuna = _optuna()
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    class PerTrialRandomSampler(optuna.samplers.BaseSampler):
        def __init__(self, seed: int):
            self._seed = int(seed)

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, name, dist):
            rng = np.random.default_rng([self._seed, trial.number, zlib.crc32(name.encode())])
            if isinstance(dist, CategoricalDistribution):
                return dist.choices[int(rng.integers(len(dist.choices)))]
            lo, hi = dist.low, dist.high
            if isinstance(dist, IntDistribution):
                if dist.log:
                    v = int(round(math.exp(rng.uniform(math.log(lo - 0.5), math.log(hi + 0.5)))))
                    return min(hi, max(lo, v))
                n = (hi - lo) // dist.step + 1
                return int(lo + dist.step * int(rng.integers(n)))
            assert isinstance(dist, FloatDistribution)
            if dist.step is not None:
                n = int(round((hi - lo) / dist.step)) + 1
                return float(min(hi, lo + dist.step * int(rng.integers(n))))
            if dist.log:
                return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            return float(rng.uniform(lo, hi))

    return PerTrialRandomSampler(seed)


def make_sampler(spec: DseSpec):
    optuna = _optuna()
    if spec.sampler == "grid":
        class AskTellGridSampler(optuna.samplers.GridSampler):
            # GridSampler.after_trial calls study.stop() when the grid is used up, which
            # raises outside study.optimize(); this engine counts trials itself.
            def after_trial(self, study, trial, state, values):
                return None

        return AskTellGridSampler(spec.grid_space(), seed=spec.seed)
    if spec.sampler == "random":
        return _per_trial_random_sampler(spec.seed)

    def constraints_func(t) -> list[float]:
        v = t.user_attrs.get(A_VIOL)
        return list(v) if v else [0.0] * len(spec.constraints)

    s = optuna.samplers.NSGAIISampler(
        population_size=spec.population, seed=spec.seed,
        constraints_func=constraints_func if spec.constraints else None)
    if hasattr(s, "_random_sampler"):  # the first generation: same per-trial seeding
        s._random_sampler = _per_trial_random_sampler(spec.seed)
    return s


def distributions(spec: DseSpec) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for p in spec.params:
        if p.kind == "choice":
            out[p.key] = CategoricalDistribution(list(p.choices))
        elif p.kind == "int":
            out[p.key] = IntDistribution(int(p.low), int(p.high), log=p.log,
                                         step=int(p.step or 1))
        else:
            out[p.key] = FloatDistribution(float(p.low), float(p.high), log=p.log,
                                           step=None if p.step is None else float(p.step))
    return out


# ------------------------------------------------------------------------------ storage
def default_storage(out: Path) -> str:
    return f"sqlite:///{out.resolve() / 'study.db'}"


def open_storage(url: str):
    optuna = _optuna()
    kw: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kw = {"connect_args": {"timeout": 120}}
    last: Exception | None = None
    for attempt in range(8):  # two processes creating the tables at once may collide
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kw)
        except Exception as e:  # noqa: BLE001
            last = e
            time.sleep(0.2 * (attempt + 1))
    raise ConfigError(f"dse.storage={url!r}: cannot open the study storage: {last}",
                      path="dse.storage")


def open_study(spec: DseSpec, storage_url: str, resume: bool):
    optuna = _optuna()
    storage = open_storage(storage_url)
    name = spec.study_name
    names = optuna.get_all_study_names(storage)
    if name in names and not resume:
        n = len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
        if n:
            raise ConfigError(f"study {name!r} in {storage_url} already has {n} trial(s); pass "
                              "--resume to continue it, or choose another --out or dse.study",
                              path="dse.study")
    study = None
    for attempt in range(8):
        try:
            study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True,
                                        directions=spec.directions, sampler=make_sampler(spec))
            break
        except Exception as e:  # noqa: BLE001 - concurrent creation: retry, then report
            if attempt == 7:
                raise ConfigError(f"cannot open study {name!r} in {storage_url}: {e}",
                                  path="dse.study") from None
            time.sleep(0.2 * (attempt + 1))
    assert study is not None
    space = spec.space_dict()
    stored = study.user_attrs.get("dse_space")
    if stored is None:
        study.set_user_attr("dse_space", space)
        study.set_user_attr("dse_constraints", [c.text for c in spec.constraints])
    elif stored != _jsonable(space):
        raise ConfigError(f"study {name!r} in {storage_url} was created with another search space "
                          f"or objectives ({stored}); this config has {space}. Use another --out "
                          "or dse.study", path="dse.params")
    if [d.name.lower() for d in study.directions] != spec.directions:
        raise ConfigError(f"study {name!r} has directions {study.directions}, the config "
                          f"{spec.directions}", path="dse.objectives")
    return study


def _jsonable(o: Any) -> Any:
    import json

    return json.loads(json.dumps(o))


# ------------------------------------------------------------------------------ ownership
def _proc_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            st = fh.read()
    except OSError:
        return None
    fields = st[st.rfind(")") + 2:].split()
    if fields and fields[0] == "Z":
        return None  # zombie: dead, not yet reaped
    return fields[19] if len(fields) > 19 else "?"


def _alive(pid: int, start: str) -> bool:
    if os.path.exists("/proc/self/stat"):
        s = _proc_start(pid)
        return s is not None and (start in ("", "?") or s == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Owner:
    host: str = field(default_factory=lambda: os.uname().nodename)
    pid: int = field(default_factory=os.getpid)
    start: str = field(default_factory=lambda: _proc_start(os.getpid()) or "")
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def tag(self) -> str:
        return f"{self.host}:{self.pid}:{self.start}:{self.token}"


def stale_reason(t, me: Owner, now: float, stale_after: float = STALE_AFTER_S) -> str | None:
    tag = t.user_attrs.get(A_OWNER)
    if tag:
        host, pid, start, token = (tag.split(":") + ["", "", "", ""])[:4]
        if token == me.token:
            return None
        if host == me.host and pid.isdigit() and not _alive(int(pid), start):
            return f"owner process {pid} on {host} is gone"
    elif t.datetime_start is not None and now - t.datetime_start.timestamp() > OWNERLESS_GRACE_S:
        return "no owner recorded (its process died right after asking it)"
    hb = t.user_attrs.get(A_HEARTBEAT)
    if hb is None and t.datetime_start is not None:
        hb = t.datetime_start.timestamp()
    if hb is not None and now - float(hb) > stale_after:
        return f"no heartbeat for {now - float(hb):.0f} s"
    return None


def wait_ownerless(study, limit: float = OWNERLESS_GRACE_S + 1) -> None:
    """Wait (at most ``limit`` s) until RUNNING trials without an owner are old enough to
    judge: a live process records its owner milliseconds after asking."""
    from optuna.trial import TrialState

    t_end = time.time() + limit
    while time.time() < t_end:
        young = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                 if not t.user_attrs.get(A_OWNER) and t.datetime_start is not None
                 and time.time() - t.datetime_start.timestamp() <= OWNERLESS_GRACE_S]
        if not young:
            return
        time.sleep(0.5)


def fail_stale(study, me: Owner, stale_after: float = STALE_AFTER_S, log=None) -> list[int]:
    """Mark stale RUNNING trials FAIL (``dse_stale``) and enqueue their params again."""
    optuna = _optuna()
    from optuna.trial import TrialState

    out = []
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = stale_reason(t, me, now, stale_after)
        if why is None:
            continue
        storage = study._storage
        try:
            storage.set_trial_user_attr(t._trial_id, A_STALE, why)
            storage.set_trial_user_attr(t._trial_id, A_STATUS, "stale")
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # finished or failed by someone else meanwhile
        out.append(t.number)
        if t.params:
            study.enqueue_trial(dict(t.params), user_attrs={A_RETRY: t.number})
        if log:
            log(f"trial {t.number}: stale ({why}); marked FAIL and asked again")
    return out


def counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    c = {"complete": 0, "screened": 0, "failed": 0, "stale": 0, "running": 0, "waiting": 0}
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE:
            c["complete"] += 1
        elif t.state == TrialState.PRUNED:
            c["screened"] += 1
        elif t.state == TrialState.FAIL:
            c["stale" if t.user_attrs.get(A_STALE) else "failed"] += 1
        elif t.state == TrialState.RUNNING:
            c["running"] += 1
        elif t.state == TrialState.WAITING:
            c["waiting"] += 1
    c["finished"] = c["complete"] + c["screened"] + c["failed"]
    return c


# ------------------------------------------------------------------------------ screening
class Screen:
    """Forecast screening (docs/dse.md, "Screening"): this process keeps the cost forecast
    fitted on the study's measured points and sends each candidate a
    :func:`~neutnngen.dse.forecast.screen_context` (models, held-out MAPE, current front);
    the worker trains the candidate, forecasts its cost from the initial IR and skips
    compile + synthesis when :func:`~neutnngen.dse.forecast.screen_decision` finds it
    dominated beyond the forecast error. Screened trials are told PRUNED with
    ``screened=True``, their measured quality and their forecast cost."""

    def __init__(self, spec: DseSpec):
        self.spec = spec
        self.model: fcmod.CostForecast | None = None

    def refit(self, points: list[dict]) -> None:
        self.model = fcmod.fit(points)

    def context(self, weights: str, done: list[dict]) -> dict | None:
        if self.model is None:
            return None
        return fcmod.screen_context(self.model, weights, self.spec, done)


# ------------------------------------------------------------------------------ engine
@dataclass
class Inflight:
    trial: Any
    params: dict
    digest: str
    t0: float
    forecast: dict | None = None


@dataclass
class Session:
    """What this process did (throughput of this run; the study may hold more)."""

    started: float = field(default_factory=time.time)
    told: list[int] = field(default_factory=list)
    evaluated: int = 0
    screened: int = 0
    failed: int = 0
    cached: int = 0
    workers: int = 0

    def to_dict(self) -> dict:
        wall = time.time() - self.started
        n = len(self.told)
        return {"wall_s": wall, "trials": n, "evaluated": self.evaluated,
                "synthesized": self.evaluated - self.cached,
                "screened": self.screened, "failed": self.failed, "cached": self.cached,
                "workers": self.workers,
                "trials_per_min": 60.0 * n / wall if wall > 0 else 0.0,
                "evaluated_per_min": 60.0 * self.evaluated / wall if wall > 0 else 0.0,
                "told": list(self.told)}


def _client(scheduler: str | None, workers: int):
    import distributed

    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f"cannot connect to the Dask scheduler {scheduler!r}: {e}",
                              path="--scheduler") from None
        return client, None
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    return distributed.Client(cluster), cluster


def _print(show: bool, text: str) -> None:
    if show:
        print(text, flush=True)


def completed_points(study, spec: DseSpec | None = None) -> tuple[list[dict], list[dict]]:
    """(feasible completed trials with objectives, measured forecast points)."""
    from optuna.trial import TrialState

    done, pts = [], []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        ua = t.user_attrs
        if ua.get(A_FEAS, True) and ua.get(A_OBJ):
            done.append({"number": t.number, "objectives": ua[A_OBJ]})
        if ua.get(A_FEATURES) and ua.get(A_MEASURED):
            pts.append({"key": t.number, "features": ua[A_FEATURES], "measured": ua[A_MEASURED]})
    return done, pts


def run_study(spec: DseSpec, out: str | Path, *, resume: bool = False, scheduler: str | None = None,
              screen: str | None = None, trials: int | None = None, workers: int | None = None,
              show: bool = True, client=None, config_path: str | None = None) -> dict:
    """Run (or continue) the study of ``spec``; returns the ``dse.json`` dict."""
    optuna = _optuna()
    from optuna.trial import TrialState

    from .report import write_reports

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    root = out / "trials"
    root.mkdir(exist_ok=True)
    base_toml = out / "base.toml"
    atomic_write_text(base_toml, cfgmod.to_toml(spec.base))
    cfg_path = config_path or str(base_toml)
    target = int(trials if trials is not None else spec.trials)
    if target < 1:
        raise ConfigError(f"--trials={target}: expected >= 1", path="dse.trials")
    screen = screen or spec.screen
    if screen not in ("none", "forecast"):
        raise ConfigError(f"--screen={screen!r}; accepted: none, forecast", path="dse.screen")
    storage_url = spec.storage or default_storage(out)
    study = open_study(spec, storage_url, resume)
    me = Owner()
    wait_ownerless(study)

    def log(text: str) -> None:
        _print(show, text)

    fail_stale(study, me, log=log)
    dists = distributions(spec)
    scr = Screen(spec) if screen == "forecast" else None
    sess = Session()

    c = counts(study)
    if c["finished"] >= target:
        log(f"study {spec.study_name!r} already has {c['finished']} finished trials "
            f"(target {target}); writing reports")
        return write_reports(study, spec, out, storage_url, target, sess, cfg_path)

    # A local cluster starts at the first evaluation that is not answered from the cache.
    own_cluster = None
    cl: dict[str, Any] = {"client": client}
    if client is not None or scheduler:
        if client is None:
            cl["client"], own_cluster = _client(scheduler, 0)
        nthreads = sum(cl["client"].nthreads().values()) or 1
        where = f"{nthreads} worker(s) on {cl['client'].scheduler.address}"
    else:
        nthreads = workers or spec.workers or os.cpu_count() or 1
        where = f"{nthreads} local worker(s)"
    sess.workers = nthreads
    log(f"study {spec.study_name!r} ({storage_url}): {c['finished']} finished of {target}; "
        f"{where}; sampler {spec.sampler}; screen {screen}")

    def get_client():
        nonlocal own_cluster
        if cl["client"] is None:
            cl["client"], own_cluster = _client(None, nthreads)
        return cl["client"]

    inflight: dict[str, tuple[Any, list[Inflight]]] = {}  # dask key -> (future, trials)
    done, pts = completed_points(study, spec)
    if scr is not None:
        scr.refit(pts)
    last_hb = time.time()
    deadline = time.time() + spec.timeout_s if spec.timeout_s else math.inf

    def n_own() -> int:
        return sum(len(v[1]) for v in inflight.values())

    def tell(entry: Inflight, res: dict | None, err: str | None = None) -> None:
        nonlocal done, pts
        t = entry.trial
        dur = time.perf_counter() - entry.t0
        t.set_user_attr(A_DURATION, dur)
        if entry.forecast is not None:
            t.set_user_attr(A_SCREENED, False)
        if res is not None and res.get("forecast"):
            t.set_user_attr(A_FORECAST, res["forecast"])
        if res is not None and res.get("status") == "screened":
            measured = {p: v for p in spec.objective_paths
                        if isinstance(v := get_path(res["report"], p), int | float)}
            t.set_user_attr(A_SCREENED, True)
            t.set_user_attr(A_FEATURES, res.get("features"))
            t.set_user_attr("dse_measured_before_screen", measured)
            t.set_user_attr("dse_optimistic", res.get("optimistic"))
            t.set_user_attr("dse_screen_reason", res.get("reason"))
            t.set_user_attr(A_STATUS, "screened")
            study.tell(t, state=TrialState.PRUNED)
            sess.screened += 1
            sess.told.append(t.number)
            _progress(study, spec, target, sess, t.number, "screened", dur, None, done, show,
                      error=res.get("reason"))
            return
        if res is not None and res.get("status") == "ok":
            rep = res["report"]
            t.set_user_attr(A_CACHED, bool(res.get("cached")))
            try:
                vals = [number_at(rep, p) for p in spec.objective_paths]
                cons = {c.text: number_at(rep, c.path) for c in spec.constraints}
            except (KeyError, ValueError) as e:
                err = f"{type(e).__name__}: {e.args[0] if e.args else e}"
            else:
                measured = {}
                for p in (*fcmod.COST_METRICS, *fcmod.EXACT_METRICS):
                    with contextlib.suppress(KeyError, ValueError):
                        measured[p] = number_at(rep, p)
                feasible = all(c.ok(cons[c.text]) for c in spec.constraints)
                t.set_user_attr(A_OBJ, dict(zip(spec.objective_paths, vals, strict=True)))
                t.set_user_attr(A_CONS, cons)
                t.set_user_attr(A_VIOL, [c.violation(cons[c.text]) for c in spec.constraints])
                t.set_user_attr(A_FEAS, feasible)
                t.set_user_attr(A_FEATURES, res.get("features"))
                t.set_user_attr(A_MEASURED, measured)
                t.set_user_attr(A_STATUS, "ok")
                study.tell(t, vals)
                sess.evaluated += 1
                sess.cached += bool(res.get("cached"))
                sess.told.append(t.number)
                if res.get("features"):
                    pts = pts + [{"key": t.number, "features": res["features"],
                                  "measured": measured}]
                if feasible:
                    done = done + [{"number": t.number,
                                    "objectives": dict(zip(spec.objective_paths, vals, strict=True))}]
                if scr is not None:
                    scr.refit(pts)
                _progress(study, spec, target, sess, t.number, "ok", dur, vals, done, show,
                          cached=bool(res.get("cached")))
                return
        if err is None:
            err = (res or {}).get("error") or "unknown error"
        t.set_user_attr(A_ERROR, str(err)[:2000])
        t.set_user_attr(A_STATUS, "fail")
        study.tell(t, state=TrialState.FAIL)
        sess.failed += 1
        sess.told.append(t.number)
        _progress(study, spec, target, sess, t.number, "FAIL", dur, None, done, show, error=err)

    try:
        while True:
            now = time.time()
            if now - last_hb >= HEARTBEAT_S:
                for _, entries in inflight.values():
                    for e in entries:
                        with contextlib.suppress(Exception):
                            e.trial.set_user_attr(A_HEARTBEAT, now)
                fail_stale(study, me, log=log)
                done, pts = completed_points(study, spec)  # other processes' trials too
                if scr is not None:
                    scr.refit(pts)
                last_hb = now
            c = counts(study)
            asking = now < deadline
            while asking and n_own() < nthreads and c["finished"] + c["running"] < target:
                t = study.ask(dists)
                t.set_user_attr(A_OWNER, me.tag)
                t.set_user_attr(A_HEARTBEAT, time.time())
                params = {k: t.params[k] for k in dists}
                t.set_user_attr(A_PARAMS, params)
                t0 = time.perf_counter()
                c["running"] += 1
                try:
                    cfg_dict = spec.trial_dict(params)
                    cfg = cfgmod.from_dict(cfg_dict)
                except ConfigError as e:
                    tell(Inflight(t, params, "", t0), None, f"ConfigError: {e}")
                    c = counts(study)
                    continue
                cfg_dict = cfgmod.to_dict(cfg)
                dig = trial_digest(cfg_dict, spec.stages)
                t.set_user_attr(A_DIGEST, dig)
                t.set_user_attr(A_COMMAND, command(cfg_path, params, str(root / dig)))
                entry = Inflight(t, params, dig, t0)
                hit = cached(root, dig)
                if hit is not None:
                    tell(entry, hit)
                    c = counts(study)
                    continue
                ctx = scr.context(cfg.hdl.weights, done) if scr is not None else None
                entry.forecast = {} if ctx is not None else None
                key = f"neutnngen-dse-{dig}"
                if key in inflight:
                    inflight[key][1].append(entry)
                else:
                    fut = get_client().submit(evaluate, cfg_dict, str(root.resolve()), spec.stages,
                                        ctx, key=key, pure=False, retries=0)
                    inflight[key] = (fut, [entry])
            if not inflight:
                c = counts(study)
                if not (asking and c["finished"] + c["running"] < target):
                    break
                continue
            finished = [k for k, (f, _) in inflight.items() if f.done()]
            if not finished:
                time.sleep(POLL_S)
                continue
            for k in finished:
                fut, entries = inflight.pop(k)
                try:
                    res, err = fut.result(), None
                except Exception as e:  # noqa: BLE001 - worker died, cancelled ...
                    res, err = None, f"{type(e).__name__}: {e}"
                for i, e in enumerate(entries):  # later entries shared the first's work
                    tell(e, {**res, "cached": True} if i and res else res, err)
                with contextlib.suppress(Exception):
                    fut.release()
            write_reports(study, spec, out, storage_url, target, sess, cfg_path, plots=False)
    except BaseException:
        # Interrupted (Ctrl-C, an error of this process): what is in flight is given back as
        # stale + enqueued, so a --resume asks it again; told trials are already stored.
        for _, entries in inflight.values():
            for e in entries:
                with contextlib.suppress(Exception):
                    study._storage.set_trial_user_attr(e.trial._trial_id, A_STALE, "interrupted")
                    study.tell(e.trial, state=TrialState.FAIL)
                    study.enqueue_trial(e.params, user_attrs={A_RETRY: e.trial.number})
        raise
    finally:
        if own_cluster is not None:
            with contextlib.suppress(Exception):
                cl["client"].close()
                own_cluster.close()
    summary = write_reports(study, spec, out, storage_url, target, sess, cfg_path)
    c = counts(study)
    log(f"done: {c['finished']} finished trials ({c['complete']} complete, {c['screened']} "
        f"screened, {c['failed']} failed); front {len(summary['front'])}; "
        f"{sess.to_dict()['trials_per_min']:.1f} trials/min; {out / 'dse.html'}")
    _ = optuna
    return summary


def _fmt(v: float) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.4g}"


def _progress(study, spec: DseSpec, target: int, sess: Session, number: int, status: str,
              dur: float, vals, done: list[dict], show: bool, cached: bool = False,
              error: str | None = None) -> None:
    if not show:
        return
    c = counts(study)
    short = [p.split(".")[-1] for p in spec.objective_paths]
    if vals is not None:
        what = " ".join(f"{s}={_fmt(v)}" for s, v in zip(short, vals, strict=True))
    else:
        what = (error or "")[:120]
    bests = []
    for p, s, d in zip(spec.objective_paths, short, spec.directions, strict=True):
        b = best([t["objectives"][p] for t in done], d)
        bests.append(f"{s} {_fmt(b)}")
    pts = [[t["objectives"][p] for p in spec.objective_paths] for t in done]
    fr = len(front(pts, spec.directions)) if pts else 0
    rate = sess.to_dict()["trials_per_min"]
    print(f"[{c['finished']:>3}/{target}] #{number:<3} {status}{' (cached)' if cached else ''} "
          f"{dur:5.1f}s {what} | best: {', '.join(bests)} | front {fr} | {rate:.1f}/min",
          flush=True, file=sys.stdout)


__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "Owner", "Screen", "Session", "counts", "default_storage",
           "distributions", "fail_stale", "make_sampler", "open_study", "run_study", "stale_reason"]
