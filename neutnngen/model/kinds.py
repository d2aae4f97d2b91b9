"""The torch level of the stage kinds (see :mod:`neutnngen.ir.kinds`).

A :class:`TorchKind` maps an IR stage kind, by the same name, to its torch module class and
the IR <-> torch converters; a kind that learns in the trainer also brings its training loop.
Built-in records are ``KIND`` of ``neutnngen.model.stages.<name>`` for every name in
:data:`neutnngen.ir.kinds.BUILTIN`, loaded lazily; plugins and tests add theirs with
:func:`register`. A module or kind without a record is a
:class:`~neutnngen.errors.FrontendError` naming it and the supported set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..errors import FrontendError
from ..ir.common import TimeSpec
from ..ir.kinds import KindRegistry, StageKind, kind_named


class TorchKind:
    """Torch-level record of a stage kind (subclass it).

    ``name``: the IR kind name; ``module``: the torch module class (or classes) of the
    stage. A module of a *layer* kind is called ``module(h, side)`` with the layer's side
    (proximal) lines ``[B, side_inputs]`` or ``None``; other stages are called ``module(h)``.
    Both take and return integer spike times ``[B, lines]`` (NONE = -1)."""

    name: ClassVar[str] = ""
    module: ClassVar[type | tuple[type, ...]] = nn.Module

    @property
    def ir(self) -> StageKind:
        """The IR record of the same name."""
        return kind_named(self.name)

    def to_torch(self, node: Any, time: TimeSpec) -> nn.Module:
        raise NotImplementedError

    def from_torch(self, module: nn.Module, path: str) -> Any:
        """The IR node of ``module`` (:class:`FrontendError` with ``path`` when it cannot be
        lowered)."""
        raise NotImplementedError

    def time_of(self, module: nn.Module) -> TimeSpec | None:
        """The time base the module was built for, if it carries one."""
        return None

    def inputs_of(self, module: nn.Module) -> int | None:
        """The module's input lines, if it knows them."""
        return None

    # -- training (kinds that learn in :func:`neutnngen.model.train`) ----------------------------
    def trains(self) -> bool:
        return False

    def train(self, module: nn.Module, X: np.ndarray, side: np.ndarray | None, *,
              order: np.ndarray, mode: str, labels: np.ndarray | None, kernel: Any,
              gen: torch.Generator, record: bool, report: Callable[[int], None],
              **options: Any) -> tuple[dict, Any]:
        """Train ``module`` online on its input volleys ``X[N, inputs]`` in wave order
        ``order``; ``report(w)`` after every chunk (``w`` waves of this layer done).
        ``options``: ``mu_shift`` (M4: one shift per wave of ``order``, only passed when
        a schedule is on; a kind without one raises ``ConfigError``).
        Returns ``(stats, history)``: ``stats`` holds ``coverage``, ``wins`` and
        ``weight_changes``; ``history`` the recorded waves (``record``) or ``None``."""
        raise NotImplementedError

    def trained_node(self, node: Any, module: nn.Module, exact: bool) -> Any:
        """``node`` with the trained state of ``module`` (weights; generator states too when
        ``exact``), built exactly like the interpreter's ``StageState.to_node``."""
        raise NotImplementedError


REGISTRY: KindRegistry[TorchKind] = KindRegistry(
    "torch", "neutnngen.model.stages", lambda k: k.module, error=FrontendError)


def register(kind: TorchKind, *, replace: bool = False) -> TorchKind:
    """Register a torch stage kind at run time (plugins, tests); its IR kind must exist."""
    if not isinstance(kind, TorchKind):
        raise TypeError(f"register() takes a TorchKind instance, got {type(kind).__name__}")
    if kind.module is nn.Module:
        raise ValueError(f"torch stage kind {kind.name!r} names no module class")
    kind_named(kind.name)
    return REGISTRY.register(kind, replace=replace)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def torch_kind_named(name: str) -> TorchKind:
    """The torch record of IR kind ``name``; :class:`FrontendError` otherwise."""
    return REGISTRY.named(name)


def torch_kind_of(module: nn.Module) -> TorchKind:
    """The torch record handling ``module``; :class:`FrontendError` otherwise."""
    return REGISTRY.of(module)


def supported_modules() -> str:
    """The stage module classes of every known kind (for error messages)."""
    names = []
    for n in REGISTRY.known():
        try:
            m = REGISTRY.named(n).module
        except FrontendError:
            continue
        names += [c.__name__ for c in (m if isinstance(m, tuple) else (m,))]
    return ", ".join(names)
