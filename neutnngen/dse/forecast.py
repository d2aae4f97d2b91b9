"""Hardware-cost forecast from IR features, without running Yosys.

Cost of a generated design (``neutnngen.hdl``: SAR-serial segments, one pipelined line
multiplexer per column) is close to linear in a few structural quantities of the IR:

==================  ===========================================================  =============
term                what it counts                                                 hardware
==================  ===========================================================  =============
``1``               fixed sequencer, step counter, output latch                   control
``weight_bits``     synapses x wres                                                weight ROM or
                                                                                   registers + mux
``seg_acc``         sum over segments of bits(theta + w_max)                        accumulators
``seg_time``        segments x passes (B = bits of the longest wave)               SAR time regs
``in_bits``         inputs x timeres                                               input latches,
                                                                                   line mux
``neuron_time``     neurons x passes                                               decisions,
                                                                                   inhibition
==================  ===========================================================  =============

One least-squares model per weight mode (``hardwired`` and ``register`` differ in kind: a
constant table vs. flip-flops) and per cost metric, weighted by ``1/measured`` so that it
minimises *relative* error (numpy ``lstsq``; no other dependency). With few measured points a
mode uses fewer terms (:data:`REDUCED`, then :data:`MINIMAL`), so it never fits more terms than
it can check. The held-out error is leave-one-out MAPE per metric: every measured point is
predicted by a model fitted without it, which is also the number the screen uses as its
margin. Latency, wave cycles, synapses, segments and neurons are not forecast but computed
exactly from the IR and the HDL plan (:func:`features`).

Features come from the *initial* network (``pipeline.init_network``, before training): that is
what a candidate has before it is evaluated, so training's effect on cost (pruned or zero
weights in hardwired mode) is part of the measured forecast error, not hidden from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

COST_METRICS = (
    "synth.generic.cells",
    "synth.generic.transistors",
    "synth.generic.flip_flops",
    "synth.ice40.luts",
    "synth.ice40.flip_flops",
    "synth.liberty.area_um2",
)
"""Report paths the forecast learns (those measured in the study)."""

EXACT_METRICS = {
    "hdl.latency_cycles": "latency_cycles",
    "hdl.wave_cycles": "wave_cycles",
    "ir.synapses": "synapses",
    "ir.segments": "segments",
    "ir.neurons": "neurons",
    "ir.layers": "layers",
    "ir.inputs": "inputs",
}
"""Report paths known exactly from the initial IR and the HDL plan (report path -> feature)."""

TERMS = ("1", "weight_bits", "seg_acc", "seg_time", "in_bits", "neuron_time")
REDUCED = ("1", "weight_bits", "seg_time")
MINIMAL = ("1", "weight_bits")


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


def cost_group(weights: str, architecture: str = "serial") -> str:
    """The designs one cost model covers: a weight mode, and the architecture when it is not
    the serial one (a parallel design's cost follows other terms)."""
    return weights if architecture == "serial" else f"{weights}+{architecture}"


def features(net, weights: str, architecture: str = "serial") -> dict[str, Any]:
    """Structural features of a network (trained or not) built with ``weights`` in
    ``architecture``; ``"weights"`` is its :func:`cost_group`."""
    from ..hdl.plan import make_plan

    plan = make_plan(net, weights=weights, architecture=architecture)
    cols = [c for la in net.layers for c in la.columns]
    weight_bits = 0
    seg_acc = 0
    for c in cols:
        weight_bits += int(c.distal.mask.sum()) * c.distal.wres
        if c.proximal is not None:
            weight_bits += int(c.proximal.mask.sum()) * c.proximal.wres
        theta = np.asarray(c.theta).ravel()
        seg_acc += sum(_bits(int(t) + c.distal.w_max) for t in theta)
    neurons = sum(c.neurons for c in cols)
    segments = sum(c.neurons * c.dendrites * c.segments for c in cols)
    return {
        "weights": cost_group(weights, architecture),
        "architecture": architecture,
        "inputs": int(net.inputs),
        "outputs": int(net.outputs),
        "layers": len(net.layers),
        "columns": len(cols),
        "neurons": int(neurons),
        "segments": int(segments),
        "synapses": int(net.synapses),
        "timeres": int(net.time.timeres),
        "wres": int(max(c.distal.wres for c in cols)),
        "weight_bits": int(weight_bits),
        "seg_acc": int(seg_acc),
        "passes": int(plan.B),
        "lines": int(plan.J),
        "wave_cycles": int(plan.WAVE_CYCLES),
        "latency_cycles": int(plan.LATENCY),
    }


def design_row(f: dict[str, Any], terms: tuple[str, ...] = TERMS) -> np.ndarray:
    vals = {
        "1": 1.0,
        "weight_bits": f["weight_bits"],
        "seg_acc": f["seg_acc"],
        "seg_time": f["segments"] * f["passes"],
        "in_bits": f["inputs"] * f["timeres"],
        "neuron_time": f["neurons"] * f["passes"],
    }
    return np.array([float(vals[t]) for t in terms])


def terms_for(n: int) -> tuple[str, ...] | None:
    """Terms a model of ``n`` measured points may use (None: too few to fit anything)."""
    if n >= 2 * len(TERMS):
        return TERMS
    if n >= len(REDUCED) + 2:
        return REDUCED
    if n >= len(MINIMAL) + 1:
        return MINIMAL
    return None


def _wls(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares on relative error: rows scaled by 1/y; columns scaled for conditioning."""
    w = 1.0 / np.maximum(np.abs(y), 1e-9)
    A = X * w[:, None]
    scale = np.maximum(np.abs(A).max(axis=0), 1e-12)
    beta, *_ = np.linalg.lstsq(A / scale, y * w, rcond=None)
    return beta / scale


@dataclass
class LinearModel:
    terms: tuple[str, ...]
    beta: np.ndarray
    n: int

    def predict(self, f: dict[str, Any]) -> float:
        return float(design_row(f, self.terms) @ self.beta)

    def to_dict(self) -> dict:
        return {"terms": list(self.terms), "coef": [float(b) for b in self.beta], "n": self.n}


@dataclass
class CostForecast:
    """Per (weight mode, metric) linear models with leave-one-out errors."""

    models: dict[tuple[str, str], LinearModel] = field(default_factory=dict)
    mape: dict[str, float] = field(default_factory=dict)  # LOO MAPE per metric (fraction)
    mape_by_mode: dict[str, dict[str, float]] = field(default_factory=dict)
    loo: list[dict] = field(default_factory=list)  # key, weights, metric, measured, predicted
    points: dict[str, int] = field(default_factory=dict)  # measured points per weight mode

    def ready(self, weights: str, min_points: int) -> bool:
        return self.points.get(weights, 0) >= min_points and any(
            m == weights for m, _ in self.models)

    def predict(self, f: dict[str, Any]) -> dict[str, float]:
        """Forecast cost metrics plus the exact ones, for one feature dict."""
        out: dict[str, float] = {p: float(f[k]) for p, k in EXACT_METRICS.items()}
        for (mode, metric), m in self.models.items():
            if mode == f["weights"]:
                out[metric] = max(0.0, m.predict(f))
        return out

    def to_dict(self) -> dict:
        return {
            "mape": dict(self.mape),
            "mape_by_weights": self.mape_by_mode,
            "points": dict(self.points),
            "method": "per-weight-mode weighted least squares on IR features; "
                      "leave-one-out MAPE",
            "models": {f"{mode}:{metric}": m.to_dict()
                       for (mode, metric), m in sorted(self.models.items())},
            "exact": sorted(EXACT_METRICS),
        }


def fit(points: list[dict], metrics: tuple[str, ...] | None = None) -> CostForecast:
    """``points``: ``{"key", "features", "measured": {metric: value}}`` dicts (one per
    synthesized design). Returns the fitted forecast with leave-one-out errors."""
    fc = CostForecast()
    metrics = metrics or COST_METRICS
    by_mode: dict[str, list[dict]] = {}
    for p in points:
        by_mode.setdefault(p["features"]["weights"], []).append(p)
    fc.points = {m: len(v) for m, v in by_mode.items()}
    errs: dict[str, list[float]] = {}
    for mode, pts in sorted(by_mode.items()):
        for metric in metrics:
            sub = [p for p in pts if _finite(p["measured"].get(metric))
                   and p["measured"][metric] > 0]
            terms = terms_for(len(sub))
            if terms is None:
                continue
            X = np.array([design_row(p["features"], terms) for p in sub])
            y = np.array([float(p["measured"][metric]) for p in sub])
            fc.models[(mode, metric)] = LinearModel(terms, _wls(X, y), len(sub))
            # Leave-one-out: each point predicted by a model that never saw it, with the
            # terms a model of n-1 points would use.
            lo_terms = terms_for(len(sub) - 1)
            if lo_terms is None:
                continue
            Xl = np.array([design_row(p["features"], lo_terms) for p in sub])
            for i in range(len(sub)):
                keep = np.arange(len(sub)) != i
                b = _wls(Xl[keep], y[keep])
                pred = max(0.0, float(Xl[i] @ b))
                e = abs(pred - y[i]) / y[i]
                errs.setdefault(metric, []).append(e)
                fc.mape_by_mode.setdefault(mode, {}).setdefault(metric, 0.0)
                fc.loo.append({"key": sub[i].get("key"), "weights": mode, "metric": metric,
                               "measured": float(y[i]), "predicted": pred})
            mode_errs = [abs(r["predicted"] - r["measured"]) / r["measured"] for r in fc.loo
                         if r["weights"] == mode and r["metric"] == metric]
            fc.mape_by_mode[mode][metric] = float(np.mean(mode_errs))
    fc.mape = {m: float(np.mean(v)) for m, v in errs.items()}
    return fc


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)




# ------------------------------------------------------------------------------ screening
def screen_context(model: CostForecast, weights: str, spec, done: list[dict]) -> dict | None:
    """What a worker needs to screen one candidate after training (plain JSON): the models
    of ``weights``, their held-out MAPE, the current feasible front and, for objectives
    neither measured by training nor forecast, the best value seen so far. None when the
    forecast of ``weights`` has fewer than ``spec.screen_min_points`` measured points."""
    from .pareto import best, front

    if not model.ready(weights, spec.screen_min_points) or not done:
        return None
    paths = spec.objective_paths
    pts = [[t["objectives"][p] for p in paths] for t in done]
    idx = front(pts, spec.directions)
    return {
        "weights": weights,
        "objectives": paths,
        "directions": list(spec.directions),
        "front": [pts[i] for i in idx],
        "front_numbers": [done[i]["number"] for i in idx],
        "best": {p: best([v[k] for v in pts], d)
                 for k, (p, d) in enumerate(zip(paths, spec.directions, strict=True))},
        "models": {metric: m.to_dict() for (mode, metric), m in model.models.items()
                   if mode == weights},
        "mape": dict(model.mape),
        "margin": spec.screen_margin,
        "constraints": [[c.path, c.op, c.bound, c.text] for c in spec.constraints],
    }


def screen_decision(ctx: dict, report: dict, feats: dict) -> tuple[bool, dict, list, str]:
    """The screening rule (docs/dse.md): objectives the training run measured (task quality)
    are taken as measured; cost objectives are forecast from the IR and made optimistic by
    ``margin x`` their held-out MAPE (exact ones, such as latency, are exact); any other
    objective takes the best value seen so far. Skip synthesis when a point of the current
    front dominates that optimistic vector, or when a constrained metric's forecast violates
    its constraint even at the optimistic end. -> (skip, forecast, optimistic vector, reason)."""
    from .pareto import dominates
    from .paths import get_path
    from .spec import Constraint

    pred: dict[str, float] = {p: float(feats[k]) for p, k in EXACT_METRICS.items()}
    for metric, m in ctx["models"].items():
        pred[metric] = max(0.0, float(design_row(feats, tuple(m["terms"])) @ np.array(m["coef"])))

    def band(path: str) -> tuple[float, float]:
        e = 0.0 if path in EXACT_METRICS else ctx["margin"] * ctx["mape"].get(path, 1.0)
        return pred[path] * (1 - e), pred[path] * (1 + e)

    opt: list[float] = []
    for path, d in zip(ctx["objectives"], ctx["directions"], strict=True):
        v = get_path(report, path)
        if _finite(v):
            opt.append(float(v))
        elif path in pred:
            lo, hi = band(path)
            opt.append(lo if d == "minimize" else hi)
        else:
            opt.append(ctx["best"][path])
    for path, op, bound, text in ctx["constraints"]:
        if path in pred and not _finite(get_path(report, path)):
            c = Constraint(path, op, bound, text)
            lo, hi = band(path)
            if not (c.ok(lo) or c.ok(hi) or lo <= bound <= hi):
                return True, pred, opt, f"forecast violates {text}"
    for n, f in zip(ctx["front_numbers"], ctx["front"], strict=True):
        if dominates(f, opt, ctx["directions"]):
            return True, pred, opt, f"dominated by trial {n} beyond the forecast error"
    return False, pred, opt, "may reach the front"


__all__ = ["COST_METRICS", "EXACT_METRICS", "TERMS", "CostForecast", "LinearModel", "design_row",
           "features", "fit", "screen_context", "screen_decision", "terms_for"]
