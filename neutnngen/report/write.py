"""Write a run's report: ``report.json``, ``report.md``, ``report.html`` and ``plots/``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._io import atomic_write_text, write_json
from ..config import Config, from_dict
from ..ir import Interpreter
from .plots import plot_metrics, plot_raster, plot_weights
from .render import render_html, render_markdown


class ReportTask(Protocol):
    """What the report needs from a task (``neutnngen.pipeline.tasks.Task`` has it)."""

    def accuracy_markdown(self, report: dict) -> str: ...

    def metric_bars(self, report: dict) -> tuple[list[str], list[float], list[float], str, str]: ...

    def plots(self, report: dict, net: Any, data: Any, plots_dir: Path) -> dict[str, Path]: ...

    def raster_title(self, report: dict) -> str: ...

    def primary_metric(self, cfg: Config) -> tuple[str, bool]: ...


def weights_xlabel(net, data) -> str:
    """What the weight map's columns are: the encoded input lines (named by the task's
    encoder) when the first column sees all of them, else the column's own input lines (a
    receptive field's window)."""
    enc = (getattr(data, "info", None) or {}).get("encoder")
    if enc and net.layers[0].columns[0].inputs == net.inputs:
        return f"input line: {enc}"
    return "input line of the column"


def write_report(r: dict, net, data, outdir: Path, task: ReportTask) -> dict[str, Path]:
    """Write report.json, report.md, report.html and plots/ into ``outdir``; ``data`` is the
    task's encoded data (``X_test``, ``y_test``), ``task`` gives the task's sections."""
    outdir = Path(outdir)
    plots = outdir / "plots"
    out_te = Interpreter(net).forward(data.X_test)
    files = {
        "weights": plot_weights(net, plots / "weights.png", weights_xlabel(net, data)),
        "raster": plot_raster(out_te, np.asarray(data.y_test), plots / "raster.png",
                              task.raster_title(r)),
        "metrics": plot_metrics(r, plots / "metrics.png", task.metric_bars(r)),
        **task.plots(r, net, data, plots),
    }
    rel = {k: os.path.relpath(v, outdir) for k, v in files.items()}
    r = dict(r, plots=rel)
    key, _ = task.primary_metric(from_dict(r["config"]))
    md = render_markdown(r, rel, task.accuracy_markdown(r), key)
    write_json(outdir / "report.json", r)
    atomic_write_text(outdir / "report.md", md)
    atomic_write_text(outdir / "report.html", render_html(r, md, files))
    return {"json": outdir / "report.json", "md": outdir / "report.md",
            "html": outdir / "report.html", **files}
