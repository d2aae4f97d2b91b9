"""Canonical text form of the IR (for ``--dump-ir``, golden tests and diffs).

One node per line: ``KEYWORD key=value ...``, indented two spaces per level. Values are
integers, bare words, JSON strings, or lists ``[a,b,...]`` in which ``.`` marks an absent
(pruned) synapse. :func:`parse` reads it back; ``print(parse(print(net)))`` is stable.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from ..errors import IRFormatError
from .nodes import (
    Column,
    Inhibition,
    Kernel,
    Layer,
    LearningRule,
    Network,
    RandomSource,
    Retime,
    SynapseBank,
    TimeSpec,
)

HEADER = "neutnngen-ir 1"


def _list(values: Any, mask: Any = None) -> str:
    v = np.asarray(values).reshape(-1)
    if mask is None:
        return "[" + ",".join(str(int(a)) for a in v) + "]"
    m = np.asarray(mask).reshape(-1)
    return "[" + ",".join(str(int(a)) if k else "." for a, k in zip(v, m, strict=True)) + "]"


def to_text(net: Network) -> str:
    """The canonical text of ``net``."""
    L: list[str] = [HEADER]
    L.append(f"network name={json.dumps(net.name)} inputs={net.inputs} "
             f"timeres={net.time.timeres} response={net.time.response}")
    for k, v in net.meta:
        L.append(f"  meta key={json.dumps(k)} value={json.dumps(v)}")
    for st in net.stages:
        if isinstance(st, Retime):
            L.append(f"  retime name={json.dumps(st.name)} shift={st.shift} t_max={st.t_max}")
            continue
        lr = st.learning
        learn = "learning=none"
        if lr is not None:
            learn = (f"learning={lr.kind} credit={lr.credit} mu_capture={lr.mu_capture} "
                     f"mu_minus={lr.mu_minus} mu_search={lr.mu_search} "
                     f"mu_backoff={lr.mu_backoff} mu_min={lr.mu_min}")
        L.append(f"  layer name={json.dumps(st.name)} inputs={st.inputs} {learn}")
        if st.kernel is not None:
            kern = st.kernel
            L.append(f"    kernel height={kern.height} width={kern.width} channels={kern.channels} "
                     f"rfsize={kern.rfsize} stride={kern.stride}")
        for col in st.columns:
            L.extend(_column_lines(col))
    return "\n".join(L) + "\n"


def _column_lines(col: Column) -> list[str]:
    q, D, S = col.neurons, col.dendrites, col.segments
    L = [f"    column name={json.dumps(col.name)} inputs={col.inputs} neurons={q} "
         f"dendrites={D} segments={S} wres={col.distal.wres} "
         f"segment_inhibition={col.segment_inhibition} column_inhibition={col.column_inhibition} "
         f"proximal_mode={col.proximal_mode} proximal_inputs={col.proximal_inputs}"
         + (f" proximal_wres={col.proximal.wres}" if col.proximal is not None else "")]
    rs = col.random
    if rs is not None:
        L.append(f"      random kind={rs.kind} width={rs.width} taps={_list(rs.taps)} "
                 f"steps_per_draw={rs.steps_per_draw} draw_bits={rs.draw_bits} "
                 f"sharing={rs.sharing} seeds={_list(rs.seeds)}")
    for i in range(q):
        L.append(f"      neuron index={i}")
        if col.proximal_mode == "gate" and col.proximal is not None and col.proximal_theta is not None:
            L.append(f"        proximal_segment theta={int(col.proximal_theta[i])} "
                     f"weights={_list(col.proximal.weights[i], col.proximal.mask[i])}")
        for d in range(D):
            L.append(f"        dendrite index={d}")
            for s in range(S):
                line = (f"          segment index={s} theta={int(col.theta[i, d, s])} "
                        f"weights={_list(col.distal.weights[i, d, s], col.distal.mask[i, d, s])}")
                if col.proximal_mode == "sum" and col.proximal is not None:
                    line += (" proximal="
                             + _list(col.proximal.weights[i, d, s], col.proximal.mask[i, d, s]))
                L.append(line)
    return L


_TOKEN = re.compile(r'\s*([A-Za-z_][A-Za-z_0-9]*)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^\s]+)')


def _parse_value(raw: str) -> Any:
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


def _bank(vals: list) -> tuple[list[int], list[bool]]:
    return [0 if v is None else v for v in vals], [v is not None for v in vals]


def parse(text: str) -> Network:
    """Parse the canonical text back into a :class:`Network`."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0].strip() != HEADER:
        got = lines[0].strip() if lines else "<empty>"
        raise IRFormatError(f"not neutnngen IR text: first line {got!r}; expected {HEADER!r}")
    net_attrs: dict = {}
    meta: list[tuple[str, str]] = []
    stages: list = []
    layer: dict | None = None
    col: dict | None = None

    def close_col() -> None:
        nonlocal col
        if col is None:
            return
        a = col["attrs"]
        q, D, S, p = a["neurons"], a["dendrites"], a["segments"], a["inputs"]
        segs = col["segments"]
        if len(segs) != q * D * S:
            raise IRFormatError(f"column {a['name']!r}: {len(segs)} segments; expected {q * D * S}")
        w, m = zip(*[_bank(sg["weights"]) for sg in segs], strict=True)
        distal = SynapseBank(np.array(w).reshape(q, D, S, p), np.array(m).reshape(q, D, S, p), a["wres"])
        theta = np.array([sg["theta"] for sg in segs]).reshape(q, D, S)
        prox = None
        ptheta = None
        mode = a["proximal_mode"]
        P = a["proximal_inputs"]
        if mode == "sum" and "proximal_wres" in a:
            pw, pm = zip(*[_bank(sg["proximal"]) for sg in segs], strict=True)
            prox = SynapseBank(np.array(pw).reshape(q, D, S, P), np.array(pm).reshape(q, D, S, P),
                               a["proximal_wres"])
        elif mode == "gate" and "proximal_wres" in a:
            ps = col["proximal"]
            pw, pm = zip(*[_bank(sg["weights"]) for sg in ps], strict=True)
            prox = SynapseBank(np.array(pw).reshape(q, P), np.array(pm).reshape(q, P), a["proximal_wres"])
            ptheta = np.array([sg["theta"] for sg in ps])
        rs = None
        if col["random"] is not None:
            r = col["random"]
            rs = RandomSource(seeds=np.array(r["seeds"]), kind=r["kind"], width=r["width"],
                              taps=tuple(r["taps"]), steps_per_draw=r["steps_per_draw"],
                              draw_bits=r["draw_bits"], sharing=r["sharing"])
        assert layer is not None
        layer["columns"].append(Column(
            name=a["name"], inputs=p, distal=distal, theta=theta,
            segment_inhibition=Inhibition.parse(a["segment_inhibition"]),
            column_inhibition=Inhibition.parse(a["column_inhibition"]),
            proximal_mode=mode, proximal_inputs=P, proximal=prox, proximal_theta=ptheta,
            random=rs))
        col = None

    def close_layer() -> None:
        nonlocal layer
        close_col()
        if layer is None:
            return
        a = layer["attrs"]
        lr = None
        if a["learning"] != "none":
            lr = LearningRule(kind=a["learning"], credit=a["credit"], mu_capture=a["mu_capture"],
                              mu_minus=a["mu_minus"], mu_search=a["mu_search"],
                              mu_backoff=a["mu_backoff"], mu_min=a["mu_min"])
        stages.append(Layer(name=a["name"], inputs=a["inputs"], columns=tuple(layer["columns"]),
                            kernel=layer["kernel"], learning=lr))
        layer = None

    for n, ln in enumerate(lines[1:], start=2):
        kw, _, rest = ln.strip().partition(" ")
        try:
            attrs = {k: _parse_value(v) for k, v in _TOKEN.findall(rest)}
            if kw == "network":
                net_attrs = attrs
            elif kw == "meta":
                meta.append((attrs["key"], attrs["value"]))
            elif kw == "retime":
                close_layer()
                stages.append(Retime(attrs["name"], attrs["shift"], attrs["t_max"]))
            elif kw == "layer":
                close_layer()
                layer = {"attrs": attrs, "columns": [], "kernel": None}
            elif kw == "kernel":
                assert layer is not None
                layer["kernel"] = Kernel(**attrs)
            elif kw == "column":
                close_col()
                col = {"attrs": attrs, "segments": [], "proximal": [], "random": None}
            elif kw == "random":
                assert col is not None
                col["random"] = attrs
            elif kw in ("neuron", "dendrite"):
                pass
            elif kw == "segment":
                assert col is not None
                col["segments"].append(attrs)
            elif kw == "proximal_segment":
                assert col is not None
                col["proximal"].append(attrs)
            else:
                raise IRFormatError(f"line {n}: unknown node {kw!r}")
        except (KeyError, TypeError, AssertionError, ValueError) as e:
            raise IRFormatError(f"line {n}: malformed {kw!r} line ({type(e).__name__}: {e})") from e
    close_layer()
    try:
        ts = TimeSpec(net_attrs["timeres"], net_attrs["response"])
        return Network(net_attrs["name"], ts, net_attrs["inputs"], tuple(stages), tuple(meta))
    except KeyError as e:
        raise IRFormatError(f"network line lacks {e}") from e
