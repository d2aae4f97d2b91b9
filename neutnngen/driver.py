"""Compatibility names for the Python API that lived here before the pipeline package.

New code imports :mod:`neutnngen.pipeline` (tasks, stages, the resume store, :func:`run`),
:mod:`neutnngen._io` (atomic writes, strict JSON, digests) and
:mod:`neutnngen.data.readout` (``winners``, ``classify``). Nothing inside neutnngen imports
this module.
"""

from __future__ import annotations

from ._io import atomic_write_text, digest, write_json
from .data.readout import classify, winners
from .pipeline import (
    Data,
    build_and_train,
    headline,
    infer,
    init_network,
    ir_summary,
    layer_epochs,
    layer_plan,
    learning_rule,
    needs_labels,
    prepare_data,
    primary_metric,
    run,
    train_network,
    training_order,
    verify_stimulus,
)
from .pipeline.stages.train import SCHEMA
from .pipeline.store import Store as State
from .pipeline.tasks import place_centres


def evaluate(net, data: Data, seed: int) -> dict:
    """Task metrics (docs/model.md §8) of ``net`` on both splits, with the task's baseline."""
    from .pipeline import get_task

    return get_task(data.kind).evaluate(net, data, seed)


__all__ = ["SCHEMA", "Data", "State", "atomic_write_text", "build_and_train", "classify",
           "digest", "evaluate", "headline", "infer", "init_network", "ir_summary",
           "layer_epochs", "layer_plan", "learning_rule", "needs_labels", "place_centres",
           "prepare_data", "primary_metric", "run", "train_network", "training_order",
           "verify_stimulus", "winners", "write_json"]
