"""The hardware stages: compile (IR -> Verilog), verify (RTL vs the reference interpreter,
every wave; or, for ``learn``-mode chips, on-chip training vs the software trainer) and
synth (every ``synth.targets`` entry, and the ``synth.board`` bitstream)."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ... import config as cfgmod
from ..._io import digest, sha256_file, write_json
from ...config import Config
from ...errors import ConfigError, VerificationMismatch
from ...ir import Network, load, save, to_text
from ...progress import Progress, step, track
from ..network import mu_shifts, training_order
from ..tasks import Data
from .base import Context, Stage


def verify_stimulus(cfg: Config, data: Data) -> np.ndarray:
    """The test volleys a verification compares: every test sample, or a seeded sample of
    ``verify.samples`` of them."""
    X = data.X_test
    n = cfg.verify.samples
    if n and n < len(X):
        idx = np.sort(np.random.default_rng(cfg.experiment.seed).choice(len(X), n, replace=False))
        X = X[idx]
    return X


def mutation_learning_stream(cfg: Config, data: Data, net: Network, waves: int = 64,
                             corner: int = 48, seed: int = 0) -> dict[str, Any]:
    """The training stream a ``learn``-mode mutation campaign runs through the learning
    bench (:func:`neutnngen.verify.mutate.mutation_campaign` ``learning``): the first
    ``waves`` training volleys in the trainer's seeded order (with their labels when a layer
    reads labels), then ``corner`` volleys of :func:`neutnngen.verify.corner.learn_streams`
    (seed ``seed``) that push weights to both bounds (labels cycled through the classes)."""
    from ...verify.corner import learn_streams
    from ..network import needs_labels

    for name, v in (("waves", waves), ("corner", corner)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"learning stream {name}={v!r}; expected a number of volleys >= 0",
                              path=f"learning.{name}")
    order = training_order(len(data.X_train), max(1, cfg.train.epochs), cfg.experiment.seed,
                           cfg.train.shuffle)[:waves]
    X = np.asarray(data.X_train[order], dtype=np.int64).reshape(-1, net.inputs)
    C = learn_streams(net, corner, seed=seed) if corner else np.zeros((0, net.inputs), np.int64)
    labels = None
    if needs_labels(net):
        y = np.asarray(data.y_train, dtype=np.int64)
        labels = np.concatenate([y[order], np.resize(np.unique(y), len(C))])
    return {"X": np.concatenate([X, C]), "labels": labels, "real": len(X), "corner": len(C)}


def with_progress(fn, bar: Progress, **kw: Any):
    """Call ``fn(**kw)``, handing it ``progress=bar`` when it takes a progress hook (the
    verification runners will once the cocotb bench reports waves; until then the bar shows
    the stage's elapsed time)."""
    if "progress" in inspect.signature(fn).parameters:
        kw["progress"] = bar
    return fn(**kw)


def mu_shift_bits(cfg: Config) -> int:
    """Width of the design's ``mu_shift`` port: the M4 schedule ``train.mu_decay`` of a
    learn-mode design (shifts past 15 equal 15: every ``mu`` is 0 after 11)."""
    every, most = cfg.train.mu_decay
    if cfg.hdl.weights != "learn" or every <= 0 or most <= 0:
        return 0
    return min(most, 15).bit_length()


def _simulator(cfg: Config) -> str | None:
    return None if cfg.verify.simulator == "auto" else cfg.verify.simulator


class CompileStage(Stage):
    name = "compile"

    def network(self, ctx: Context) -> Network:
        # a learning chip starts from the initial weights and trains itself
        if ctx.cfg.hdl.weights == "learn":
            return load(ctx.outdir / "ir" / "initial.json")
        return ctx.net

    def key(self, ctx: Context) -> str:
        return digest("compile", to_text(self.network(ctx)), cfgmod.to_dict(ctx.cfg)["hdl"],
                      mu_shift_bits(ctx.cfg))

    def files(self, ctx: Context) -> list[Path]:
        rtl = ctx.outdir / "rtl"
        return [rtl / "emit.json", rtl / f"{ctx.cfg.hdl.top}.v", rtl / "names.json"]

    def describe(self, ctx: Context) -> str:
        axis = ", AXI4-Stream top" if ctx.cfg.hdl.interface == "axis" else ""
        return (f"compile: IR -> Verilog ({ctx.cfg.hdl.weights} weights, "
                f"{ctx.cfg.hdl.architecture} architecture{axis})")

    def compute(self, ctx: Context) -> dict:
        from ...hdl import emit

        res = emit(self.network(ctx), ctx.outdir / "rtl", weights=ctx.cfg.hdl.weights,
                   name=ctx.cfg.hdl.top, architecture=ctx.cfg.hdl.architecture,
                   weight_store=ctx.cfg.hdl.weight_store, mu_shift_bits=mu_shift_bits(ctx.cfg),
                   interface=ctx.cfg.hdl.interface, axis_bytes=ctx.cfg.hdl.axis_bytes,
                   axis_buffer=ctx.cfg.hdl.axis_buffer)
        info = {"verilog": str(res.verilog), "rtlil": str(res.rtlil), "names": str(res.names),
                "info": res.info}
        write_json(ctx.outdir / "rtl" / "emit.json", info)
        return info

    def load(self, ctx: Context) -> dict:
        return json.loads((ctx.outdir / "rtl" / "emit.json").read_text())

    def apply(self, ctx: Context, emitted: dict) -> None:
        ctx.emitted = emitted
        info = emitted["info"]
        ctx.report["hdl"] = {
            "weights": ctx.cfg.hdl.weights, "top": ctx.cfg.hdl.top,
            "interface": ctx.cfg.hdl.interface,
            "latency_cycles": info.get("LATENCY"), "wave_cycles": info.get("WAVE_CYCLES"),
            "pipeline_waves": info.get("L"), "ports": info,
            "verilog": os.path.relpath(emitted["verilog"], ctx.outdir)}


class VerifyStage(Stage):
    """The emitted design on the test volleys, every output volley against the interpreter.
    A mismatch writes ``verify/result.json`` and raises :class:`VerificationMismatch`
    (nothing is recorded, so a rerun verifies again)."""

    name = "verify"

    def key(self, ctx: Context) -> str:
        X = verify_stimulus(ctx.cfg, ctx.data)
        return digest("verify", sha256_file(ctx.emitted["verilog"]), to_text(ctx.net), X.tolist(),
                      cfgmod.to_dict(ctx.cfg)["verify"])

    def files(self, ctx: Context) -> list[Path]:
        return [ctx.outdir / "verify" / "result.json"]

    def describe(self, ctx: Context) -> str:
        n = len(verify_stimulus(ctx.cfg, ctx.data))
        bench = "AXIS" if ctx.cfg.hdl.interface == "axis" else ctx.cfg.verify.bench
        return (f"verify: {n} waves on {_simulator(ctx.cfg) or 'the installed simulator'} "
                f"({bench} bench) against the interpreter")

    def compute(self, ctx: Context) -> dict:
        from ...verify import describe, run_verification

        X = verify_stimulus(ctx.cfg, ctx.data)
        rfile = ctx.outdir / "verify" / "result.json"
        if ctx.cfg.hdl.interface == "axis":
            return self._axis(ctx, X, rfile)
        with Progress("verify", len(X), enabled=ctx.show, unit="wave") as bar:
            res = with_progress(run_verification, bar, net=ctx.net,
                                verilog_path=Path(ctx.emitted["verilog"]),
                                names_path=Path(ctx.emitted["names"]), X=X,
                                simulator=_simulator(ctx.cfg), workdir=ctx.outdir / "verify",
                                waves=ctx.cfg.verify.waves, timeout=ctx.cfg.verify.timeout_s,
                                bench_kind=ctx.cfg.verify.bench)
            bar.update(len(X))
        out = res.to_dict()
        write_json(rfile, out)
        if out.get("mismatches"):
            raise VerificationMismatch(
                describe(out["first_mismatch"] or {}, out["mismatches"], out["waves"])
                + f" (waveform: {out.get('waveform')}; details: {rfile})",
                first=out.get("first_mismatch"))
        return out

    def _axis(self, ctx: Context, X: np.ndarray, rfile: Path) -> dict:
        """The AXI4-Stream top through the AXIS bench (seeded gaps and backpressure, a short
        and a long packet first), every output packet against the interpreter."""
        from ...verify.axis import failure, verify_axis

        with Progress("verify", len(X), enabled=ctx.show, unit="wave") as bar:
            out = verify_axis(ctx.net, Path(ctx.emitted["verilog"]), Path(ctx.emitted["names"]),
                              X, ctx.outdir / "verify", simulator=_simulator(ctx.cfg),
                              seed=ctx.cfg.experiment.seed, bad_packets=True,
                              timeout=ctx.cfg.verify.timeout_s, waves=ctx.cfg.verify.waves)
            bar.update(len(X))
        write_json(rfile, out)
        why = failure(out, bad_packets=True)
        if why:
            raise VerificationMismatch(f"AXI4-Stream top: {why} (waveform: "
                                       f"{out.get('waveform')}; details: {rfile})",
                                       first={"volley": out.get("first_mismatch")})
        return out

    def load(self, ctx: Context) -> dict:
        return json.loads((ctx.outdir / "verify" / "result.json").read_text())

    def apply(self, ctx: Context, result: dict) -> None:
        ctx.report["verify"] = result


class VerifyLearningStage(Stage):
    """On-chip training in simulation: the ``learn``-mode design starts from the initial IR
    and learns from the same seeded training stream as the software trainer; after every
    wave its outputs, weights and LFSR states are compared with the interpreter. The
    chip-trained IR must equal the software-trained one; its metrics go into the report."""

    name = "verify"
    label = "verify (on-chip learning)"

    def stream(self, ctx: Context) -> tuple[np.ndarray, np.ndarray | None]:
        cfg, data = ctx.cfg, ctx.data
        order = training_order(len(data.X_train), cfg.train.epochs, cfg.experiment.seed,
                               cfg.train.shuffle)
        labels = data.y_train[order] if cfg.train.rule == "rstdp" else None
        return data.X_train[order], labels

    def key(self, ctx: Context) -> str:
        X, labels = self.stream(ctx)
        net0 = load(ctx.outdir / "ir" / "initial.json")
        mus = mu_shifts(ctx.cfg, len(X), len(ctx.data.X_train))
        return digest("verify-learn", sha256_file(ctx.emitted["verilog"]), to_text(net0),
                      X.tolist(), None if labels is None else labels.tolist(),
                      cfgmod.to_dict(ctx.cfg)["verify"], None if mus is None else mus.tolist())

    def files(self, ctx: Context) -> list[Path]:
        return [ctx.outdir / "verify" / "result.json", ctx.outdir / "ir" / "chip_trained.json"]

    def describe(self, ctx: Context) -> str:
        n = len(self.stream(ctx)[0])
        return (f"verify: on-chip STDP over {n} training waves on "
                f"{_simulator(ctx.cfg) or 'the installed simulator'}, outputs, weights and "
                "LFSR states vs the interpreter after every wave")

    def compute(self, ctx: Context) -> tuple[dict, Network]:
        from ...verify.learn import run_learning_verification, trained_network

        X, labels = self.stream(ctx)
        net0 = load(ctx.outdir / "ir" / "initial.json")
        rfile = ctx.outdir / "verify" / "result.json"
        with Progress("verify", len(X), enabled=ctx.show, unit="wave") as bar:
            res = with_progress(run_learning_verification, bar, net=net0,
                                verilog_path=Path(ctx.emitted["verilog"]),
                                names_path=Path(ctx.emitted["names"]), X=X, labels=labels,
                                simulator=_simulator(ctx.cfg), workdir=ctx.outdir / "verify",
                                waves=ctx.cfg.verify.waves,
                                mu_shift=mu_shifts(ctx.cfg, len(X), len(ctx.data.X_train)))
            bar.update(len(X))
        out = {k: v for k, v in res.to_dict().items()
               if k not in ("final_weights", "final_rng", "final_h")}
        chip = trained_network(net0, res.final_weights, res.final_rng, res.final_h)
        out["chip_equals_software"] = to_text(chip) == to_text(ctx.net)
        # M5 counters the bench compared (the report lists their mismatches only then)
        out["homeostasis_counters"] = sum(len(h) for layer in res.final_h or ()
                                          for h in layer if h is not None)
        write_json(rfile, out)
        if out.get("mismatches") or out.get("weight_mismatches") or out.get("rng_mismatches") \
                or out.get("homeostasis_mismatches"):
            raise VerificationMismatch(
                f"on-chip learning differs from the reference: {out.get('mismatches')} output, "
                f"{out.get('weight_mismatches')} weight, {out.get('rng_mismatches')} LFSR, "
                f"{out.get('homeostasis_mismatches')} win-rate counter "
                f"mismatches; first weight mismatch: {out.get('first_weight_mismatch')}; first "
                f"output mismatch: {out.get('first_mismatch')} (details: {rfile})",
                first=out.get("first_weight_mismatch"))
        if not out["chip_equals_software"]:
            raise VerificationMismatch("the chip-trained IR differs from the software-trained IR "
                                       f"although every wave matched the interpreter (details: {rfile})")
        save(chip, ctx.outdir / "ir" / "chip_trained.json")
        return out, chip

    def load(self, ctx: Context) -> tuple[dict, Network]:
        return (json.loads((ctx.outdir / "verify" / "result.json").read_text()),
                load(ctx.outdir / "ir" / "chip_trained.json"))

    def apply(self, ctx: Context, result: tuple[dict, Network]) -> None:
        out, chip = result
        ctx.report["verify"] = out
        ev = ctx.task.evaluate(chip, ctx.data, ctx.cfg.experiment.seed)
        ctx.report["chip_trained"] = {"metrics": ev["metrics"],
                                      "equals_software": out["chip_equals_software"],
                                      "ir": "ir/chip_trained.json"}


def axis_cycles(ax: dict | None, wave: int) -> int:
    """Cycles per volley at full rate: the core's ``wave`` cycles, or through an AXI4-Stream
    top (``ax``: names.json's ``"axis"``; docs/rtl-contract.md, measured in
    ``tests/test_axis.py``) more: the core holds its input while its wave runs, so without
    ``axis_buffer`` a volley costs its input beats plus the wave; with it the next packet
    comes in during the wave: the longer of the two, plus the buffer's cycle."""
    if not ax:
        return wave
    beats = int(ax.get("in_beats", ax["in_bytes"]))
    return max(beats, wave) + 1 if ax.get("buffered") else beats + wave


class SynthStage(Stage):
    """Every ``synth.targets`` entry on the emitted Verilog (``synth/<target>.json``) and,
    with ``synth.board``, the board bitstream (``synth/board.json``)."""

    name = "synth"

    def key(self, ctx: Context) -> str:
        from ...flows import tool_versions

        return digest("synth", sha256_file(ctx.emitted["verilog"]), ctx.cfg.hdl.top,
                      cfgmod.to_dict(ctx.cfg)["synth"], tool_versions())

    def files(self, ctx: Context) -> list[Path]:
        extra = ["architectures"] if ctx.cfg.synth.compare_architectures else []
        extra += ["board"] if ctx.cfg.synth.board else []
        return [ctx.outdir / "synth" / f"{t}.json" for t in (*ctx.cfg.synth.targets, *extra)]

    def describe(self, ctx: Context) -> None:
        return None  # one line per target

    def compute(self, ctx: Context) -> dict[str, Any]:
        from ... import flows

        s = ctx.cfg.synth
        verilog = Path(ctx.emitted["verilog"]).read_text()
        top = ctx.cfg.hdl.top
        results: dict[str, Any] = {}
        for target in track(s.targets, "synth", show=ctx.show, note=str, unit="target"):
            step(f"synth: {target}", ctx.show)
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
            write_json(ctx.outdir / "synth" / f"{target}.json", results[target])
        if s.compare_architectures:
            results["architectures"] = self._architectures(ctx, results.get("generic"))
            write_json(ctx.outdir / "synth" / "architectures.json", results["architectures"])
        if s.board:
            results["board"] = self._board(ctx, verilog)
            write_json(ctx.outdir / "synth" / "board.json", results["board"])
        return results

    def _board(self, ctx: Context, verilog: str) -> dict[str, Any]:
        """``synth.board``: the AXIS design in the board's UART top, placed, routed and packed
        (``synth/board-NAME/``, the bitstream there), timed at the board's clock (the
        frequency it runs at; ``synth.freq_mhz`` is the ice40/ecp5 targets' constraint)."""
        from ...flows.board import build_bitstream, load_board
        from ...hdl.uart import board_wrapper

        s = ctx.cfg.synth
        board = load_board(s.board)
        top = json.loads(Path(ctx.emitted["names"]).read_text())["top"]
        wrapper, div = board_wrapper(top, board, s.baud, "synth.board")
        step(f"synth: bitstream for {board.name} ({board.family} {board.device})", ctx.show)
        vname = Path(ctx.emitted["verilog"]).name
        r = build_bitstream({"board_top.v": wrapper, vname: verilog}, "board_top", board,
                            workdir=ctx.outdir / "synth" / f"board-{board.name}")
        d = r.to_dict()
        d.update(baud=s.baud, uart_divisor=div, design=top["name"],
                 in_bytes=int(top["axis"]["in_bytes"]), out_bytes=int(top["axis"]["out_bytes"]))
        if d.get("bitstream"):
            d["bitstream"] = os.path.relpath(d["bitstream"], ctx.outdir)
        d["workdir"] = os.path.relpath(d["workdir"], ctx.outdir)
        return d

    def _architectures(self, ctx: Context, generic: dict | None) -> dict[str, Any]:
        """The same IR in every layer architecture: cycles from the plan, cost from a generic
        synthesis (the built design's own numbers are reused)."""
        import tempfile

        from ... import flows
        from ...hdl import emit
        from ...hdl.plan import ARCHITECTURES

        cfg = ctx.cfg
        net = CompileStage().network(ctx)
        out: dict[str, Any] = {}
        for arch in ARCHITECTURES:
            row: dict[str, Any] = {"built": arch == cfg.hdl.architecture}
            if row["built"]:  # the run's own design: its plan and its synthesis
                info = ctx.emitted["info"]
                g = generic if generic is not None else flows.synth_generic(
                    Path(ctx.emitted["verilog"]).read_text(), cfg.hdl.top).to_dict()
            else:
                try:
                    with tempfile.TemporaryDirectory(prefix="neutnngen-arch-") as td:
                        res = emit(net, td, weights=cfg.hdl.weights, name=cfg.hdl.top,
                                   architecture=arch, weight_store=cfg.hdl.weight_store,
                                   mu_shift_bits=mu_shift_bits(cfg),
                                   interface=cfg.hdl.interface,
                                   axis_bytes=cfg.hdl.axis_bytes,
                                   axis_buffer=cfg.hdl.axis_buffer)
                        step(f"synth: generic, {arch} architecture", ctx.show)
                        g = flows.synth_generic(res.verilog.read_text(), cfg.hdl.top).to_dict()
                except ConfigError as e:  # e.g. pipelined has no on-chip learning
                    row["unavailable"] = str(e)
                    out[arch] = row
                    continue
                info = res.info
            wc, lat = int(info["WAVE_CYCLES"]), int(info["LATENCY"])
            per = axis_cycles(info.get("axis"), wc)
            row.update({"wave_cycles": wc, "latency_cycles": lat, "cycles_per_inference": per,
                        "transistors": g.get("transistors"), "cells": g.get("cells"),
                        "flip_flops": g.get("flip_flops")})
            if row["transistors"]:  # area x time per inference (through the AXIS top if any)
                row["transistor_cycles"] = int(row["transistors"]) * per
            out[arch] = row
        return out

    def load(self, ctx: Context) -> dict[str, Any]:
        res = {t: json.loads((ctx.outdir / "synth" / f"{t}.json").read_text())
               for t in ctx.cfg.synth.targets}
        if ctx.cfg.synth.board:
            res["board"] = json.loads((ctx.outdir / "synth" / "board.json").read_text())
        if ctx.cfg.synth.compare_architectures:
            res["architectures"] = json.loads(
                (ctx.outdir / "synth" / "architectures.json").read_text())
        return res

    def apply(self, ctx: Context, results: dict[str, Any]) -> None:
        results = dict(results)
        arch = results.pop("architectures", None)
        if arch is not None:
            ctx.report["architectures"] = arch
        board = results.pop("board", None)
        if board is not None:
            ctx.report["board"] = board
        ctx.report["synth"] = results
        info = ctx.emitted["info"]
        fmax = (results.get("ice40") or {}).get("fmax_mhz")
        wc = info.get("WAVE_CYCLES")
        if fmax and wc:
            per = axis_cycles(info.get("axis"), wc)
            ctx.report["performance"] = {
                "fmax_mhz": fmax, "wave_cycles": wc, "cycles_per_inference": per,
                "inferences_per_s_at_fmax": fmax * 1e6 / per,
                "latency_ns_at_fmax": info.get("LATENCY", 0) * 1e3 / fmax}
