"""The ``[dse]`` table of a config: search space, objectives, constraints, study settings.

``config.from_dict`` rejects unknown sections, so :func:`load` reads the TOML itself, takes
``[dse]`` out and hands the rest (the *base* config every trial starts from) to
:func:`neutnngen.config.from_dict`. Every error is a :class:`ConfigError` that names the key,
the bad value and what is accepted.

Keys (all optional except ``params`` and ``objectives``)::

    [dse]
    trials = 30            # finished trials the study should reach (grid: default = grid size)
    timeout_s = 0          # stop asking new trials after this many seconds (0 = no limit)
    sampler = "nsga2"      # grid | random | nsga2
    population = 10        # NSGA-II population size
    seed = 0
    storage = ""           # SQLAlchemy URL; default sqlite:///<out>/study.db
    study = ""             # study name; default experiment.name
    workers = 0            # Dask workers of the local cluster; 0 = os.cpu_count()
    verify = false         # run cycle-accurate verification in every trial
    screen = "none"        # none | forecast (cost forecast screens hopeless candidates)
    screen_min_points = 8  # measured points per weight mode before screening starts
    screen_margin = 1.0    # optimism margin, in units of the forecast's held-out MAPE
    constraints = ["synth.ice40.luts <= 7680"]

    [dse.params]           # "section.key" = [choices]  or  {low, high, step?, log?}
    "network.neurons" = [2, 3, 4]
    "network.theta" = {low = 4, high = 40, step = 2}

    [dse.objectives]       # dotted path into report.json = "maximize" | "minimize"
    "metrics.test.rand_index" = "maximize"
    "synth.generic.transistors" = "minimize"
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from ..config import Config
from ..errors import ConfigError
from .space import (
    OPS,
    RANGE_KEYS,
    Constraint,
    Param,
    check_path,
    config_types,
    decode_choice,
    encode_choice,
    flatten,
    parse_constraint,
    parse_param,
)

SAMPLERS = ("grid", "random", "nsga2")
DIRECTIONS = ("maximize", "minimize")
SCREENS = ("none", "forecast")
DSE_KEYS = ("trials", "timeout_s", "sampler", "population", "seed", "storage", "study",
            "workers", "verify", "screen", "screen_min_points", "screen_margin", "params",
            "objectives", "constraints")
DEFAULT_TRIALS = 20


@dataclass(frozen=True)
class DseSpec:
    base: Config
    params: tuple[Param, ...]
    objectives: tuple[tuple[str, str], ...]  # (path, direction)
    constraints: tuple[Constraint, ...] = ()
    trials: int = DEFAULT_TRIALS
    timeout_s: float = 0.0
    sampler: str = "nsga2"
    population: int = 10
    seed: int = 0
    storage: str = ""
    study: str = ""
    workers: int = 0
    verify: bool = False
    screen: str = "none"
    screen_min_points: int = 8
    screen_margin: float = 1.0
    source: str = ""  # the TOML file it came from
    overrides: tuple[str, ...] = field(default=())

    @property
    def directions(self) -> list[str]:
        return [d for _, d in self.objectives]

    @property
    def objective_paths(self) -> list[str]:
        return [p for p, _ in self.objectives]

    @property
    def study_name(self) -> str:
        return self.study or self.base.experiment.name

    @property
    def stages(self) -> tuple[str, ...]:
        return ("train", "compile", "verify", "synth") if self.verify else ("train", "compile", "synth")

    def grid_space(self) -> dict[str, list]:
        return {p.key: p.grid() for p in self.params}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid_space().values())

    def space_dict(self) -> dict:
        """JSON-able description (stored in the study so a resume can check it)."""
        return {"params": {p.key: p.describe() for p in self.params},
                "objectives": [list(o) for o in self.objectives]}

    def trial_dict(self, params: dict[str, Any]) -> dict:
        """The base config as a dict with ``params`` (Optuna values) applied."""
        d = cfgmod.to_dict(self.base)
        for k, v in params.items():
            sec, name = k.split(".")
            d[sec][name] = decode_choice(v)
        return d

    def trial_config(self, params: dict[str, Any]) -> Config:
        return cfgmod.from_dict(self.trial_dict(params))



def _int(d: dict, key: str, default: int, lo: int, hi: int | None = None) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f"{lo}..{hi}"
        raise ConfigError(f"dse.{key}={v!r}: expected an integer {rng}", path=f"dse.{key}")
    return v


def _num(d: dict, key: str, default: float, lo: float) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < lo:
        raise ConfigError(f"dse.{key}={v!r}: expected a number >= {lo:g}", path=f"dse.{key}")
    return float(v)


def _choice(d: dict, key: str, default: str, accepted: tuple[str, ...]) -> str:
    v = d.get(key, default)
    if v not in accepted:
        raise ConfigError(f"dse.{key}={v!r}; accepted: {', '.join(accepted)}", path=f"dse.{key}")
    return v


def _storage_url(v: Any) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"dse.storage={v!r}: expected a SQLAlchemy URL string such as "
                          "sqlite:///out/study.db", path="dse.storage")
    if v:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(v)
        except ArgumentError:
            raise ConfigError(f"dse.storage={v!r}: not a SQLAlchemy URL; accepted: "
                              "dialect+driver://user:pass@host/db, e.g. sqlite:///out/study.db, "
                              "postgresql://host/db", path="dse.storage") from None
    return v


def from_dict(d: dict[str, Any], source: str = "", overrides: tuple[str, ...] = ()) -> DseSpec:
    """A whole config dict (``[dse]`` plus the usual sections) -> :class:`DseSpec`."""
    d = copy.deepcopy(d)
    if "dse" not in d:
        raise ConfigError("no [dse] table: a design-space exploration needs [dse.params] and "
                          "[dse.objectives] (see docs/dse.md)", path="dse")
    t = d.pop("dse")
    if not isinstance(t, dict):
        raise ConfigError(f"[dse] must be a table, got {t!r}", path="dse")
    unknown = sorted(set(t) - set(DSE_KEYS))
    if unknown:
        raise ConfigError(f"unknown key dse.{unknown[0]}; accepted in [dse]: "
                          f"{', '.join(DSE_KEYS)}", path=f"dse.{unknown[0]}")
    base = cfgmod.from_dict(d)
    types = config_types()

    if "params" not in t:
        raise ConfigError("dse.params is missing: give at least one 'section.key' = [choices] or "
                          "{low, high}", path="dse.params")
    flat = flatten(t["params"], "dse.params",
                    leaf=lambda v: bool(set(v) & set(RANGE_KEYS)))
    if not flat:
        raise ConfigError("dse.params is empty: give at least one 'section.key' = [choices] or "
                          "{low, high}", path="dse.params")
    params = tuple(parse_param(base, k, v, types) for k, v in flat.items())

    verify = t.get("verify", False)
    if not isinstance(verify, bool):
        raise ConfigError(f"dse.verify={verify!r}: expected true or false", path="dse.verify")
    targets = set(base.synth.targets)
    # metrics.val exists in every trial's report when every trial holds out a validation split
    validation = base.data.validation > 0
    for p in params:
        if p.key == "data.validation":
            validation = (min(float(c) for c in p.choices) if p.kind == "choice"
                          else p.low) > 0
        if p.key == "synth.targets":
            for c in p.choices:
                targets |= set(str(c).split(","))

    if "objectives" not in t:
        raise ConfigError("dse.objectives is missing: give 'path' = \"maximize\"|\"minimize\", "
                          "e.g. \"metrics.test.rand_index\" = \"maximize\"", path="dse.objectives")
    objs = flatten(t["objectives"], "dse.objectives", leaf=lambda v: False)
    if not objs:
        raise ConfigError("dse.objectives is empty", path="dse.objectives")
    objectives = []
    for path, direction in objs.items():
        where = f"dse.objectives.{path}"
        if direction not in DIRECTIONS:
            raise ConfigError(f"{where}={direction!r}; accepted: {', '.join(DIRECTIONS)}",
                              path=where)
        check_path(path, where, targets, verify, base.data.kind, validation)
        objectives.append((path, direction))

    cons_raw = t.get("constraints", [])
    if not isinstance(cons_raw, list):
        raise ConfigError(f"dse.constraints={cons_raw!r}: expected a list of strings like "
                          "'synth.ice40.luts <= 7680'", path="dse.constraints")
    constraints = []
    for i, c in enumerate(cons_raw):
        con = parse_constraint(c, f"dse.constraints[{i}]")
        check_path(con.path, f"dse.constraints[{i}]", targets, verify, base.data.kind,
                   validation)
        constraints.append(con)

    sampler = _choice(t, "sampler", "nsga2", SAMPLERS)
    study = t.get("study", "")
    if not isinstance(study, str):
        raise ConfigError(f"dse.study={study!r}: expected a string", path="dse.study")
    if study:
        cfgmod.check_name(study, "dse.study")
    spec = DseSpec(
        base=base, params=params, objectives=tuple(objectives), constraints=tuple(constraints),
        trials=_int(t, "trials", DEFAULT_TRIALS, 1), timeout_s=_num(t, "timeout_s", 0, 0),
        sampler=sampler, population=_int(t, "population", 10, 2), seed=_int(t, "seed", 0, 0),
        storage=_storage_url(t.get("storage", "")), study=study,
        workers=_int(t, "workers", 0, 0, 1024), verify=verify,
        screen=_choice(t, "screen", "none", SCREENS),
        screen_min_points=_int(t, "screen_min_points", 8, 3),
        screen_margin=_num(t, "screen_margin", 1.0, 0), source=source, overrides=tuple(overrides))
    if sampler == "grid":
        size = spec.grid_size()  # raises when a dimension has no grid
        if "trials" not in t:
            spec = _replace(spec, trials=size)
        elif spec.trials > size:
            raise ConfigError(f"dse.trials={spec.trials} exceeds the grid ({size} points); "
                              f"accepted: 1..{size}, or sampler random / nsga2", path="dse.trials")
    return spec


def _replace(spec: DseSpec, **kw) -> DseSpec:
    import dataclasses

    return dataclasses.replace(spec, **kw)


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> DseSpec:
    """Read a DSE config; ``overrides`` (``section.key=value``) apply to the base config and
    to ``dse.KEY`` scalars (``--set dse.trials=10``)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {str(p)!r} does not exist", path=str(p))
    from ..pipeline import check, resolve_data_paths

    d = resolve_data_paths(cfgmod.load_dict(p, overrides), p, overrides)
    spec = from_dict(d, source=str(p), overrides=tuple(overrides))
    check(spec.base, spec.stages)  # the base config's static checks, before any trial
    return spec


def iter_grid(spec: DseSpec):
    space = spec.grid_space()
    keys = list(space)
    for combo in itertools.product(*(space[k] for k in keys)):
        yield dict(zip(keys, combo, strict=True))


__all__ = ["DIRECTIONS", "OPS", "RANGE_KEYS", "SAMPLERS", "SCREENS", "Constraint", "DseSpec",
           "Param", "decode_choice", "encode_choice", "from_dict", "load", "parse_constraint"]

