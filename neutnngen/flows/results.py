"""Typed, JSON-ready results of the synthesis and place-and-route flows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Ecp5Result", "GenericResult", "Ice40Result", "LibertyResult"]

T = TypeVar("T", bound="_Result")


@dataclass(frozen=True)
class _Result:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return out

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "utilisation" in kwargs:
            kwargs["utilisation"] = {
                k: (int(v[0]), int(v[1])) for k, v in kwargs["utilisation"].items()
            }
        return cls(**kwargs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class GenericResult(_Result):
    """Technology-independent CMOS gate count: the project's yardstick.

    Flow: ``synth -flatten``; ``dfflegalize -cell $_DFF_P_ 01``; ``abc -g cmos2``;
    ``stat -tech cmos``. Transistors use Yosys' CMOS cost model (NAND/NOR 4, NOT 2,
    DFF_P 16); one gate equivalent is a 2-input NAND = 4 transistors.
    """

    top: str
    cells: int  # total cells after mapping
    flip_flops: int  # cells whose type contains DFF/dff
    transistors: int  # Yosys `stat -tech cmos` estimate
    gate_equivalents: float  # transistors / 4
    cell_types: dict[str, int]  # cell type -> count
    yosys_version: str
    log: str  # path of yosys.log (in the cache entry when cached)
    digest: str  # cache key of this result
    seconds: float  # tool wall time of the run that produced it


@dataclass(frozen=True)
class LibertyResult(_Result):
    """Area after mapping to a Liberty standard-cell library."""

    top: str
    liberty: str  # the liberty path as given
    area_um2: float  # Yosys `stat -liberty` chip area (library area units, usually um^2)
    sequential_area_um2: float | None
    cells: int
    flip_flops: int  # cells mapped by dfflibmap plus any left-over internal FF cells
    cell_types: dict[str, int]
    unmapped: dict[str, int]  # internal ($...) cells left unmapped; they carry no area
    abc_script: str  # "default" or the fallback script used (see synth_liberty)
    yosys_version: str
    log: str
    digest: str
    seconds: float


@dataclass(frozen=True)
class Ice40Result(_Result):
    """Lattice iCE40: Yosys ``synth_ice40`` then nextpnr-ice40 place and route."""

    top: str
    device: str  # e.g. "hx8k"
    package: str  # e.g. "ct256"
    luts: int  # SB_LUT4 cells
    flip_flops: int  # SB_DFF* cells
    carries: int  # SB_CARRY cells
    ram_blocks: int  # SB_RAM40_4K* cells
    logic_cells: int  # ICESTORM_LC used (nextpnr; packed LUT+FF+carry)
    utilisation: dict[str, tuple[int, int]]  # resource -> (used, available)
    fmax_mhz: float | None  # slowest clock's achieved fmax; None if no clock or no fit
    fmax_by_clock: dict[str, float]
    timing_met: bool | None  # every clock met freq_mhz; None if not routed
    freq_mhz: float  # requested (timing-driven placement target)
    fits: bool
    fit_error: str  # nextpnr's error line when it does not fit, else ""
    cell_types: dict[str, int]
    yosys_version: str
    nextpnr_version: str
    log: str  # nextpnr.log (of the harness's place and route when ``harness``)
    yosys_log: str  # the core's own synthesis log
    digest: str
    seconds: float
    # True: the core was placed inside an I/O harness (see neutnngen.flows.harness) because
    # its ports need more pins than the package has. luts, flip_flops, carries, ram_blocks and
    # cell_types are still the core's own synthesis numbers; fmax_mhz, fmax_by_clock,
    # timing_met, utilisation, logic_cells and fits come from the harness's place and route.
    harness: bool = False
    harness_info: dict[str, Any] | None = None  # in_bits, out_bits, harness_flip_flops, ...


@dataclass(frozen=True)
class Ecp5Result(_Result):
    """Lattice ECP5: Yosys ``synth_ecp5`` then nextpnr-ecp5 place and route."""

    top: str
    device: str  # e.g. "25k"
    package: str  # e.g. "CABGA381"
    speed: int
    luts: int  # LUT4 cells (each CCU2C carry cell holds two more LUT4s)
    carries: int  # CCU2C cells
    flip_flops: int  # TRELLIS_FF cells
    comb_cells: int  # TRELLIS_COMB used (nextpnr; every LUT4 incl. those in carries)
    utilisation: dict[str, tuple[int, int]]
    fmax_mhz: float | None
    fmax_by_clock: dict[str, float]
    timing_met: bool | None
    freq_mhz: float
    fits: bool
    fit_error: str
    cell_types: dict[str, int]
    yosys_version: str
    nextpnr_version: str
    log: str
    yosys_log: str
    digest: str
    seconds: float
    harness: bool = False  # see Ice40Result; comb_cells then comes from the harness P&R
    harness_info: dict[str, Any] | None = None
