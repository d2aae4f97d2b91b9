"""Design-space exploration: persistent multi-objective Optuna studies over any config key,
evaluated in parallel on Dask, with a cost forecast that can screen candidates before
training and synthesis. See docs/dse.md.

API:

* :func:`load` (a TOML with a ``[dse]`` table) / :func:`from_dict` -> :class:`DseSpec`
  (base :class:`~neutnngen.config.Config`, params, objectives, constraints, study settings);
* :func:`run_study` (spec, out, resume=, scheduler=, screen=, trials=, workers=) -> the
  ``dse.json`` dict; writes ``OUT/dse.{json,md,html}``, ``OUT/study.db``, ``OUT/trials/<digest>/``;
* :func:`evaluate` (resolved config dict, trials root, stages) -> one trial's result (what a
  Dask worker runs; cached by :func:`trial_digest`);
* :mod:`.forecast`: :func:`features` (IR -> structural features), :func:`fit_forecast`
  (points -> :class:`CostForecast` with ``predict`` and leave-one-out ``mape``);
* :func:`dominates`, :func:`front` (Pareto utilities).

Importing this package imports neither optuna nor dask; :func:`run_study` does.
"""

from __future__ import annotations

from .evaluate import command, evaluate, trial_digest
from .forecast import CostForecast, features
from .forecast import fit as fit_forecast
from .pareto import dominates, front
from .paths import get_path, number_at
from .spec import Constraint, DseSpec, Param, from_dict, load, parse_constraint


def run_study(*args, **kwargs):
    from .study import run_study as _run

    return _run(*args, **kwargs)


run_study.__doc__ = "See :func:`neutnngen.dse.study.run_study`."

__all__ = ["Constraint", "CostForecast", "DseSpec", "Param", "command", "dominates", "evaluate",
           "features", "fit_forecast", "from_dict", "front", "get_path", "load", "number_at",
           "parse_constraint", "run_study", "trial_digest"]
