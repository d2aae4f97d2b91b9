"""Render a report dict to Markdown and HTML (the plots are in :mod:`.plots`, the task's
own sections come from its task)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from .plots import mpl, save_figure  # noqa: F401 - kept importable from here


def _axis_rows(v: dict) -> list[tuple[str, Any]]:
    """The AXI4-Stream bench's own rows: gaps, backpressure, bad packets, protocol."""
    return [("input beats offered / output beats taken per cycle",
             f"{v.get('p_valid')} / {v.get('p_ready')} (seed {v.get('seed')})"),
            ("cycles with a beat stalled (in / out)", f"{v.get('stalls_in')} / {v.get('stalls_out')}"),
            ("short / long packet dropped and flagged", f"{v.get('err_short')} / {v.get('err_long')}"),
            ("AXI4-Stream protocol errors", len(v.get("protocol_errors") or [])),
            ("cycles simulated", v.get("cycles"))]


def _learn_rows(v: dict) -> list[tuple[str, Any]]:
    """The on-chip learning rows of the verification table; the M5 counters only for a
    design that has them (``homeostasis_counters``: how many the bench compared)."""
    rows: list[tuple[str, Any]] = [
        ("weights and LFSR states compared after every wave", "yes"),
        ("weight mismatches", v.get("weight_mismatches")),
        ("LFSR state mismatches", v.get("rng_mismatches"))]
    if v.get("homeostasis_counters") or v.get("homeostasis_mismatches"):
        rows += [("win-rate counters compared after every wave", v.get("homeostasis_counters")),
                 ("win-rate counter mismatches", v.get("homeostasis_mismatches"))]
    return rows + [
        ("first weight mismatch", json.dumps(v.get("first_weight_mismatch"))
         if v.get("first_weight_mismatch") else "none"),
        ("chip-trained IR equals the software-trained IR", v.get("chip_equals_software"))]


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


def fmt(v: Any) -> str:
    """A number as the reports write it (thousands separators, 4 significant digits)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(rows: list[tuple], head: tuple[str, ...] = ("quantity", "value")) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join([str(r[0])] + [fmt(v) for v in r[1:]]) + " |" for r in rows]
    return "\n".join(out)


def sections(r: dict, accuracy: str, primary_key: str) -> list[tuple[str, str]]:
    """The report's sections as ``(title, Markdown body)``; ``accuracy`` is the task's
    accuracy section and ``primary_key`` its primary metric (for the on-chip learning
    section)."""
    S: list[tuple[str, str]] = []
    ds = r["dataset"]
    S.append(("Dataset", _table([
        ("dataset", ds["name"]), ("source", ds.get("source")), ("encoder", ds.get("encoder")),
        ("train / test samples", f"{ds['n_train']} / {ds['n_test']}"),
        *([("channels x samples per series (multivariate)",
            f"{ds['channels']} x {ds.get('length')}")] if ds.get("channels", 1) > 1 else []),
        ("input lines", ds.get("inputs")), ("classes", len(ds.get("classes", [])))])))
    S.append(("Accuracy", accuracy))
    ir, tr = r["ir"], r["training"]
    S.append(("Network and training", _table([
        ("layers / columns / neurons / segments",
         f"{ir['layers']} / {ir['columns']} / {ir['neurons']} / {ir['segments']}"),
        ("synapses", ir["synapses"]),
        *([("look-up tables / table bits (docs/model.md §12)",
            f"{ir['lut_tables']} / {ir['lut_table_bits']}")] if "lut_tables" in ir else []),
        ("time base", f"timeres={ir['timeres']}, {ir['response']}"),
        ("training", (f"greedy, layer by layer: epochs per layer "
                      f"{ {k: v.get('epochs') for k, v in tr.get('layers', {}).items()} }"
                      if tr.get("greedy") else f"{tr['epochs']} epochs")
         + f", {tr['waves']} waves, mode={tr['mode']}"),
        ("training wall time (s), incl. JIT compile", tr.get("seconds")),
        ("training backend", f"{tr.get('backend', '-')} on {tr.get('device', '-')}"),
        *[("warning", w) for w in tr.get("warnings", [])],
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
            ("bench", "AXIS (cocotb, AXI4-Stream ports)" if v.get("interface") == "axis"
             else v.get("bench", "cocotb")),
            ("waves compared", f"{v.get('waves')} training waves (on-chip learning)"
             if "weight_mismatches" in v else
             f"{v.get('waves')} of {r['dataset'].get('n_test')} test waves"
             + (" (seeded sample)" if v.get("waves") != r["dataset"].get("n_test") else "")),
            ("mismatches", v.get("mismatches")),
            ("first mismatch", json.dumps(v.get("first_mismatch")) if v.get("first_mismatch") else "none"),
            ("wall time (s)", v.get("wall_s", v.get("seconds")))]
            + (_learn_rows(v) if "weight_mismatches" in v else [])
            + (_axis_rows(v) if v.get("interface") == "axis" else []))))
    if "chip_trained" in r:
        m = r["chip_trained"]["metrics"]["test"]
        key = primary_key
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
            if p.get("cycles_per_inference", p.get("wave_cycles")) != p.get("wave_cycles"):
                rows.append(("cycles per inference through the AXI4-Stream top (input beats + "
                             "wave)", p["cycles_per_inference"]))
            rows += [("inferences per second at iCE40 Fmax", p.get("inferences_per_s_at_fmax")),
                     ("latency at iCE40 Fmax (ns)", p.get("latency_ns_at_fmax"))]
        note = ("Transistor counts are Yosys' `stat -tech cmos` estimate of the generic CMOS "
                "netlist (abc -g cmos2), not a layout; FPGA numbers come from real "
                "place-and-route (nextpnr).")
        S.append(("Hardware cost (measured by synthesis)", _table(rows) + "\n\n" + note))
    if r.get("architectures"):
        S.append(("Area and throughput by architecture", _architectures(r["architectures"])))
    if r.get("board"):
        b = r["board"]
        util = ", ".join(f"{k} {u}/{a}" for k, (u, a) in sorted((b.get("utilisation") or {}).items())
                         if u)
        S.append((f"Board bitstream ({b.get('board')})", _table([
            ("FPGA", f"{b.get('family')} {b.get('device')} {b.get('package')}"),
            ("top", f"board_top (UART {b.get('baud')} baud, divisor {b.get('uart_divisor')}) "
                    f"around {b.get('design')}"),
            ("fits", b.get("fits") if b.get("fits") else f"no: {b.get('fit_error')}"),
            ("LUT4 / flip-flops", f"{b.get('luts')} / {b.get('flip_flops')}"),
            ("utilisation (used/available)", util or "-"),
            ("Fmax (MHz) at the board clock's constraint",
             f"{round(b['fmax_mhz'], 1) if b.get('fmax_mhz') else '-'} (constraint "
             f"{b.get('freq_mhz')} MHz, met: {b.get('timing_met')})"),
            ("bitstream", f"{b.get('bitstream')} ({b.get('bitstream_bytes')} bytes)"
             if b.get("bitstream") else "none"),
            ("host protocol", f"{b.get('in_bytes')} bytes per volley in, {b.get('out_bytes')} "
                              "out (docs/boards.md)")])))
    t = r.get("timing_s", {})
    S.append(("Reproduce", "```\n" + r.get("command", "neutnngen run CONFIG.toml") + "\n```\n\n"
              + _table([(k, v) for k, v in r.get("tools", {}).items()], ("tool", "version"))
              + "\n\n" + _table([(k, round(v, 2)) for k, v in t.items()], ("stage", "seconds"))))
    return S


def _architectures(a: dict) -> str:
    """The same IR in every layer architecture (``synth.compare_architectures``)."""
    axis = any(v.get("cycles_per_inference", v.get("wave_cycles")) != v.get("wave_cycles")
               for v in a.values() if not v.get("unavailable"))
    rows = []
    for arch, v in a.items():
        name = f"**{arch}** (built)" if v.get("built") else arch
        if v.get("unavailable"):
            rows.append((name, "-", *(["-"] if axis else []), "-", "-", "-", v["unavailable"]))
            continue
        rows.append((name, v.get("wave_cycles"),
                     *([v.get("cycles_per_inference")] if axis else []),
                     v.get("latency_cycles"), v.get("transistors"),
                     v.get("flip_flops"), v.get("transistor_cycles")))
    head = ("architecture", "cycles / wave",
            *(["cycles / inference (AXI4-Stream top)"] if axis else []),
            "latency (cycles)", "transistors", "flip-flops", "transistors x cycles")
    return (_table(rows, head)
            + "\n\nEvery row is the same trained IR; cycles come from the design's plan, cost "
              "from a generic Yosys synthesis of that architecture (`hdl.architecture` builds "
              "one; `transistors x cycles` is the area-time product per inference, lower is "
              "better" + ("; through the AXI4-Stream top an inference also spends its input "
                          "beats" if axis else "") + ").")


def render_markdown(r: dict, plots: dict[str, str], accuracy: str, primary_key: str) -> str:
    """The report as Markdown (``plots``: name -> path relative to the report)."""
    out = [f"# neutnngen report: {r['name']}", "",
           f"seed {r['seed']}, schema {r['schema']}, passes: {r.get('passes') or 'none'}", ""]
    for title, body in sections(r, accuracy, primary_key):
        out += [f"## {title}", "", body, ""]
        if title == "Accuracy" and "metrics" in plots:
            out += [f"![metrics]({plots['metrics']})", ""]
        if title == "Network and training":
            out += [f"![{k}]({v})" for k, v in plots.items() if k != "metrics"] + [""]
    return "\n".join(out)


def render_html(r: dict, md: str, plot_files: dict[str, Path]) -> str:
    """Standalone HTML of the report's Markdown, plots embedded."""
    return markdown_to_html(md, f"neutnngen: {r['name']}", list(plot_files.values()))
