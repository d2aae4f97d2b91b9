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
