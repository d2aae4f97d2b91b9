"""A small schema language for the IR file (JSON structure + NPZ arrays), numpy only.

The reader (:func:`neutnngen.ir.serialize.load`) checks the whole document against the
schema *before* any node is built, and reports every problem with its path in the file::

    stages[1].columns[0].theta: expected int array of shape [2, 1, 1], got float64 [2]

Each stage kind brings the schema of its JSON (:meth:`StageKind.json_schema`), so a new kind
is checked as strictly as the built-in ones. Specs:

* :class:`Int`, :class:`Num`, :class:`Str`, :class:`Bool`: scalars (a bool is no integer,
  2.7 is no integer, NaN is no number), with ranges / choices;
* :class:`Nullable`, :class:`ListOf`, :class:`Obj` (required and optional keys, unknown keys
  are errors unless ``extra``; ``check`` runs cross-field checks once the fields are valid);
* :class:`Arr`: a key naming an array of the NPZ archive (a plain relative name, never
  ``""`` or ``..``), with the array's dtype kind, rank and value range;
* :class:`Custom`: a function ``(value, path, ctx) -> None`` reporting through ``ctx.err``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ARRAY_KEY = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+){0,15}")
"""An array key: slash-separated plain names inside the archive (no ``""``, ``.``, ``..``)."""
MAX_DIM = 1 << 24
"""Largest size of any array axis the reader accepts."""


@dataclass
class Ctx:
    """What checking needs: the archive's arrays and the problem list."""

    arrays: Mapping[str, np.ndarray]
    problems: list[str] = field(default_factory=list)
    limit: int = 50
    count: int = 0  # every problem found (``problems`` keeps the first ``limit``)

    def err(self, path: str, msg: str) -> None:
        self.count += 1
        if len(self.problems) < self.limit:
            self.problems.append(f"{path or '(top level)'}: {msg}")

    def array(self, key: Any) -> np.ndarray | None:
        return self.arrays.get(key) if isinstance(key, str) else None


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, int):
        return f"integer {v}"
    if isinstance(v, float):
        return f"number {v!r}"
    if isinstance(v, str):
        return f"string {v[:40]!r}"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _shape(a: np.ndarray) -> str:
    return "[" + ", ".join(str(n) for n in a.shape) + "]"


class Spec:
    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        raise NotImplementedError

    def ok(self, v: Any, ctx: Ctx) -> bool:
        """Whether ``v`` passes (without reporting)."""
        probe = Ctx(ctx.arrays)
        self.check(v, "", probe)
        return probe.count == 0


Bound = float | Callable[[dict], float | None] | None


def _bound(b: Bound, parent: dict | None) -> float | None:
    if callable(b):
        try:
            return b(parent or {})
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
    return b


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo:g}..{hi:g}"
    if lo is not None:
        return f">= {lo:g}"
    return f"<= {hi:g}"


@dataclass
class Int(Spec):
    lo: Bound = None
    hi: Bound = None
    parent: dict | None = None

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if isinstance(v, bool) or not isinstance(v, int):
            ctx.err(path, f"expected an integer, got {_kind(v)}")
            return
        lo, hi = _bound(self.lo, self.parent), _bound(self.hi, self.parent)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            ctx.err(path, f"expected an integer {_range_text(lo, hi)}, got {v}")


@dataclass
class Num(Spec):
    lo: float | None = None
    hi: float | None = None

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            ctx.err(path, f"expected a finite number, got {_kind(v)}")
            return
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            ctx.err(path, f"expected a number {_range_text(self.lo, self.hi)}, got {v!r}")


@dataclass
class Str(Spec):
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    max_len: int = 1000
    what: str = ""

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if not isinstance(v, str):
            ctx.err(path, f"expected a string{self._accepts()}, got {_kind(v)}")
        elif self.choices is not None and v not in self.choices:
            ctx.err(path, f"expected one of {', '.join(map(repr, self.choices))}, got {v[:60]!r}")
        elif len(v) > self.max_len:
            ctx.err(path, f"expected at most {self.max_len} characters, got {len(v)}")
        elif self.pattern is not None and not re.fullmatch(self.pattern, v):
            ctx.err(path, f"expected {self.what or 'a string matching ' + self.pattern}, "
                          f"got {v[:60]!r}")

    def _accepts(self) -> str:
        return f" ({', '.join(map(repr, self.choices))})" if self.choices else ""


class Bool(Spec):
    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if not isinstance(v, bool):
            ctx.err(path, f"expected true or false, got {_kind(v)}")


class Any_(Spec):
    """Any JSON value (free-form metadata)."""

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        pass


@dataclass
class Nullable(Spec):
    inner: Spec

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if v is not None:
            self.inner.check(v, path, ctx)


@dataclass
class ListOf(Spec):
    item: Spec
    min_len: int = 0
    max_len: int = 1 << 20

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if not isinstance(v, list):
            ctx.err(path, f"expected a list, got {_kind(v)}")
            return
        if not (self.min_len <= len(v) <= self.max_len):
            ctx.err(path, f"expected a list of {_range_text(self.min_len, self.max_len)} "
                          f"items, got {len(v)}")
            return
        for i, x in enumerate(v):
            self.item.check(x, f"{path}[{i}]", ctx)


@dataclass
class Custom(Spec):
    fn: Callable[[Any, str, Ctx], None]

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        self.fn(v, path, ctx)


@dataclass
class Arr(Spec):
    """A key naming an array of the archive: dtype kind ``"int"`` (signed or unsigned
    integers) or ``"bool"``, ``rank`` axes, values in ``lo..hi`` (bounds may be functions
    of the enclosing object, evaluated once its scalar fields are valid)."""

    dtype: str = "int"  # int | bool
    rank: int | None = None
    lo: Bound = None
    hi: Bound = None
    parent: dict | None = None

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if not isinstance(v, str):
            ctx.err(path, f"expected the name of an array in the .npz file, got {_kind(v)}")
            return
        if not ARRAY_KEY.fullmatch(v):
            ctx.err(path, f"array name {v[:60]!r} is not a plain name inside the archive "
                          "(letters, digits, '_' separated by '/'; no '', '.' or '..')")
            return
        a = ctx.array(v)
        if a is None:
            ctx.err(path, f"array {v!r} is missing from the .npz file")
            return
        kinds = "iu" if self.dtype == "int" else "b"
        want = f"{self.dtype} array" + (f" of rank {self.rank}" if self.rank is not None else "")
        if a.dtype.kind not in kinds:
            ctx.err(path, f"expected {want}, got {a.dtype} {_shape(a)}")
            return
        if self.rank is not None and a.ndim != self.rank:
            ctx.err(path, f"expected {want}, got {a.dtype} {_shape(a)}")
            return
        if any(n > MAX_DIM for n in a.shape):
            ctx.err(path, f"expected axes of at most {MAX_DIM}, got {_shape(a)}")
            return
        if self.dtype == "int" and a.size:
            lo, hi = _bound(self.lo, self.parent), _bound(self.hi, self.parent)
            amin, amax = int(a.min()), int(a.max())
            if (lo is not None and amin < lo) or (hi is not None and amax > hi):
                bad = amin if lo is not None and amin < lo else amax
                ctx.err(path, f"expected values {_range_text(lo, hi)}, got {bad}")


@dataclass
class Obj(Spec):
    """An object with ``required`` and ``optional`` keys; ``check(obj, path, ctx)`` runs
    once every field passed (cross-field checks such as array shapes)."""

    required: dict[str, Spec]
    optional: dict[str, Spec] = field(default_factory=dict)
    extra: bool = False
    check_fn: Callable[[dict, str, Ctx], None] | None = None

    def check(self, v: Any, path: str, ctx: Ctx) -> None:
        if not isinstance(v, dict):
            ctx.err(path, f"expected an object with keys {', '.join(self.required)}, "
                          f"got {_kind(v)}")
            return
        before = ctx.count
        for k in self.required:
            if k not in v:
                ctx.err(_join(path, k), "required key is missing")
        if not self.extra:
            for k in v:
                if k not in self.required and k not in self.optional:
                    accepted = ", ".join([*self.required, *self.optional])
                    ctx.err(_join(path, str(k)), f"unknown key; accepted: {accepted}")
        for k, spec in [*self.required.items(), *self.optional.items()]:
            if k in v:
                _with_parent(spec, v).check(v[k], _join(path, k), ctx)
        if self.check_fn is not None and ctx.count == before:
            self.check_fn(v, path, ctx)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _with_parent(spec: Spec, parent: dict) -> Spec:
    """``spec`` whose callable bounds see ``parent`` (Int / Arr, also inside Nullable)."""
    if isinstance(spec, Int | Arr) and (callable(spec.lo) or callable(spec.hi)):
        return type(spec)(**{**spec.__dict__, "parent": parent})
    if isinstance(spec, Nullable):
        return Nullable(_with_parent(spec.inner, parent))
    return spec


def expect_shape(ctx: Ctx, path: str, key: str, shape: tuple[int, ...], what: str = "") -> bool:
    """Report when array ``key`` does not have ``shape``; True when it does."""
    a = ctx.array(key)
    if a is None or a.shape == tuple(shape):
        return True
    want = "[" + ", ".join(str(n) for n in shape) + "]"
    ctx.err(path, f"expected {a.dtype.kind == 'b' and 'bool' or 'int'} array of shape {want}"
                  f"{' (' + what + ')' if what else ''}, got {a.dtype} {_shape(a)}")
    return False


def check(spec: Spec, doc: Any, arrays: Mapping[str, np.ndarray], limit: int = 50) -> list[str]:
    """Every problem of ``doc`` (with ``arrays``) against ``spec``, as ``path: message``."""
    ctx = Ctx(arrays, limit=limit)
    spec.check(doc, "", ctx)
    if ctx.count > len(ctx.problems):
        ctx.problems.append(f"... and {ctx.count - len(ctx.problems)} more problem(s)")
    return ctx.problems
