"""The pass framework: named passes with typed options, a registry, one-line pipeline specs.

A pass is a frozen dataclass whose fields are its options. Each option is declared with
:func:`option` (type from the annotation, default, documented range or choices); the spec
spelling of a field is its name with ``_`` written as ``-`` (``min_captures`` ->
``min-captures``). A pipeline spec is a comma-separated list of passes, each optionally
followed by ``{key=value,...}``::

    prune-weight{max=0},prune-fraction{target=0.4,scope=segment}

:func:`parse_pipeline` turns a spec into pass instances (every error is a
:class:`~neutnngen.errors.PassError` that names the pass, the option, the bad value and what
is accepted); :func:`run_pipeline` applies them in order, checks the IR after every pass and
returns the new network with per-pass statistics. ``str(pass_instance)`` is the canonical
spec with every option spelled out, so any result can be reproduced by pasting it back.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import IRValidationError, PassError
from ..ir.kinds import kind_of
from ..ir.network import Network
from ..ir.verify import check

PASSES: dict[str, type[Pass]] = {}
"""The registry: spec name -> pass class."""

EMPTY_SPECS = ("", "none")
"""Specs that denote the empty pipeline (the unchanged network)."""


def option(default: Any, doc: str, *, range: tuple[float, float] | None = None,
           choices: tuple[str, ...] | None = None) -> Any:
    """Declare a pass option (a dataclass field with its documentation, range or choices)."""
    return field(default=default, metadata={"doc": doc, "range": range, "choices": choices})


@dataclass(frozen=True)
class OptionInfo:
    name: str  # spec spelling (kebab-case)
    attr: str  # dataclass field name
    type: type
    default: Any
    doc: str
    range: tuple[float, float] | None
    choices: tuple[str, ...] | None

    def describe(self) -> str:
        if self.choices:
            accepted = "|".join(self.choices)
        elif self.range is not None:
            lo, hi = self.range
            accepted = f"{self.type.__name__} in {_num(lo)}..{_num(hi)}"
        else:
            accepted = self.type.__name__
        return f"{self.name} ({accepted}, default {_fmt(self.default)}): {self.doc}"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


@dataclass(frozen=True)
class Pass:
    """Base class of every pass. Subclasses set ``name`` and ``summary``, declare their options
    as fields with :func:`option` and implement :meth:`apply`."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()  # PassContext attributes the pass requires
    needs_hint: ClassVar[str] = ""  # how to provide them (shown when they are missing)

    def __post_init__(self) -> None:
        for o in self.option_info():
            _validate(self.name, o, getattr(self, o.attr))

    @classmethod
    def option_info(cls) -> tuple[OptionInfo, ...]:
        hints = _hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            md = f.metadata
            out.append(OptionInfo(f.name.replace("_", "-"), f.name, hints[f.name], f.default,
                                  md.get("doc", ""), md.get("range"), md.get("choices")))
        return tuple(out)

    @classmethod
    def help(cls) -> str:
        lines = [f"{cls.name}: {cls.summary}"]
        lines += [f"  {o.describe()}" for o in cls.option_info()]
        return "\n".join(lines)

    def __str__(self) -> str:
        opts = ",".join(f"{o.name}={_fmt(getattr(self, o.attr))}" for o in self.option_info())
        return f"{self.name}{{{opts}}}" if opts else self.name

    def apply(self, net: Network, ctx: PassContext) -> tuple[Network, dict]:
        """Return the transformed network and pass-specific statistics."""
        raise NotImplementedError


def _hints(cls: type) -> dict[str, type]:
    import typing

    h = typing.get_type_hints(cls)
    return {k: v for k, v in h.items() if v in (int, float, str, bool)}


def register(cls: type[Pass]) -> type[Pass]:
    """Class decorator: add a pass to :data:`PASSES` under ``cls.name``."""
    if not cls.name or cls.name in PASSES:
        raise ValueError(f"pass name {cls.name!r} is empty or already registered")
    PASSES[cls.name] = cls
    return cls


@dataclass
class PassContext:
    """What passes may read besides the IR. ``activity``: per-synapse capture counts recorded
    during training (:func:`neutnngen.passes.activity.record_activity`), needed by
    ``prune-inactive``."""

    activity: Any = None


# ------------------------------------------------------------------------------ parsing
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def _validate(pname: str, o: OptionInfo, value: Any) -> None:
    where = f"{pname}{{{o.name}={_fmt(value)}}}"
    if o.type is bool:
        ok = isinstance(value, bool)
    elif o.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif o.type is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, o.type)
    if not ok:
        raise PassError(f"{where}: option {o.name} expects {o.type.__name__}; accepted: "
                        f"{o.describe()}")
    if o.choices is not None and value not in o.choices:
        raise PassError(f"{where}: {o.name}={value!r} is not accepted; accepted: "
                        f"{', '.join(o.choices)}")
    if o.range is not None and not (o.range[0] <= value <= o.range[1]):
        raise PassError(f"{where}: {o.name}={_fmt(value)} out of range "
                        f"{_num(o.range[0])}..{_num(o.range[1])}; {o.describe()}")


def _convert(pname: str, o: OptionInfo, raw: str) -> Any:
    where = f"{pname}{{{o.name}={raw}}}"
    try:
        if o.type is bool:
            low = raw.lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return low in ("true", "1", "yes")
        if o.type is int:
            if not re.fullmatch(r"[+-]?\d+", raw):
                raise ValueError(raw)
            return int(raw)
        if o.type is float:
            v = float(raw)
            if not math.isfinite(v):
                raise ValueError(raw)
            return v
        return raw
    except ValueError:
        kind = {int: "an integer", float: "a number", bool: "true or false"}.get(o.type, o.type.__name__)
        raise PassError(f"{where}: option {o.name} expects {kind}, got {raw!r}; "
                        f"{o.describe()}") from None


def _unknown_pass(name: str) -> PassError:
    close = difflib.get_close_matches(name, list(PASSES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return PassError(f"unknown pass {name!r}{hint}; registered passes: {', '.join(sorted(PASSES))}")


def make_pass(name: str, options: dict[str, Any] | None = None) -> Pass:
    """An instance of the registered pass ``name`` with options given by spec name
    (``min-captures``) or field name (``min_captures``)."""
    cls = PASSES.get(name)
    if cls is None:
        raise _unknown_pass(name)
    infos = {o.name: o for o in cls.option_info()}
    kwargs: dict[str, Any] = {}
    for k, v in (options or {}).items():
        key = k.replace("_", "-")
        o = infos.get(key)
        if o is None:
            accepted = "; ".join(i.describe() for i in infos.values()) or "none"
            raise PassError(f"{name}: unknown option {k!r}; accepted options: {accepted}")
        if isinstance(v, str) and o.type is not str:
            v = _convert(name, o, v)
        elif o.type is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        kwargs[o.attr] = v
    return cls(**kwargs)


def parse_pipeline(spec: str) -> list[Pass]:
    """``"prune-weight{max=0},prune-fraction{target=0.4}"`` -> pass instances, in order.

    ``""`` and ``"none"`` are the empty pipeline. Whitespace around names, keys and values is
    ignored. Raises :class:`PassError` for a malformed spec, an unknown pass or option, a
    repeated option, or a value of the wrong type or out of range."""
    if not isinstance(spec, str):
        raise PassError(f"a pass pipeline is a string, not {type(spec).__name__}")
    text = spec.strip()
    if text in EMPTY_SPECS:
        return []
    out: list[Pass] = []
    i, n = 0, len(text)

    def bad(msg: str, at: int) -> PassError:
        return PassError(f"malformed pass pipeline {spec!r}: {msg} at character {at + 1}")

    while True:
        while i < n and text[i].isspace():
            i += 1
        m = _NAME.match(text, i)
        if not m:
            what = repr(text[i]) if i < n else "end of text"
            raise bad(f"expected a pass name, found {what}", i)
        name = m.group(0)
        i = m.end()
        if name not in PASSES:
            raise _unknown_pass(name)
        while i < n and text[i].isspace():
            i += 1
        opts: dict[str, str] = {}
        if i < n and text[i] == "{":
            close = text.find("}", i)
            nxt = text.find("{", i + 1)
            if close < 0 or (0 <= nxt < close):
                raise bad(f"'{{' of {name} has no matching '}}'", i)
            body = text[i + 1:close]
            if body.strip():
                for item in body.split(","):
                    key, eq, val = item.partition("=")
                    key, val = key.strip(), val.strip()
                    if not eq or not key or not val:
                        raise bad(f"option {item.strip()!r} of {name} is not key=value", i)
                    if key in opts:
                        raise PassError(f"{name}: option {key!r} given twice in {spec!r}")
                    opts[key] = val
            i = close + 1
            while i < n and text[i].isspace():
                i += 1
        out.append(make_pass(name, opts))
        if i >= n:
            return out
        if text[i] == "}":
            raise bad("'}' without a matching '{'", i)
        if text[i] != ",":
            raise bad(f"expected ',' or '{{' after {name}, found {text[i]!r}", i)
        i += 1


def pipeline_spec(passes: list[Pass]) -> str:
    """The canonical spec of a pipeline (every option spelled out); ``none`` when empty."""
    return ",".join(str(p) for p in passes) or "none"


# ------------------------------------------------------------------------------ running
SYNAPSE_LAYOUTS = ("columns",)
"""The synapse layouts (:attr:`~neutnngen.ir.kinds.StageKind.synapse_layout`) the passes
handle: ``columns`` = the column banks of the ``layer`` kind."""


def synaptic_layers(net: Network, who: str = "passes") -> Iterator[tuple[int, Any]]:
    """``(layer index, layer)`` of every stage whose kind has synapses. Stages whose kind
    has none (``retime``, ...) are skipped; a kind with synapses in a layout the passes do
    not handle, or synapses outside a layer, is a :class:`PassError`."""
    li = -1
    for st in net.stages:
        kind = kind_of(st)
        li += kind.is_layer
        if not kind.has_synapses:
            continue
        if not kind.is_layer or kind.synapse_layout not in SYNAPSE_LAYOUTS:
            where = "" if kind.is_layer else " outside a layer"
            raise PassError(f"{who}: stage {st.name!r} of kind {kind.name!r} has synapses in "
                            f"the {kind.synapse_layout!r} layout{where}; handled: layers with "
                            f"{', '.join(SYNAPSE_LAYOUTS)} synapses")
        yield li, st


def synapse_table(net: Network) -> list[dict]:
    """Synapses per column: ``{"layer", "column", "path", "synapses", "neurons": [...]}``."""
    rows = []
    for li, layer in synaptic_layers(net):
        for ci, col in enumerate(layer.columns):
            per_neuron = col.distal.mask.reshape(col.neurons, -1).sum(axis=1)
            if col.proximal is not None:
                per_neuron = per_neuron + col.proximal.mask.reshape(col.neurons, -1).sum(axis=1)
            rows.append({"layer": li, "column": ci, "path": f"{layer.name}/{col.name}",
                         "synapses": int(col.synapses),
                         "neurons": [int(v) for v in per_neuron]})
    return rows


@dataclass
class PipelineResult:
    network: Network
    stats: list[dict]  # one per pass, in order

    @property
    def spec(self) -> str:
        return ",".join(s["pass"] for s in self.stats) or "none"


def run_pipeline(net: Network, passes: list[Pass] | str, context: PassContext | None = None
                 ) -> PipelineResult:
    """Apply ``passes`` (instances or a spec string) in order. Every pass gets a valid IR and
    must return one (checked with :func:`neutnngen.ir.check`; a pass that breaks the IR is a
    :class:`PassError` naming it). Statistics per pass: ``pass`` (canonical spec),
    ``synapses_before`` / ``synapses_after``, per-column and per-neuron counts before and
    after, plus the pass's own numbers."""
    if isinstance(passes, str):
        passes = parse_pipeline(passes)
    ctx = context or PassContext()
    check(net)
    stats = []
    for p in passes:
        for need in p.needs:
            if getattr(ctx, need, None) is None:
                raise PassError(f"{p.name} needs {need!r} in the pass context and none was given; "
                                f"{type(p).needs_hint}")
        before = synapse_table(net)
        new, extra = p.apply(net, ctx)
        try:
            check(new)
        except IRValidationError as e:
            raise PassError(f"{p} produced an invalid IR (a bug in the pass): {e}") from e
        after = synapse_table(new)
        cols = [{"layer": b["layer"], "column": b["column"], "path": b["path"],
                 "before": b["synapses"], "after": a["synapses"],
                 "neurons_before": b["neurons"], "neurons_after": a["neurons"]}
                for b, a in zip(before, after, strict=True)]
        stats.append({"pass": str(p), "synapses_before": int(net.synapses),
                      "synapses_after": int(new.synapses), "columns": cols, **extra})
        net = new
    return PipelineResult(net, stats)
