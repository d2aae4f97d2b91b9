"""Everything that runs an external tool: text in, typed results out.

* :mod:`.tools` — the only module that launches processes: finding tools, versions,
  timeouts, errors that say how to fix them.
* :mod:`.build` — a :class:`Build` is data (files + script + tool + args) with a digest;
  :func:`run_build` runs it in a work directory; :class:`ResultCache` keeps typed results.
* :mod:`.yosys` — :func:`synth_generic` (CMOS transistor yardstick), :func:`synth_liberty`.
* :mod:`.nextpnr` — :func:`synth_ice40`, :func:`synth_ecp5` (with an I/O harness for cores
  whose ports need more pins than the package has); the builds they run are in
  :mod:`.fpga_builds`, the reading of nextpnr's log and report in :mod:`.pnr_report`.
* :mod:`.harness` — :func:`io_harness`; :mod:`.verilog_ports` — :func:`parse_ports`.
* :mod:`.sim` — :func:`find_simulator`, :func:`simulator_available`.
* :mod:`.board` — boards of ``flows/boards/`` and :func:`~.board.build_bitstream` (yosys,
  nextpnr with the board's pins, icepack / ecppack); :mod:`.fusesoc` —
  :func:`~.fusesoc.write_core` (CAPI2 core + file list).

This package imports only the standard library and :mod:`neutnngen.errors`.
"""

from neutnngen.flows.build import Build, BuildRun, ResultCache, default_cache_dir, run_build
from neutnngen.flows.harness import Port, io_harness, parse_ports
from neutnngen.flows.nextpnr import (
    DEFAULT_DEVICE,
    ECP5_DEVICES,
    ICE40_DEVICES,
    check_device,
    check_package,
    ecp5_builds,
    ice40_builds,
    synth_ecp5,
    synth_ice40,
)
from neutnngen.flows.results import Ecp5Result, GenericResult, Ice40Result, LibertyResult
from neutnngen.flows.sim import find_simulator, simulator_available, simulator_version
from neutnngen.flows.tools import (
    find_tool,
    tool_available,
    tool_env,
    tool_version,
    tool_versions,
)
from neutnngen.flows.yosys import (
    check_liberty,
    generic_build,
    liberty_build,
    synth_generic,
    synth_liberty,
)

__all__ = [
    "DEFAULT_DEVICE",
    "check_device",
    "check_liberty",
    "check_package",
    "ECP5_DEVICES",
    "ICE40_DEVICES",
    "Build",
    "BuildRun",
    "Ecp5Result",
    "GenericResult",
    "Ice40Result",
    "LibertyResult",
    "Port",
    "ResultCache",
    "default_cache_dir",
    "ecp5_builds",
    "find_simulator",
    "find_tool",
    "generic_build",
    "ice40_builds",
    "io_harness",
    "liberty_build",
    "parse_ports",
    "run_build",
    "simulator_available",
    "simulator_version",
    "synth_ecp5",
    "synth_generic",
    "synth_ice40",
    "synth_liberty",
    "tool_available",
    "tool_env",
    "tool_version",
    "tool_versions",
]
