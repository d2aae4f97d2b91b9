"""Pruning cost reports: ``neutnngen prune CONFIG --sweep ...`` (docs/model.md §7, docs/pruning.md).

:func:`sweep` trains the base network once (``OUT/base``, the pipeline's train stage, so
a rerun resumes), then for every point (a pass pipeline; the unpruned base ``none`` always
comes first) prunes the trained IR, optionally retrains it with the pruned mask fixed,
measures the task metric, and for each weight mode compiles, verifies cycle-accurately
against the interpreter and synthesizes every target of ``synth.targets``. It writes
``OUT/prune.json`` (schema :data:`SCHEMA`), ``OUT/prune.md``, ``OUT/prune.html`` and
``OUT/plots/prune_*.png``. Each point lives in ``OUT/points/<slug>/`` with its IR, RTL,
verification and synthesis results and a ``result.json``; ``OUT/state.json`` (the pipeline's
resume store) records each point with a digest of everything it depends on, so a rerun reuses
finished points, and each weight mode's compile / verify / synth stages resume in
``OUT/points/<slug>/<mode>/``.

Modules: :mod:`.points` (inputs, one point, comparing points), :mod:`.sweep` (the sweep and
the activity replay), :mod:`.report` (reports and plots).
"""

from .points import (
    COST_FIELDS,
    MAX_POINTS,
    PRIMARY_COST,
    SCHEMA,
    WEIGHT_MODES,
    best_within_tolerance,
    check_best_by,
    check_options,
    parse_pass_list,
    parse_sweep,
    parse_weight_modes,
    run_point,
    sweep_specs,
)
from .report import plot_curves, render_markdown, summary_rows, write_reports
from .sweep import replay_activity, sweep

__all__ = ["COST_FIELDS", "MAX_POINTS", "PRIMARY_COST", "SCHEMA", "WEIGHT_MODES",
           "best_within_tolerance", "check_best_by", "check_options", "parse_pass_list",
           "parse_sweep", "parse_weight_modes", "plot_curves", "render_markdown", "replay_activity", "run_point",
           "summary_rows", "sweep", "sweep_specs", "write_reports"]
