"""What one engine process keeps between asks: the trials it has in flight, its throughput
(:class:`Session`), the forecast screen it sends to workers (:class:`Screen`), and the Dask
client it evaluates on."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from . import forecast as fcmod
from .spec import DseSpec


class Screen:
    """Forecast screening (docs/dse.md, "Screening"): this process keeps the cost forecast
    fitted on the study's measured points and sends each candidate a
    :func:`~neutnngen.dse.forecast.screen_context` (models, held-out MAPE, current front);
    the worker trains the candidate, forecasts its cost from the initial IR and skips
    compile + synthesis when :func:`~neutnngen.dse.forecast.screen_decision` finds it
    dominated beyond the forecast error. Screened trials are told PRUNED with
    ``screened=True``, their measured quality and their forecast cost."""

    def __init__(self, spec: DseSpec):
        self.spec = spec
        self.model: fcmod.CostForecast | None = None

    def refit(self, points: list[dict]) -> None:
        self.model = fcmod.fit(points)

    def context(self, weights: str, done: list[dict]) -> dict | None:
        if self.model is None:
            return None
        return fcmod.screen_context(self.model, weights, self.spec, done)


@dataclass
class Inflight:
    trial: Any
    params: dict
    digest: str
    t0: float
    forecast: dict | None = None


@dataclass
class Session:
    """What this process did (throughput of this run; the study may hold more)."""

    started: float = field(default_factory=time.time)
    told: list[int] = field(default_factory=list)
    evaluated: int = 0
    screened: int = 0
    failed: int = 0
    cached: int = 0
    workers: int = 0

    def to_dict(self) -> dict:
        wall = time.time() - self.started
        n = len(self.told)
        return {"wall_s": wall, "trials": n, "evaluated": self.evaluated,
                "synthesized": self.evaluated - self.cached,
                "screened": self.screened, "failed": self.failed, "cached": self.cached,
                "workers": self.workers,
                "trials_per_min": 60.0 * n / wall if wall > 0 else 0.0,
                "evaluated_per_min": 60.0 * self.evaluated / wall if wall > 0 else 0.0,
                "told": list(self.told)}


def connect_client(scheduler: str | None, workers: int):
    """``(client, cluster)``: a client of the Dask scheduler at ``scheduler``, or of a new
    local cluster of ``workers`` single-threaded worker processes (then ``cluster`` is it)."""
    import distributed

    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f"cannot connect to the Dask scheduler {scheduler!r}: {e}",
                              path="--scheduler") from None
        return client, None
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
    return distributed.Client(cluster), cluster
