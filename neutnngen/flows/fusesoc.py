"""FuseSoC hand-off: a generated design as a CAPI2 core (``NAME.core``) with its files.

:func:`write_core` copies the design's Verilog (and ``names.json``) under ``OUT/rtl/``,
each board's top (a Verilog text made by the caller, e.g. the UART board top of
:mod:`neutnngen.hdl.uart`) and constraint file under ``OUT/boards/BOARD/``, writes
``OUT/files.txt`` (every HDL file, one per line, relative to OUT, in compile order) and
``OUT/NAME.core``:

* fileset ``rtl`` and target ``default`` (toplevel = the design), target ``lint``
  (Verilator ``lint-only``);
* per board a fileset ``board_BOARD`` and a target ``BOARD`` (toplevel ``board_top``):
  ``icestorm`` (nextpnr ``--DEVICE --package PKG``) for iCE40 boards, ``trellis`` for ECP5.

VLNV: ``neutnngen:tnn:NAME:VERSION``. Standard library only (the YAML is written by hand).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from neutnngen.errors import ConfigError
from neutnngen.flows.board import Board, boards_dir

__all__ = ["write_core"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VERSION = re.compile(r"\d+(\.\d+){0,2}")


def _q(s: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_core(out: str | Path, name: str, verilog: str, *, names_json: str | None = None,
               boards: Mapping[Board, str] | None = None, version: str = "0.1.0",
               description: str = "") -> Path:
    """Write the core into ``out`` (created); returns the ``.core`` path. ``boards`` maps a
    :class:`Board` to the Verilog text of its ``board_top`` module."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"core name {name!r} must be a Verilog identifier", path="name")
    if not _VERSION.fullmatch(version):
        raise ConfigError(f"core version {version!r} must look like 1.2.3", path="version")
    out = Path(out)
    (out / "rtl").mkdir(parents=True, exist_ok=True)
    rtl = f"rtl/{name}.v"
    (out / rtl).write_text(verilog)
    if names_json is not None:
        (out / "rtl" / "names.json").write_text(names_json)
    files = [rtl]
    lines = [
        "CAPI=2:",
        f"name: {_q(f'neutnngen:tnn:{name}:{version}')}",
        f"description: {_q(description or f'neutnngen generated TNN core {name}')}",
        "",
        "filesets:",
        "  rtl:",
        "    files:",
        f"      - {rtl}",
        "    file_type: verilogSource",
    ]
    targets = [
        "targets:",
        "  default:",
        "    filesets: [rtl]",
        f"    toplevel: {name}",
        "  lint:",
        "    default_tool: verilator",
        "    filesets: [rtl]",
        "    tools:",
        "      verilator:",
        "        mode: lint-only",
        "        verilator_options: [-Wno-fatal]",
        f"    toplevel: {name}",
    ]
    for board, text in (boards or {}).items():
        d = out / "boards" / board.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "board_top.v").write_text(text)
        cons = (boards_dir() / board.constraints).read_text()
        (d / board.constraints).write_text(cons)
        top_v = f"boards/{board.name}/board_top.v"
        cons_f = f"boards/{board.name}/{board.constraints}"
        files.append(top_v)
        fs = "board_" + board.name.replace("-", "_")
        ctype = "PCF" if board.family == "ice40" else "LPF"
        lines += [
            f"  {fs}:",
            "    files:",
            f"      - {top_v}: {{file_type: verilogSource}}",
            f"      - {cons_f}: {{file_type: {ctype}}}",
        ]
        targets += [f"  {board.name}:"]
        if board.family == "ice40":
            targets += [
                "    default_tool: icestorm",
                "    tools:",
                "      icestorm:",
                "        pnr: next",
                f"        nextpnr_options: [--{board.device}, --package, {board.package}, "
                f"--freq, {board.clock_mhz:g}]",
            ]
        else:
            targets += [
                "    default_tool: trellis",
                "    tools:",
                "      trellis:",
                f"        nextpnr_options: [--{board.device}, --package, {board.package}, "
                f"--speed, {board.speed}, --freq, {board.clock_mhz:g}]",
            ]
        targets += [f"    filesets: [rtl, {fs}]", "    toplevel: board_top"]
    core = out / f"{name}.core"
    core.write_text("\n".join(lines + [""] + targets) + "\n")
    (out / "files.txt").write_text("\n".join(files) + "\n")
    return core
