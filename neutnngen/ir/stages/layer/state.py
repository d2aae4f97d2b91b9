"""Interpreter state of the ``layer`` stage kind: the current weights and LFSR states of every
column, inference over the columns (kernel wiring, proximal lines) and one wave of STDP."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...common import NONE, TimeSpec
from ...kinds import StageState
from ...rng import advance, draws_per_wave
from .kernels import ColumnTrace, column_forward, credited, reward, stdp_bank, weight_budget
from .nodes import Column, Layer


def label_lines(layer: Layer, labels: np.ndarray) -> np.ndarray | None:
    """Proximal lines of a learning layer derived from labels (supervised learning through
    ``enable``): line ``i`` of an ``enable`` column is set iff the label is ``i``; the lines
    of its other columns are silent. ``None`` when the layer does not learn or has no
    ``enable`` column (its proximal lines keep their defaults)."""
    if layer.learning is None or not any(c.proximal_mode == "enable" for c in layer.columns):
        return None
    labels = np.asarray(labels).reshape(-1)
    parts = []
    for col in layer.columns:
        if col.proximal_mode == "enable":
            parts.append((labels[:, None] == np.arange(col.neurons)[None, :]).astype(np.int64))
        else:
            parts.append(np.full((len(labels), col.proximal_inputs), NONE, dtype=np.int64))
    return np.concatenate(parts, axis=1)


H_LIMIT = 1 << 20  # M5: the win-rate counters saturate at +-2**20


class LayerState(StageState):
    """``distal[c]``, ``proximal[c]`` (or ``None``) and ``rng[c]`` (LFSR states, or ``None``)
    of column ``c``: private copies, updated in place by :meth:`learn`."""

    node: Layer

    def __init__(self, layer: Layer, time: TimeSpec):
        super().__init__(layer)
        self.time = time
        self.distal: list[np.ndarray] = [np.array(c.distal.weights) for c in layer.columns]
        self.proximal: list[np.ndarray | None] = [
            None if c.proximal is None else np.array(c.proximal.weights) for c in layer.columns]
        self.rng: list[np.ndarray | None] = [
            None if c.random is None else np.array(c.random.seeds) for c in layer.columns]
        # M2 relative thresholds: each segment's offset from its weight sum at the start
        rule = layer.learning
        self.relative = rule is not None and rule.theta == "relative"
        self.winrate = rule is not None and rule.homeostasis == "winrate"
        self.H: list[np.ndarray | None] = [
            np.zeros(c.neurons, dtype=np.int64) if self.winrate else None
            for c in layer.columns]
        self.theta_off: list[np.ndarray | None] = [
            (np.asarray(c.theta, dtype=np.int64) - (self.distal[ci].sum(axis=-1)
                                                   >> rule.theta_shift))
            if self.relative else None for ci, c in enumerate(layer.columns)]

    def current_theta(self, ci: int) -> np.ndarray:
        """Thresholds ``[q, D, S]`` of column ``ci`` now: the IR's, or with a relative rule
        ``max(1, (sum_j w_gj >> theta_shift) + offset_g)`` of the current weights."""
        col = self.node.columns[ci]
        rule = self.node.learning
        if not (self.relative or self.winrate):
            return np.asarray(col.theta)
        base = np.asarray(col.theta, dtype=np.int64)
        if self.relative:
            base = (self.distal[ci].sum(axis=-1) >> rule.theta_shift) + self.theta_off[ci]
        if self.winrate:
            base = base + (self.H[ci] >> rule.h_shift)[:, None, None]
        return np.maximum(1, base)

    def _column(self, ci: int, col: Column) -> Column:
        if self.relative or self.winrate:
            return replace(col, theta=self.current_theta(ci))
        return col

    def _side(self, side: np.ndarray | None):
        """``(column, its proximal lines or None)`` for every column."""
        pofs = 0
        for col in self.node.columns:
            pc = None
            if side is not None and col.proximal_inputs:
                pc = side[:, pofs:pofs + col.proximal_inputs]
            pofs += col.proximal_inputs
            yield col, pc

    def forward(self, x: np.ndarray, side: np.ndarray | None
                ) -> tuple[np.ndarray, list[ColumnTrace]]:
        layer = self.node
        traces = []
        for ci, (col, pc) in enumerate(self._side(side)):
            xc = x[:, layer.column_inputs(ci)]
            traces.append(column_forward(self._column(ci, col), self.time, xc, pc,
                                         self.distal[ci], self.proximal[ci]))
        return np.concatenate([t.out for t in traces], axis=1), traces

    def learn(self, x: np.ndarray, side: np.ndarray | None, trace: list[ColumnTrace],
              label: int | None) -> None:
        layer = self.node
        for ci, (col, pc) in enumerate(self._side(side)):
            xc = x[0, layer.column_inputs(ci)]
            self._learn_column(ci, col, xc, None if pc is None else pc[0], trace[ci], label)

    def _learn_column(self, ci: int, col: Column, x: np.ndarray, prox: np.ndarray | None,
                      tr: ColumnTrace, label: int | None) -> None:
        self._learn_weights(ci, col, x, prox, tr, label)
        if self.winrate:  # M5, effective next wave
            rule = self.node.learning
            H = self.H[ci] - rule.h_step + (tr.out[0] >= 0) * (col.neurons * rule.h_step)
            self.H[ci] = np.clip(H, -H_LIMIT, H_LIMIT)

    def _learn_weights(self, ci: int, col: Column, x: np.ndarray, prox: np.ndarray | None,
                       tr: ColumnTrace, label: int | None) -> None:
        rule = self.node.learning
        assert rule is not None and col.random is not None
        state = self.rng[ci]
        if state is None:  # the IR verifier guarantees a RandomSource on learning columns
            raise ValueError(f"layer {self.node.name!r} column {ci} learns but has no "
                             "RandomSource")
        draws, self.rng[ci] = advance(col.random, state, draws_per_wave(col.w_max))
        q, D, S = col.neurons, col.dendrites, col.segments
        nseg = q * D * S
        if col.random.sharing == "column":
            draws = np.repeat(draws, nseg + (q if col.proximal_mode == "gate" else 0), axis=0)
        r = None
        if rule.kind == "rstdp":
            if label is None:
                raise ValueError("R-STDP needs a label for every learning wave")
            r = reward(tr.out[0], label)
        zs, zp = credited(tr, rule, col.proximal_mode)
        zs = zs[0].reshape(nseg)
        dw = self.distal[ci].reshape(nseg, -1)
        dmask = col.distal.mask.reshape(nseg, -1)
        nw = stdp_bank(dw, dmask, col.distal.w_max, x, zs, draws[:nseg], rule, r,
                       self.time.t_max_in)
        self.distal[ci] = weight_budget(nw, dmask, col.distal.w_max, rule.w_norm).reshape(
            col.distal.weights.shape)
        pb = col.proximal
        if pb is None or col.proximal_inputs == 0:
            return
        xp = np.full(col.proximal_inputs, NONE) if prox is None else np.asarray(prox)
        cur = self.proximal[ci]
        if cur is None:
            return
        if col.proximal_mode == "sum":
            pw = cur.reshape(nseg, -1)
            self.proximal[ci] = stdp_bank(pw, pb.mask.reshape(nseg, -1), pb.w_max, xp, zs,
                                          draws[:nseg], rule, r,
                                          self.time.t_max_in).reshape(pb.weights.shape)
        elif col.proximal_mode == "gate":
            self.proximal[ci] = stdp_bank(cur, pb.mask, pb.w_max, xp,
                                          zp[0], draws[nseg:nseg + q], rule, r,
                                          self.time.t_max_in)

    def to_node(self) -> Layer:
        cols = []
        for ci, col in enumerate(self.node.columns):
            c = col.with_weights(self.distal[ci], self.proximal[ci])
            if self.relative or self.winrate:
                c = replace(c, theta=self.current_theta(ci))
            st = self.rng[ci]
            if c.random is not None and st is not None:
                c = replace(c, random=replace(c.random, seeds=st))
            cols.append(c)
        return replace(self.node, columns=tuple(cols))
