"""Canonical text block of the ``layer`` stage kind.

::

    layer name="l0" inputs=6 learning=stdp credit=winner mu_capture=640 ...
      kernel height=6 width=6 channels=2 rfsize=3 stride=3
      column name="c0" inputs=18 neurons=3 dendrites=1 segments=1 wres=3 ...
        random kind=lfsr-fibonacci width=16 taps=[16,15,13,4] ... seeds=[...]
        neuron index=0
          proximal_segment theta=2 weights=[1,.,3]          (gate mode)
          dendrite index=0
            segment index=0 theta=5 weights=[1,2,.,7] proximal=[...]   (sum mode)
"""

from __future__ import annotations

import numpy as np

from ....errors import IRFormatError
from ...common import Inhibition, LearningRule, RandomSource, SynapseBank
from ...text import at_line, bank_values, fmt_list, fmt_str
from .nodes import Column, Kernel, Layer


def layer_lines(st: Layer) -> list[str]:
    lr = st.learning
    learn = "learning=none"
    if lr is not None:
        learn = (f"learning={lr.kind} credit={lr.credit} mu_capture={lr.mu_capture} "
                 f"mu_minus={lr.mu_minus} mu_search={lr.mu_search} "
                 f"mu_backoff={lr.mu_backoff} mu_min={lr.mu_min}")
        if lr.theta != "fixed":
            learn += f" theta={lr.theta} theta_shift={lr.theta_shift}"
        if lr.homeostasis != "none":
            learn += (f" homeostasis={lr.homeostasis} h_step={lr.h_step} "
                      f"h_shift={lr.h_shift}")
        if lr.w_norm:
            learn += f" w_norm={lr.w_norm}"
    L = [f"layer name={fmt_str(st.name)} inputs={st.inputs} {learn}"]
    if st.kernel is not None:
        kern = st.kernel
        L.append(f"  kernel height={kern.height} width={kern.width} channels={kern.channels} "
                 f"rfsize={kern.rfsize} stride={kern.stride}")
    for col in st.columns:
        L.extend(_column_lines(col))
    return L


def _column_lines(col: Column) -> list[str]:
    q, D, S = col.neurons, col.dendrites, col.segments
    L = [f"  column name={fmt_str(col.name)} inputs={col.inputs} neurons={q} "
         f"dendrites={D} segments={S} wres={col.distal.wres} "
         f"segment_inhibition={col.segment_inhibition} column_inhibition={col.column_inhibition} "
         f"proximal_mode={col.proximal_mode} proximal_inputs={col.proximal_inputs}"
         + (f" proximal_wres={col.proximal.wres}" if col.proximal is not None else "")
         + (f" tie={col.tie}" if col.tie != "lowest" else "")]
    rs = col.random
    if rs is not None:
        L.append(f"    random kind={rs.kind} width={rs.width} taps={fmt_list(rs.taps)} "
                 f"steps_per_draw={rs.steps_per_draw} draw_bits={rs.draw_bits} "
                 f"sharing={rs.sharing} seeds={fmt_list(rs.seeds)}")
    for i in range(q):
        L.append(f"    neuron index={i}")
        if col.proximal_mode == "gate" and col.proximal is not None and col.proximal_theta is not None:
            L.append(f"      proximal_segment theta={int(col.proximal_theta[i])} "
                     f"weights={fmt_list(col.proximal.weights[i], col.proximal.mask[i])}")
        for d in range(D):
            L.append(f"      dendrite index={d}")
            for s in range(S):
                line = (f"        segment index={s} theta={int(col.theta[i, d, s])} "
                        f"weights={fmt_list(col.distal.weights[i, d, s], col.distal.mask[i, d, s])}")
                if col.proximal_mode == "sum" and col.proximal is not None:
                    line += (" proximal="
                             + fmt_list(col.proximal.weights[i, d, s], col.proximal.mask[i, d, s]))
                L.append(line)
    return L


def _column(col: dict) -> Column:
    a = col["attrs"]
    q, D, S, p = a["neurons"], a["dendrites"], a["segments"], a["inputs"]
    segs = col["segments"]
    if len(segs) != q * D * S:
        raise ValueError(f"column {a['name']!r}: {len(segs)} segments; expected {q * D * S}")
    w, m = zip(*[bank_values(sg["weights"]) for sg in segs], strict=True)
    distal = SynapseBank(np.array(w).reshape(q, D, S, p), np.array(m).reshape(q, D, S, p), a["wres"])
    theta = np.array([sg["theta"] for sg in segs]).reshape(q, D, S)
    prox = None
    ptheta = None
    mode = a["proximal_mode"]
    P = a["proximal_inputs"]
    if mode == "sum" and "proximal_wres" in a:
        pw, pm = zip(*[bank_values(sg["proximal"]) for sg in segs], strict=True)
        prox = SynapseBank(np.array(pw).reshape(q, D, S, P), np.array(pm).reshape(q, D, S, P),
                           a["proximal_wres"])
    elif mode == "gate" and "proximal_wres" in a:
        ps = col["proximal"]
        pw, pm = zip(*[bank_values(sg["weights"]) for sg in ps], strict=True)
        prox = SynapseBank(np.array(pw).reshape(q, P), np.array(pm).reshape(q, P), a["proximal_wres"])
        ptheta = np.array([sg["theta"] for sg in ps])
    rs = None
    if col["random"] is not None:
        r = col["random"]
        rs = RandomSource(seeds=np.array(r["seeds"]), kind=r["kind"], width=r["width"],
                          taps=tuple(r["taps"]), steps_per_draw=r["steps_per_draw"],
                          draw_bits=r["draw_bits"], sharing=r["sharing"])
    return Column(
        name=a["name"], inputs=p, distal=distal, theta=theta,
        segment_inhibition=Inhibition.parse(a["segment_inhibition"]),
        column_inhibition=Inhibition.parse(a["column_inhibition"]),
        proximal_mode=mode, proximal_inputs=P, proximal=prox, proximal_theta=ptheta, random=rs,
        tie=a.get("tie", "lowest"))


def parse_layer(lines: list[tuple[int, str, dict]]) -> Layer:
    n0, _, a = lines[0]
    kernel = None
    columns: list[Column] = []
    col: dict | None = None

    def close() -> None:
        nonlocal col
        if col is not None:
            with at_line(col["line"], "column"):
                columns.append(_column(col))
            col = None

    for n, kw, attrs in lines[1:]:
        with at_line(n, kw):
            if kw == "kernel":
                kernel = Kernel(**attrs)
            elif kw == "column":
                close()
                col = {"attrs": attrs, "segments": [], "proximal": [], "random": None, "line": n}
            elif kw in ("random", "neuron", "dendrite", "segment", "proximal_segment"):
                if col is None:
                    raise IRFormatError(f"line {n}: {kw!r} line outside a column")
                if kw == "random":
                    col["random"] = attrs
                elif kw == "segment":
                    col["segments"].append(attrs)
                elif kw == "proximal_segment":
                    col["proximal"].append(attrs)
            else:
                raise IRFormatError(f"line {n}: unknown node {kw!r}")
    close()
    with at_line(n0, "layer"):
        lr = None
        if a["learning"] != "none":
            lr = LearningRule(kind=a["learning"], credit=a["credit"], mu_capture=a["mu_capture"],
                              mu_minus=a["mu_minus"], mu_search=a["mu_search"],
                              mu_backoff=a["mu_backoff"], mu_min=a["mu_min"],
                              theta=a.get("theta", "fixed"),
                              theta_shift=a.get("theta_shift", 1),
                              homeostasis=a.get("homeostasis", "none"),
                              h_step=a.get("h_step", 1), h_shift=a.get("h_shift", 4),
                              w_norm=a.get("w_norm", 0))
        return Layer(name=a["name"], inputs=a["inputs"], columns=tuple(columns), kernel=kernel,
                     learning=lr)
