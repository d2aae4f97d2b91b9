"""``dse.json`` (schema ``neutnngen-dse/1``), ``dse.md`` and ``dse.html`` with Pareto plots.

Everything is read back from the study storage, so the report covers every trial of the
study (other processes' and earlier runs' included), not only this process's.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from .._io import atomic_write_text, write_json
from ..report.render import markdown_to_html
from . import forecast as fcmod
from .pareto import front
from .plots import plot_forecast, plot_pairs, plot_parallel, short
from .spec import DseSpec
from .trials import (
    A_CACHED,
    A_COMMAND,
    A_CONS,
    A_DIGEST,
    A_DURATION,
    A_ERROR,
    A_FEAS,
    A_FORECAST,
    A_HELD_OUT,
    A_OBJ,
    A_PARAMS,
    A_RETRY,
    A_SCREENED,
    A_STALE,
    A_STATUS,
    completed_points,
    counts,
)

SCHEMA = "neutnngen-dse/1"


def _state(t) -> str:
    return t.state.name


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def trial_rows(study) -> list[dict]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        status = ua.get(A_STATUS) or {"RUNNING": "running", "WAITING": "waiting",
                                      "COMPLETE": "ok", "FAIL": "fail",
                                      "PRUNED": "screened"}.get(_state(t), _state(t).lower())
        if ua.get(A_STALE):
            status = "stale"
        rows.append({
            "number": t.number, "state": _state(t), "status": status,
            "params": ua.get(A_PARAMS) or dict(t.params),
            "objectives": ua.get(A_OBJ), "held_out": ua.get(A_HELD_OUT) or {},
            "constraints": ua.get(A_CONS),
            "feasible": ua.get(A_FEAS), "duration_s": ua.get(A_DURATION),
            "digest": ua.get(A_DIGEST), "command": ua.get(A_COMMAND),
            "screened": bool(ua.get(A_SCREENED, False)) and _state(t) == "PRUNED",
            "screen_reason": ua.get("dse_screen_reason"),
            "forecast": ua.get(A_FORECAST), "error": ua.get(A_ERROR) or ua.get(A_STALE),
            "measured_before_screen": ua.get("dse_measured_before_screen"),
            "cached": ua.get(A_CACHED), "retry_of": ua.get(A_RETRY),
            "start": _iso(t.datetime_start), "complete": _iso(t.datetime_complete),
        })
    return rows


def pareto_front(rows: list[dict], spec: DseSpec) -> list[dict]:
    ok = [r for r in rows if r["state"] == "COMPLETE" and r["objectives"] and r["feasible"] is not False]
    pts = [[r["objectives"][p] for p in spec.objective_paths] for r in ok]
    idx = front(pts, spec.directions)
    fr = [{"number": ok[i]["number"], "objectives": ok[i]["objectives"],
           "held_out": ok[i].get("held_out") or {},
           "params": ok[i]["params"], "command": ok[i]["command"], "digest": ok[i]["digest"]}
          for i in idx]
    # sorted by the first objective, best first
    p0, d0 = spec.objectives[0]
    fr.sort(key=lambda r: -r["objectives"][p0] if d0 == "maximize" else r["objectives"][p0])
    return fr


def forecast_section(study) -> tuple[dict, list[dict]]:
    """The cost forecast fitted on every measured point, with its leave-one-out errors and
    the forecast each trial had before synthesis."""
    from optuna.trial import TrialState

    _, pts = completed_points(study)
    fc = fcmod.fit(pts)
    d = fc.to_dict()
    forecasts = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.user_attrs.get(A_FORECAST):
            forecasts[t.number] = t.user_attrs[A_FORECAST]
    vs = []
    for r in fc.loo:
        pre = (forecasts.get(r["key"]) or {}).get(r["metric"])
        vs.append({"number": r["key"], "weights": r["weights"], "metric": r["metric"],
                   "measured": r["measured"], "predicted_loo": r["predicted"],
                   "predicted_before_synthesis": pre,
                   "error": (r["predicted"] - r["measured"]) / r["measured"]})
    d["vs_measured"] = vs
    return d, vs


def _study_rate(rows: list[dict]) -> float | None:
    fin = [r for r in rows if r["state"] in ("COMPLETE", "PRUNED", "FAIL") and r["status"] != "stale"
           and r["start"] and r["complete"]]
    if len(fin) < 1:
        return None
    t0 = min(datetime.fromisoformat(r["start"]) for r in fin)
    t1 = max(datetime.fromisoformat(r["complete"]) for r in fin)
    dt = (t1 - t0).total_seconds()
    return 60.0 * len(fin) / dt if dt > 0 else None


def build(study, spec: DseSpec, storage_url: str, target: int, sess, cfg_path: str) -> dict:
    rows = trial_rows(study)
    fr = pareto_front(rows, spec)
    fcd, _ = forecast_section(study)
    return {
        "schema": SCHEMA,
        "study": spec.study_name,
        "storage": storage_url,
        "config": spec.source,
        "base_config": cfg_path,
        "sampler": spec.sampler,
        "seed": spec.seed,
        "target_trials": target,
        "stages": list(spec.stages),
        "space": spec.space_dict()["params"],
        "objectives": [{"path": p, "direction": d} for p, d in spec.objectives],
        "constraints": [c.text for c in spec.constraints],
        "counts": counts(study),
        "trials": rows,
        "front": fr,
        "forecast": fcd,
        "throughput": {"session": sess.to_dict() if sess is not None else None,
                       "study_trials_per_min": _study_rate(rows)},
    }


# ------------------------------------------------------------------------------ text
def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.0f}" if abs(v) >= 1000 or v.is_integer() else f"{v:.4g}"
    return str(v)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in r) + " |")
    return "\n".join(out)


def render_markdown(d: dict, spec: DseSpec, plots: dict[str, str]) -> str:
    c = d["counts"]
    th = d["throughput"]
    sess = th.get("session") or {}
    L = [f"# neutnngen design-space exploration: {d['study']}", "",
         f"Study `{d['study']}` in `{d['storage']}`; sampler {d['sampler']} (seed {d['seed']}); "
         f"{c['finished']} finished trials of {d['target_trials']} "
         f"({c['complete']} complete, {c['screened']} screened, {c['failed']} failed, "
         f"{c['stale']} stale and asked again, {c['running']} running).", ""]
    if sess:
        L.append(f"This run: {sess.get('trials', 0)} trials in {sess.get('wall_s', 0):.0f} s on "
                 f"{sess.get('workers', 0)} worker(s): {sess.get('trials_per_min', 0):.2f} "
                 f"trials/min ({sess.get('evaluated', 0)} complete, of which "
                 f"{sess.get('cached', 0)} from the cache; {sess.get('screened', 0)} screened; "
                 f"{sess.get('failed', 0)} failed).")
    if th.get("study_trials_per_min"):
        L.append(f"Whole study: {th['study_trials_per_min']:.2f} trials/min.")
    L += ["", "## Objectives and constraints", ""]
    L.append(_table(["objective", "direction"], [[o["path"], o["direction"]] for o in d["objectives"]]))
    if d["constraints"]:
        L += ["", "Constraints: " + "; ".join(f"`{x}`" for x in d["constraints"])]
    L += ["", "## Search space", "",
          _table(["parameter", "values"], [[k, json.dumps(v)] for k, v in d["space"].items()])]
    L += ["", f"## Pareto front ({len(d['front'])} points)", ""]
    # objectives on the validation split: the held-out test value of each front point beside
    held = sorted({k for r in d["front"] for k in r.get("held_out", {})})
    if held:
        L += ["The front is picked on the validation split (carved from the training data); "
              "the test split is only reported (columns marked *test, held out*).", ""]
    head = ["trial", *[short(p) for p in spec.objective_paths],
            *[f"{short(k)} (held out)" for k in held], *[p.key for p in spec.params],
            "reproduce"]
    L.append(_table(head, [[r["number"], *[r["objectives"][p] for p in spec.objective_paths],
                            *[r.get("held_out", {}).get(k) for k in held],
                            *[r["params"].get(p.key) for p in spec.params], f"`{r['command']}`"]
                           for r in d["front"]]))
    for key, title in (("pairs", "Objective pairs"), ("parallel", "Parallel coordinates"),
                       ("forecast", "Forecast vs measured")):
        if key in plots:
            L += ["", f"## {title}", "", f"![{title}]({plots[key]})"]
    fc = d["forecast"]
    L += ["", "## Cost forecast", "",
          "Per-weight-mode weighted least squares on IR features (docs/dse.md); error is "
          "leave-one-out (each point predicted by a model fitted without it).", "",
          _table(["metric", "LOO MAPE", *[f"MAPE {m}" for m in sorted(fc.get("mape_by_weights", {}))]],
                 [[m, f"{100 * v:.2f}%", *[(f"{100 * fc['mape_by_weights'][w][m]:.2f}%"
                                            if m in fc["mape_by_weights"][w] else "-")
                                           for w in sorted(fc["mape_by_weights"])]]
                  for m, v in sorted(fc["mape"].items())]),
          "", f"Measured points per weight mode: {json.dumps(fc.get('points', {}))}."]
    vs = fc.get("vs_measured") or []
    if vs:
        L += ["", "### Forecast vs measured, every synthesized point", "",
              _table(["trial", "weights", "metric", "measured", "forecast (LOO)", "error",
                      "forecast before synthesis"],
                     [[r["number"], r["weights"], short(r["metric"]), r["measured"],
                       r["predicted_loo"], f"{100 * r['error']:+.1f}%",
                       r["predicted_before_synthesis"]] for r in vs])]
    L += ["", "## All trials", ""]
    head = ["#", "status", *[short(p) for p in spec.objective_paths], *[p.key for p in spec.params],
            "s", "digest", "note"]
    rows = []
    for r in d["trials"]:
        obj = r["objectives"] or {}
        fc_ = r["forecast"] or {}
        part = r.get("measured_before_screen") or {}
        vals = [obj.get(p, part.get(p, (f"~{_fmt(fc_[p])}" if p in fc_ else None)))
                for p in spec.objective_paths]
        note = r["screen_reason"] if r["screened"] else (r["error"] or "")
        if r["feasible"] is False:
            note = "infeasible " + note
        rows.append([r["number"], r["status"], *vals, *[r["params"].get(p.key) for p in spec.params],
                     r["duration_s"], (r["digest"] or "")[:10], str(note)[:90]])
    L.append(_table(head, rows))
    L.append("")
    L.append("`~` marks a forecast: screened trials are trained (their quality is measured) "
             "but not compiled or synthesized.")
    return "\n".join(L) + "\n"


def render_html(md: str, d: dict, files: dict[str, Path]) -> str:
    """Standalone HTML: the Markdown's tables and text, plots embedded as PNG data."""

    return markdown_to_html(md, f"neutnngen DSE: {d['study']}", list(files.values()))


def write_reports(study, spec: DseSpec, out: Path, storage_url: str, target: int, sess,
                  cfg_path: str, plots: bool = True) -> dict:
    """Write ``dse.json`` (always) and, with ``plots``, ``dse.md``, ``dse.html``, plots/."""
    d = build(study, spec, storage_url, target, sess, cfg_path)
    write_json(out / "dse.json", d)
    if plots:
        files: dict[str, Path] = {}
        for key, fn in (("pairs", lambda p: plot_pairs(d, spec, p)),
                        ("parallel", lambda p: plot_parallel(d, spec, p)),
                        ("forecast", lambda p: plot_forecast(d, p))):
            f = fn(out / "plots" / f"dse_{key}.png")
            if f is not None:
                files[key] = f
        rel = {k: os.path.relpath(f, out) for k, f in files.items()}
        md = render_markdown(d, spec, rel)
        atomic_write_text(out / "dse.md", md)
        atomic_write_text(out / "dse.html", render_html(md, d, files))
    return d


__all__ = ["SCHEMA", "build", "pareto_front", "render_html", "render_markdown", "trial_rows",
           "write_reports"]
