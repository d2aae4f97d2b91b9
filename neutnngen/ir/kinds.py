"""Stage kinds: the one extension point for what a network stage is (numpy only).

A network is a sequence of *stages*. Every stage is a frozen IR node of some *kind* (today:
``layer``, the TNN column layer with its optional ``Kernel`` wiring, and ``retime``). The
kind name is the JSON ``"type"`` of the stage and the keyword of its canonical text line.
A :class:`StageKind` brings, for its node class, everything the IR level needs:

* structure: is it a network *layer* (one wave of pipeline depth, indexed by
  ``Network.layers``, may learn and take side/proximal lines), its output width for a
  given input width, its synapse count, the largest time it can emit;
* a verifier (every problem with its IR path), the canonical-text codec, the JSON+NPZ codec;
* the interpreter kernel: :meth:`StageKind.init_state` returns a :class:`StageState` with
  ``forward`` (inference), ``learn`` (one wave of learning, where the kind learns) and
  ``to_node`` (the IR with the learned state).

Other levels keep parallel registries under the *same kind name* (torch modules in
:mod:`neutnngen.model.kinds`; HDL planners/components and verification adapters in
``neutnngen.hdl`` / ``neutnngen.verify``). They all use :class:`KindRegistry`, and the
built-in kinds of every level are the names in :data:`BUILTIN`, each loaded lazily from
``<package>.<name>`` (``neutnngen.ir.stages.<name>``, ``neutnngen.model.stages.<name>``, ...)
whose module attribute ``KIND`` is the kind record. **Adding a built-in kind = new modules
plus its name in** :data:`BUILTIN`. Plugins and tests add kinds at run time with
:func:`register` (and the other levels' ``register``).

An unknown kind is an error everywhere (never a silent fallback): :func:`kind_named` and
:func:`kind_of` raise :class:`UnknownStageKind` naming the kind and the known set.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from ..errors import IRFormatError, NeutnngenError
from .common import TimeSpec

BUILTIN: tuple[str, ...] = ("layer", "retime", "encoder", "dense", "conv2d", "sumpool", "maxpool",
                            "flatten", "lif", "act", "recurrent", "lut",
                            "rankcode", "convstdp")
"""The built-in stage kinds, in the order they are listed in messages. The one place a new
built-in kind is registered (its modules are found by name at every level)."""


class UnknownStageKind(IRFormatError):
    """A stage kind name, node or module that no registry knows."""


T = TypeVar("T")


class KindRegistry(Generic[T]):
    """Kind name -> record of one level (IR, torch, HDL, verification).

    Built-in records are imported lazily from ``{package}.{name}`` (attribute ``KIND``) the
    first time they are asked for; :meth:`register` adds a record at run time. ``key``
    gives the class a record handles (the IR node class, the torch module class, ...), so
    that :meth:`of` finds the record of an object."""

    def __init__(self, level: str, package: str, key: Callable[[T], type | tuple[type, ...]],
                 error: type[NeutnngenError] = UnknownStageKind):
        self.level = level
        self.package = package
        self._key = key
        self._error = error
        self._by_name: dict[str, T] = {}
        self._by_type: dict[type, T] = {}
        self._loaded: set[str] = set()
        self._absent: set[str] = set()  # built-ins this level does not implement (yet)

    def known(self) -> list[str]:
        """Every kind name of this level: built-ins first, then run-time registrations."""
        extra = sorted(n for n in self._by_name if n not in BUILTIN)
        return [*BUILTIN, *extra]

    def register(self, record: T, *, replace: bool = False) -> T:
        """Add ``record`` under its ``name``. Registering a taken name is an error unless
        ``replace`` (tests that re-register a kind)."""
        name = getattr(record, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"a {self.level} stage kind needs an identifier name; got {name!r}")
        old = self._by_name.get(name)
        if old is not None and old is not record and not replace:
            raise ValueError(f"{self.level} stage kind {name!r} is already registered")
        if old is not None:
            self.unregister(name)
        self._by_name[name] = record
        classes = self._key(record)
        for cls in classes if isinstance(classes, tuple) else (classes,):
            self._by_type[cls] = record
        return record

    def unregister(self, name: str) -> None:
        """Remove a run-time registration (built-ins are loaded again when asked for)."""
        rec = self._by_name.pop(name, None)
        if rec is None:
            return
        for cls, r in list(self._by_type.items()):
            if r is rec:
                del self._by_type[cls]
        self._loaded.discard(name)

    def _load(self, name: str, strict: bool = True) -> None:
        """Import built-in ``name``'s record. A level may lack some built-in kinds (the SNN
        kinds have no HDL yet): ``strict`` (asking for that kind) raises
        ``built-in stage kind ... has no <level> level``; otherwise (listing every kind)
        the kind is skipped."""
        if name in self._loaded or name not in BUILTIN:
            return
        if name in self._absent:
            if strict:
                raise self._error(f"built-in stage kind {name!r} has no {self.level} level: "
                                  f"module {self.package}.{name} is missing")
            return
        if name not in self._by_name:
            module = f"{self.package}.{name}"
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as e:
                if e.name is None or not (module + ".").startswith(e.name + "."):
                    raise  # a missing import inside the kind's module
                self._absent.add(name)
                if not strict:
                    return
                raise self._error(f"built-in stage kind {name!r} has no {self.level} level: "
                                  f"module {module} is missing") from None
            self.register(mod.KIND)
        self._loaded.add(name)

    def available(self) -> list[str]:
        """The kind names this level has a record for (built-ins it lacks left out)."""
        self._load_all()
        return [n for n in self.known() if n in self._by_name]

    def _load_all(self) -> None:
        for n in BUILTIN:
            self._load(n, strict=False)

    def named(self, name: str) -> T:
        """The record of kind ``name`` (error: ``unknown stage kind 'x'; known: ...``)."""
        if isinstance(name, str):
            self._load(name)
            rec = self._by_name.get(name)
            if rec is not None:
                return rec
        self._load_all()
        raise self._error(f"unknown {self._what()}stage kind {name!r}; known: "
                          f"{', '.join(self.known())}")

    def of(self, obj: Any) -> T:
        """The record handling ``obj`` (by its class, most derived first)."""
        for attempt in range(2):
            for cls in type(obj).__mro__:
                rec = self._by_type.get(cls)
                if rec is not None:
                    return rec
            if attempt == 0:
                self._load_all()
        raise self._error(f"unknown {self._what()}stage type {type(obj).__name__}; known "
                          f"kinds: {', '.join(self.known())}")

    def _what(self) -> str:
        return "" if self.level == "IR" else f"{self.level} "


# --------------------------------------------------------------------------- the IR record
@dataclass(frozen=True)
class StageContext:
    """What a stage's verifier knows about its place in the network."""

    path: str  # IR path of the stage, e.g. "net/layer0"
    index: int  # stage index
    time: TimeSpec
    width: int  # lines delivered by the previous stage
    max_time: int  # largest time the previous stage can deliver


Err = Callable[..., None]
"""``err(path, message, severity="error")``: how a verifier reports a problem."""


class StageState:
    """The interpreter's state of one stage (weights, generator states, ...).

    ``forward(x[B, width], side)`` returns ``(out[B, outputs], trace)``: the stage's output
    volleys and whatever intermediate record it keeps (``None`` if none); ``side`` are the
    stage's side lines ``[B, side_inputs]`` (proximal lines of a layer) or ``None``.
    ``learn`` applies one wave of learning (batch of 1) after ``forward``; ``to_node`` is
    the IR node with the current state."""

    def __init__(self, node: Any):
        self.node = node

    def forward(self, x: np.ndarray, side: np.ndarray | None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def learn(self, x: np.ndarray, side: np.ndarray | None, trace: Any,
              label: int | None) -> None:
        raise ValueError(f"stage {getattr(self.node, 'name', '?')!r} does not learn")

    def to_node(self) -> Any:
        return self.node


class StageKind:
    """The IR-level record of a stage kind (subclass it; see the module docstring).

    Class attributes: ``name`` (JSON type, text keyword), ``node`` (the frozen node class),
    ``is_layer`` (a network layer: ``Network.layers``, one wave of pipeline depth,
    ``proximal``/``layers=`` indices of the interpreter and trainer refer to layers),
    ``has_synapses`` (passes that work on synapses look at it; stages without are skipped),
    ``synapse_layout`` (how the synapses are stored: ``"columns"`` = the column banks of
    :class:`~neutnngen.ir.Column`; passes refuse layouts they do not know).
    Every node has a ``name`` (unique among the network's stages)."""

    name: ClassVar[str] = ""
    node: ClassVar[type] = object
    is_layer: ClassVar[bool] = False
    has_synapses: ClassVar[bool] = False
    synapse_layout: ClassVar[str | None] = None

    # -- structure ---------------------------------------------------------------------------
    def outputs(self, node: Any, width: int) -> int:
        """Output lines for ``width`` input lines."""
        return width

    def max_time(self, node: Any, time: TimeSpec, max_in: int) -> int:
        """Largest time the stage can emit when its inputs reach ``max_in``."""
        return max_in

    def synapses(self, node: Any) -> int:
        return 0

    def learns(self, node: Any) -> bool:
        return False

    def needs_labels(self, node: Any) -> bool:
        """Whether learning needs a class label every wave (reward-modulated rules)."""
        return False

    def side_inputs(self, node: Any) -> int:
        """Side (proximal) lines the stage takes besides its input volley."""
        return 0

    def label_lines(self, node: Any, labels: np.ndarray) -> np.ndarray | None:
        """Side lines ``[N, side_inputs]`` derived from class labels while the stage learns
        (supervised learning); ``None``: labels drive no side line of this stage."""
        return None

    # -- verification ------------------------------------------------------------------------
    def verify(self, node: Any, ctx: StageContext, err: Err) -> None:
        raise NotImplementedError

    # -- canonical text ----------------------------------------------------------------------
    def to_text(self, node: Any) -> list[str]:
        """The node's text lines, the first ``<name> key=value ...``, nested lines indented
        two spaces per level (the network adds the stage indentation)."""
        raise NotImplementedError

    def from_text(self, lines: list[tuple[int, str, dict]]) -> Any:
        """The node of a block of ``(line number, keyword, attributes)``; the first is the
        stage line. Raise :class:`IRFormatError` naming the line for anything malformed."""
        raise NotImplementedError

    # -- JSON + NPZ --------------------------------------------------------------------------
    def to_json(self, node: Any, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
        """The JSON structure of the node without ``"type"``; arrays go through
        ``arr(f"{prefix}/...", array, dtype)``, which returns the key stored in the JSON."""
        raise NotImplementedError

    def from_json(self, doc: dict, get: Callable[[str], np.ndarray]) -> Any:
        raise NotImplementedError

    def json_schema(self) -> Any:
        """The schema of the stage's JSON, ``"type"`` included (a
        :class:`neutnngen.ir.schema.Spec`, usually an ``Obj``), checked by the IR reader
        before :meth:`from_json` sees the document. ``None``: no schema (the reader then
        only turns a failing :meth:`from_json` into an error); every built-in kind has one."""
        return None

    # -- interpreter -------------------------------------------------------------------------
    def init_state(self, node: Any, time: TimeSpec) -> StageState:
        raise NotImplementedError


REGISTRY: KindRegistry[StageKind] = KindRegistry("IR", "neutnngen.ir.stages", lambda k: k.node)


def register(kind: StageKind, *, replace: bool = False) -> StageKind:
    """Register an IR stage kind at run time (plugins, tests)."""
    if not isinstance(kind, StageKind):
        raise TypeError(f"register() takes a StageKind instance, got {type(kind).__name__}")
    if kind.node is object:
        raise ValueError(f"stage kind {kind.name!r} names no node class")
    return REGISTRY.register(kind, replace=replace)


def unregister(name: str) -> None:
    REGISTRY.unregister(name)


def kind_named(name: str) -> StageKind:
    """The IR kind called ``name``; :class:`UnknownStageKind` otherwise."""
    return REGISTRY.named(name)


def kind_of(stage: Any) -> StageKind:
    """The IR kind of a stage node; :class:`UnknownStageKind` otherwise."""
    return REGISTRY.of(stage)


def known_kinds() -> list[str]:
    return REGISTRY.known()
