"""Verification adapter of stage kind ``layer``: the weight registers (``names.json``
``weights``: ``layerK/colC/nI/dD/sS/wJ`` distal, ``.../dD/sS/pJ`` proximal in ``sum`` mode,
``.../prox/pJ`` proximal in ``gate`` mode), the LFSR states (``rng``:
``layerK/colC/gG``) and the M5 win-rate counters (``homeostasis``: ``layerK/colC/hI``,
two's complement) of layer ``K``."""

from __future__ import annotations

import re

from ...errors import ToolchainError
from . import Entry, VerifyAdapter

WEIGHT_PATH = re.compile(r"^layer(\d+)/col(\d+)/n(\d+)/(?:d(\d+)/s(\d+)|prox)/([wp])(\d+)$")
RNG_PATH = re.compile(r"^layer(\d+)/col(\d+)/g(\d+)$")
H_PATH = re.compile(r"^layer(\d+)/col(\d+)/h(\d+)$")


def entries(names, stage, tap) -> list[Entry]:
    k = int(stage["layer"])
    out = []
    for path, e in (names.get("weights") or {}).items():
        m = WEIGHT_PATH.match(path)
        if m is None:
            raise ToolchainError(f"names.json: cannot read weight path {path!r}")
        if int(m[1]) != k:
            continue
        c, i, j = int(m[2]), int(m[3]), int(m[7])
        if m[6] == "w":
            kind, idx = "w", (i, int(m[4]), int(m[5]), j)
        elif m[4] is not None:
            kind, idx = "p", (i, int(m[4]), int(m[5]), j)
        else:
            kind, idx = "p", (i, j)
        out.append(Entry(path, str(e["signal"]), int(e["bits"]), k, c, kind, idx,
                         int(e["addr"]), tap))
    for key, pattern, kind, what in (("rng", RNG_PATH, "g", "generator"),
                                     ("homeostasis", H_PATH, "h", "win-rate counter")):
        for path, e in (names.get(key) or {}).items():
            m = pattern.match(path)
            if m is None:
                raise ToolchainError(f"names.json: cannot read {what} path {path!r}")
            if int(m[1]) == k:
                out.append(Entry(path, str(e["signal"]), int(e["bits"]), k, int(m[2]), kind,
                                 (int(m[3]),), None, tap))
    return out


def value(e: Entry, it) -> int:
    if e.kind == "w":
        return int(it.distal[e.layer][e.column][e.index])
    if e.kind == "p":
        return int(it.proximal[e.layer][e.column][e.index])
    if e.kind == "h":  # M5 counter, two's complement in e.bits bits (as the register)
        return int(it.H[e.layer][e.column][e.index[0]]) & ((1 << e.bits) - 1)
    return int(it.rng[e.layer][e.column][e.index[0]])


KIND = VerifyAdapter("layer", entries=entries, value=value)
