"""Pruning sweep of an SNN config: ``neutnngen prune SNN_CONFIG --sweep 0,0.25,...``.

The model is loaded, imported and quantized once (:mod:`neutnngen.pipeline.tasks.snn`; the
example script trains it first when it is missing, as ``neutnngen run`` does). Then for
every fraction ``f`` of the sweep:

1. :func:`~neutnngen.frontend.snn_quant.prune_magnitude` sets the ``f`` smallest-magnitude
   nonzero integer weights of every synaptic stage to 0 (chosen without data);
2. integer test accuracy of the pruned network on the held-out digits
   (:func:`~neutnngen.frontend.snn_quant.predict_int`);
3. *compile* (:func:`~neutnngen.pipeline.tasks.snn.compile_stage`): the hardwired design
   keeps only the nonzero synapse entries, so synapse entries and cycles per sample fall
   with ``f``;
4. *verify* (:func:`~neutnngen.pipeline.tasks.snn.verify_stage`): the RTL on the first
   ``verify.samples`` held-out digits (0: all), every layer, step and neuron compared with
   the interpreter; a mismatch stops the sweep (exit status 3);
5. *synth* (:func:`~neutnngen.pipeline.tasks.snn.synth_stage`) for ``synth.target``.

Each point lives in ``OUT/points/fXX/`` (``rtl/``, ``verify/``, ``synth/``) and ends with
``point.json``, which holds a digest of everything the point depends on (the parsed config
without ``run``/``prune``, the model file's bytes, the fraction and the weight mode); a rerun
reuses a point whose digest matches, so an interrupted sweep redoes only unfinished points.
``OUT/prune.json`` and ``OUT/prune.md`` are rewritten (atomically) after every point.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..._io import sha256_file
from ...errors import ConfigError
from . import snn

FORMAT = 1  # bump when a point's contents change meaning: old point.json files are redone


def point_slug(fraction: float) -> str:
    """``0 -> f00``, ``0.25 -> f25``, ``0.9 -> f90``, ``0.125 -> f125``."""
    digits = f"{fraction:.6f}".split(".")[1].rstrip("0")
    return "f" + digits.ljust(2, "0")


def check_fractions(fractions: list[float]) -> list[float]:
    out: list[float] = []
    for f in fractions:
        if not isinstance(f, (int, float)) or not 0.0 <= float(f) < 1.0:
            raise ConfigError(f"--sweep has {f!r}; an SNN sweep takes fractions 0 <= f < 1 "
                              f"(the share of nonzero weights set to 0)", path="--sweep")
        out.append(float(f))
    slugs = [point_slug(f) for f in out]
    dup = sorted({s for s in slugs if slugs.count(s) > 1})
    if dup:
        raise ConfigError(f"--sweep repeats a fraction ({dup[0]}); give each fraction once",
                          path="--sweep")
    return sorted(out)


def settings_digest(cfg: dict, model_digest: str, fraction: float, weights: str) -> str:
    """What a point depends on: the config (less ``run`` and ``prune``, which pick stages and
    the run's own sweep), the model file, the fraction and the weight mode."""
    keep = {k: v for k, v in cfg.items() if k not in ("run", "prune")}
    doc = {"format": FORMAT, "config": keep, "model_sha256": model_digest,
           "fraction": float(fraction), "weights": weights}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _load_point(path: Path, digest: str) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("digest") == digest else None


def run_prune(cfg: dict, fractions: list[float], outdir: Path, *, weights: str = "hardwired",
              tolerance: float = 0.01, show: bool = True, command: str | None = None) -> dict:
    """The sweep (module docstring); returns the ``prune.json`` document."""
    from ..._io import write_json
    from ...frontend.snn_float import float_predict, float_run
    from ...frontend.snn_quant import predict_int, prune_magnitude

    fractions = check_fractions(fractions)
    if weights not in ("hardwired", "register"):
        raise ConfigError(f"--weights {weights!r}; SNN designs accept hardwired or register",
                          path="--weights")
    outdir.mkdir(parents=True, exist_ok=True)
    cfg = json.loads(json.dumps(cfg))  # a copy: the point's hdl.weights is set below
    cfg["hdl"]["weights"] = weights
    t0 = time.perf_counter()
    model_info = snn.ensure_model(cfg, show)
    model_digest = sha256_file(cfg["model"]["path"])
    data = snn.mnist_ints(cfg)
    fnet = snn.import_model(cfg, data)
    yte = data["y_test"]
    fp = float_predict(fnet, float_run(fnet, data["X_test"]))
    qnet, _ = snn.quantize_config(cfg, fnet, data["X_train"][:cfg["data"]["calibration"]])
    ip, _ = predict_int(qnet, data["X_test"])
    n_verify = cfg["verify"]["samples"] or len(yte)
    doc: dict[str, Any] = {
        "kind": "snn-prune", "command": command, "experiment": cfg["experiment"],
        "model": {"path": cfg["model"]["path"], "sha256": model_digest,
                  "trained_now": model_info["trained_now"]},
        "weights": weights, "synth_target": cfg["synth"]["target"],
        "n_test": int(len(yte)), "verify_samples": int(min(n_verify, len(yte))),
        "float": {"test_accuracy": float((fp == yte).mean())},
        "integer": {"test_accuracy": float((ip == yte).mean())},
        "baseline": snn._baseline(data),
        "tolerance": float(tolerance), "points": [],
        "setup_s": round(time.perf_counter() - t0, 2),
    }
    if show:
        print(f"[snn-prune] float {doc['float']['test_accuracy']:.4f}, integer "
              f"{doc['integer']['test_accuracy']:.4f} on {len(yte)} digits; "
              f"{len(fractions)} point(s)", flush=True)
    for fr in fractions:
        slug = point_slug(fr)
        pdir = outdir / "points" / slug
        digest = settings_digest(cfg, model_digest, fr, weights)
        res_path = pdir / "point.json"
        old = _load_point(res_path, digest)
        if old is not None:
            if show:
                print(f"[snn-prune] {slug}: reused {res_path}", flush=True)
            doc["points"].append({**old, "reused": True})
            _write_reports(outdir, doc)
            continue
        if show:
            print(f"[snn-prune] {slug}: pruning {fr:g} of the weights", flush=True)
        res_path.unlink(missing_ok=True)
        tp = time.perf_counter()
        timing: dict[str, float] = {}
        pn = prune_magnitude(qnet, fr)
        pp, sat = predict_int(pn, data["X_test"])
        timing["int_eval"] = round(time.perf_counter() - tp, 2)
        t = time.perf_counter()
        rtl = snn.compile_stage(cfg, pn, pdir / "rtl")
        timing["compile"] = round(time.perf_counter() - t, 2)
        verilog = Path(rtl["verilog"])
        t = time.perf_counter()
        ver = snn.verify_stage(cfg, pn, verilog, weights, pdir / "verify", data=data, show=show)
        timing["verify"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        syn = snn.synth_stage(cfg, verilog, pdir / "synth")
        timing["synth"] = round(time.perf_counter() - t, 2)
        point = {
            "fraction": fr, "slug": slug, "digest": digest,
            "synapses": int(pn.synapses),
            "synapse_entries": int(rtl["synapse_entries"]),
            "cycles_per_sample": int(rtl["cycles_per_sample"]),
            "load_cycles": int(rtl["load_cycles"]),
            "integer_test_accuracy": float((pp == yte).mean()),
            "saturations_test": sat,
            "verify": {k: ver.get(k) for k in ("samples", "mismatches", "output_mismatches",
                                               "trace_rows", "rtl_accuracy", "simulator",
                                               "samples_per_s")},
            "cost": synth_cost(syn), "synth": syn, "verilog": str(verilog),
            "timing_s": timing,
        }
        write_json(res_path, point)
        doc["points"].append({**point, "reused": False})
        _write_reports(outdir, doc)
    _write_reports(outdir, doc)
    return doc


def best_within_tolerance(doc: dict) -> dict | None:
    """The largest fraction whose integer accuracy is within ``tolerance`` of fraction 0's
    (None without a fraction-0 point)."""
    pts = doc["points"]
    base = next((p for p in pts if p["fraction"] == 0.0), None)
    if base is None:
        return None
    ok = [p for p in pts
          if p["integer_test_accuracy"] >= base["integer_test_accuracy"] - doc["tolerance"] - 1e-12]
    return max(ok, key=lambda p: p["fraction"]) if ok else None


def _finish(doc: dict) -> dict:
    pts = doc["points"]
    doc["verified_all"] = all(p["verify"]["mismatches"] == 0 for p in pts)
    b = best_within_tolerance(doc)
    doc["best_within_tolerance"] = (
        None if b is None else {"fraction": b["fraction"], "slug": b["slug"],
                                "integer_test_accuracy": b["integer_test_accuracy"],
                                "synapse_entries": b["synapse_entries"],
                                "cycles_per_sample": b["cycles_per_sample"]})
    return doc


def _write_reports(outdir: Path, doc: dict) -> None:
    from ..._io import atomic_write_text, write_json

    _finish(doc)
    write_json(outdir / "prune.json", doc)
    atomic_write_text(outdir / "prune.md", markdown(doc))


SYNTH_KEYS = ("luts", "ffs", "brams", "dsps", "fmax_mhz", "cells", "transistors")
_BRAM_CELLS = ("DP16KD", "PDPW16KD", "SB_RAM40_4K")
_DSP_CELLS = ("MULT18X18D", "ALU54B", "SB_MAC16")


def synth_cost(syn: dict) -> dict:
    """The headline numbers of :func:`~neutnngen.pipeline.tasks.snn.synth_stage`'s result:
    ``ecp5``/``ice40``: LUTs, flip-flops, block RAMs, DSP cells, Fmax (MHz) and whether it
    fits; ``generic``: cells and transistors."""
    cells = syn.get("cell_types") or {}
    out: dict[str, Any] = {"target": syn.get("target")}
    if syn.get("target") == "generic":
        out.update(cells=syn.get("cells"), transistors=syn.get("transistors"))
        return out
    fmax = syn.get("fmax_mhz")
    out.update(luts=syn.get("luts"), ffs=syn.get("flip_flops", syn.get("ffs")),
               brams=sum(int(cells.get(c, 0)) for c in _BRAM_CELLS),
               dsps=sum(int(cells.get(c, 0)) for c in _DSP_CELLS),
               fmax_mhz=None if fmax is None else round(float(fmax), 1),
               fits=syn.get("fits"))
    return out


def _synth_cols(doc: dict) -> list[str]:
    return [k for k in SYNTH_KEYS
            if any(p["cost"].get(k) is not None for p in doc["points"])]


def summary_rows(doc: dict) -> tuple[list[str], list[list[str]]]:
    cols = _synth_cols(doc)
    head = ["fraction", "synapses", "entries", "cycles/sample", "int acc", "RTL acc",
            "mismatches", *cols, "reused"]
    rows = []
    for p in doc["points"]:
        v = p["verify"]
        rows.append([f"{p['fraction']:g}", str(p["synapses"]), str(p["synapse_entries"]),
                     str(p["cycles_per_sample"]), f"{p['integer_test_accuracy']:.4f}",
                     f"{v['rtl_accuracy']:.4f} ({v['samples']})", str(v["mismatches"]),
                     *(str(p["cost"].get(k)) for k in cols), "yes" if p["reused"] else "no"])
    return head, rows


def markdown(doc: dict) -> str:
    b = doc["baseline"]["nearest_centroid"]["test_accuracy"]
    L = [f"# SNN pruning sweep {doc['experiment']['name']}", "",
         f"Magnitude pruning of the integer weights ({doc['weights']} design, "
         f"{doc['synth_target']} synthesis); accuracy on {doc['n_test']} held-out digits, the "
         f"RTL verified on {doc['verify_samples']} of them (every layer, step and neuron).", "",
         f"float test accuracy {doc['float']['test_accuracy']:.4f}, integer (unpruned) "
         f"{doc['integer']['test_accuracy']:.4f}, nearest class centroid {b:.4f}", ""]
    if doc.get("command"):
        L += [f"command: `{doc['command']}`", ""]
    head, rows = summary_rows(doc)
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    L += ["| " + " | ".join(r) + " |" for r in rows]
    bw = doc.get("best_within_tolerance")
    if bw:
        L += ["", f"largest fraction within {doc['tolerance']:g} of the unpruned integer "
                  f"accuracy: {bw['fraction']:g} ({bw['integer_test_accuracy']:.4f}, "
                  f"{bw['synapse_entries']} synapse entries, {bw['cycles_per_sample']} cycles "
                  f"a sample)"]
    L += ["", f"all points verified with 0 mismatches: {doc['verified_all']}", ""]
    return "\n".join(L)
