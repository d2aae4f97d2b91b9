"""The report stage: ``report.json``, ``report.md``, ``report.html`` and ``plots/`` from
the report dict the other stages filled (always rerun: it is cheap and reflects them all)."""

from __future__ import annotations

from ...report import write_report
from .base import Context, Stage


class ReportStage(Stage):
    name = "report"
    resumable = False

    def compute(self, ctx: Context):
        return write_report(ctx.report, ctx.net, ctx.data, ctx.outdir, ctx.task)
