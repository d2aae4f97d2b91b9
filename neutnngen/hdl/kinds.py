"""The HDL stage-kind registry: how each kind of IR stage is lowered to hardware.

A generated design is a chain of *stages* joined by valid/ready streams
(``docs/rtl-contract.md``). Every IR stage is lowered through the :class:`HdlKind` registered
under its kind name (:func:`stage_kind`):

* ``plan(stage, ctx)``: the static parameters of the stage, plain Python (``ctx`` is the
  :class:`~neutnngen.hdl.plan.PlanContext` of the design being planned);
* ``build(plan, stage, learn_ctx)``: an Amaranth ``wiring.Component`` with ``i: In(stream)``
  and ``o: Out(stream)`` (payload layouts from :mod:`neutnngen.hdl.stream`) plus optional side
  ports: ``wload`` (weight writes), and in ``learn`` mode ``lw_busy``, ``rd_req``,
  ``rd_line``, ``rd_sel`` (see :class:`neutnngen.hdl.stages.layer.LayerStage`);
* ``timing(plan, spec)``: ``(initiation interval, latency)`` in cycles at full rate
  (the top's ``WAVE_CYCLES`` is the largest interval, ``LATENCY`` the sum of latencies);
* ``transform(m, time, spec)`` (only for combinational volley transforms such as
  ``retime``): the per-line conversion; the top fuses a transform that follows a stage
  into that stage's output conversion (before its output register) and builds the kind's
  (combinational) stream stage only for one that precedes the first stage;
* ``names(plan, spec)``: the stage's contribution to ``names.json`` (what the verifier
  can observe: ``signals``, ``times``, ``weights``, ``rng``, ``outputs`` sections, and
  ``stage``: extra fields of its entry in ``names.json["stages"]``, e.g. ``done``).

An IR stage of a kind with no entry here is a :class:`~neutnngen.errors.ConfigError` naming
the kind and the kinds that have one, never a silent fallback. Adding a kind: a module under
``neutnngen/hdl/stages/`` with its ``KIND`` record, and its name in :data:`BUILTIN` (the
end of this file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class HdlKind:
    name: str
    plan: Callable[[Any, Any], Any]
    timing: Callable[[Any, Any], tuple[int, int]]
    build: Callable[..., Any]
    transform: Callable[..., Any] | None = None
    names: Callable[[Any, Any], dict] | None = None


_KINDS: dict[str, HdlKind] = {}


def register(kind: HdlKind) -> HdlKind:
    if kind.name in _KINDS:
        raise ValueError(f"HDL kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def known_kinds() -> tuple[str, ...]:
    _builtins()
    return tuple(sorted(_KINDS))


def hdl_kind(name: str) -> HdlKind:
    """The registered lowering of stage kind ``name``; ``ConfigError`` when there is none."""
    _builtins()
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigError(f"stage kind {name!r} has no HDL lowering; kinds with one: "
                          f"{', '.join(known_kinds())}") from None


def stage_kind(stage: object) -> str:
    """Kind name of an IR stage. The one place that maps IR stage types to kind names (to
    become ``neutnngen.ir.kinds.kind_of(stage).name`` once the IR has its registry)."""
    from ..ir.nodes import Layer, Retime

    for cls, name in ((Layer, "layer"), (Retime, "retime")):
        if type(stage) is cls:
            return name
    raise ConfigError(f"stage {getattr(stage, 'name', '?')!r} is a {type(stage).__name__}, "
                      f"not an IR stage kind; known kinds: {', '.join(known_kinds())}")


# ---------------------------------------------------------------------- registration
BUILTIN = ("layer", "retime")
"""The built-in kinds: module ``neutnngen.hdl.stages.<name>`` defines ``KIND``. Adding a
kind = adding its module and its name here."""

_loaded = False


def _builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in BUILTIN:
        register(importlib.import_module(f"{__package__}.stages.{name}").KIND)
