"""FPGA builds as data: the Yosys ``synth_ice40`` / ``synth_ecp5`` run and the nextpnr run
of each family (:func:`ice40_builds`, :func:`ecp5_builds`), with the devices nextpnr knows.
:mod:`.nextpnr` runs them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from neutnngen.errors import ConfigError
from neutnngen.flows.build import Build, check_identifier
from neutnngen.flows.yosys import Sources, read_cmd, sources

__all__ = ["DEFAULT_DEVICE", "ECP5_DEVICES", "ICE40_DEVICES", "check_device", "check_package",
           "ecp5_builds", "ice40_builds"]

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


DEFAULT_DEVICE: dict[str, str] = {"ice40": "hx8k", "ecp5": "25k"}
"""The device of each FPGA family when none is named (``synth --device``, config)."""


def check_device(family: str, name: str, what: str = "device") -> str:
    """The nextpnr device of ``name`` in ``family`` (ice40, ecp5); a ConfigError naming
    ``what`` (the key or option) and the supported devices otherwise. No tool runs."""
    known: Mapping[str, Any] | tuple[str, ...] = ICE40_DEVICES if family == "ice40" else ECP5_DEVICES
    try:
        return _device(name, known, family)
    except ConfigError as e:
        raise ConfigError(f"{what}: {e.message}", path=what) from None


def check_package(package: str, what: str = "package") -> str:
    """A package name (letters, digits, ``_``, ``-``); ConfigError naming ``what`` else."""
    try:
        return _package(package)
    except ConfigError as e:
        raise ConfigError(f"{what}: {e.message}; expected e.g. ct256 or CABGA381",
                          path=what) from None


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
