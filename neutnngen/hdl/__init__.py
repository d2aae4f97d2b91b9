"""HDL generator: a verified IR -> Amaranth components -> Verilog / RTLIL + names.json.

Public API (used by the driver and the verifier):

* :func:`build_top` -> :class:`Top` (an Amaranth ``wiring.Component``; ``Top.info`` is the
  ``"top"`` entry of ``names.json``, with ``WAVE_CYCLES`` and ``LATENCY``);
* :func:`emit` -> :class:`EmitResult` (``NAME.v``, ``NAME.il``, ``names.json``, written
  atomically and deterministically);
* :func:`simulate` -> output volleys ``[N, outputs]`` from Amaranth's simulator.

The port map and timing are ``docs/rtl-contract.md``; the microarchitecture is described in
:mod:`neutnngen.hdl.plan`.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..ir.nodes import Network
from .emit import EmitResult, emit, names_json
from .plan import WEIGHT_MODES, Plan, make_plan
from .sim import simulate

OPTIONS = ("mux_levels",)
from .top import Top


def build_top(net: Network, weights: str = "hardwired", name: str = "neutnngen_top",
              **options) -> Top:
    """The top-level component of ``net`` (verified first: raises ``IRValidationError``).
    ``weights``: ``hardwired`` | ``register``; an unsupported value raises ``ConfigError``.
    ``options``: ``mux_levels`` (2:1 multiplexer levels per pipeline stage, default 4)."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"unknown HDL option(s) {', '.join(unknown)}; accepted: "
                          f"weights, name, {', '.join(OPTIONS)}")
    return Top(make_plan(net, weights=weights, name=name, **options))


__all__ = ["WEIGHT_MODES", "EmitResult", "Plan", "Top", "build_top", "emit", "names_json",
           "simulate"]
