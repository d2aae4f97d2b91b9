"""Canonical text form of the IR (for ``--dump-ir``, golden tests and diffs).

One node per line: ``KEYWORD key=value ...``, indented two spaces per level. Values are
integers, bare words, JSON strings, or lists ``[a,b,...]`` in which ``.`` marks an absent
(pruned) synapse. :func:`parse` reads it back; ``print(parse(print(net)))`` is stable.

The network line and its ``meta`` lines are written here; every stage is one block whose
first line (indented two spaces) starts with the stage's kind name and whose deeper lines
belong to it. Each kind writes and reads its own block
(:meth:`~neutnngen.ir.kinds.StageKind.to_text` / ``from_text``) with the helpers below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import IRFormatError
from .common import TimeSpec
from .kinds import UnknownStageKind, kind_named, kind_of
from .network import Network

HEADER = "neutnngen-ir 1"
STAGE_INDENT = "  "


# --------------------------------------------------------------------------- helpers
def fmt_list(values: Any, mask: Any = None) -> str:
    """``[a,b,...]``; with ``mask``, ``.`` for every absent entry."""
    v = np.asarray(values).reshape(-1)
    if mask is None:
        return "[" + ",".join(str(int(a)) for a in v) + "]"
    m = np.asarray(mask).reshape(-1)
    return "[" + ",".join(str(int(a)) if k else "." for a, k in zip(v, m, strict=True)) + "]"


def fmt_str(s: str) -> str:
    """A JSON string (names, meta values)."""
    return json.dumps(s)


_TOKEN = re.compile(r'\s*([A-Za-z_][A-Za-z_0-9]*)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s]+)')


def parse_value(raw: str) -> Any:
    if raw.startswith('"'):
        return json.loads(raw)
    if raw.startswith("["):
        body = raw[1:-1].strip()
        if not body:
            return []
        return [None if a.strip() == "." else int(a) for a in body.split(",")]
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def parse_attrs(rest: str) -> dict[str, Any]:
    """The ``key=value`` pairs of one line (after its keyword)."""
    return {k: parse_value(v) for k, v in _TOKEN.findall(rest)}


def bank_values(vals: list) -> tuple[list[int], list[bool]]:
    """Weights and mask of a parsed list (``.`` = absent, weight 0)."""
    return [0 if v is None else v for v in vals], [v is not None for v in vals]


@contextmanager
def at_line(n: int, kw: str) -> Iterator[None]:
    """Turn a malformed line's ``KeyError``/``TypeError``/``ValueError``/``AssertionError``
    into an :class:`IRFormatError` naming line ``n``."""
    try:
        yield
    except IRFormatError:
        raise
    except (KeyError, TypeError, AssertionError, ValueError) as e:
        raise IRFormatError(f"line {n}: malformed {kw!r} line ({type(e).__name__}: {e})") from e


# --------------------------------------------------------------------------- print
def to_text(net: Network) -> str:
    """The canonical text of ``net``."""
    L: list[str] = [HEADER]
    L.append(f"network name={fmt_str(net.name)} inputs={net.inputs} "
             f"timeres={net.time.timeres} response={net.time.response}")
    for k, v in net.meta:
        L.append(f"{STAGE_INDENT}meta key={fmt_str(k)} value={fmt_str(v)}")
    for st in net.stages:
        L.extend(STAGE_INDENT + line for line in kind_of(st).to_text(st))
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- parse
def parse(text: str) -> Network:
    """Parse the canonical text back into a :class:`Network`."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0].strip() != HEADER:
        got = lines[0].strip() if lines else "<empty>"
        raise IRFormatError(f"not neutnngen IR text: first line {got!r}; expected {HEADER!r}")
    net_attrs: dict | None = None
    meta: list[tuple[str, str]] = []
    blocks: list[list[tuple[int, str, dict]]] = []
    for n, ln in enumerate(lines[1:], start=2):
        depth = len(ln) - len(ln.lstrip(" "))
        kw, _, rest = ln.strip().partition(" ")
        with at_line(n, kw):
            attrs = parse_attrs(rest)
        if depth > len(STAGE_INDENT):  # a line nested in the current stage
            if not blocks:
                raise IRFormatError(f"line {n}: {kw!r} line outside any stage")
            blocks[-1].append((n, kw, attrs))
        elif kw == "network" and net_attrs is None:
            net_attrs = attrs
        elif kw == "meta":
            with at_line(n, kw):
                meta.append((attrs["key"], attrs["value"]))
        else:
            try:
                kind_named(kw)
            except UnknownStageKind as e:
                raise IRFormatError(f"line {n}: unknown node {kw!r}: {e.message}") from None
            blocks.append([(n, kw, attrs)])
    stages = []
    for block in blocks:
        n, kw, _ = block[0]
        with at_line(n, kw):
            stages.append(kind_named(kw).from_text(block))
    if net_attrs is None:
        raise IRFormatError("no network line")
    try:
        ts = TimeSpec(net_attrs["timeres"], net_attrs["response"])
        return Network(net_attrs["name"], ts, net_attrs["inputs"], tuple(stages), tuple(meta))
    except KeyError as e:
        raise IRFormatError(f"network line lacks {e}") from e
