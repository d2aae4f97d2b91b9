"""Online STDP training of a ``layer`` stage (docs/model.md §5) in torch or numba: the per-kind half
of :func:`neutnngen.model.train` (which documents the modes and backends).

Per wave and column: forward with the current weights, inhibition, credit
(``winner``|``dendrite``), R-STDP reward when the rule says so, then capture / minus /
search / backoff with the stabilisation bits ``Fup``/``Fdown`` and ``mu_min``; the new
weights are effective the next wave. Columns are trained group by group
(:class:`~neutnngen.model.columns.TNNColumns` stacks of one shape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ....errors import ConfigError
from ....ir.common import NONE, RandomSource
from ....ir.rng import draws_per_wave, stabilisation_table
from ....ir.stages.layer.state import H_LIMIT
from ...columns import POLICY_CODES, PROXIMAL_CODES, TNNColumns
from ...lfsr import lfsr_draws
from .module import TNNLayer

DRAW_BUDGET = 1 << 22  # int16 draws per chunk of waves


# --------------------------------------------------------------------------- group state
@dataclass
class _Group:
    """Numpy/torch state of one column group while it learns."""

    mod: TNNColumns
    cols: list[int]
    idx: np.ndarray  # [Cg, p] layer-input lines of each column
    Wd: np.ndarray  # int16 [Cg, G, p]
    Md: np.ndarray
    theta: np.ndarray  # [Cg, G]
    Wp: np.ndarray  # int16 [Cg, Gp, P] (Gp = G sum, q gate; (Cg, 0, 0) none)
    Mp: np.ndarray
    thetap: np.ndarray  # [Cg, q]
    Xp: np.ndarray  # int16 [N, Cg, P]
    state: np.ndarray | None  # LFSR states [Cg, ngen]
    gen_seg: np.ndarray
    gen_prox: np.ndarray
    nd: int
    toff: np.ndarray | None = None  # [Cg, G] M2 offsets (theta - (sum w >> shift)) at the start
    H: np.ndarray | None = None  # [Cg, q] M5 win-rate counters


def _group_state(layer: TNNLayer, gi: int, lprox: np.ndarray | None, N: int) -> _Group:
    m: TNNColumns = layer.groups[gi]
    cols = layer.group_columns[gi]
    Cg, G, p, P, q = m.C, m.n_segments, m.p, m.P, m.q
    cpu = lambda t: t.detach().cpu().numpy()  # noqa: E731
    Wd = cpu(m.weight).reshape(Cg, G, p).astype(np.int16)
    Md = cpu(m.mask).reshape(Cg, G, p).astype(bool)
    theta = cpu(m.theta).reshape(Cg, G).astype(np.int64)
    if m.proximal_weight is not None:
        Gp = G if m.proximal_mode == "sum" else q
        Wp = cpu(m.proximal_weight).reshape(Cg, Gp, P).astype(np.int16)
        Mp = cpu(m.proximal_mask).reshape(Cg, Gp, P).astype(bool)
    else:
        Wp = np.zeros((Cg, 0, 0), dtype=np.int16)
        Mp = np.zeros((Cg, 0, 0), dtype=bool)
    thetap = (cpu(m.proximal_theta).astype(np.int64) if m.proximal_theta is not None
              else np.zeros((Cg, q), dtype=np.int64))
    if P > 0 and lprox is not None:
        pidx = np.asarray([layer.prox_offsets[c] + i for c in cols for i in range(P)])
        Xp = lprox[:, pidx].reshape(N, Cg, P)
        Xp = np.where(Xp < 0, NONE, Xp) if m.proximal_mode != "enable" else Xp
    else:
        Xp = np.full((N, Cg, P), 1 if m.proximal_mode == "enable" else NONE)
    Xp = np.clip(Xp, -1, np.iinfo(np.int16).max).astype(np.int16)
    if m.proximal_mode == "enable":
        Xp = (Xp != 0).astype(np.int16)
    idx = cpu(layer.column_index)[cols].astype(np.int64)
    state = cpu(m.seeds).astype(np.int64) if m.seeds is not None else None
    if m.random is not None and m.random.get("sharing") == "column":
        gen_seg = np.zeros(G, dtype=np.int64)
        gen_prox = np.zeros(q, dtype=np.int64)
    else:
        gen_seg = np.arange(G, dtype=np.int64)
        gen_prox = G + np.arange(q, dtype=np.int64)
    return _Group(m, cols, np.ascontiguousarray(idx), np.ascontiguousarray(Wd), np.ascontiguousarray(Md),
                  np.ascontiguousarray(theta), np.ascontiguousarray(Wp), np.ascontiguousarray(Mp),
                  np.ascontiguousarray(thetap), np.ascontiguousarray(Xp), state, gen_seg, gen_prox,
                  draws_per_wave(m.w_max))


def _random_source(m: TNNColumns) -> RandomSource:
    return RandomSource(seeds=np.ones(1, dtype=np.int64), **m.random)


def _chunk_draws(g: _Group, mode: str, n: int, gen: torch.Generator) -> np.ndarray:
    """Draws ``[n, Cg, ngen, nd]`` int16 for the next ``n`` waves (advances the state)."""
    m = g.mod
    ngen = m.n_generators
    if mode == "exact":
        rs = _random_source(m)
        d, new = lfsr_draws(rs, g.state.reshape(-1), n * g.nd, np.int16)
        g.state = new.reshape(g.state.shape)
        return np.ascontiguousarray(d.reshape(m.C, ngen, n, g.nd).transpose(2, 0, 1, 3))
    bits = m.random["draw_bits"] if m.random else 10
    d = torch.randint(0, 1 << bits, (n, m.C, ngen, g.nd), generator=gen, dtype=torch.int16)
    return d.numpy()


# --------------------------------------------------------------------------- torch loop
def _stdp_torch(w, mask, x, z, dr, mus, uup, udn, wmax, r, targeted=False, tmax=7):
    """One wave of STDP on banks ``w[C, G, n]`` (torch): ``x[C, n]`` inputs, ``z[C, G]``
    credited times, ``dr[C, G, nd]`` draws, ``r[C]`` reward or ``None``. Mirrors
    ``interp.stdp_bank`` (``targeted``: ``kernels.targeted_bank``)."""
    bc, bm, bs, bb, bmin = (dr[..., k:k + 1] < mus[k] for k in range(5))  # [C, G, 1]
    if targeted:
        wl = w.long()
        xb = x[:, None, :].long()
        zf = z[..., None] >= 0
        xf = xb >= 0
        tm = max(int(tmax), 1)
        tau = torch.where(xf, ((tm - xb) * wmax).div(tm, rounding_mode="floor").clamp(min=0),
                          torch.zeros_like(xb))
        inc = (zf & (wl < tau) & bc) | (~zf & xf & bs)
        dec = zf & (wl > tau) & torch.where(xf, bm, bb)
        new = (wl + inc.long() - dec.long()).clamp(0, wmax)
        return torch.where(mask, new, torch.zeros_like(new))
    lvl = dr[..., 5:5 + wmax + 1].long()
    wl = w.long()
    lw = torch.gather(lvl, 2, wl)  # the draw of each synapse's weight level
    up = lw < uup[wl]
    dn = lw < udn[wl]
    xb = x[:, None, :]
    zb = z[..., None]
    xf = xb >= 0
    zf = zb >= 0
    cap = xf & zf & (xb <= zb)
    minus = xf & zf & (xb > zb)
    search = xf & ~zf
    back = ~xf & zf
    if r is not None:
        rb = r[:, None, None]
        nothing = rb == 0
        cap = cap & ~nothing
        minus = minus & ~nothing
        back = back & ~nothing
        search = search & nothing
        neg = rb == -1
        inc_cap = cap & bc & (bmin | up) & ~neg
        dec_cap = cap & bc & (bmin | dn) & neg
    else:
        inc_cap = cap & bc & (bmin | up)
        dec_cap = torch.zeros_like(cap)
    inc = inc_cap | (search & bs)
    dec = dec_cap | (minus & bm & (bmin | dn)) | (back & bb & (bmin | dn))
    new = (wl + inc.long() - dec.long()).clamp(0, wmax)
    return torch.where(mask, new, torch.zeros_like(new))


def mu_rows(rule, waves: int, mu_shift: np.ndarray | None) -> np.ndarray:
    """``[waves, 5]``: the ``mu`` of every wave in draw order, capture, minus, search and
    backoff shifted right by the wave's ``mu_shift`` (M4; ``mu_min`` unchanged)."""
    rows = np.tile(np.asarray(rule.mus(), dtype=np.int64), (waves, 1))
    if mu_shift is not None:  # checked by train(): one shift >= 0 per wave
        sh = np.asarray(mu_shift, dtype=np.int64)
        rows[:, :4] >>= np.minimum(sh, 15)[:, None]  # mu < 2**11: 15 and beyond give 0
    return rows


def _budget_torch(w: torch.Tensor, mask: torch.Tensor, w_max: int, w_norm: int) -> torch.Tensor:
    """M8 on banks ``w[C, G, n]``: ``ir.stages.layer.kernels.weight_budget`` per row."""
    s = torch.where(mask, w, torch.zeros_like(w)).sum(dim=-1)
    B = (mask.sum(dim=-1).long() * int(w_max) * int(w_norm)) >> 8
    scaled = torch.div(w * B[..., None], s.clamp(min=1)[..., None], rounding_mode="floor")
    return torch.where((s > B)[..., None] & mask, scaled, w)


def _run_torch(g: _Group, X: torch.Tensor, order: np.ndarray, draws: np.ndarray, rule,
               mus_w: np.ndarray, labels, stats_arrays, rec, hist) -> None:
    m = g.mod
    dev = X.device
    Cg, G, q, D = m.C, m.n_segments, m.q, m.D
    Wd = torch.as_tensor(g.Wd, device=dev).long()
    Md = torch.as_tensor(g.Md, device=dev)
    Wp = torch.as_tensor(g.Wp, device=dev).long()
    Mp = torch.as_tensor(g.Mp, device=dev)
    Xp = torch.as_tensor(g.Xp, device=dev).long()
    idx = torch.as_tensor(g.idx, device=dev)
    dr_all = torch.as_tensor(draws, device=dev).long()
    tg, tmx = rule.kind == "targeted", int(m.time.t_max_in)
    uup_d, udn_d = (torch.as_tensor(np.array(a), device=dev) for a in stabilisation_table(m.distal_w_max))
    uup_p, udn_p = (torch.as_tensor(np.array(a), device=dev) for a in stabilisation_table(m.proximal_w_max))
    gen_seg = torch.as_tensor(g.gen_seg, device=dev)
    gen_prox = torch.as_tensor(g.gen_prox, device=dev)
    lab = None if labels is None else torch.as_tensor(labels, device=dev)
    wins, fired, changes = stats_arrays
    wins_t = torch.zeros((Cg, q), dtype=torch.long, device=dev)
    fired_t = torch.zeros(Cg, dtype=torch.long, device=dev)
    ch_t = torch.zeros(Cg, dtype=torch.long, device=dev)
    Gp = Wp.shape[1]
    # M2 relative thresholds / M5 win-rate counters: the thresholds of every wave
    rel = rule.theta == "relative"
    hom = rule.homeostasis == "winrate"
    tsh, h_step, h_shift = int(rule.theta_shift), int(rule.h_step), int(rule.h_shift)
    toff = torch.as_tensor(g.toff, device=dev) if rel or hom else None
    H = torch.as_tensor(g.H, device=dev)
    wnorm = int(rule.w_norm)
    for wv in range(len(order)):
        mus = [int(u) for u in mus_w[wv]]
        s = int(order[wv])
        xc = X[s][idx]  # [Cg, p]
        xp = Xp[s][None] if m.P > 0 else None  # [1, Cg, P]
        pw = Wp.reshape(m.proximal_weight.shape) if m.proximal_weight is not None else None
        th = None
        if toff is not None:
            th = toff.clone()
            if rel:
                th += Wd.sum(dim=-1) >> tsh
            if hom:
                th += torch.repeat_interleave(H >> h_shift, D * m.S, dim=1)
            th = th.clamp(min=1)
        tr = m.forward_direct(xc[None], xp, Wd.reshape(m.weight.shape), pw, theta=th)
        out = tr.out[0]  # [Cg, q]
        f = out >= 0
        wins_t += f.long()
        fired_t += f.any(dim=1).long()
        r = None
        if rule.kind == "rstdp":
            big = torch.where(f, out, torch.full_like(out, 1 << 20))
            first = big.argmin(dim=1)
            r = torch.where(~f.any(dim=1), torch.zeros_like(first),
                            torch.where(first == lab[s], torch.ones_like(first), -torch.ones_like(first)))
        # credit
        seg_won = tr.segment_won[0]  # [Cg, q, D, S]
        if rule.credit == "dendrite":
            zs = seg_won
            zp = tr.proximal[0]
        else:
            dsel = tr.dendrite_won[0][..., None] == torch.arange(D, device=dev)
            ok = f[..., None, None] & dsel[..., None] & (seg_won >= 0)
            zs = torch.where(ok, seg_won, torch.full_like(seg_won, NONE))
            zp = torch.where(f, tr.proximal[0], torch.full_like(out, NONE))
        zs = zs.reshape(Cg, G)
        dr = dr_all[wv]  # [Cg, ngen, nd]
        drs = dr[:, gen_seg]  # [Cg, G, nd]
        newd = _stdp_torch(Wd, Md, xc, zs, drs, mus, uup_d, udn_d, m.distal_w_max, r, tg, tmx)
        ch = (newd != Wd).sum(dim=(1, 2))
        Wd = newd
        if m.proximal_mode == "sum" and Gp > 0:
            newp = _stdp_torch(Wp, Mp, Xp[s], zs, drs, mus, uup_p, udn_p, m.proximal_w_max, r,
                               tg, tmx)
            ch += (newp != Wp).sum(dim=(1, 2))
            Wp = newp
        elif m.proximal_mode == "gate":
            drp = dr[:, gen_prox]
            newp = _stdp_torch(Wp, Mp, Xp[s], zp, drp, mus, uup_p, udn_p, m.proximal_w_max, r,
                               tg, tmx)
            ch += (newp != Wp).sum(dim=(1, 2))
            Wp = newp
        if wnorm:  # M8: every distal segment over its budget scaled down
            nb = _budget_torch(Wd, Md, m.distal_w_max, wnorm)
            ch += (nb != Wd).sum(dim=(1, 2))
            Wd = nb
        ch_t += ch
        if hom:  # M5, effective next wave
            H = (H - h_step + q * h_step * f.long()).clamp(-H_LIMIT, H_LIMIT)
        if rec:
            hist[0][wv] = Wd.cpu().numpy()
            if Gp > 0:
                hist[1][wv] = Wp.cpu().numpy()
            hist[2][wv] = out.cpu().numpy()
    g.Wd = Wd.cpu().numpy().astype(np.int16)
    g.Wp = Wp.cpu().numpy().astype(np.int16)
    g.H = np.ascontiguousarray(H.cpu().numpy().astype(np.int64))
    wins += wins_t.cpu().numpy()
    fired += fired_t.cpu().numpy()
    changes += ch_t.cpu().numpy()


def _run_numba(kernel, g: _Group, X: np.ndarray, order: np.ndarray, draws: np.ndarray, rule,
               mus_w: np.ndarray, labels, stats_arrays, rec, hist) -> None:
    m = g.mod
    wins, fired, changes = stats_arrays
    uup_d, udn_d = (np.ascontiguousarray(a, dtype=np.int64) for a in stabilisation_table(m.distal_w_max))
    uup_p, udn_p = (np.ascontiguousarray(a, dtype=np.int64) for a in stabilisation_table(m.proximal_w_max))
    lab = (np.zeros(X.shape[0], dtype=np.int64) if labels is None
           else np.ascontiguousarray(labels, dtype=np.int64))
    if rec:
        hd, hp, ho = hist
    else:
        hd = np.zeros((0, 0, 0, 0), dtype=np.int16)
        hp = np.zeros((0, 0, 0, 0), dtype=np.int16)
        ho = np.zeros((0, 0, 0), dtype=np.int16)
    seg, col = m.segment_inhibition, m.column_inhibition
    kernel(X, np.ascontiguousarray(order, dtype=np.int64), g.idx, g.Wd, g.Md, g.theta,
           g.Wp, g.Mp, g.Xp, g.thetap,
           m.q, m.D, m.S, POLICY_CODES[seg.policy], int(seg.k), POLICY_CODES[col.policy],
           int(col.k), PROXIMAL_CODES[m.proximal_mode], int(m.time.response == "rnl"), m.T,
           m.distal_w_max, m.proximal_w_max, int(rule.credit == "winner"),
           int(rule.kind == "rstdp"), draws, g.gen_seg, g.gen_prox,
           np.ascontiguousarray(mus_w, dtype=np.int64), uup_d, udn_d, uup_p, udn_p, lab,
           wins, fired, changes, int(rec), hd, hp, ho, int(rule.kind == "targeted"),
           int(m.time.t_max_in), int(rule.theta == "relative"), int(rule.theta_shift), g.toff,
           int(rule.homeostasis == "winrate"), int(rule.h_step), int(rule.h_shift), g.H,
           int(getattr(m, "tie", "lowest") == "overshoot"), int(getattr(rule, "w_norm", 0)))


# --------------------------------------------------------------------------- one layer
def train_layer(tl: TNNLayer, Xl: np.ndarray, lprox: np.ndarray | None, *, order: np.ndarray,
                mode: str, labels: np.ndarray | None, kernel, gen: torch.Generator,
                record: bool, report: Callable[[int], None],
                mu_shift: np.ndarray | None = None) -> tuple[dict, dict | None]:
    """Train every column group of ``tl`` on its input volleys ``Xl[N, inputs]`` in wave
    order ``order`` (``kernel``: the numba kernel, or ``None`` for the torch loop). The
    trained weights (and, ``exact``, LFSR states) are written back into ``tl``. Returns
    the statistics (coverage, wins, weight changes) and, with ``record``, the history.
    ``mu_shift``: M4, wave ``k`` of ``order`` learns with capture, minus, search and
    backoff ``mu >> mu_shift[k]`` (one training run: LFSRs, offsets and counters carry
    on)."""
    N = Xl.shape[0]
    dev = tl.column_index.device
    Xl16 = np.ascontiguousarray(np.clip(Xl, -1, np.iinfo(np.int16).max).astype(np.int16))
    Xdev = torch.as_tensor(Xl, device=dev) if kernel is None else None
    wins = np.zeros((tl.n_columns, max(tl.column_neurons)), dtype=np.int64)
    fired = np.zeros(tl.n_columns, dtype=np.int64)
    changes = np.zeros(tl.n_columns, dtype=np.int64)
    hist_layer = None
    if record:
        hist_layer = {"distal": [None] * tl.n_columns, "proximal": [None] * tl.n_columns,
                      "outputs": np.full((len(order), tl.outputs), NONE, dtype=np.int64)}
    rule = tl.learning
    cols_before = 0
    mus_all = mu_rows(rule, len(order), mu_shift)
    relative = rule is not None and rule.theta == "relative"
    winrate = rule is not None and rule.homeostasis == "winrate"
    for gi, m in enumerate(tl.groups):
        g = _group_state(tl, gi, lprox, N)
        sh = int(rule.theta_shift) if relative else 0
        g.toff = np.ascontiguousarray(
            g.theta - (g.Wd.astype(np.int64).sum(axis=-1) >> sh) if relative
            else g.theta.copy())
        g.H = np.zeros((m.C, m.q), dtype=np.int64)
        if mode == "exact" and g.state is None:
            raise ConfigError(f"layer {tl.name!r}: a learning column has no RandomSource")
        ngen = m.n_generators
        chunk = max(1, DRAW_BUDGET // max(1, m.C * ngen * g.nd))
        gw = np.zeros((m.C, m.q), dtype=np.int64)
        gf = np.zeros(m.C, dtype=np.int64)
        gc = np.zeros(m.C, dtype=np.int64)
        hd_all, hp_all, ho_all = [], [], []
        for w0 in range(0, len(order), chunk):
            o = order[w0:w0 + chunk]
            mus = mus_all[w0:w0 + chunk]
            draws = _chunk_draws(g, mode, len(o), gen)
            hist = None
            if record:
                hist = (np.zeros((len(o),) + g.Wd.shape, dtype=np.int16),
                        np.zeros((len(o),) + g.Wp.shape, dtype=np.int16),
                        np.zeros((len(o), m.C, m.q), dtype=np.int16))
            if kernel is not None:
                _run_numba(kernel, g, Xl16, o, draws, rule, mus, labels, (gw, gf, gc), record,
                           hist)
            else:
                _run_torch(g, Xdev, o, draws, rule, mus, labels, (gw, gf, gc), record, hist)
            if record:
                hd_all.append(hist[0])
                hp_all.append(hist[1])
                ho_all.append(hist[2])
            # waves of this layer, all columns counted
            report((cols_before * len(order) + m.C * (w0 + len(o))) // tl.n_columns)
        # write back into the model
        with torch.no_grad():
            m.weight.copy_(torch.as_tensor(g.Wd.astype(np.int64)).reshape(m.weight.shape))
            if m.proximal_weight is not None:
                m.proximal_weight.copy_(
                    torch.as_tensor(g.Wp.astype(np.int64)).reshape(m.proximal_weight.shape))
            if mode == "exact" and m.seeds is not None:
                m.seeds.copy_(torch.as_tensor(g.state))
            if relative or winrate:  # the thresholds the next wave would use
                th = g.toff.copy()
                if relative:
                    th += g.Wd.astype(np.int64).sum(axis=-1) >> sh
                if winrate:
                    th += np.repeat(g.H >> int(rule.h_shift), m.D * m.S, axis=1)
                th = np.maximum(1, th)
                m.theta.copy_(torch.as_tensor(th).reshape(m.theta.shape))
        cols_before += m.C
        for k, c in enumerate(g.cols):
            wins[c, :m.q] = gw[k]
            fired[c] = gf[k]
            changes[c] = gc[k]
        if record and len(order):
            _collect_history(hist_layer, tl, g, m, len(order), hd_all, hp_all, ho_all)
    W = len(order)
    stats = {"coverage": (fired / W).tolist() if W else [0.0] * tl.n_columns,
             "wins": wins.tolist(), "weight_changes": changes.tolist()}
    return stats, hist_layer


def _collect_history(hist_layer: dict, tl: TNNLayer, g: _Group, m: TNNColumns, W: int,
                     hd_all: list, hp_all: list, ho_all: list) -> None:
    hd = np.concatenate(hd_all)
    hp = np.concatenate(hp_all)
    ho = np.concatenate(ho_all).astype(np.int64)
    for k, c in enumerate(g.cols):
        hist_layer["distal"][c] = hd[:, k].reshape((W,) + tuple(m.weight.shape[1:])).astype(np.int64)
        if m.proximal_weight is not None:
            hist_layer["proximal"][c] = hp[:, k].reshape(
                (W,) + tuple(m.proximal_weight.shape[1:])).astype(np.int64)
        o0 = tl.out_offsets[c]
        hist_layer["outputs"][:, o0:o0 + m.q] = ho[:, k]
