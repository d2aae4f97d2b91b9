"""The pruning sweep: train the base once, replay its activity when a pass needs it, run
every point (resumed through the output directory's store), compare them, write reports."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from .. import config as cfgmod
from .._io import digest, read_json, write_json
from ..config import Config
from ..errors import ConfigError
from ..ir import load, to_text
from ..passes import Activity, PassContext, parse_pipeline, pipeline_spec, record_activity
from ..pipeline import (
    Store,
    layer_epochs,
    needs_labels,
    prepare_data,
    primary_metric,
    run,
    training_order,
    version,
)
from ..progress import Progress, step
from .points import (
    PRIMARY_COST,
    SCHEMA,
    WEIGHT_MODES,
    best_within_tolerance,
    check_best_by,
    cost_keys,
    module_shares,
    run_point,
    slug,
    verified,
    within,
)
from .report import write_reports

REPORTS = ("prune.json", "prune.md", "prune.html")
"""The sweep's reports: removed when a sweep of other inputs starts in the folder."""


def _check(weight_modes: tuple[str, ...], tolerance: float, retrain_epochs: int) -> None:
    for m in weight_modes:
        if m not in WEIGHT_MODES:
            raise ConfigError(f"weight mode {m!r}; accepted for pruning reports: "
                              f"{', '.join(WEIGHT_MODES)} (a learn-mode chip trains itself from "
                              "the initial weights)", path="--weights")
    if not weight_modes:
        raise ConfigError("no weight mode given; accepted: hardwired, register", path="--weights")
    if not (tolerance >= 0 and math.isfinite(tolerance)):
        raise ConfigError(f"tolerance={tolerance!r}; expected a number >= 0", path="--tolerance")
    if retrain_epochs < 0:
        raise ConfigError(f"retrain epochs={retrain_epochs}; expected >= 0", path="--retrain-epochs")
    if len(weight_modes) != len(set(weight_modes)):
        raise ConfigError(f"weight modes {list(weight_modes)} repeat a mode", path="--weights")


def _best_by(best_by: str | None, keys: list[tuple[str, str, str]],
             weight_modes: tuple[str, ...], targets: tuple[str, ...]) -> tuple[str, str, str] | None:
    if best_by is None:
        return keys[0] if keys else None
    check_best_by(best_by, weight_modes, targets)
    parts = tuple(best_by.split("."))
    if len(parts) != 3 or parts[0] not in weight_modes or parts[1] not in targets:
        raise ConfigError(f"best_by={best_by!r}; expected MODE.TARGET.FIELD with MODE in "
                          f"{list(weight_modes)} and TARGET in {list(targets)}, e.g. "
                          "hardwired.generic.transistors", path="--best-by")
    return (parts[0], parts[1], parts[2])


def sweep(cfg: Config, specs: list[str], outdir: str | Path, *,
          weight_modes: tuple[str, ...] = WEIGHT_MODES, tolerance: float = 0.01,
          retrain_epochs: int = 0, show: bool = True, best_by: str | None = None,
          breakdown_modules: int = 64, command: str | None = None) -> dict:
    """Evaluate every pruning pipeline of ``specs`` (and the unpruned base) and write the
    reports. Returns the ``prune.json`` document. A design that differs from the interpreter
    does not stop the sweep: its ``verify.mismatches`` is nonzero, it cannot be
    ``best_within_tolerance``, and ``verified_all`` is false."""
    t_start = time.perf_counter()
    outdir = Path(outdir)
    weight_modes = tuple(weight_modes)
    _check(weight_modes, tolerance, retrain_epochs)
    if breakdown_modules < 0:
        raise ConfigError(f"breakdown_modules={breakdown_modules}; expected >= 0",
                          path="--breakdown-modules")
    # canonical spec -> user spec (parse every spec before any work: errors come first)
    points_in: dict[str, str] = {"none": "none"}
    needs_activity = False
    for s in specs:
        ps = parse_pipeline(s)
        needs_activity |= any("activity" in p.needs for p in ps)
        points_in.setdefault(pipeline_spec(ps), s.strip() or "none")
    key_name, higher = primary_metric(cfg)
    targets = tuple(cfg.synth.targets)
    keys = cost_keys(weight_modes, targets)
    by = _best_by(best_by, keys, weight_modes, targets)

    run_key = digest(SCHEMA, cfgmod.to_dict(cfg), list(points_in), list(weight_modes), tolerance,
                     retrain_epochs, best_by, breakdown_modules)
    Store(outdir).start(run_key, REPORTS)  # in progress; an older sweep's reports go first
    base_dir = outdir / "base"
    step(f"base: train once in {base_dir}", show)
    data = prepare_data(cfg)
    run(cfg, base_dir, stages=("train",), show=show, data=data)
    net = load(base_dir / "ir" / "model.json")
    store = Store(outdir)

    ctx = PassContext()
    act_summary = None
    act_key = None
    if needs_activity:
        ctx.activity, act_summary, act_key = replay_activity(cfg, base_dir, net, data, store, show)

    cfg_d = cfgmod.to_dict(cfg)
    points: list[dict] = []
    memo: dict[str, dict] = {}
    n_pts = len(points_in)
    with Progress("prune", n_pts, enabled=show, unit="point") as bar:
        for k, (canon, user) in enumerate(points_in.items()):
            bar.note(user)
            pdir = outdir / "points" / slug(canon)
            pkey = digest(SCHEMA, canon, to_text(net), cfg_d, list(weight_modes), retrain_epochs,
                          breakdown_modules, act_key if "prune-inactive" in canon else None)
            record = f"point/{slug(canon)}"
            rfile = pdir / "result.json"
            if store.fresh(record, pkey, rfile):
                step(f"point {k + 1}/{n_pts} {user}: up to date (resumed)", show)
                p = read_json(rfile)
            else:
                step(f"point {k + 1}/{n_pts}: {user}", show)
                p = run_point(cfg, canon, net, net, data, pdir, ctx=ctx, weight_modes=weight_modes,
                              retrain_epochs=retrain_epochs if canon != "none" else 0,
                              breakdown_modules=breakdown_modules, show=show, memo=memo)
                p["spec"] = user
                p["dir"] = os.path.relpath(pdir, outdir)
                write_json(rfile, p)
                store.done(record, pkey, rfile)
            memo.setdefault(p["ir_sha256"], p)
            points.append(p)
            bar.advance()
    _compare(points, tolerance, higher)
    best_all = [b for k_ in keys if (b := best_within_tolerance(points, tolerance, higher, k_))]
    best = best_within_tolerance(points, tolerance, higher, by) if by else None
    from ..flows import tool_versions

    doc = {
        "schema": SCHEMA, "name": cfg.experiment.name,
        "command": command or f"neutnngen prune {outdir / 'base' / 'config.toml'}",
        "config": cfg_d, "dataset": data.info,
        "metric": {"key": key_name, "split": points[0].get("metric_split", "test"),
                   "higher_is_better": higher},
        "base_metric": points[0]["metric"], "tolerance": tolerance,
        "weight_modes": list(weight_modes), "targets": list(targets),
        "retrain_epochs": retrain_epochs,
        "activity": act_summary,
        "points": points,
        "best_within_tolerance": best,
        "best_within_tolerance_by_cost": best_all,
        "verified_all": all(p["verified"] for p in points),
        "verify_enabled": bool(cfg.verify.enabled),
        "mismatches_total": sum((v or {}).get("mismatches") or 0
                                for p in points for v in p["verify"].values()),
        "tools": {"neutnngen": version(), **tool_versions()},
        "seconds": time.perf_counter() - t_start,
    }
    write_reports(doc, outdir)
    Store(outdir).finish(run_key)
    return doc


def _compare(points: list[dict], tolerance: float, higher: bool) -> None:
    """Each point against the base (``points[0]``): metric delta, tolerance, savings."""
    base = points[0]
    for p in points:
        p["metric_delta"] = p["metric"] - base["metric"]
        p["within_tolerance"] = within(p["metric"], base["metric"], tolerance, higher)
        p["verified"] = verified(p)
        for mode, per in p["cost"].items():
            for t, c in per.items():
                f = PRIMARY_COST.get(t)
                bc = ((base["cost"].get(mode) or {}).get(t) or {}).get(f)
                if f and bc and c.get(f) is not None:
                    c["saving"] = (bc - c[f]) / bc
        module_shares(p, base)


def replay_activity(cfg: Config, base_dir: Path, net, data, store: Store, show: bool
                    ) -> tuple[Activity, dict, str]:
    """Capture counts of the base training, replayed layer by layer exactly as
    :func:`~neutnngen.pipeline.build_and_train` trained it: layer ``i`` from its initial
    weights with the trained layers below, over its own seeded stream of its epochs.
    Resumed through ``store`` (record ``activity``: ``activity.npz``, ``activity.json``)."""
    initial = load(base_dir / "ir" / "initial.json")
    learning = [li for li, la in enumerate(initial.layers) if la.learning is not None]
    n = len(data.X_train)
    labels_on = needs_labels(initial)
    streams = {li: training_order(n, layer_epochs(cfg, li), cfg.experiment.seed, cfg.train.shuffle)
               for li in learning}
    key = digest("activity", to_text(initial), to_text(net),
                 {str(k): v.tolist() for k, v in streams.items()}, labels_on,
                 np.asarray(data.y_train).tolist() if labels_on else None)
    f = store.root / "activity.npz"
    meta = store.root / "activity.json"
    if store.fresh("activity", key, f, meta):
        step("activity: up to date (resumed)", show)
        return Activity.load(f), read_json(meta)["summary"], key
    total = sum(len(o) for o in streams.values())
    step(f"activity: replay {total} training waves in the interpreter, counting captures", show)
    t0 = time.perf_counter()
    merged: Activity | None = None
    exact = True
    with Progress("replay", max(total, 1), enabled=show, unit="wave") as bar:
        done = 0
        for li, order in streams.items():
            start = net  # trained layers below li; li and above as initialised
            for lj in range(li, len(net.layers)):
                start = start.replace_layer(lj, initial.layers[lj])
            labels = data.y_train[order] if labels_on else None
            act = record_activity(start, data.X_train[order], labels, epoch_len=n, trained=net,
                                  layers=[li], progress=lambda d, _t, o=done: bar.update(o + d, total))
            done += len(order)
            exact = exact and bool(act.exact)
            if merged is None:
                merged = act
            else:
                merged.distal[li] = act.distal[li]
                merged.proximal[li] = act.proximal[li]
    if merged is None:  # no learning layer: nothing was captured
        merged = record_activity(initial, data.X_train[:0], layers=[])
    merged.exact = exact
    merged.seconds = time.perf_counter() - t0
    merged.waves = total
    merged.save(f)
    summary = merged.summary()
    summary["note"] = ("replay equals the exact-mode training (same final weights and LFSR states)"
                       if exact else
                       "replay differs from the trained network (fast-mode training?): the "
                       "capture counts are those of an exact-mode replay")
    write_json(meta, {"key": key, "summary": summary})
    store.done("activity", key, f, meta)
    return merged, summary, key
