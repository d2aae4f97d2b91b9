"""The study store: Optuna samplers (grid, per-trial seeded random, NSGA-II), search-space
distributions, and the RDB storage a study lives in (SQLite by default), opened with the
checks that keep a resumed study consistent with its config."""

from __future__ import annotations

import math
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .spec import DseSpec
from .trials import A_VIOL, load_optuna


# ------------------------------------------------------------------------------ samplers
def _per_trial_random_sampler(seed: int):
    """Random sampling seeded by (seed, trial number, parameter): reproducible for a study,
    and processes sharing one study never repeat each other's draws (trial numbers are
    unique across them), unlike one RNG per process started from the same seed."""
    optuna = load_optuna()
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    class PerTrialRandomSampler(optuna.samplers.BaseSampler):
        def __init__(self, seed: int):
            self._seed = int(seed)

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, name, dist):
            rng = np.random.default_rng([self._seed, trial.number, zlib.crc32(name.encode())])
            if isinstance(dist, CategoricalDistribution):
                return dist.choices[int(rng.integers(len(dist.choices)))]
            lo, hi = dist.low, dist.high
            if isinstance(dist, IntDistribution):
                if dist.log:
                    v = int(round(math.exp(rng.uniform(math.log(lo - 0.5), math.log(hi + 0.5)))))
                    return min(hi, max(lo, v))
                n = (hi - lo) // dist.step + 1
                return int(lo + dist.step * int(rng.integers(n)))
            assert isinstance(dist, FloatDistribution)
            if dist.step is not None:
                n = int(round((hi - lo) / dist.step)) + 1
                return float(min(hi, lo + dist.step * int(rng.integers(n))))
            if dist.log:
                return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            return float(rng.uniform(lo, hi))

    return PerTrialRandomSampler(seed)


def make_sampler(spec: DseSpec):
    optuna = load_optuna()
    if spec.sampler == "grid":
        class AskTellGridSampler(optuna.samplers.GridSampler):
            # GridSampler.after_trial calls study.stop() when the grid is used up, which
            # raises outside study.optimize(); this engine counts trials itself.
            def after_trial(self, study, trial, state, values):
                return None

        return AskTellGridSampler(spec.grid_space(), seed=spec.seed)
    if spec.sampler == "random":
        return _per_trial_random_sampler(spec.seed)

    def constraints_func(t) -> list[float]:
        v = t.user_attrs.get(A_VIOL)
        return list(v) if v else [0.0] * len(spec.constraints)

    s = optuna.samplers.NSGAIISampler(
        population_size=spec.population, seed=spec.seed,
        constraints_func=constraints_func if spec.constraints else None)
    if hasattr(s, "_random_sampler"):  # the first generation: same per-trial seeding
        s._random_sampler = _per_trial_random_sampler(spec.seed)
    return s


def distributions(spec: DseSpec) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for p in spec.params:
        if p.kind == "choice":
            out[p.key] = CategoricalDistribution(list(p.choices))
        elif p.kind == "int":
            out[p.key] = IntDistribution(int(p.low), int(p.high), log=p.log,
                                         step=int(p.step or 1))
        else:
            out[p.key] = FloatDistribution(float(p.low), float(p.high), log=p.log,
                                           step=None if p.step is None else float(p.step))
    return out


# ------------------------------------------------------------------------------ storage
def default_storage(out: Path) -> str:
    return f"sqlite:///{out.resolve() / 'study.db'}"


def open_storage(url: str):
    optuna = load_optuna()
    kw: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kw = {"connect_args": {"timeout": 120}}
    last: Exception | None = None
    for attempt in range(8):  # two processes creating the tables at once may collide
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kw)
        except Exception as e:  # noqa: BLE001
            last = e
            time.sleep(0.2 * (attempt + 1))
    raise ConfigError(f"dse.storage={url!r}: cannot open the study storage: {last}",
                      path="dse.storage")


def open_study(spec: DseSpec, storage_url: str, resume: bool):
    optuna = load_optuna()
    storage = open_storage(storage_url)
    name = spec.study_name
    names = optuna.get_all_study_names(storage)
    if name in names and not resume:
        n = len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
        if n:
            raise ConfigError(f"study {name!r} in {storage_url} already has {n} trial(s); pass "
                              "--resume to continue it, or choose another --out or dse.study",
                              path="dse.study")
    study = None
    for attempt in range(8):
        try:
            study = optuna.create_study(storage=storage, study_name=name, load_if_exists=True,
                                        directions=spec.directions, sampler=make_sampler(spec))
            break
        except Exception as e:  # noqa: BLE001 - concurrent creation: retry, then report
            if attempt == 7:
                raise ConfigError(f"cannot open study {name!r} in {storage_url}: {e}",
                                  path="dse.study") from None
            time.sleep(0.2 * (attempt + 1))
    assert study is not None
    space = spec.space_dict()
    stored = study.user_attrs.get("dse_space")
    if stored is None:
        study.set_user_attr("dse_space", space)
        study.set_user_attr("dse_constraints", [c.text for c in spec.constraints])
    elif stored != _jsonable(space):
        raise ConfigError(f"study {name!r} in {storage_url} was created with another search space "
                          f"or objectives ({stored}); this config has {space}. Use another --out "
                          "or dse.study", path="dse.params")
    if [d.name.lower() for d in study.directions] != spec.directions:
        raise ConfigError(f"study {name!r} has directions {study.directions}, the config "
                          f"{spec.directions}", path="dse.objectives")
    return study


def _jsonable(o: Any) -> Any:
    import json

    return json.loads(json.dumps(o))




__all__ = ["default_storage", "distributions", "make_sampler", "open_storage", "open_study"]
