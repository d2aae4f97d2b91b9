"""Render a report dict to Markdown and HTML, with matplotlib plots."""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def mpl():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Save a figure atomically (temporary file + rename), without a software tag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    os.replace(tmp, path)
    return path


def plot_weights(net, path: Path) -> Path:
    """Weight map of every segment of the first layer's first column (rows = segments)."""
    plt = mpl()
    col = net.layers[0].columns[0]
    q, D, S, p = col.distal.weights.shape
    w = np.where(col.distal.mask, col.distal.weights, np.nan).reshape(q * D * S, p)
    fig, ax = plt.subplots(figsize=(min(14, 3 + p / 15), 1.2 + 0.45 * q * D * S))
    im = ax.imshow(w, aspect="auto", cmap="viridis", vmin=0, vmax=col.distal.w_max,
                   interpolation="nearest")
    ax.set_yticks(range(q * D * S))
    ax.set_yticklabels([f"n{i}/d{d}/s{s}" for i in range(q) for d in range(D) for s in range(S)])
    ax.set_xlabel("input line (sample index of the series)")
    ax.set_title(f"{net.layers[0].name}/{col.name}: trained weights (0..{col.distal.w_max}; "
                 "blank = pruned)")
    fig.colorbar(im, ax=ax, label="weight")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def plot_raster(out: np.ndarray, labels: np.ndarray, path: Path, title: str) -> Path:
    """Output spike raster: x = test sample (sorted by true class), y = neuron, colour = time."""
    plt = mpl()
    order = np.argsort(labels, kind="stable")
    o = out[order]
    n, q = o.shape
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.5 * q))
    ii, jj = np.nonzero(o >= 0)
    sc = ax.scatter(ii, jj, c=o[ii, jj], cmap="plasma_r", s=12, marker="|", linewidths=2)
    bounds = np.flatnonzero(np.diff(labels[order])) + 0.5
    for b in bounds:
        ax.axvline(b, color="k", lw=0.8, ls="--")
    ax.set_yticks(range(q))
    ax.set_yticklabels([f"n{i}" for i in range(q)])
    ax.set_ylim(-0.5, q - 0.5)
    ax.set_xlabel("test sample (sorted by true class; dashed = class boundary)")
    ax.set_title(title)
    fig.colorbar(sc, ax=ax, label="output spike time")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def _metric_bars(report: dict) -> tuple[list[str], list[float], list[float], str, str]:
    """(labels, network values, baseline values, baseline name, y label) of the task."""
    kind = report["dataset"].get("kind", "ucr")
    m = report["metrics"]["test"]
    if kind == "mnist":
        b = report["baseline"]["nearest_centroid"]["test"]
        return (["test error", "coverage"], [m.get("error", 0), m.get("coverage", 0)],
                [b.get("error", 0), 1.0], "nearest class centroid (non-spiking)", "share")
    if kind == "place_cells":
        b = report["baseline"]["kmeans"]["test"]
        keys = ["median_decoding_error_cm", "chance_decoding_error_cm", "median_field_diameter_cm"]
        return (["median decoding error", "chance level", "median field diameter"],
                [m.get(k) or 0 for k in keys], [b.get(k) or 0 for k in keys],
                "k-means on the encoded inputs", "cm")
    keys = ["rand_index", "adjusted_rand_index", "purity", "coverage"]
    b = report["baseline"]["kmeans"]["test"]
    return (["Rand index", "adjusted RI", "purity", "coverage"], [m.get(k, 0) for k in keys],
            [b.get(k, 0) for k in keys], "k-means baseline", "score")


def plot_metrics(report: dict, path: Path) -> Path:
    plt = mpl()
    labels, tnn, base, bname, ylab = _metric_bars(report)
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(x - 0.2, tnn, 0.4, label="TNN (neutnngen)")
    ax.bar(x + 0.2, base, 0.4, label=bname)
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    if ylab != "cm":
        ax.set_ylim(min(0, min(tnn + base)) - 0.05, 1.05)
    ax.set_ylabel(ylab)
    ax.legend()
    ax.set_title(f"{report['dataset']['name']}: test split")
    p_ = save_figure(fig, path)
    plt.close(fig)
    return p_


def markdown_to_html(md: str, title: str, images: list[Path] | tuple[Path, ...] = ()) -> str:
    """Standalone HTML of a generated Markdown report, rendered by markdown-it-py (CommonMark
    plus pipe tables; ``\\|`` inside a cell is a literal bar; raw HTML is escaped). An image
    ``![alt](path)`` embeds the file of ``images`` whose name its path ends with, as PNG
    data; an image that is not in ``images`` is left out."""
    from markdown_it import MarkdownIt

    by_name = {f.name: f for f in images}
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")

    def image(renderer, tokens, idx, options, env) -> str:
        tok = tokens[idx]
        f = by_name.get(Path(str(tok.attrGet("src") or "")).name)
        if f is None or not f.exists():
            return ""
        alt = renderer.renderInlineAsText(tok.children or [], options, env)
        b64 = base64.b64encode(f.read_bytes()).decode()
        return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"

    parser.add_render_rule("image", image)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>"
            f"{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:1300px;"
            "margin:auto;padding:1em}table{border-collapse:collapse;font-size:12px;margin:.5em 0}"
            "td,th{border:1px solid #ccc;padding:2px 6px}code{font-size:11px}img{max-width:100%}"
            "</style></head><body>\n" + parser.render(md) + "</body></html>")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(rows: list[tuple[str, Any]], head: tuple[str, str] = ("quantity", "value")) -> str:
    out = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    out += [f"| {k} | {_fmt(v)} |" for k, v in rows]
    return "\n".join(out)


def _accuracy(r: dict) -> str:
    kind = r["dataset"].get("kind", "ucr")
    m, mt = r["metrics"]["test"], r["metrics"]["train"]
    if kind == "mnist":
        b = r["baseline"]["nearest_centroid"]["test"]
        return _table([("test error", m.get("error")), ("test accuracy", m.get("accuracy")),
                       ("test coverage (share with a winner)", m.get("coverage")),
                       ("train error", mt.get("error")), ("decoder", m.get("decoder")),
                       ("nearest class centroid on the same spike times (non-spiking): test error",
                        b.get("error"))])
    if kind == "place_cells":
        b = r["baseline"]["kmeans"]["test"]
        return _table([
            ("median decoding error (cm), test path", m.get("median_decoding_error_cm")),
            ("chance level (cm): test winners shuffled", m.get("chance_decoding_error_cm")),
            ("mean decoding error (cm)", m.get("mean_decoding_error_cm")),
            ("decoded share of test samples", m.get("decoded_share")),
            ("arena covered by place fields", m.get("coverage_arena")),
            ("median field diameter (cm)", m.get("median_field_diameter_cm")),
            ("neurons with a field / active", f"{m.get('neurons_with_field')} / {m.get('active_neurons')}"),
            ("k-means (same encoded inputs, same decoder): median error (cm)",
             b.get("median_decoding_error_cm")),
            ("input", r["dataset"].get("spikes"))])
    b = r["baseline"]["kmeans"]["test"]
    rows = ["| metric (test split) | TNN | k-means |", "|---|---|---|"]
    for k in ("rand_index", "adjusted_rand_index", "purity", "coverage"):
        rows.append(f"| {k} | {_fmt(m.get(k))} | {_fmt(b.get(k))} |")
    rows.append(f"| train rand_index | {_fmt(mt.get('rand_index'))} | "
                f"{_fmt(r['baseline']['kmeans']['train'].get('rand_index'))} |")
    return "\n".join(rows)


def _sections(r: dict) -> list[tuple[str, str]]:
    S: list[tuple[str, str]] = []
    ds = r["dataset"]
    S.append(("Dataset", _table([
        ("dataset", ds["name"]), ("source", ds.get("source")), ("encoder", ds.get("encoder")),
        ("train / test samples", f"{ds['n_train']} / {ds['n_test']}"),
        ("input lines", ds.get("inputs")), ("classes", len(ds.get("classes", [])))])))
    S.append(("Accuracy", _accuracy(r)))
    ir, tr = r["ir"], r["training"]
    S.append(("Network and training", _table([
        ("layers / columns / neurons / segments",
         f"{ir['layers']} / {ir['columns']} / {ir['neurons']} / {ir['segments']}"),
        ("synapses", ir["synapses"]), ("time base", f"timeres={ir['timeres']}, {ir['response']}"),
        ("training", (f"greedy, layer by layer: epochs per layer "
                      f"{ {k: v.get('epochs') for k, v in tr.get('layers', {}).items()} }"
                      if tr.get("greedy") else f"{tr['epochs']} epochs")
         + f", {tr['waves']} waves, mode={tr['mode']}"),
        ("training wall time (s), incl. JIT compile", tr.get("seconds")),
        ("training backend", f"{tr.get('backend', '-')} on {tr.get('device', '-')}"),
        ("IR text sha256", ir["text_sha256"][:16])])))
    if "hdl" in r:
        h = r["hdl"]
        S.append(("Hardware design", _table([
            ("weights", h["weights"]), ("top module", h["top"]), ("Verilog", h.get("verilog")),
            ("cycles per wave (initiation interval)", h.get("wave_cycles")),
            ("latency (cycles, input to output volley)", h.get("latency_cycles")),
            ("pipeline depth (waves)", h.get("pipeline_waves"))])))
    if "verify" in r:
        v = r["verify"]
        S.append(("Verification (RTL vs reference interpreter, every wave)", _table([
            ("simulator", f"{v.get('simulator')} {v.get('simulator_version', '')}"),
            ("waves compared", f"{v.get('waves')} training waves (on-chip learning)"
             if "weight_mismatches" in v else
             f"{v.get('waves')} of {r['dataset'].get('n_test')} test waves"
             + (" (seeded sample)" if v.get("waves") != r["dataset"].get("n_test") else "")),
            ("mismatches", v.get("mismatches")),
            ("first mismatch", json.dumps(v.get("first_mismatch")) if v.get("first_mismatch") else "none"),
            ("wall time (s)", v.get("wall_s"))]
            + ([("weights and LFSR states compared after every wave", "yes"),
                ("weight mismatches", v.get("weight_mismatches")),
                ("LFSR state mismatches", v.get("rng_mismatches")),
                ("first weight mismatch", json.dumps(v.get("first_weight_mismatch"))
                 if v.get("first_weight_mismatch") else "none"),
                ("chip-trained IR equals the software-trained IR", v.get("chip_equals_software"))]
               if "weight_mismatches" in v else []))))
    if "chip_trained" in r:
        m = r["chip_trained"]["metrics"]["test"]
        key = {"mnist": "error", "place_cells": "median_decoding_error_cm"}.get(
            r["dataset"].get("kind", "ucr"), "rand_index")
        S.append(("On-chip learning", _table([
            (f"test {key} of the chip-trained weights", m.get(key)),
            ("equal to the software-trained weights", r["chip_trained"]["equals_software"]),
            ("chip-trained IR", r["chip_trained"]["ir"])])))
    if "synth" in r:
        rows = []
        for tgt, s in r["synth"].items():
            if tgt == "generic":
                rows += [("generic cells", s.get("cells")), ("generic flip-flops", s.get("flip_flops")),
                         ("transistors (stat -tech cmos)", s.get("transistors")),
                         ("gate equivalents (transistors / 4)", s.get("gate_equivalents"))]
            elif tgt in ("ice40", "ecp5"):
                rows += [(f"{tgt} LUT4", s.get("luts")), (f"{tgt} flip-flops", s.get("flip_flops")),
                         (f"{tgt} Fmax (MHz)", s.get("fmax_mhz")),
                         (f"{tgt} fits {s.get('device')}", s.get("fits"))]
                if s.get("fit_error"):
                    rows.append((f"{tgt} place-and-route", s["fit_error"]))
                if s.get("harness"):
                    hi = s.get("harness_info") or {}
                    rows.append((f"{tgt} Fmax measured in",
                                 f"a serial I/O harness (the core's {hi.get('in_bits')} input and "
                                 f"{hi.get('out_bits')} output bits exceed the package's pins; "
                                 f"{hi.get('harness_flip_flops')} harness flip-flops not counted above)"))
            elif tgt == "liberty":
                rows += [("liberty area (um^2)", s.get("area_um2")), ("liberty cells", s.get("cells"))]
        if "performance" in r:
            p = r["performance"]
            rows += [("inferences per second at iCE40 Fmax", p.get("inferences_per_s_at_fmax")),
                     ("latency at iCE40 Fmax (ns)", p.get("latency_ns_at_fmax"))]
        note = ("Transistor counts are Yosys' `stat -tech cmos` estimate of the generic CMOS "
                "netlist (abc -g cmos2), not a layout; FPGA numbers come from real "
                "place-and-route (nextpnr).")
        S.append(("Hardware cost (measured by synthesis)", _table(rows) + "\n\n" + note))
    t = r.get("timing_s", {})
    S.append(("Reproduce", "```\n" + r.get("command", "neutnngen run CONFIG.toml") + "\n```\n\n"
              + _table([(k, v) for k, v in r.get("tools", {}).items()], ("tool", "version"))
              + "\n\n" + _table([(k, round(v, 2)) for k, v in t.items()], ("stage", "seconds"))))
    return S


def render_markdown(r: dict, plots: dict[str, str]) -> str:
    out = [f"# neutnngen report: {r['name']}", "",
           f"seed {r['seed']}, schema {r['schema']}, passes: {r.get('passes') or 'none'}", ""]
    for title, body in _sections(r):
        out += [f"## {title}", "", body, ""]
        if title == "Accuracy" and "metrics" in plots:
            out += [f"![metrics]({plots['metrics']})", ""]
        if title == "Network and training":
            out += [f"![{k}]({v})" for k, v in plots.items() if k != "metrics"] + [""]
    return "\n".join(out)


def _md_table_to_html(md: str) -> str:
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    rest = [ln for ln in md.splitlines() if not ln.startswith("|")]
    if not lines:
        return "<p>" + html.escape("\n".join(rest)) + "</p>"
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines if not ln.startswith("|---")]
    h = "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells[0]) + "</tr>"
    for row in cells[1:]:
        h += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
    h += "</table>"
    tail = "\n".join(x for x in rest if x.strip())
    if tail:
        h += "<p>" + html.escape(tail) + "</p>"
    return h


def render_html(r: dict, plot_files: dict[str, Path]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>neutnngen: "
             f"{html.escape(r['name'])}</title><style>body{{font-family:sans-serif;max-width:1100px;"
             "margin:2em auto}}table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid "
             "#ccc;padding:3px 8px;text-align:left}}img{{max-width:100%}}</style></head><body>",
             f"<h1>neutnngen report: {html.escape(r['name'])}</h1>",
             f"<p>seed {r['seed']}, schema {html.escape(r['schema'])}</p>"]
    for title, body in _sections(r):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if body.startswith("```"):
            code, _, rest = body[3:].partition("```")
            parts.append(f"<pre>{html.escape(code.strip())}</pre>")
            for chunk in rest.split("\n\n"):
                if chunk.strip():
                    parts.append(_md_table_to_html(chunk))
        else:
            parts.append(_md_table_to_html(body))
        if title in ("Accuracy", "Network and training"):
            keys = ["metrics"] if title == "Accuracy" else [k for k in plot_files if k != "metrics"]
            for k in keys:
                if k in plot_files:
                    b64 = base64.b64encode(plot_files[k].read_bytes()).decode()
                    parts.append(f"<p><img alt='{k}' src='data:image/png;base64,{b64}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(r: dict, net, data, outdir: Path) -> dict[str, Path]:
    """Write report.json, report.md, report.html and plots/ into ``outdir``."""
    from ..driver import atomic_write_text, infer, write_json

    outdir = Path(outdir)
    plots = outdir / "plots"
    out_te = infer(net, data.X_test)
    files = {
        "weights": plot_weights(net, plots / "weights.png"),
        "raster": plot_raster(out_te, np.asarray(data.y_test), plots / "raster.png",
                              f"{r['dataset']['name']} test set: output spikes per neuron"
                              + (" (samples sorted by coarse arena bin)"
                                 if data.kind == "place_cells" else "")),
        "metrics": plot_metrics(r, plots / "metrics.png"),
    }
    if data.kind == "place_cells":
        from ..data.places import decode_positions, field_centres
        from ..driver import winners
        from .places import plot_decoded_path, plot_place_fields

        ex = data.extra
        q = net.outputs
        w_tr = winners(infer(net, data.X_train))
        files["place_fields"] = plot_place_fields(w_tr, ex["pos_train"], q, ex["arena_cm"],
                                                  plots / "place_fields.png")
        dec = decode_positions(winners(out_te), field_centres(w_tr, ex["pos_train"], q))
        files["decoded_path"] = plot_decoded_path(ex["pos_test"], dec, plots / "decoded_path.png",
                                                  t=ex.get("t_test"))
    rel = {k: os.path.relpath(v, outdir) for k, v in files.items()}
    r = dict(r, plots=rel)
    write_json(outdir / "report.json", r)
    atomic_write_text(outdir / "report.md", render_markdown(r, rel))
    atomic_write_text(outdir / "report.html", render_html(r, files))
    return {"json": outdir / "report.json", "md": outdir / "report.md",
            "html": outdir / "report.html", **files}
