"""The IR's deterministic random source (docs/model.md §5), in numpy. See :class:`RandomSource`."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .common import MU_ONE, RandomSource


def lfsr_step(state: np.ndarray, width: int, tapmask: int) -> np.ndarray:
    """One Fibonacci step for every state in ``state`` (int64 array)."""
    fb = np.zeros_like(state)
    t = state & tapmask
    while True:  # parity by folding
        if not t.any():
            break
        fb ^= t & 1
        t = t >> 1
    return ((state << 1) | fb) & ((1 << width) - 1)


@lru_cache(maxsize=8)
def _draw_table(width: int, tapmask: int, steps: int) -> np.ndarray | None:
    """State transition of one draw for every state, when the table is small enough."""
    if width > 20:
        return None
    s = np.arange(1 << width, dtype=np.int64)
    for _ in range(steps):
        s = lfsr_step(s, width, tapmask)
    s.setflags(write=False)
    return s


def advance(rs: RandomSource, state: np.ndarray, n_draws: int) -> tuple[np.ndarray, np.ndarray]:
    """Make ``n_draws`` draws from every generator.

    Returns ``(draws [generators, n_draws], new_state)``.
    """
    state = np.asarray(state, dtype=np.int64)
    out = np.empty((state.shape[0], n_draws), dtype=np.int64)
    table = _draw_table(rs.width, rs.tapmask, rs.steps_per_draw)
    low = (1 << rs.draw_bits) - 1
    for k in range(n_draws):
        if table is not None:
            state = table[state]
        else:
            for _ in range(rs.steps_per_draw):
                state = lfsr_step(state, rs.width, rs.tapmask)
        out[:, k] = state & low
    return out, state


def draws_per_wave(w_max: int) -> int:
    """Draws per generator per learning wave: 5 mu comparisons + one per weight level."""
    return 5 + w_max + 1


def round_u(num: int, den: int) -> int:
    """``round(MU_ONE * num / den)``, halves rounded up, in exact integer arithmetic."""
    return (2 * MU_ONE * num + den) // (2 * den)


@lru_cache(maxsize=32)
def stabilisation_table(w_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``(u_up[w], u_down[w])`` for ``w = 0 .. w_max``: ``Fup(w) = B(u_up[w])`` with
    ``a = w / w_max``, ``Fup = a(2 - a)``, ``Fdown = (1 - a)(1 + a)``, each rounded to the
    nearest ``u / 1024``."""
    den = w_max * w_max
    up = np.array([round_u(w * (2 * w_max - w), den) for w in range(w_max + 1)], dtype=np.int64)
    down = np.array([round_u(den - w * w, den) for w in range(w_max + 1)], dtype=np.int64)
    up.setflags(write=False)
    down.setflags(write=False)
    return up, down
