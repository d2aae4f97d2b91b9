"""Reports: ``report.json`` (schema ``neutnngen-report/1``, documented in docs/report.md)
plus ``report.md`` and ``report.html`` with plots (weight maps, output raster, metrics).
Task-specific sections and plots come from the task (:class:`~.write.ReportTask`)."""

from .plots import mpl, plot_metrics, plot_raster, plot_weights, save_figure
from .render import fmt, markdown_to_html, render_html, render_markdown
from .write import ReportTask, write_report

__all__ = ["ReportTask", "fmt", "markdown_to_html", "mpl", "plot_metrics", "plot_raster",
           "plot_weights", "render_html", "render_markdown", "save_figure", "write_report"]
