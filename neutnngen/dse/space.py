"""The search space of a ``[dse]`` table and the report paths it names: parameters
(choices or numeric ranges over config keys, validated through the config itself),
constraints (``"PATH OP NUMBER"``) and the check that a path can exist in ``report.json``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, get_type_hints

from .. import config as cfgmod
from ..config import Config
from ..errors import ConfigError

OPS = ("<=", ">=", "<", ">", "==")
RANGE_KEYS = ("low", "high", "step", "log")
# Top-level keys of report.json (docs/report.md) an objective or constraint may point into.
REPORT_ROOTS = ("metrics", "synth", "hdl", "ir", "training", "performance", "verify",
                "timing_s", "baseline", "dataset")


@dataclass(frozen=True)
class Param:
    """One dimension of the search space: ``choices`` or a numeric range."""

    key: str  # section.key
    kind: str  # choice | int | float
    choices: tuple = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False

    def grid(self) -> list:
        """Every value of a discrete dimension (grid sampler)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None:
            if self.kind == "int" and not self.log:
                return list(range(int(self.low), int(self.high) + 1))
            raise ConfigError(f"dse.params.{self.key}: the grid sampler needs choices or a range "
                              "with a step (a continuous or log range has no grid)",
                              path=f"dse.params.{self.key}")
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        vals = [self.low + i * self.step for i in range(n)]
        return [int(v) for v in vals] if self.kind == "int" else [round(v, 12) for v in vals]

    def describe(self) -> Any:
        if self.kind == "choice":
            return [decode_choice(c) for c in self.choices]
        d: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.step is not None:
            d["step"] = self.step
        if self.log:
            d["log"] = True
        return d


@dataclass(frozen=True)
class Constraint:
    path: str
    op: str
    bound: float
    text: str

    def violation(self, value: float) -> float:
        """Optuna convention: <= 0 feasible, > 0 by how much it is violated."""
        if self.op in ("<=", "<"):
            v = value - self.bound
            return v if self.op == "<=" or v != 0 else 1.0
        if self.op in (">=", ">"):
            v = self.bound - value
            return v if self.op == ">=" or v != 0 else 1.0
        return abs(value - self.bound)

    def ok(self, value: float) -> bool:
        return {"<=": value <= self.bound, ">=": value >= self.bound, "<": value < self.bound,
                ">": value > self.bound, "==": value == self.bound}[self.op]



# ------------------------------------------------------------------------------ choices
def encode_choice(v: Any) -> Any:
    """Optuna categoricals hold None/bool/int/float/str; a list (synth.targets) is stored as
    its comma-joined string, which the config reads back as the same list."""
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    return v


def decode_choice(v: Any) -> Any:
    return v


# ------------------------------------------------------------------------------ parsing
def flatten(table: Any, key: str, leaf) -> dict[str, Any]:
    """``{"network": {"neurons": [...]}}`` and ``{"network.neurons": [...]}`` alike -> flat
    dotted keys; ``leaf(value)`` says when to stop descending."""
    if not isinstance(table, dict):
        raise ConfigError(f"{key} must be a table, got {table!r}", path=key)
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict) and not leaf(v):
            for kk, vv in flatten(v, f"{key}.{k}", leaf).items():
                out[f"{k}.{kk}"] = vv
        else:
            out[str(k)] = v
    return out


def config_types() -> dict[str, Any]:
    out = {}
    for sec, cls in get_type_hints(Config).items():
        if sec == "layers":  # [[layers]] tables: not a DSE parameter space (yet)
            continue
        for name, typ in get_type_hints(cls).items():
            out[f"{sec}.{name}"] = typ
    return out


def _check_value(base: Config, key: str, value: Any, where: str) -> Any:
    """Validate one value of ``key`` through the config itself (same messages as --set)."""
    d = cfgmod.to_dict(base)
    sec, name = key.split(".")
    d[sec][name] = value
    try:
        cfg = cfgmod.from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{e.message}", path=where) from None
    return getattr(getattr(cfg, sec), name)


def parse_param(base: Config, key: str, spec: Any, types: dict[str, Any]) -> Param:
    where = f"dse.params.{key}"
    if key not in types:
        raise ConfigError(f"unknown config key {key!r}; accepted: any section.key of the "
                          f"config, e.g. {', '.join(sorted(types)[:6])} ...", path=where)
    typ = types[key]
    if isinstance(spec, list):
        if not spec:
            raise ConfigError(f"{where}=[]: expected at least one choice", path=where)
        choices = []
        for v in spec:
            cv = _check_value(base, key, v, where)
            choices.append(encode_choice(list(cv) if isinstance(cv, tuple) else cv))
        if len(set(map(repr, choices))) != len(choices):
            raise ConfigError(f"{where}={spec!r}: choices repeat", path=where)
        return Param(key, "choice", tuple(choices))
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(RANGE_KEYS))
        if unknown:
            raise ConfigError(f"unknown range key {unknown[0]!r}; accepted: "
                              f"{', '.join(RANGE_KEYS)}", path=where)
        if "low" not in spec or "high" not in spec:
            raise ConfigError(f"{where}={spec!r}: a range needs low and high", path=where)
        if typ is int:
            kind = "int"
        elif typ is float:
            kind = "float"
        else:
            raise ConfigError(f"{key} is not numeric, so it takes a list of choices, "
                              f"not a range {spec!r}", path=where)
        num = (int,) if kind == "int" else (int, float)
        for k in ("low", "high", "step"):
            if k in spec and (isinstance(spec[k], bool) or not isinstance(spec[k], num)):
                raise ConfigError(f"{where}.{k}={spec[k]!r}: expected "
                                  f"{'an integer' if kind == 'int' else 'a number'}",
                                  path=f"{where}.{k}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{where}.log={log!r}: expected true or false", path=f"{where}.log")
        low, high = spec["low"], spec["high"]
        if low > high:
            raise ConfigError(f"low={low!r} > high={high!r}", path=where)
        for v in (low, high):
            _check_value(base, key, v, where)
        step = spec.get("step")
        if step is not None and step <= 0:
            raise ConfigError(f"{where}.step={step!r}: expected > 0", path=f"{where}.step")
        if log and low <= 0:
            raise ConfigError(f"log range needs low > 0, got {low!r}", path=where)
        if log and step is not None and not (kind == "int" and step == 1):
            raise ConfigError("a log range takes no step (int: step 1 only)", path=where)
        if kind == "int" and log:
            step = None
        if kind == "int" and step is None and not log:
            step = 1
        return Param(key, kind, (), low, high, step, log)
    raise ConfigError(f"{where}={spec!r}: expected a list of choices or a table "
                      "{low, high, step?, log?}", path=where)


# Leaf fields of report.json (docs/report.md) an objective or constraint may name, per root
# and second key ("*": any second key); roots not listed here are checked by root only.
METRICS = ("rand_index", "adjusted_rand_index", "purity", "coverage", "n", "error", "accuracy",
           "active_neurons")
REPORT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "synth": {"generic": ("cells", "flip_flops", "transistors", "gate_equivalents"),
              "ice40": ("luts", "flip_flops", "logic_cells", "utilisation", "fmax_mhz", "fits",
                        "timing_met"),
              "ecp5": ("luts", "flip_flops", "comb_cells", "logic_cells", "utilisation",
                       "fmax_mhz", "fits", "timing_met"),
              "liberty": ("area_um2", "cells", "flip_flops")},
    "ir": {"*": ()},
    "hdl": {"*": ()},
    "performance": {"*": ()},
}
LEAVES: dict[str, tuple[str, ...]] = {
    "ir": ("synapses", "layers", "columns", "neurons", "segments", "inputs", "outputs",
           "timeres"),
    "hdl": ("latency_cycles", "wave_cycles", "pipeline_waves"),
    "performance": ("fmax_mhz", "wave_cycles", "cycles_per_inference", "inferences_per_s_at_fmax",
                    "latency_ns_at_fmax"),
}


def check_fields(path: str, where: str, data_kind: str | None = None,
                 validation: bool = False) -> None:
    """``path`` names a field report.json has (docs/report.md): metrics by split and name
    (for the classification / clustering tasks; the ``val`` split when every trial carves a
    validation split, ``validation``), synthesis costs per target, IR sizes, HDL timing and
    performance. Raises a ConfigError listing what is accepted."""
    parts = path.split(".")
    root = parts[0]
    if root == "metrics":
        if parts[1] == "val" and not validation:
            raise ConfigError(f"{path!r}: the validation split needs data.validation > 0 in "
                              "the base config (the share of the training samples held out, "
                              "seeded; every trial must have one, so a data.validation "
                              "parameter may not reach 0)", path=where)
        if parts[1] not in ("train", "val", "test"):
            raise ConfigError(f"{path!r}: metrics has the splits train, val (with "
                              f"data.validation > 0) and test, not {parts[1]!r} "
                              "(docs/report.md)", path=where)
        if len(parts) == 3 and data_kind != "place_cells" and parts[2] not in METRICS:
            raise ConfigError(f"{path!r}: report.json has no metric {parts[2]!r}; accepted: "
                              f"{', '.join(METRICS)} (docs/report.md)", path=where)
        if len(parts) == 2:
            raise ConfigError(f"{path!r} is a table, not a number; name a metric, e.g. "
                              f"{path}.{METRICS[0]}", path=where)
    elif root == "synth" and len(parts) >= 2:
        fields = REPORT_FIELDS["synth"].get(parts[1], ())
        if len(parts) == 2 or (len(parts) == 3 and parts[2] not in fields):
            raise ConfigError(f"{path!r}: synth.{parts[1]} has no number "
                              f"{(parts[2:] or ['(none)'])[0]!r}; accepted: "
                              f"{', '.join(fields)} (docs/report.md)", path=where)
    elif root in LEAVES:
        if len(parts) != 2 or parts[1] not in LEAVES[root]:
            raise ConfigError(f"{path!r}: {root} has no number {'.'.join(parts[1:])!r}; "
                              f"accepted: {', '.join(LEAVES[root])} (docs/report.md)", path=where)


def check_path(path: str, where: str, spec_targets: set[str], verify: bool,
               data_kind: str | None = None, validation: bool = False) -> None:
    parts = path.split(".")
    if len(parts) < 2 or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts):
        raise ConfigError(f"{path!r} is not a dotted path into report.json "
                          "(e.g. metrics.test.rand_index, synth.generic.transistors)", path=where)
    if parts[0] not in REPORT_ROOTS:
        raise ConfigError(f"{path!r} starts with {parts[0]!r}; accepted roots: "
                          f"{', '.join(REPORT_ROOTS)} (docs/report.md)", path=where)
    if parts[0] == "synth" and parts[1] not in spec_targets:
        raise ConfigError(f"{path!r} needs synthesis target {parts[1]!r}, but "
                          f"synth.targets can only be {', '.join(sorted(spec_targets)) or 'empty'}",
                          path=where)
    if parts[0] == "verify" and not verify:
        raise ConfigError(f"{path!r} needs dse.verify = true", path=where)
    if parts[0] == "performance" and "ice40" not in spec_targets:
        raise ConfigError(f"{path!r} needs synthesis target 'ice40'", path=where)
    check_fields(path, where, data_kind, validation)


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|==|<|>)\s*"
                         r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_constraint(text: Any, where: str = "dse.constraints") -> Constraint:
    """``"PATH OP NUMBER"`` with OP one of <=, >=, <, >, == (a regular expression, no eval)."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}={text!r}: expected a string like 'synth.ice40.luts <= 7680'",
                          path=where)
    m = _CONSTRAINT.match(text)
    if not m:
        raise ConfigError(f"{where}={text!r}: expected 'PATH OP NUMBER' with OP one of "
                          f"{', '.join(OPS)}, e.g. 'synth.ice40.luts <= 7680'", path=where)
    return Constraint(m.group(1), m.group(2), float(m.group(3)), text.strip())




__all__ = ["METRICS", "OPS", "RANGE_KEYS", "REPORT_FIELDS", "REPORT_ROOTS", "Constraint",
           "Param", "check_fields", "check_path",
           "config_types", "decode_choice", "encode_choice", "flatten", "parse_constraint",
           "parse_param"]
