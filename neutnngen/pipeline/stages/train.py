"""The training stage: build the config's network, train it on the task's data, evaluate it.

Writes ``ir/initial.{json,npz}`` (the network as initialised), ``ir/model.{json,npz}`` and
``ir/model.txt`` (trained) and ``metrics.json`` (seed, dataset, IR summary, training
statistics, the task's metrics and baselines)."""

from __future__ import annotations

import json
from pathlib import Path

from ... import config as cfgmod
from ..._io import atomic_write_text, digest, write_json
from ...ir import load, save, to_text
from ..network import build_and_train, ir_summary, silence_warning
from .base import Context, Stage

SCHEMA = "neutnngen-report/1"


class TrainStage(Stage):
    name = "train"

    def key(self, ctx: Context) -> str:
        d = cfgmod.to_dict(ctx.cfg)
        parts = ["train", d["experiment"], d["data"], d["network"], d["train"], d.get("layers")]
        fp = ctx.task.fingerprint(ctx.cfg)
        return digest(*parts, *([fp] if fp is not None else []))

    def files(self, ctx: Context) -> list[Path]:
        ir = ctx.outdir / "ir"
        return [ir / "model.json", ir / "model.npz", ir / "initial.json", ir / "initial.npz",
                ctx.outdir / "metrics.json"]

    def describe(self, ctx: Context) -> str:
        t = ctx.cfg.train
        return f"init + train: {ctx.data.name}, {t.epochs} epochs, mode={t.mode}"

    def compute(self, ctx: Context):
        cfg, data, out = ctx.cfg, ctx.data, ctx.outdir
        net0, net, stats = build_and_train(cfg, data, ctx.show)
        save(net0, out / "ir" / "initial")
        save(net, out / "ir" / "model.json")
        atomic_write_text(out / "ir" / "model.txt", to_text(net))
        ev = ctx.task.evaluate(net, data, cfg.experiment.seed)
        warn = silence_warning(net0, net, ev.get("metrics", {}).get("test", {}).get("coverage"))
        if warn:
            stats = {**stats, "warnings": [warn]}
        metrics = {"seed": cfg.experiment.seed, "dataset": data.info, "ir": ir_summary(net),
                   "training": stats, **ev}
        write_json(out / "metrics.json", metrics)
        return net, metrics

    def load(self, ctx: Context):
        return (load(ctx.outdir / "ir" / "model.json"),
                json.loads((ctx.outdir / "metrics.json").read_text()))

    def apply(self, ctx: Context, result) -> None:
        ctx.net, ctx.metrics = result
        m = ctx.metrics
        ctx.report.update({
            "schema": SCHEMA, "name": ctx.cfg.experiment.name, "seed": ctx.cfg.experiment.seed,
            "config": cfgmod.to_dict(ctx.cfg), "passes": [], "dataset": m["dataset"],
            "ir": m["ir"], "training": m["training"], "metrics": m["metrics"],
            "baseline": m["baseline"],
            "command": ctx.command or f"neutnngen run {ctx.outdir / 'config.toml'}",
        })
