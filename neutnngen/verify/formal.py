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


def run_yosys(work: Path, script: str, log: str, timeout: float, step: str,
              out: dict[str, Any]):
    """Run the Yosys script ``work/script`` (log ``work/log``) for a proof: the finished
    process, or ``None`` when it timed out (``out`` then holds ``status: unknown``, the
    reason and ``seconds``). Sets ``out["seconds"]`` either way."""
    t0 = time.monotonic()
    try:
        run = tools.run_tool("yosys", ["-q", "-l", log, script], cwd=work, timeout=timeout,
                             step=step, check=False, log_file=log)
    except ToolchainError as exc:  # timed out
        out.update(status="unknown", reason=str(exc).splitlines()[0],
                   seconds=round(time.monotonic() - t0, 2))
        return None
    out["seconds"] = round(time.monotonic() - t0, 2)
    return run


def yosys_error(work: Path, log: str, run) -> str:
    """The first ``ERROR`` line of the proof's log (else its last line)."""
    text = (work / log).read_text(errors="replace") if (work / log).exists() else run.output
    err = [ln for ln in text.splitlines() if "ERROR" in ln] or text.splitlines()[-1:]
    return (err[0] if err else "yosys failed").strip()


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
    out: dict[str, Any] = {"seq": seq, "log": str(work / "equiv.log")}
    run = run_yosys(work, "equiv.ys", "equiv.log", timeout, "equivalence RTL vs netlist", out)
    if run is None:
        return out
    text = status.read_text() if status.is_file() else ""
    m = re.search(r"Found (\d+) \$equiv cells", text)
    p = re.search(r"Of those cells (\d+) are proven and (\d+) are unproven", text)
    if run.returncode != 0 or m is None:
        out.update(status="failed", reason=yosys_error(work, "equiv.log", run))
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


# the inputs of an input beat that rule 1 of docs/rtl-contract.md holds until the handshake
BEAT_INPUTS = ("in_time", "in_spike", "prox_time", "prox_spike", "learn_en", "label",
               "label_valid")


def stream_env(text: str, top: str) -> tuple[str, str] | None:
    """``(Verilog, module name)`` of a wrapper of ``top`` that makes every input sequence a
    contract-conforming one (docs/rtl-contract.md rule 1): once ``in_valid`` was high
    without ``in_ready`` (and without ``rst``), the design sees ``in_valid`` high and the
    same beat (:data:`BEAT_INPUTS`) again in the next cycle, whatever the wrapper's own
    inputs do; other ports pass through. The wrapped designs' input sequences are exactly
    the conforming ones, so proving two wrapped designs equal proves them equal for every
    source that keeps the contract. ``None`` when ``top`` has no ``in_valid`` / ``in_ready``."""
    from ..flows.verilog_ports import parse_ports

    ports = parse_ports(text, top)
    names = {p.name for p in ports}
    if not {"in_valid", "in_ready", "clk", "rst"} <= names:
        return None
    name = f"{top}_env"
    held = [p for p in ports if p.name in BEAT_INPUTS and p.direction == "input"]
    decl, regs, conn, latch = [], [], [], []
    for p in ports:
        rng = f"[{p.width - 1}:0] " if p.width > 1 else ""
        decl.append(f"  {p.direction} {rng}{p.name};")
        if p.name in ("in_valid", *[h.name for h in held]):
            regs.append(f"  reg {rng}h_{p.name} = 0;")
            regs.append(f"  wire {rng}e_{p.name} = hold ? h_{p.name} : {p.name};")
            latch.append(f"      h_{p.name} <= e_{p.name};")
            conn.append(f"    .{p.name}(e_{p.name})")
        else:
            conn.append(f"    .{p.name}({p.name})")
    text = "\n".join([
        "// contract environment written by neutnngen.verify.formal.stream_env: a beat offered",
        "// without the handshake is offered again, unchanged, in the next cycle (rule 1)",
        f"module {name}({', '.join(p.name for p in ports)});",
        *decl, "  reg hold = 0;", *regs,
        f"  {top} dut (", ",\n".join(conn), "  );",
        "  always @(posedge clk) begin",
        "    hold <= ~rst & e_in_valid & ~in_ready;",
        *latch,
        "  end",
        "endmodule", ""])
    return text, name


def _seq_script(top: str, timeout: float, cut: list[str] | None = None) -> str:
    # cut points: each named register is removed, its output becomes a free input shared by
    # both designs and its next value an output the miter compares (expose -evert-dff on the
    # flip-flops driving those wires)
    cuts = []
    if cut:
        sel = " ".join(f"w:{n}" + (" %u" if i else "") for i, n in enumerate(cut))
        cuts = [f"expose -evert-dff {sel} %ci1"]

    def read(name: str) -> list[str]:
        return [f"read_verilog {name}.v", f"prep -flatten -top {top}", "memory_map",
                "opt_clean", "async2sync", *cuts, f"rename {top} {name}",
                f"design -stash {name}"]

    # ABC runs inside the Yosys `abc` pass on a one-gate dummy module: the script saves
    # that module's netlist, loads the miter's AIGER, proves, and restores the dummy
    abc = ";".join(["write_blif,dummy_keep.blif", "read_aiger,miter.aig", "fold", "strash",
                    "scorr", "strash", "write_aiger,scorr.aig", f"pdr,-T,{int(timeout)}",
                    "write_status,status.txt", "write_cex,cex.txt", "read_blif,dummy_keep.blif"])
    return "\n".join([
        *read("gold"), *read("gate"),
        "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
        "miter -equiv -flatten -make_assert gold gate miter", "hierarchy -top miter",
        "flatten", "opt_clean", "async2sync", "dffunmap", "techmap",
        "opt -fast -nosdff -nodffe", "dffunmap", "abc -g AND", "setundef -zero", "opt_clean",
        "write_aiger -I -B -zinit -no-startoffset miter.aig",
        "design -reset", "read_verilog dummy.v", "synth -top dummy", f"abc -script +{abc}", ""])


def _aiger_outputs(path: Path) -> tuple[int, list[bytes]]:
    """``(latches, output literals)`` of a binary AIGER file (header and output lines)."""
    lines = path.read_bytes().split(b"\n")
    hdr = lines[0].split()
    latches, outs = int(hdr[3]), int(hdr[4])
    return latches, lines[1 + latches:1 + latches + outs]


def seq_equiv(gold: str | os.PathLike[str], gate: str | os.PathLike[str], top: str,
              workdir: str | os.PathLike[str], timeout: float = 120,
              stream_contract: bool = False, cut: list[str] | None = None) -> dict[str, Any]:
    """Sequential equivalence of two designs with the same ports, from power-on, for every
    input sequence (``rst`` is an input like the others, so any reset pattern is covered).

    Yosys builds the miter of ``gold`` and ``gate`` (``miter -equiv``: shared inputs, an
    assertion that every output pair is equal) and writes it as AIGER with the Verilog
    initial values as the initial state (``-zinit``; a register without one starts free).
    ABC, inside the Yosys ``abc`` pass, then proves the assertion: signal correspondence
    (``scorr``: registers and nets merged where induction from the initial state shows them
    equal; when the assertion becomes the constant 0 the designs are equal), otherwise
    property-directed reachability (``pdr -T timeout``). Unlike :func:`equiv_netlist`, the
    registers need not be equal in every cycle: a register that differs for a while after
    reset or inside a wave, unseen at the ports, is fine.

    ``stream_contract``: compare both designs inside :func:`stream_env`, i.e. for every
    input sequence that keeps rule 1 of docs/rtl-contract.md (a design without the stream
    handshake is compared as it is; ``"contract"`` says which was done).

    ``cut``: names of registers (flattened hierarchical names, e.g. the ``signal`` of
    ``names.json`` weights and LFSR states) made cut points: in both designs each such
    register is removed, its value read from one free input they share, and its next
    value compared like an output (``expose -evert-dff``). A proof then covers the real
    designs (by induction over the cycles: equal values give equal next values, so the
    shared free value is the registers' value in both), but a
    counterexample may need register values the real designs never reach: with ``cut``,
    ``differs`` is reported as ``unknown``. It shrinks the problem that pdr sees when the
    difference lives in control logic beside a large weight store.

    ``{"status": proven | differs | unknown | failed, "method": scorr | pdr, "depth"
    (pdr frames, or the counterexample's length), "contract", "seconds", "reason", "log"}``;
    ``differs``: ABC found an input sequence that makes some output differ."""
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    contract = None
    texts = [Path(gold).read_text(), Path(gate).read_text()]
    if stream_contract:
        envs = [stream_env(t, top) for t in texts]
        if envs[0] is not None and envs[1] is not None and envs[0][0] == envs[1][0]:
            texts = [t + "\n" + e[0] for t, e in zip(texts, envs, strict=True)]
            top, contract = envs[0][1], "rule 1 (stream_env)"
            cut = [f"dut.{n}" for n in cut or []]  # the design is the wrapper's `dut`
    (work / "gold.v").write_text(texts[0])
    (work / "gate.v").write_text(texts[1])
    (work / "dummy.v").write_text("module dummy(input a, input b, output y);\n"
                                  "  assign y = a & b;\nendmodule\n")
    (work / "seq.ys").write_text(_seq_script(top, timeout, cut))
    for f in ("status.txt", "cex.txt", "scorr.aig", "miter.aig"):
        (work / f).unlink(missing_ok=True)
    out: dict[str, Any] = {"log": str(work / "seq.log"), "pdr_timeout": timeout,
                           "contract": contract, "cut": len(cut or [])}
    # pdr stops itself after `timeout`; the process limit leaves room for the rest
    run = run_yosys(work, "seq.ys", "seq.log", timeout * 2 + 300, "sequential equivalence",
                    out)
    if run is None:
        return out
    if run.returncode != 0 or not (work / "scorr.aig").is_file():
        out.update(status="failed", reason=yosys_error(work, "seq.log", run))
        return out
    latches, outs = _aiger_outputs(work / "scorr.aig")
    if outs and all(o.strip() == b"0" for o in outs):
        out.update(status="proven", method="scorr", depth=0,
                   reason="signal correspondence reduces the miter's assertion to the "
                          "constant 0 (induction from the initial state)")
        return out
    words = (work / "status.txt").read_text().split() if (work / "status.txt").is_file() else []
    verdict = words[0] if words else ""
    depth = int(words[1]) if len(words) > 1 and words[1].lstrip("-").isdigit() else None
    out.update(method="pdr", depth=depth, latches_after_scorr=latches)
    if verdict == "snl_UNSAT":
        out.update(status="proven", reason=f"pdr: no reachable state breaks the assertion "
                                           f"({depth} frames, {latches} registers after scorr)")
    elif verdict == "snl_SAT" and cut:
        out.update(status="unknown", reason="pdr: a counterexample with the cut registers "
                                            "free (it may need values the designs never "
                                            "reach); not a verdict")
    elif verdict == "snl_SAT":
        if len(words) > 4 and words[4].isdigit():  # "snl_SAT frames engine output depth"
            depth = out["depth"] = int(words[4])
        out.update(status="differs", reason=f"pdr: an input sequence of {depth} cycles from "
                                            "power-on makes an output differ")
    else:
        out.update(status="unknown", reason=f"pdr: no verdict within {timeout:g} s "
                                            f"({depth} frames, {latches} registers after scorr)")
    return out
