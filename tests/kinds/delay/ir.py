"""IR level of the toy ``delay`` stage kind (numpy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neutnngen.ir.common import NONE, TimeSpec, frozen_array
from neutnngen.ir.kinds import Err, StageContext, StageKind, StageState
from neutnngen.ir.text import fmt_list, fmt_str


@dataclass(frozen=True, eq=False)
class Delay:
    """Per-line delay with saturation: ``x'[j] = min(x[j] + d[j], t_max)``; NONE stays NONE.

    Not a layer: it acts within the wave of the layer before it, like ``Retime``."""

    name: str
    d: np.ndarray  # int [lines], >= 0: delay of each line in time steps
    t_max: int  # 0 .. t_max_in: the largest time it emits (the next layer's t_max_in)

    def __post_init__(self) -> None:
        object.__setattr__(self, "d", frozen_array(self.d, np.int64))


def delay(x: np.ndarray, node: Delay) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    return np.where(x < 0, NONE, np.minimum(x + node.d, node.t_max))


class DelayState(StageState):
    node: Delay

    def forward(self, x: np.ndarray, side: np.ndarray | None) -> tuple[np.ndarray, None]:
        return delay(x, self.node), None


class DelayKind(StageKind):
    name = "delay"
    node = Delay

    def max_time(self, node: Delay, time: TimeSpec, max_in: int) -> int:
        return min(max_in + int(node.d.max(initial=0)), node.t_max)

    def verify(self, node: Delay, ctx: StageContext, err: Err) -> None:
        if node.d.shape != (ctx.width,):
            err(ctx.path, f"d has shape {node.d.shape}; expected ({ctx.width},): one delay per "
                          "line of the previous stage")
        neg = np.flatnonzero(node.d < 0)
        if len(neg):
            err(ctx.path, f"d={int(node.d[neg[0]])} at line {int(neg[0])}; expected >= 0")
        if not 0 <= node.t_max <= ctx.time.t_max_in:
            err(ctx.path, f"t_max={node.t_max} out of range; expected 0..{ctx.time.t_max_in}")

    def to_text(self, node: Delay) -> list[str]:
        return [f"delay name={fmt_str(node.name)} t_max={node.t_max} d={fmt_list(node.d)}"]

    def from_text(self, lines: list[tuple[int, str, dict]]) -> Delay:
        (_, _, a), *rest = lines
        if rest:
            raise ValueError(f"a delay has no nested lines; line {rest[0][0]} is {rest[0][1]!r}")
        return Delay(a["name"], np.array(a["d"], dtype=np.int64), a["t_max"])

    def to_json(self, node: Delay, prefix: str, arr: Callable[[str, Any, Any], str]) -> dict:
        return {"name": node.name, "t_max": node.t_max, "d": arr(f"{prefix}/d", node.d, np.int16)}

    def from_json(self, doc: dict, get: Callable[[str], np.ndarray]) -> Delay:
        return Delay(doc["name"], get(doc["d"]), doc["t_max"])

    def init_state(self, node: Delay, time: TimeSpec) -> DelayState:
        return DelayState(node)


KIND = DelayKind()
