"""Typed, frozen configuration: TOML files, ``--set key=value`` overrides, validation.

Every error names the key, the bad value and what is accepted. The resolved config is
written next to every result (``config.toml``) so a run can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from .errors import ConfigError


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "experiment"
    seed: int = 0  # seeds weights, LFSR seeds and every random choice


@dataclass(frozen=True)
class DataConfig:
    kind: str = "ucr"  # ucr (time series); more kinds come with their issues
    name: str = "GunPoint"  # UCR dataset name (aeon ships GunPoint, ArrowHead, ItalyPowerDemand ...)
    clip: float = 2.0  # z-score clip c of the time-series encoder
    posneg: bool = False  # positive/negative channel pair per sample


@dataclass(frozen=True)
class NetworkConfig:
    timeres: int = 3  # bits per spike time
    wres: int = 3  # bits per weight
    response: str = "rnl"  # rnl | snl
    neurons: int = 0  # q per column; 0 = one per class of the dataset
    dendrites: int = 1
    segments: int = 1
    theta: int = 0  # 0 = calibrate on the training data (see frontend.init_column_network)
    column_inhibition: str = "wta1"  # wta1 | kwta(k) | twta | none
    segment_inhibition: str = "wta1"
    w_init: str = "uniform"  # initial weights: uniform | mid


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    mode: str = "exact"  # exact (bit-exact with the interpreter) | fast
    rule: str = "stdp"  # stdp | rstdp
    credit: str = "winner"  # winner | dendrite
    mu_capture: int = 640
    mu_minus: int = 952
    mu_search: int = 2
    mu_backoff: int = 952
    mu_min: int = 70
    shuffle: bool = True  # seeded shuffle of the training order every epoch


@dataclass(frozen=True)
class HdlConfig:
    weights: str = "hardwired"  # hardwired | register | learn (on-chip STDP)
    top: str = "neutnngen_top"


@dataclass(frozen=True)
class VerifyConfig:
    enabled: bool = True
    simulator: str = "auto"  # auto | icarus | verilator
    samples: int = 0  # 0 = every test sample; else a seeded sample of this many waves
    waves: bool = False  # keep a waveform for a passing run too


@dataclass(frozen=True)
class SynthConfig:
    targets: tuple[str, ...] = ("generic", "ice40")  # generic | ice40 | ecp5 | liberty
    ice40_device: str = "hx8k"
    ice40_package: str = "ct256"
    ecp5_device: str = "25k"
    ecp5_package: str = "CABGA381"
    liberty: str = ""  # path to a .lib for the liberty target
    freq_mhz: float = 100.0  # clock constraint for place-and-route


@dataclass(frozen=True)
class Config:
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hdl: HdlConfig = field(default_factory=HdlConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)


CHOICES: dict[str, tuple[str, ...]] = {
    "data.kind": ("ucr",),
    "network.response": ("rnl", "snl"),
    "network.w_init": ("uniform", "mid"),
    "train.mode": ("exact", "fast"),
    "train.rule": ("stdp", "rstdp"),
    "train.credit": ("winner", "dendrite"),
    "hdl.weights": ("hardwired", "register", "learn"),
    "verify.simulator": ("auto", "icarus", "verilator"),
}
RANGES: dict[str, tuple[float, float]] = {
    "network.timeres": (1, 8), "network.wres": (1, 8), "network.neurons": (0, 4096),
    "network.dendrites": (1, 64), "network.segments": (1, 64), "network.theta": (0, 1 << 20),
    "train.epochs": (0, 100000), "train.mu_capture": (0, 1024), "train.mu_minus": (0, 1024),
    "train.mu_search": (0, 1024), "train.mu_backoff": (0, 1024), "train.mu_min": (0, 1024),
    "data.clip": (1e-6, 1e6), "verify.samples": (0, 1 << 30), "synth.freq_mhz": (0.1, 10000),
}
SYNTH_TARGETS = ("generic", "ice40", "ecp5", "liberty")


def _coerce(key: str, value: Any, typ: Any) -> Any:
    origin = get_origin(typ)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}={value!r}: expected a list", path=key)
        inner = get_args(typ)[0]
        return tuple(_coerce(key, v, inner) for v in value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key}={value!r}: expected true or false", path=key)
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(f"{key}={value!r}: expected an integer", path=key)
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected an integer", path=key) from None
    if typ is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}={value!r}: expected a number", path=key)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}={value!r}: expected a number", path=key) from None
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}={value!r}: expected a string", path=key)
        return value
    return value


def _section(cls: type, key: str, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{key}] must be a table, got {table!r}", path=key)
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key {key}.{unknown[0]}; accepted in [{key}]: "
                          f"{', '.join(sorted(known))}", path=f"{key}.{unknown[0]}")
    vals = {}
    for name, v in table.items():
        full = f"{key}.{name}"
        v = _coerce(full, v, hints[name])
        if full in CHOICES and v not in CHOICES[full]:
            raise ConfigError(f"{full}={v!r}; accepted: {', '.join(CHOICES[full])}", path=full)
        if full in RANGES:
            lo, hi = RANGES[full]
            if not (lo <= v <= hi):
                raise ConfigError(f"{full}={v!r} out of range; expected {lo:g}..{hi:g}", path=full)
        vals[name] = v
    return cls(**vals)


def from_dict(d: dict[str, Any]) -> Config:
    hints = get_type_hints(Config)
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; accepted: {', '.join(sorted(known))}",
                          path=unknown[0])
    cfg = Config(**{k: _section(hints[k], k, v) for k, v in d.items()})
    _cross_check(cfg)
    return cfg


def _cross_check(cfg: Config) -> None:
    from .ir.nodes import Inhibition

    for key in ("column_inhibition", "segment_inhibition"):
        try:
            Inhibition.parse(getattr(cfg.network, key))
        except ConfigError as e:
            raise ConfigError(f"network.{key}: {e.message}", path=f"network.{key}") from None
    for t in cfg.synth.targets:
        if t not in SYNTH_TARGETS:
            raise ConfigError(f"synth.targets contains {t!r}; accepted: {', '.join(SYNTH_TARGETS)}",
                              path="synth.targets")
    if "liberty" in cfg.synth.targets and not cfg.synth.liberty:
        raise ConfigError("synth.targets has 'liberty' but synth.liberty (a .lib path) is empty",
                          path="synth.liberty")
    if cfg.hdl.weights == "learn" and cfg.train.mode != "exact":
        raise ConfigError("hdl.weights='learn' trains on chip bit-exactly and compares with the "
                          f"software trainer, which needs train.mode='exact' (got {cfg.train.mode!r})",
                          path="train.mode")


def to_dict(cfg: Config) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    for sec in d.values():
        for k, v in list(sec.items()):
            if isinstance(v, tuple):
                sec[k] = list(v)
    return d


def to_toml(cfg: Config) -> str:
    """The resolved config as TOML (every key, defaults included)."""
    lines: list[str] = []
    for sec, table in to_dict(cfg).items():
        lines.append(f"[{sec}]")
        for k, v in table.items():
            lines.append(f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}")
        lines.append("")
    return "\n".join(lines)


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value``; the value is read as TOML when it parses, else as a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. train.epochs=5")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key.count(".") != 1:
        raise ConfigError(f"--set {text!r}: key {key!r} must be section.key, e.g. hdl.weights")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def load_dict(path: str | Path | None = None,
              overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The raw TOML tables of ``path`` (empty without one) with ``section.key=value``
    overrides applied; no validation (see :func:`from_dict`)."""
    d: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"config file {str(p)!r} does not exist", path=str(p))
        try:
            d = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}", path=str(p)) from None
    for o in overrides:
        key, value = parse_override(o)
        sec, name = key.split(".")
        d.setdefault(sec, {})
        if not isinstance(d[sec], dict):
            raise ConfigError(f"--set {o!r}: [{sec}] is not a table", path=key)
        d[sec][name] = value
    return d


def load(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a TOML config (or the defaults when ``path`` is None) and apply overrides."""
    return from_dict(load_dict(path, overrides))
