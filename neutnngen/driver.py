"""The Python API behind the CLI: data -> IR -> training -> HDL -> verification -> synthesis
-> report. The only module (with ``cli``) that sees every peer.

Output directory layout of :func:`run` (every file written atomically; a rerun with the
same config skips the stages whose inputs did not change, so an interrupted run resumes):

    OUT/config.toml          resolved config (every key)
    OUT/ir/initial.{json,npz}, OUT/ir/model.{json,npz}, OUT/ir/model.txt
    OUT/metrics.json         task metrics, k-means baseline, IR size, seed
    OUT/rtl/TOP.v, TOP.il, names.json
    OUT/verify/result.json   (+ waveform on mismatch or with verify.waves)
    OUT/synth/<target>.json
    OUT/report.json, report.md, report.html, plots/*.png
    OUT/state.json           stage digests (what resume compares)
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import config as cfgmod
from .config import Config
from .errors import ConfigError, VerificationMismatch
from .ir import Interpreter, LearningRule, Network, check, load, save, to_text
from .progress import Progress, step

SCHEMA = "neutnngen-report/1"


# ------------------------------------------------------------------------------ helpers
def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=_json_default).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def winners(out: np.ndarray) -> np.ndarray:
    """Predicted cluster per wave: index of the earliest output (lowest index on ties), or
    -1 when nothing fired."""
    out = np.asarray(out)
    big = np.where(out < 0, np.iinfo(np.int64).max, out)
    idx = np.argmin(big, axis=1)
    return np.where((out >= 0).any(axis=1), idx, -1)


class State:
    """Stage digests of an output directory (for resume)."""

    def __init__(self, outdir: Path):
        self.path = outdir / "state.json"
        self.data: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def fresh(self, stage: str, key: str, *files: Path) -> bool:
        return self.data.get(stage) == key and all(f.exists() for f in files)

    def done(self, stage: str, key: str) -> None:
        self.data[stage] = key
        write_json(self.path, self.data)


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class Data:
    name: str
    X_train: np.ndarray  # encoded spike times, int16 [n, inputs], -1 = silent
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict


def prepare_data(cfg: Config) -> Data:
    from .data import encode_timeseries, load_ucr

    d = cfg.data
    if d.kind != "ucr":
        raise ConfigError(f"data.kind={d.kind!r}; accepted: ucr", path="data.kind")
    ds = load_ucr(d.name)
    t = cfg.network.timeres
    Xtr = encode_timeseries(ds.X_train, timeres=t, clip=d.clip, posneg=d.posneg)
    Xte = encode_timeseries(ds.X_test, timeres=t, clip=d.clip, posneg=d.posneg)
    info = {"name": ds.name, "kind": "ucr", "source": ds.source, "n_train": int(len(ds.y_train)),
            "n_test": int(len(ds.y_test)), "length": int(ds.X_train.shape[1]),
            "inputs": int(Xtr.shape[1]), "classes": [str(c) for c in ds.classes],
            "encoder": f"timeseries(timeres={t}, clip={d.clip}, posneg={d.posneg})"}
    return Data(ds.name, Xtr, np.asarray(ds.y_train), Xte, np.asarray(ds.y_test),
                int(len(ds.classes)), info)


# ------------------------------------------------------------------------------ model
def learning_rule(cfg: Config) -> LearningRule:
    t = cfg.train
    return LearningRule(kind=t.rule, credit=t.credit, mu_capture=t.mu_capture,
                        mu_minus=t.mu_minus, mu_search=t.mu_search, mu_backoff=t.mu_backoff,
                        mu_min=t.mu_min)


def init_network(cfg: Config, data: Data) -> Network:
    from .frontend import init_column_network
    from .ir import Inhibition

    n = cfg.network
    q = n.neurons or data.n_classes
    if cfg.train.rule == "rstdp" and q != data.n_classes:
        raise ConfigError(f"network.neurons={q}: R-STDP maps neuron i to class i, so it needs "
                          f"one neuron per class ({data.n_classes})", path="network.neurons")
    net = init_column_network(
        data.X_train.shape[1], q, dendrites=n.dendrites, segments=n.segments,
        timeres=n.timeres, wres=n.wres, response=n.response, theta=n.theta or None,
        w_init=n.w_init, seed=cfg.experiment.seed, learning=learning_rule(cfg),
        column_inhibition=Inhibition.parse(n.column_inhibition),
        segment_inhibition=Inhibition.parse(n.segment_inhibition),
        X=data.X_train, name=cfg.experiment.name)
    return check(net)


def training_order(n: int, epochs: int, seed: int, shuffle: bool) -> np.ndarray:
    """Sample indices of the whole training stream (every epoch, seeded order)."""
    rng = np.random.default_rng(seed)
    order = [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]
    return np.concatenate(order) if order else np.zeros(0, dtype=np.int64)


def train_network(cfg: Config, net: Network, data: Data, show: bool = True) -> tuple[Network, dict]:
    from .model import train

    order = training_order(len(data.X_train), cfg.train.epochs, cfg.experiment.seed, cfg.train.shuffle)
    X = data.X_train[order]
    y = data.y_train[order]
    labels = y if cfg.train.rule == "rstdp" else None
    t0 = time.perf_counter()
    with Progress("train", len(X), enabled=show) as bar:
        res = train(net, X, epochs=1, mode=cfg.train.mode, seed=cfg.experiment.seed,
                    labels=labels, progress=bar)
    dt = time.perf_counter() - t0
    trainer = {k: v for k, v in (res.stats or {}).items() if k not in ("epochs", "samples")}
    stats = {**trainer, "waves": int(len(X)), "epochs": cfg.train.epochs, "mode": cfg.train.mode,
             "seconds": dt, "samples_per_s": len(X) / max(dt, 1e-9)}
    return res.network, stats


# The task metric each data kind is judged by (a key of ``metrics["test"]``) and whether
# larger is better. Pruning and design-space reports compare designs on it.
PRIMARY_METRIC: dict[str, tuple[str, bool]] = {
    "ucr": ("rand_index", True),
    "mnist": ("error", False),
    "place_cells": ("median_decoding_error_cm", False),
}


def primary_metric(cfg: Config) -> tuple[str, bool]:
    """``(key in metrics["test"], higher_is_better)`` for the config's data kind."""
    return PRIMARY_METRIC[cfg.data.kind]


def infer(net: Network, X: np.ndarray) -> np.ndarray:
    return Interpreter(net).forward(X)


def evaluate(net: Network, data: Data, seed: int) -> dict:
    from .data import clustering_metrics, kmeans_baseline

    out_tr = infer(net, data.X_train)
    out_te = infer(net, data.X_test)
    q = net.outputs
    metrics = {"train": clustering_metrics(data.y_train, winners(out_tr)),
               "test": clustering_metrics(data.y_test, winners(out_te))}
    winners_te = winners(out_te)
    metrics["test"]["winner_counts"] = [int((winners_te == i).sum()) for i in range(q)]
    base = kmeans_baseline(data.X_train.astype(float), data.X_test.astype(float),
                           data.y_train, data.y_test, data.n_classes, seed)
    return {"metrics": metrics, "baseline": {"kmeans": base}}


def ir_summary(net: Network) -> dict:
    layers = net.layers
    return {
        "synapses": int(net.synapses),
        "layers": len(layers),
        "columns": sum(len(la.columns) for la in layers),
        "neurons": sum(c.neurons for la in layers for c in la.columns),
        "segments": sum(c.neurons * c.dendrites * c.segments for la in layers for c in la.columns),
        "inputs": net.inputs, "outputs": net.outputs,
        "timeres": net.time.timeres, "response": net.time.response,
        "text_sha256": hashlib.sha256(to_text(net).encode()).hexdigest(),
    }


# ------------------------------------------------------------------------------ stages
def stage_train(cfg: Config, outdir: Path, data: Data, state: State, show: bool) -> tuple[Network, dict]:
    d = cfgmod.to_dict(cfg)
    key = digest("train", d["experiment"], d["data"], d["network"], d["train"])
    model = outdir / "ir" / "model.json"
    mfile = outdir / "metrics.json"
    if state.fresh("train", key, model, mfile):
        step("train: up to date (resumed)", show)
        return load(model), json.loads(mfile.read_text())
    step(f"init + train: {data.name}, {cfg.train.epochs} epochs, mode={cfg.train.mode}", show)
    net0 = init_network(cfg, data)
    save(net0, outdir / "ir" / "initial")
    net, stats = train_network(cfg, net0, data, show)
    save(net, model)
    atomic_write_text(outdir / "ir" / "model.txt", to_text(net))
    ev = evaluate(net, data, cfg.experiment.seed)
    metrics = {"seed": cfg.experiment.seed, "dataset": data.info, "ir": ir_summary(net),
               "training": stats, **ev}
    write_json(mfile, metrics)
    state.done("train", key)
    return net, metrics


def stage_compile(cfg: Config, net: Network, outdir: Path, state: State, show: bool) -> dict:
    from .hdl import emit

    rtl = outdir / "rtl"
    key = digest("compile", to_text(net), cfgmod.to_dict(cfg)["hdl"])
    info_file = rtl / "emit.json"
    if state.fresh("compile", key, info_file):
        step("compile: up to date (resumed)", show)
        return json.loads(info_file.read_text())
    step(f"compile: IR -> Verilog ({cfg.hdl.weights} weights)", show)
    res = emit(net, rtl, weights=cfg.hdl.weights, name=cfg.hdl.top)
    info = {"verilog": str(res.verilog), "rtlil": str(res.rtlil), "names": str(res.names),
            "info": res.info}
    write_json(info_file, info)
    state.done("compile", key)
    return info


def verify_stimulus(cfg: Config, data: Data) -> np.ndarray:
    X = data.X_test
    n = cfg.verify.samples
    if n and n < len(X):
        idx = np.sort(np.random.default_rng(cfg.experiment.seed).choice(len(X), n, replace=False))
        X = X[idx]
    return X


def stage_verify(cfg: Config, net: Network, emitted: dict, data: Data, outdir: Path,
                 state: State, show: bool) -> dict:
    from .verify import run_verification

    vdir = outdir / "verify"
    X = verify_stimulus(cfg, data)
    vlog = Path(emitted["verilog"]).read_bytes()
    key = digest("verify", hashlib.sha256(vlog).hexdigest(), to_text(net), X.tolist(),
                 cfgmod.to_dict(cfg)["verify"])
    rfile = vdir / "result.json"
    if state.fresh("verify", key, rfile):
        step("verify: up to date (resumed)", show)
        return json.loads(rfile.read_text())
    sim = None if cfg.verify.simulator == "auto" else cfg.verify.simulator
    step(f"verify: {len(X)} waves on {sim or 'the installed simulator'} against the interpreter", show)
    res = run_verification(net, Path(emitted["verilog"]), Path(emitted["names"]), X,
                           simulator=sim, workdir=vdir, waves=cfg.verify.waves)
    out = res.to_dict()
    write_json(rfile, out)
    if out.get("mismatches"):
        from .verify import describe

        raise VerificationMismatch(
            describe(out["first_mismatch"] or {}, out["mismatches"], out["waves"])
            + f" (waveform: {out.get('waveform')}; details: {rfile})",
            first=out.get("first_mismatch"))
    state.done("verify", key)
    return out


def stage_verify_learning(cfg: Config, net0: Network, net_sw: Network, emitted: dict, data: Data,
                          outdir: Path, state: State, show: bool) -> tuple[dict, Network]:
    """On-chip training in simulation: the ``learn``-mode design starts from the initial IR
    and learns from the same seeded training stream as the software trainer; after every
    wave its outputs, weights and LFSR states are compared with the interpreter. Returns the
    result and the chip-trained IR (which must equal the software-trained one)."""
    from .verify.learn import run_learning_verification, trained_network

    vdir = outdir / "verify"
    order = training_order(len(data.X_train), cfg.train.epochs, cfg.experiment.seed, cfg.train.shuffle)
    X = data.X_train[order]
    labels = data.y_train[order] if cfg.train.rule == "rstdp" else None
    vlog = Path(emitted["verilog"]).read_bytes()
    key = digest("verify-learn", hashlib.sha256(vlog).hexdigest(), to_text(net0), X.tolist(),
                 None if labels is None else labels.tolist(), cfgmod.to_dict(cfg)["verify"])
    rfile = vdir / "result.json"
    chip_file = outdir / "ir" / "chip_trained.json"
    if state.fresh("verify", key, rfile, chip_file):
        step("verify (on-chip learning): up to date (resumed)", show)
        return json.loads(rfile.read_text()), load(chip_file)
    sim = None if cfg.verify.simulator == "auto" else cfg.verify.simulator
    step(f"verify: on-chip STDP over {len(X)} training waves on {sim or 'the installed simulator'}, "
         "outputs, weights and LFSR states vs the interpreter after every wave", show)
    res = run_learning_verification(net0, Path(emitted["verilog"]), Path(emitted["names"]), X,
                                    labels=labels, simulator=sim, workdir=vdir, waves=cfg.verify.waves)
    out = {k: v for k, v in res.to_dict().items() if k not in ("final_weights", "final_rng")}
    chip = trained_network(net0, res.final_weights, res.final_rng)
    out["chip_equals_software"] = to_text(chip) == to_text(net_sw)
    write_json(rfile, out)
    if out.get("mismatches") or out.get("weight_mismatches") or out.get("rng_mismatches"):
        raise VerificationMismatch(
            f"on-chip learning differs from the reference: {out.get('mismatches')} output, "
            f"{out.get('weight_mismatches')} weight, {out.get('rng_mismatches')} LFSR mismatches; "
            f"first weight mismatch: {out.get('first_weight_mismatch')}; first output mismatch: "
            f"{out.get('first_mismatch')} (details: {rfile})", first=out.get("first_weight_mismatch"))
    if not out["chip_equals_software"]:
        raise VerificationMismatch("the chip-trained IR differs from the software-trained IR although "
                                   f"every wave matched the interpreter (details: {rfile})")
    save(chip, chip_file)
    state.done("verify", key)
    return out, chip


def stage_synth(cfg: Config, emitted: dict, outdir: Path, show: bool) -> dict:
    from . import flows

    s = cfg.synth
    verilog = Path(emitted["verilog"]).read_text()
    top = cfg.hdl.top
    results: dict[str, Any] = {}
    for target in s.targets:
        step(f"synth: {target}", show)
        if target == "generic":
            r = flows.synth_generic(verilog, top)
        elif target == "ice40":
            r = flows.synth_ice40(verilog, top, device=s.ice40_device, package=s.ice40_package,
                                  freq_mhz=s.freq_mhz)
        elif target == "ecp5":
            r = flows.synth_ecp5(verilog, top, device=s.ecp5_device, package=s.ecp5_package,
                                 freq_mhz=s.freq_mhz)
        else:
            r = flows.synth_liberty(verilog, top, s.liberty)
        results[target] = r.to_dict()
        write_json(outdir / "synth" / f"{target}.json", results[target])
    return results


def run(cfg: Config, outdir: str | Path, *, stages: tuple[str, ...] = ("train", "compile", "verify", "synth", "report"),
        show: bool = True, command: str | None = None) -> dict:
    """Train -> IR -> Verilog -> verify -> synth -> report. Returns the report dict.
    ``command`` is recorded in the report as the way to reproduce it."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(outdir / "config.toml", cfgmod.to_toml(cfg))
    state = State(outdir)
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    data = prepare_data(cfg)
    timing["data"] = time.perf_counter() - t0

    t = time.perf_counter()
    net, metrics = stage_train(cfg, outdir, data, state, show)
    timing["train"] = time.perf_counter() - t
    report: dict[str, Any] = {
        "schema": SCHEMA, "name": cfg.experiment.name, "seed": cfg.experiment.seed,
        "config": cfgmod.to_dict(cfg), "passes": [], "dataset": metrics["dataset"],
        "ir": metrics["ir"], "training": metrics["training"], "metrics": metrics["metrics"],
        "baseline": metrics["baseline"],
        "command": command or f"neutnngen run {outdir / 'config.toml'}",
    }
    learn = cfg.hdl.weights == "learn"
    if "compile" in stages:
        t = time.perf_counter()
        # a learning chip starts from the initial weights and trains itself
        hw_net = load(outdir / "ir" / "initial.json") if learn else net
        emitted = stage_compile(cfg, hw_net, outdir, state, show)
        timing["compile"] = time.perf_counter() - t
        info = emitted["info"]
        report["hdl"] = {"weights": cfg.hdl.weights, "top": cfg.hdl.top,
                         "latency_cycles": info.get("LATENCY"), "wave_cycles": info.get("WAVE_CYCLES"),
                         "pipeline_waves": info.get("L"), "ports": info,
                         "verilog": os.path.relpath(emitted["verilog"], outdir)}
        if "verify" in stages and cfg.verify.enabled:
            t = time.perf_counter()
            if learn:
                report["verify"], chip = stage_verify_learning(cfg, hw_net, net, emitted, data,
                                                               outdir, state, show)
                ev = evaluate(chip, data, cfg.experiment.seed)
                report["chip_trained"] = {"metrics": ev["metrics"],
                                          "equals_software": report["verify"]["chip_equals_software"],
                                          "ir": "ir/chip_trained.json"}
            else:
                report["verify"] = stage_verify(cfg, net, emitted, data, outdir, state, show)
            timing["verify"] = time.perf_counter() - t
        if "synth" in stages and cfg.synth.targets:
            t = time.perf_counter()
            report["synth"] = stage_synth(cfg, emitted, outdir, show)
            timing["synth"] = time.perf_counter() - t
            fmax = (report["synth"].get("ice40") or {}).get("fmax_mhz")
            wc = info.get("WAVE_CYCLES")
            if fmax and wc:
                report["performance"] = {
                    "fmax_mhz": fmax, "wave_cycles": wc,
                    "inferences_per_s_at_fmax": fmax * 1e6 / wc,
                    "latency_ns_at_fmax": info.get("LATENCY", 0) * 1e3 / fmax}
    from .flows import tool_versions

    report["tools"] = {"neutnngen": _version(), **tool_versions()}
    timing["total"] = time.perf_counter() - t0
    report["timing_s"] = timing
    if "report" in stages:
        from .report import write_report

        step("report", show)
        write_report(report, net, data, outdir)
    else:
        write_json(outdir / "report.json", report)
    return report


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neutnngen")
    except PackageNotFoundError:
        return "unknown"
