"""The ``lut`` stage kind: a spiking look-up table (docs/model.md §12).

A layer as tables indexed by the *order* of input spikes (after Izhikevich's "spiking
manifesto", 2025): table ``i`` reads ``k`` input lines ``lines[i]``; every pair ``(a, b)``
of them (``a < b`` in the table's line order, pairs numbered lexicographically) gives one
bit of the table's *code*, set when line ``a`` spikes strictly earlier than line ``b``
(a silent line is later than every spike; ties and two silent lines give 0). The code
selects an entry ``table[i, code]``: one vote ``0 .. 2**vbits - 1`` per output line. The
votes of all tables are added, ``S[o]``; the output volley is

    t[o] = NONE                                if S[o] < theta
    t[o] = min((max_o' S[o'] - S[o]) >> shift, t_max)   otherwise

(the most-voted lines spike at 0). Integer-only. Not a layer: it acts within the wave of
the stage before it, like ``Retime``; its output times are ``0 .. t_max <= t_max_in``, so a
TNN layer can follow it.

Text::

    lut name="lut0" vbits=3 theta=1 shift=0 t_max=7 outputs=2
      table lines=[3,17,40] votes=[...]       # 2**P * outputs votes, code-major

JSON: ``{"type": "lut", "name", "vbits", "theta", "shift", "t_max", "lines": key,
"table": key}`` with arrays ``lines[tables, k]`` and ``table[tables, 2**P, outputs]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common import NONE, TimeSpec, frozen_array
from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_list, fmt_str

K_MIN, K_MAX = 2, 6
"""Lines per table: 2 .. 6 (a 6-line table has 15 code bits, 32768 entries)."""


def pairs(k: int) -> list[tuple[int, int]]:
    """The ordered line pairs of a ``k``-line table; pair ``p`` is code bit ``p``."""
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def code_bits(k: int) -> int:
    return k * (k - 1) // 2


@dataclass(frozen=True, eq=False)
class Lut:
    """Spiking look-up table stage (see the module docstring)."""

    name: str
    lines: np.ndarray  # int [tables, k]: input lines read by each table
    table: np.ndarray  # int [tables, 2**P, outputs]: votes 0 .. 2**vbits - 1
    vbits: int = 3
    theta: int = 1  # >= 1: fewest votes for a line to spike
    shift: int = 0  # vote margin -> time: (S_top - S) >> shift
    t_max: int = 7  # latest output time (<= t_max_in)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", frozen_array(self.lines, np.int64))
        object.__setattr__(self, "table", frozen_array(self.table, np.int64))

    @property
    def tables(self) -> int:
        return int(self.lines.shape[0]) if self.lines.ndim == 2 else 0

    @property
    def k(self) -> int:
        return int(self.lines.shape[1]) if self.lines.ndim == 2 else 0

    @property
    def outputs(self) -> int:
        return int(self.table.shape[2]) if self.table.ndim == 3 else 0

    @property
    def v_max(self) -> int:
        return (1 << self.vbits) - 1

    @property
    def table_bits(self) -> int:
        """Bits of every table entry together (the ROM)."""
        return int(self.table.size) * self.vbits


def lut_codes(x: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The code of every table for volleys ``x[B, width]``: ``[B, tables]``."""
    x = np.asarray(x, dtype=np.int64)
    t = x[:, lines]  # [B, tables, k]
    spk = t >= 0
    code = np.zeros(t.shape[:2], dtype=np.int64)
    for p, (a, b) in enumerate(pairs(lines.shape[1])):
        earlier = spk[..., a] & (~spk[..., b] | (t[..., a] < t[..., b]))
        code |= earlier.astype(np.int64) << p
    return code


def lut_votes(x: np.ndarray, node: Lut) -> np.ndarray:
    """Vote totals ``S[B, outputs]``."""
    code = lut_codes(x, node.lines)
    return node.table[np.arange(node.tables)[None, :], code].sum(axis=1)


def lut_times(S: np.ndarray, node: Lut) -> np.ndarray:
    """Output volley from vote totals (docs/model.md §12)."""
    top = S.max(axis=1, keepdims=True)
    t = np.minimum((top - S) >> node.shift, node.t_max)
    return np.where(S < node.theta, NONE, t)


def lut(x: np.ndarray, node: Lut) -> np.ndarray:
    return lut_times(lut_votes(x, node), node)


class LutState(StageState):
    node: Lut

    def forward(self, x: np.ndarray, side: np.ndarray | None) -> tuple[np.ndarray, None]:
        return lut(x, self.node), None


class LutKind(StageKind):
    name = "lut"
    node = Lut

    def outputs(self, node: Lut, width: int) -> int:
        return node.outputs

    def max_time(self, node: Lut, time: TimeSpec, max_in: int) -> int:
        return node.t_max

    def verify(self, node: Lut, ctx: StageContext, err: Err) -> None:
        p = ctx.path
        if node.lines.ndim != 2 or node.lines.shape[0] < 1 or not (
                K_MIN <= node.lines.shape[1] <= K_MAX):
            err(p, f"lines has shape {node.lines.shape}; expected (tables, k) with tables >= 1 "
                   f"and k = {K_MIN}..{K_MAX}")
            return
        T, k = node.lines.shape
        bad = np.argwhere((node.lines < 0) | (node.lines >= ctx.width))
        if len(bad):
            i, j = (int(v) for v in bad[0])
            err(p, f"lines[{i}][{j}]={int(node.lines[i, j])} out of range; expected "
                   f"0..{ctx.width - 1} (a line of the previous stage)")
        for i in range(T):
            u, n = np.unique(node.lines[i], return_counts=True)
            if (n > 1).any():
                err(p, f"table {i} reads line {int(u[n > 1][0])} twice; expected {k} "
                       "distinct lines")
                break
        want = (T, 1 << code_bits(k))
        if node.table.ndim != 3 or node.table.shape[:2] != want or node.table.shape[2] < 1:
            err(p, f"table has shape {node.table.shape}; expected ({want[0]}, {want[1]}, "
                   f"outputs >= 1): one entry per code of each of the {T} tables of {k} lines")
        if not 1 <= node.vbits <= 8:
            err(p, f"vbits={node.vbits}; expected 1..8")
        elif node.table.size:
            hi = np.argwhere((node.table < 0) | (node.table > node.v_max))
            if len(hi):
                i, c, o = (int(v) for v in hi[0])
                err(p, f"table[{i}][{c}][{o}]={int(node.table[i, c, o])} out of range; "
                       f"expected 0..{node.v_max} (vbits={node.vbits})")
        if node.theta < 1:
            err(p, f"theta={node.theta}; expected >= 1")
        if not 0 <= node.shift <= 16:
            err(p, f"shift={node.shift}; expected 0..16")
        if not 0 <= node.t_max <= ctx.time.t_max_in:
            err(p, f"t_max={node.t_max} out of range; expected 0..{ctx.time.t_max_in} "
                   "(the next layer's t_max_in)")

    def to_text(self, node: Lut) -> list[str]:
        out = [f"lut name={fmt_str(node.name)} vbits={node.vbits} theta={node.theta} "
               f"shift={node.shift} t_max={node.t_max} outputs={node.outputs}"]
        for i in range(node.tables):
            out.append(f"  table lines={fmt_list(node.lines[i])} "
                       f"votes={fmt_list(node.table[i])}")
        return out

    def from_text(self, lines: list[tuple[int, str, dict]]) -> Lut:
        (_, _, a), *rest = lines
        q = int(a["outputs"])
        ls, tb = [], []
        for n, kw, b in rest:
            if kw != "table":
                raise ValueError(f"a lut holds only table lines; line {n} is {kw!r}")
            ls.append(b["lines"])
            v = np.array(b["votes"], dtype=np.int64)
            if q < 1 or v.size % q:
                raise ValueError(f"line {n}: {v.size} votes are not a multiple of outputs={q}")
            tb.append(v.reshape(-1, q))
        if not ls:
            raise ValueError("a lut needs at least one table line")
        if len({len(x) for x in ls}) != 1 or len({t.shape for t in tb}) != 1:
            raise ValueError("every table line of a lut needs the same number of lines and votes")
        return Lut(a["name"], np.array(ls, dtype=np.int64), np.stack(tb), a["vbits"],
                   a["theta"], a["shift"], a["t_max"])

    def to_json(self, node: Lut, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
        return {"name": node.name, "vbits": node.vbits, "theta": node.theta,
                "shift": node.shift, "t_max": node.t_max,
                "lines": arr(f"{prefix}/lines", node.lines, np.int32),
                "table": arr(f"{prefix}/table", node.table, np.uint8)}

    def from_json(self, doc: dict, get: Callable[[str], np.ndarray]) -> Lut:
        return Lut(doc["name"], get(doc["lines"]), get(doc["table"]), doc["vbits"],
                   doc["theta"], doc["shift"], doc["t_max"])

    def json_schema(self):
        from ..schema import Arr, Int, Obj, Str

        return Obj({"type": Str(("lut",)), "name": Str(max_len=200), "vbits": Int(1, 8),
                    "theta": Int(1, 1 << 20), "shift": Int(0, 16), "t_max": Int(0, 1 << 16),
                    "lines": Arr("int", 2, 0, None), "table": Arr("int", 3, 0, 255)})

    def init_state(self, node: Lut, time: TimeSpec) -> LutState:
        return LutState(node)


KIND = LutKind()
