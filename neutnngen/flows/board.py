"""Board flows: a design on a real board's pins, from Verilog to a bitstream.

A board is a TOML file in the repository's ``flows/boards/`` folder (``NAME.toml``: family,
device, package, clock, LEDs and the constraint file beside it, ``.pcf`` for iCE40, ``.lpf``
for ECP5; ``NEUTNNGEN_BOARDS_DIR`` points elsewhere). :func:`build_bitstream` runs Yosys
(``synth_ice40`` / ``synth_ecp5``), nextpnr with the board's constraints (``--freq`` = the
timing target, by default the board clock; ``--seed 1``; a missed target still gives a
bitstream, ``timing_met`` says whether it was met) and ``icepack`` / ``ecppack`` in one work
directory (relative paths: the YoWASP tools only see that folder), and returns a
:class:`BoardResult` with the utilisation, Fmax and the bitstream.

The top module must have the board's ports (``clk``, ``uart_rx``, ``uart_tx``, ``led``):
``neutnngen synth --board`` wraps an AXI4-Stream design in the UART board top of
:mod:`neutnngen.hdl.uart`. Standard library and :mod:`neutnngen.flows` only.
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from neutnngen.errors import ConfigError
from neutnngen.flows import tools
from neutnngen.flows.build import Build, run_build
from neutnngen.flows.fpga_builds import (
    ECP5_DEVICES,
    ICE40_DEVICES,
    _device,
    ecp5_builds,
    ice40_builds,
)
from neutnngen.flows.pnr_report import pnr_outcome
from neutnngen.flows.yosys import Sources, read_stat_json

__all__ = ["Board", "BoardResult", "board_names", "boards_dir", "build_bitstream", "load_board"]

_FAMILIES = ("ice40", "ecp5")


def boards_dir() -> Path:
    """``flows/boards`` of the source checkout (or ``$NEUTNNGEN_BOARDS_DIR``)."""
    override = os.environ.get("NEUTNNGEN_BOARDS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "flows" / "boards"


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    family: str
    device: str
    package: str
    clock_mhz: float
    leds: int
    constraints: str  # file name beside the TOML
    speed: int = 6  # ECP5 speed grade

    def constraint_text(self) -> str:
        return (boards_dir() / self.constraints).read_text()


def board_names() -> list[str]:
    d = boards_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def load_board(name: str) -> Board:
    """The board ``name`` (ConfigError naming the known boards when there is none)."""
    known = board_names()
    if name not in known:
        raise ConfigError(f"unknown board {name!r}; known boards: {', '.join(known) or 'none'} "
                          f"(in {boards_dir()})", path="board")
    path = boards_dir() / f"{name}.toml"
    try:
        doc = tomllib.loads(path.read_text())
        fam = str(doc["family"])
        if fam not in _FAMILIES:
            raise ConfigError(f"board {name!r}: family {fam!r}; accepted: ice40, ecp5",
                              path=str(path))
        board = Board(name=name, description=str(doc.get("description", name)), family=fam,
                      device=str(doc["device"]), package=str(doc["package"]),
                      clock_mhz=float(doc["clock_mhz"]), leds=int(doc.get("leds", 0)),
                      constraints=str(doc["constraints"]), speed=int(doc.get("speed", 6)))
    except (KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"board file {path} is malformed: {exc}", path=str(path)) from None
    if not (boards_dir() / board.constraints).is_file():
        raise ConfigError(f"board {name!r}: constraint file {board.constraints!r} is missing",
                          path=str(path))
    return board


@dataclass(frozen=True)
class BoardResult:
    board: str
    family: str
    device: str
    package: str
    top: str
    fits: bool
    fit_error: str
    luts: int  # iCE40: SB_LUT4 cells; ECP5: LUT4 cells (after synthesis)
    flip_flops: int
    utilisation: dict[str, tuple[int, int]]  # nextpnr: resource -> (used, available)
    freq_mhz: float  # timing target
    fmax_mhz: float | None
    timing_met: bool | None
    bitstream: str | None  # path of the .bin (iCE40) / .bit (ECP5)
    bitstream_bytes: int | None
    seconds: float
    tools: dict[str, str] = field(default_factory=dict)
    workdir: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["utilisation"] = {k: list(v) for k, v in self.utilisation.items()}
        return d


def _lut_ff(family: str, types: Mapping[str, int]) -> tuple[int, int]:
    if family == "ice40":
        luts = types.get("SB_LUT4", 0)
        ffs = sum(n for t, n in types.items() if t.startswith("SB_DFF"))
    else:
        luts = types.get("LUT4", 0) + 2 * types.get("CCU2C", 0)
        ffs = types.get("TRELLIS_FF", 0)
    return luts, ffs


def build_bitstream(verilog: Sources, top: str, board: Board | str, *,
                    freq_mhz: float | None = None, device: str | None = None,
                    workdir: str | os.PathLike[str], timeout: float = tools.DEFAULT_TIMEOUT_S
                    ) -> BoardResult:
    """Synthesize, place and route ``top`` (``verilog``: a text or ``{file: text}``) on
    ``board`` with its constraints and pack the bitstream into ``workdir``. A design that
    does not fit is a result (``fits=False``, no bitstream)."""
    b = load_board(board) if isinstance(board, str) else board
    if device is not None:
        known = ICE40_DEVICES if b.family == "ice40" else ECP5_DEVICES
        b = replace(b, device=_device(device, known, b.family))
    freq = float(freq_mhz) if freq_mhz is not None else b.clock_mhz
    wd = Path(workdir).resolve()
    wd.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    cons = b.constraint_text()
    if b.family == "ice40":
        synth, pnr = ice40_builds(verilog, top, device=b.device, package=b.package,
                                  freq_mhz=freq, pcf=cons)
        pack = Build(tool="icepack", files={}, args=("design.asc", "design.bin"),
                     outputs=("design.bin",), step=f"icepack of {top}")
        bit = "design.bin"
    else:
        synth, pnr = ecp5_builds(verilog, top, device=b.device, package=b.package,
                                 speed=b.speed, freq_mhz=freq, lpf=cons)
        pack = Build(tool="ecppack", files={}, args=("design.config", "design.bit"),
                     outputs=("design.bit",), step=f"ecppack of {top}")
        bit = "design.bit"
    srun = run_build(synth, wd, timeout=timeout)
    section = read_stat_json(srun.read_text("stat.json"), top)
    types = {str(k): int(v) for k, v in section.get("num_cells_by_type", {}).items()}
    files = dict(pnr.files)
    files["design.json"] = srun.path("design.json").read_bytes()
    prun = run_build(replace(pnr, files=files), wd, timeout=timeout, check=False)
    out = pnr_outcome(prun)
    bitstream = None
    size = None
    if out.fits:
        run_build(pack, wd, timeout=timeout)
        bitstream = str(wd / bit)
        size = (wd / bit).stat().st_size
    luts, ffs = _lut_ff(b.family, types)
    names = ("yosys", f"nextpnr-{b.family}", pack.tool)
    return BoardResult(
        board=b.name, family=b.family, device=b.device, package=b.package, top=top,
        fits=out.fits, fit_error=out.fit_error, luts=luts, flip_flops=ffs,
        utilisation=out.utilisation, freq_mhz=freq, fmax_mhz=out.fmax_mhz,
        timing_met=out.timing_met, bitstream=bitstream, bitstream_bytes=size,
        seconds=round(time.monotonic() - t0, 2),
        tools={n: tools.tool_version(n) for n in names}, workdir=str(wd))
