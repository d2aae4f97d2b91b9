"""The exploration engine: an Optuna study (sampler and persistent store) asked and told by
this process, trials evaluated on a Dask cluster.

Flow of :func:`run_study` (the :class:`Engine`):

1. open the study in its RDB storage (``sqlite:///OUT/study.db`` by default) by name; a study
   that already has trials needs ``resume=True``, and its stored search space must match;
2. mark *stale* trials FAIL (``dse_stale`` says why) and enqueue their parameters again: a
   RUNNING trial whose owner process is gone (same host: its pid no longer runs) or whose
   heartbeat is older than :data:`~.trials.STALE_AFTER_S` (any host) was left by a killed
   process;
3. keep ``workers`` trials in flight: ``study.ask()``, resolve the config, answer it from a
   finished trial directory (the pipeline's resume store) or submit
   :func:`neutnngen.dse.evaluate.evaluate` to Dask, (optionally) with a cost-forecast screen;
4. as futures complete, record user attributes and ``study.tell()`` — each tell commits the
   trial to the storage at once, so killing this process loses no finished trial;
5. stop asking when the study has ``trials`` finished trials (COMPLETE, PRUNED = screened, or
   FAIL that is not stale), counting RUNNING trials of other processes sharing the study, or
   when ``timeout_s`` has passed; then write ``dse.json``, ``dse.md``, ``dse.html``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from .._io import atomic_write_text, digest
from ..errors import ConfigError
from ..pipeline import Store
from ..progress import Progress, write
from . import forecast as fcmod
from .evaluate import cached, command, evaluate, get_path, number_at, trial_digest
from .pareto import best, front
from .paths import held_out
from .report import write_reports
from .session import Inflight, Screen, Session, connect_client
from .spec import DseSpec
from .storage import default_storage, distributions, make_sampler, open_storage, open_study
from .trials import (
    A_CACHED,
    A_COMMAND,
    A_CONS,
    A_DIGEST,
    A_DURATION,
    A_ERROR,
    A_FEAS,
    A_FEATURES,
    A_FORECAST,
    A_HEARTBEAT,
    A_HELD_OUT,
    A_MEASURED,
    A_OBJ,
    A_OWNER,
    A_PARAMS,
    A_RETRY,
    A_SCREENED,
    A_STALE,
    A_STATUS,
    A_VIOL,
    HEARTBEAT_S,
    POLL_S,
    STALE_AFTER_S,
    Owner,
    completed_points,
    counts,
    fail_stale,
    load_optuna,
    stale_reason,
    wait_ownerless,
)


class Engine:
    """One process's part of a study: asks, evaluates (Dask), tells, reports."""

    def __init__(self, spec: DseSpec, out: Path, study, storage_url: str, target: int,
                 screen: str, show: bool, cfg_path: str):
        self.spec, self.out, self.study, self.storage_url = spec, out, study, storage_url
        self.target, self.show, self.cfg_path = target, show, cfg_path
        self.root = out / "trials"
        self.me = Owner()
        self.dists = distributions(spec)
        self.scr = Screen(spec) if screen == "forecast" else None
        self.sess = Session()
        self.client = None
        self.own_cluster = None
        self.nthreads = 1
        self.inflight: dict[str, tuple[Any, list[Inflight]]] = {}  # dask key -> (future, trials)
        self.done: list[dict] = []
        self.pts: list[dict] = []
        self.bar: Progress | None = None

    # ------------------------------------------------------------------ output
    def log(self, text: str) -> None:
        if self.show:
            write(text, file=sys.stdout)

    def report(self, plots: bool = True) -> dict:
        return write_reports(self.study, self.spec, self.out, self.storage_url, self.target,
                             self.sess, self.cfg_path, plots=plots)

    def _line(self, number: int, status: str, dur: float, vals, cached: bool = False,
              error: str | None = None) -> None:
        if not self.show:
            return
        c = counts(self.study)
        if self.bar is not None:
            self.bar.update(min(c["finished"], self.target))
        spec = self.spec
        short = [p.split(".")[-1] for p in spec.objective_paths]
        if vals is not None:
            what = " ".join(f"{s}={_fmt(v)}" for s, v in zip(short, vals, strict=True))
        else:
            what = (error or "")[:120]
        bests = [f"{s} {_fmt(best([t['objectives'][p] for t in self.done], d))}"
                 for p, s, d in zip(spec.objective_paths, short, spec.directions, strict=True)]
        pts = [[t["objectives"][p] for p in spec.objective_paths] for t in self.done]
        fr = len(front(pts, spec.directions)) if pts else 0
        rate = self.sess.to_dict()["trials_per_min"]
        self.log(f"[{c['finished']:>3}/{self.target}] #{number:<3} {status}"
                 f"{' (cached)' if cached else ''} {dur:5.1f}s {what} | best: {', '.join(bests)} "
                 f"| front {fr} | {rate:.1f}/min")

    # ------------------------------------------------------------------ cluster
    def connect(self, client, scheduler: str | None, workers: int | None) -> str:
        """Use ``client`` / ``scheduler``, or plan a local cluster that starts at the first
        evaluation not answered from a finished trial directory."""
        self.client = client
        if client is not None or scheduler:
            if client is None:
                self.client, self.own_cluster = connect_client(scheduler, 0)
            self.nthreads = sum(self.client.nthreads().values()) or 1
            where = f"{self.nthreads} worker(s) on {self.client.scheduler.address}"
        else:
            self.nthreads = workers or self.spec.workers or os.cpu_count() or 1
            where = f"{self.nthreads} local worker(s)"
        self.sess.workers = self.nthreads
        return where

    def get_client(self):
        if self.client is None:
            self.client, self.own_cluster = connect_client(None, self.nthreads)
        return self.client

    def close(self) -> None:
        if self.own_cluster is not None:
            with contextlib.suppress(Exception):
                self.client.close()
                self.own_cluster.close()

    # ------------------------------------------------------------------ asking
    def n_own(self) -> int:
        return sum(len(v[1]) for v in self.inflight.values())

    def ask_one(self) -> None:
        """Ask one trial and answer it from a finished directory or submit it."""
        spec = self.spec
        t = self.study.ask(self.dists)
        t.set_user_attr(A_OWNER, self.me.tag)
        t.set_user_attr(A_HEARTBEAT, time.time())
        params = {k: t.params[k] for k in self.dists}
        t.set_user_attr(A_PARAMS, params)
        t0 = time.perf_counter()
        try:
            cfg = cfgmod.from_dict(spec.trial_dict(params))
        except ConfigError as e:
            self.tell(Inflight(t, params, "", t0), None, f"ConfigError: {e}")
            return
        cfg_dict = cfgmod.to_dict(cfg)
        dig = trial_digest(cfg_dict, spec.stages)
        t.set_user_attr(A_DIGEST, dig)
        t.set_user_attr(A_COMMAND, command(self.cfg_path, params, str(self.root / dig)))
        entry = Inflight(t, params, dig, t0)
        hit = cached(self.root, dig)
        if hit is not None:
            self.tell(entry, hit)
            return
        group = fcmod.cost_group(cfg.hdl.weights, cfg.hdl.architecture)
        ctx = self.scr.context(group, self.done) if self.scr is not None else None
        entry.forecast = {} if ctx is not None else None
        key = f"neutnngen-dse-{dig}"
        if key in self.inflight:  # the same config is in flight: share its result
            self.inflight[key][1].append(entry)
        else:
            fut = self.get_client().submit(evaluate, cfg_dict, str(self.root.resolve()),
                                           spec.stages, ctx, key=key, pure=False, retries=0)
            self.inflight[key] = (fut, [entry])

    def heartbeat(self) -> None:
        now = time.time()
        for _, entries in self.inflight.values():
            for e in entries:
                with contextlib.suppress(Exception):
                    e.trial.set_user_attr(A_HEARTBEAT, now)
        fail_stale(self.study, self.me, log=self.log, names=self.dists)
        self.done, self.pts = completed_points(self.study, self.spec)  # others' trials too
        if self.scr is not None:
            self.scr.refit(self.pts)

    def collect(self) -> bool:
        """Tell every finished future's trials; False when none had finished."""
        finished = [k for k, (f, _) in self.inflight.items() if f.done()]
        for k in finished:
            fut, entries = self.inflight.pop(k)
            try:
                res, err = fut.result(), None
            except Exception as e:  # noqa: BLE001 - worker died, cancelled ...
                res, err = None, f"{type(e).__name__}: {e}"
            for i, e in enumerate(entries):  # later entries shared the first's work
                self.tell(e, {**res, "cached": True} if i and res else res, err)
            with contextlib.suppress(Exception):
                fut.release()
        return bool(finished)

    def loop(self, deadline: float) -> None:
        last_hb = time.time()
        while True:
            now = time.time()
            if now - last_hb >= HEARTBEAT_S:
                self.heartbeat()
                last_hb = now
            c = counts(self.study)
            asking = now < deadline
            while (asking and self.n_own() < self.nthreads
                   and c["finished"] + c["running"] < self.target):
                self.ask_one()
                c = counts(self.study)
            if not self.inflight:
                c = counts(self.study)
                if not (asking and c["finished"] + c["running"] < self.target):
                    return
                continue
            if not self.collect():
                time.sleep(POLL_S)
                continue
            self.report(plots=False)

    def give_back(self) -> None:
        """Interrupted (Ctrl-C, an error of this process): what is in flight is given back
        as stale + enqueued, so a --resume asks it again; told trials are already stored."""
        from optuna.trial import TrialState

        for _, entries in self.inflight.values():
            for e in entries:
                with contextlib.suppress(Exception):
                    self.study._storage.set_trial_user_attr(e.trial._trial_id, A_STALE,
                                                            "interrupted")
                    self.study.tell(e.trial, state=TrialState.FAIL)
                    self.study.enqueue_trial(e.params, user_attrs={A_RETRY: e.trial.number})

    # ------------------------------------------------------------------ telling
    def tell(self, entry: Inflight, res: dict | None, err: str | None = None) -> None:
        t = entry.trial
        dur = time.perf_counter() - entry.t0
        t.set_user_attr(A_DURATION, dur)
        if entry.forecast is not None:
            t.set_user_attr(A_SCREENED, False)
        if res is not None and res.get("forecast"):
            t.set_user_attr(A_FORECAST, res["forecast"])
        status = (res or {}).get("status")
        if status == "screened":
            return self._tell_screened(t, res, dur)
        if status == "ok":
            err = self._tell_ok(t, res, dur)
            if err is None:
                return None
        self._tell_fail(t, err or (res or {}).get("error") or "unknown error", dur)
        return None

    def _tell_screened(self, t, res: dict, dur: float) -> None:
        from optuna.trial import TrialState

        measured = {p: v for p in self.spec.objective_paths
                    if isinstance(v := get_path(res["report"], p), int | float)}
        t.set_user_attr(A_SCREENED, True)
        t.set_user_attr(A_FEATURES, res.get("features"))
        t.set_user_attr("dse_measured_before_screen", measured)
        t.set_user_attr("dse_optimistic", res.get("optimistic"))
        t.set_user_attr("dse_screen_reason", res.get("reason"))
        t.set_user_attr(A_STATUS, "screened")
        self.study.tell(t, state=TrialState.PRUNED)
        self.sess.screened += 1
        self.sess.told.append(t.number)
        self._line(t.number, "screened", dur, None, error=res.get("reason"))

    def _tell_ok(self, t, res: dict, dur: float) -> str | None:
        """Tell a completed trial; returns an error text when its report lacks an objective."""
        spec = self.spec
        rep = res["report"]
        t.set_user_attr(A_CACHED, bool(res.get("cached")))
        try:
            vals = [number_at(rep, p) for p in spec.objective_paths]
            cons = {c.text: number_at(rep, c.path) for c in spec.constraints}
        except (KeyError, ValueError) as e:
            return f"{type(e).__name__}: {e.args[0] if e.args else e}"
        measured = {}
        for p in (*fcmod.COST_METRICS, *fcmod.EXACT_METRICS):
            with contextlib.suppress(KeyError, ValueError):
                measured[p] = number_at(rep, p)
        feasible = all(c.ok(cons[c.text]) for c in spec.constraints)
        objectives = dict(zip(spec.objective_paths, vals, strict=True))
        t.set_user_attr(A_OBJ, objectives)
        t.set_user_attr(A_CONS, cons)
        t.set_user_attr(A_VIOL, [c.violation(cons[c.text]) for c in spec.constraints])
        t.set_user_attr(A_FEAS, feasible)
        t.set_user_attr(A_FEATURES, res.get("features"))
        t.set_user_attr(A_MEASURED, measured)
        t.set_user_attr(A_HELD_OUT, held_out(rep, spec.objective_paths))
        t.set_user_attr(A_STATUS, "ok")
        self.study.tell(t, vals)
        self.sess.evaluated += 1
        self.sess.cached += bool(res.get("cached"))
        self.sess.told.append(t.number)
        if res.get("features"):
            self.pts = self.pts + [{"key": t.number, "features": res["features"],
                                    "measured": measured}]
        if feasible:
            self.done = self.done + [{"number": t.number, "objectives": objectives}]
        if self.scr is not None:
            self.scr.refit(self.pts)
        self._line(t.number, "ok", dur, vals, cached=bool(res.get("cached")))
        return None

    def _tell_fail(self, t, err: str, dur: float) -> None:
        from optuna.trial import TrialState

        t.set_user_attr(A_ERROR, str(err)[:2000])
        t.set_user_attr(A_STATUS, "fail")
        self.study.tell(t, state=TrialState.FAIL)
        self.sess.failed += 1
        self.sess.told.append(t.number)
        self._line(t.number, "FAIL", dur, None, error=err)


REPORTS = ("dse.json", "dse.md", "dse.html")
"""The study's reports: removed when another study starts in the folder."""


def run_study(spec: DseSpec, out: str | Path, *, resume: bool = False, scheduler: str | None = None,
              screen: str | None = None, trials: int | None = None, workers: int | None = None,
              show: bool = True, client=None, config_path: str | None = None) -> dict:
    """Run (or continue) the study of ``spec``; returns the ``dse.json`` dict."""
    load_optuna()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "trials").mkdir(exist_ok=True)
    run_key = digest(spec.space_dict(), cfgmod.to_dict(spec.base), spec.study_name)
    Store(out).start(run_key, REPORTS)  # in progress; another study's reports go first
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
    eng = Engine(spec, out, study, storage_url, target, screen, show, cfg_path)
    wait_ownerless(study)
    fail_stale(study, eng.me, log=eng.log, names=eng.dists)

    c = counts(study)
    if c["finished"] >= target:
        eng.log(f"study {spec.study_name!r} already has {c['finished']} finished trials "
                f"(target {target}); writing reports")
        summary = eng.report()
        Store(out).finish(run_key)
        return summary
    where = eng.connect(client, scheduler, workers)
    eng.log(f"study {spec.study_name!r} ({storage_url}): {c['finished']} finished of {target}; "
            f"{where}; sampler {spec.sampler}; screen {screen}")
    eng.done, eng.pts = completed_points(study, spec)
    if eng.scr is not None:
        eng.scr.refit(eng.pts)
    deadline = time.time() + spec.timeout_s if spec.timeout_s else math.inf
    try:
        with Progress("dse", target, enabled=show, unit="trial") as eng.bar:
            eng.bar.update(min(c["finished"], target))
            eng.loop(deadline)
    except BaseException:
        eng.give_back()
        raise
    finally:
        eng.bar = None
        eng.close()
    summary = eng.report()
    Store(out).finish(run_key)
    c = counts(study)
    eng.log(f"done: {c['finished']} finished trials ({c['complete']} complete, {c['screened']} "
            f"screened, {c['failed']} failed); front {len(summary['front'])}; "
            f"{eng.sess.to_dict()['trials_per_min']:.1f} trials/min; {out / 'dse.html'}")
    return summary


def _fmt(v: float) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.4g}"


__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "Engine", "Owner", "Screen", "Session", "counts",
           "default_storage", "distributions", "fail_stale", "make_sampler", "open_storage",
           "open_study", "run_study", "stale_reason"]
