"""Cycle-accurate verification: simulate generated Verilog (Icarus Verilog or Verilator via
cocotb) and compare every output volley with the reference interpreter (SPEC §9,
docs/rtl-contract.md)."""

from .protocol import TopInfo, compare, describe, pack_times, unpack
from .run import (
    SIMULATORS,
    VerifyResult,
    available_simulators,
    default_simulator,
    find_simulator,
    run_verification,
    simulator_available,
    simulator_version,
)

__all__ = [
    "SIMULATORS", "TopInfo", "VerifyResult", "available_simulators", "compare",
    "default_simulator", "describe",
    "find_simulator", "pack_times", "run_verification", "simulator_available",
    "simulator_version", "unpack",
]
