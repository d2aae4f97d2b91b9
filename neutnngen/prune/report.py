"""The pruning reports: ``prune.json``, ``prune.md``, ``prune.html`` and the accuracy-vs-cost
plot ``plots/prune_curve.png``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .._io import atomic_write_text, write_json
from ..report.plots import mpl, save_figure
from ..report.render import markdown_to_html
from .points import PRIMARY_COST


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
    val = doc["metric"].get("split") == "val"
    key = doc["metric"]["key"]
    head = ["#", "spec", "synapses", "removed", f"{key} (val)" if val else key, "delta",
            *([f"{key} (test, held out)"] if val else []), "verify"]
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
             f"{p['metric']:.4f}", f"{p['metric_delta']:+.4f}",
             *([f"{p.get('metric_test', float('nan')):.4f}"] if val else []), ver]
        for m, t, f in cols:
            v = ((p["cost"].get(m) or {}).get(t) or {}).get(f)
            r.append(_fmt(round(v, 1) if isinstance(v, float) else v))
        rows.append(r)
    return head, rows


def plot_curves(doc: dict, path: Path) -> Path:
    """Metric vs synapses, and metric vs each target's primary cost as a percentage of the
    unpruned base's (one line per weight mode, so both modes share an axis)."""
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
    ax.set_ylabel(f"{key} ({doc['metric'].get('split', 'test')})")
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
         f"Dataset {doc['dataset'].get('name')}; metric `{key}` on the "
         + ("validation split (`data.validation` of the training samples, held out: it "
            "chooses; the test split is only reported, column *held out*)"
            if doc["metric"].get("split") == "val" else "test split")
         + f" ({direction}); "
         f"unpruned base {doc['base_metric']:.4f}; tolerance {doc['tolerance']:g}; weight modes "
         f"{', '.join(doc['weight_modes'])}; targets {', '.join(doc['targets']) or 'none'}; "
         + (f"retrained {doc['retrain_epochs']} epoch(s) after pruning with the mask fixed."
            if doc["retrain_epochs"] else "no retraining after pruning."), ""]
    b = doc.get("best_within_tolerance")
    L += ["## Best within tolerance", ""]
    if b:
        L.append(f"`{b['spec']}`: {b['cost']} {_fmt(b['value'])} vs {_fmt(b['base_value'])} "
                 f"unpruned, a saving of **{100 * b['saving']:.1f}%** with {key} "
                 f"{b['metric']:.4f} ({b['metric_delta']:+.4f}"
                 + (f"; test {b.get('metric_test', float('nan')):.4f}, held out"
                    if doc["metric"].get("split") == "val" else "")
                 + f"), {b['synapses']} synapses "
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
    write_json(outdir / "prune.json", doc)
    plot = None
    if doc["points"]:
        plot = plot_curves(doc, outdir / "plots" / "prune_curve.png")
    rel = os.path.relpath(plot, outdir) if plot else None
    md = render_markdown(doc, rel)
    atomic_write_text(outdir / "prune.md", md)
    atomic_write_text(outdir / "prune.html", markdown_to_html(
        md, f"neutnngen pruning: {doc['name']}", [plot] if plot else []))
    return {"json": outdir / "prune.json", "md": outdir / "prune.md",
            "html": outdir / "prune.html", **({"plot": plot} if plot else {})}
