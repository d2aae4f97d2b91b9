"""Stages: the steps of a run as objects over one :class:`Context`, resumed through one
:class:`~neutnngen.pipeline.store.Store`.

A stage names the record it keeps in the store, computes the digest of everything its
result depends on (:meth:`Stage.key`), lists the files that hold the result
(:meth:`Stage.files`), and can both compute the result (:meth:`Stage.compute`, writing those
files) and read it back (:meth:`Stage.load`). :func:`run_stage` does the rest: a fresh
record is loaded ("up to date (resumed)"), anything else is computed and recorded; then
:meth:`Stage.apply` puts the result into the context and the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...config import Config
from ...ir import Network
from ...progress import step
from ..store import Store
from ..tasks import Data, Task


@dataclass
class Context:
    """What the stages of one output directory share."""

    cfg: Config
    outdir: Path
    task: Task
    store: Store
    show: bool = True
    command: str | None = None
    data: Data | None = None
    net: Network | None = None  # the trained network (the one the hardware computes)
    metrics: dict | None = None  # metrics.json of the training stage
    emitted: dict | None = None  # the compile stage's result (paths and port info)
    report: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, cfg: Config, outdir: str | Path, task: Task, **kw: Any) -> Context:
        outdir = Path(outdir)
        return cls(cfg=cfg, outdir=outdir, task=task, store=Store(outdir), **kw)


class Stage:
    """One step of a run. Subclasses set :attr:`name` and implement the methods."""

    name: ClassVar[str] = ""
    #: the store record (several stage variants may share one, e.g. the two verify stages)
    record: ClassVar[str] = ""
    #: how the resume line names it
    label: ClassVar[str] = ""
    resumable: ClassVar[bool] = True

    def key(self, ctx: Context) -> str:
        raise NotImplementedError

    def files(self, ctx: Context) -> list[Path]:
        return []

    def describe(self, ctx: Context) -> str | None:
        """The line announcing the work (None: the stage announces its own steps)."""
        return self.name

    def compute(self, ctx: Context) -> Any:
        raise NotImplementedError

    def load(self, ctx: Context) -> Any:
        raise NotImplementedError

    def apply(self, ctx: Context, result: Any) -> None:
        """Put ``result`` into the context and ``ctx.report``."""


def run_stage(stage: Stage, ctx: Context) -> Any:
    """Run ``stage`` on ``ctx`` (or resume it from the store) and apply its result."""
    t0 = time.perf_counter()
    if stage.resumable:
        key = stage.key(ctx)
        record = stage.record or stage.name
        if ctx.store.fresh(record, key, *stage.files(ctx)):
            step(f"{stage.label or stage.name}: up to date (resumed)", ctx.show)
            result = stage.load(ctx)
        else:
            msg = stage.describe(ctx)
            if msg:
                step(msg, ctx.show)
            result = stage.compute(ctx)
            ctx.store.done(record, key, *stage.files(ctx))
    else:
        msg = stage.describe(ctx)
        if msg:
            step(msg, ctx.show)
        result = stage.compute(ctx)
    stage.apply(ctx, result)
    ctx.timing[stage.name] = ctx.timing.get(stage.name, 0.0) + time.perf_counter() - t0
    return result
