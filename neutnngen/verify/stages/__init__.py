"""Verification adapters: what the verifier observes of each stage kind and the reference
value of each observed register, keyed by the kind name recorded in ``names.json``
(``"stages"``, written by :mod:`neutnngen.hdl.kinds`).

An adapter has ``entries(names, stage, tap)``: the stage's observable state registers
(:class:`Entry`: weights, LFSR states, ... with their RTL names and bit widths; ``tap`` is
the index of the stage's ``done`` pulse in the bench wrapper's ``dbg_done`` bus, ``None``
for a stage without one) and ``value(entry, interpreter)``: the entry's value in the
reference interpreter. A ``names.json`` stage of a kind without an adapter is a
:class:`~neutnngen.errors.ToolchainError` naming the kind and the known ones. Adding a
kind: a module here with its ``KIND`` adapter for its name in :data:`neutnngen.ir.kinds.BUILTIN`
(a :class:`~neutnngen.ir.kinds.KindRegistry` like every level's), or :func:`register` at
run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...errors import ToolchainError
from ...ir.kinds import KindRegistry


@dataclass(frozen=True)
class Entry:
    """One observable register: ``path`` (IR path), ``signal`` (hierarchical RTL name under
    the top), ``bits``, its ``layer`` and ``column``, ``kind`` (``w`` distal weight, ``p``
    proximal weight, ``g`` generator state), ``index`` into the column's bank (or
    ``(generator,)``), the ``wread`` address of a weight, and the ``done`` tap of its
    stage."""

    path: str
    signal: str
    bits: int
    layer: int
    column: int
    kind: str
    index: tuple[int, ...]
    addr: int | None = None
    tap: int | None = None
    stage: str = ""  # kind of the owning stage (set by :func:`observe`)


@dataclass(frozen=True)
class VerifyAdapter:
    kind: str
    entries: Callable[[Mapping[str, Any], Mapping[str, Any], int | None], list[Entry]]
    value: Callable[[Entry, Any], int]

    @property
    def name(self) -> str:
        return self.kind


REGISTRY: KindRegistry[VerifyAdapter] = KindRegistry(
    "verification", __package__, lambda a: (), error=ToolchainError)


def register(a: VerifyAdapter, *, replace: bool = False) -> VerifyAdapter:
    return REGISTRY.register(a, replace=replace)


def unregister(kind: str) -> None:
    REGISTRY.unregister(kind)


def adapter(kind: str) -> VerifyAdapter:
    try:
        return REGISTRY.named(kind)
    except ToolchainError:
        raise ToolchainError(f"names.json names a stage of kind {kind!r}, which the verifier "
                             f"cannot observe; known kinds: {', '.join(REGISTRY.available())}"
                             ) from None


def stages(names: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``names.json`` stage list (a file without one, from before streams: one ``layer``
    stage per layer)."""
    if "stages" in names:
        return list(names["stages"])
    L = int(names["top"]["L"])
    return [{"name": f"layer{k}", "kind": "layer", "layer": k} for k in range(L)]


def observe(names: Mapping[str, Any]) -> tuple[list[Entry], list[str]]:
    """Every observable entry of a design, stage by stage, and the RTL names of the stages'
    ``done`` pulses (bit ``i`` of the wrapper's ``dbg_done`` is ``taps[i]``)."""
    entries: list[Entry] = []
    taps: list[str] = []
    for st in stages(names):
        tap = None
        if st.get("done"):
            tap = len(taps)
            taps.append(str(st["done"]))
        kind = str(st["kind"])
        entries += [replace(e, stage=kind) for e in adapter(kind).entries(names, st, tap)]
    return entries, taps


def value(e: Entry, it) -> int:
    """The interpreter's value of entry ``e`` (``it``: :class:`neutnngen.ir.Interpreter`)."""
    return adapter(e.stage).value(e, it)
