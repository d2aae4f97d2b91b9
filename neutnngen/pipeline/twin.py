"""``neutnngen twin CONFIG``: an SNN design next to its integer ANN twin, on one flow.

For an SNN config (``examples/snn_mnist.toml``), both designs go through the same steps
and the same tools, and the report puts them side by side:

1. the SNN: import, quantize, evaluate, compile, verify, synth (the SNN run's stages,
   written to ``OUT/snn/``; reused when ``OUT/snn/`` holds a run of the same config);
2. the twin (:mod:`neutnngen.frontend.twin`): the same topology with ReLU neurons, trained
   in float on the same training digits, quantized to ``twin.weight_bits``-bit weights and
   ``twin.act_bits``-bit activations, compiled by the same generator (same ``hdl.weights``,
   ``lanes``, ``architecture``, same stream interface), verified against its interpreter on
   the same digits, synthesized for the same target (``OUT/twin/``);
3. switching activity: both designs run ``twin.energy_samples`` test digits in a Verilator
   build with toggle coverage (no stalls); the bit flips of every design signal per
   inference, the mean activity (flips per signal bit per cycle) and an energy proxy,
   activity x cells x cycles per inference (cells: the synthesized cells, or LUTs +
   carries + flip-flops on an FPGA target; block RAMs are listed, not weighed). A proxy,
   not joules: no cell library or capacitance enters it;
4. with ``twin.transistors`` (default) and an FPGA target, both designs also go through
   Yosys's generic CMOS flow for cells and transistors (ROMs become logic there).

``OUT/twin.json`` and ``OUT/twin.md`` hold the comparison; a second run with the same config
resumes from what is on disk (the SNN run, the twin's IR).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def _key(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _cells(sy: dict) -> int | None:
    if sy.get("cells"):
        return int(sy["cells"])
    parts = [sy.get("comb_cells") or sy.get("luts"), sy.get("carries"), sy.get("flip_flops")]
    return int(sum(p for p in parts if p)) if any(parts) else None


def _design(name: str, acc: float, rtl: dict, ver: dict, sy: dict | None,
            tog: dict) -> dict:
    cyc = int(rtl["cycles_per_sample"]) + int(rtl["load_cycles"])
    row: dict[str, Any] = {
        "design": name, "test_accuracy": acc, "test_error": 1 - acc,
        "rtl_accuracy": ver.get("rtl_accuracy"), "verified_samples": ver["samples"],
        "mismatches": ver["mismatches"], "cycles_per_inference": cyc,
        "synapse_entries": rtl["synapse_entries"], "synapses": rtl["synapses"],
        "flips_per_inference": tog["flips_per_sample"], "activity": tog["activity"],
        "signal_bits": tog["signal_bits"], "macs_per_inference": ver["activity"]["macs"],
    }
    if sy:
        row.update({k: sy.get(k) for k in ("target", "luts", "flip_flops", "cells",
                                           "transistors", "fmax_mhz", "fits")})
        ct = sy.get("cell_types") or {}
        row["block_rams"] = {k: v for k, v in ct.items()
                             if k in ("DP16KD", "SB_RAM40_4K", "TRELLIS_DPR16X4")}
        row["multipliers"] = {k: v for k, v in ct.items() if k in ("MULT18X18D", "SB_MAC16")}
        cells = _cells(sy)
        row["cells_for_energy"] = cells
        row["energy_proxy"] = (tog["activity"] * cells * cyc) if cells else None
        if sy.get("fmax_mhz"):
            row["inferences_per_s_at_fmax"] = sy["fmax_mhz"] * 1e6 / cyc
        area = sy.get("transistors") or sy.get("luts")
        if area:
            row["area_x_cycles"] = area * cyc
    return row


def run_twin(cfg: dict, outdir: Path, *, show: bool = True, command: str | None = None) -> dict:
    """The comparison (module docstring); ``cfg`` is a parsed SNN config."""
    from .._io import atomic_write_text, write_json
    from ..frontend.twin import (
        TwinOptions,
        float_predict,
        quantize_twin,
        train_float,
        twin_evaluate,
    )
    from ..hdl.snn import emit_snn
    from ..ir import load, save, to_text
    from ..verify.snn import verify_snn
    from .tasks import snn

    tw = dict(cfg["twin"])
    n_energy = tw.pop("energy_samples")
    generic = tw.pop("transistors") and cfg["synth"]["target"] != "generic"
    if n_energy < 1:
        raise ConfigError(f"twin.energy_samples={n_energy}; expected >= 1 (test digits run "
                          f"with toggle counting)", path="twin.energy_samples")
    opt = TwinOptions(**tw, seed=cfg["experiment"]["seed"])
    opt.check()
    outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timing: dict[str, float] = {}

    def say(msg):
        if show:
            print(f"[twin] {msg}", flush=True)

    # ---- 1. the SNN (resumed when OUT/snn holds a run of the same config)
    scfg = {**cfg, "run": {"stages": ["import", "quantize", "evaluate", "compile", "verify",
                                      "synth"]}}
    skey = _key({k: v for k, v in scfg.items() if k != "twin"})
    sdir = outdir / "snn"
    stamp = sdir / "twin-key.json"
    srep = None
    if stamp.is_file() and (sdir / "report.json").is_file():
        try:
            if json.loads(stamp.read_text())["key"] == skey:
                srep = json.loads((sdir / "report.json").read_text())
                say(f"SNN run reused from {sdir}")
        except (OSError, ValueError, KeyError):
            srep = None
    if srep is None:
        say("SNN: import, quantize, evaluate, compile, verify, synth")
        t = time.perf_counter()
        srep = snn.run_snn(scfg, sdir, show=show, command=command)
        write_json(stamp, {"key": skey})
        timing["snn"] = time.perf_counter() - t
    qnet = load(sdir / "ir" / "model.json")
    data = snn.mnist_ints(cfg)

    # ---- 2. the twin
    tdir = outdir / "twin"
    t = time.perf_counter()
    say(f"twin: training the float ANN ({opt.epochs} epochs on "
        f"{len(data['y_train'])} digits, {opt.validation:g} of them for validation)")
    model, train_info = train_float(qnet, data["X_train"], data["y_train"], data["in_unit"], opt)
    fp = float_predict(model, data["X_test"], data["in_unit"])
    calib = data["X_train"][:cfg["data"]["calibration"]]
    twin, qrep = quantize_twin(qnet, model, calib, data["in_bits"], data["in_unit"], opt,
                               name=f"{qnet.name}_twin")
    (tdir / "ir").mkdir(parents=True, exist_ok=True)
    save(twin, tdir / "ir" / "model.json")
    atomic_write_text(tdir / "ir" / "model.txt", to_text(twin))
    yte = data["y_test"]
    ip, sat_test = twin_evaluate(twin, data["X_test"])
    timing["twin_train"] = time.perf_counter() - t
    h = cfg["hdl"]
    t = time.perf_counter()
    res = emit_snn(twin, tdir / "rtl", weights=h["weights"], name=f"{h['top']}_twin",
                   lanes=h["lanes"], architecture=h["architecture"])
    trtl = {"verilog": str(res.verilog), **res.info}
    timing["twin_compile"] = time.perf_counter() - t
    say(f"twin: verifying the RTL ({trtl['cycles_per_sample']} cycles an inference)")
    t = time.perf_counter()
    tver = snn.verify_stage(cfg, twin, Path(res.verilog), h["weights"], tdir / "verify",
                            data=data, show=False)
    timing["twin_verify"] = time.perf_counter() - t
    t = time.perf_counter()
    say(f"twin: synthesis ({cfg['synth']['target']})")
    tsy = snn.synth_stage(cfg, Path(res.verilog), tdir / "synth")
    timing["twin_synth"] = time.perf_counter() - t

    # ---- 3. switching activity of both designs on the same digits
    Xe = data["X_test"][:n_energy]
    t = time.perf_counter()
    say(f"toggle counts on {len(Xe)} test digits (Verilator toggle coverage)")
    stog = verify_snn(qnet, Path(srep["rtl"]["verilog"]), Xe, workdir=sdir / "toggles",
                      toggles=True, backpressure=False)
    ttog = verify_snn(twin, Path(res.verilog), Xe, workdir=tdir / "toggles", toggles=True,
                      backpressure=False)
    for who, r in (("SNN", stog), ("twin", ttog)):
        if r["mismatches"]:
            from ..errors import VerificationMismatch

            raise VerificationMismatch(f"{who} RTL in the toggle run: {r['message']}",
                                       first=r["first_mismatch"])
    timing["toggles"] = time.perf_counter() - t

    gen = [None, None]
    if generic:  # the project's transistor yardstick: Yosys's generic CMOS cells
        from .. import flows

        t = time.perf_counter()
        say("generic CMOS synthesis of both designs (cells, transistors)")
        for i, v in enumerate((Path(srep["rtl"]["verilog"]), Path(res.verilog))):
            gen[i] = flows.synth_generic(v.read_text(), v.stem).to_dict()
        timing["generic_synth"] = time.perf_counter() - t

    snn_acc = srep["integer"]["test_accuracy"]
    rows = [_design("SNN", snn_acc, srep["rtl"], srep["verify"], srep.get("synth"),
                    stog["toggles"]),
            _design(f"ANN twin (int{opt.weight_bits} weights, {opt.act_bits}-bit activations)",
                    float((ip == yte).mean()), trtl, tver, tsy, ttog["toggles"])]
    for row, g in zip(rows, gen, strict=True):
        if g:
            row.update({"cells": g.get("cells"), "transistors": g.get("transistors"),
                        "generic_flip_flops": g.get("flip_flops")})
    rep: dict[str, Any] = {
        "kind": "twin", "experiment": cfg["experiment"], "command": command,
        "dataset": srep["dataset"], "designs": rows,
        "snn": {"float_test_accuracy": srep.get("float", {}).get("test_accuracy"),
                "steps": int(qnet.stages[0].steps), "encoder": qnet.stages[0].mode},
        "twin": {"float_test_accuracy": float((fp == yte).mean()), "training": train_info,
                 "quantization": qrep, "saturations_test": sat_test,
                 "agrees_with_float": float((ip == fp).mean()), "ir": str(tdir / "ir")},
        "energy": {"samples": int(len(Xe)), "simulator": "verilator (--coverage-toggle)",
                   "proxy": "activity x cells x cycles per inference; activity = bit flips "
                            "of the design's signals / (signal bits x cycles)"},
        "baseline": srep.get("baseline"),
        "timing_s": {**timing, "total": time.perf_counter() - t0},
    }
    rep["verdict"] = verdict(rows)
    write_json(outdir / "twin.json", rep)
    atomic_write_text(outdir / "twin.md", report_markdown(rep))
    return rep


def verdict(rows: list[dict]) -> list[str]:
    """Who wins on what, in words (``rows[0]``: the SNN, ``rows[1]``: the twin)."""
    s, a = rows
    out = []

    def cmp(key, what, lower=True, fmt="{:.4g}"):
        x, y = s.get(key), a.get(key)
        if x is None or y is None:
            return
        if x == y:
            out.append(f"{what}: equal ({fmt.format(x)})")
            return
        snn_wins = (x < y) if lower else (x > y)
        r = (y / x if lower else x / y) if snn_wins else (x / y if lower else y / x)
        out.append(f"{what}: {'SNN' if snn_wins else 'ANN twin'} wins "
                   f"({fmt.format(x)} vs {fmt.format(y)}, {r:.2f}x)" if r != float("inf") else
                   f"{what}: {'SNN' if snn_wins else 'ANN twin'} wins")
    cmp("test_error", "test error", fmt="{:.4f}")
    cmp("cycles_per_inference", "cycles per inference", fmt="{:.0f}")
    cmp("luts", "LUTs", fmt="{:.0f}")
    cmp("transistors", "transistors", fmt="{:.0f}")
    cmp("inferences_per_s_at_fmax", "inferences/s at Fmax", lower=False, fmt="{:.0f}")
    cmp("flips_per_inference", "signal bit flips per inference", fmt="{:.0f}")
    cmp("energy_proxy", "energy proxy (activity x cells x cycles)", fmt="{:.3g}")
    return out


def _training(tr: dict) -> str:
    out = (f"{tr['epochs']} epochs on {tr['train']} digits, Adam lr {tr['lr']:g}, batch "
           f"{tr['batch']}, +-{tr.get('augment', 0)}-pixel shifts")
    if "validation_accuracy" in tr:
        out += (f"; validation accuracy {tr['validation_accuracy']:.4f} on {tr['validation']} "
                f"digits, epoch {tr['kept_epoch']} kept")
    return out


def report_markdown(rep: dict) -> str:
    rows = rep["designs"]
    L = [f"# SNN vs ANN twin: {rep['experiment']['name']}", "",
         f"Same data ({rep['dataset']['n_train']} training / {rep['dataset']['n_test']} test "
         f"digits), same topology, same RTL generator, stream interface and synthesis flow "
         f"({rows[0].get('target', '?')}). The SNN runs {rep['snn']['steps']} time steps "
         f"({rep['snn']['encoder']} encoding); its twin one pass with ReLU neurons.", ""]
    keys = [("test error", "test_error", "{:.4f}"), ("test accuracy", "test_accuracy", "{:.4f}"),
            ("RTL accuracy (verified digits)", "rtl_accuracy", "{:.4f}"),
            ("verified digits / mismatches", None, None),
            ("cycles per inference (with input load)", "cycles_per_inference", "{:,}"),
            ("synapses", "synapses", "{:,}"), ("LUTs", "luts", "{:,}"),
            ("flip-flops", "flip_flops", "{:,}"), ("cells (generic CMOS)", "cells", "{:,}"),
            ("transistors (generic CMOS)", "transistors", "{:,}"), ("memories", "block_rams", "{}"),
            ("multipliers", "multipliers", "{}"), ("Fmax (MHz)", "fmax_mhz", "{:.1f}"),
            ("inferences/s at Fmax", "inferences_per_s_at_fmax", "{:,.0f}"),
            ("multiply-accumulates per inference (nonzero operands)", "macs_per_inference",
             "{:,.0f}"),
            ("signal bit flips per inference", "flips_per_inference", "{:,.0f}"),
            ("activity (flips / bit / cycle)", "activity", "{:.4f}"),
            ("cells in the energy proxy", "cells_for_energy", "{:,}"),
            ("energy proxy (activity x cells x cycles)", "energy_proxy", "{:,.0f}")]
    L += ["| | " + " | ".join(r["design"] for r in rows) + " |",
          "|---|" + "---|" * len(rows)]
    for label, key, fmt in keys:
        if key is None:
            L.append(f"| {label} | " + " | ".join(f"{r['verified_samples']} / {r['mismatches']}"
                                                  for r in rows) + " |")
            continue
        if all(r.get(key) in (None, {}) for r in rows):
            continue
        L.append(f"| {label} | " + " | ".join(
            "-" if r.get(key) in (None, {}) else
            ", ".join(f"{k} {v}" for k, v in r[key].items()) if isinstance(r[key], dict) else
            fmt.format(r[key]) for r in rows) + " |")
    L += ["", "## Verdict", ""] + [f"- {v}" for v in rep["verdict"]]
    t = rep["twin"]
    b = (rep.get("baseline") or {}).get("nearest_centroid", {})
    L += ["", "## Notes", "",
          f"- Float accuracy: SNN {rep['snn']['float_test_accuracy']}, ANN twin "
          f"{t['float_test_accuracy']:.4f} (training: {_training(t['training'])}); the "
          f"integer twin agrees "
          f"with its float model on {t['agrees_with_float']:.4f} of the test digits; "
          f"activation saturations on the test digits per layer: {t['saturations_test']}.",
          f"- Nearest class centroid baseline on the same integers: test accuracy "
          f"{b.get('test_accuracy', float('nan')):.4f}." if b else "- (no baseline)",
          f"- Energy: {rep['energy']['proxy']}; measured on {rep['energy']['samples']} test "
          f"digits with {rep['energy']['simulator']}. A proxy for dynamic energy, not joules: "
          f"no cell library or capacitance enters it; block RAM reads are counted only "
          f"through the signals around them.", ""]
    return "\n".join(L)
