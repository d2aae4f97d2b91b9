"""The ``retime`` stage kind: explicit, saturating time conversion between layers.

Text: ``retime name="rt" shift=1 t_max=7``; JSON: ``{"type": "retime", "name", "shift",
"t_max"}`` (no arrays).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common import NONE, TimeSpec
from ..kinds import Err, StageContext, StageKind, StageState
from ..text import fmt_str


@dataclass(frozen=True)
class Retime:
    """Explicit, saturating time conversion between layers: ``x' = min(z >> shift, t_max)``;
    NONE stays NONE."""

    name: str
    shift: int  # >= 0
    t_max: int  # the next layer's t_max_in


def retime(z: np.ndarray, rt: Retime) -> np.ndarray:
    """``x' = min(z >> shift, t_max)``, NONE stays NONE."""
    z = np.asarray(z, dtype=np.int64)
    return np.where(z < 0, NONE, np.minimum(z >> rt.shift, rt.t_max))


class RetimeState(StageState):
    node: Retime

    def forward(self, x: np.ndarray, side: np.ndarray | None) -> tuple[np.ndarray, None]:
        return retime(x, self.node), None


class RetimeKind(StageKind):
    name = "retime"
    node = Retime

    def max_time(self, node: Retime, time: TimeSpec, max_in: int) -> int:
        return min(max_in >> max(node.shift, 0), node.t_max)

    def verify(self, node: Retime, ctx: StageContext, err: Err) -> None:
        if node.shift < 0:
            err(ctx.path, f"shift={node.shift}; expected >= 0")
        if node.t_max != ctx.time.t_max_in:
            err(ctx.path, f"t_max={node.t_max} but the next layer's t_max_in is "
                          f"{ctx.time.t_max_in}")

    def to_text(self, node: Retime) -> list[str]:
        return [f"retime name={fmt_str(node.name)} shift={node.shift} t_max={node.t_max}"]

    def from_text(self, lines: list[tuple[int, str, dict]]) -> Retime:
        (n, _, a), *rest = lines
        if rest:
            raise ValueError(f"a retime has no nested lines; line {rest[0][0]} is {rest[0][1]!r}")
        return Retime(a["name"], a["shift"], a["t_max"])

    def to_json(self, node: Retime, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
        return {"name": node.name, "shift": node.shift, "t_max": node.t_max}

    def from_json(self, doc: dict, get: Callable[[str], np.ndarray]) -> Retime:
        return Retime(doc["name"], doc["shift"], doc["t_max"])

    def json_schema(self):
        from ..schema import Int, Obj, Str

        return Obj({"type": Str(("retime",)), "name": Str(max_len=200), "shift": Int(0, 62),
                    "t_max": Int(0, 1 << 16)})

    def init_state(self, node: Retime, time: TimeSpec) -> RetimeState:
        return RetimeState(node)


KIND = RetimeKind()
