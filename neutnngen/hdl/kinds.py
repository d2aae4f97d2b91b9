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
the kind and the kinds that have one, never a silent fallback. The registry is a
:class:`~neutnngen.ir.kinds.KindRegistry` like every other level's: the record of a built-in
kind is ``KIND`` of ``neutnngen.hdl.stages.<name>`` for every name in
:data:`neutnngen.ir.kinds.BUILTIN` (loaded lazily), plugins and tests add theirs with
:func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..ir.kinds import KindRegistry, UnknownStageKind, kind_named, kind_of


@dataclass(frozen=True)
class HdlKind:
    name: str
    plan: Callable[[Any, Any], Any]
    timing: Callable[[Any, Any], tuple[int, int]]
    build: Callable[..., Any]
    transform: Callable[..., Any] | None = None
    names: Callable[[Any, Any], dict] | None = None


REGISTRY: KindRegistry[HdlKind] = KindRegistry(
    "HDL", "neutnngen.hdl.stages", lambda k: kind_named(k.name).node, error=ConfigError)


def register(kind: HdlKind, *, replace: bool = False) -> HdlKind:
    """Register the HDL lowering of an IR stage kind at run time (its IR kind must exist)."""
    if not isinstance(kind, HdlKind):
        raise TypeError(f"register() takes an HdlKind, got {type(kind).__name__}")
    kind_named(kind.name)
    return REGISTRY.register(kind, replace=replace)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def known_kinds() -> tuple[str, ...]:
    """The kinds that have an HDL lowering."""
    return tuple(REGISTRY.available())


def hdl_kind(name: str) -> HdlKind:
    """The registered lowering of stage kind ``name``; ``ConfigError`` when there is none."""
    try:
        return REGISTRY.named(name)
    except ConfigError:
        raise ConfigError(f"stage kind {name!r} has no HDL lowering; kinds with one: "
                          f"{', '.join(known_kinds())}") from None


def stage_kind(stage: object) -> str:
    """Kind name of an IR stage (from the IR stage-kind registry)."""
    try:
        return kind_of(stage).name
    except UnknownStageKind:
        raise ConfigError(f"stage {getattr(stage, 'name', '?')!r} is a "
                          f"{type(stage).__name__}, not an IR stage kind; known kinds: "
                          f"{', '.join(known_kinds())}") from None
