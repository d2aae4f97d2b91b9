"""Pruning cost reports: ``neutnngen prune CONFIG --sweep ...`` (SPEC §7, docs/pruning.md).

:func:`sweep` trains the base network once (``OUT/base``, the ``driver.run`` train stage, so
a rerun resumes), then for every point (a pass pipeline; the unpruned base ``none`` always
comes first) prunes the trained IR, optionally retrains it with the pruned mask fixed,
measures the task metric, and for each weight mode compiles, verifies cycle-accurately
against the interpreter and synthesizes every target of ``synth.targets``. It writes
``OUT/prune.json`` (schema :data:`SCHEMA`), ``OUT/prune.md``, ``OUT/prune.html`` and
``OUT/plots/prune_*.png``. Each point lives in ``OUT/points/<slug>/`` with its IR, RTL,
verification and synthesis results and a ``result.json`` keyed by a digest of everything
it depends on: a rerun reuses finished points.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import config as cfgmod
from . import driver
from .config import Config
from .errors import ConfigError, PassError, VerificationMismatch
from .ir import load, save, to_text
from .passes import (
    Activity,
    PassContext,
    parse_pipeline,
    pipeline_spec,
    record_activity,
    run_pipeline,
    synapse_table,
)
from .progress import Progress, step
from .report.render import markdown_to_html

SCHEMA = "neutnngen-prune/1"
WEIGHT_MODES = ("hardwired", "register")
# The cost each target is judged by (the first is the default of ``best_within_tolerance``).
PRIMARY_COST = {"generic": "transistors", "ice40": "luts", "ecp5": "luts", "liberty": "area"}
COST_FIELDS = {
    "generic": ("cells", "flip_flops", "transistors", "gate_equivalents"),
    "ice40": ("luts", "flip_flops", "logic_cells", "fmax_mhz", "fits", "timing_met", "harness"),
    "ecp5": ("luts", "flip_flops", "comb_cells", "fmax_mhz", "fits", "timing_met", "harness"),
    "liberty": ("area", "cells", "flip_flops"),
}


# ------------------------------------------------------------------------------ inputs
def parse_sweep(text: str) -> list[float]:
    """``"0,0.1,...,0.5"`` -> ``[0, 0.1, 0.2, 0.3, 0.4, 0.5]``: comma-separated numbers; ``...``
    continues the step of the two numbers before it up to the number after it."""
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    out: list[float] = []
    i = 0
    while i < len(items):
        it = items[i]
        if it == "...":
            if len(out) < 2 or i + 1 >= len(items):
                raise ConfigError(f"--sweep {text!r}: '...' needs two values before it and one "
                                  "after it, e.g. 0,0.1,...,0.7", path="--sweep")
            stepv = out[-1] - out[-2]
            end = _num(items[i + 1], text)
            if stepv <= 0 or end < out[-1]:
                raise ConfigError(f"--sweep {text!r}: '...' needs increasing values",
                                  path="--sweep")
            k = 1
            while out[-1] + stepv <= end + 1e-9 and k < 10000:
                out.append(round(out[-1] + stepv, 10))
                k += 1
            if abs(out[-1] - end) > 1e-9:
                out.append(end)
            i += 2
            continue
        out.append(_num(it, text))
        i += 1
    if not out:
        raise ConfigError(f"--sweep {text!r}: no values; e.g. --sweep 0,0.1,...,0.7", path="--sweep")
    return out


def _num(s: str, text: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise ConfigError(f"--sweep {text!r}: {s!r} is not a number", path="--sweep") from None
    if not (0.0 <= v <= 1.0):
        raise ConfigError(f"--sweep {text!r}: {s} is not a share in 0..1", path="--sweep")
    return v


def sweep_specs(values: list[float], scope: str = "segment") -> list[str]:
    """One ``prune-fraction`` pipeline per sweep value."""
    extra = "" if scope == "segment" else f",scope={scope}"
    return [f"prune-fraction{{target={v:g}{extra}}}" for v in values]


def _slug(spec: str) -> str:
    s = re.sub(r"[^A-Za-z0-9.]+", "-", spec).strip("-")[:60] or "none"
    return f"{s}-{hashlib.sha256(spec.encode()).hexdigest()[:6]}"


# ------------------------------------------------------------------------------ one point
def _cost(target: str, r: dict) -> dict:
    d = dict(r)
    if target == "liberty":
        d["area"] = r.get("area_um2")
    return {k: d.get(k) for k in COST_FIELDS.get(target, ())}


def _modules(verilog: str, top: str, net, cap: int) -> list[dict]:
    """Column and neuron submodules of the emitted design (IR path -> Verilog module)."""
    present = set(re.findall(r"^module\s+(\S+?)\s*\(", verilog, flags=re.M))
    cols, neus = [], []
    for li, layer in enumerate(net.layers):
        for ci, col in enumerate(layer.columns):
            cols.append({"level": "column", "layer": li, "column": ci,
                         "path": f"{layer.name}/{col.name}", "module": f"{top}__layer{li}_col{ci}"})
            for i in range(col.neurons):
                neus.append({"level": "neuron", "layer": li, "column": ci, "neuron": i,
                             "path": f"{layer.name}/{col.name}/n{i}",
                             "module": f"{top}__layer{li}_col{ci}_n{i}"})
    mods = cols + neus if len(cols) + len(neus) <= cap else (cols if len(cols) <= cap else [])
    return [m for m in mods if m["module"] in present]


def _measure_modules(verilog: str, mods: list[dict], show: bool) -> list[dict]:
    from . import flows

    out = []
    for m in mods:
        step(f"synth: generic {m['module']} (breakdown)", show)
        r = flows.synth_generic(verilog, m["module"])
        out.append({**m, "cells": r.cells, "transistors": r.transistors,
                    "flip_flops": r.flip_flops})
    return out


def _breakdown(base_net, net) -> dict:
    before = {(r["layer"], r["column"]): r for r in synapse_table(base_net)}
    cols, neus = [], []
    for r in synapse_table(net):
        b = before[(r["layer"], r["column"])]
        cols.append({"layer": r["layer"], "column": r["column"], "path": r["path"],
                     "synapses_before": b["synapses"], "synapses": r["synapses"],
                     "removed": b["synapses"] - r["synapses"]})
        for i, (nb, na) in enumerate(zip(b["neurons"], r["neurons"], strict=True)):
            neus.append({"layer": r["layer"], "column": r["column"], "neuron": i,
                         "path": f"{r['path']}/n{i}", "synapses_before": nb, "synapses": na,
                         "removed": nb - na})
    return {"columns": cols, "neurons": neus}


def _run_point(cfg: Config, spec: str, net, base_net, data, pdir: Path, *, ctx: PassContext,
               weight_modes: tuple[str, ...], retrain_epochs: int, breakdown_modules: int,
               show: bool, memo: dict[str, dict]) -> dict:
    t0 = time.perf_counter()
    res = run_pipeline(net, parse_pipeline(spec), ctx)
    pnet = res.network
    retrain = None
    if retrain_epochs:
        step(f"retrain {retrain_epochs} epoch(s) with the pruned mask fixed", show)
        masks = [c.distal.mask for la in pnet.layers for c in la.columns]
        pnet, rstats = driver.train_network(cfg, pnet, data, show, epochs=retrain_epochs)
        after = [c.distal.mask for la in pnet.layers for c in la.columns]
        if any(not np.array_equal(a, b) for a, b in zip(masks, after, strict=True)):
            raise PassError("retraining changed the pruned connectivity (masked synapses must "
                            "never learn)")
        retrain = {k: rstats.get(k) for k in ("epochs", "waves", "mode", "seconds")}
    save(pnet, pdir / "ir" / "model")
    driver.atomic_write_text(pdir / "ir" / "model.txt", to_text(pnet))
    ev = driver.evaluate(pnet, data, cfg.experiment.seed)
    key, _hib = driver.primary_metric(cfg)
    point: dict[str, Any] = {
        "spec": spec, "pipeline": res.spec, "passes": res.stats, "retrain": retrain,
        "synapses": int(pnet.synapses), "synapses_before": int(base_net.synapses),
        "synapses_removed_share": 1 - pnet.synapses / max(1, base_net.synapses),
        "metric": float(ev["metrics"]["test"][key]), "metrics": ev["metrics"],
        "ir": os.path.relpath(pdir / "ir" / "model.json", pdir.parent.parent),
        "ir_sha256": hashlib.sha256(to_text(pnet).encode()).hexdigest(),
        "breakdown": _breakdown(base_net, pnet),
        "verify": {}, "cost": {}, "hdl": {}, "modules": {},
    }
    same = memo.get(point["ir_sha256"])
    if same is not None:  # identical IR -> byte-identical RTL: reuse its measured results
        step(f"same IR as point {same['spec']!r}: reusing its RTL, verification and synthesis", show)
        for k in ("verify", "cost", "hdl", "modules"):
            point[k] = json.loads(json.dumps(same[k]))
        point["same_design_as"] = same["spec"]
        point["seconds"] = time.perf_counter() - t0
        return point
    for mode in weight_modes:
        wdir = pdir / mode
        cfg_w = replace(cfg, hdl=replace(cfg.hdl, weights=mode))
        state = driver.State(wdir)
        emitted = driver.stage_compile(cfg_w, pnet, wdir, state, show)
        info = emitted["info"]
        point["hdl"][mode] = {"latency_cycles": info.get("LATENCY"),
                              "wave_cycles": info.get("WAVE_CYCLES"),
                              "verilog": os.path.relpath(emitted["verilog"], pdir.parent.parent)}
        if cfg.verify.enabled:
            try:
                v = driver.stage_verify(cfg_w, pnet, emitted, data, wdir, state, show)
            except VerificationMismatch:
                v = json.loads((wdir / "verify" / "result.json").read_text())
            point["verify"][mode] = {"mismatches": v.get("mismatches"), "waves": v.get("waves"),
                                     "simulator": v.get("simulator"),
                                     "first_mismatch": v.get("first_mismatch"),
                                     "waveform": v.get("waveform")}
        else:
            point["verify"][mode] = None
        if cfg.synth.targets:
            syn = driver.stage_synth(cfg_w, emitted, wdir, show)
            point["cost"][mode] = {t: _cost(t, r) for t, r in syn.items()}
            if "generic" in syn:
                vlog = Path(emitted["verilog"]).read_text()
                mods = _modules(vlog, cfg.hdl.top, pnet, breakdown_modules)
                point["modules"][mode] = _measure_modules(vlog, mods, show)
    point["seconds"] = time.perf_counter() - t0
    return point


# ------------------------------------------------------------------------------ the sweep
def _cost_keys(weight_modes, targets) -> list[tuple[str, str, str]]:
    return [(m, t, PRIMARY_COST[t]) for m in weight_modes for t in targets if t in PRIMARY_COST]


def _within(metric: float, base: float, tol: float, higher: bool) -> bool:
    return metric >= base - tol - 1e-12 if higher else metric <= base + tol + 1e-12


def _verified(p: dict) -> bool:
    return all(v is None or v.get("mismatches") == 0 for v in p["verify"].values())


def best_within_tolerance(points: list[dict], tolerance: float, higher: bool,
                          by: tuple[str, str, str]) -> dict | None:
    """The point with the largest saving of cost ``by = (mode, target, field)`` relative to
    the base (``points[0]``) whose metric is within ``tolerance`` of the base's and whose
    designs verified with 0 mismatches; ties go to fewer synapses, then the earlier point."""
    mode, target, fld = by
    base = points[0]
    b = ((base["cost"].get(mode) or {}).get(target) or {}).get(fld)
    if not b:
        return None
    best = None
    for i, p in enumerate(points):
        c = ((p["cost"].get(mode) or {}).get(target) or {}).get(fld)
        if c is None or not _verified(p) or not _within(p["metric"], base["metric"], tolerance, higher):
            continue
        saving = (b - c) / b
        cand = (saving, -p["synapses"], -i)
        if best is None or cand > best[0]:
            best = (cand, i, p, c, saving)
    if best is None:
        return None
    _, i, p, c, saving = best
    return {"index": i, "spec": p["spec"], "pipeline": p["pipeline"], "cost": f"{mode}.{target}.{fld}",
            "value": c, "base_value": b, "saving": saving, "metric": p["metric"],
            "metric_delta": p["metric_delta"], "synapses": p["synapses"],
            "synapses_removed_share": p["synapses_removed_share"]}


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
    # canonical spec -> user spec (parse every spec before any work: errors come first)
    points_in: dict[str, str] = {"none": "none"}
    needs_activity = False
    for s in specs:
        ps = parse_pipeline(s)
        needs_activity |= any("activity" in p.needs for p in ps)
        points_in.setdefault(pipeline_spec(ps), s.strip() or "none")
    key_name, higher = driver.primary_metric(cfg)
    targets = tuple(cfg.synth.targets)
    keys = _cost_keys(weight_modes, targets)
    if best_by is None:
        by = keys[0] if keys else None
    else:
        parts = tuple(best_by.split("."))
        if len(parts) != 3 or parts[0] not in weight_modes or parts[1] not in targets:
            raise ConfigError(f"best_by={best_by!r}; expected MODE.TARGET.FIELD with MODE in "
                              f"{list(weight_modes)} and TARGET in {list(targets)}, e.g. "
                              "hardwired.generic.transistors", path="--best-by")
        by = (parts[0], parts[1], parts[2])

    base_dir = outdir / "base"
    step(f"base: train once in {base_dir}", show)
    driver.run(cfg, base_dir, stages=("train",), show=show)
    net = load(base_dir / "ir" / "model.json")
    data = driver.prepare_data(cfg)

    ctx = PassContext()
    act_summary = None
    act_key = None
    if needs_activity:
        ctx.activity, act_summary, act_key = _activity(cfg, base_dir, net, data, outdir, show)

    cfg_d = cfgmod.to_dict(cfg)
    points: list[dict] = []
    memo: dict[str, dict] = {}
    n_pts = len(points_in)
    for k, (canon, user) in enumerate(points_in.items()):
        pdir = outdir / "points" / _slug(canon)
        pkey = driver.digest(SCHEMA, canon, to_text(net), cfg_d, list(weight_modes),
                             retrain_epochs, breakdown_modules,
                             act_key if "prune-inactive" in canon else None)
        rfile = pdir / "result.json"
        if rfile.exists():
            old = json.loads(rfile.read_text())
            if old.get("key") == pkey:
                step(f"point {k + 1}/{n_pts} {user}: up to date (resumed)", show)
                points.append(old["point"])
                memo.setdefault(old["point"]["ir_sha256"], old["point"])
                continue
        step(f"point {k + 1}/{n_pts}: {user}", show)
        p = _run_point(cfg, canon, net, net, data, pdir, ctx=ctx, weight_modes=weight_modes,
                       retrain_epochs=retrain_epochs if canon != "none" else 0,
                       breakdown_modules=breakdown_modules, show=show, memo=memo)
        p["spec"] = user
        memo.setdefault(p["ir_sha256"], p)
        p["dir"] = os.path.relpath(pdir, outdir)
        driver.write_json(rfile, {"key": pkey, "point": p})
        points.append(p)
    base = points[0]
    for p in points:
        p["metric_delta"] = p["metric"] - base["metric"]
        p["within_tolerance"] = _within(p["metric"], base["metric"], tolerance, higher)
        p["verified"] = _verified(p)
        for mode, per in p["cost"].items():
            for t, c in per.items():
                f = PRIMARY_COST.get(t)
                bc = ((base["cost"].get(mode) or {}).get(t) or {}).get(f)
                if f and bc and c.get(f) is not None:
                    c["saving"] = (bc - c[f]) / bc
        _module_shares(p, base)
    best_all = [b for k_ in keys if (b := best_within_tolerance(points, tolerance, higher, k_))]
    best = best_within_tolerance(points, tolerance, higher, by) if by else None
    from .flows import tool_versions

    doc = {
        "schema": SCHEMA, "name": cfg.experiment.name,
        "command": command or f"neutnngen prune {outdir / 'base' / 'config.toml'}",
        "config": cfg_d, "dataset": data.info,
        "metric": {"key": key_name, "split": "test", "higher_is_better": higher},
        "base_metric": base["metric"], "tolerance": tolerance,
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
        "tools": {"neutnngen": _version(), **tool_versions()},
        "seconds": time.perf_counter() - t_start,
    }
    write_reports(doc, outdir)
    return doc


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neutnngen")
    except PackageNotFoundError:
        return "unknown"


def _module_shares(p: dict, base: dict) -> None:
    for mode, mods in p["modules"].items():
        top = ((p["cost"].get(mode) or {}).get("generic") or {}).get("transistors") or 0
        bmods = {m["module"]: m for m in base["modules"].get(mode, [])}
        for m in mods:
            m["share_of_top"] = m["transistors"] / top if top else None
            b = bmods.get(m["module"])
            m["transistors_base"] = b["transistors"] if b else None
            m["saving"] = ((b["transistors"] - m["transistors"]) / b["transistors"]
                           if b and b["transistors"] else None)


def _activity(cfg: Config, base_dir: Path, net, data, outdir: Path, show: bool
              ) -> tuple[Activity, dict, str]:
    """Capture counts of the base training, replayed layer by layer exactly as
    ``driver.build_and_train`` / ``train_network`` trained it: layer ``i`` from its initial
    weights with the trained layers below, over its own seeded stream of its epochs."""
    initial = load(base_dir / "ir" / "initial.json")
    learning = [li for li, la in enumerate(initial.layers) if la.learning is not None]
    n = len(data.X_train)
    labels_on = driver.needs_labels(initial)
    streams = {}
    for li in learning:
        order = driver.training_order(n, driver.layer_epochs(cfg, li), cfg.experiment.seed,
                                      cfg.train.shuffle)
        streams[li] = order
    key = driver.digest("activity", to_text(initial), to_text(net),
                        {str(k): v.tolist() for k, v in streams.items()}, labels_on,
                        np.asarray(data.y_train).tolist() if labels_on else None)
    f = outdir / "activity.npz"
    meta = outdir / "activity.json"
    if f.exists() and meta.exists() and json.loads(meta.read_text()).get("key") == key:
        step("activity: up to date (resumed)", show)
        return Activity.load(f), json.loads(meta.read_text())["summary"], key
    total = sum(len(o) for o in streams.values())
    step(f"activity: replay {total} training waves in the interpreter, counting captures", show)
    t0 = time.perf_counter()
    merged: Activity | None = None
    exact = True
    with Progress("replay", max(total, 1), enabled=show) as bar:
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
    assert merged is not None or not learning
    if merged is None:
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
    driver.write_json(meta, {"key": key, "summary": summary})
    return merged, summary, key


# ------------------------------------------------------------------------------ reports
def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if pct:
        return f"{100 * v:.1f}%"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def _label(p: dict, k: int) -> str:
    """Plot label: the target of a ``prune-fraction{target=T}`` point, else ``#k``."""
    m = re.fullmatch(r"prune-fraction\{target=([0-9.eE+-]+)\}", p["spec"])
    return m.group(1) if m else ("base" if k == 0 else f"#{k}")


def _annotate(ax, pts: list[tuple[float, float, str]]) -> None:
    """One label per distinct position (coincident points share it: ``0,0.1``)."""
    groups: dict[tuple[float, float], list[str]] = {}
    for x, y, lab in pts:
        groups.setdefault((round(x, 9), round(y, 9)), []).append(lab)
    for (x, y), labs in groups.items():
        ax.annotate(",".join(labs), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")


def summary_rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    """The per-point table (also printed by the CLI)."""
    head = ["#", "spec", "synapses", "removed", doc["metric"]["key"], "delta", "verify"]
    cols = []
    for m in doc["weight_modes"]:
        for t in doc["targets"]:
            if t == "generic":
                cols += [(m, t, "cells"), (m, t, "transistors")]
            elif t in ("ice40", "ecp5"):
                cols += [(m, t, "luts"), (m, t, "fmax_mhz")]
            elif t == "liberty":
                cols += [(m, t, "area")]
    short = {"hardwired": "hw", "register": "reg"}
    head += [f"{short.get(m, m)} {t} {f.replace('_mhz', '')}" for m, t, f in cols]
    rows = []
    for k, p in enumerate(doc["points"]):
        ver = "/".join("-" if v is None else str(v["mismatches"]) for v in p["verify"].values())
        r = [str(k), p["spec"], _fmt(p["synapses"]), _fmt(p["synapses_removed_share"], True),
             f"{p['metric']:.4f}", f"{p['metric_delta']:+.4f}", ver]
        for m, t, f in cols:
            v = ((p["cost"].get(m) or {}).get(t) or {}).get(f)
            r.append(_fmt(round(v, 1) if isinstance(v, float) else v))
        rows.append(r)
    return head, rows


def plot_curves(doc: dict, path: Path) -> Path:
    """Metric vs synapses, and metric vs each target's primary cost as a percentage of the
    unpruned base's (one line per weight mode, so both modes share an axis)."""
    from .report.render import mpl, save_figure

    plt = mpl()
    pts = doc["points"]
    targets = [t for t in doc["targets"] if t in PRIMARY_COST]
    n = 1 + len(targets)
    fig, axes = plt.subplots(1, n, figsize=(4.8 * n, 3.9), squeeze=False)
    axes = axes[0]
    key = doc["metric"]["key"]
    base = doc["base_metric"]
    tol = doc["tolerance"]
    higher = doc["metric"]["higher_is_better"]
    band = base - tol if higher else base + tol
    best = doc.get("best_within_tolerance")
    ax = axes[0]
    xy = sorted((p["synapses"], p["metric"], _label(p, k)) for k, p in enumerate(pts))
    ax.plot([x for x, _, _ in xy], [y for _, y, _ in xy], "o-", color="k")
    _annotate(ax, xy)
    ax.set_xlabel("synapses")
    ax.set_ylabel(f"{key} (test)")
    ax.set_title("metric vs synapses")
    for a in axes:
        a.axhline(base, color="grey", lw=0.8)
        a.axhline(band, color="grey", lw=0.8, ls="--")
    for ai, t in enumerate(targets, start=1):
        ax = axes[ai]
        f = PRIMARY_COST[t]
        for m, mk in zip(doc["weight_modes"], ("o-", "s--", "^:"), strict=False):
            b = ((pts[0]["cost"].get(m) or {}).get(t) or {}).get(f)
            if not b:
                continue
            xy = sorted((100 * c / b, p["metric"], _label(p, k)) for k, p in enumerate(pts)
                        if (c := ((p["cost"].get(m) or {}).get(t) or {}).get(f)) is not None)
            ax.plot([x for x, _, _ in xy], [y for _, y, _ in xy], mk, label=f"{m} (base {b:,.0f})")
            _annotate(ax, xy)
            if best and best["cost"] == f"{m}.{t}.{f}":
                ax.plot([100 * best["value"] / b], [best["metric"]], "*", ms=16, color="red",
                        label="best within tolerance")
        ax.set_xlabel(f"{t} {f}, % of the unpruned design")
        ax.set_title(f"metric vs {t} {f}")
        ax.legend(fontsize=7)
    side = "below" if higher else "above"
    fig.suptitle(f"{doc['name']}: pruning sweep (solid: unpruned base; dashed: tolerance "
                 f"{tol:g} {side}; labels: prune-fraction target or point #)", fontsize=10)
    fig.tight_layout()
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def render_markdown(doc: dict, plot: str | None) -> str:
    key = doc["metric"]["key"]
    direction = "higher is better" if doc["metric"]["higher_is_better"] else "lower is better"
    L = [f"# neutnngen pruning report: {doc['name']}", "",
         f"Dataset {doc['dataset'].get('name')}; metric `{key}` on the test split ({direction}); "
         f"unpruned base {doc['base_metric']:.4f}; tolerance {doc['tolerance']:g}; weight modes "
         f"{', '.join(doc['weight_modes'])}; targets {', '.join(doc['targets']) or 'none'}; "
         + (f"retrained {doc['retrain_epochs']} epoch(s) after pruning with the mask fixed."
            if doc["retrain_epochs"] else "no retraining after pruning."), ""]
    b = doc.get("best_within_tolerance")
    L += ["## Best within tolerance", ""]
    if b:
        L.append(f"`{b['spec']}`: {b['cost']} {_fmt(b['value'])} vs {_fmt(b['base_value'])} "
                 f"unpruned, a saving of **{100 * b['saving']:.1f}%** with {key} "
                 f"{b['metric']:.4f} ({b['metric_delta']:+.4f}), {b['synapses']} synapses "
                 f"({100 * b['synapses_removed_share']:.1f}% removed). Maximised cost: "
                 f"`{b['cost']}` (choose another with `--best-by MODE.TARGET.FIELD`).")
    else:
        L.append("No point is within tolerance with a measured cost.")
    others = [x for x in doc.get("best_within_tolerance_by_cost", []) if not b or x["cost"] != b["cost"]]
    if others:
        L += ["", _table(["cost maximised", "best spec", "value", "base", "saving", key],
                         [[f"`{x['cost']}`", f"`{x['spec']}`", _fmt(x["value"]),
                           _fmt(x["base_value"]), _fmt(x["saving"], True), f"{x['metric']:.4f}"]
                          for x in others])]
    if doc["verify_enabled"]:
        nver = sum(1 for p in doc["points"] for v in p["verify"].values() if v)
        waves = sorted({v["waves"] for p in doc["points"] for v in p["verify"].values() if v})
        sims = sorted({v["simulator"] for p in doc["points"] for v in p["verify"].values() if v})
        L += ["", "## Verification", "",
              (f"Every design ({nver} = {len(doc['points'])} points x {len(doc['weight_modes'])} "
               f"weight modes) was simulated cycle-accurately on {', '.join(sims)} and compared with "
               f"the reference interpreter every wave ({', '.join(map(str, waves))} test waves each): "
               + ("**0 mismatches in total**." if doc["verified_all"] else
                  f"**{doc['mismatches_total']} mismatches** -- see the verify column below."))]
    else:
        L += ["", "## Verification", "", "**Not verified** (verify.enabled = false)."]
    head, rows = summary_rows(doc)
    L += ["", "## Points", "",
          "`removed`: share of the base's synapses removed; `delta`: metric minus the base's; "
          "`verify`: mismatches per weight mode (" + "/".join(doc["weight_modes"]) + ").", "",
          _table(head, rows)]
    if plot:
        L += ["", "## Accuracy vs cost", "", f"![accuracy vs cost]({plot})"]
    act = doc.get("activity")
    if act:
        L += ["", "## Training activity (prune-inactive)", "",
              f"Replayed {act['waves']} training waves ({act['epochs']} epochs) in the interpreter "
              f"in {act['seconds']:.2f} s; {act['note']}. {act['distal_positions_never_captured']} of "
              f"{act['distal_positions']} distal synapse positions never captured."]
    L += ["", "## Where the synapses and the cost went", "",
          "Synapses per neuron (before -> after). Module cost: generic CMOS transistors of the "
          "neuron's / column's own Verilog module synthesized on its own (`synth -top MODULE`), "
          "its share of the whole design's transistors, and its saving against the same module "
          "of the unpruned base. Modules synthesized alone are not optimised across their "
          "boundary, so shares need not add up to 100%.", ""]
    for p in doc["points"][1:]:
        L += [f"### `{p['spec']}`", ""]
        rows = []
        mods = {mode: {m["path"]: m for m in ms} for mode, ms in p["modules"].items()}
        for lvl, items in (("column", p["breakdown"]["columns"]), ("neuron", p["breakdown"]["neurons"])):
            for it in items:
                r = [lvl, it["path"], f"{it['synapses_before']} -> {it['synapses']}"]
                for mode in doc["weight_modes"]:
                    m = mods.get(mode, {}).get(it["path"])
                    r.append("-" if not m else
                             f"{_fmt(m['transistors'])} ({_fmt(m['share_of_top'], True)}; "
                             f"saves {_fmt(m['saving'], True)})")
                rows.append(r)
        L.append(_table(["level", "IR path", "synapses",
                         *[f"{m} transistors (share; saving)" for m in doc["weight_modes"]]], rows))
        L.append("")
    L += ["## Reproduce", "", "```", doc["command"], "```", "",
          "Every point's `pipeline` in `prune.json` is its canonical pass spec; "
          "`neutnngen prune CONFIG --passes 'SPEC'` reruns it.", "",
          _table(["tool", "version"], [[k, str(v)] for k, v in doc["tools"].items()])]
    return "\n".join(L) + "\n"


def write_reports(doc: dict, outdir: Path) -> dict[str, Path]:
    """``prune.json``, ``prune.md``, ``prune.html`` and ``plots/prune_curve.png``."""
    outdir = Path(outdir)
    driver.write_json(outdir / "prune.json", doc)
    plot = None
    if doc["points"]:
        plot = plot_curves(doc, outdir / "plots" / "prune_curve.png")
    rel = os.path.relpath(plot, outdir) if plot else None
    md = render_markdown(doc, rel)
    driver.atomic_write_text(outdir / "prune.md", md)
    driver.atomic_write_text(outdir / "prune.html", markdown_to_html(
        md, f"neutnngen pruning: {doc['name']}", [plot] if plot else []))
    return {"json": outdir / "prune.json", "md": outdir / "prune.md",
            "html": outdir / "prune.html", **({"plot": plot} if plot else {})}
