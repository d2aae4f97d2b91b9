"""What the cocotb benches (``tnn_bench``, ``snn_bench``) share: the clock convention, the
waits on simulator steps, port reads, and the reset-then-load start.

One clock period is :data:`PERIOD` simulator steps, rising edges at odd steps: cycle ``k``
is the time between rising edges ``k`` and ``k + 1``; benches write inputs at falling
edges and evaluate handshakes in the read-only phase of falling edges, when every input of
the cycle is settled. The clock is cocotb's C++ (GPI) clock, so no Python runs per cycle.
"""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly, Timer

PERIOD = 2  # simulator steps per clock cycle
RESET_CYCLES = 4


def now() -> int:
    return int(get_sim_time("step"))


def cycle() -> int:
    """Index of the current cycle (rising edge ``k`` is at step ``2k + 1``)."""
    return (now() - 1) // PERIOD


async def at(step: int) -> None:
    """Read-only phase of simulator step ``step`` (now or later)."""
    if step > now():
        await Timer(step - now(), unit="step")
    await ReadOnly()


async def at_fall(k: int) -> None:
    """Settled values at the falling edge of cycle ``k`` (every input of the cycle written:
    what the rising edge ``k + 1`` will sample)."""
    await at(PERIOD * k + 2)


async def to_fall(k: int) -> None:
    """The falling edge of cycle ``k`` (to write inputs)."""
    await Timer(PERIOD * k + 2 - now(), unit="step")


def high(handle) -> bool:
    return str(handle.value) == "1"


async def reset_and_load(dut, writes) -> int:
    """Start the clock, hold reset for :data:`RESET_CYCLES` cycles, then write ``writes``
    (``(address, data)`` pairs) through ``wload_*``, one per cycle (``wload_en`` low after);
    returns the first cycle after them."""
    Clock(dut.clk, PERIOD, unit="step", impl="gpi").start(start_high=False)
    await Timer(PERIOD * RESET_CYCLES, unit="step")  # falling edge of cycle RESET_CYCLES - 1
    dut.rst.value = 0
    for addr, data in writes:  # one write per cycle, before the first beat
        dut.wload_en.value = 1
        dut.wload_addr.value = int(addr)
        dut.wload_data.value = int(data)
        await Timer(PERIOD, unit="step")
    if writes:
        dut.wload_en.value = 0
    return RESET_CYCLES + len(writes)
