"""The compiled CPU kernel of the online STDP trainer (numba; imported lazily).

:func:`train_group` runs the sequential per-wave loop of docs/model.md §5 for a stack of columns of
one shape: forward of one wave with the current weights, inhibition, credit, reward, then
the update of every synapse, effective the next wave. Columns learn independently (their
draws, weights and rewards are their own), so the loop runs column by column, wave by wave.
It mirrors ``neutnngen.ir.interp`` (``column_forward``, ``credited``, ``reward``,
``stdp_bank``) and is tested against it wave by wave.

Codes: inhibition policy 0 wta1, 1 kwta, 2 twta, 3 none; proximal mode 0 sum, 1 enable,
2 gate. Times are int; NONE is any negative value.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BIG = 1 << 20
KO = 1 << 24  # M1 keys: time * KO + KO - 1 - min(overshoot, KO - 1) (kernels.KO)
KBIG = 1 << 62
H_LIMIT = 1 << 20  # M5 counters saturate at +-2**20 (ir.stages.layer.state.H_LIMIT)


@njit(cache=True, inline="always")
def _inhibit(z, lo, n, pol, k, out):
    """Inhibition over ``z[lo:lo+n]`` into ``out[lo:lo+n]`` (ties to the lowest index)."""
    if pol == 3:
        for i in range(lo, lo + n):
            out[i] = z[i] if z[i] >= 0 else -1
        return
    if pol == 2:
        m = BIG
        for i in range(lo, lo + n):
            if z[i] >= 0 and z[i] < m:
                m = z[i]
        for i in range(lo, lo + n):
            out[i] = z[i] if (z[i] >= 0 and z[i] == m) else -1
        return
    kk = 1 if pol == 0 else k
    for i in range(lo, lo + n):
        out[i] = -1
    for _r in range(kk):
        best = -1
        bt = BIG
        for i in range(lo, lo + n):
            if z[i] >= 0 and out[i] < 0 and z[i] < bt:
                best = i
                bt = z[i]
        if best < 0:
            break
        out[best] = z[best]


@njit(cache=True, inline="always")
def _inhibit_k(key, lo, n, pol, k, keep):
    """wta1 (pol 0) / kwta (pol 1) over M1 keys ``key[lo:lo+n]`` (-1 silent): ``keep``."""
    kk = 1 if pol == 0 else k
    for i in range(lo, lo + n):
        keep[i] = 0
    for _r in range(kk):
        best = -1
        bk = KBIG
        for i in range(lo, lo + n):
            if key[i] >= 0 and keep[i] == 0 and key[i] < bk:
                best = i
                bk = key[i]
        if best < 0:
            break
        keep[best] = 1


@njit(cache=True, inline="always")
def _key_at(buf, z, rnl, th):
    """The M1 key of a segment that crossed at ``z``: ``z * KO + KO - 1 - min(V(z) - th,
    KO - 1)``."""
    V = 0
    sl = 0
    for t in range(z + 1):
        if rnl:
            sl += buf[t]
            V += sl
        else:
            V += buf[t]
    o = V - th
    if o > KO - 1:
        o = KO - 1
    return z * KO + (KO - 1 - o)


@njit(cache=True, inline="always")
def _crossing(buf, T, rnl, th):
    V = 0
    sl = 0
    for t in range(T):
        if rnl:
            sl += buf[t]
            V += sl
        else:
            V += buf[t]
        if V >= th:
            return t
    return -1


@njit(cache=True, inline="always")
def _add_lines(buf, xs, ws, n, T, rnl):
    for j in range(n):
        x = xs[j]
        if x >= 0 and x < T:
            w = ws[j]
            if w > 0:
                if rnl:
                    buf[x] += 1
                    e = x + w
                    if e < T:
                        buf[e] -= 1
                else:
                    buf[x] += w


@njit(cache=True, inline="always")
def _deltas(dr, mus, uup, udn, wmax, rstdp, r, cap, minus, back):
    """Per weight level: the capture / minus / backoff change of one segment this wave.
    Returns the search increment (0 or 1)."""
    bc = dr[0] < mus[0]
    bm = dr[1] < mus[1]
    bs = dr[2] < mus[2]
    bb = dr[3] < mus[3]
    bmin = dr[4] < mus[4]
    for w in range(wmax + 1):
        lv = dr[5 + w]
        up = bmin or (lv < uup[w])
        dn = bmin or (lv < udn[w])
        if rstdp and r == 0:
            cap[w] = 0
            minus[w] = 0
            back[w] = 0
        else:
            if rstdp and r == -1:
                cap[w] = -1 if (bc and dn) else 0
            else:
                cap[w] = 1 if (bc and up) else 0
            minus[w] = -1 if (bm and dn) else 0
            back[w] = -1 if (bb and dn) else 0
    if rstdp and r != 0:
        return 0
    return 1 if bs else 0


@njit(cache=True, inline="always")
def _update(W, M, xs, n, z, cap, minus, back, sinc, wmax):
    """Apply one segment's update to its bank row ``W[:n]``; returns the changed count."""
    changed = 0
    if z < 0 and sinc == 0:
        return 0
    for j in range(n):
        if not M[j]:
            continue
        x = xs[j]
        w = W[j]
        if x < 0:
            if z < 0:
                continue
            nw = w + back[w]
        elif z < 0:
            nw = w + sinc
        elif x <= z:
            nw = w + cap[w]
        else:
            nw = w + minus[w]
        if nw < 0:
            nw = 0
        elif nw > wmax:
            nw = wmax
        if nw != w:
            W[j] = nw
            changed += 1
    return changed


@njit(cache=True, inline="always")
def _update_targeted(W, M, xs, n, z, dr, mus, wmax, tmax):
    """The targeted rule (M3) on one segment's bank row ``W[:n]``; returns the changed
    count. Mirrors ``kernels.targeted_bank``."""
    bc = dr[0] < mus[0]
    bm = dr[1] < mus[1]
    bs = dr[2] < mus[2]
    bb = dr[3] < mus[3]
    tm = tmax if tmax > 0 else 1
    changed = 0
    for j in range(n):
        if not M[j]:
            continue
        x = xs[j]
        w = W[j]
        nw = w
        if z >= 0:
            tau = 0
            if x >= 0:
                tau = ((tm - x) * wmax) // tm
                if tau < 0:
                    tau = 0
            if w < tau:
                if bc:
                    nw = w + 1
            elif w > tau:
                if (bm if x >= 0 else bb):
                    nw = w - 1
        elif x >= 0 and bs:
            nw = w + 1
        if nw < 0:
            nw = 0
        elif nw > wmax:
            nw = wmax
        if nw != w:
            W[j] = nw
            changed += 1
    return changed


@njit(cache=True)
def train_group(X, order, idx, Wd, Md, theta, Wp, Mp, Xp, thetap,
                q, D, S, seg_pol, seg_k, col_pol, col_k, pmode, rnl, T, wmax_d, wmax_p,
                credit_winner, rstdp, draws, gen_seg, gen_prox, mus_w, uup_d, udn_d, uup_p, udn_p,
                labels, wins, fired, changes, rec, hist_d, hist_p, outs, targeted, tmax,
                rel, tsh, toff, hom, h_step, h_shift, H, tie, wnorm):
    C = Wd.shape[0]
    G = q * D * S
    p = Wd.shape[2]
    P = Xp.shape[2]
    Wc = order.shape[0]
    xc = np.empty(p, dtype=np.int64)
    xp = np.empty(max(P, 1), dtype=np.int64)
    buf = np.zeros(T + 1, dtype=np.int64)
    seg = np.empty(G, dtype=np.int64)
    seg_won = np.empty(G, dtype=np.int64)
    dend = np.empty(q * D, dtype=np.int64)
    dwon = np.empty(q, dtype=np.int64)
    nd = np.empty(q, dtype=np.int64)
    prox_t = np.empty(q, dtype=np.int64)
    neuron = np.empty(q, dtype=np.int64)
    out = np.empty(q, dtype=np.int64)
    zs = np.empty(G, dtype=np.int64)
    zp = np.empty(q, dtype=np.int64)
    wl = max(wmax_d, wmax_p) + 1
    cap = np.zeros(wl, dtype=np.int64)
    minus = np.zeros(wl, dtype=np.int64)
    back = np.zeros(wl, dtype=np.int64)
    segk = np.full(G, -1, dtype=np.int64)
    keep = np.zeros(max(G, q), dtype=np.int64)
    nkey = np.full(q, -1, dtype=np.int64)
    for c in range(C):
        for wv in range(Wc):
            s = order[wv]
            mus = mus_w[wv]  # this wave's mu (M4: shifted per epoch)
            for j in range(p):
                xc[j] = X[s, idx[c, j]]
            for j in range(P):
                xp[j] = Xp[s, c, j]
            # ---- M2 relative thresholds / M5 win-rate counters (toff: offsets or base)
            if rel or hom:
                for g in range(G):
                    th = toff[c, g]
                    if rel:
                        ws = 0
                        for j in range(p):
                            ws += Wd[c, g, j]
                        th += ws >> tsh
                    if hom:
                        th += H[c, g // (D * S)] >> h_shift
                    theta[c, g] = th if th >= 1 else 1
            # ---- segments
            for g in range(G):
                for t in range(T + 1):
                    buf[t] = 0
                _add_lines(buf, xc, Wd[c, g], p, T, rnl)
                if pmode == 0 and P > 0:
                    _add_lines(buf, xp, Wp[c, g], P, T, rnl)
                seg[g] = _crossing(buf, T, rnl, theta[c, g])
                if tie:
                    segk[g] = _key_at(buf, seg[g], rnl, theta[c, g]) if seg[g] >= 0 else -1
            # ---- M1 overshoot ties (sum / enable): the same with keys
            for i in range(q if tie else 0):
                best = -1
                bk = KBIG
                for d in range(D):
                    lo = (i * D + d) * S
                    if seg_pol <= 1:
                        _inhibit_k(segk, lo, S, seg_pol, seg_k, keep)
                        for k in range(lo, lo + S):
                            seg_won[k] = seg[k] if keep[k] == 1 else -1
                    else:
                        _inhibit(seg, lo, S, seg_pol, seg_k, seg_won)
                    mk = KBIG
                    for k in range(lo, lo + S):
                        if seg_won[k] >= 0 and segk[k] < mk:
                            mk = segk[k]
                    dend[i * D + d] = mk // KO if mk < KBIG else -1
                    if mk < bk:
                        bk = mk
                        best = d
                nkey[i] = bk if best >= 0 else -1
                nd[i] = bk // KO if best >= 0 else -1
                dwon[i] = best
                prox_t[i] = -1
                neuron[i] = nd[i]
                if pmode == 1:
                    prox_t[i] = 1 if xp[i] != 0 else 0
                    if prox_t[i] != 1:
                        neuron[i] = -1
                        nkey[i] = -1
            if tie:
                if col_pol <= 1:
                    _inhibit_k(nkey, 0, q, col_pol, col_k, keep)
                    for i in range(q):
                        out[i] = neuron[i] if keep[i] == 1 else -1
                else:
                    _inhibit(neuron, 0, q, col_pol, col_k, out)
            # ---- segment inhibition, dendrites, neurons
            for i in range(q if not tie else 0):
                best = -1
                bt = BIG
                for d in range(D):
                    lo = (i * D + d) * S
                    _inhibit(seg, lo, S, seg_pol, seg_k, seg_won)
                    m = BIG
                    for k in range(lo, lo + S):
                        if seg_won[k] >= 0 and seg_won[k] < m:
                            m = seg_won[k]
                    dend[i * D + d] = m if m < BIG else -1
                    if m < bt:
                        bt = m
                        best = d
                nd[i] = bt if best >= 0 else -1
                dwon[i] = best
                if pmode == 0:
                    prox_t[i] = -1
                    neuron[i] = nd[i]
                elif pmode == 1:
                    prox_t[i] = 1 if xp[i] != 0 else 0
                    neuron[i] = nd[i] if prox_t[i] == 1 else -1
                else:
                    for t in range(T + 1):
                        buf[t] = 0
                    _add_lines(buf, xp, Wp[c, i], P, T, rnl)
                    prox_t[i] = _crossing(buf, T, rnl, thetap[c, i])
                    if prox_t[i] >= 0 and nd[i] >= 0:
                        neuron[i] = max(prox_t[i], nd[i])
                    else:
                        neuron[i] = -1
            if not tie:
                _inhibit(neuron, 0, q, col_pol, col_k, out)
            # ---- stats, reward
            anyf = False
            first = -1
            ft = BIG
            for i in range(q):
                if out[i] >= 0:
                    wins[c, i] += 1
                    anyf = True
                    if out[i] < ft:
                        ft = out[i]
                        first = i
            if anyf:
                fired[c] += 1
            r = 0
            if rstdp:
                if first < 0:
                    r = 0
                elif first == labels[s]:
                    r = 1
                else:
                    r = -1
            # ---- credit
            for i in range(q):
                for d in range(D):
                    for k in range(S):
                        g = (i * D + d) * S + k
                        if credit_winner:
                            ok = out[i] >= 0 and dwon[i] == d and seg_won[g] >= 0
                            zs[g] = seg_won[g] if ok else -1
                        else:
                            zs[g] = seg_won[g]
                if pmode == 2:
                    if credit_winner:
                        zp[i] = prox_t[i] if out[i] >= 0 else -1
                    else:
                        zp[i] = prox_t[i]
            # ---- updates (effective next wave)
            nch = 0
            if targeted:
                for g in range(G):
                    dr = draws[wv, c, gen_seg[g]]
                    nch += _update_targeted(Wd[c, g], Md[c, g], xc, p, zs[g], dr, mus, wmax_d,
                                            tmax)
                    if pmode == 0 and P > 0:
                        nch += _update_targeted(Wp[c, g], Mp[c, g], xp, P, zs[g], dr, mus,
                                                wmax_p, tmax)
                if pmode == 2:
                    for i in range(q):
                        dr = draws[wv, c, gen_prox[i]]
                        nch += _update_targeted(Wp[c, i], Mp[c, i], xp, P, zp[i], dr, mus,
                                                wmax_p, tmax)
            for g in range(G if not targeted else 0):
                dr = draws[wv, c, gen_seg[g]]
                sinc = _deltas(dr, mus, uup_d, udn_d, wmax_d, rstdp, r, cap, minus, back)
                nch += _update(Wd[c, g], Md[c, g], xc, p, zs[g], cap, minus, back, sinc, wmax_d)
                if pmode == 0 and P > 0:
                    sinc = _deltas(dr, mus, uup_p, udn_p, wmax_p, rstdp, r, cap, minus, back)
                    nch += _update(Wp[c, g], Mp[c, g], xp, P, zs[g], cap, minus, back, sinc, wmax_p)
            if pmode == 2 and not targeted:
                for i in range(q):
                    dr = draws[wv, c, gen_prox[i]]
                    sinc = _deltas(dr, mus, uup_p, udn_p, wmax_p, rstdp, r, cap, minus, back)
                    nch += _update(Wp[c, i], Mp[c, i], xp, P, zp[i], cap, minus, back, sinc, wmax_p)
            if wnorm > 0:  # M8: the weight budget of every segment (distal weights)
                for g in range(G):
                    ws = 0
                    nm = 0
                    for j in range(p):
                        if Md[c, g, j]:
                            ws += Wd[c, g, j]
                            nm += 1
                    B = (nm * wmax_d * wnorm) >> 8
                    if ws > B:
                        for j in range(p):
                            if Md[c, g, j]:
                                nv = (Wd[c, g, j] * B) // ws
                                if nv != Wd[c, g, j]:
                                    Wd[c, g, j] = nv
                                    nch += 1
            changes[c] += nch
            if hom:  # M5, effective next wave
                for i in range(q):
                    hv = H[c, i] - h_step
                    if out[i] >= 0:
                        hv += q * h_step
                    if hv > H_LIMIT:
                        hv = H_LIMIT
                    elif hv < -H_LIMIT:
                        hv = -H_LIMIT
                    H[c, i] = hv
            if rec:
                for g in range(Wd.shape[1]):
                    for j in range(p):
                        hist_d[wv, c, g, j] = Wd[c, g, j]
                for g in range(Wp.shape[1]):
                    for j in range(Wp.shape[2]):
                        hist_p[wv, c, g, j] = Wp[c, g, j]
                for i in range(q):
                    outs[wv, c, i] = out[i]
