"""Gate-level netlists of a generated design for simulation and formal equivalence.

:func:`synth_netlist` synthesizes a Verilog design with Yosys into a flat netlist written
back as Verilog (``write_verilog -noattr``): ``target="generic"``: Yosys's internal gates
(the generic CMOS flow of :func:`neutnngen.flows.synth_generic`: ``synth -flatten``,
``dfflegalize``, ``abc -g cmos2``), written as plain expressions and ``always`` blocks, so
any simulator runs it without a cell library. The netlist keeps the top's ports, so the
verification bench drives it like the RTL (``neutnngen verify --gate-level``).
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

TARGETS = ("generic",)


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
    (work / "netlist.ys").write_text("\n".join([
        "read_verilog -sv design.v",
        f"synth -flatten -top {top}",
        "dfflegalize -cell $_DFF_P_ 01",
        "abc -g cmos2",
        "opt_clean",
        "write_verilog -noattr netlist.v",
        "",
    ]))
    t0 = time.monotonic()
    tools.run_tool("yosys", ["-q", "-l", "netlist.log", "netlist.ys"], cwd=work,
                   timeout=timeout, step=f"gate-level netlist of {top}", log_file="netlist.log")
    return Netlist(str(work / "netlist.v"), target, round(time.monotonic() - t0, 2),
                   str(work / "netlist.log"))
