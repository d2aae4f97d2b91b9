"""Formal equivalence of the generated RTL and its synthesized netlist (Yosys ``equiv_*``).

:func:`equiv_netlist` reads both designs, flattens them (``prep -flatten``, memories to
flip-flops), pairs the signals of equal names (``equiv_make``: registers keep their names
through synthesis), proves each pair from its combinational cone and ``seq`` cycles back
(``equiv_simple -undef -seq``), then the remaining pairs by induction over the unproven ones
(``equiv_induct -undef -seq``), and reads ``equiv_status``:

* ``proven``: every paired signal (outputs and registers) is equal in every cycle;
* ``failed``: Yosys could not read or pair the designs (reason: the log's error);
* ``unknown``: some pairs stayed unproven (listed): a real difference or a register
  that the induction cannot pin down with this ``seq``; simulate (``--gate-level``) or
  raise ``seq``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import ToolchainError
from ..flows import tools


def _script(top: str, seq: int, hide_internal: bool = False) -> str:
    # hide_internal: wires whose names hold a "$" (Yosys's own, and the escaped \$N wires
    # that write_verilog gives internal nets) are not paired, only ports and named registers
    hide = ["rename -hide w:*$*"] if hide_internal else []

    def read(name: str, sv: str) -> list[str]:
        return [f"read_verilog {sv}{name}.v", f"prep -flatten -top {top}", "memory_map",
                "opt_clean", "async2sync", *hide, f"rename {top} {name}",
                f"design -stash {name}"]

    return "\n".join([
        *read("gold", "-sv "), *read("gate", ""),
        "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
        "equiv_make gold gate equiv", "hierarchy -top equiv", "opt_clean",
        f"equiv_simple -undef -seq {seq}", f"equiv_induct -undef -seq {seq}",
        "tee -o status.txt equiv_status", ""])


def equiv_netlist(rtl: str | os.PathLike[str], netlist: str | os.PathLike[str], top: str,
                  workdir: str | os.PathLike[str], seq: int = 4,
                  timeout: float = 1800, hide_internal: bool = False) -> dict[str, Any]:
    """``{"status": proven|failed|unknown, "pairs", "proven", "unproven" (names, at most
    20), "seq", "seconds", "reason", "log"}`` of RTL ``rtl`` vs ``netlist``.
    ``hide_internal``: pair only the ports and the named registers (for two RTL texts of
    one design, e.g. a mutant: a changed internal net is not a difference by itself)."""
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rtl, work / "gold.v")
    shutil.copyfile(netlist, work / "gate.v")
    (work / "equiv.ys").write_text(_script(top, seq, hide_internal))
    status = work / "status.txt"
    if status.exists():
        status.unlink()
    t0 = time.monotonic()
    out: dict[str, Any] = {"seq": seq, "log": str(work / "equiv.log")}
    try:
        run = tools.run_tool("yosys", ["-q", "-l", "equiv.log", "equiv.ys"], cwd=work,
                             timeout=timeout, step="equivalence RTL vs netlist", check=False,
                             log_file="equiv.log")
    except ToolchainError as exc:  # timed out
        out.update(status="unknown", reason=str(exc).splitlines()[0],
                   seconds=round(time.monotonic() - t0, 2))
        return out
    out["seconds"] = round(time.monotonic() - t0, 2)
    text = status.read_text() if status.is_file() else ""
    m = re.search(r"Found (\d+) \$equiv cells", text)
    p = re.search(r"Of those cells (\d+) are proven and (\d+) are unproven", text)
    if run.returncode != 0 or m is None:
        log = (work / "equiv.log").read_text(errors="replace") if (work / "equiv.log").exists() \
            else run.output
        err = [ln for ln in log.splitlines() if "ERROR" in ln] or log.splitlines()[-1:]
        out.update(status="failed", reason=(err[0] if err else "yosys failed").strip())
        return out
    pairs = int(m.group(1))
    proven, unproven = (int(p.group(1)), int(p.group(2))) if p else (pairs, 0)
    if "Equivalence successfully proven" in text:
        proven, unproven = pairs, 0
    names = re.findall(r"Unproven \$equiv \S+: (\S+ ?\S*?)_gold", text)
    out.update(pairs=pairs, proven=proven, unproven=unproven,
               unproven_signals=[n.strip() for n in names[:20]])
    if pairs == 0:
        out.update(status="failed", reason="no signals of equal names to pair")
    elif unproven:
        out.update(status="unknown",
                   reason=f"{unproven} of {pairs} signal pairs unproven with seq={seq}")
    else:
        out.update(status="proven", reason=f"all {pairs} signal pairs proven")
    return out
