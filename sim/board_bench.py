"""cocotb bench of the UART board top (``neutnngen synth --board``'s ``board_top``: power-on
reset, UART bridge, the AXIS design as an instance). Host side: ``sim/axis_host.py``
:func:`run_board`.

``NEUTNNGEN_BOARD_BENCH`` names a JSON file: ``bytes`` (sent on ``uart_rx``, 8N1, back to
back), ``divisor`` (clock cycles per bit), ``n_out`` (bytes expected on ``uart_tx``),
``max_cycles`` and ``result``. The bench decodes ``uart_tx`` (mid-bit samples, stop bit
checked) and records the bytes and the LEDs at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, ReadOnly, Timer


@cocotb.test()
async def board_bench(dut) -> None:
    cfg = json.loads(Path(os.environ["NEUTNNGEN_BOARD_BENCH"]).read_text())
    d = int(cfg["divisor"])
    cocotb.start_soon(Clock(dut.clk, 2, unit="step").start())
    dut.uart_rx.value = 1
    got: list[int] = []
    errors: list[str] = []

    async def send():
        await ClockCycles(dut.clk, 40)
        for b in cfg["bytes"]:
            for bit in [0] + [(b >> i) & 1 for i in range(8)] + [1]:
                dut.uart_rx.value = bit
                await ClockCycles(dut.clk, d)

    async def listen():
        while len(got) < int(cfg["n_out"]):
            await FallingEdge(dut.uart_tx)
            await ClockCycles(dut.clk, d + d // 2)
            await ReadOnly()
            v = 0
            for i in range(8):
                v |= int(dut.uart_tx.value) << i
                await ClockCycles(dut.clk, d)
                await ReadOnly()
            if int(dut.uart_tx.value) != 1:
                errors.append(f"byte {len(got)}: stop bit low")
            got.append(v)

    cocotb.start_soon(send())
    done = cocotb.start_soon(listen())
    await First(done, Timer(2 * int(cfg["max_cycles"]), unit="step"))
    await ClockCycles(dut.clk, 1)
    res = {"bytes": got, "errors": errors, "led": int(dut.led.value)}
    Path(cfg["result"]).write_text(json.dumps(res))
    assert not errors, errors[0]
