"""``run``: a short list of stages over a task.

Output directory layout (every file written atomically; a rerun with the same config skips
the stages whose inputs did not change, so an interrupted run resumes):

    OUT/config.toml          resolved config (every key)
    OUT/ir/initial.{json,npz}, OUT/ir/model.{json,npz}, OUT/ir/model.txt
    OUT/metrics.json         task metrics and baselines, IR size, seed
    OUT/rtl/TOP.v, TOP.il, names.json, emit.json
    OUT/verify/result.json   (+ waveform on mismatch or with verify.waves)
    OUT/synth/<target>.json
    OUT/report.json, report.md, report.html, plots/*.png
    OUT/state.json           the resume store (stage digests and their files)
    OUT/IN_PROGRESS          present while a run has not finished (running or interrupted)

Before any new work, a run marks the folder in progress and removes what an older config
left behind: the report (``report.*``, written last) always, the trained model and
everything built from it when the training inputs changed. Only after the last stage
committed is the folder marked complete again.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import config as cfgmod
from .._io import atomic_write_text, write_json
from ..config import Config
from ..errors import ConfigError
from .stages import (
    CompileStage,
    Context,
    ReportStage,
    Stage,
    SynthStage,
    TrainStage,
    VerifyLearningStage,
    VerifyStage,
    run_stage,
)
from .tasks import Data, get_task

ALL_STAGES = ("train", "compile", "verify", "synth", "report")


DATA_PATHS = ("train", "test", "trajectory")
"""``[data]`` keys that name files (``data.kind = "files"``; ``place_cells``' own path)."""


def resolve_data_paths(d: dict, config_path: str | Path,
                       overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Make the relative data paths written in a config file relative to the file's folder
    (in the raw tables ``d`` of :func:`neutnngen.config.load_dict`); paths given as
    overrides (``--set data.train=...``) stay relative to the current folder."""
    overridden = {o.split("=", 1)[0].strip() for o in overrides}
    data = d.get("data")
    if not isinstance(data, dict):
        return d
    for key in DATA_PATHS:
        v = data.get(key)
        if isinstance(v, str) and v and f"data.{key}" not in overridden \
                and not Path(v).is_absolute():
            data[key] = str(Path(config_path).parent / v)
    return d


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
                ) -> Config:
    """:func:`neutnngen.config.load` with :func:`resolve_data_paths`: a relative data path
    in the config file is relative to the file's folder."""
    d = cfgmod.load_dict(path, overrides)
    if path is not None:
        resolve_data_paths(d, path, overrides)
    return cfgmod.from_dict(d)


def plan(cfg: Config, stages: tuple[str, ...] = ALL_STAGES) -> list[Stage]:
    """The stages a run of ``cfg`` goes through (the report stage apart)."""
    out: list[Stage] = [TrainStage()]
    if "compile" in stages:
        out.append(CompileStage())
        if "verify" in stages and cfg.verify.enabled:
            out.append(VerifyLearningStage() if cfg.hdl.weights == "learn" else VerifyStage())
        if "synth" in stages and (cfg.synth.targets or cfg.synth.board):
            out.append(SynthStage())
    return out


def prepare_data(cfg: Config) -> Data:
    """Load and encode the config's dataset (its task's ``prepare``)."""
    return get_task(cfg).prepare(cfg)


REPORT_FILES = ("report.json", "report.md", "report.html")
DOWNSTREAM = ("train", "compile", "verify", "synth")
"""Store records of a run's stages, in order: each depends on the ones before."""


def check(cfg: Config, stages: tuple[str, ...] = ALL_STAGES) -> None:
    """Every check of ``cfg`` that needs no data: the task's checks, then the hardware keys
    (FPGA devices and packages; the liberty file when ``synth.targets`` has it), whichever
    ``stages`` run (the config is written next to the results and must stay runnable).
    Raises a ConfigError naming the key before anything is loaded or trained."""
    get_task(cfg).check(cfg)
    from .. import flows

    s = cfg.synth  # device and package names are checked even when their target is off
    flows.check_device("ice40", s.ice40_device, "synth.ice40_device")
    flows.check_package(s.ice40_package, "synth.ice40_package")
    flows.check_device("ecp5", s.ecp5_device, "synth.ecp5_device")
    flows.check_package(s.ecp5_package, "synth.ecp5_package")
    if "liberty" in s.targets:
        flows.check_liberty(s.liberty, "synth.liberty")
    if s.board:
        from ..flows.board import load_board
        from ..hdl.uart import uart_divisor

        try:
            b = load_board(s.board)
        except ConfigError as e:
            raise ConfigError(e.message, path="synth.board") from None
        try:
            uart_divisor(b.clock_mhz * 1e6, s.baud)
        except ConfigError as e:
            raise ConfigError(e.message, path="synth.baud") from None


def _start(ctx: Context, toml: str) -> None:
    """Mark ``ctx.outdir`` in progress and clear results of an older config (see the module
    docstring), then write the new ``config.toml``."""
    from .._io import digest

    store = ctx.store
    old_cfg = ctx.outdir / "config.toml"
    ours = store.path.exists()  # a folder neutnngen wrote: never touch a user's own files
    changed = not old_cfg.is_file() or old_cfg.read_bytes() != toml.encode()
    store.begin(digest(toml))
    if ours and changed:
        for f in REPORT_FILES:
            (ctx.outdir / f).unlink(missing_ok=True)
    rec = store.get("train")
    if rec is not None and rec.get("key") != TrainStage().key(ctx):
        store.remove(*DOWNSTREAM)
    atomic_write_text(old_cfg, toml)


def run(cfg: Config, outdir: str | Path, *, stages: tuple[str, ...] = ALL_STAGES,
        show: bool = True, command: str | None = None, data: Data | None = None) -> dict:
    """Train -> IR -> Verilog -> verify -> synth -> report. Returns the report dict.
    ``command`` is recorded in the report as the way to reproduce it; ``data`` is the
    task's prepared data when the caller has it already (else it is prepared here)."""
    task = get_task(cfg)
    check(cfg, stages)
    t0 = time.perf_counter()
    # the data before the folder: a file of the user's that cannot be used (a trajectory
    # running backwards, a ragged CSV) fails before anything is made, marked or cleared
    data = data if data is not None else task.prepare(cfg)
    t_data = time.perf_counter() - t0
    ctx = Context.open(cfg, outdir, task, show=show, command=command)
    ctx.outdir.mkdir(parents=True, exist_ok=True)
    toml = cfgmod.to_toml(cfg)
    _start(ctx, toml)
    ctx.data = data
    ctx.timing["data"] = t_data
    for stage in plan(cfg, stages):
        run_stage(stage, ctx)
    from ..flows import tool_versions

    ctx.report["tools"] = {"neutnngen": version(), **tool_versions()}
    ctx.timing["total"] = time.perf_counter() - t0
    ctx.report["timing_s"] = dict(ctx.timing)
    if "report" in stages:
        run_stage(ReportStage(), ctx)
    else:
        write_json(ctx.outdir / "report.json", ctx.report)
    from .._io import digest

    ctx.store.finish(digest(toml))
    return ctx.report


def primary_metric(cfg: Config) -> tuple[str, bool]:
    """``(key in metrics["test"], higher_is_better)`` for the config's task."""
    return get_task(cfg).primary_metric(cfg)


def headline(report: dict) -> str:
    """One line with the task metric and its baseline (CLI summaries)."""
    return get_task(report["dataset"].get("kind", "ucr")).headline(report)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("neutnngen")
    except PackageNotFoundError:
        return "unknown"
