"""Reports: ``report.json`` (schema ``neutnngen-report/1``, documented in docs/report.md)
plus ``report.md`` and ``report.html`` with plots (weight maps, output raster, metrics)."""

from .render import (
           plot_metrics,
           plot_raster,
           plot_weights,
           render_html,
           render_markdown,
           write_report,
)

__all__ = ["plot_metrics", "plot_raster", "plot_weights", "render_html", "render_markdown",
           "write_report"]
