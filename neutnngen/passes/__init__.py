"""IR -> IR passes with a registry and one-line specs (``prune-weight{max=0},prune-fraction``).

* :mod:`.base`: the framework (:class:`Pass`, :func:`option`, :func:`register`,
  :func:`parse_pipeline`, :func:`run_pipeline`, :class:`PassContext`);
* :mod:`.pruning`: ``prune-weight``, ``prune-fraction``, ``prune-inactive`` (docs/model.md §7);
* :mod:`.activity`: per-synapse capture counts by replaying training (for ``prune-inactive``).

Imports numpy and the IR only (never torch, amaranth or cocotb). ``docs/pruning.md`` lists
every pass and option.
"""

from . import pruning as _pruning  # noqa: F401  (registers the pruning passes)
from .activity import Activity, record_activity
from .base import (
    PASSES,
    Pass,
    PassContext,
    PipelineResult,
    make_pass,
    option,
    parse_pipeline,
    pipeline_spec,
    register,
    run_pipeline,
    synapse_table,
)
from .pruning import PruneFraction, PruneInactive, PruneWeight


def describe_passes() -> str:
    """Every registered pass with its options (the text of ``neutnngen prune --list-passes``)."""
    return "\n".join(PASSES[n].help() for n in sorted(PASSES))


__all__ = [
    "PASSES", "Activity", "Pass", "PassContext", "PipelineResult", "PruneFraction",
    "PruneInactive", "PruneWeight", "describe_passes", "make_pass", "option", "parse_pipeline",
    "pipeline_spec", "record_activity", "register", "run_pipeline", "synapse_table",
]
