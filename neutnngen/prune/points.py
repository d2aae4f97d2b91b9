"""One pruning point, and how points compare: inputs (sweep values, pass specs), a point
pruned, retrained, evaluated, compiled, verified and synthesized through the pipeline's
stages, and the best point within tolerance."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text
from ..config import Config
from ..errors import ConfigError, PassError, VerificationMismatch
from ..ir import save, to_text
from ..passes import PassContext, parse_pipeline, run_pipeline, synapse_table
from ..pipeline import Context, get_task, run_stage, train_network
from ..pipeline.stages import CompileStage, SynthStage, VerifyStage
from ..progress import step, track

SCHEMA = "neutnngen-prune/1"
WEIGHT_MODES = ("hardwired", "register")
MAX_POINTS = 1000
"""The most pruning points one sweep accepts (each compiles, verifies and synthesizes)."""
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
            n_more = int((end - out[-1]) / stepv + 1e-9)
            if len(out) + n_more > MAX_POINTS:
                raise ConfigError(f"--sweep {text!r} gives {len(out) + n_more} points; at most "
                                  f"{MAX_POINTS} are accepted (each point compiles, verifies "
                                  "and synthesizes designs): use a larger step", path="--sweep")
            k = 1
            while out[-1] + stepv <= end + 1e-9 and k < MAX_POINTS + 1:
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
    if len(out) > MAX_POINTS:
        raise ConfigError(f"--sweep gives {len(out)} points; at most {MAX_POINTS} are accepted",
                          path="--sweep")
    return out


def parse_pass_list(text: str) -> list[str]:
    """``"SPEC;SPEC;..."`` -> the pass pipelines, each parsed (an error names the bad one);
    an empty list (``""``, ``";;;"``) is an error."""
    from ..passes import parse_pipeline

    specs = [s.strip() for s in str(text).split(";") if s.strip()]
    if not specs:
        raise ConfigError(f"--passes {text!r}: no pass pipeline; expected SPEC;SPEC;..., e.g. "
                          "'prune-weight{max=0};prune-fraction{target=0.4}' "
                          "(neutnngen prune --list-passes)", path="--passes")
    if len(specs) > MAX_POINTS:
        raise ConfigError(f"--passes gives {len(specs)} points; at most {MAX_POINTS} are "
                          "accepted", path="--passes")
    for sp in specs:
        parse_pipeline(sp)
    return specs


def parse_weight_modes(text: str) -> tuple[str, ...]:
    """``"hardwired,register"`` -> the weight modes (each known, at least one)."""
    modes = tuple(m.strip() for m in str(text).split(",") if m.strip())
    if not modes:
        raise ConfigError(f"--weights {text!r}: no weight mode; accepted: "
                          f"{', '.join(WEIGHT_MODES)}", path="--weights")
    if len(set(modes)) != len(modes):
        raise ConfigError(f"--weights {text!r} repeats a weight mode; accepted: "
                          f"{', '.join(WEIGHT_MODES)}, each once", path="--weights")
    for m in modes:
        if m not in WEIGHT_MODES:
            raise ConfigError(f"--weights: weight mode {m!r}; accepted for pruning reports: "
                              f"{', '.join(WEIGHT_MODES)}", path="--weights")
    return modes


def check_best_by(best_by: str | None, weight_modes: tuple[str, ...],
                  targets: tuple[str, ...] | None = None) -> None:
    """``MODE.TARGET.FIELD`` names a weight mode of the sweep, a synthesis target (of
    ``targets`` when known) and a cost field of that target (:data:`COST_FIELDS`)."""
    if best_by is None:
        return
    parts = str(best_by).split(".")
    allowed = tuple(targets) if targets is not None else tuple(COST_FIELDS)
    ok = len(parts) == 3 and parts[0] in weight_modes and parts[1] in allowed
    if ok and parts[2] not in COST_FIELDS.get(parts[1], ()):
        raise ConfigError(f"--best-by {best_by!r}: {parts[1]} has no cost field {parts[2]!r}; "
                          f"accepted: {', '.join(COST_FIELDS.get(parts[1], ()))}",
                          path="--best-by")
    if not ok:
        raise ConfigError(f"--best-by {best_by!r}; expected MODE.TARGET.FIELD with MODE in "
                          f"{list(weight_modes)} and TARGET in {list(allowed)}, e.g. "
                          "hardwired.generic.transistors", path="--best-by")


def check_options(specs: list[str], weight_modes: tuple[str, ...], *, tolerance: float,
                  retrain_epochs: int, best_by: str | None, breakdown_modules: int) -> None:
    """Every ``neutnngen prune`` option checked before the config's data is loaded."""
    import math

    if not specs:
        raise ConfigError("no pruning point; give --sweep or --passes", path="--sweep")
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance >= 0):
        raise ConfigError(f"--tolerance {tolerance!r}; expected a number >= 0", path="--tolerance")
    if retrain_epochs < 0:
        raise ConfigError(f"--retrain-epochs {retrain_epochs}; expected >= 0",
                          path="--retrain-epochs")
    if breakdown_modules < 0:
        raise ConfigError(f"--breakdown-modules {breakdown_modules}; expected a count >= 0 "
                          "(0: synapse breakdown only)", path="--breakdown-modules")
    check_best_by(best_by, weight_modes)


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


def slug(spec: str) -> str:
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
    from .. import flows

    out = []
    for m in track(mods, "breakdown", show=show, note=lambda m: m["module"], unit="module"):
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


def run_point(cfg: Config, spec: str, net, base_net, data, pdir: Path, *, ctx: PassContext,
              weight_modes: tuple[str, ...], retrain_epochs: int, breakdown_modules: int,
              show: bool, memo: dict[str, dict]) -> dict:
    """Prune ``net`` with the pipeline ``spec`` (optionally retrain), measure the task
    metric, and for each weight mode compile, verify and synthesize through the pipeline's
    stages in ``pdir/<mode>`` (each resumable there). A point whose IR equals an earlier
    one's (``memo``, by IR text digest) reuses its hardware results."""
    task = get_task(cfg)
    t0 = time.perf_counter()
    res = run_pipeline(net, parse_pipeline(spec), ctx)
    pnet = res.network
    retrain = None
    if retrain_epochs:
        step(f"retrain {retrain_epochs} epoch(s) with the pruned mask fixed", show)
        masks = [c.distal.mask for la in pnet.layers for c in la.columns]
        pnet, rstats = train_network(cfg, pnet, data, show, epochs=retrain_epochs)
        after = [c.distal.mask for la in pnet.layers for c in la.columns]
        if any(not np.array_equal(a, b) for a, b in zip(masks, after, strict=True)):
            raise PassError("retraining changed the pruned connectivity (masked synapses must "
                            "never learn)")
        retrain = {k: rstats.get(k) for k in ("epochs", "waves", "mode", "seconds")}
    save(pnet, pdir / "ir" / "model")
    atomic_write_text(pdir / "ir" / "model.txt", to_text(pnet))
    ev = task.evaluate(pnet, data, cfg.experiment.seed)
    key, _hib = task.primary_metric(cfg)
    # the metric that chooses: the validation split's when the config holds one out (the
    # test split is then only reported), else the test split's
    split = "val" if "val" in ev["metrics"] else "test"
    point: dict[str, Any] = {
        "spec": spec, "pipeline": res.spec, "passes": res.stats, "retrain": retrain,
        "synapses": int(pnet.synapses), "synapses_before": int(base_net.synapses),
        "synapses_removed_share": 1 - pnet.synapses / max(1, base_net.synapses),
        "metric": float(ev["metrics"][split][key]), "metric_split": split,
        "metric_test": float(ev["metrics"]["test"][key]), "metrics": ev["metrics"],
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
        sctx = Context.open(cfg_w, wdir, task, show=show, data=data, net=pnet)
        run_stage(CompileStage(), sctx)
        emitted = sctx.emitted
        info = emitted["info"]
        point["hdl"][mode] = {"latency_cycles": info.get("LATENCY"),
                              "wave_cycles": info.get("WAVE_CYCLES"),
                              "verilog": os.path.relpath(emitted["verilog"], pdir.parent.parent)}
        if cfg.verify.enabled:
            try:
                v = run_stage(VerifyStage(), sctx)
            except VerificationMismatch:
                v = json.loads((wdir / "verify" / "result.json").read_text())
            point["verify"][mode] = {"mismatches": v.get("mismatches"), "waves": v.get("waves"),
                                     "simulator": v.get("simulator"),
                                     "first_mismatch": v.get("first_mismatch"),
                                     "waveform": v.get("waveform")}
        else:
            point["verify"][mode] = None
        if cfg.synth.targets:
            syn = run_stage(SynthStage(), sctx)
            point["cost"][mode] = {t: _cost(t, r) for t, r in syn.items()}
            if "generic" in syn:
                vlog = Path(emitted["verilog"]).read_text()
                mods = _modules(vlog, cfg.hdl.top, pnet, breakdown_modules)
                point["modules"][mode] = _measure_modules(vlog, mods, show)
    point["seconds"] = time.perf_counter() - t0
    return point


# ------------------------------------------------------------------------------ comparing points
def cost_keys(weight_modes, targets) -> list[tuple[str, str, str]]:
    return [(m, t, PRIMARY_COST[t]) for m in weight_modes for t in targets if t in PRIMARY_COST]


def within(metric: float, base: float, tol: float, higher: bool) -> bool:
    return metric >= base - tol - 1e-12 if higher else metric <= base + tol + 1e-12


def verified(p: dict) -> bool:
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
        if c is None or not verified(p) or not within(p["metric"], base["metric"], tolerance, higher):
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
            "metric_test": p.get("metric_test", p["metric"]),
            "metric_delta": p["metric_delta"], "synapses": p["synapses"],
            "synapses_removed_share": p["synapses_removed_share"]}


def module_shares(p: dict, base: dict) -> None:
    for mode, mods in p["modules"].items():
        top = ((p["cost"].get(mode) or {}).get("generic") or {}).get("transistors") or 0
        bmods = {m["module"]: m for m in base["modules"].get(mode, [])}
        for m in mods:
            m["share_of_top"] = m["transistors"] / top if top else None
            b = bmods.get(m["module"])
            m["transistors_base"] = b["transistors"] if b else None
            m["saving"] = ((b["transistors"] - m["transistors"]) / b["transistors"]
                           if b and b["transistors"] else None)
