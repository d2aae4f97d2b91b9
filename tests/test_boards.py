"""Board flows (neutnngen/flows/board.py, flows/boards/, `synth --board`): a reduced AXIS
design in the UART board top, placed on the boards' pins, packed into real bitstreams."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from neutnngen.cli import main
from neutnngen.errors import ConfigError
from neutnngen.flows.board import board_names, load_board
from neutnngen.hdl import emit

sys.path.insert(0, str(Path(__file__).parent))
from test_hdl import one_layer, rand_column  # noqa: E402


def small_net():
    return one_layer(rand_column(np.random.default_rng(3), 12, 3, frac=(0.2, 0.4)))


@pytest.fixture(scope="module")
def axis_rtl(tmp_path_factory):
    d = tmp_path_factory.mktemp("rtl")
    emit(small_net(), d / "axis", name="small_axis", interface="axis")
    emit(small_net(), d / "plain", name="small_plain")
    return d


def test_boards_are_listed_and_loaded():
    assert {"hx8k-breakout", "ulx3s"} <= set(board_names())
    b = load_board("hx8k-breakout")
    assert (b.family, b.device, b.package, b.clock_mhz) == ("ice40", "hx8k", "ct256", 12.0)
    assert "set_io uart_rx B10" in b.constraint_text()
    u = load_board("ulx3s")
    assert (u.family, u.clock_mhz) == ("ecp5", 25.0) and 'SITE "G2"' in u.constraint_text()
    with pytest.raises(ConfigError, match="known boards: .*hx8k-breakout"):
        load_board("nexys")


def _run(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_board_refuses_a_stream_design(axis_rtl, tmp_path, capsys):
    rc = main(["synth", str(axis_rtl / "plain" / "small_plain.v"), "--top", "small_plain",
               "--board", "hx8k-breakout", "--out", str(tmp_path)])
    assert rc != 0
    assert "--interface axis" in capsys.readouterr().err
    # a design with 4-byte beats: no board targets by default, and none on request
    emit(small_net(), tmp_path / "wide", name="small_wide", interface="axis", axis_bytes=4)
    w = _run(capsys, ["export", str(tmp_path / "wide"), "--fusesoc", str(tmp_path / "w")])
    assert w["targets"] == ["default", "lint"]
    assert main(["export", str(tmp_path / "wide"), "--fusesoc", str(tmp_path / "w2"),
                 "--boards", "ulx3s"]) == 2
    assert "the board top's UART bridge is byte-wide" in capsys.readouterr().err


@pytest.mark.requires_yosys
def test_ice40_bitstream_on_hx8k_breakout(axis_rtl, tmp_path, capsys):
    d = _run(capsys, ["synth", str(axis_rtl / "axis" / "small_axis.v"), "--top", "small_axis",
                      "--board", "hx8k-breakout", "--out", str(tmp_path / "b")])
    assert d["fits"] and d["timing_met"] and d["fmax_mhz"] > 12
    assert d["utilisation"]["SB_IO"][0] == 8  # clk, uart_rx, uart_tx, 5 LEDs
    assert d["uart_divisor"] == 104 and d["luts"] > 50
    bit = Path(d["bitstream"]).read_bytes()
    assert len(bit) == d["bitstream_bytes"] > 100_000
    assert b"\x7e\xaa\x99\x7e" in bit[:200]  # iCE40 sync word


@pytest.mark.requires_yosys
def test_ecp5_bitstream_on_ulx3s(axis_rtl, tmp_path, capsys):
    d = _run(capsys, ["synth", str(axis_rtl / "axis" / "small_axis.v"), "--top", "small_axis",
                      "--board", "ulx3s", "--device", "12k", "--out", str(tmp_path / "b")])
    assert d["fits"] and d["timing_met"] and d["device"] == "12k"
    assert d["utilisation"]["TRELLIS_IO"][0] == 8 and d["uart_divisor"] == 217
    bit = Path(d["bitstream"]).read_bytes()
    assert b"\xff\xff\xbd\xb3" in bit[:400]  # ECP5 preamble


def _fusesoc(args, cwd):
    pytest.importorskip("fusesoc")
    import subprocess

    exe = Path(sys.executable).parent / "fusesoc"
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_fusesoc_export_core_list_show(axis_rtl, tmp_path, capsys):
    out = tmp_path / "ip"
    d = _run(capsys, ["export", str(axis_rtl / "axis"), "--fusesoc", str(out)])
    assert d["vlnv"] == "neutnngen:tnn:small_axis:0.1.0"
    assert d["targets"] == ["default", "lint", "hx8k-breakout", "ulx3s"]
    listed = (out / "files.txt").read_text().split()
    assert listed[0] == "rtl/small_axis.v" and all((out / f).is_file() for f in listed)
    assert (out / "boards" / "ulx3s" / "ulx3s.lpf").is_file()
    r = _fusesoc(["--cores-root", str(out), "core", "list"], tmp_path)
    assert r.returncode == 0 and "neutnngen:tnn:small_axis:0.1.0" in r.stdout, r.stderr
    r = _fusesoc(["--cores-root", str(out), "core", "show", "neutnngen:tnn:small_axis"],
                 tmp_path)
    assert r.returncode == 0, r.stderr
    for target in ("default", "lint", "hx8k-breakout", "ulx3s"):
        assert f"\n{target}" in r.stdout
    # a stream design has no board targets, and asking for one is a one-line error
    p = _run(capsys, ["export", str(axis_rtl / "plain"), "--fusesoc", str(tmp_path / "p")])
    assert p["targets"] == ["default", "lint"]
    assert main(["export", str(axis_rtl / "plain"), "--fusesoc", str(tmp_path / "q"),
                 "--boards", "ulx3s"]) != 0
    assert "--interface axis" in capsys.readouterr().err


@pytest.mark.requires_sim
def test_fusesoc_runs_the_lint_target(axis_rtl, tmp_path, capsys):
    """The exported core through FuseSoC/Edalize's own Verilator flow (lint-only)."""
    import os

    from neutnngen.flows.tools import tool_env

    out = tmp_path / "ip"
    _run(capsys, ["export", str(axis_rtl / "axis"), "--fusesoc", str(out)])
    env = tool_env()
    if "VERILATOR_ROOT" not in env and not __import__("shutil").which("verilator"):
        pytest.skip("no verilator")
    saved = dict(os.environ)
    try:
        os.environ.update({k: v for k, v in env.items() if k in ("PATH", "VERILATOR_ROOT")})
        r = _fusesoc(["--cores-root", str(out), "run", "--target", "lint",
                      "neutnngen:tnn:small_axis"], tmp_path)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (tmp_path / "build" / "neutnngen_tnn_small_axis_0.1.0" / "lint-verilator").is_dir()


@pytest.mark.requires_sim
def test_board_top_over_uart_in_simulation(tmp_path):
    """The board top that goes into the bitstreams (power-on reset, UART bridge, the AXIS
    design as an instance), simulated from its Verilog with a UART host on its pins."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
    import axis_host
    from test_hdl import rand_volleys

    net = small_net()
    X = rand_volleys(np.random.default_rng(2), 4, net.inputs)
    from neutnngen.flows.sim import simulator_available

    sim = "icarus" if simulator_available("icarus") else None  # compiles in ~0.1 s
    r = axis_host.run_board(net, X, tmp_path, divisor=4, simulator=sim)
    assert r["mismatches"] == 0 and r["packets"] == 4 and not r["errors"], r
    assert r["led"] & 0b1111 == 0  # no packet, overflow or framing error


@pytest.mark.parametrize("extra, expect", [
    (["--baud", "0"], "baud 0"),
    (["--baud", "2500000"], "within 2 %"),
    (["--freq", "-3"], "freq_mhz must be a positive number"),
    (["--device", "99k"], "unknown ice40 device '99k'"),
    (["--target", "ecp5"], "drop --target ecp5"),
])
def test_board_bad_input_is_one_line(axis_rtl, tmp_path, capsys, extra, expect):
    rc = main(["synth", str(axis_rtl / "axis" / "small_axis.v"), "--top", "small_axis",
               "--board", "hx8k-breakout", "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err
    assert rc != 0 and expect in err and "Traceback" not in err
    assert not (tmp_path / "design.json").exists()  # refused before any tool ran


@pytest.mark.requires_yosys
@pytest.mark.requires_sim
def test_run_with_synth_board_writes_a_bitstream(tmp_path, capsys):
    """``synth.board`` in a run: the AXIS design in the board top, placed on the board's
    pins, packed; board.json, the bitstream and the report section; the keys it needs are
    checked before anything runs."""
    ex = Path(__file__).resolve().parents[1] / "examples" / "ucr_italypowerdemand.toml"
    out = tmp_path / "run"
    base = ["run", str(ex), "-q", "--set", "train.epochs=1", "--set", "verify.samples=10",
            "--set", "synth.targets=[]"]
    assert main([*base, "--out", str(out), "--set", "hdl.interface=axis",
                 "--set", "synth.board=hx8k-breakout", "--set", 'synth.targets=["ice40"]']) == 0
    rep = json.loads((out / "report.json").read_text())
    perf, ports = rep["performance"], rep["hdl"]["ports"]
    assert perf["cycles_per_inference"] == ports["axis"]["in_bytes"] + ports["WAVE_CYCLES"]
    assert perf["inferences_per_s_at_fmax"] == pytest.approx(
        perf["fmax_mhz"] * 1e6 / perf["cycles_per_inference"])
    b = rep["board"]
    assert b["board"] == "hx8k-breakout" and b["fits"] and b["timing_met"]
    assert b["freq_mhz"] == load_board("hx8k-breakout").clock_mhz and b["fmax_mhz"] > 12
    bit = out / b["bitstream"]
    assert bit.is_file() and bit.stat().st_size == b["bitstream_bytes"] > 1000
    assert b["in_bytes"] == rep["hdl"]["ports"]["axis"]["in_bytes"] == rep["hdl"]["ports"]["N_IN"]
    assert json.loads((out / "synth" / "board.json").read_text())["luts"] == b["luts"] > 0
    assert "Board bitstream (hx8k-breakout)" in (out / "report.md").read_text()
    assert f"board hx8k-breakout: bitstream {bit}" in capsys.readouterr().out
    for extra, expect in ((["--set", "synth.board=hx8k-breakout"], "set hdl.interface"),
                          (["--set", "synth.board=nope", "--set", "hdl.interface=axis"],
                           "synth.board: unknown board 'nope'; known boards: hx8k-breakout"),
                          (["--set", "synth.board=ulx3s", "--set", "hdl.interface=axis",
                            "--set", "synth.baud=3000000"], "synth.baud: a 25 MHz clock")):
        assert main([*base, "--out", str(tmp_path / "bad"), *extra]) == 2
        assert expect in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()  # refused before anything ran
