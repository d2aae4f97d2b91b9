"""Cycle-accurate verification: simulate generated Verilog (Icarus Verilog or Verilator via
cocotb) and compare every output volley with the reference interpreter (docs/model.md §9,
docs/rtl-contract.md); for ``learn``-mode designs also every weight and LFSR state after
every wave (:func:`run_learning_verification`)."""

from .learn import LearnVerifyResult, run_learning_verification, trained_network
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
    "SIMULATORS", "LearnVerifyResult", "TopInfo", "VerifyResult", "available_simulators", "compare",
    "default_simulator", "describe",
    "find_simulator", "pack_times", "run_learning_verification", "run_verification", "simulator_available",
    "simulator_version", "trained_network", "unpack",
]
