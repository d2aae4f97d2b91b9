"""AXI4-Stream top (neutnngen/hdl/axis.py): packing, backpressure both ways, short/long
packets, against the reference interpreter: in Amaranth's simulator and, on the emitted
Verilog, in cocotb (sim/axis_bench.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator

from neutnngen.errors import ConfigError
from neutnngen.hdl import build_top, emit
from neutnngen.hdl.axis import (
    from_beats,
    input_packets,
    pack_volley,
    to_beats,
    unpack_output,
    winner,
)
from neutnngen.hdl.plan import make_plan
from neutnngen.ir import Interpreter
from neutnngen.ir.nodes import NONE

sys.path.insert(0, str(Path(__file__).parent))
from test_hdl import gunpoint_column, one_layer, rand_column, rand_volleys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
import axis_host  # noqa: E402


def small_net(seed: int = 3):
    rng = np.random.default_rng(seed)
    return one_layer(rand_column(rng, 12, 3, frac=(0.2, 0.4)))


def amaranth_axis(net, packets, n_out, seed=0, p_valid=0.7, p_ready=0.6, weights="hardwired",
                  **options):
    """Drive ``packets`` (lists of (byte, last)) into an AxisTop in Amaranth's simulator with
    seeded tvalid/tready gaps until ``n_out`` output packets came (then 2 more waves' time
    to catch a spurious one); returns (output packets, err_short, err_long)."""
    top = build_top(net, interface="axis", weights=weights, **options)
    rng = np.random.default_rng(seed)
    beats = [b for pk in packets for b in pk]
    out: list[list[int]] = []
    flags = {}
    sim = Simulator(top)
    sim.add_clock(1e-6)
    limit = (len(beats) + 4 * top.info["WAVE_CYCLES"] * (n_out + 2)) * 4

    async def bench(ctx):
        cur: list[int] = []
        k = 0
        stalled = None
        tail = None
        for _cycle in range(limit):
            v = k < len(beats) and rng.random() < p_valid
            ctx.set(top.s_axis_tvalid, int(v))
            if v:
                ctx.set(top.s_axis_tdata, beats[k][0])
                ctx.set(top.s_axis_tlast, beats[k][1])
            r = bool(rng.random() < p_ready)
            ctx.set(top.m_axis_tready, int(r))
            took = v and ctx.get(top.s_axis_tready)
            if ctx.get(top.m_axis_tvalid):
                beat = (ctx.get(top.m_axis_tdata), ctx.get(top.m_axis_tlast))
                assert stalled is None or stalled == beat, "m_axis changed while stalled"
                stalled = None if r else beat
                if r:
                    cur.append(beat[0])
                    if beat[1]:
                        out.append(cur)
                        cur = []
            await ctx.tick()
            k += int(bool(took))
            if len(out) >= n_out and tail is None:
                tail = 2 * top.info["WAVE_CYCLES"] + 4 * (net.outputs + 1)
            if tail is not None:
                tail -= 1
                if tail <= 0:
                    break
        flags["short"] = ctx.get(top.err_short)
        flags["long"] = ctx.get(top.err_long)

    sim.add_testbench(bench)
    sim.run()
    return out, flags["short"], flags["long"]


def expected(net, X, tb_out, prox=None):
    """The interpreter's output packets (times, winner) for ``X`` and proximal lines
    ``prox`` (``{layer: [N, lines]}``)."""
    Y = Interpreter(net).forward(X, proximal=prox)
    return [[int(t) for t in y] + [winner(y)] for y in Y]


def decode(packets, tb_out):
    res = []
    for pk in packets:
        t, w = unpack_output(pk, tb_out)
        res.append(t + [w])
    return res


def as_packets(X, tb):
    return [[(b, int(i == len(x) - 1)) for i, b in enumerate(pack_volley(x, tb))] for x in X]


def test_pack_and_winner_helpers():
    assert pack_volley([3, NONE, 0], 3) == [0x83, 0x00, 0x80]
    assert unpack_output([0x82, 0x00, 0x81, 2], 4) == ([2, -1, 1], 2)
    assert unpack_output([0x00, 0xFF], 4) == ([-1], -1)
    assert winner([2, -1, 1, 1]) == 2 and winner([-1, -1]) == -1 and winner([0, 0]) == 0


@pytest.mark.parametrize("weights, arch", [("hardwired", "serial"), ("register", "serial"),
                                           ("hardwired", "parallel")])
def test_axis_amaranth_matches_interpreter_under_backpressure(weights, arch):
    net = small_net()
    rng = np.random.default_rng(5)
    X = rand_volleys(rng, 12, net.inputs)
    tb_out = build_top(net, interface="axis").info["TB_OUT"]
    out, es, el = amaranth_axis(net, as_packets(X, 3), len(X), seed=1, weights=weights,
                                architecture=arch)
    assert decode(out, tb_out) == expected(net, X, tb_out)
    assert (es, el) == (0, 0)
    assert any(r[-1] >= 0 for r in expected(net, X, tb_out))


def test_axis_winner_byte_with_ties():
    """No inhibition: several neurons fire, some at the same time; the winner is the
    earliest, the lowest index on ties."""
    net = one_layer(rand_column(np.random.default_rng(4), 10, 5, frac=(0.15, 0.3), inh="none"))
    X = rand_volleys(np.random.default_rng(4), 16, net.inputs)
    tb_out = build_top(net, interface="axis").info["TB_OUT"]
    want = expected(net, X, tb_out)
    ties = sum(1 for r in want if r[-1] >= 0 and r[:-1].count(r[r[-1]]) > 1)
    assert ties >= 2
    out, _, _ = amaranth_axis(net, as_packets(X, 3), len(X), seed=7)
    assert decode(out, tb_out) == want


def test_axis_short_and_long_packets_are_dropped_and_flagged():
    net = small_net()
    rng = np.random.default_rng(6)
    X = rand_volleys(rng, 4, net.inputs)
    good = as_packets(X, 3)
    n = net.inputs
    short = [(0x81, 0)] * (n - 3) + [(0x81, 1)]
    long_ = [(0x80, 0)] * (n + 5) + [(0x80, 1)]
    tb_out = build_top(net, interface="axis").info["TB_OUT"]
    out, es, el = amaranth_axis(net, [good[0], short, good[1], long_, good[2], good[3]], 4,
                                 seed=2)
    assert decode(out, tb_out) == expected(net, X, tb_out)
    assert (es, el) == (1, 1)
    out, es, el = amaranth_axis(net, [short, good[0]], 1, seed=3)
    assert decode(out, tb_out) == expected(net, X[:1], tb_out) and (es, el) == (1, 0)


@pytest.mark.parametrize("mode, arch", [("gate", "serial"), ("enable", "parallel"),
                                        ("sum", "pipelined")])
def test_axis_carries_proximal_lines_after_the_inputs(mode, arch):
    """Proximal lines (gate / sum times, enable bits) travel in the input packet after the
    input lines: N_IN + N_PROX bytes, an enable line as bit 7; the outputs equal the
    interpreter's with the same proximal lines."""
    rng = np.random.default_rng(1)
    net = one_layer(rand_column(rng, 8, 3, mode=mode, P=2, frac=(0.3, 0.6)))
    top = build_top(net, interface="axis", architecture=arch)
    P = top.plan.N_PROX
    assert P > 0 and top.info["axis"]["in_bytes"] == net.inputs + P
    assert top.info["axis"]["proximal_bytes"] == P
    enable = mode == "enable"
    assert top.info["axis"]["enable_bytes"] == (list(range(net.inputs, net.inputs + P))
                                               if enable else [])
    X = rand_volleys(rng, 12, net.inputs)
    prox = ((rng.random((12, P)) < 0.6).astype(np.int64) if enable
            else rand_volleys(rng, 12, P, silent=0.3))
    pks = input_packets(top.plan, X, {0: prox})
    assert pks[0] == pack_volley(X[0], 3, prox[0], [enable] * P)
    assert all(len(pk) == net.inputs + P for pk in pks)
    packets = [[(b, int(i == len(pk) - 1)) for i, b in enumerate(pk)] for pk in pks]
    out, es, el = amaranth_axis(net, packets, len(X), seed=2, architecture=arch)
    want = expected(net, X, 3, {0: prox})
    assert decode(out, 3) == want
    assert (es, el) == (0, 0)
    # the proximal lines matter: without them (enable lines set, times silent) the
    # interpreter's outputs differ on some wave
    assert expected(net, X, 3) != want


@pytest.mark.parametrize("mode", ["enable", "gate", None])
def test_the_verifiers_packer_agrees_with_the_generators(mode):
    """``neutnngen.verify.axis.packets`` is written from the contract, apart from
    ``hdl.axis.input_packets``: both give the same bytes, with default and given proximal
    lines."""
    from neutnngen.verify.axis import packets

    rng = np.random.default_rng(8)
    kw = {"mode": mode, "P": 2} if mode else {}
    net = one_layer(rand_column(rng, 6, 3, **kw))
    X = rand_volleys(rng, 40, net.inputs)
    plan = make_plan(net, name="t")
    assert packets(net, X) == input_packets(plan, X)
    if mode:
        P = net.layers[0].columns[0].proximal_inputs
        given = {0: (rng.integers(-1, 2, (40, P)) if mode == "enable"
                     else rand_volleys(rng, 40, P))}
        assert packets(net, X, given) == input_packets(plan, X, given)
        assert packets(net, X, given) != packets(net, X)


def wide_packets(packets, nb):
    """Byte packets -> ``nb``-byte beats [(tdata, tlast)]."""
    out = []
    for pk in packets:
        words = to_beats(pk, nb)
        out.append([(w, int(i == len(words) - 1)) for i, w in enumerate(words)])
    return out


@pytest.mark.parametrize("nb, arch", [(2, "serial"), (4, "parallel"), (16, "pipelined")])
def test_wide_axis_beats_match_the_interpreter(nb, arch):
    """``axis_bytes = nb``: packets in ``nb``-byte beats (the last padded) under gaps on
    both sides, a short and a long packet among them; the outputs (times and winner) equal
    the interpreter's, ties included."""
    rng = np.random.default_rng(4)
    net = one_layer(rand_column(rng, 13, 5, frac=(0.3, 0.6), inh="none"))
    X = rand_volleys(rng, 14, net.inputs)
    want = expected(net, X, 4)
    assert len({w[-1] for w in want}) == 3  # several winners, and ties on the earliest time
    fired = [sorted(t for t in w[:-1] if t >= 0) for w in want]
    assert sum(len(f) > 1 and f[0] == f[1] for f in fired) >= 3
    top = build_top(net, interface="axis", axis_bytes=nb, architecture=arch)
    ax = top.info["axis"]
    assert ax["tdata_bits"] == 8 * nb and ax["in_beats"] == -(-13 // nb)
    assert ax["out_beats"] == -(-6 // nb) and len(top.s_axis_tdata) == 8 * nb
    tb_out = top.info["TB_OUT"]
    good = wide_packets([pack_volley(x, 3) for x in X], nb)
    n = len(good[0])
    pk = list(good)
    if n > 1:  # a short packet (last on its first beat) and a long one (no last at the end)
        pk[1:1] = [[(0xFFFF, 1)], [(0x8181, 0)] * (n + 1) + [(0, 1)]]
    out, es, el = amaranth_axis(net, pk, len(X), seed=3, architecture=arch, axis_bytes=nb)
    got = decode([from_beats(o, nb, net.outputs + 1) for o in out], tb_out)
    assert got == expected(net, X, tb_out)
    assert (es, el) == ((1, 1) if n > 1 else (0, 0))
    assert len(out[0]) == ax["out_beats"]


def test_wide_axis_refusals():
    net = small_net()
    with pytest.raises(ConfigError, match="axis_bytes=3; accepted: 1, 2, 4"):
        build_top(net, interface="axis", axis_bytes=3)
    with pytest.raises(ConfigError, match="the .stream. interface has none"):
        build_top(net, axis_bytes=4)
    assert to_beats([1, 2, 3], 2) == [0x0201, 0x03]
    assert from_beats([0x0201, 0x03], 2, 3) == [1, 2, 3]


def test_pack_volley_with_proximal_lines():
    assert pack_volley([2, -1], 3, [5, -1, 0, 3], [False, False, True, True]) == \
        [0x82, 0x00, 0x85, 0x00, 0x00, 0x80]
    with pytest.raises(ConfigError, match="2 flags for 3 proximal lines"):
        pack_volley([1], 3, [1, 2, 3], [True, False])


def test_axis_refuses_what_it_cannot_pack():
    with pytest.raises(ConfigError, match="learn"):
        build_top(small_net(), weights="learn", interface="axis")
    with pytest.raises(ConfigError, match="interface"):
        build_top(small_net(), interface="axi")


def test_axis_emit_is_deterministic_and_names_packing(tmp_path):
    net = small_net()
    a = emit(net, tmp_path / "a", interface="axis", name="kx")
    b = emit(net, tmp_path / "b", interface="axis", name="kx")
    va = a.verilog.read_text()
    assert va == b.verilog.read_text()
    assert "module kx(" in va and "s_axis_tready" in va and "m_axis_tlast" in va
    assert "module kx__core" in va
    doc = json.loads(a.names.read_text())
    assert doc["top"]["interface"] == "axis"
    assert doc["top"]["axis"]["in_bytes"] == net.inputs
    assert doc["top"]["axis"]["out_bytes"] == net.outputs + 1
    plain = emit(net, tmp_path / "c", name="kx")
    assert "s_axis_tdata" not in plain.verilog.read_text()


@pytest.mark.requires_sim
def test_axis_verilog_cocotb_gunpoint_sized(tmp_path):
    """Emitted Verilog of a 150x2 column (GunPoint shape) in cocotb: seeded gaps on both
    sides, a short and a long packet first; 0 mismatches against the interpreter."""
    net = gunpoint_column()
    rng = np.random.default_rng(12)
    X = rand_volleys(rng, 20, net.inputs)
    res = axis_host.run_axis(net, X, tmp_path, seed=4, bad_packets=True)
    assert res["mismatches"] == 0, res
    assert res["packets"] == len(X) and res["err_short"] == 1 and res["err_long"] == 1
    assert res["stalls_in"] > 0 and res["stalls_out"] > 0


@pytest.mark.requires_sim
@pytest.mark.parametrize("nb, arch, buffered, lines", [
    (4, "serial", False, 10), (16, "serial", True, 10), (1, "parallel", True, 30),
    (4, "parallel", True, 10), (2, "parallel", False, 10)])
def test_wide_axis_verilog_with_enable_lines_at_full_rate_and_with_gaps(tmp_path, nb, arch,
                                                                       buffered, lines):
    """``axis_bytes`` and ``axis_buffer`` in the emitted Verilog (cocotb): enable bits in
    the packet after the inputs, bad packets, gaps both sides; then at full rate a volley
    every ``in_beats + WAVE_CYCLES`` cycles, or with the buffer ``max(in_beats,
    WAVE_CYCLES) + 1`` (the report's ``axis_cycles``), input beats fewer or more than the
    wave's cycles."""
    from neutnngen.pipeline.stages.hardware import axis_cycles
    from neutnngen.verify.axis import verify_axis

    rng = np.random.default_rng(3)
    net = one_layer(rand_column(rng, lines, 3, mode="enable", P=1, frac=(0.3, 0.6)))
    X = rand_volleys(rng, 16, net.inputs)
    P = net.layers[0].columns[0].proximal_inputs
    en = (rng.random((16, P)) < 0.5).astype(np.int64)
    r = emit(net, tmp_path / "rtl", interface="axis", axis_bytes=nb, axis_buffer=buffered,
             name="wide", architecture=arch)
    ax = json.loads(r.names.read_text())["top"]["axis"]
    assert ax.get("in_beats", ax["in_bytes"]) == -(-(lines + P) // nb)
    assert ax["tdata_bits"] == 8 * nb and ax.get("buffered", False) == buffered
    res = verify_axis(net, r.verilog, r.names, X, tmp_path / "gaps", seed=5, bad_packets=True,
                      prox={0: en})
    assert res["mismatches"] == 0 and res["packets"] == 16, res
    assert [res["err_short"], res["err_long"]] == res["expected_flags"] \
        == [int(-(-(lines + P) // nb) > 1), 1]  # a one-beat packet cannot be short
    cycles = []
    for n in (8, 24):
        d = verify_axis(net, r.verilog, r.names, rand_volleys(rng, n, net.inputs),
                        tmp_path / f"full{n}", p_valid=1, p_ready=1)
        assert d["mismatches"] == 0 and d["stalls_in"] > 0
        cycles.append(d["cycles"])
    assert (cycles[1] - cycles[0]) / 16 == axis_cycles(ax, r.info["WAVE_CYCLES"])


@pytest.mark.requires_sim
def test_axis_verilog_cocotb_with_enable_lines(tmp_path):
    """Emitted Verilog of a column with enable-mode proximal lines in cocotb: the enable bits
    travel in the input packets after the input lines (and a short and a long packet of
    that length first); 0 mismatches against the interpreter with the same enable bits."""
    rng = np.random.default_rng(3)
    net = one_layer(rand_column(rng, 10, 3, mode="enable", P=1, frac=(0.3, 0.6)))
    X = rand_volleys(rng, 16, net.inputs)
    P = net.layers[0].columns[0].proximal_inputs
    en = (rng.random((16, P)) < 0.5).astype(np.int64)
    res = axis_host.run_axis(net, X, tmp_path, seed=5, bad_packets=True, prox={0: en})
    assert res["mismatches"] == 0, res
    assert res["packets"] == len(X) and res["err_short"] == 1 and res["err_long"] == 1
    assert (Interpreter(net).forward(X, proximal={0: en})
            != Interpreter(net).forward(X)).any()  # the enable bits mattered


def uart_roundtrip(net, X, divisor=4, gap_bits=0):
    """UartBridge + AxisTop in Amaranth's simulator: the volleys go in as UART frames on
    ``rx`` (``divisor`` cycles per bit, back to back plus ``gap_bits`` idle bits), the frames
    on ``tx`` are decoded; returns (bytes received by the host, overflow, frame_err)."""
    from amaranth.hdl import Module
    from amaranth.lib import wiring as w

    from neutnngen.hdl.uart import UartBridge

    core = build_top(net, interface="axis")
    bridge = UartBridge(divisor, net.inputs)

    class Both(w.Component):
        def __init__(self):
            super().__init__({"rx": w.In(1, init=1), "tx": w.Out(1, init=1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.core = core
            m.submodules.bridge = bridge
            m.d.comb += [
                core.s_axis_tdata.eq(bridge.m.payload.data),
                core.s_axis_tlast.eq(bridge.m.payload.last),
                core.s_axis_tvalid.eq(bridge.m.valid), bridge.m.ready.eq(core.s_axis_tready),
                bridge.s.payload.data.eq(core.m_axis_tdata),
                bridge.s.payload.last.eq(core.m_axis_tlast),
                bridge.s.valid.eq(core.m_axis_tvalid), core.m_axis_tready.eq(bridge.s.ready),
                bridge.rx.eq(self.rx), self.tx.eq(bridge.tx)]
            return m

    dut = Both()
    tb = core.info["TB_IN"]
    bits: list[int] = [1] * 20
    for x in X:
        for b in pack_volley(x, tb):
            bits += [0] + [(b >> i) & 1 for i in range(8)] + [1] + [1] * gap_bits
    n_bytes = len(X) * (net.outputs + 1)
    got: list[int] = []
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    limit = len(bits) * divisor + len(X) * (core.info["WAVE_CYCLES"] + 40 * divisor) + 2000

    async def drive(ctx):
        for b in bits:
            ctx.set(dut.rx, b)
            await ctx.tick().repeat(divisor)
        ctx.set(dut.rx, 1)

    async def listen(ctx):
        cyc = 0
        while len(got) < n_bytes and cyc < limit:
            if ctx.get(dut.tx) == 0:  # start bit: sample the middle of each bit
                await ctx.tick().repeat(divisor + divisor // 2)
                v = 0
                for i in range(8):
                    v |= ctx.get(dut.tx) << i
                    await ctx.tick().repeat(divisor)
                assert ctx.get(dut.tx) == 1, "stop bit"
                got.append(v)
                cyc += 9 * divisor + divisor // 2
            await ctx.tick()
            cyc += 1

    sim.add_testbench(drive, background=True)
    sim.add_testbench(listen)
    sim.run()
    return got, bridge


def test_uart_bridge_roundtrip_matches_interpreter():
    net = small_net(seed=8)
    rng = np.random.default_rng(8)
    X = rand_volleys(rng, 5, net.inputs)
    got, _ = uart_roundtrip(net, X, divisor=4)
    tb_out = build_top(net, interface="axis").info["TB_OUT"]
    k = net.outputs + 1
    packets = [got[i:i + k] for i in range(0, len(got), k)]
    assert decode(packets, tb_out) == expected(net, X, tb_out)


def test_uart_divisor_and_board_verilog():
    from neutnngen.hdl.uart import board_verilog, uart_divisor

    assert uart_divisor(12e6, 115200) == 104 and uart_divisor(25e6, 115200) == 217
    with pytest.raises(ConfigError, match="baud"):
        uart_divisor(1e6, 460800)
    v = board_verilog("gp_axis", 150, 104, name="board_top", leds=5)
    assert "module board_top(" in v and "gp_axis core" in v
    for port in ("input clk", "input uart_rx", "output uart_tx", "output [4:0] led"):
        assert port in v


@pytest.mark.requires_sim
def test_cli_verify_runs_the_axis_bench_on_an_axis_design(tmp_path, capsys):
    """``neutnngen verify`` on a ``compile --interface axis`` folder drives the AXIS top
    (gaps both sides, bad packets), passes on the design of its IR, fails with the volley
    and both packets on a design compiled from other weights, and refuses the checks that
    need the stream ports."""
    from neutnngen.cli import main
    from neutnngen.ir import save

    net = small_net()
    save(net, tmp_path / "net.json")
    assert main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "rtl"),
                 "--interface", "axis"]) == 0
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(60, 12)), y=rng.integers(0, 2, 60))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nkind = "files"\ntrain = "d.npz"\ntest = ""\n'
                   'test_fraction = 0.5\n[network]\ntimeres = 3\n')
    base = ["verify", str(tmp_path / "net.json"), "--rtl", str(tmp_path / "rtl"),
            "--config", str(cfg), "--out", str(tmp_path / "v")]
    capsys.readouterr()
    assert main([*base, "--bad-packets", "--axis-seed", "3", "--waves"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["interface"] == "axis" and d["mismatches"] == 0 and d["packets"] == d["waves"] == 30
    assert Path(d["waveform"]).is_file() and "s_axis_tready" in Path(d["waveform"]).read_text()
    assert (d["err_short"], d["err_long"]) == (1, 1) and d["stalls_in"] and d["stalls_out"]
    # the same shape, other weights: the bench must see the difference
    other = next(n for n in (small_net(s) for s in range(4, 40))
                 if (Interpreter(n).forward(X := np.asarray(_stimulus(cfg)))
                     != Interpreter(net).forward(X)).any())
    save(other, tmp_path / "other.json")
    base[1] = str(tmp_path / "other.json")
    Path(d["waveform"]).unlink()
    assert main(base) == 3  # a verification failure, rerun once traced
    err = capsys.readouterr().err
    assert "output packets differ from the interpreter; first at volley" in err, err
    assert "(waveform: " in err and Path(err.split("(waveform: ")[1].split(")")[0]).is_file()
    for flag in (["--mutants", "2"], ["--gate-level"], ["--random-weights", "1"]):
        assert main([*base, *flag]) == 2
        assert f"{flag[0]} on the AXI4-Stream design" in capsys.readouterr().err
    rc = main(["compile", str(tmp_path / "net.json"), "--out", str(tmp_path / "x"),
               "--axis-buffer"])
    assert rc == 2 and "--axis-buffer buffers the AXI4-Stream" in capsys.readouterr().err
    assert main([*base, "--p-valid", "0"]) == 2
    assert "--p-valid 0.0: expected a chance per cycle in (0, 1]" in capsys.readouterr().err


def test_axis_failure_names_every_problem():
    from neutnngen.verify.axis import failure

    ok = {"mismatches": 0, "waves": 5, "protocol_errors": [], "err_short": 0, "err_long": 0}
    assert failure(ok, bad_packets=False) is None
    assert failure(ok, bad_packets=True) == "short/long packet flags 0/0; expected 1/1"
    bad = {**ok, "mismatches": 2, "first": {"volley": 3, "got": [1, -1, 0],
                                            "expected": [2, -1, 0]},
           "protocol_errors": ["cycle 9: m_axis changed"], "err_short": 1, "err_long": 1}
    why = failure(bad, bad_packets=False)
    assert why.startswith("2 of 5 output packets differ from the interpreter; first at "
                          "volley 3: got [1, -1, 0]")
    assert "AXI4-Stream protocol: cycle 9: m_axis changed" in why
    assert why.endswith("short/long packet flags 1/1; expected 0/0")


def _stimulus(cfg):
    from neutnngen.pipeline import load_config, prepare_data, verify_stimulus

    c = load_config(str(cfg), [])
    return verify_stimulus(c, prepare_data(c))


@pytest.mark.requires_sim
def test_run_with_hdl_interface_axis_builds_and_verifies_the_axis_top(tmp_path, capsys):
    """``hdl.interface = "axis"`` in a run: the compiled top has the AXIS ports, the verify
    stage drives them through the AXIS bench (bad packets flagged), the report says so; a
    learn-mode config with it is refused before anything runs."""
    from neutnngen.cli import main

    ex = Path(__file__).resolve().parents[1] / "examples" / "ucr_italypowerdemand.toml"
    out = tmp_path / "run"
    assert main(["run", str(ex), "--out", str(out), "-q", "--set", "train.epochs=1",
                 "--set", "verify.samples=30", "--set", "synth.targets=[]",
                 "--set", "hdl.weights=register", "--set", "hdl.interface=axis"]) == 0
    rep = json.loads((out / "report.json").read_text())
    v = rep["verify"]
    assert v["interface"] == "axis" and v["mismatches"] == 0 and v["packets"] == v["waves"] == 30
    assert (v["err_short"], v["err_long"]) == (1, 1) and not v["protocol_errors"]
    assert rep["hdl"]["interface"] == "axis" and rep["hdl"]["ports"]["interface"] == "axis"
    assert "s_axis_tready" in (out / "rtl" / "neutnngen_top.v").read_text()
    md = (out / "report.md").read_text()
    assert "AXIS (cocotb" in md and "short / long packet dropped and flagged | 1 / 1" in md
    capsys.readouterr()
    assert main(["run", str(ex), "--out", str(tmp_path / "learn"), "-q",
                 "--set", "hdl.weights=learn", "--set", "hdl.interface=axis"]) == 2
    assert "hdl.interface='axis' packs inference volleys only" in capsys.readouterr().err
    assert not (tmp_path / "learn" / "rtl").exists()
    # 4-byte beats: the same run, verified through the wide top
    assert main(["run", str(ex), "--out", str(tmp_path / "wide"), "-q", "--set",
                 "train.epochs=1", "--set", "verify.samples=30", "--set", "synth.targets=[]",
                 "--set", "hdl.interface=axis", "--set", "hdl.axis_bytes=4",
                 "--set", "hdl.axis_buffer=true"]) == 0
    rep = json.loads((tmp_path / "wide" / "report.json").read_text())
    assert rep["hdl"]["ports"]["axis"]["tdata_bits"] == 32 and rep["verify"]["mismatches"] == 0
    assert rep["hdl"]["ports"]["axis"]["buffered"] is True
    assert rep["verify"]["beat_bytes"] == 4 and rep["verify"]["err_long"] == 1
    for extra, expect in (
            (["--set", "hdl.axis_bytes=3", "--set", "hdl.interface=axis"],
             "hdl.axis_bytes=3; accepted: 1, 2, 4"),
            (["--set", "hdl.axis_bytes=4"], "set hdl.interface = \"axis\" too"),
            (["--set", "hdl.axis_buffer=true"], "buffers the AXI4-Stream top's input"),
            (["--set", "hdl.axis_bytes=4", "--set", "hdl.interface=axis",
              "--set", "synth.board=hx8k-breakout"], "byte-wide UART bridge")):
        capsys.readouterr()
        assert main(["run", str(ex), "--out", str(tmp_path / "bad"), "-q", *extra]) == 2
        assert expect in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_architecture_table_shows_cycles_through_the_axis_top():
    from neutnngen.pipeline.stages.hardware import axis_cycles
    from neutnngen.report.render import _architectures

    ax = {"in_bytes": 150, "in_beats": 10, "beat_bytes": 16}
    assert axis_cycles(ax, 18) == 28 and axis_cycles({**ax, "buffered": True}, 18) == 19
    assert axis_cycles({"in_bytes": 150}, 1) == 151
    rows = {"serial": {"wave_cycles": 612, "cycles_per_inference": 622, "latency_cycles": 612,
                       "transistors": 10, "flip_flops": 1, "transistor_cycles": 6220},
            "pipelined": {"unavailable": "no"}}
    md = _architectures(rows)
    assert "cycles / inference (AXI4-Stream top)" in md and "| serial | 612 | 622 |" in md
    assert "| pipelined | - | - | - | - | - | no |" in md
    plain = _architectures({"serial": {**rows["serial"], "cycles_per_inference": 612}})
    assert "AXI4-Stream" not in plain and "| serial | 612 | 612 | 10 |" in plain
