"""Vectorised draws of the IR's LFSR random source (docs/model.md §5), for many waves at once.

The draws of a generator do not depend on the data, so the trainer precomputes them for a
whole chunk of waves. One *draw* maps a state ``s`` to ``D(s)`` (``steps_per_draw`` LFSR
steps). ``D`` is a permutation of the ``2**width`` states (the feedback includes the top
bit, which :func:`neutnngen.ir.verify` enforces, so one step is invertible). We decompose
``D`` into cycles once per ``(width, taps, steps_per_draw)``; then the ``k``-th draw of a
generator in state ``s`` is ``cycle[(pos[s] + k) mod len]``: the draws of a whole chunk of
waves are the generator's cycle rotated and tiled (copies, no sequential LFSR steps). The result is checked against
:func:`neutnngen.ir.rng.advance` (the oracle) in the tests.

Widths above 20 bits (no table) fall back to the oracle's own step loop.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..ir.nodes import RandomSource
from ..ir.rng import advance, draws_per_wave

MAX_TABLE_WIDTH = 20


def _step_all(state: np.ndarray, width: int, tapmask: int) -> np.ndarray:
    t = state & tapmask
    fb = np.zeros_like(state)
    while t.any():
        fb ^= t & 1
        t = t >> 1
    return ((state << 1) | fb) & ((1 << width) - 1)


@lru_cache(maxsize=8)
def _cycles(width: int, tapmask: int, steps: int):
    """``(cycle_states, start_of_state_cycle, pos_of_state, len_of_state_cycle)``."""
    n = 1 << width
    s = np.arange(n, dtype=np.int64)
    for _ in range(steps):
        s = _step_all(s, width, tapmask)
    nxt = s.tolist()
    seen = bytearray(n)
    order: list[int] = []
    start = np.zeros(n, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    for s0 in range(n):
        if seen[s0]:
            continue
        off = len(order)
        cur = s0
        cyc = []
        while not seen[cur]:
            seen[cur] = 1
            cyc.append(cur)
            cur = nxt[cur]
        order.extend(cyc)
        idx = np.asarray(cyc, dtype=np.int64)
        start[idx] = off
        pos[idx] = np.arange(len(cyc), dtype=np.int64)
        length[idx] = len(cyc)
    cyc_states = np.asarray(order, dtype=np.int64)
    for a in (cyc_states, start, pos, length):
        a.setflags(write=False)
    return cyc_states, start, pos, length


def lfsr_draws(rs: RandomSource, state: np.ndarray, n: int, dtype=np.int64
               ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws of every generator in ``state`` (any shape): ``(draws [*shape, n], new_state)``.

    Equal to :func:`neutnngen.ir.rng.advance` (draws ``state & (2**draw_bits - 1)`` after
    each draw). Each generator's draws are its cycle of the draw map, rotated to start
    after its state and tiled to length ``n`` (memory copies only, no sequential steps).
    """
    state = np.asarray(state, dtype=np.int64)
    shape = state.shape
    flat = state.reshape(-1)
    low = (1 << rs.draw_bits) - 1
    if n == 0:
        return np.empty((*shape, 0), dtype=dtype), state.copy()
    if rs.width > MAX_TABLE_WIDTH:
        d, new = advance(rs, flat, n)
        return d.reshape(*shape, n).astype(dtype), new.reshape(shape)
    cyc, start, pos, length = _cycles(rs.width, rs.tapmask, rs.steps_per_draw)
    out = np.empty((flat.shape[0], n), dtype=dtype)
    new = np.empty_like(flat)
    for i, s0 in enumerate(flat.tolist()):
        st, p0, L = int(start[s0]), int(pos[s0]), int(length[s0])
        seg = cyc[st:st + L]
        rolled = np.concatenate([seg[p0 + 1:], seg[:p0 + 1]]) & low  # draws 1 .. L
        out[i] = np.resize(rolled.astype(dtype), n)
        new[i] = seg[(p0 + n) % L]
    return out.reshape(*shape, n), new.reshape(shape)


def wave_draws(rs: RandomSource, state: np.ndarray, waves: int, w_max: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Draws of ``waves`` learning waves for generators ``state[G]``:
    ``(draws [waves, G, 5 + w_max + 1] int16, new_state [G])``."""
    nd = draws_per_wave(w_max)
    d, new = lfsr_draws(rs, state, waves * nd, np.int16)
    G = np.asarray(state).reshape(-1).shape[0]
    d = d.reshape(G, waves, nd).transpose(1, 0, 2)
    return np.ascontiguousarray(d), new
