"""FPGA flows: Yosys ``synth_ice40``/``synth_ecp5`` then nextpnr place and route.

A design that does not fit the device is a result (``fits=False`` with the utilisation that
was asked for), not an error; any other nextpnr failure raises :class:`ToolchainError`.
nextpnr always runs with ``--seed 1`` (deterministic) and ``--timing-allow-fail`` (a missed
``--freq`` target still reports the achieved fmax; ``timing_met`` tells whether it was met).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import tools
from neutnngen.flows.build import (
    Build,
    BuildRun,
    ResultCache,
    check_identifier,
    digest_parts,
    run_build,
    workspace,
)
from neutnngen.flows.results import Ecp5Result, Ice40Result
from neutnngen.flows.yosys import RESULT_SCHEMA, Sources, read_cmd, read_stat_json, sources

__all__ = [
    "ECP5_DEVICES",
    "ICE40_DEVICES",
    "ecp5_builds",
    "ice40_builds",
    "parse_fit_failure",
    "parse_utilisation_log",
    "synth_ecp5",
    "synth_ice40",
]

# device -> nextpnr flag; default package (nextpnr's own default, which it asks to be explicit)
ICE40_DEVICES: dict[str, str] = {
    "lp384": "qn32",
    "lp1k": "tq144",
    "lp4k": "tq144",
    "lp8k": "ct256",
    "hx1k": "tq144",
    "hx4k": "tq144",
    "hx8k": "ct256",
    "up3k": "sg48",
    "up5k": "sg48",
    "u1k": "sg48",
    "u2k": "sg48",
    "u4k": "sg48",
}
ECP5_DEVICES: tuple[str, ...] = (
    "12k", "25k", "45k", "85k",
    "um-25k", "um-45k", "um-85k",
    "um5g-25k", "um5g-45k", "um5g-85k",
)  # fmt: skip
_ECP5_ALIASES = {  # Lattice part names -> nextpnr device
    "lfe5u-12f": "12k", "lfe5u-25f": "25k", "lfe5u-45f": "45k", "lfe5u-85f": "85k",
    "lfe5um-25f": "um-25k", "lfe5um-45f": "um-45k", "lfe5um-85f": "um-85k",
    "lfe5um5g-25f": "um5g-25k", "lfe5um5g-45f": "um5g-45k", "lfe5um5g-85f": "um5g-85k",
}  # fmt: skip


def _device(name: str, known: Mapping[str, Any] | tuple[str, ...], family: str) -> str:
    d = str(name).strip().lower().removeprefix("--").removeprefix("ice40")
    if family == "ecp5":
        d = _ECP5_ALIASES.get(d, d)
    if d not in known:
        raise ConfigError(
            f"unknown {family} device {name!r}; supported: {', '.join(known)}", path="device"
        )
    return d


def _freq(freq_mhz: float) -> str:
    if not isinstance(freq_mhz, int | float) or not freq_mhz > 0:
        raise ConfigError(f"freq_mhz must be a positive number, not {freq_mhz!r}", path="freq_mhz")
    return f"{float(freq_mhz):g}"


def _package(package: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", str(package)):
        raise ConfigError(f"package {package!r} is not a package name", path="package")
    return str(package)


def _synth_build(family: str, verilog: Sources, top: str) -> Build:
    check_identifier(top)
    files = sources(verilog)
    script = "\n".join(
        [
            read_cmd(files),
            f"synth_{family} -top {top} -json design.json",
            "tee -q -o stat.json stat -json",
            "",
        ]
    )
    return Build(
        tool="yosys",
        files=dict(files),
        script=script,
        args=("-q", "-l", "yosys.log"),
        outputs=("design.json", "stat.json"),
        step=f"synth_{family} of {top}",
        log="yosys.log",
    )


def ice40_builds(
    verilog: Sources,
    top: str,
    device: str = "hx8k",
    package: str | None = None,
    freq_mhz: float = 12,
    pcf: str | None = None,
) -> tuple[Build, Build]:
    """(yosys, nextpnr) builds of the iCE40 flow. The nextpnr build's ``design.json`` is
    filled in from the yosys run; here it has no files except an optional ``design.pcf``."""
    dev = _device(device, ICE40_DEVICES, "ice40")
    pkg = _package(package or ICE40_DEVICES[dev])
    files: dict[str, str | bytes] = {}
    args = ["-q", "-l", "nextpnr.log", f"--{dev}", "--package", pkg, "--json", "design.json"]
    if pcf is not None:
        files["design.pcf"] = pcf
        args += ["--pcf", "design.pcf"]
    args += ["--asc", "design.asc", "--freq", _freq(freq_mhz), "--seed", "1"]
    args += ["--timing-allow-fail", "--report", "report.json"]
    pnr = Build(
        tool="nextpnr-ice40",
        files=files,
        args=tuple(args),
        outputs=("report.json",),
        step=f"place and route of {top} on {dev}-{pkg}",
        log="nextpnr.log",
    )
    return _synth_build("ice40", verilog, top), pnr


def ecp5_builds(
    verilog: Sources,
    top: str,
    device: str = "25k",
    package: str = "CABGA381",
    speed: int = 6,
    freq_mhz: float = 12,
    lpf: str | None = None,
) -> tuple[Build, Build]:
    """(yosys, nextpnr) builds of the ECP5 flow (see :func:`ice40_builds`)."""
    dev = _device(device, ECP5_DEVICES, "ecp5")
    if speed not in (6, 7, 8):
        raise ConfigError(f"ECP5 speed grade {speed!r} must be 6, 7 or 8", path="speed")
    files: dict[str, str | bytes] = {}
    args = ["-q", "-l", "nextpnr.log", f"--{dev}", "--package", _package(package)]
    args += ["--speed", str(speed), "--json", "design.json"]
    if lpf is not None:
        files["design.lpf"] = lpf
        args += ["--lpf", "design.lpf"]
    args += ["--textcfg", "design.config", "--freq", _freq(freq_mhz), "--seed", "1"]
    args += ["--timing-allow-fail", "--report", "report.json"]
    pnr = Build(
        tool="nextpnr-ecp5",
        files=files,
        args=tuple(args),
        outputs=("report.json",),
        step=f"place and route of {top} on {dev}-{package}",
        log="nextpnr.log",
    )
    return _synth_build("ecp5", verilog, top), pnr


# ------------------------------------------------------------------------------ parsing

_UTIL_LINE = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%")
_FIT_PATTERNS = re.compile(
    r"no BELs remaining|Unable to find a placement location|Unable to place cell"
    r"|failed to place|Failed to route|Routing failed|exceeds the number of|too many",
    re.IGNORECASE,
)


def parse_utilisation_log(text: str) -> dict[str, tuple[int, int]]:
    """The last "Device utilisation:" block of a nextpnr log as resource -> (used, available)."""
    blocks = text.split("Device utilisation:")
    if len(blocks) < 2:
        return {}
    util: dict[str, tuple[int, int]] = {}
    for line in blocks[-1].splitlines()[1:]:
        m = _UTIL_LINE.match(line.strip())
        if not m:
            if util:
                break
            continue
        util[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return util


def parse_fit_failure(text: str) -> tuple[bool, str]:
    """(does-not-fit, error line) from a failed nextpnr log: a resource over 100% in the
    utilisation block, or a placement/routing error naming a lack of resources."""
    errors = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("ERROR")]
    over = [k for k, (u, a) in parse_utilisation_log(text).items() if u > a]
    capacity_error = next((e for e in reversed(errors) if _FIT_PATTERNS.search(e)), "")
    if over or capacity_error:
        line = capacity_error or (errors[-1] if errors else "")
        if over:
            line = (line + " " if line else "") + f"(over capacity: {', '.join(over)})"
        return True, line
    return False, errors[-1] if errors else ""


def _report(run: BuildRun) -> dict[str, Any]:
    try:
        data = json.loads(run.read_text("report.json"))
    except (OSError, ValueError) as exc:
        raise ToolchainError(
            f"{run.build.step}: cannot read report.json: {exc}\n{tools.log_tail(run.log_text())}",
            path=run.build.tool,
        ) from exc
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class _Pnr:
    fits: bool
    fit_error: str
    utilisation: dict[str, tuple[int, int]]
    fmax_by_clock: dict[str, float]
    fmax_mhz: float | None
    timing_met: bool | None


def _pnr_outcome(run: BuildRun) -> _Pnr:
    text = run.log_text()
    if run.returncode != 0 or not run.path("report.json").is_file():
        no_fit, line = parse_fit_failure(text)
        if not no_fit:
            raise run.failure()
        return _Pnr(False, line, parse_utilisation_log(text), {}, None, None)
    rep = _report(run)
    util = {
        str(k): (int(v.get("used", 0)), int(v.get("available", 0)))
        for k, v in sorted(rep.get("utilization", {}).items())
    } or parse_utilisation_log(text)
    fmax = {str(k): float(v["achieved"]) for k, v in sorted(rep.get("fmax", {}).items())}
    met = all(
        float(v["achieved"]) >= float(v.get("constraint", 0)) for v in rep.get("fmax", {}).values()
    )
    return _Pnr(True, "", util, fmax, min(fmax.values()) if fmax else None, met)


def _count(types: Mapping[str, int], prefix: str) -> int:
    return sum(n for t, n in types.items() if t.startswith(prefix))


def _run_fpga(
    family: str,
    synth: Build,
    pnr_template: Build,
    top: str,
    workdir: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    timeout: float,
    make_result: Any,
    result_cls: Any,
) -> Any:
    key = digest_parts(RESULT_SCHEMA, family, synth.digest(), pnr_template.digest())
    cache = ResultCache(cache_dir)
    if use_cache and (hit := cache.get(key, result_cls)) is not None:
        return hit
    yosys_version = tools.tool_version("yosys")
    pnr_version = tools.tool_version(pnr_template.tool)
    with workspace(workdir, keep=not use_cache) as wd:
        srun = run_build(synth, wd, timeout=timeout)
        section = read_stat_json(srun.read_text("stat.json"), top)
        types = {str(k): int(v) for k, v in sorted(section.get("num_cells_by_type", {}).items())}
        files = dict(pnr_template.files)
        files["design.json"] = srun.path("design.json").read_bytes()
        prun = run_build(replace(pnr_template, files=files), wd, timeout=timeout, check=False)
        outcome = _pnr_outcome(prun)
        result = make_result(
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


def synth_ice40(
    verilog: Sources,
    top: str,
    device: str = "hx8k",
    package: str | None = None,
    freq_mhz: float = 12,
    *,
    pcf: str | None = None,
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> Ice40Result:
    """Synthesize for iCE40 and place and route with nextpnr-ice40.

    ``package`` defaults to the device's usual one (hx8k: ct256, hx1k: tq144, up5k: sg48,
    lp8k: ct256; see :data:`ICE40_DEVICES`). ``timeout`` applies to each tool run.
    """
    synth, pnr = ice40_builds(verilog, top, device, package, freq_mhz, pcf)
    dev = _device(device, ICE40_DEVICES, "ice40")
    pkg = package or ICE40_DEVICES[dev]

    def make(types: dict[str, int], pnr: _Pnr, **common: Any) -> Ice40Result:
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

    result: Ice40Result = _run_fpga(
        "ice40", synth, pnr, top, workdir, cache_dir, use_cache, timeout, make, Ice40Result
    )
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
    workdir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    timeout: float = tools.DEFAULT_TIMEOUT_S,
) -> Ecp5Result:
    """Synthesize for ECP5 and place and route with nextpnr-ecp5 (see :func:`synth_ice40`)."""
    synth, pnr = ecp5_builds(verilog, top, device, package, speed, freq_mhz, lpf)
    dev = _device(device, ECP5_DEVICES, "ecp5")

    def make(types: dict[str, int], pnr: _Pnr, **common: Any) -> Ecp5Result:
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

    result: Ecp5Result = _run_fpga(
        "ecp5", synth, pnr, top, workdir, cache_dir, use_cache, timeout, make, Ecp5Result
    )
    return result
