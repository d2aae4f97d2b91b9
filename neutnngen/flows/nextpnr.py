"""FPGA flows: Yosys ``synth_ice40``/``synth_ecp5`` then nextpnr place and route.

A design that does not fit the device is a result (``fits=False`` with the utilisation that
was asked for), not an error; any other nextpnr failure raises :class:`ToolchainError`.
nextpnr always runs with ``--seed 1`` (deterministic) and ``--timing-allow-fail`` (a missed
``--freq`` target still reports the achieved fmax; ``timing_met`` tells whether it was met).

A core whose ports need more pins than the package has (generated cores have buses of
hundreds of bits) is, by default (``harness="auto"``), placed and routed again inside an I/O
harness (:mod:`neutnngen.flows.harness`): five pins, every core port on-chip and
register to register. The result then keeps the core's own synthesis numbers and takes
fmax, timing and utilisation from the harness run (``harness=True`` in the result).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from neutnngen.errors import ConfigError
from neutnngen.flows import tools
from neutnngen.flows.build import Build, BuildRun, ResultCache, digest_parts, run_build, workspace
from neutnngen.flows.fpga_builds import (
    DEFAULT_DEVICE,
    ECP5_DEVICES,
    ICE40_DEVICES,
    _device,
    check_device,
    check_package,
    ecp5_builds,
    ice40_builds,
)
from neutnngen.flows.harness import harness_sources
from neutnngen.flows.pnr_report import (
    IO_RESOURCES,
    PnrOutcome,
    io_only_failure,
    parse_fit_failure,
    parse_utilisation_log,
    pnr_outcome,
)
from neutnngen.flows.results import Ecp5Result, Ice40Result
from neutnngen.flows.yosys import RESULT_SCHEMA, Sources, read_stat_json

__all__ = [
    "DEFAULT_DEVICE",
    "ECP5_DEVICES",
    "ICE40_DEVICES",
    "IO_RESOURCES",
    "check_device",
    "check_package",
    "ecp5_builds",
    "ice40_builds",
    "io_only_failure",
    "parse_fit_failure",
    "parse_utilisation_log",
    "synth_ecp5",
    "synth_ice40",
]

# Bump when FPGA result fields or the flow change, so old cache entries are not reused.
FPGA_RESULT_SCHEMA = f"{RESULT_SCHEMA}+fpga-2"


def _count(types: Mapping[str, int], prefix: str) -> int:
    return sum(n for t, n in types.items() if t.startswith(prefix))


def _harness_mode(harness: Any) -> bool | str:
    if harness == "auto" or harness is True or harness is False:
        return harness  # type: ignore[no-any-return]
    raise ConfigError(f"harness must be 'auto', True or False, not {harness!r}", path="harness")


@dataclass(frozen=True)
class _Flow:
    """One family's flow: the core's builds, how to make the harness builds, and how to
    turn cell types and a place-and-route outcome into a result."""

    family: str
    top: str
    synth: Build
    pnr: Build
    harness_builds: Callable[[], tuple[Build, Build, str, dict[str, Any]]]
    make_result: Callable[..., Any]
    result_cls: Any
    lut_ff: Callable[[Mapping[str, int]], tuple[int, int]]


def _synth_types(run: BuildRun, top: str) -> dict[str, int]:
    section = read_stat_json(run.read_text("stat.json"), top)
    return {str(k): int(v) for k, v in sorted(section.get("num_cells_by_type", {}).items())}


def _run_fpga(
    flow: _Flow,
    mode: bool | str,
    workdir: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    timeout: float,
) -> Any:
    """The direct flow (``mode`` False, or "auto" first) and, when asked for or when "auto"
    finds the I/O over capacity, the harness flow. Each is cached under its own digest."""
    cache = ResultCache(cache_dir)
    direct = None
    if mode is not True:
        direct = _run_direct(flow, workdir, cache, use_cache, timeout)
        if mode is False or not io_only_failure(direct):
            return direct
    return _run_harness(flow, direct, workdir, cache, use_cache, timeout)


def _run_direct(
    flow: _Flow,
    workdir: str | os.PathLike[str] | None,
    cache: ResultCache,
    use_cache: bool,
    timeout: float,
) -> Any:
    synth, pnr_template = flow.synth, flow.pnr
    key = digest_parts(
        FPGA_RESULT_SCHEMA, flow.family, "direct", synth.digest(), pnr_template.digest()
    )
    if use_cache and (hit := cache.get(key, flow.result_cls)) is not None:
        return hit
    yosys_version = tools.tool_version("yosys")
    pnr_version = tools.tool_version(pnr_template.tool)
    with workspace(workdir, keep=not use_cache) as wd:
        srun = run_build(synth, wd, timeout=timeout)
        types = _synth_types(srun, flow.top)
        files = dict(pnr_template.files)
        files["design.json"] = srun.path("design.json").read_bytes()
        prun = run_build(replace(pnr_template, files=files), wd, timeout=timeout, check=False)
        outcome = pnr_outcome(prun)
        result = flow.make_result(
            types=types,
            pnr=outcome,
            yosys_version=yosys_version,
            nextpnr_version=pnr_version,
            log=str(prun.path("nextpnr.log")),
            yosys_log=str(srun.path("yosys.log")),
            digest=key,
            seconds=round(srun.seconds + prun.seconds, 3),
        )
        if not use_cache:
            return result
        names = ("yosys.log", "nextpnr.log", "stat.json", "report.json", "script.ys")
        arts = {n: wd / n for n in names}
        return cache.put(key, result, arts, {"log": "nextpnr.log", "yosys_log": "yosys.log"})


def _run_harness(
    flow: _Flow,
    direct: Any,
    workdir: str | os.PathLike[str] | None,
    cache: ResultCache,
    use_cache: bool,
    timeout: float,
) -> Any:
    """The core's own synthesis numbers (from ``direct`` when given, else a core synthesis
    run) with place and route of the harness-wrapped core. The harness runs in the
    ``harness/`` folder of the work directory."""
    hsynth, hpnr_template, harness_top, info = flow.harness_builds()
    key = digest_parts(
        FPGA_RESULT_SCHEMA,
        flow.family,
        "harness",
        flow.synth.digest(),
        hsynth.digest(),
        hpnr_template.digest(),
    )
    if use_cache and (hit := cache.get(key, flow.result_cls)) is not None:
        return hit
    yosys_version = tools.tool_version("yosys")
    pnr_version = tools.tool_version(hpnr_template.tool)
    with workspace(workdir, keep=not use_cache) as wd:
        arts: dict[str, Path] = {}
        if direct is not None:
            types, core_log, core_seconds = (
                direct.cell_types,
                Path(direct.yosys_log),
                direct.seconds,
            )
        else:
            srun = run_build(flow.synth, wd, timeout=timeout)
            types, core_log, core_seconds = (
                _synth_types(srun, flow.top),
                srun.path("yosys.log"),
                srun.seconds,
            )
            arts["stat.json"] = srun.path("stat.json")
        arts["yosys.log"] = core_log
        hd = wd / "harness"
        hrun = run_build(hsynth, hd, timeout=timeout)
        htypes = _synth_types(hrun, harness_top)
        files = dict(hpnr_template.files)
        files["design.json"] = hrun.path("design.json").read_bytes()
        prun = run_build(replace(hpnr_template, files=files), hd, timeout=timeout, check=False)
        outcome = pnr_outcome(prun)
        design_luts, design_ffs = flow.lut_ff(htypes)
        result = flow.make_result(
            types=types,
            pnr=outcome,
            yosys_version=yosys_version,
            nextpnr_version=pnr_version,
            log=str(prun.path("nextpnr.log")),
            yosys_log=str(core_log),
            digest=key,
            seconds=round(core_seconds + hrun.seconds + prun.seconds, 3),
            harness=True,
            harness_info={
                **info,
                "top": harness_top,
                "design_luts": design_luts,  # core + harness, from the harness synthesis
                "design_flip_flops": design_ffs,
                "design_cell_types": htypes,
            },
        )
        if not use_cache:
            return result
        for name in ("yosys.log", "nextpnr.log", "stat.json", "report.json", "script.ys"):
            arts[f"harness-{name}"] = hd / name
        arts.update({n: hd / n for n in hsynth.files if n not in flow.synth.files})
        fields = {"log": "harness-nextpnr.log", "yosys_log": "yosys.log"}
        return cache.put(key, result, arts, fields)


def _harness_builds(
    verilog: Sources,
    top: str,
    clock: str,
    reset: str,
    pnr_builds: Callable[[Sources, str], tuple[Build, Build]],
) -> Callable[[], tuple[Build, Build, str, dict[str, Any]]]:
    def make() -> tuple[Build, Build, str, dict[str, Any]]:
        files, harness_top, info = harness_sources(verilog, top, clock, reset)
        synth, pnr = pnr_builds(files, harness_top)
        info = {**info, "clock": clock, "reset": reset}
        return synth, pnr, harness_top, info

    return make


def synth_ice40(
    verilog: Sources,
    top: str,
    device: str = "hx8k",
    package: str | None = None,
    freq_mhz: float = 12,
    *,
    pcf: str | None = None,
    harness: bool | str = "auto",
    harness_clock: str = "clk",
    harness_reset: str = "rst",
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> Ice40Result:
    """Synthesize for iCE40 and place and route with nextpnr-ice40.

    ``package`` defaults to the device's usual one (hx8k: ct256, hx1k: tq144, up5k: sg48,
    lp8k: ct256; see :data:`ICE40_DEVICES`). ``timeout`` applies to each tool run.

    ``harness``: ``"auto"`` (default) places the core directly and, if that fails only
    because its I/O is over capacity (``SB_IO``), places and routes it again inside an I/O
    harness (:func:`neutnngen.flows.harness.io_harness`; ``harness_clock`` and
    ``harness_reset`` name the core's clock and reset ports, which the harness wires to its
    own pins). ``True`` always uses the harness, ``False`` never. With the harness the result
    has ``harness=True``; ``luts``, ``flip_flops``, ``carries``, ``ram_blocks`` and
    ``cell_types`` are the core's own synthesis numbers, while ``fmax_mhz``,
    ``fmax_by_clock``, ``timing_met``, ``utilisation``, ``logic_cells`` and ``fits`` come
    from the harness's place and route (which includes the harness's
    ``harness_info["harness_flip_flops"]`` extra flip-flops). ``pcf`` applies to the core's
    direct placement only (the harness has its own pins).
    """
    mode = _harness_mode(harness)
    synth, pnr = ice40_builds(verilog, top, device, package, freq_mhz, pcf)
    dev = _device(device, ICE40_DEVICES, "ice40")
    pkg = package or ICE40_DEVICES[dev]

    def make(types: dict[str, int], pnr: PnrOutcome, **common: Any) -> Ice40Result:
        return Ice40Result(
            top=top,
            device=dev,
            package=pkg,
            luts=types.get("SB_LUT4", 0),
            flip_flops=_count(types, "SB_DFF"),
            carries=types.get("SB_CARRY", 0),
            ram_blocks=_count(types, "SB_RAM40_4K"),
            logic_cells=pnr.utilisation.get("ICESTORM_LC", (0, 0))[0],
            utilisation=pnr.utilisation,
            fmax_mhz=pnr.fmax_mhz,
            fmax_by_clock=pnr.fmax_by_clock,
            timing_met=pnr.timing_met,
            freq_mhz=float(freq_mhz),
            fits=pnr.fits,
            fit_error=pnr.fit_error,
            cell_types=types,
            **common,
        )

    def harness_pnr(files: Sources, harness_top: str) -> tuple[Build, Build]:
        return ice40_builds(files, harness_top, device, package, freq_mhz)

    flow = _Flow(
        family="ice40",
        top=top,
        synth=synth,
        pnr=pnr,
        harness_builds=_harness_builds(verilog, top, harness_clock, harness_reset, harness_pnr),
        make_result=make,
        result_cls=Ice40Result,
        lut_ff=lambda t: (t.get("SB_LUT4", 0), _count(t, "SB_DFF")),
    )
    result: Ice40Result = _run_fpga(flow, mode, workdir, cache_dir, use_cache, timeout)
    return result


def synth_ecp5(
    verilog: Sources,
    top: str,
    device: str = "25k",
    package: str = "CABGA381",
    freq_mhz: float = 12,
    *,
    speed: int = 6,
    lpf: str | None = None,
    harness: bool | str = "auto",
    harness_clock: str = "clk",
    harness_reset: str = "rst",
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> Ecp5Result:
    """Synthesize for ECP5 and place and route with nextpnr-ecp5 (see :func:`synth_ice40`;
    the I/O resource that triggers the harness is ``TRELLIS_IO``, and with the harness
    ``comb_cells`` comes from the harness's place and route)."""
    mode = _harness_mode(harness)
    synth, pnr = ecp5_builds(verilog, top, device, package, speed, freq_mhz, lpf)
    dev = _device(device, ECP5_DEVICES, "ecp5")

    def make(types: dict[str, int], pnr: PnrOutcome, **common: Any) -> Ecp5Result:
        return Ecp5Result(
            top=top,
            device=dev,
            package=package,
            speed=speed,
            luts=types.get("LUT4", 0),
            carries=types.get("CCU2C", 0),
            flip_flops=types.get("TRELLIS_FF", 0),
            comb_cells=pnr.utilisation.get("TRELLIS_COMB", (0, 0))[0],
            utilisation=pnr.utilisation,
            fmax_mhz=pnr.fmax_mhz,
            fmax_by_clock=pnr.fmax_by_clock,
            timing_met=pnr.timing_met,
            freq_mhz=float(freq_mhz),
            fits=pnr.fits,
            fit_error=pnr.fit_error,
            cell_types=types,
            **common,
        )

    def harness_pnr(files: Sources, harness_top: str) -> tuple[Build, Build]:
        return ecp5_builds(files, harness_top, device, package, speed, freq_mhz)

    flow = _Flow(
        family="ecp5",
        top=top,
        synth=synth,
        pnr=pnr,
        harness_builds=_harness_builds(verilog, top, harness_clock, harness_reset, harness_pnr),
        make_result=make,
        result_cls=Ecp5Result,
        lut_ff=lambda t: (t.get("LUT4", 0), t.get("TRELLIS_FF", 0)),
    )
    result: Ecp5Result = _run_fpga(flow, mode, workdir, cache_dir, use_cache, timeout)
    return result
